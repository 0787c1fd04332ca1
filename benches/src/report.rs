//! Samples, medians, targets, and the markdown and JSON outputs.

use std::fmt::Write as _;

/// What a row is measured against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// ours / raw at least this (higher is better).
    RatioAtLeast(f64),
    /// ours at most raw plus this, in the row's unit (lower is better).
    AtMostRawPlus(f64),
    /// Reported only.
    None,
}

impl Goal {
    fn describe(self, unit: &str) -> String {
        match self {
            Goal::RatioAtLeast(r) => format!("≥ {r:.2}×"),
            Goal::AtMostRawPlus(d) => format!("≤ raw + {d} {unit}"),
            Goal::None => "—".to_owned(),
        }
    }
}

/// One metric for one backend and driver: the raw engine's samples and ours, one per round.
#[derive(Debug, Clone)]
pub struct Row {
    /// Backend name (`plain-tcp` for the loopback ceiling).
    pub backend: String,
    /// `blocking` or `tokio`.
    pub driver: String,
    /// `bulk`, `handshake_full`, `handshake_resumed`, `idle_memory`, `latency_p50`,
    /// `latency_p99`.
    pub metric: String,
    /// `client` or `server` for `idle_memory`.
    pub side: Option<String>,
    /// The unit of the samples.
    pub unit: String,
    /// Raw engine samples.
    pub raw: Vec<f64>,
    /// sslsocket samples (`None` for the ceiling rows).
    pub ours: Option<Vec<f64>>,
    /// The target.
    pub goal: Goal,
    /// A note shown under the table.
    pub note: Option<String>,
    /// What `raw` is when it is not the raw engine: `qt` for the `*_vs_qt` rows (Qt 6
    /// QSslSocket); emitted as the JSON key `baseline`.
    pub baseline: Option<String>,
    /// The TLS 1.3 suite of a bulk row measured with another suite than the run's
    /// (`--cipher`); emitted as the JSON key `cipher`.
    pub cipher: Option<String>,
}

/// The median (mean of the middle two for an even count); NaN when empty.
#[must_use]
pub fn median(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 0 {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

fn min_max(samples: &[f64]) -> (f64, f64) {
    samples.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

impl Row {
    /// Median of the raw samples.
    #[must_use]
    pub fn raw_median(&self) -> f64 {
        median(&self.raw)
    }

    /// Median of ours.
    #[must_use]
    pub fn ours_median(&self) -> Option<f64> {
        self.ours.as_deref().map(median)
    }

    /// ours / raw, of the medians.
    #[must_use]
    pub fn ratio(&self) -> Option<f64> {
        self.ours_median().map(|o| o / self.raw_median())
    }

    /// Whether the target is met (`None` when there is no target).
    #[must_use]
    pub fn met(&self) -> Option<bool> {
        let ours = self.ours_median()?;
        match self.goal {
            Goal::RatioAtLeast(r) => Some(ours / self.raw_median() >= r),
            Goal::AtMostRawPlus(d) => Some(ours <= self.raw_median() + d),
            Goal::None => None,
        }
    }

    /// The metric as shown (with the side for memory rows).
    #[must_use]
    pub fn label(&self) -> String {
        match (&self.side, &self.cipher) {
            (Some(side), _) => format!("{} ({side})", self.metric),
            (None, Some(cipher)) => format!("{} ({cipher})", self.metric),
            (None, None) => self.metric.clone(),
        }
    }
}

/// A number with as many decimals as its size deserves.
#[must_use]
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        "—".to_owned()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn range(samples: &[f64]) -> String {
    let (lo, hi) = min_max(samples);
    format!("{}–{}", fmt_num(lo), fmt_num(hi))
}

/// The markdown table of `rows`.
#[must_use]
pub fn markdown_table(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(
        "| backend | driver | metric | unit | raw median | raw min–max | ours median | ours min–max | ours/raw | target | met |\n",
    );
    out.push_str("|---|---|---|---|---:|---:|---:|---:|---:|---|---|\n");
    for row in rows {
        let (ours, ours_range) = match &row.ours {
            Some(s) => (fmt_num(median(s)), range(s)),
            None => ("—".to_owned(), "—".to_owned()),
        };
        let ratio = row.ratio().map_or("—".to_owned(), |r| format!("{r:.3}"));
        let met = match row.met() {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.backend,
            row.driver,
            row.label(),
            row.unit,
            fmt_num(row.raw_median()),
            range(&row.raw),
            ours,
            ours_range,
            ratio,
            row.goal.describe(&row.unit),
            met
        );
    }
    out
}

/// The JSON array: one object per row with the medians (`ours` and `ratio` are null for the
/// plain TCP ceiling; memory rows carry `side`; rows against another baseline than the raw
/// engine carry `baseline`; bulk rows with another suite than the run's carry `cipher`).
#[must_use]
pub fn json(rows: &[Row]) -> serde_json::Value {
    let finite =
        |v: f64| if v.is_finite() { serde_json::json!(v) } else { serde_json::Value::Null };
    serde_json::Value::Array(
        rows.iter()
            .map(|row| {
                let mut obj = serde_json::json!({
                    "backend": row.backend,
                    "driver": row.driver,
                    "metric": row.metric,
                    "unit": row.unit,
                    "raw": finite(row.raw_median()),
                    "ours": row.ours_median().map_or(serde_json::Value::Null, finite),
                    "ratio": row.ratio().map_or(serde_json::Value::Null, finite),
                });
                if let (Some(side), Some(map)) = (&row.side, obj.as_object_mut()) {
                    map.insert("side".to_owned(), serde_json::json!(side));
                }
                if let (Some(baseline), Some(map)) = (&row.baseline, obj.as_object_mut()) {
                    map.insert("baseline".to_owned(), serde_json::json!(baseline));
                }
                if let (Some(cipher), Some(map)) = (&row.cipher, obj.as_object_mut()) {
                    map.insert("cipher".to_owned(), serde_json::json!(cipher));
                }
                obj
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_ratios() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        let row = Row {
            backend: "x".into(),
            driver: "blocking".into(),
            metric: "bulk".into(),
            side: None,
            unit: "MB/s".into(),
            raw: vec![100.0, 110.0, 90.0],
            ours: Some(vec![99.0, 98.0, 97.0]),
            goal: Goal::RatioAtLeast(0.97),
            note: None,
            baseline: None,
            cipher: None,
        };
        assert!((row.ratio().unwrap() - 0.98).abs() < 1e-9);
        assert_eq!(row.met(), Some(true));
        assert!(markdown_table(std::slice::from_ref(&row)).contains("| x | blocking | bulk |"));
        assert_eq!(json(std::slice::from_ref(&row))[0]["ours"], serde_json::json!(98.0));
        assert!(json(std::slice::from_ref(&row))[0].get("baseline").is_none());
        let aes256 = Row { cipher: Some("TLS_AES_256_GCM_SHA384".into()), ..row.clone() };
        assert_eq!(aes256.label(), "bulk (TLS_AES_256_GCM_SHA384)");
        assert_eq!(json(&[aes256])[0]["cipher"], serde_json::json!("TLS_AES_256_GCM_SHA384"));
        let qt = Row { baseline: Some("qt".into()), ..row };
        assert_eq!(json(&[qt])[0]["baseline"], serde_json::json!("qt"));
    }
}
