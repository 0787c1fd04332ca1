//! `cargo bench -p sslsocket-benches [-- ARGS]`: the benchmark runner, as
//! `cargo run --release -p sslsocket-benches -- ARGS` (e.g. `-- bulk --backend openssl
//! --rounds 3`; `-- --quick` for a smoke run). Built with `harness = false`;
//! `cargo test --benches` runs it without `--bench`, and then it does nothing.

use sslsocket_benches::memory::CHILD_COMMAND;

fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    // The memory benchmark runs this executable again as its child processes.
    if args.get(1).map(String::as_str) != Some(CHILD_COMMAND) {
        let Some(flag) = args.iter().position(|a| a == "--bench") else {
            eprintln!(
                "sslsocket-benches: not run as a test (use `cargo bench -p sslsocket-benches`)"
            );
            return;
        };
        args.remove(flag);
    }
    sslsocket_benches::run::run_main(&args);
}
