//! `sslsock connect`'s socket options: `--bind`, `-4` / `-6`, `--keepalive`, `--no-delay`,
//! and the `local_address` / `peer_address` of its JSON report, seen from the server's side
//! (the client's keep-alive timer as `ss -tno` shows it while the connection is open).
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use rcgen::{CertificateParams, KeyPair};
use serde_json::Value;
use sslsocket::{
    Accepted, EncodingFormat, KeyFormat, SslCertificate, SslConfiguration, SslKey, SslServer,
};

const BIN: &str = env!("CARGO_BIN_EXE_sslsock");

/// A `localhost` server for one connection, and the CA file that trusts it; the server thread
/// returns the accepted socket's peer address and what `ss -tno` says of the client's end
/// while the connection is open.
fn server(
    dir: &tempfile::TempDir,
    listen: &str,
) -> (u16, String, std::thread::JoinHandle<(String, String)>) {
    let key = KeyPair::generate().unwrap();
    let cert =
        CertificateParams::new(vec!["localhost".to_owned()]).unwrap().self_signed(&key).unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, cert.pem()).unwrap();
    let mut server = SslServer::new().unwrap();
    server.set_ssl_configuration(SslConfiguration {
        local_certificate_chain: SslCertificate::from_data(
            cert.pem().as_bytes(),
            EncodingFormat::Pem,
        )
        .unwrap(),
        private_key: Some(
            SslKey::private_key_from_der(key.serialized_der(), KeyFormat::Pkcs8).unwrap(),
        ),
        ..SslConfiguration::default()
    });
    server.listen(listen).unwrap();
    let port = server.local_address().unwrap().port();
    let handle = std::thread::spawn(move || {
        let Accepted::Encrypted(mut socket) =
            server.accept_next(Some(Duration::from_secs(20))).unwrap()
        else {
            panic!("handshake failed")
        };
        let peer = socket.peer_address().unwrap();
        let filter = format!("( sport = :{} )", peer.port());
        let ss = Command::new("ss").args(["-tnoH", "state", "established", &filter]).output();
        let ss = ss.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
        socket.disconnect_from_host();
        let _ = socket.wait_for_disconnected(Duration::from_secs(10));
        (peer.to_string(), ss)
    });
    (port, ca.display().to_string(), handle)
}

fn connect(target: &str, ca: &str, extra: &[&str]) -> Value {
    let mut args = vec!["connect", target, "--json", "--no-system-ca", "--cafile", ca];
    args.extend_from_slice(&["--peer-name", "localhost", "--read-timeout", "2"]);
    args.extend_from_slice(extra);
    let out = Command::new(BIN).args(&args).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    println!("sslsock {}\n{text}", args.join(" "));
    serde_json::from_str(text.trim()).unwrap()
}

#[test]
fn connect_binds_chooses_the_family_and_reports_both_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let (port, ca, served) = server(&dir, "127.0.0.1:0");
    let local_port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bind = format!("127.0.0.1:{local_port}");
    let report = connect(
        &format!("127.0.0.1:{port}"),
        &ca,
        &["--bind", &bind, "-4", "--keepalive", "--no-delay", "false"],
    );
    assert_eq!(report["error"], Value::Null, "{report}");
    assert_eq!(report["local_address"], bind.as_str());
    assert_eq!(report["peer_address"], format!("127.0.0.1:{port}").as_str());
    let (peer, ss) = served.join().unwrap();
    assert_eq!(peer, bind, "the server saw the bound address");
    println!("ss -tno of the client's end: {ss}");
    assert!(ss.contains("timer:(keepalive"), "--keepalive: {ss:?}");

    // -6 to an IPv4 literal: no address of that family.
    let (port, ca, _served) = server(&dir, "127.0.0.1:0");
    let report = connect(&format!("127.0.0.1:{port}"), &ca, &["-6"]);
    assert_eq!(report["error"]["kind"], "HostNotFoundError", "{report}");
    assert_eq!(report["local_address"], Value::Null);
    // -4 and -6 together are a usage error; so is a --bind that is not an address.
    let out = Command::new(BIN).args(["connect", "127.0.0.1:1", "-4", "-6"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out =
        Command::new(BIN).args(["connect", "127.0.0.1:1", "--bind", "nohost"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
