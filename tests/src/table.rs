//! A results table (backend × peer × case → outcome), printed at the end of a test and then
//! checked: every cell passes or carries a capability-backed reason.

use std::fmt::Write as _;

use sslsocket::{Feature, SslBackend, SslProtocol};

/// The outcome of one cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// It worked; the detail says what was checked (protocol, ALPN, error kinds…).
    Pass(String),
    /// The backend's capabilities say it cannot do this, and sslsocket said so with a typed
    /// error (checked by the case); the reason names the capability.
    NotApplicable(String),
    /// It did not work.
    Fail(String),
}

impl Cell {
    /// `NotApplicable` for a missing feature, after the case checked the typed refusal.
    #[must_use]
    pub fn missing(backend: &dyn SslBackend, feature: Feature, refusal: &str) -> Cell {
        Cell::NotApplicable(format!("{} lacks {feature}; {refusal}", backend.name()))
    }

    /// `NotApplicable` for a protocol a role of the backend does not offer.
    #[must_use]
    pub fn missing_protocol(backend: &dyn SslBackend, protocol: SslProtocol, what: &str) -> Cell {
        Cell::NotApplicable(format!("{} has no {protocol:?} {what}", backend.name()))
    }

    fn label(&self) -> String {
        match self {
            Cell::Pass(detail) if detail.is_empty() => "pass".to_owned(),
            Cell::Pass(detail) => format!("pass ({detail})"),
            Cell::NotApplicable(reason) => format!("n/a: {reason}"),
            Cell::Fail(why) => format!("FAIL: {why}"),
        }
    }
}

/// One row: who, against whom, what.
#[derive(Debug, Clone)]
pub struct Row {
    /// The backend under test.
    pub backend: String,
    /// The other side.
    pub peer: String,
    /// The case.
    pub case: String,
    /// What happened.
    pub cell: Cell,
}

/// A list of rows.
#[derive(Debug, Default)]
pub struct Table {
    /// The rows, in the order run.
    pub rows: Vec<Row>,
}

impl Table {
    /// Adds a row.
    pub fn push(&mut self, backend: &str, peer: &str, case: &str, cell: Cell) {
        self.rows.push(Row {
            backend: backend.to_owned(),
            peer: peer.to_owned(),
            case: case.to_owned(),
            cell,
        });
    }

    /// The table as aligned text, one row per line, with a summary.
    #[must_use]
    pub fn render(&self, title: &str) -> String {
        let width = |f: fn(&Row) -> &str| self.rows.iter().map(|r| f(r).len()).max().unwrap_or(0);
        let (wb, wp, wc) =
            (width(|r| &r.backend).max(7), width(|r| &r.peer).max(4), width(|r| &r.case).max(4));
        let mut out = format!("\n== {title}\n");
        let _ = writeln!(out, "{:<wb$} | {:<wp$} | {:<wc$} | result", "backend", "peer", "case");
        let _ = writeln!(out, "{}", "-".repeat(wb + wp + wc + 40));
        for r in &self.rows {
            let label = r.cell.label();
            // A failure's details can be long: first line in the table, the rest below.
            let first = label.lines().next().unwrap_or_default();
            let _ =
                writeln!(out, "{:<wb$} | {:<wp$} | {:<wc$} | {first}", r.backend, r.peer, r.case);
        }
        let count = |f: fn(&Cell) -> bool| self.rows.iter().filter(|r| f(&r.cell)).count();
        let _ = writeln!(
            out,
            "{} cells: {} pass, {} n/a (capability), {} FAIL",
            self.rows.len(),
            count(|c| matches!(c, Cell::Pass(_))),
            count(|c| matches!(c, Cell::NotApplicable(_))),
            count(|c| matches!(c, Cell::Fail(_))),
        );
        for r in self.rows.iter().filter(|r| matches!(r.cell, Cell::Fail(_))) {
            let _ = writeln!(out, "\n{} / {} / {}:\n{}", r.backend, r.peer, r.case, r.cell.label());
        }
        out
    }

    /// The failed rows.
    #[must_use]
    pub fn failures(&self) -> Vec<&Row> {
        self.rows.iter().filter(|r| matches!(r.cell, Cell::Fail(_))).collect()
    }
}
