//! `probe`: `connect` with every compiled backend at once, side by side.

use std::io::{self, IsTerminal, Write};

use crate::cli::{ProbeArgs, Target};
use crate::connect::connect_once;
use crate::options::{self, Problem};
use crate::report::{colour_enabled, Cell, ConnectionReport, Table};

/// Runs `probe`; exit status 0 only when every usable backend connected.
///
/// # Errors
/// `Problem::Usage` for a malformed command line.
pub fn run(args: &ProbeArgs) -> Result<u8, Problem> {
    let backends = sslsocket::registry::compiled_backends();
    let prepared = options::client_settings(&args.tls, &args.client).and_then(|settings| {
        let payload = options::payload(&args.client)?.replayable()?;
        let host = options::to_ascii_host(&args.target.host)?;
        Ok((settings, payload, Target { host, ..args.target.clone() }))
    });
    let prepared = match prepared {
        Ok(prepared) => Ok(prepared),
        Err(Problem::Usage(message)) => return Err(Problem::Usage(message)),
        Err(Problem::Refused(err)) => Err(err),
    };
    let progress = io::stderr().is_terminal() && !args.tls.json;
    if progress {
        eprint!("probing {} with {} backend(s)…", args.target, backends.len());
    }
    let reports: Vec<ConnectionReport> = std::thread::scope(|scope| {
        let handles: Vec<_> = backends
            .iter()
            .map(|backend| {
                let prepared = &prepared;
                scope.spawn(move || {
                    if let Err(why) = backend.availability() {
                        let mut report = ConnectionReport::new(backend.as_ref());
                        report.fail("SslInternalError", &why);
                        return report;
                    }
                    match prepared {
                        Ok((settings, payload, target)) => {
                            connect_once(backend, target, settings, payload)
                        }
                        Err(err) => {
                            let mut report = ConnectionReport::new(backend.as_ref());
                            report.set_error(err);
                            report
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(&backends)
            .map(|(handle, backend)| {
                handle.join().unwrap_or_else(|_| {
                    let mut report = ConnectionReport::new(backend.as_ref());
                    report.fail("SslInternalError", "the probe thread panicked");
                    report
                })
            })
            .collect()
    });
    if progress {
        eprint!("\r\x1b[K");
    }
    let text = if args.tls.json {
        // Plain strings, numbers and vectors always serialise.
        serde_json::to_string_pretty(&reports).unwrap_or_else(|e| format!("error: {e}")) + "\n"
    } else {
        table(&reports, colour_enabled())
    };
    let mut out = io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    let usable: Vec<&ConnectionReport> = backends
        .iter()
        .zip(&reports)
        .filter(|(b, _)| b.availability().is_ok())
        .map(|(_, r)| r)
        .collect();
    let all_connected = !usable.is_empty() && usable.iter().all(|r| r.exit_code() == 0);
    Ok(u8::from(!all_connected))
}

fn table(reports: &[ConnectionReport], colour: bool) -> String {
    let mut t = Table::new(&[
        "backend",
        "result",
        "protocol",
        "cipher",
        "alpn",
        "ssl errors",
        "peer",
        "received",
    ]);
    for r in reports {
        let result = match (&r.error, r.encrypted) {
            (None, true) => Cell::good("ok"),
            (Some(e), _) => Cell::bad(format!("{}: {}", e.kind, e.message)),
            (None, false) => Cell::bad("not encrypted"),
        };
        let errors: Vec<&str> = r.ssl_errors.iter().map(|e| e.kind.as_str()).collect();
        t.row(vec![
            Cell::plain(&r.backend),
            result,
            Cell::plain(r.protocol.as_deref().unwrap_or("-")),
            Cell::plain(r.cipher.as_ref().map_or("-", |c| c.name.as_str())),
            Cell::plain(r.alpn.as_deref().unwrap_or("-")),
            Cell::plain(if errors.is_empty() { "-".to_owned() } else { errors.join(",") }),
            Cell::plain(r.peer_certificate_chain.first().map_or("-", |c| c.subject.as_str())),
            Cell::plain(format!("{} bytes", r.received_bytes)),
        ]);
    }
    t.render(colour)
}
