//! `sslsocket-benches`: see the library docs.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    sslsocket_benches::run::run_main(&args);
}
