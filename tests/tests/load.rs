//! Load: 2,000 TLS connections open at once on one `AsyncSslServer`, every one echoing 64 KiB
//! checked with SHA-256. Bounded: the run fails (it does not hang) after two minutes per
//! backend. Prints handshakes per second and peak RSS (`-- --nocapture`).
//!
//! In a binary of its own so that its peak RSS is its own.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use conformance::pki::{Authority, LeafSpec};
use sslsocket_tests::load::{
    echo_client, echo_server, ensure_open_files, peak_rss_kib, rss_kib, runtime,
};
use sslsocket_tests::on_each_backend;
use tokio::sync::Barrier;

const CLIENTS: usize = 2000;
const SIZE: usize = 64 * 1024;
const BOUND: Duration = Duration::from_secs(120);

#[test]
fn two_thousand_concurrent_connections_echo_intact_on_one_async_server() {
    // Each connection is two sockets here (client and server side), plus the pollers.
    ensure_open_files(2 * CLIENTS as u64 + 512).unwrap();
    on_each_backend(|backend| {
        let name = backend.name();
        let rt = runtime();
        let before = rss_kib().unwrap_or(0);
        let outcome = rt.block_on(async {
            let ca = Authority::root("load root");
            let server_id = ca.issue(&LeafSpec::new(&["localhost"]));
            let (port, server, stop) = echo_server(&backend, &server_id, BOUND).await;
            // VmHWM only grows: the peak of this backend's run is sampled from VmRSS.
            let peak = Arc::new(AtomicU64::new(0));
            let sampler = tokio::spawn({
                let peak = peak.clone();
                async move {
                    loop {
                        peak.fetch_max(rss_kib().unwrap_or(0), Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            });
            let barrier = Arc::new(Barrier::new(CLIENTS));
            let started = Instant::now();
            let clients: Vec<_> = (0..CLIENTS)
                .map(|i| {
                    tokio::spawn(echo_client(
                        backend.clone(),
                        ca.certificate.clone(),
                        port,
                        (i % 251) as u8 + 1,
                        SIZE,
                        Some(barrier.clone()),
                    ))
                })
                .collect();
            let all = async {
                let mut results = Vec::with_capacity(CLIENTS);
                for client in clients {
                    results.push(client.await.unwrap_or_else(|e| Err(format!("task: {e}"))));
                }
                results
            };
            let results = tokio::time::timeout(BOUND, all).await;
            let elapsed = started.elapsed();
            sampler.abort();
            let _ = stop.send(());
            let failures = server.await.unwrap_or_default();
            (results, started, elapsed, failures, peak.load(Ordering::Relaxed))
        });
        let (results, started, elapsed, server_failures, peak) = outcome;
        let results = results.unwrap_or_else(|_| panic!("{name}: not done within {BOUND:?}"));
        let (ok, errors): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
        let ok: Vec<_> = ok.into_iter().map(Result::unwrap).collect();
        let errors: Vec<String> = errors.into_iter().map(Result::unwrap_err).collect();
        let last_handshake = ok.iter().map(|e| e.encrypted_at).max().unwrap_or(started);
        let handshake_secs = last_handshake.duration_since(started).as_secs_f64();
        let bytes: usize = ok.iter().map(|e| e.bytes).sum();
        println!(
            "{name:<8} {CLIENTS} concurrent connections: {} echoed intact ({:.1} MiB each way), \
             {} client errors, {} server handshake failures; all {CLIENTS} handshakes in \
             {handshake_secs:.2} s ({:.0} handshakes/s), whole run {:.2} s; RSS {before} KiB before, peak {peak} KiB \
             during the run (process VmHWM {} KiB)",
            ok.len(),
            bytes as f64 / (1024.0 * 1024.0),
            errors.len(),
            server_failures.len(),
            CLIENTS as f64 / handshake_secs.max(1e-9),
            elapsed.as_secs_f64(),
            peak_rss_kib().unwrap_or(0),
        );
        assert!(errors.is_empty(), "{name}: {:?}", &errors[..errors.len().min(5)]);
        assert_eq!(ok.len(), CLIENTS, "{name}");
        assert_eq!(bytes, CLIENTS * SIZE, "{name}: bytes lost");
        assert!(server_failures.is_empty(), "{name}: server-side failures {server_failures:?}");
    });
}
