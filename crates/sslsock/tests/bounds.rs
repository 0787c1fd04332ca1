//! A peer cannot grow `sslsock`'s memory without bound, and a write that times out is reported
//! as one: `connect` and `serve` keep a bounded prefix of what arrives (the count and the
//! SHA-256 cover everything), an `--echo` server that is never read pushes back instead of
//! buffering, and a blocked write ends in `SocketTimeoutError`.
//!
//! The figures are scaled down from the (1 GB, 1.5 GB) for a debug build: 64 MiB
//! pushed by default (`SSLSOCKET_BOUNDS_BYTES` sets another size, e.g. 1610612736 for the
//! issue's full run), and the bound checked is on bytes (the peak RSS stays under half of what
//! was pushed; before, it was several times what was pushed). Each run prints its figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use rcgen::{CertificateParams, KeyPair};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sslsocket::{
    Accepted, EncodingFormat, KeyFormat, SslCertificate, SslConfiguration, SslKey, SslServer,
    SslSocket,
};

const BIN: &str = env!("CARGO_BIN_EXE_sslsock");
const PREFIX: usize = 64 * 1024;

/// The bytes pushed at a peer: 64 MiB, or `SSLSOCKET_BOUNDS_BYTES`.
fn pushed_size() -> usize {
    std::env::var("SSLSOCKET_BOUNDS_BYTES").ok().and_then(|v| v.parse().ok()).unwrap_or(64 << 20)
}

/// How long a transfer of [`pushed_size`] bytes may take in a debug build: two minutes, or
/// 2 MiB/s for a larger size.
fn transfer_limit() -> Duration {
    Duration::from_secs(120).max(Duration::from_secs((pushed_size() >> 21) as u64))
}

/// A self-signed `localhost` identity in a temporary directory, removed on drop.
struct Identity {
    dir: tempfile::TempDir,
    cert: SslCertificate,
    key: SslKey,
}

impl Identity {
    fn new() -> Identity {
        let dir = tempfile::Builder::new().prefix("sslsock-bounds-").tempdir().unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
        Identity {
            cert: SslCertificate::from_data(cert.pem().as_bytes(), EncodingFormat::Pem)
                .unwrap()
                .remove(0),
            key: SslKey::private_key_from_der(key.serialized_der(), KeyFormat::Pkcs8).unwrap(),
            dir,
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn server(&self) -> SslServer {
        let mut server = SslServer::new().unwrap();
        server.set_ssl_configuration(SslConfiguration {
            local_certificate_chain: vec![self.cert.clone()],
            private_key: Some(self.key.clone()),
            ..SslConfiguration::default()
        });
        server.listen("127.0.0.1:0").unwrap();
        server
    }

    fn client(&self, port: u16) -> SslSocket {
        let mut socket = SslSocket::new();
        socket.set_ssl_configuration(SslConfiguration {
            ca_certificates: vec![self.cert.clone()],
            system_ca_certificates: false,
            ..SslConfiguration::default()
        });
        socket.connect_to_host_encrypted("localhost", port);
        socket.wait_for_encrypted(Duration::from_secs(10)).unwrap();
        socket
    }
}

/// An `sslsock` child: its stdout and stderr lines through channels (stderr is also passed
/// on to the test's), its peak RSS sampled until it exits; killed on drop.
struct Sslsock {
    child: Child,
    lines: mpsc::Receiver<String>,
    errors: mpsc::Receiver<String>,
    peak_kib: u64,
}

impl Sslsock {
    fn spawn(args: &[&str]) -> Sslsock {
        Sslsock::spawn_with_env(args, &[])
    }

    fn spawn_with_env(args: &[&str], env: &[(&str, &str)]) -> Sslsock {
        let mut child = Command::new(BIN)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (tx, errors) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                eprintln!("{line}");
                let _ = tx.send(line);
            }
        });
        Sslsock { child, lines, errors, peak_kib: 0 }
    }

    /// The peak resident set (`VmHWM`) so far; the kernel keeps the maximum.
    fn sample(&mut self) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()));
        let hwm = status.ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        });
        self.peak_kib = self.peak_kib.max(hwm.unwrap_or(0));
    }

    /// Waits for the exit (sampling the RSS), at most `limit`: (status, stdout lines).
    fn finish(&mut self, limit: Duration) -> (i32, Vec<String>) {
        let started = Instant::now();
        loop {
            self.sample();
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut lines = Vec::new();
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
                    lines.push(line);
                }
                return (status.code().unwrap_or(-1), lines);
            }
            assert!(started.elapsed() < limit, "sslsock still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Sslsock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// ASCII (the JSON prefix is lossy UTF-8), with a period prime to the chunk sizes.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 23) as u8).collect()
}

fn json(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
}

fn assert_bounded_received(report: &Value, sent: &[u8]) {
    assert_eq!(report["received_bytes"], sent.len() as u64, "{}", report["error"]);
    assert_eq!(report["received_truncated"], true);
    let prefix = report["received"].as_str().unwrap();
    assert_eq!(prefix.len(), PREFIX);
    assert_eq!(prefix.as_bytes(), &sent[..PREFIX]);
    let sha = Sha256::digest(sent).iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(report["received_sha256"], sha);
}

#[test]
fn connect_keeps_a_bounded_prefix_of_what_a_server_sends_and_hashes_all_of_it() {
    let id = Identity::new();
    let mut server = id.server();
    let port = server.local_address().unwrap().port();
    let sent = Arc::new(pattern(pushed_size()));
    let to_send = Arc::clone(&sent);
    let sender = std::thread::spawn(move || {
        let Accepted::Encrypted(mut socket) = server.accept_next(None).unwrap() else {
            panic!("handshake failed")
        };
        socket.write_all(&to_send).unwrap();
        socket.flush().unwrap();
        socket.disconnect_from_host();
        let _ = socket.wait_for_disconnected(Duration::from_secs(10));
    });
    let target = format!("127.0.0.1:{port}");
    let ca = id.path("cert.pem");
    let started = Instant::now();
    let mut client = Sslsock::spawn(&[
        "connect",
        &target,
        "--json",
        "--no-system-ca",
        "--cafile",
        &ca,
        "--peer-name",
        "localhost",
        "--read-timeout",
        "10",
    ]);
    let (code, lines) = client.finish(transfer_limit());
    sender.join().unwrap();
    println!(
        "connect received {} MiB in {:?}: peak RSS {} KiB",
        pushed_size() >> 20,
        started.elapsed(),
        client.peak_kib
    );
    assert_eq!(code, 0, "{lines:?}");
    assert_bounded_received(&json(&lines[0]), &sent);
    assert!(
        client.peak_kib * 1024 < (pushed_size() / 2) as u64,
        "peak RSS {} KiB",
        client.peak_kib
    );
}

#[test]
fn serve_keeps_a_bounded_prefix_of_what_a_client_sends_and_hashes_all_of_it() {
    let id = Identity::new();
    let (cert, key) = (id.path("cert.pem"), id.path("key.pem"));
    let mut server = Sslsock::spawn(&[
        "serve",
        "127.0.0.1:0",
        "--once",
        "--json",
        "--cert",
        &cert,
        "--key",
        &key,
    ]);
    let port = listening_port(&server);
    let sent = pattern(pushed_size());
    let started = Instant::now();
    let mut client = id.client(port);
    client.write_all(&sent).unwrap();
    client.flush().unwrap();
    client.disconnect_from_host();
    let _ = client.wait_for_disconnected(Duration::from_secs(30));
    let (code, lines) = server.finish(transfer_limit());
    println!(
        "serve received {} MiB in {:?}: peak RSS {} KiB",
        pushed_size() >> 20,
        started.elapsed(),
        server.peak_kib
    );
    assert_eq!(code, 0, "{lines:?}");
    assert_bounded_received(&json(lines.last().unwrap()), &sent);
    assert!(
        server.peak_kib * 1024 < (pushed_size() / 2) as u64,
        "peak RSS {} KiB",
        server.peak_kib
    );
}

#[test]
fn an_echo_server_that_is_never_read_pushes_back_and_reports_its_write_timeout() {
    let id = Identity::new();
    let (cert, key) = (id.path("cert.pem"), id.path("key.pem"));
    let mut server = Sslsock::spawn(&[
        "serve",
        "127.0.0.1:0",
        "--echo",
        "--once",
        "--json",
        "--timeout",
        "2",
        "--cert",
        &cert,
        "--key",
        &key,
    ]);
    let port = listening_port(&server);
    let mut client = id.client(port);
    // Push until the server pushes back (its echo is never read), at most `pushed_size()` bytes.
    client.set_write_timeout(Some(Duration::from_secs(1)));
    let chunk = pattern(64 * 1024);
    let mut pushed = 0usize;
    while pushed < pushed_size() {
        match client.write_all(&chunk).and_then(|()| client.flush()) {
            Ok(()) => pushed += chunk.len(),
            Err(_) => break,
        }
        server.sample();
    }
    let started = Instant::now();
    let (code, lines) = server.finish(Duration::from_secs(60));
    println!(
        "echo server never read: {} KiB accepted of {} MiB offered, peak RSS {} KiB, \
         reported after {:?}",
        pushed >> 10,
        pushed_size() >> 20,
        server.peak_kib,
        started.elapsed()
    );
    drop(client);
    assert!(pushed < pushed_size(), "the server never pushed back");
    let report = json(lines.last().unwrap());
    assert_eq!(report["error"]["kind"], "SocketTimeoutError", "{report}");
    assert_eq!(code, 1, "{report}");
    assert!(
        server.peak_kib * 1024 < (pushed_size() / 2) as u64,
        "peak RSS {} KiB",
        server.peak_kib
    );
}

#[test]
fn connect_reports_a_write_the_server_never_reads_as_a_timeout() {
    let id = Identity::new();
    let mut server = id.server();
    let port = server.local_address().unwrap().port();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let Accepted::Encrypted(socket) = server.accept_next(None).unwrap() else {
            panic!("handshake failed")
        };
        // Never read; keep the connection until the client is done.
        let _ = done_rx.recv_timeout(Duration::from_secs(60));
        drop(socket);
    });
    let file = id.path("payload.bin");
    std::fs::write(&file, pattern(pushed_size())).unwrap();
    let ca = id.path("cert.pem");
    let target = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let mut client = Sslsock::spawn(&[
        "connect",
        &target,
        "--json",
        "--no-system-ca",
        "--cafile",
        &ca,
        "--peer-name",
        "localhost",
        "--timeout",
        "2",
        "--send-file",
        &file,
    ]);
    let (code, lines) = client.finish(Duration::from_secs(60));
    let _ = done_tx.send(());
    holder.join().unwrap();
    println!(
        "connect --send-file to a server that never reads: ended after {:?}",
        started.elapsed()
    );
    let report = json(&lines[0]);
    assert_eq!(report["error"]["kind"], "SocketTimeoutError", "{report}");
    assert_eq!(code, 1, "{report}");
}

/// The port of a `serve` child's `listening on 127.0.0.1:PORT` line.
fn listening_port(server: &Sslsock) -> u16 {
    let line = server.lines.recv_timeout(Duration::from_secs(30)).expect("serve printed nothing");
    line.strip_prefix("listening on 127.0.0.1:")
        .unwrap_or_else(|| panic!("first line {line:?}"))
        .parse()
        .unwrap()
}

#[test]
fn connect_streams_its_send_file_instead_of_reading_it_whole() {
    let id = Identity::new();
    let (cert, key) = (id.path("cert.pem"), id.path("key.pem"));
    let mut server = Sslsock::spawn(&[
        "serve",
        "127.0.0.1:0",
        "--once",
        "--json",
        "--cert",
        &cert,
        "--key",
        &key,
    ]);
    let port = listening_port(&server);
    let sent = pattern(pushed_size());
    let file = id.path("payload.bin");
    std::fs::write(&file, &sent).unwrap();
    let (ca, target) = (id.path("cert.pem"), format!("127.0.0.1:{port}"));
    let started = Instant::now();
    let mut client = Sslsock::spawn(&[
        "connect",
        &target,
        "--json",
        "--no-system-ca",
        "--cafile",
        &ca,
        "--peer-name",
        "localhost",
        "--read-timeout",
        "0.5",
        "--send-file",
        &file,
    ]);
    let (code, lines) = client.finish(transfer_limit());
    let (served_code, served) = server.finish(transfer_limit());
    println!(
        "connect --send-file {} MiB in {:?}: client peak RSS {} KiB",
        pushed_size() >> 20,
        started.elapsed(),
        client.peak_kib
    );
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(served_code, 0, "{served:?}");
    assert_bounded_received(&json(served.last().unwrap()), &sent);
    assert!(
        client.peak_kib * 1024 < (pushed_size() / 2) as u64,
        "peak RSS {} KiB",
        client.peak_kib
    );
}

/// Lowers the open-file limit of a running child (`prlimit(2)`).
#[cfg(target_os = "linux")]
fn limit_descriptors(child: &Child, limit: u64) {
    use rustix::process::{prlimit, Pid, Resource, Rlimit};
    let pid = Some(Pid::from_child(child));
    let limit = Rlimit { current: Some(limit), maximum: Some(limit) };
    prlimit(pid, Resource::Nofile, limit).unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn serve_survives_running_out_of_descriptors_and_serves_a_good_client_afterwards() {
    let id = Identity::new();
    let (cert, key, ca) = (id.path("cert.pem"), id.path("key.pem"), id.path("cert.pem"));
    for mode in [&[][..], &["--starttls", "smtp"][..]] {
        let mut args = vec!["serve", "127.0.0.1:0", "--cert", &cert, "--key", &key];
        args.extend_from_slice(&["--reply", "ok\\n", "--timeout", "30"]);
        args.extend_from_slice(mode);
        let mut server = Sslsock::spawn(&args);
        let port = listening_port(&server);
        limit_descriptors(&server.child, 32);
        // More idle clients than descriptors: the server reaches EMFILE.
        let idle: Vec<std::net::TcpStream> =
            (0..48).map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
        std::thread::sleep(Duration::from_millis(500));
        let open = std::fs::read_dir(format!("/proc/{}/fd", server.child.id())).unwrap().count();
        println!(
            "{mode:?}: {} idle clients, the server holds {open} descriptors (limit 32)",
            idle.len()
        );
        assert!(open >= 30, "the server did not reach its descriptor limit: {open}");
        assert!(server.child.try_wait().unwrap().is_none(), "{mode:?}: the server stopped");
        drop(idle);
        let started = Instant::now();
        let target = format!("127.0.0.1:{port}");
        let mut client_args = vec!["connect", &target, "--json", "--no-system-ca", "--cafile", &ca];
        client_args.extend_from_slice(&[
            "--peer-name",
            "localhost",
            "--send",
            "x",
            "--timeout",
            "20",
        ]);
        client_args.extend_from_slice(mode);
        let mut client = Sslsock::spawn(&client_args);
        let (code, lines) = client.finish(Duration::from_secs(60));
        println!("{mode:?}: a good client after EMFILE: exit {code} in {:?}", started.elapsed());
        assert_eq!(code, 0, "{mode:?}: {lines:?}");
        assert_eq!(json(&lines[0])["received"], "ok\n");
        assert!(server.child.try_wait().unwrap().is_none(), "{mode:?}: the server stopped");
    }
}

#[test]
fn serve_runs_at_most_max_connections_at_once_and_the_next_waits_its_turn() {
    let id = Identity::new();
    let (cert, key, ca) = (id.path("cert.pem"), id.path("key.pem"), id.path("cert.pem"));
    let server = Sslsock::spawn(&[
        "serve",
        "127.0.0.1:0",
        "--cert",
        &cert,
        "--key",
        &key,
        "--reply",
        "ok\\n",
        "--max-connections",
        "1",
    ]);
    let port = listening_port(&server);
    let target = format!("127.0.0.1:{port}");
    let connect = || {
        let mut client = Sslsock::spawn(&[
            "connect",
            &target,
            "--json",
            "--no-system-ca",
            "--cafile",
            &ca,
            "--peer-name",
            "localhost",
            "--send",
            "x",
            "--read-timeout",
            "1",
        ]);
        let (code, lines) = client.finish(Duration::from_secs(30));
        (code, json(&lines[0]))
    };
    // The one connection the server serves: an idle client that has said nothing yet.
    let mut first = id.client(port);
    first.set_read_timeout(Some(Duration::from_secs(5)));
    std::thread::sleep(Duration::from_millis(300));
    let (_, waiting) = connect();
    println!("with one idle connection served, a second client got {}", waiting["received"]);
    assert!(waiting["received"].is_null(), "served beyond the bound: {waiting}");
    drop(first);
    std::thread::sleep(Duration::from_millis(300));
    let (code, served) = connect();
    assert_eq!(code, 0, "{served}");
    assert_eq!(served["received"], "ok\n", "{served}");
}

/// A `/proc/PID/status` figure in KiB.
#[cfg(target_os = "linux")]
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Sets the soft address-space limit of a running child (`prlimit(2)`); `None`: unlimited.
/// The hard limit stays the one it inherited from this process, so that the soft one can be
/// lifted again without a capability.
#[cfg(target_os = "linux")]
fn limit_address_space(child: &Child, bytes: Option<u64>) {
    use rustix::process::{getrlimit, prlimit, Pid, Resource, Rlimit};
    let pid = Some(Pid::from_child(child));
    let hard = getrlimit(Resource::As).maximum;
    let soft = match (bytes, hard) {
        (Some(b), Some(h)) => Some(b.min(h)),
        (b, h) => b.or(h),
    };
    prlimit(pid, Resource::As, Rlimit { current: soft, maximum: hard }).unwrap();
}

/// The OS refuses `serve` a connection thread: `RLIMIT_NPROC` does not bind root, so the
/// thread's stack is what is refused. The child's threads ask for 512 MiB stacks
/// (`RUST_MIN_STACK`) and its address space is capped at what it maps now plus 160 MiB: the
/// heap can still grow (the handshake is done on the library's acceptor thread), a new stack
/// cannot be mapped. (With 16 MiB of room, as first written, the handshake now and then never
/// finished under load; most likely a thread needing a new glibc malloc arena, which reserves
/// up to 128 MiB of address space. With 160 MiB it passed 6 runs of 6 under the same load.) The refusal is logged, the connection closed, and once the cap is lifted
/// the next client is served.
#[cfg(target_os = "linux")]
#[test]
fn serve_survives_a_connection_thread_the_os_refuses_and_serves_the_next_client() {
    let id = Identity::new();
    let (cert, key, ca) = (id.path("cert.pem"), id.path("key.pem"), id.path("cert.pem"));
    let args = ["serve", "127.0.0.1:0", "--cert", &cert, "--key", &key, "--reply", "ok\\n"];
    let mut server = Sslsock::spawn_with_env(&args, &[("RUST_MIN_STACK", "536870912")]);
    let port = listening_port(&server);
    let mapped = status_kib(server.child.id(), "VmSize:");
    limit_address_space(&server.child, Some((mapped + 160 * 1024) * 1024));
    let mut refused = id.client(port);
    refused.set_read_timeout(Some(Duration::from_secs(10)));
    let mut byte = [0u8; 1];
    let read = std::io::Read::read(&mut refused, &mut byte);
    let mut logged = Vec::new();
    while let Ok(line) = server.errors.recv_timeout(Duration::from_secs(10)) {
        logged.push(line);
        if logged.last().is_some_and(|l| l.contains("cannot start a thread")) {
            break;
        }
    }
    println!("a connection whose thread was refused: read {read:?}; serve logged {logged:?}");
    assert!(logged.iter().any(|l| l.contains("cannot start a thread")), "{logged:?}");
    assert!(!matches!(read, Ok(n) if n > 0), "served although its thread was refused");
    assert!(server.child.try_wait().unwrap().is_none(), "the server stopped");
    limit_address_space(&server.child, None);
    let target = format!("127.0.0.1:{port}");
    let mut client = Sslsock::spawn(&[
        "connect",
        &target,
        "--json",
        "--no-system-ca",
        "--cafile",
        &ca,
        "--peer-name",
        "localhost",
        "--send",
        "x",
        "--read-timeout",
        "2",
    ]);
    let (code, lines) = client.finish(Duration::from_secs(30));
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(json(&lines[0])["received"], "ok\n");
    assert!(server.child.try_wait().unwrap().is_none(), "the server stopped");
}
