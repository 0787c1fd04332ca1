//! Interop with TLS implementations nobody here wrote: `openssl s_server` / `s_client`,
//! `gnutls-serv` / `gnutls-cli`, `curl` and Python's `ssl`, as real processes on loopback,
//! against every backend, through the blocking driver (`SslSocket` / `SslServer`; the tokio
//! driver runs the same `Connection`, and its own loopback tests cover it).
//!
//! One test runs every cell and prints the table (`-- --nocapture`), then fails if any cell
//! failed. A cell that cannot run on a backend is `n/a` only where the backend's capabilities
//! say so *and* sslsocket refused with the typed error (checked here), never a silent skip.
//! A cell whose tool is not installed is `n/a: <tool> not installed (apt-get install <package>)`
//! and counted in the summary line; with `SSLSOCKET_REQUIRE_PEERS=1` (`.ci/run`, which installs
//! the tools) a missing tool fails the test (see `sslsocket_tests::peers`).
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use conformance::pki::{Authority, Identity, LeafSpec};
use sslsocket::{
    Accepted, ConfigError, Error, Feature, PeerVerifyMode, Role, SslBackend, SslCertificate,
    SslConfiguration, SslErrorKind, SslProtocol, SslServer, SslSocket,
};
use sslsocket_tests::peers::{self, arg, args, IdentityFiles, Peer, PemDir, PEER_TIMEOUT};
use sslsocket_tests::table::{Cell, Table};
use sslsocket_tests::{backends, client_config, expected_kinds};

const TIMEOUT: Duration = Duration::from_secs(10);

#[test]
fn every_backend_interoperates_with_tls_peers_nobody_here_wrote() {
    let pki = Arc::new(Pki::new());
    let started = Instant::now();
    let runs: Vec<(String, JoinHandle<Table>)> = backends()
        .into_iter()
        .map(|backend| {
            let pki = pki.clone();
            (backend.name().to_owned(), thread::spawn(move || run_backend(&backend, &pki)))
        })
        .collect();
    let mut table = Table::default();
    for (name, run) in runs {
        match run.join() {
            Ok(rows) => table.rows.extend(rows.rows),
            Err(_) => table.push(&name, "-", "-", Cell::Fail("the backend's run panicked".into())),
        }
    }
    let title = format!(
        "interop: backend x peer x case, blocking driver ({:.1} s) — {}",
        started.elapsed().as_secs_f64(),
        tool_versions()
    );
    table.report("interop", &title);
}

fn run_backend(backend: &Arc<dyn SslBackend>, pki: &Pki) -> Table {
    let mut t = Table::default();
    let name = backend.name();
    for tool in [ServerTool::OpenSsl, ServerTool::GnuTls] {
        for case in ClientCase::ALL {
            t.run((name, tool.label(), case.label()), &[tool.program()], || {
                client_case(backend, pki, tool, case)
            });
        }
    }
    for tool in [ClientTool::OpenSsl, ClientTool::GnuTls, ClientTool::Curl] {
        for case in ServerCase::ALL {
            t.run((name, tool.label(), case.label()), &[tool.program()], || {
                server_case(backend, pki, tool, case)
            });
        }
    }
    t.run((name, "python3 ssl (SMTP server)", "STARTTLS, our client"), &["python3"], || {
        starttls_client_vs_python(backend, pki)
    });
    t.run((name, "openssl s_client -starttls smtp", "STARTTLS, our server"), &["openssl"], || {
        starttls_server_vs_s_client(backend, pki)
    });
    t
}

// ---- certificates ---------------------------------------------------------------------------

/// Every certificate the cases use, generated for this run, with PEM files for the tools.
struct Pki {
    dir: PemDir,
    root: Authority,
    ca_file: PathBuf,
    server: Identity,
    server_files: IdentityFiles,
    client: Identity,
    client_files: IdentityFiles,
    expired: IdentityFiles,
    wrong_host: IdentityFiles,
    /// Issued by an intermediate; the file holds the leaf only.
    incomplete: IdentityFiles,
}

impl Pki {
    fn new() -> Pki {
        let dir = PemDir::new();
        let root = Authority::root("interop root");
        let ca_file = dir.certificate("ca.pem", &root.certificate);
        let server = root.leaf(&["localhost"]);
        let server_files = dir.identity("server", &server);
        let client = root.leaf(&["client.example"]);
        let client_files = dir.identity("client", &client);
        let expired =
            dir.identity("expired", &root.issue(&LeafSpec::new(&["localhost"]).expired()));
        let wrong_host = dir.identity("wrong-host", &root.leaf(&["elsewhere.example"]));
        let below = root.intermediate("interop intermediate", None).leaf(&["localhost"]);
        let incomplete = dir.leaf_only("incomplete", &below);
        Pki {
            dir,
            root,
            ca_file,
            server,
            server_files,
            client,
            client_files,
            expired,
            wrong_host,
            incomplete,
        }
    }

    fn client_config(&self) -> SslConfiguration {
        client_config(&self.root.certificate)
    }
}

fn tool_versions() -> String {
    let first_line = |program: &str, flag: &str| -> String {
        std::process::Command::new(program)
            .arg(flag)
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).lines().next().map(str::to_owned))
            .unwrap_or_else(|| format!("{program}: not installed"))
    };
    let curl = first_line("curl", "--version");
    let curl: String = curl.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    format!(
        "{}; {}; {curl}; {}",
        first_line("openssl", "version"),
        first_line("gnutls-cli", "--version"),
        first_line("python3", "--version")
    )
}

// ---- our client against server tools --------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum ServerTool {
    OpenSsl,
    GnuTls,
}

impl ServerTool {
    fn label(self) -> &'static str {
        match self {
            ServerTool::OpenSsl => "openssl s_server",
            ServerTool::GnuTls => "gnutls-serv",
        }
    }

    fn program(self) -> &'static str {
        match self {
            ServerTool::OpenSsl => "openssl",
            ServerTool::GnuTls => "gnutls-serv",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ClientCase {
    Tls12,
    Tls13,
    Alpn,
    ClientCertificatePresented,
    /// Required and not sent, TLS 1.2 and TLS 1.3: the same error kind either way.
    ClientCertificateMissing12,
    ClientCertificateMissing13,
    IncompleteChain,
    Expired,
    WrongHost,
}

impl ClientCase {
    const ALL: [ClientCase; 9] = [
        ClientCase::Tls12,
        ClientCase::Tls13,
        ClientCase::Alpn,
        ClientCase::ClientCertificatePresented,
        ClientCase::ClientCertificateMissing12,
        ClientCase::ClientCertificateMissing13,
        ClientCase::IncompleteChain,
        ClientCase::Expired,
        ClientCase::WrongHost,
    ];

    fn label(self) -> &'static str {
        match self {
            ClientCase::Tls12 => "our client: TLS 1.2 server",
            ClientCase::Tls13 => "our client: TLS 1.3 server",
            ClientCase::Alpn => "our client: ALPN http/1.1",
            ClientCase::ClientCertificatePresented => "our client: cert required, sent",
            ClientCase::ClientCertificateMissing12 => "our client: cert required, none, TLS 1.2",
            ClientCase::ClientCertificateMissing13 => "our client: cert required, none, TLS 1.3",
            ClientCase::IncompleteChain => "our client: incomplete chain",
            ClientCase::Expired => "our client: expired cert",
            ClientCase::WrongHost => "our client: wrong-host cert",
        }
    }
}

/// How a server tool is started for a case.
struct ServerSpec<'a> {
    identity: &'a IdentityFiles,
    version: Option<SslProtocol>,
    alpn: bool,
    require_client_certificate: bool,
}

/// Starts a server tool that answers each line: `s_server -rev` reverses it, `gnutls-serv
/// --echo` echoes it. Returns the process, its port and the answer expected for `PING`.
fn start_server_tool(
    tool: ServerTool,
    pki: &Pki,
    spec: &ServerSpec<'_>,
) -> Result<(Peer, u16, &'static [u8]), String> {
    let dir = pki.dir.path();
    match tool {
        ServerTool::OpenSsl => {
            let build = |port: u16| {
                let mut a = args(&["s_server", "-rev", "-accept"]);
                a.push(format!("127.0.0.1:{port}"));
                a.extend(["-cert".into(), arg(&spec.identity.cert)]);
                a.extend(["-key".into(), arg(&spec.identity.key)]);
                match spec.version {
                    Some(SslProtocol::TlsV1_2) => a.push("-tls1_2".into()),
                    Some(SslProtocol::TlsV1_3) => a.push("-tls1_3".into()),
                    _ => {}
                }
                if spec.alpn {
                    a.extend(args(&["-alpn", "http/1.1"]));
                }
                if spec.require_client_certificate {
                    a.extend(args(&["-Verify", "1", "-verify_return_error", "-CAfile"]));
                    a.push(arg(&pki.ca_file));
                }
                a
            };
            let (peer, port) = peers::spawn_server(tool.program(), build, "ACCEPT", dir)?;
            Ok((peer, port, b"GNIP\n"))
        }
        ServerTool::GnuTls => {
            let build = |port: u16| {
                let mut a = args(&["--echo", "-p"]);
                a.push(port.to_string());
                a.extend(["--x509certfile".into(), arg(&spec.identity.cert)]);
                a.extend(["--x509keyfile".into(), arg(&spec.identity.key)]);
                match spec.version {
                    Some(SslProtocol::TlsV1_2) => {
                        a.extend(args(&["--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2"]))
                    }
                    Some(SslProtocol::TlsV1_3) => {
                        a.extend(args(&["--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3"]))
                    }
                    _ => {}
                }
                if spec.alpn {
                    a.extend(args(&["--alpn", "http/1.1"]));
                }
                if spec.require_client_certificate {
                    a.extend(args(&["--require-client-cert", "--verify-client-cert"]));
                    a.extend(["--x509cafile".into(), arg(&pki.ca_file)]);
                } else {
                    a.push("--disable-client-cert".into());
                }
                a
            };
            // The IPv4 line ends in "done" once listen(2) succeeded ("failed" when the port was
            // taken meanwhile: then spawn_server tries another port).
            let ready = "...done\nEcho Server listening on IPv6";
            let (peer, port) = peers::spawn_server(tool.program(), build, ready, dir)?;
            Ok((peer, port, b"PING\n"))
        }
    }
}

fn client_case(
    backend: &Arc<dyn SslBackend>,
    pki: &Pki,
    tool: ServerTool,
    case: ClientCase,
) -> Result<Cell, String> {
    let mut config = pki.client_config();
    let mut spec = ServerSpec {
        identity: &pki.server_files,
        version: None,
        alpn: false,
        require_client_certificate: false,
    };
    match case {
        ClientCase::Tls12 => spec.version = Some(SslProtocol::TlsV1_2),
        ClientCase::Tls13 => spec.version = Some(SslProtocol::TlsV1_3),
        ClientCase::Alpn => {
            spec.alpn = true;
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
        }
        ClientCase::ClientCertificatePresented => {
            spec.require_client_certificate = true;
            config.local_certificate_chain = pki.client.chain.clone();
            config.private_key = Some(pki.client.key.clone());
        }
        ClientCase::ClientCertificateMissing12 => {
            spec.require_client_certificate = true;
            spec.version = Some(SslProtocol::TlsV1_2);
        }
        ClientCase::ClientCertificateMissing13 => {
            spec.require_client_certificate = true;
            spec.version = Some(SslProtocol::TlsV1_3);
        }
        ClientCase::IncompleteChain => spec.identity = &pki.incomplete,
        ClientCase::Expired => spec.identity = &pki.expired,
        ClientCase::WrongHost => spec.identity = &pki.wrong_host,
    }
    if let Some(protocol) = spec.version {
        if !backend.supported_protocols_for(Role::Client).contains(&protocol) {
            return Ok(Cell::missing_protocol(backend.as_ref(), protocol, "client"));
        }
    }
    if case == ClientCase::ClientCertificatePresented
        && !backend.features().contains(Feature::ClientCertificates)
    {
        return refused_client(backend, config, Feature::ClientCertificates);
    }
    let (server, port, answer) = start_server_tool(tool, pki, &spec)?;
    let mut socket = SslSocket::with_backend_handle(backend.clone());
    socket.set_ssl_configuration(config);
    socket.set_read_timeout(Some(TIMEOUT));
    socket.set_write_timeout(Some(TIMEOUT));
    socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
    let connected = socket.wait_for_encrypted(TIMEOUT);
    let with_server = |msg: String| format!("{msg}\n  server: {}", server.describe());

    let rejected = |kinds: &[SslErrorKind], socket: &SslSocket, result: Result<(), Error>| {
        let err = match result {
            Ok(()) => return Err(with_server("connected to a server it must reject".into())),
            Err(err) => err,
        };
        let got: Vec<SslErrorKind> = socket.ssl_handshake_errors().iter().map(|e| e.kind).collect();
        let allowed = expected_kinds(backend, kinds);
        let fine = matches!(err, Error::Rejected { .. })
            && !got.is_empty()
            && got.iter().all(|k| allowed.contains(k));
        if fine {
            Ok(Cell::Pass(format!("rejected: {}", names(&got))))
        } else {
            Err(with_server(format!("expected Rejected with {allowed:?}, got {err:?} / {got:?}")))
        }
    };
    match case {
        ClientCase::IncompleteChain => {
            return rejected(
                &[
                    SslErrorKind::UnableToGetLocalIssuerCertificate,
                    SslErrorKind::UnableToVerifyFirstCertificate,
                ],
                &socket,
                connected,
            )
        }
        ClientCase::Expired => {
            return rejected(&[SslErrorKind::CertificateExpired], &socket, connected)
        }
        ClientCase::WrongHost => {
            return rejected(&[SslErrorKind::HostNameMismatch], &socket, connected)
        }
        ClientCase::ClientCertificateMissing12 | ClientCase::ClientCertificateMissing13 => {
            // TLS 1.3: the client finishes before the server judges it, and the server's
            // alert comes with the first read. Either way no application byte comes back and
            // the error is the same: a handshake failure naming the alert.
            let outcome = connected
                .map_err(|e| e.to_string())
                .and_then(|()| exchange(&mut socket, answer).map(|_| "answered".to_owned()));
            if outcome.is_ok() {
                return Err(with_server("a server requiring a certificate answered".into()));
            }
            return match socket.error() {
                Some(err @ Error::Handshake(tls)) => Ok(Cell::Pass(format!(
                    "refused: {:?} ({:?}: {})",
                    err.kind(),
                    tls.kind,
                    tls.message
                ))),
                other => Err(with_server(format!("expected a handshake failure, got {other:?}"))),
            };
        }
        _ => {}
    }
    connected.map_err(|e| with_server(format!("handshake: {e:?}")))?;
    exchange(&mut socket, answer).map_err(with_server)?;
    let mut detail =
        protocol_detail(backend, socket.session_protocol(), spec.version).map_err(with_server)?;
    if case == ClientCase::Alpn {
        let alpn = socket.alpn_protocol();
        if alpn.as_deref() != Some(b"http/1.1") {
            return Err(with_server(format!("ALPN: {alpn:?}")));
        }
        detail.push_str(", alpn http/1.1");
    }
    socket.disconnect_from_host();
    let _ = socket.wait_for_disconnected(TIMEOUT);
    Ok(Cell::Pass(detail))
}

/// A client configuration the backend cannot carry out must fail typed before any byte.
fn refused_client(
    backend: &Arc<dyn SslBackend>,
    config: SslConfiguration,
    feature: Feature,
) -> Result<Cell, String> {
    let mut socket = SslSocket::with_backend_handle(backend.clone());
    socket.set_ssl_configuration(config);
    socket.connect_to_host_encrypted("127.0.0.1", 9); // never reached: refused first
    match socket.wait_for_encrypted(TIMEOUT) {
        Err(Error::Config(ConfigError::Unsupported { feature: f, .. })) if f == feature => {
            Ok(Cell::missing(backend.as_ref(), feature, "client refuses: Unsupported"))
        }
        other => Err(format!("expected Unsupported({feature}), got {other:?}")),
    }
}

/// Sends `PING\n` and expects `answer` as the next line.
fn exchange(socket: &mut SslSocket, answer: &[u8]) -> Result<(), String> {
    std::io::Write::write_all(socket, b"PING\n").map_err(|e| format!("write: {e}"))?;
    std::io::Write::flush(socket).map_err(|e| format!("flush: {e}"))?;
    let line = read_line(socket)?;
    if line == answer {
        Ok(())
    } else {
        Err(format!("answer {:?}, expected {:?}", lossy(&line), lossy(answer)))
    }
}

/// Reads one line, waiting at most [`TIMEOUT`].
fn read_line(socket: &mut SslSocket) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(line) = socket.read_line() {
            return Ok(line);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("no line within the timeout".into());
        }
        socket.wait_for_ready_read(left).map_err(|e| format!("read: {e:?}"))?;
    }
}

fn protocol_detail(
    backend: &Arc<dyn SslBackend>,
    got: SslProtocol,
    wanted: Option<SslProtocol>,
) -> Result<String, String> {
    if !backend.features().contains(Feature::SessionProtocol) {
        if got != SslProtocol::UnknownProtocol {
            return Err(format!("reports {got:?} without SessionProtocol"));
        }
        return Ok("version not reported: no SessionProtocol".into());
    }
    match wanted {
        Some(w) if w != got => Err(format!("negotiated {got:?}, expected {w:?}")),
        _ => Ok(format!("{got:?}")),
    }
}

// ---- our server against client tools --------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientTool {
    OpenSsl,
    GnuTls,
    Curl,
}

impl ClientTool {
    fn label(self) -> &'static str {
        match self {
            ClientTool::OpenSsl => "openssl s_client",
            ClientTool::GnuTls => "gnutls-cli",
            ClientTool::Curl => "curl",
        }
    }

    fn program(self) -> &'static str {
        match self {
            ClientTool::OpenSsl => "openssl",
            ClientTool::GnuTls => "gnutls-cli",
            ClientTool::Curl => "curl",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ServerCase {
    Default,
    Tls12,
    Tls13,
    Alpn,
    ClientCertificate,
}

impl ServerCase {
    const ALL: [ServerCase; 5] = [
        ServerCase::Default,
        ServerCase::Tls12,
        ServerCase::Tls13,
        ServerCase::Alpn,
        ServerCase::ClientCertificate,
    ];

    fn label(self) -> &'static str {
        match self {
            ServerCase::Default => "our server: default config",
            ServerCase::Tls12 => "our server: client wants TLS 1.2",
            ServerCase::Tls13 => "our server: client wants TLS 1.3",
            ServerCase::Alpn => "our server: ALPN http/1.1",
            ServerCase::ClientCertificate => "our server: VerifyPeer + cert",
        }
    }
}

/// What our server saw of the connection.
#[derive(Debug)]
struct Seen {
    protocol: SslProtocol,
    alpn: Option<Vec<u8>>,
    peer: Option<SslCertificate>,
}

fn server_case(
    backend: &Arc<dyn SslBackend>,
    pki: &Pki,
    tool: ClientTool,
    case: ServerCase,
) -> Result<Cell, String> {
    let mut config = pki.server.server_config();
    match case {
        ServerCase::Alpn => config.alpn_protocols = vec![b"http/1.1".to_vec()],
        ServerCase::ClientCertificate => {
            config.peer_verify_mode = PeerVerifyMode::VerifyPeer;
            config.ca_certificates = vec![pki.root.certificate.clone()];
        }
        _ => {}
    }
    let mut server = SslServer::with_backend_handle(backend.clone());
    server.set_ssl_configuration(config);
    server.set_handshake_timeout(TIMEOUT);
    if let Err(err) = server.listen("127.0.0.1:0") {
        // Only a capability the backend says it lacks may stop the server, typed.
        return match err {
            Error::Config(ConfigError::Unsupported { feature, .. })
                if !backend.features().contains(feature) =>
            {
                Ok(Cell::missing(backend.as_ref(), feature, "listen refuses: Unsupported"))
            }
            other => Err(format!("listen: {other:?}")),
        };
    }
    let port = server.local_address().unwrap().port();
    let http = tool == ClientTool::Curl;
    let serving = thread::spawn(move || serve_once(server, http));

    let command = match tool {
        ClientTool::OpenSsl => {
            let mut a = args(&["s_client", "-brief", "-connect"]);
            a.push(format!("127.0.0.1:{port}"));
            a.extend(args(&["-servername", "localhost", "-verify_hostname", "localhost"]));
            a.extend(["-verify_return_error".into(), "-CAfile".into(), arg(&pki.ca_file)]);
            match case {
                ServerCase::Tls12 => a.push("-tls1_2".into()),
                ServerCase::Tls13 => a.push("-tls1_3".into()),
                ServerCase::Alpn => a.extend(args(&["-alpn", "http/1.1"])),
                ServerCase::ClientCertificate => {
                    a.extend(["-cert".into(), arg(&pki.client_files.cert)]);
                    a.extend(["-key".into(), arg(&pki.client_files.key)]);
                }
                ServerCase::Default => {}
            }
            (tool.program(), a)
        }
        ClientTool::GnuTls => {
            let mut a = args(&["127.0.0.1", "-p"]);
            a.push(port.to_string());
            a.extend(args(&["--sni-hostname", "localhost", "--verify-hostname", "localhost"]));
            a.extend(["--x509cafile".into(), arg(&pki.ca_file)]);
            match case {
                ServerCase::Tls12 => {
                    a.extend(args(&["--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2"]))
                }
                ServerCase::Tls13 => {
                    a.extend(args(&["--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3"]))
                }
                ServerCase::Alpn => a.extend(args(&["--alpn", "http/1.1"])),
                ServerCase::ClientCertificate => {
                    a.extend(["--x509certfile".into(), arg(&pki.client_files.cert)]);
                    a.extend(["--x509keyfile".into(), arg(&pki.client_files.key)]);
                }
                ServerCase::Default => {}
            }
            (tool.program(), a)
        }
        ClientTool::Curl => {
            let mut a = args(&["-sS", "--max-time", "10", "--cacert"]);
            a.push(arg(&pki.ca_file));
            a.extend(["--resolve".into(), format!("localhost:{port}:127.0.0.1")]);
            a.extend(args(&["-w", "\\nhttp_version=%{http_version}\\n"]));
            match case {
                ServerCase::Tls12 => a.extend(args(&["--tlsv1.2", "--tls-max", "1.2"])),
                ServerCase::Tls13 => a.push("--tlsv1.3".into()),
                ServerCase::Alpn => a.push("--http1.1".into()),
                ServerCase::ClientCertificate => {
                    a.extend(["--cert".into(), arg(&pki.client_files.cert)]);
                    a.extend(["--key".into(), arg(&pki.client_files.key)]);
                }
                ServerCase::Default => {}
            }
            a.push(format!("https://localhost:{port}/interop"));
            (tool.program(), a)
        }
    };
    let mut client = Peer::spawn(command.0, &command.1, pki.dir.path())?;
    if !http {
        client.send(b"ping\n").map_err(|e| format!("stdin: {e}"))?;
    }
    let status = client.wait_exit(PEER_TIMEOUT);
    let output = client.output();
    let served = serving.join().map_err(|_| "server thread panicked".to_owned())?;

    let no_tls13_server = case == ServerCase::Tls13
        && !backend.supported_protocols_for(Role::Server).contains(&SslProtocol::TlsV1_3);
    if no_tls13_server {
        // The capability says no TLS 1.3 server: the client must have been refused.
        return match (&served, status) {
            (Err(_), Ok(s)) if !s.success() => Ok(Cell::missing_protocol(
                backend.as_ref(),
                SslProtocol::TlsV1_3,
                "server: the TLS 1.3-only client is refused",
            )),
            _ => Err(format!("a TLS 1.3-only client was not refused: {served:?}")),
        };
    }
    let status = status?;
    let seen = served.map_err(|e| format!("server: {e}\n  client: {}", client.describe()))?;
    let expected_reply = if http { "hello from sslsocket" } else { "pong" };
    if !status.success() || !output.contains(expected_reply) {
        return Err(format!("client exited {status}: {}", client.describe()));
    }
    let wanted = match case {
        ServerCase::Tls12 => Some(SslProtocol::TlsV1_2),
        ServerCase::Tls13 => Some(SslProtocol::TlsV1_3),
        _ => None,
    };
    let mut detail = protocol_detail(backend, seen.protocol, wanted)?;
    match case {
        ServerCase::Alpn => {
            if seen.alpn.as_deref() != Some(b"http/1.1") {
                return Err(format!("server-side ALPN {:?}", seen.alpn));
            }
            detail.push_str(", alpn http/1.1");
        }
        ServerCase::ClientCertificate => {
            if seen.peer.as_ref() != Some(pki.client.leaf()) {
                return Err("the server did not see the client's certificate".into());
            }
            detail.push_str(", client cert verified");
        }
        _ => {}
    }
    if http {
        let version =
            output.lines().find_map(|l| l.strip_prefix("http_version=")).unwrap_or("?").to_owned();
        detail.push_str(&format!(", HTTP/{version} 200"));
    }
    Ok(Cell::Pass(detail))
}

/// Accepts one client; answers `pong` to a line, or an HTTP response to a request; closes
/// with close_notify.
fn serve_once(mut server: SslServer, http: bool) -> Result<Seen, String> {
    let mut socket = match server.accept_next(Some(PEER_TIMEOUT)).map_err(|e| format!("{e:?}"))? {
        Accepted::Encrypted(socket) => socket,
        Accepted::Failed(f) => return Err(format!("handshake failed: {:?}", f.error)),
    };
    let seen = Seen {
        protocol: socket.session_protocol(),
        alpn: socket.alpn_protocol(),
        peer: socket.peer_certificate(),
    };
    socket.set_read_timeout(Some(TIMEOUT));
    socket.set_write_timeout(Some(TIMEOUT));
    if http {
        let mut request = Vec::new();
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            request.extend(read_line(&mut socket)?);
        }
        if !request.starts_with(b"GET /interop HTTP/1.1\r\n") {
            return Err(format!("request {:?}", lossy(&request)));
        }
        let body = format!("hello from sslsocket ({})\n", socket.connection().backend().name());
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        std::io::Write::write_all(&mut socket, response.as_bytes()).map_err(|e| e.to_string())?;
    } else {
        let line = read_line(&mut socket)?;
        if line != b"ping\n" {
            return Err(format!("line {:?}", lossy(&line)));
        }
        std::io::Write::write_all(&mut socket, b"pong\n").map_err(|e| e.to_string())?;
    }
    std::io::Write::flush(&mut socket).map_err(|e| e.to_string())?;
    socket.disconnect_from_host();
    let _ = socket.wait_for_disconnected(TIMEOUT);
    Ok(seen)
}

// ---- STARTTLS -------------------------------------------------------------------------------

/// An SMTP server in Python: plain greeting, EHLO, STARTTLS, then TLS through Python's `ssl`
/// module (OpenSSL, driven by code we did not write); one command over TLS, then QUIT.
const SMTP_SERVER: &str = r#"
import socket, ssl, sys
cert, key = sys.argv[1], sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
srv.settimeout(20)
print("PORT", srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
conn.settimeout(20)

def line(sock):
    out = b""
    while not out.endswith(b"\n"):
        byte = sock.recv(1)
        if not byte:
            sys.exit("eof after %r" % out)
        out += byte
    return out

conn.sendall(b"220 python ESMTP\r\n")
ehlo = line(conn)
if not ehlo.startswith(b"EHLO "):
    sys.exit("expected EHLO, got %r" % ehlo)
conn.sendall(b"250-python\r\n250 STARTTLS\r\n")
cmd = line(conn)
if cmd != b"STARTTLS\r\n":
    sys.exit("expected STARTTLS, got %r" % cmd)
conn.sendall(b"220 2.0.0 ready\r\n")
tls = ctx.wrap_socket(conn, server_side=True)
print("TLS", tls.version(), flush=True)
ehlo = line(tls)
tls.sendall(b"250 secure " + ehlo[5:])
quit = line(tls)
tls.sendall(b"221 bye\r\n")
tls.unwrap()
print("DONE", flush=True)
"#;

fn starttls_client_vs_python(backend: &Arc<dyn SslBackend>, pki: &Pki) -> Result<Cell, String> {
    let script = pki.dir.write("smtp_server.py", SMTP_SERVER);
    let mut python = Peer::spawn(
        "python3",
        &[arg(&script), arg(&pki.server_files.cert), arg(&pki.server_files.key)],
        pki.dir.path(),
    )?;
    python.wait_for_output("PORT ", PEER_TIMEOUT)?;
    let port: u16 = python
        .output()
        .lines()
        .find_map(|l| l.strip_prefix("PORT "))
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(|| python.describe())?;
    let with_peer = |msg: String| format!("{msg}\n  peer: {}", python.describe());

    let mut socket = SslSocket::with_backend_handle(backend.clone());
    socket.set_ssl_configuration(pki.client_config());
    socket.set_read_timeout(Some(TIMEOUT));
    socket.set_write_timeout(Some(TIMEOUT));
    socket.set_peer_verify_name("localhost");
    socket.connect_to_host("127.0.0.1", port);
    socket.wait_for_connected(TIMEOUT).map_err(|e| with_peer(format!("{e:?}")))?;
    let say = |socket: &mut SslSocket, text: &[u8], expect: &[u8]| -> Result<Vec<u8>, String> {
        if !text.is_empty() {
            std::io::Write::write_all(socket, text).map_err(|e| e.to_string())?;
            std::io::Write::flush(socket).map_err(|e| e.to_string())?;
        }
        let mut last = read_line(socket)?;
        // Multi-line replies: "250-…" continues, "250 …" ends.
        while last.get(3) == Some(&b'-') {
            last = read_line(socket)?;
        }
        if last.starts_with(expect) {
            Ok(last)
        } else {
            Err(format!("reply {:?}, expected {:?}", lossy(&last), lossy(expect)))
        }
    };
    let plain = (|| {
        say(&mut socket, b"", b"220 ")?;
        say(&mut socket, b"EHLO sslsocket\r\n", b"250 STARTTLS")?;
        say(&mut socket, b"STARTTLS\r\n", b"220 ")
    })();
    plain.map_err(with_peer)?;
    if socket.is_encrypted() {
        return Err("encrypted before start_client_encryption".into());
    }
    socket.start_client_encryption();
    socket.wait_for_encrypted(TIMEOUT).map_err(|e| with_peer(format!("handshake: {e:?}")))?;
    let secure = say(&mut socket, b"EHLO again\r\n", b"250 secure again").map_err(with_peer)?;
    drop(secure);
    say(&mut socket, b"QUIT\r\n", b"221 ").map_err(with_peer)?;
    // Python's unwrap() waits for our close_notify.
    socket.disconnect_from_host();
    socket.wait_for_disconnected(TIMEOUT).map_err(|e| with_peer(format!("close: {e:?}")))?;
    let status = python.wait_exit(PEER_TIMEOUT)?;
    if !status.success() || !python.output().contains("DONE") {
        return Err(format!("python exited {status}: {}", python.describe()));
    }
    let version = python
        .output()
        .lines()
        .find_map(|l| l.strip_prefix("TLS ").map(str::to_owned))
        .unwrap_or_default();
    let ours = protocol_detail(backend, socket.session_protocol(), None)?;
    Ok(Cell::Pass(format!("python says {version}; ours: {ours}")))
}

fn starttls_server_vs_s_client(backend: &Arc<dyn SslBackend>, pki: &Pki) -> Result<Cell, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let backend2 = backend.clone();
    let config = pki.server.server_config();
    let serving = thread::spawn(move || -> Result<SslProtocol, String> {
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + PEER_TIMEOUT;
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return Err("nobody connected".into());
                    }
                    thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(e.to_string()),
            }
        };
        let mut socket = SslSocket::with_backend_handle(backend2);
        socket.set_ssl_configuration(config);
        socket.set_read_timeout(Some(TIMEOUT));
        socket.set_write_timeout(Some(TIMEOUT));
        socket.set_socket_descriptor(stream).map_err(|e| format!("{e:?}"))?;
        let send = |socket: &mut SslSocket, text: &[u8]| -> Result<(), String> {
            std::io::Write::write_all(socket, text).map_err(|e| e.to_string())?;
            std::io::Write::flush(socket).map_err(|e| e.to_string())
        };
        send(&mut socket, b"220 sslsocket ESMTP\r\n")?;
        let ehlo = read_line(&mut socket)?;
        if !ehlo.starts_with(b"EHLO ") {
            return Err(format!("expected EHLO, got {:?}", lossy(&ehlo)));
        }
        send(&mut socket, b"250-sslsocket\r\n250 STARTTLS\r\n")?;
        let cmd = read_line(&mut socket)?;
        if cmd != b"STARTTLS\r\n" {
            return Err(format!("expected STARTTLS, got {:?}", lossy(&cmd)));
        }
        // The answer is queued in clear, then the switch: it leaves before any TLS byte.
        std::io::Write::write_all(&mut socket, b"220 2.0.0 ready\r\n")
            .map_err(|e| e.to_string())?;
        socket.start_server_encryption();
        socket.wait_for_encrypted(TIMEOUT).map_err(|e| format!("handshake: {e:?}"))?;
        let line = read_line(&mut socket)?;
        if line != b"ping\n" {
            return Err(format!("over TLS: {:?}", lossy(&line)));
        }
        send(&mut socket, b"pong\n")?;
        let protocol = socket.session_protocol();
        socket.disconnect_from_host();
        let _ = socket.wait_for_disconnected(TIMEOUT);
        Ok(protocol)
    });
    let mut a = args(&["s_client", "-brief", "-starttls", "smtp", "-connect"]);
    a.push(format!("127.0.0.1:{port}"));
    a.extend(args(&["-servername", "localhost", "-verify_hostname", "localhost"]));
    a.extend(["-verify_return_error".into(), "-CAfile".into(), arg(&pki.ca_file)]);
    let mut client = Peer::spawn("openssl", &a, pki.dir.path())?;
    client.send(b"ping\n").map_err(|e| e.to_string())?;
    let status = client.wait_exit(PEER_TIMEOUT);
    let served = serving.join().map_err(|_| "server thread panicked".to_owned())?;
    let protocol = served.map_err(|e| format!("server: {e}\n  client: {}", client.describe()))?;
    let status = status?;
    if !status.success() || !client.output().contains("pong") {
        return Err(format!("s_client exited {status}: {}", client.describe()));
    }
    protocol_detail(backend, protocol, None).map(Cell::Pass)
}

// ---- helpers --------------------------------------------------------------------------------

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn names(kinds: &[SslErrorKind]) -> String {
    kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
}
