//! Smoke test: the benchmark binary runs every metric once, in its quick mode with tiny sizes,
//! on rustls (both drivers), and reports positive numbers. It checks that the benchmarks work,
//! never how fast anything is.

use std::process::Command;

#[test]
fn every_metric_completes_with_positive_figures() {
    let dir = std::env::temp_dir().join(format!("sslsocket-benches-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let json = dir.join("out.json");
    let output = Command::new(env!("CARGO_BIN_EXE_sslsocket-benches"))
        .args(["all", "--backend", "rustls", "--quick", "--rounds", "1", "--bulk-mib", "1"])
        .args(["--handshake-secs", "0", "--handshakes", "3", "--memory-conns", "20"])
        .args(["--latency-rtts", "20", "--json"])
        .arg(&json)
        .output()
        .expect("run the benchmark binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "failed: {}\n{stdout}\n{stderr}", output.status);
    assert!(stdout.contains("| backend | driver | metric |"), "{stdout}");

    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json written"))
            .expect("valid json");
    let rows = rows.as_array().expect("an array");
    let metrics = ["bulk", "handshake_full", "handshake_resumed", "idle_memory", "latency_p50"];
    for metric in metrics {
        for driver in ["blocking", "tokio"] {
            assert!(
                rows.iter().any(|r| r["metric"] == metric
                    && r["driver"] == driver
                    && r["backend"] == "rustls"),
                "no {metric} row for rustls {driver}: {rows:?}"
            );
        }
    }
    for row in rows {
        let raw = row["raw"].as_f64().expect("raw is a number");
        assert!(raw > 0.0, "{row}");
        if row["backend"] != "plain-tcp" {
            assert!(row["ours"].as_f64().expect("ours is a number") > 0.0, "{row}");
            assert!(row["ratio"].as_f64().expect("ratio is a number") > 0.0, "{row}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
