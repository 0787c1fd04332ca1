//! `cargo bench -p sslsocket-benches [-- ARGS]`: the benchmark runner, as
//! `cargo run --release -p sslsocket-benches -- ARGS` (e.g. `-- bulk --backend openssl
//! --rounds 3`; `-- --quick` for a smoke run). Built with `harness = false`;
//! `cargo test --benches` runs it without `--bench`, and then it does nothing.

use clap::Parser;
use sslsocket_benches::memory::{memory_child, CHILD_COMMAND};
use sslsocket_benches::run::{main_with, Cli};

fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    // The memory benchmark runs this executable again as its child processes.
    if args.get(1).map(String::as_str) == Some(CHILD_COMMAND) {
        if let Err(err) = memory_child(&args[2..]) {
            eprintln!("{CHILD_COMMAND}: {err}");
            std::process::exit(1);
        }
        return;
    }
    let Some(flag) = args.iter().position(|a| a == "--bench") else {
        eprintln!("sslsocket-benches: not run as a test (use `cargo bench -p sslsocket-benches`)");
        return;
    };
    args.remove(flag);
    let cli = Cli::parse_from(args);
    match main_with(&cli) {
        Ok(true) => {}
        Ok(false) => std::process::exit(2),
        Err(err) => {
            eprintln!("sslsocket-benches: {err}");
            std::process::exit(1);
        }
    }
}
