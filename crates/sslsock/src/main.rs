//! `sslsock`: QSslSocket from the command line, on every TLS engine sslsocket has —
//! `demo`, `backends`, `connect` (s_client), `serve` (s_server) and `probe`.
//!
//! This file parses the arguments and dispatches; each command lives in its own module.

mod backends;
mod cli;
mod connect;
mod demo;
mod escape;
mod options;
mod probe;
mod report;
mod serve;
mod starttls;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::cli::{Cli, Command};
use crate::options::Problem;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Demo => Ok(demo::run()),
        Command::Backends(args) => Ok(backends::run(args)),
        Command::Connect(args) => connect::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Probe(args) => probe::run(args),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        // Exits with status 2, clap's usage error status, after its usual message.
        Err(Problem::Usage(message)) => {
            Cli::command().error(clap::error::ErrorKind::ArgumentConflict, message).exit()
        }
        Err(Problem::Refused(err)) => {
            eprintln!("sslsock: {}", escape::for_terminal(&sslsocket::conn::error_chain(&err)));
            ExitCode::from(1)
        }
    }
}
