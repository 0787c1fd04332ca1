//! `sslsocket-benches`: see the library docs.

use clap::Parser;
use sslsocket_benches::memory::{memory_child, CHILD_COMMAND};
use sslsocket_benches::run::{main_with, Cli};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(CHILD_COMMAND) {
        if let Err(err) = memory_child(&args[2..]) {
            eprintln!("{CHILD_COMMAND}: {err}");
            std::process::exit(1);
        }
        return;
    }
    let cli = Cli::parse();
    match main_with(&cli) {
        Ok(true) => {}
        Ok(false) => std::process::exit(2),
        Err(err) => {
            eprintln!("sslsocket-benches: {err}");
            std::process::exit(1);
        }
    }
}
