//! `probe`: `connect` with every compiled backend at once, side by side, and a closing line
//! when their verdicts differ (`engines disagree: rustls rejects (InvalidPurpose), openssl and
//! native accept`).

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
    let usable: Vec<&ConnectionReport> = backends
        .iter()
        .zip(&reports)
        .filter(|(b, _)| b.availability().is_ok())
        .map(|(_, r)| r)
        .collect();
    let disagreement = disagreement(&usable);
    let mut text = if args.tls.json {
        // Plain strings, numbers and vectors always serialise.
        serde_json::to_string_pretty(&reports).unwrap_or_else(|e| format!("error: {e}")) + "\n"
    } else {
        table(&reports, colour_enabled())
    };
    match &disagreement {
        // The JSON on stdout stays one document; the verdicts are in it.
        Some(line) if args.tls.json => eprintln!("{line}"),
        Some(line) => {
            text.push_str(line);
            text.push('\n');
        }
        None => {}
    }
    let mut out = io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    let all_connected = !usable.is_empty() && usable.iter().all(|r| r.exit_code() == 0);
    Ok(u8::from(!all_connected))
}

/// `engines disagree: …` when some backends connected and others did not, else `None`. Each
/// backend's verdict is `accepts` (encrypted), `rejects (KIND,…)` with its certificate errors,
/// or `fails (ErrorKind)` when it failed without one; backends with the same verdict are named
/// together, groups in backend order.
fn disagreement(reports: &[&ConnectionReport]) -> Option<String> {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for report in reports {
        let verdict = verdict(report);
        match groups.iter_mut().find(|(v, _)| *v == verdict) {
            Some((_, names)) => names.push(&report.backend),
            None => groups.push((verdict, vec![&report.backend])),
        }
    }
    // Rejections for different reasons are still one verdict: nobody connected.
    let accepted = groups.iter().filter(|(verdict, _)| verdict == "accepts").count();
    if accepted == 0 || accepted == groups.len() {
        return None;
    }
    let parts: Vec<String> = groups
        .iter()
        .map(|(verdict, names)| {
            let (verb, rest) = verdict.split_once(' ').unwrap_or((verdict, ""));
            // `accepts` for one backend, `accept` for several.
            let verb = if names.len() == 1 { verb } else { verb.strip_suffix('s').unwrap_or(verb) };
            let sep = if rest.is_empty() { "" } else { " " };
            format!("{} {verb}{sep}{rest}", and_list(names))
        })
        .collect();
    Some(format!("engines disagree: {}", parts.join(", ")))
}

/// One backend's verdict, in the words of [`disagreement`].
fn verdict(report: &ConnectionReport) -> String {
    if report.encrypted {
        return "accepts".to_owned();
    }
    let kinds: Vec<&str> = report.ssl_errors.iter().map(|e| e.kind.as_str()).collect();
    match &report.error {
        _ if !kinds.is_empty() => format!("rejects ({})", kinds.join(",")),
        Some(error) => format!("fails ({})", error.kind),
        None => "fails (not encrypted)".to_owned(),
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ErrorInfo, SslErrorInfo};

    fn report(backend: &str, encrypted: bool, kinds: &[&str]) -> ConnectionReport {
        let mut report = ConnectionReport::for_name(backend);
        report.encrypted = encrypted;
        report.ssl_errors = kinds
            .iter()
            .map(|k| SslErrorInfo { kind: (*k).to_owned(), certificate_sha256: None })
            .collect();
        if !encrypted {
            report.error = Some(ErrorInfo {
                kind: "SslHandshakeFailedError".to_owned(),
                message: String::new(),
            });
        }
        report
    }

    #[test]
    fn differing_verdicts_are_named_in_one_closing_line() {
        let reports = [
            report("rustls", false, &["InvalidPurpose"]),
            report("openssl", true, &[]),
            report("native", true, &[]),
        ];
        let refs: Vec<&ConnectionReport> = reports.iter().collect();
        assert_eq!(
            disagreement(&refs).as_deref(),
            Some("engines disagree: rustls rejects (InvalidPurpose), openssl and native accept")
        );
        let reports = [
            report("rustls", true, &[]),
            report("openssl", false, &["HostNameMismatch"]),
            report("native", false, &[]),
        ];
        let refs: Vec<&ConnectionReport> = reports.iter().collect();
        assert_eq!(
            disagreement(&refs).as_deref(),
            Some(
                "engines disagree: rustls accepts, openssl rejects (HostNameMismatch), native \
                 fails (SslHandshakeFailedError)"
            )
        );
    }

    #[test]
    fn agreeing_verdicts_print_nothing_even_for_different_reasons() {
        let reports = [report("rustls", true, &[]), report("openssl", true, &[])];
        let refs: Vec<&ConnectionReport> = reports.iter().collect();
        assert_eq!(disagreement(&refs), None);
        let reports = [
            report("rustls", false, &["InvalidPurpose"]),
            report("openssl", false, &["SelfSignedCertificate"]),
        ];
        let refs: Vec<&ConnectionReport> = reports.iter().collect();
        assert_eq!(disagreement(&refs), None);
    }
}
