//! `demo`: a throwaway CA in memory (rcgen), echo servers on 127.0.0.1:0, every usable
//! backend against every other, then verification cases. No files, no network beyond
//! loopback, a second or two.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use sslsocket::{
    Accepted, Error, Feature, KeyFormat, PeerVerifyMode, SslBackend, SslCertificate,
    SslConfiguration, SslErrorKind, SslKey, SslServer, SslSocket,
};

use crate::cli::Target;
use crate::connect::connect_once;
use crate::options::{Outgoing, Settings};
use crate::report::{colour_enabled, Cell, ConnectionReport, Table};

/// What every demo client sends; the demo server echoes one line, then closes.
const PING: &[u8] = b"ping from sslsock\n";

fn ping() -> Outgoing {
    Outgoing::Bytes(PING.to_vec())
}
const TIMEOUT: Duration = Duration::from_secs(5);

/// A certificate chain with its key.
#[derive(Debug, Clone)]
struct Identity {
    chain: Vec<SslCertificate>,
    key: SslKey,
}

/// The demo's certificates.
#[derive(Debug)]
struct Pki {
    ca: SslCertificate,
    good: Identity,
    expired: Identity,
    untrusted: Identity,
    client: Identity,
}

/// Runs the demo; exit status 0 when everything behaved as expected.
#[must_use]
pub fn run() -> u8 {
    let started = Instant::now();
    let pki = match make_pki() {
        Ok(pki) => pki,
        Err(e) => {
            eprintln!("sslsock demo: cannot make the demo certificates: {e}");
            return 1;
        }
    };
    let compiled = sslsocket::registry::compiled_backends();
    let usable: Vec<Arc<dyn SslBackend>> =
        compiled.iter().filter(|b| b.availability().is_ok()).cloned().collect();
    let colour = colour_enabled();
    let mut text = String::from("sslsock demo: compiled backends:");
    for b in &compiled {
        match b.availability() {
            Ok(()) => text.push_str(&format!(" {} ({})", b.name(), b.library_version_string())),
            Err(why) => text.push_str(&format!(" {} (unusable: {why})", b.name())),
        }
    }
    text.push_str("\n\nHandshakes: every client backend x every server backend, then an echo\n");
    let (matrix, mut failures) = handshake_matrix(&usable, &pki, colour);
    text.push_str(&matrix);
    text.push_str("\nVerification cases\n");
    let (cases, case_failures) = verification_cases(&usable, &pki, colour);
    text.push_str(&cases);
    failures += case_failures;
    if usable.is_empty() {
        failures += 1;
        text.push_str("\nno usable backend is compiled in\n");
    }
    let elapsed = started.elapsed().as_secs_f64();
    text.push_str(&if failures == 0 {
        format!("\neverything behaved as expected ({elapsed:.1} s)\n")
    } else {
        format!("\n{failures} check(s) did NOT behave as expected ({elapsed:.1} s)\n")
    });
    print!("{text}");
    u8::from(failures > 0)
}

fn handshake_matrix(usable: &[Arc<dyn SslBackend>], pki: &Pki, colour: bool) -> (String, usize) {
    let mut table = Table::new(&["client", "server", "protocol", "cipher", "alpn", "result"]);
    let mut failures = 0;
    for server_backend in usable {
        let mut config = server_config(&pki.good);
        if server_backend.features().contains(Feature::ServerSideAlpn) {
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        }
        let server = EchoServer::start(server_backend, config);
        for client_backend in usable {
            let mut settings = client_settings(pki);
            if client_backend.features().contains(Feature::ClientSideAlpn) {
                settings.config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            }
            let report = match &server {
                Ok(server) => connect_once(client_backend, &server.target(), &settings, &ping()),
                Err(err) => {
                    let mut report = ConnectionReport::new(client_backend.as_ref());
                    report.set_error(err);
                    report
                }
            };
            let ok = report.error.is_none() && report.encrypted && echoed(&report);
            failures += usize::from(!ok);
            let result = match &report.error {
                None if ok => Cell::good("ok, echoed"),
                None => Cell::bad("no echo"),
                Some(e) => Cell::bad(format!("FAILED {}: {}", e.kind, e.message)),
            };
            table.row(vec![
                Cell::plain(client_backend.name()),
                Cell::plain(server_backend.name()),
                Cell::plain(report.protocol.as_deref().unwrap_or("-")),
                Cell::plain(report.cipher.as_ref().map_or("-", |c| c.name.as_str())),
                Cell::plain(report.alpn.as_deref().unwrap_or("-")),
                result,
            ]);
        }
    }
    (table.render(colour), failures)
}

fn verification_cases(usable: &[Arc<dyn SslBackend>], pki: &Pki, colour: bool) -> (String, usize) {
    let mut table = Table::new(&["backend", "case", "expected", "got", "ok"]);
    let mut failures = 0;
    let mut add = |backend: &str, case: &str, expected: String, (got, ok): (String, bool)| {
        failures += usize::from(!ok);
        let verdict = if ok { Cell::good("ok") } else { Cell::bad("NO") };
        table.row(vec![
            Cell::plain(backend),
            Cell::plain(case),
            Cell::plain(expected),
            Cell::plain(got),
            verdict,
        ]);
    };
    let Some(reference) = usable.first() else { return (table.render(colour), 0) };
    // Client-side cases: each backend as the client, against servers of the first backend.
    let servers = [
        ("good certificate", EchoServer::start(reference, server_config(&pki.good)), None),
        (
            "wrong host name",
            EchoServer::start(reference, server_config(&pki.good)),
            Some("wrong.invalid"),
        ),
        ("expired", EchoServer::start(reference, server_config(&pki.expired)), None),
        ("untrusted CA", EchoServer::start(reference, server_config(&pki.untrusted)), None),
    ];
    for backend in usable {
        for (case, server, peer_name) in &servers {
            let server = match server {
                Ok(server) => server,
                Err(err) => {
                    add(backend.name(), case, "a server".into(), (format!("server: {err}"), false));
                    continue;
                }
            };
            let mut settings = client_settings(pki);
            if let Some(name) = peer_name {
                settings.peer_name = Some((*name).to_owned());
            }
            let report = connect_once(backend, &server.target(), &settings, &ping());
            let (expected, verdict) = match *case {
                "good certificate" => ("encrypted, echoed".to_owned(), encrypted(&report)),
                "wrong host name" => rejected(backend, &report, &[SslErrorKind::HostNameMismatch]),
                "expired" => rejected(backend, &report, &[SslErrorKind::CertificateExpired]),
                _ => rejected(backend, &report, &[]),
            };
            add(backend.name(), &format!("client: {case}"), expected, verdict);
        }
    }
    // Server-side cases: each backend as a server requiring a client certificate, the first
    // backend as its client.
    for backend in usable {
        let mut config = server_config(&pki.good);
        config.peer_verify_mode = PeerVerifyMode::VerifyPeer;
        config.ca_certificates = vec![pki.ca.clone()];
        let supported = backend.features().contains(Feature::ServerRequestsClientCertificate);
        let server = EchoServer::start(backend, config);
        let server = match (server, supported) {
            (Ok(server), _) => server,
            (Err(err), false) => {
                let got = format!("refused: {:?}", err.kind());
                let ok = err.kind() == sslsocket::SocketErrorKind::SslInvalidUserDataError;
                let expected = "refused: lacks ServerRequestsClientCertificate".to_owned();
                add(backend.name(), "server: client certificate required", expected, (got, ok));
                continue;
            }
            (Err(err), true) => {
                let case = "server: client certificate required";
                add(backend.name(), case, "a server".into(), (format!("server: {err}"), false));
                continue;
            }
        };
        let without = connect_once(reference, &server.target(), &client_settings(pki), &ping());
        let failure_kinds = server.wait_for_failure(TIMEOUT);
        let got = match &failure_kinds {
            Some(kinds) => format!("server rejected: {}", names(kinds)),
            None if echoed(&without) => "accepted".to_owned(),
            None => "no server verdict".to_owned(),
        };
        let ok = failure_kinds.is_some_and(|k| k.contains(&SslErrorKind::NoPeerCertificate))
            && !echoed(&without);
        let expected = "server rejects: NoPeerCertificate".to_owned();
        add(backend.name(), "server: no client certificate", expected, (got, ok));

        let mut settings = client_settings(pki);
        settings.config.local_certificate_chain.clone_from(&pki.client.chain);
        settings.config.private_key = Some(pki.client.key.clone());
        let with = connect_once(reference, &server.target(), &settings, &ping());
        let expected = "encrypted, echoed".to_owned();
        add(backend.name(), "server: client certificate given", expected, encrypted(&with));
    }
    (table.render(colour), failures)
}

fn echoed(report: &ConnectionReport) -> bool {
    report.received.as_deref().map(str::as_bytes) == Some(PING)
}

fn encrypted(report: &ConnectionReport) -> (String, bool) {
    match &report.error {
        None if report.encrypted && echoed(report) => ("encrypted, echoed".into(), true),
        None => ("encrypted, no echo".into(), false),
        Some(e) => (format!("{}: {}", e.kind, names_of(report)), false),
    }
}

/// Rejected before any application data, with one of `kinds` among the errors (any kind when
/// `kinds` is empty; `UnspecifiedError` also counts for a backend that says it cannot report
/// detailed errors).
fn rejected(
    backend: &Arc<dyn SslBackend>,
    report: &ConnectionReport,
    kinds: &[SslErrorKind],
) -> (String, (String, bool)) {
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    let expected = if names.is_empty() {
        "rejected (the backend's kind)".to_owned()
    } else {
        format!("rejected: {}", names.join(" or "))
    };
    let was_rejected = !report.encrypted
        && report.error.as_ref().is_some_and(|e| e.kind == "SslHandshakeFailedError")
        && !report.ssl_errors.is_empty();
    let has = |name: &str| report.ssl_errors.iter().any(|e| e.kind == name);
    // A backend that says it cannot classify errors may report UnspecifiedError instead.
    let vague = !backend.features().contains(Feature::RecoverableVerifyErrors)
        && has(SslErrorKind::UnspecifiedError.name());
    let kind_ok = names.is_empty() || names.iter().any(|n| has(n)) || vague;
    let got = match (&report.error, report.encrypted) {
        (Some(e), false) if e.kind == "SslHandshakeFailedError" => {
            let note = if vague {
                " (the engine rejects by itself: no RecoverableVerifyErrors)"
            } else {
                ""
            };
            format!("rejected: {}{note}", names_of(report))
        }
        (Some(e), _) => format!("{}: {}", e.kind, e.message),
        (None, _) => "accepted".to_owned(),
    };
    (expected, (got, was_rejected && kind_ok))
}

fn names_of(report: &ConnectionReport) -> String {
    let kinds: Vec<&str> = report.ssl_errors.iter().map(|e| e.kind.as_str()).collect();
    if kinds.is_empty() {
        "no certificate errors".to_owned()
    } else {
        kinds.join(", ")
    }
}

fn names(kinds: &[SslErrorKind]) -> String {
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    if names.is_empty() {
        "handshake failed".to_owned()
    } else {
        names.join(", ")
    }
}

fn client_settings(pki: &Pki) -> Settings {
    let config = SslConfiguration {
        ca_certificates: vec![pki.ca.clone()],
        system_ca_certificates: false,
        ..SslConfiguration::default()
    };
    Settings {
        config,
        dtls: None,
        ignore: None,
        peer_name: Some("localhost".to_owned()),
        timeout: TIMEOUT,
        read_timeout: TIMEOUT,
        starttls: None,
        verify_given: false,
        net: crate::cli::NetArgs::default(),
        // The demo's servers are on loopback: the environment's proxy is not for them.
        proxy: Some(sslsocket::NetworkProxy::no_proxy()),
    }
}

fn server_config(identity: &Identity) -> SslConfiguration {
    SslConfiguration {
        local_certificate_chain: identity.chain.clone(),
        private_key: Some(identity.key.clone()),
        system_ca_certificates: false,
        ..SslConfiguration::default()
    }
}

/// An `SslServer` on 127.0.0.1:0 that echoes one line per connection and then closes, and
/// records the certificate errors of failed handshakes.
struct EchoServer {
    port: u16,
    failures: Arc<Mutex<Vec<Vec<SslErrorKind>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EchoServer {
    fn start(backend: &Arc<dyn SslBackend>, config: SslConfiguration) -> Result<EchoServer, Error> {
        let mut server = SslServer::with_backend_handle(Arc::clone(backend));
        server.set_ssl_configuration(config);
        server.set_handshake_timeout(TIMEOUT);
        server.listen("127.0.0.1:0")?;
        let port = server.local_address().map_or(0, |a| a.port());
        let failures = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (failures2, stop2) = (Arc::clone(&failures), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Acquire) {
                match server.accept_next(Some(Duration::from_millis(20))) {
                    Ok(Accepted::Encrypted(socket)) => {
                        std::thread::spawn(move || echo_line(*socket));
                    }
                    Ok(Accepted::Failed(f)) => {
                        let kinds = f.ssl_errors.iter().map(|e| e.kind).collect();
                        failures2.lock().unwrap_or_else(PoisonError::into_inner).push(kinds);
                    }
                    Err(Error::Timeout { .. }) => {}
                    Err(_) => return,
                }
            }
        });
        Ok(EchoServer { port, failures, stop, thread: Some(thread) })
    }

    fn target(&self) -> Target {
        Target { host: "127.0.0.1".to_owned(), port: self.port }
    }

    /// The certificate errors of the next failed handshake, waiting up to `timeout`.
    fn wait_for_failure(&self, timeout: Duration) -> Option<Vec<SslErrorKind>> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(kinds) = self.failures.lock().unwrap_or_else(PoisonError::into_inner).pop()
            {
                return Some(kinds);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads up to the first line end (or the client's close), echoes it, closes gracefully.
fn echo_line(mut socket: SslSocket) {
    socket.set_read_timeout(Some(TIMEOUT));
    let mut line = Vec::new();
    let mut buf = [0u8; 1024];
    while !line.contains(&b'\n') {
        match socket.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => line.extend_from_slice(&buf[..n]),
        }
    }
    if socket.write_all(&line).and_then(|()| socket.flush()).is_ok() {
        socket.disconnect_from_host();
        let _ = socket.wait_for_disconnected(TIMEOUT);
    }
}

fn make_pki() -> Result<Pki, String> {
    let (ca, issuer) = authority("sslsock demo CA")?;
    let (_, other_issuer) = authority("sslsock untrusted CA")?;
    Ok(Pki {
        ca,
        good: leaf(&issuer, "localhost", false)?,
        expired: leaf(&issuer, "localhost", true)?,
        untrusted: leaf(&other_issuer, "localhost", false)?,
        client: leaf(&issuer, "sslsock demo client", false)?,
    })
}

fn authority(name: &str) -> Result<(SslCertificate, Issuer<'static, KeyPair>), String> {
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.distinguished_name.push(DnType::OrganizationName, "sslsock demo");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    Ok((to_ssl(cert.der())?, Issuer::new(params, key)))
}

fn leaf(issuer: &Issuer<'static, KeyPair>, name: &str, expired: bool) -> Result<Identity, String> {
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let names = if name == "localhost" {
        vec![name.to_owned(), "127.0.0.1".to_owned()]
    } else {
        Vec::new()
    };
    let mut params = CertificateParams::new(names).map_err(|e| e.to_string())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages =
        vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    if expired {
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2021, 1, 1);
    }
    let cert = params.signed_by(&key, issuer).map_err(|e| e.to_string())?;
    let key = SslKey::private_key_from_der(&key.serialize_der(), KeyFormat::Pkcs8)
        .map_err(|e| e.to_string())?;
    Ok(Identity { chain: vec![to_ssl(cert.der())?], key })
}

fn to_ssl(der: &[u8]) -> Result<SslCertificate, String> {
    SslCertificate::from_der(der).map_err(|e| e.to_string())
}
