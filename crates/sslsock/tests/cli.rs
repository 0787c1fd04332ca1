//! Drives the built `sslsock` binary: serve + connect, rejected certificates, usage errors,
//! the demo, and interop with `openssl s_server` / `s_client` (required: CI installs it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_sslsock");
const OPENSSL: &str = "/usr/bin/openssl";

// ---- certificates ------------------------------------------------------------------------

/// A temp directory with a CA and server certificates, removed on drop.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::Builder::new().prefix("sslsock-cli-").tempdir().unwrap();
        let (ca_pem, issuer) = authority("sslsock test CA");
        let (_, other) = authority("sslsock other CA");
        std::fs::write(dir.path().join("ca.pem"), ca_pem).unwrap();
        for (name, issuer, expired) in
            [("good", &issuer, false), ("expired", &issuer, true), ("untrusted", &other, false)]
        {
            let (cert, key) = leaf(issuer, expired);
            std::fs::write(dir.path().join(format!("{name}.pem")), cert).unwrap();
            std::fs::write(dir.path().join(format!("{name}.key")), key).unwrap();
        }
        Pki { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

fn authority(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(params, key))
}

fn leaf(issuer: &Issuer<'static, KeyPair>, expired: bool) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "localhost");
    if expired {
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2021, 1, 1);
    }
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

// ---- processes ---------------------------------------------------------------------------

/// A child process killed on drop, its stdout lines delivered through a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn spawn(program: &str, args: &[&str]) -> Running {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    fn next_line(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(20)).expect("a line of output in time")
    }

    /// The next line starting with `prefix`, skipping others.
    fn line_starting(&self, prefix: &str) -> String {
        loop {
            let line = self.next_line();
            if line.starts_with(prefix) {
                return line;
            }
        }
    }

    fn wait(&mut self) -> i32 {
        for _ in 0..400 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the process did not exit in time");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sslsock serve 127.0.0.1:0 --cert NAME.pem --key NAME.key ARGS…`, and its port.
fn serve(pki: &Pki, name: &str, args: &[&str]) -> (Running, u16) {
    let cert = pki.path(&format!("{name}.pem"));
    let key = pki.path(&format!("{name}.key"));
    let mut all = vec!["serve", "127.0.0.1:0", "--cert", &cert, "--key", &key];
    all.extend_from_slice(args);
    let server = Running::spawn(BIN, &all);
    let first = server.next_line();
    let port = first
        .strip_prefix("listening on 127.0.0.1:")
        .unwrap_or_else(|| panic!("first line {first:?}"))
        .parse()
        .unwrap();
    (server, port)
}

/// Runs `sslsock ARGS…` to completion: (exit status, stdout, stderr).
fn sslsock(args: &[&str]) -> (i32, String, String) {
    run(BIN, args, b"")
}

fn run(program: &str, args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut out = String::new();
    stdout.read_to_string(&mut out).unwrap();
    let code = child.wait().unwrap().code().unwrap_or(-1);
    (code, out, err_thread.join().unwrap())
}

fn connect_json(port: u16, args: &[&str]) -> (i32, Value) {
    let target = format!("127.0.0.1:{port}");
    let mut all = vec!["connect", &target, "--json", "--no-system-ca", "--read-timeout", "0.5"];
    all.extend_from_slice(args);
    let (code, out, err) = sslsock(&all);
    let value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("connect printed no JSON object ({e}): {out:?} {err:?}"));
    (code, value)
}

fn kinds(report: &Value) -> Vec<String> {
    report["ssl_errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn openssl() -> &'static str {
    assert!(
        Path::new(OPENSSL).exists(),
        "{OPENSSL} is missing: these interop tests need the openssl command (.ci/run installs it)"
    );
    OPENSSL
}

// ---- tests -------------------------------------------------------------------------------

#[test]
fn backends_json_lists_rustls_with_its_fields() {
    let (code, out, _) = sslsock(&["backends", "--json"]);
    assert_eq!(code, 0);
    let list: Value = serde_json::from_str(&out).unwrap();
    let rustls = list.as_array().unwrap().iter().find(|b| b["name"] == "rustls").unwrap();
    assert_eq!(rustls["usable"], true);
    assert!(rustls["reason"].is_null());
    assert!(rustls["library_version"].as_str().unwrap().contains("rustls"));
    assert!(rustls["library_build_version"].is_string());
    assert!(rustls["library_version_number"].as_u64().unwrap() > 0);
    assert!(rustls["protocols"].as_array().unwrap().iter().any(|p| p == "TlsV1_3"));
    assert!(rustls["features"].as_array().unwrap().iter().any(|f| f == "CertificateVerification"));
}

#[test]
fn backends_json_lists_the_server_side_protocols_apart() {
    let (code, out, _) = sslsock(&["backends", "--json"]);
    assert_eq!(code, 0);
    let list: Value = serde_json::from_str(&out).unwrap();
    let has = |entry: &Value, key: &str, protocol: &str| {
        entry[key]
            .as_array()
            .unwrap_or_else(|| panic!("no {key} in {entry}"))
            .iter()
            .any(|p| p == protocol)
    };
    for entry in list.as_array().unwrap() {
        assert!(has(entry, "server_protocols", "TlsV1_2"), "{entry}");
    }
    // A native server is built from native-tls's preset without TLS 1.3; its client has it.
    if let Some(native) = list.as_array().unwrap().iter().find(|b| b["name"] == "native") {
        assert!(has(native, "protocols", "TlsV1_3"), "{native}");
        assert!(!has(native, "server_protocols", "TlsV1_3"), "{native}");
        assert!(!has(native, "server_protocols", "TlsV1_3OrLater"), "{native}");
    }
}

#[test]
fn serve_on_native_refuses_verify_auto_like_query() {
    let (_, out, _) = sslsock(&["backends", "--json"]);
    let list: Value = serde_json::from_str(&out).unwrap();
    if !list.as_array().unwrap().iter().any(|b| b["name"] == "native" && b["usable"] == true) {
        panic!("this test needs the native backend (sslsock is built with every backend)");
    }
    let pki = Pki::new();
    for verify in ["query", "auto"] {
        let (code, out, _) = sslsock(&[
            "serve",
            "127.0.0.1:0",
            "--json",
            "--backend",
            "native",
            "--verify",
            verify,
            "--cert",
            &pki.path("good.pem"),
            "--key",
            &pki.path("good.key"),
        ]);
        assert_eq!(code, 1, "--verify {verify}: {out}");
        assert!(!out.contains("listening on"), "--verify {verify}: {out}");
        assert!(out.contains("ServerRequestsClientCertificate"), "--verify {verify}: {out}");
    }
}

#[test]
fn serve_echo_once_answers_connect() {
    let pki = Pki::new();
    let (mut server, port) = serve(&pki, "good", &["--echo", "--once", "--json"]);
    let ca = pki.path("ca.pem");
    let (code, report) =
        connect_json(port, &["--cafile", &ca, "--peer-name", "localhost", "--send", "hi\\n"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["encrypted"], true);
    assert_eq!(report["mode"], "SslClientMode");
    assert_eq!(report["received"], "hi\n");
    assert_eq!(report["received_bytes"], 3);
    assert!(report["protocol"].as_str().unwrap().starts_with("TlsV1_"));
    assert!(report["cipher"]["name"].as_str().unwrap().starts_with("TLS_"));
    assert_eq!(report["peer_certificate_chain"][0]["subject"], "CN=localhost");
    assert!(report["error"].is_null());
    let served: Value = serde_json::from_str(&server.next_line()).unwrap();
    assert_eq!(served["mode"], "SslServerMode");
    assert_eq!(served["received"], "hi\n");
    assert_eq!(server.wait(), 0);
}

#[test]
fn expired_certificate_is_rejected_unless_ignored() {
    let pki = Pki::new();
    let (_server, port) = serve(&pki, "expired", &["--reply", "ok\\n"]);
    let ca = pki.path("ca.pem");
    let base = ["--cafile", ca.as_str(), "--peer-name", "localhost", "--send", "x"];
    let (code, report) = connect_json(port, &base);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["encrypted"], false);
    assert!(kinds(&report).contains(&"CertificateExpired".to_owned()), "{report}");
    assert_eq!(report["error"]["kind"], "SslHandshakeFailedError");
    assert!(report["received"].is_null());

    let mut ignoring = base.to_vec();
    ignoring.extend(["--ignore-errors", "CertificateExpired"]);
    let (code, report) = connect_json(port, &ignoring);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["received"], "ok\n");
    assert!(kinds(&report).contains(&"CertificateExpired".to_owned()));
    assert_eq!(report["ignored_errors"][0]["kind"], "CertificateExpired");
}

#[test]
fn wrong_host_name_is_rejected_unless_ignored() {
    let pki = Pki::new();
    let (_server, port) = serve(&pki, "good", &["--reply", "ok\\n"]);
    let ca = pki.path("ca.pem");
    let base = ["--cafile", ca.as_str(), "--peer-name", "wrong.example", "--send", "x"];
    let (code, report) = connect_json(port, &base);
    assert_eq!(code, 1, "{report}");
    assert_eq!(kinds(&report), ["HostNameMismatch"]);

    let mut ignoring = base.to_vec();
    ignoring.extend(["--ignore-errors", "HostNameMismatch"]);
    let (code, report) = connect_json(port, &ignoring);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["received"], "ok\n");
}

#[test]
fn untrusted_certificate_is_rejected_unless_all_ignored() {
    let pki = Pki::new();
    let (_server, port) = serve(&pki, "untrusted", &["--reply", "ok\\n"]);
    let ca = pki.path("ca.pem");
    let base = ["--cafile", ca.as_str(), "--peer-name", "localhost", "--send", "x"];
    let (code, report) = connect_json(port, &base);
    assert_eq!(code, 1, "{report}");
    assert!(!kinds(&report).is_empty(), "{report}");
    assert_eq!(report["ignored_errors"], Value::Array(Vec::new()));

    let mut ignoring = base.to_vec();
    ignoring.extend(["--ignore-errors", "all"]);
    let (code, report) = connect_json(port, &ignoring);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ignored_errors"], report["ssl_errors"]);
}

#[test]
fn malformed_command_lines_exit_2() {
    for args in [
        &["connect", "127.0.0.1:443", "--protocol", "TlsV9_9"][..],
        &["connect", "127.0.0.1:99999"],
        &["connect", "127.0.0.1"],
        &["connect", "127.0.0.1:443", "--no-such-flag"],
        &["connect", "127.0.0.1:443", "--ignore-errors", "Expired"],
        &["connect", "127.0.0.1:443", "--send", "\\q"],
        &["connect", "127.0.0.1:443", "--backend", "gnutls"],
        &["serve", "127.0.0.1:0"],
    ] {
        let (code, _, err) = sslsock(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("error"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn configurations_a_backend_cannot_honour_are_refused_before_any_byte() {
    // Port 9 on loopback: nothing listens, and nothing may even be tried.
    for protocol in ["UnknownProtocol", "DtlsV1_2"] {
        let (code, report) = connect_json(9, &["--backend", "rustls", "--protocol", protocol]);
        assert_eq!(code, 1, "{report}");
        assert_eq!(report["error"]["kind"], "SslInvalidUserDataError", "{report}");
        assert!(report["error"]["message"].as_str().unwrap().contains("rustls"), "{report}");
    }
    let pki = Pki::new();
    let (code, out, _) = sslsock(&[
        "serve",
        "127.0.0.1:0",
        "--json",
        "--protocol",
        "UnknownProtocol",
        "--cert",
        &pki.path("good.pem"),
        "--key",
        &pki.path("good.key"),
    ]);
    assert_eq!(code, 1);
    assert!(!out.contains("listening on"), "{out}");
    assert!(out.contains("SslInvalidUserDataError"), "{out}");
}

#[test]
fn verify_depth_is_honoured_or_refused_by_name() {
    let (_, out, _) = sslsock(&["backends", "--json"]);
    let list: Value = serde_json::from_str(&out).unwrap();
    let rustls = list.as_array().unwrap().iter().find(|b| b["name"] == "rustls").unwrap();
    let supported = rustls["features"].as_array().unwrap().iter().any(|f| f == "PeerVerifyDepth");
    let pki = Pki::new();
    let (_server, port) = serve(&pki, "good", &["--reply", "ok\\n"]);
    let ca = pki.path("ca.pem");
    let (code, report) = connect_json(
        port,
        &[
            "--backend",
            "rustls",
            "--cafile",
            &ca,
            "--peer-name",
            "localhost",
            "--verify-depth",
            "1",
            "--send",
            "x",
        ],
    );
    if supported {
        assert_eq!(code, 0, "{report}");
    } else {
        assert_eq!(code, 1, "{report}");
        assert_eq!(report["error"]["kind"], "SslInvalidUserDataError");
        let message = report["error"]["message"].as_str().unwrap();
        assert!(message.contains("rustls") && message.contains("PeerVerifyDepth"), "{message}");
    }
}

#[test]
fn encrypted_keys_are_decrypted_with_pass_and_refused_without() {
    let pki = Pki::new();
    let encrypted = pki.path("good.enc.key");
    let (code, _, err) = run(
        openssl(),
        &[
            "pkcs8",
            "-topk8",
            "-in",
            &pki.path("good.key"),
            "-out",
            &encrypted,
            "-passout",
            "pass:secret",
        ],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    let cert = pki.path("good.pem");
    let (code, out, _) = sslsock(&[
        "serve",
        "127.0.0.1:0",
        "--json",
        "--cert",
        &cert,
        "--key",
        &encrypted,
        "--pass",
        "wrong",
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("SslInvalidUserDataError") && out.contains("passphrase"), "{out}");

    let server = Running::spawn(
        BIN,
        &["serve", "127.0.0.1:0", "--cert", &cert, "--key", &encrypted, "--pass", "secret"],
    );
    assert!(server.next_line().starts_with("listening on "));
}

#[test]
fn demo_behaves_as_expected() {
    let (code, out, err) = sslsock(&["demo"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("everything behaved as expected"), "{out}");
    assert!(out.contains("HostNameMismatch") && out.contains("CertificateExpired"), "{out}");
}

#[test]
fn connect_reads_from_openssl_s_server() {
    let pki = Pki::new();
    let server = Running::spawn(
        openssl(),
        &[
            "s_server",
            "-accept",
            "127.0.0.1:0",
            "-www",
            "-cert",
            &pki.path("good.pem"),
            "-key",
            &pki.path("good.key"),
        ],
    );
    let accept = server.line_starting("ACCEPT");
    let port: u16 = accept.rsplit(':').next().unwrap().parse().unwrap();
    let ca = pki.path("ca.pem");
    let (code, report) = connect_json(
        port,
        &["--cafile", &ca, "--peer-name", "localhost", "--send", "GET / HTTP/1.0\\r\\n\\r\\n"],
    );
    assert_eq!(code, 0, "{report}");
    assert!(report["received"].as_str().unwrap().starts_with("HTTP/1.0 200 ok"), "{report}");
    assert_eq!(report["ssl_errors"], Value::Array(Vec::new()));
}

#[test]
fn serve_answers_openssl_s_client() {
    let pki = Pki::new();
    let (mut server, port) = serve(&pki, "good", &["--echo", "--once", "--json"]);
    let target = format!("127.0.0.1:{port}");
    let ca = pki.path("ca.pem");
    let (code, out, err) = run(
        openssl(),
        &[
            "s_client",
            "-connect",
            &target,
            "-CAfile",
            &ca,
            "-servername",
            "localhost",
            "-verify_return_error",
        ],
        b"hi\n",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("Verify return code: 0 (ok)"), "{out}");
    let served: Value = serde_json::from_str(&server.next_line()).unwrap();
    assert_eq!(served["received"], "hi\n", "{served}");
    assert!(served["error"].is_null(), "{served}");
    assert_eq!(server.wait(), 0);
}

#[test]
fn serve_starttls_smtp_answers_openssl_s_client() {
    let pki = Pki::new();
    let (mut server, port) = serve(&pki, "good", &["--starttls", "smtp", "--once", "--json"]);
    let target = format!("127.0.0.1:{port}");
    let ca = pki.path("ca.pem");
    let (code, out, err) = run(
        openssl(),
        &[
            "s_client",
            "-connect",
            &target,
            "-starttls",
            "smtp",
            "-CAfile",
            &ca,
            "-servername",
            "localhost",
            "-verify_return_error",
        ],
        b"hello\n",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("Verify return code: 0 (ok)"), "{out}");
    let served: Value = serde_json::from_str(&server.next_line()).unwrap();
    assert_eq!(served["encrypted"], true, "{served}");
    assert_eq!(served["received"], "hello\n", "{served}");
    assert_eq!(server.wait(), 0);
}

#[test]
fn connect_starttls_talks_to_serve_starttls() {
    let pki = Pki::new();
    let ca = pki.path("ca.pem");
    for proto in ["smtp", "imap", "pop3"] {
        let (_server, port) = serve(&pki, "good", &["--starttls", proto, "--reply", "ok\\n"]);
        let (code, report) = connect_json(
            port,
            &["--starttls", proto, "--cafile", &ca, "--peer-name", "localhost", "--send", "x"],
        );
        assert_eq!(code, 0, "{proto}: {report}");
        assert_eq!(report["received"], "ok\n", "{proto}: {report}");
    }
}

#[test]
fn serve_and_connect_on_every_backend_pair() {
    let (_, out, _) = sslsock(&["backends", "--json"]);
    let list: Value = serde_json::from_str(&out).unwrap();
    let usable: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["usable"] == true)
        .map(|b| b["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(!usable.is_empty());
    let pki = Pki::new();
    let ca = pki.path("ca.pem");
    for server_backend in &usable {
        let (_server, port) = serve(&pki, "good", &["--backend", server_backend, "--echo"]);
        for client_backend in &usable {
            let (code, report) = connect_json(
                port,
                &[
                    "--backend",
                    client_backend,
                    "--cafile",
                    &ca,
                    "--peer-name",
                    "localhost",
                    "--send",
                    "ping\\n",
                ],
            );
            assert_eq!(code, 0, "{client_backend} -> {server_backend}: {report}");
            assert_eq!(report["backend"], client_backend.as_str());
            assert_eq!(report["received"], "ping\n", "{client_backend} -> {server_backend}");
        }
    }
}

// ---- explicit trust and engine disagreements ---------------------------------------------

/// `openssl req -x509` as a new user makes a test server's certificate, in `pki`'s directory:
/// NAME.pem and NAME.key, CA:TRUE, CN=localhost, plus `extra` arguments.
fn openssl_req_x509(pki: &Pki, name: &str, extra: &[&str]) {
    let (cert, key) = (pki.path(&format!("{name}.pem")), pki.path(&format!("{name}.key")));
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &cert,
        "-subj",
        "/CN=localhost",
        "-days",
        "2",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = run(openssl(), &args, b"");
    assert_eq!(code, 0, "openssl req: {out}\n{err}");
}

/// A self-signed CA:TRUE certificate for localhost made with rcgen (NAME.pem, NAME.key), valid
/// in 2020 only when `expired`.
fn self_signed_ca(pki: &Pki, name: &str, expired: bool) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "localhost");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    if expired {
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2021, 1, 1);
    }
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(pki.dir.path().join(format!("{name}.pem")), cert.pem()).unwrap();
    std::fs::write(pki.dir.path().join(format!("{name}.key")), key.serialize_pem()).unwrap();
}

/// `openssl s_server -www` presenting NAME.pem on a free port of 127.0.0.1.
fn openssl_www(pki: &Pki, name: &str) -> (Running, u16) {
    let (cert, key) = (pki.path(&format!("{name}.pem")), pki.path(&format!("{name}.key")));
    let server = Running::spawn(
        openssl(),
        &["s_server", "-accept", "127.0.0.1:0", "-www", "-cert", &cert, "-key", &key],
    );
    let accept = server.line_starting("ACCEPT");
    let port = accept.rsplit(':').next().unwrap().parse().unwrap();
    (server, port)
}

/// `sslsock probe 127.0.0.1:PORT --no-system-ca ARGS…` in both renderings: (exit status, the
/// reports, the text output).
fn probe(port: u16, args: &[&str]) -> (i32, Vec<Value>, String) {
    let target = format!("127.0.0.1:{port}");
    let mut all = vec!["probe", &target, "--no-system-ca", "--read-timeout", "0.5"];
    all.extend_from_slice(args);
    let (code, text, _) = sslsock(&all);
    all.push("--json");
    let (json_code, out, err) = sslsock(&all);
    assert_eq!(code, json_code, "{text}\n{out}");
    let reports: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    (code, reports.as_array().unwrap().clone(), text)
}

/// The backends whose features include `DetailedVerifyErrors`.
fn detailed_backends() -> Vec<String> {
    let (code, out, _) = sslsock(&["backends", "--json"]);
    assert_eq!(code, 0, "{out}");
    let list: Value = serde_json::from_str(&out).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .filter(|b| b["features"].as_array().unwrap().iter().any(|f| f == "DetailedVerifyErrors"))
        .map(|b| b["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn probe_trusts_an_openssl_req_x509_certificate_given_as_cafile_on_every_backend() {
    let pki = Pki::new();
    openssl_req_x509(&pki, "c", &["-addext", "subjectAltName=DNS:localhost"]);
    let (_server, port) = openssl_www(&pki, "c");
    let cafile = pki.path("c.pem");
    let (code, reports, text) = probe(port, &["--cafile", &cafile, "--peer-name", "localhost"]);
    assert_eq!(code, 0, "{text}");
    assert!(reports.len() >= 2, "{text}");
    for report in &reports {
        assert_eq!(report["encrypted"], true, "{report}");
        assert_eq!(kinds(report), Vec::<String>::new(), "{report}");
    }
    assert!(!text.contains("engines disagree"), "{text}");

    // Not given as a CA certificate: every backend rejects it, and they agree.
    let other = pki.path("ca.pem");
    let (code, reports, text) = probe(port, &["--cafile", &other, "--peer-name", "localhost"]);
    assert_eq!(code, 1, "{text}");
    for report in &reports {
        assert_eq!(report["encrypted"], false, "{report}");
        assert!(!kinds(report).is_empty(), "{report}");
    }
    assert!(!text.contains("engines disagree"), "{text}");
}

#[test]
fn an_explicitly_trusted_certificate_still_expires_and_still_needs_its_name() {
    let pki = Pki::new();
    self_signed_ca(&pki, "old", true);
    let (_server, port) = openssl_www(&pki, "old");
    let cafile = pki.path("old.pem");
    let (code, reports, text) = probe(port, &["--cafile", &cafile, "--peer-name", "localhost"]);
    assert_eq!(code, 1, "{text}");
    let detailed = detailed_backends();
    let fits = |report: &Value, kind: &str| {
        // A backend without detailed verify errors may name none (native-tls), and says so;
        // rustls, whose rule this is, and OpenSSL name the kind.
        let got = kinds(report);
        let vague = !detailed.iter().any(|b| report["backend"] == b.as_str())
            && report["backend"] != "rustls";
        got == [kind] || (vague && got == ["UnspecifiedError"])
    };
    for report in &reports {
        assert!(fits(report, "CertificateExpired"), "{report}");
    }

    self_signed_ca(&pki, "current", false);
    let (_server, port) = openssl_www(&pki, "current");
    let cafile = pki.path("current.pem");
    let (code, reports, text) =
        probe(port, &["--cafile", &cafile, "--peer-name", "elsewhere.example"]);
    assert_eq!(code, 1, "{text}");
    for report in &reports {
        assert!(fits(report, "HostNameMismatch"), "{report}");
    }
}

#[test]
fn probe_says_when_engines_disagree() {
    // No subjectAltName: OpenSSL falls back to the CN, webpki does not (a declared difference).
    let pki = Pki::new();
    openssl_req_x509(&pki, "cn-only", &[]);
    let (_server, port) = openssl_www(&pki, "cn-only");
    let cafile = pki.path("cn-only.pem");
    let (code, _, text) = probe(port, &["--cafile", &cafile, "--peer-name", "localhost"]);
    assert_eq!(code, 1, "{text}");
    let last = text.lines().last().unwrap_or_default();
    assert_eq!(
        last, "engines disagree: rustls rejects (HostNameMismatch), openssl and native accept",
        "{text}"
    );
}

/// Runs `sslsock ARGS…` and waits at most `limit` for it (killed and failed beyond): (exit
/// status, stdout, time taken).
fn sslsock_within(args: &[&str], limit: Duration) -> (i32, String, Duration) {
    let started = std::time::Instant::now();
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let took = started.elapsed();
            return (status.code().unwrap_or(-1), reader.join().unwrap(), took);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sslsock {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
#[test]
fn file_options_read_regular_files_only_and_within_the_size_limit() {
    let pki = Pki::new();
    let fifo = pki.path("fifo.pem");
    rustix::fs::mkfifoat(rustix::fs::CWD, fifo.as_str(), rustix::fs::Mode::from_raw_mode(0o600))
        .unwrap();
    let huge = pki.path("huge.pem");
    // Sparse: over the limit without using the disk.
    std::fs::File::create(&huge).unwrap().set_len(ssl_api::files::MAX_FILE_SIZE + 1).unwrap();
    let (cert, key) = (pki.path("good.pem"), pki.path("good.key"));
    let connect = |option: &'static str, path: &str| -> Vec<String> {
        ["connect", "127.0.0.1:9", "--json", "--no-system-ca", option, path]
            .map(str::to_owned)
            .to_vec()
    };
    let serve = |option: &'static str, path: &str| -> Vec<String> {
        let (mut c, mut k, mut extra) = (cert.as_str(), key.as_str(), vec![]);
        match option {
            "--cert" => c = path,
            "--key" => k = path,
            _ => extra = vec![option, path],
        }
        let mut args = vec!["serve", "127.0.0.1:0", "--json", "--cert", c, "--key", k];
        args.extend(extra);
        args.into_iter().map(str::to_owned).collect()
    };
    let cases = [
        (connect("--cafile", "/dev/zero"), "is not a regular file"),
        (connect("--cafile", &fifo), "is not a regular file"),
        (connect("--cafile", &huge), "is larger than"),
        (serve("--key", &fifo), "is not a regular file"),
        (serve("--key", "/dev/zero"), "is not a regular file"),
        (serve("--cert", &fifo), "is not a regular file"),
        (serve("--chain", &huge), "is larger than"),
    ];
    for (args, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, took) = sslsock_within(&args, Duration::from_secs(10));
        println!("{args:?}: exit {code} in {took:?}");
        assert_eq!(code, 1, "{args:?}: {out}");
        assert!(
            out.contains("SslInvalidUserDataError") && out.contains(expected),
            "{args:?}: {out}"
        );
        assert!(!out.contains("listening on"), "{args:?}: {out}");
    }
    // A pattern skips what is not a regular file within the limit: the FIFO and the huge file
    // here, the endless files of /proc; then the connection is tried (nothing listens on 9).
    let dir_pattern = format!("{}/*", pki.path(""));
    for pattern in [dir_pattern.as_str(), "/proc/self/*"] {
        let args = ["connect", "127.0.0.1:9", "--json", "--no-system-ca", "--capath", pattern];
        let (code, out, took) = sslsock_within(&args, Duration::from_secs(10));
        println!("--capath {pattern}: exit {code} in {took:?}");
        assert_eq!(code, 1, "{out}");
        let report: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(report["error"]["kind"], "ConnectionRefusedError", "{report}");
    }
}

#[test]
fn legacy_encrypted_pem_keys_are_decrypted_with_pass() {
    let pki = Pki::new();
    let legacy = pki.path("good.legacy.key");
    // `openssl ec` writes the traditional SEC1 form, encrypted with Proc-Type and DEK-Info.
    let (code, _, err) = run(
        openssl(),
        &[
            "ec",
            "-in",
            &pki.path("good.key"),
            "-aes128",
            "-passout",
            "pass:secret",
            "-out",
            &legacy,
        ],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&legacy).unwrap();
    assert!(text.contains("Proc-Type: 4,ENCRYPTED"), "{text}");
    let cert = pki.path("good.pem");
    for (pass, expected) in [(None, "give --pass"), (Some("wrong"), "passphrase")] {
        let mut args = vec!["serve", "127.0.0.1:0", "--json", "--cert", &cert, "--key", &legacy];
        if let Some(pass) = pass {
            args.extend(["--pass", pass]);
        }
        let (code, out, _) = sslsock(&args);
        assert_eq!(code, 1, "{pass:?}: {out}");
        assert!(out.contains("SslInvalidUserDataError") && out.contains(expected), "{out}");
    }
    let (_server, port) = {
        let server = Running::spawn(
            BIN,
            &["serve", "127.0.0.1:0", "--cert", &cert, "--key", &legacy, "--pass", "secret"],
        );
        let first = server.next_line();
        let port: u16 = first
            .strip_prefix("listening on 127.0.0.1:")
            .unwrap_or_else(|| panic!("first line {first:?}"))
            .parse()
            .unwrap();
        (server, port)
    };
    let ca = pki.path("ca.pem");
    let (code, report) = connect_json(port, &["--cafile", &ca, "--peer-name", "localhost"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["encrypted"], true, "{report}");
}

/// A self-signed certificate (and its key) whose subject carries ESC, BEL, CR and LF.
fn hostile_subject_identity(pki: &Pki) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "evil\u{1b}]0;pwned\u{7}\r\nOWNED\u{1b}[2J");
    let cert = params.self_signed(&key).unwrap();
    let (cert_path, key_path) = (pki.path("evil.pem"), pki.path("evil.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

fn assert_no_control_characters(what: &str, out: &str) {
    let bad: Vec<char> = out.chars().filter(|c| c.is_control() && *c != '\n').collect();
    assert!(bad.is_empty(), "{what}: control characters {bad:?} in {out:?}");
    assert!(
        out.contains("evil\\u{1b}]0") && out.contains("pwned\\u{7}\\r\\nOWNED"),
        "{what}: {out:?}"
    );
}

#[test]
fn a_peer_subject_with_control_characters_is_escaped_in_the_human_output() {
    let pki = Pki::new();
    let (cert, key) = hostile_subject_identity(&pki);
    let server = Running::spawn(
        BIN,
        &[
            "serve",
            "127.0.0.1:0",
            "--cert",
            &cert,
            "--key",
            &key,
            "--verify",
            "query",
            "--reply",
            "ok\\n",
        ],
    );
    let first = server.next_line();
    let target = first.strip_prefix("listening on ").unwrap().to_owned();
    for command in ["connect", "probe"] {
        let (code, out, err) = sslsock(&[
            command,
            &target,
            "--no-system-ca",
            "--ignore-errors",
            "all",
            "--cert",
            &cert,
            "--key",
            &key,
            "--send",
            "x",
            "--read-timeout",
            "0.5",
        ]);
        // probe exits 1 when a backend cannot ignore errors (native): its output still counts.
        assert!(code == 0 || command == "probe", "{command}: {out}\n{err}");
        assert_no_control_characters(command, &out);
    }
    // The server's line for the connect: the client certificate's subject.
    let line = server.line_starting("127.0.0.1:");
    assert_no_control_characters("serve", &line);
}

// ---- proxies -------------------------------------------------------------------------------

/// A one-connection HTTP CONNECT proxy: reads the request (recorded), connects to the target
/// it names, answers 200 and relays both ways.
fn connect_proxy() -> (u16, std::thread::JoinHandle<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let relay = std::thread::spawn(move || {
        let (mut client, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            client.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).unwrap();
        let authority = head.split(' ').nth(1).unwrap().to_owned();
        let mut target = std::net::TcpStream::connect(authority).unwrap();
        client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").unwrap();
        let (mut from_client, mut to_target) =
            (client.try_clone().unwrap(), target.try_clone().unwrap());
        let up = std::thread::spawn(move || {
            let _ = std::io::copy(&mut from_client, &mut to_target);
            let _ = to_target.shutdown(std::net::Shutdown::Write);
        });
        let _ = std::io::copy(&mut target, &mut client);
        let _ = client.shutdown(std::net::Shutdown::Write);
        let _ = up.join();
        head
    });
    (port, relay)
}

#[test]
fn connect_goes_through_the_proxy_given_and_reports_it_without_the_password() {
    let pki = Pki::new();
    let (mut server, port) = serve(&pki, "good", &["--echo", "--once", "--json"]);
    let (proxy_port, relay) = connect_proxy();
    let ca = pki.path("ca.pem");
    let proxy = format!("http://user:secret@127.0.0.1:{proxy_port}");
    let (code, report) = connect_json(
        port,
        &["--cafile", &ca, "--peer-name", "localhost", "--send", "hi\\n", "--proxy", &proxy],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["encrypted"], true);
    assert_eq!(report["received"], "hi\n");
    assert_eq!(report["proxy"], format!("http://user@127.0.0.1:{proxy_port}"));
    assert!(!report.to_string().contains("secret"), "{report}");
    let request = relay.join().unwrap();
    assert!(request.starts_with(&format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n")), "{request}");
    // user:secret in base64
    assert!(request.contains("Proxy-Authorization: Basic dXNlcjpzZWNyZXQ=\r\n"), "{request}");
    assert_eq!(server.wait(), 0);
}

/// `sslsock connect` with `env` set (and nothing else of the proxy variables inherited).
fn connect_with_env(port: u16, env: &[(&str, &str)], args: &[&str]) -> Value {
    let target = format!("127.0.0.1:{port}");
    let mut command = Command::new(BIN);
    command.args(["connect", &target, "--json", "--no-system-ca", "--read-timeout", "0.5"]);
    command.args(args);
    for name in ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let out = command.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("no JSON ({e}): {text:?}"))
}

#[test]
fn connect_honours_the_proxy_environment_as_curl_does_unless_told_none() {
    let pki = Pki::new();
    let ca = pki.path("ca.pem");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let env_proxy = format!("socks5h://127.0.0.1:{closed}");
    let args = ["--cafile", ca.as_str(), "--peer-name", "localhost"];
    let report = connect_with_env(1, &[("https_proxy", &env_proxy)], &args);
    assert_eq!(report["error"]["kind"], "ProxyConnectionRefusedError", "{report}");
    assert_eq!(report["proxy"], env_proxy);
    let report = connect_with_env(1, &[("ALL_PROXY", &env_proxy)], &args);
    assert_eq!(report["error"]["kind"], "ProxyConnectionRefusedError", "{report}");
    // no_proxy and --proxy none: direct, to the server.
    let (mut server, port) = serve(&pki, "good", &["--echo", "--once"]);
    let env = [("https_proxy", env_proxy.as_str()), ("no_proxy", "localhost,127.0.0.1")];
    let report = connect_with_env(port, &env, &args);
    assert_eq!(report["encrypted"], true, "{report}");
    assert!(report["proxy"].is_null());
    assert_eq!(server.wait(), 0);
    let (mut server, port) = serve(&pki, "good", &["--echo", "--once"]);
    let mut none = args.to_vec();
    none.extend(["--proxy", "none"]);
    let report = connect_with_env(port, &[("https_proxy", &env_proxy)], &none);
    assert_eq!(report["encrypted"], true, "{report}");
    assert!(report["proxy"].is_null());
    assert_eq!(server.wait(), 0);
    let (code, _, err) = sslsock(&["connect", "127.0.0.1:1", "--proxy", "ftp://x"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unsupported proxy scheme"), "{err}");
}
