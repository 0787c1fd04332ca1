//! The command line (clap): subcommands, shared options, and the parsers that turn option
//! values into library types. Anything that does not parse here exits 2 with clap's message.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sslsocket::{PeerVerifyMode, SslCipher, SslErrorKind, SslProtocol};

const EXAMPLES: &str = "\
Examples:
  sslsock demo
  sslsock backends --json
  sslsock connect example.com:443 --send 'HEAD / HTTP/1.0\\r\\nHost: example.com\\r\\n\\r\\n'
  sslsock connect 127.0.0.1:8443 --cafile ca.pem --peer-name localhost --json
  sslsock connect mail.example.com:587 --starttls smtp
  sslsock serve 127.0.0.1:8443 --cert server.pem --key server.key --echo
  sslsock serve 0.0.0.0:0 --cert server.pem --key server.key --reply 'hello\\n' --json
  sslsock probe example.com:443 --alpn h2,http/1.1

Exit status: 0 success, 1 connection or handshake failure (a rejected certificate, a
configuration the backend cannot honour), 2 usage error.";

const CONNECT_EXAMPLES: &str = "\
Examples:
  sslsock connect example.com:443 --send 'HEAD / HTTP/1.0\\r\\nHost: example.com\\r\\n\\r\\n'
  sslsock connect 127.0.0.1:8443 --cafile ca.pem --peer-name localhost --json
  sslsock connect 127.0.0.1:8443 --cafile ca.pem --ignore-errors CertificateExpired
  sslsock connect mail.example.com:587 --starttls smtp --backend rustls

Exit status: 0 encrypted (and nothing failed after), 1 connection or handshake failure, 2 usage.";

const SERVE_EXAMPLES: &str = "\
Examples:
  sslsock serve 127.0.0.1:8443 --cert server.pem --key server.key --echo
  sslsock serve 127.0.0.1:0 --cert server.pem --key server.key --reply 'hello\\n' --once --json
  sslsock serve 127.0.0.1:2525 --cert server.pem --key server.key --starttls smtp
  sslsock serve 127.0.0.1:8443 --cert server.pem --key server.key --verify peer --cafile ca.pem

The first line is `listening on ADDR:PORT`; with --json, one object per connection follows.";

const PROBE_EXAMPLES: &str = "\
Examples:
  sslsock probe example.com:443
  sslsock probe 127.0.0.1:8443 --cafile ca.pem --peer-name localhost --json

Exit status: 0 when every usable backend connected.";

/// The backend names a command line may give (compiled in or not).
pub const BACKEND_NAMES: [&str; 3] = ["rustls", "openssl", "native"];

/// QSslSocket from the command line: s_client / s_server for every TLS engine of sslsocket.
#[derive(Debug, Parser)]
#[command(name = "sslsock", version, after_help = EXAMPLES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every compiled backend against every other on loopback, plus verification cases;
    /// needs no files and no network.
    Demo,
    /// Each compiled backend: usable or why not, versions, protocols, features.
    Backends(BackendsArgs),
    /// Connect to a TLS server, like `openssl s_client`.
    #[command(after_help = CONNECT_EXAMPLES)]
    Connect(ConnectArgs),
    /// Serve TLS, like `openssl s_server`; prints `listening on ADDR:PORT` first.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// `connect` with every compiled backend, side by side; ends with `engines disagree: …`
    /// when some connect and others do not.
    #[command(after_help = PROBE_EXAMPLES)]
    Probe(ProbeArgs),
}

/// `backends`.
#[derive(Debug, Args)]
pub struct BackendsArgs {
    /// Print a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The server, HOST:PORT (an IPv6 address in brackets: `[::1]:8443`).
    #[arg(value_name = "HOST:PORT", value_parser = parse_connect_target)]
    pub target: Target,
    /// The TLS engine (default: SSLSOCKET_BACKEND, else the first compiled in).
    #[arg(long, value_name = "NAME", value_parser = BACKEND_NAMES)]
    pub backend: Option<String>,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub net: NetArgs,
}

/// The socket half of `connect`: where it goes out from, the address family, TCP options.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Socket options")]
pub struct NetArgs {
    /// Go out from `ADDR[:PORT]` (bind before connect; no port or 0: one the system picks; an
    /// IPv6 address in brackets when a port follows: `[::1]:5000`).
    #[arg(long, value_name = "ADDR[:PORT]", value_parser = parse_bind)]
    pub bind: Option<std::net::SocketAddr>,
    /// Connect over IPv4 only.
    #[arg(short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Connect over IPv6 only.
    #[arg(short = '6')]
    pub ipv6: bool,
    /// Turn on TCP keep-alive probes (SO_KEEPALIVE).
    #[arg(long)]
    pub keepalive: bool,
    /// TCP_NODELAY (default true: small writes go out at once).
    #[arg(long, value_name = "true|false", action = clap::ArgAction::Set)]
    pub no_delay: Option<bool>,
}

/// `probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The server, HOST:PORT (an IPv6 address in brackets: `[::1]:8443`).
    #[arg(value_name = "HOST:PORT", value_parser = parse_connect_target)]
    pub target: Target,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on, HOST:PORT; port 0 picks a free one.
    #[arg(value_name = "HOST:PORT", value_parser = parse_listen_target)]
    pub target: Target,
    /// The TLS engine (default: SSLSOCKET_BACKEND, else the first compiled in).
    #[arg(long, value_name = "NAME", value_parser = BACKEND_NAMES)]
    pub backend: Option<String>,
    /// Echo what each client sends.
    #[arg(long)]
    pub echo: bool,
    /// Answer each connection once with TEXT (escapes \r \n \t \\ \xHH), after its first data.
    #[arg(long, value_name = "TEXT", value_parser = parse_escaped)]
    pub reply: Option<Payload>,
    /// Exit after the first connection (its exit status is that connection's).
    #[arg(long)]
    pub once: bool,
    /// Serve at most N connections at once (one thread each); the next ones wait in the
    /// listen backlog until one ends.
    #[arg(long, value_name = "N", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// Options shared by connect, serve and probe.
#[derive(Debug, Args)]
#[command(next_help_heading = "TLS options")]
pub struct TlsArgs {
    /// Trust the CA certificates of FILE (PEM or DER); repeatable.
    #[arg(long, value_name = "FILE")]
    pub cafile: Vec<PathBuf>,
    /// Trust the CA certificates of every file PATTERN matches (wildcards; a directory means
    /// all its files); repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub capath: Vec<String>,
    /// Do not add the system's trust store.
    #[arg(long)]
    pub no_system_ca: bool,
    /// INSECURE: lower the engine's security level to 0 for this connection, whatever
    /// version it negotiates: TLS 1.0 / 1.1, and RSA/DH keys under 2048 bits and SHA-1
    /// signatures on TLS 1.2 and 1.3 too (SslConfiguration::danger_allow_weak_crypto;
    /// openssl backend only, refused elsewhere). --protocol alone never lowers it.
    #[arg(long)]
    pub danger_allow_weak_crypto: bool,
    /// How the peer is verified (server `auto` = query).
    #[arg(long, value_enum, value_name = "MODE")]
    pub verify: Option<VerifyArg>,
    /// Most certificates in the verified path, leaf included, anchor not; 0 = no limit.
    #[arg(long, value_name = "N")]
    pub verify_depth: Option<u32>,
    /// Allowed protocols: an SslProtocol name (TlsV1_2, TlsV1_3, TlsV1_2OrLater,
    /// SecureProtocols, AnyProtocol…).
    #[arg(long, value_name = "NAME", value_parser = parse_protocol)]
    pub protocol: Option<ProtocolChoice>,
    /// Cipher suites, IANA names separated by ',' or ':'.
    #[arg(long, value_name = "LIST", value_parser = parse_ciphers)]
    pub ciphers: Option<CipherList>,
    /// ALPN protocols to offer (client) or accept (server), most preferred first: a,b.
    #[arg(long, value_name = "LIST", value_parser = parse_alpn)]
    pub alpn: Option<AlpnList>,
    /// Local certificate (PEM), optionally followed by its chain; on serve, the server's.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Private key of --cert (PEM or DER; default: a key inside the --cert file).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Passphrase of an encrypted --key (PKCS#8 "ENCRYPTED PRIVATE KEY", or a legacy OpenSSL
    /// PEM key with "Proc-Type: 4,ENCRYPTED").
    #[arg(long, value_name = "PASS")]
    pub pass: Option<String>,
    /// More certificates to send after --cert's; repeatable.
    #[arg(long, value_name = "FILE")]
    pub chain: Vec<PathBuf>,
    /// Ignore these kinds of peer certificate errors (SslErrorKind names), or `all`.
    #[arg(long, value_name = "all|KIND,…", value_parser = parse_ignore)]
    pub ignore_errors: Option<IgnoreSpec>,
    /// Plaintext exchange before TLS.
    #[arg(long, value_enum, value_name = "PROTO")]
    pub starttls: Option<StartTls>,
    /// Bound on connect + handshake, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    pub timeout: Duration,
    /// After the handshake (and --send), stop reading after this long without new data.
    #[arg(long, value_name = "SECONDS", default_value = "2", value_parser = parse_seconds)]
    pub read_timeout: Duration,
    /// Print JSON (connect: one object; serve: one per connection, one per line; probe: an
    /// array).
    #[arg(long)]
    pub json: bool,
}

/// Options of the client commands.
#[derive(Debug, Args)]
#[command(next_help_heading = "Client options")]
pub struct ClientArgs {
    /// Name to verify the server against and to send as SNI (Unicode is converted to
    /// A-labels); default: HOST.
    #[arg(long, value_name = "NAME")]
    pub peer_name: Option<String>,
    /// Send TEXT after the handshake (escapes \r \n \t \\ \xHH; nothing appended).
    #[arg(long, value_name = "TEXT", value_parser = parse_escaped, conflicts_with = "send_file")]
    pub send: Option<Payload>,
    /// Send the bytes of FILE after the handshake (`-` = standard input).
    #[arg(long, value_name = "FILE")]
    pub send_file: Option<PathBuf>,
    /// Connect through this proxy: `socks5://[USER[:PASS]@]HOST[:PORT]` (the target's name
    /// resolved here), socks5h://… (resolved by the proxy) or http://… (CONNECT); `none` for a
    /// direct connection. Default, as curl: https_proxy / HTTPS_PROXY, else all_proxy /
    /// ALL_PROXY, unless no_proxy / NO_PROXY names the host.
    #[arg(long, value_name = "URL", value_parser = parse_proxy)]
    pub proxy: Option<sslsocket::NetworkProxy>,
}

/// `HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Bytes decoded from an escaped text argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload(pub Vec<u8>);

/// A `--protocol` value: an `SslProtocol`, or a Qt DTLS name (valid, but never usable on TCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolChoice {
    /// A TLS protocol value.
    Tls(SslProtocol),
    /// One of Qt's DTLS values.
    Dtls(&'static str),
}

/// `--ciphers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CipherList(pub Vec<SslCipher>);

/// `--alpn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlpnList(pub Vec<Vec<u8>>);

/// `--ignore-errors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IgnoreSpec {
    /// Every error.
    All,
    /// Errors of these kinds, whichever certificate they concern.
    Kinds(Vec<SslErrorKind>),
}

impl IgnoreSpec {
    /// Whether an error of `kind` is ignored.
    #[must_use]
    pub fn covers(&self, kind: SslErrorKind) -> bool {
        match self {
            IgnoreSpec::All => true,
            IgnoreSpec::Kinds(kinds) => kinds.contains(&kind),
        }
    }
}

/// `--verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyArg {
    /// VerifyNone.
    None,
    /// QueryPeer: errors are reported, never fatal.
    Query,
    /// VerifyPeer.
    Peer,
    /// AutoVerifyPeer.
    Auto,
}

impl VerifyArg {
    /// The library's value.
    #[must_use]
    pub fn mode(self) -> PeerVerifyMode {
        match self {
            VerifyArg::None => PeerVerifyMode::VerifyNone,
            VerifyArg::Query => PeerVerifyMode::QueryPeer,
            VerifyArg::Peer => PeerVerifyMode::VerifyPeer,
            VerifyArg::Auto => PeerVerifyMode::AutoVerifyPeer,
        }
    }
}

/// `--starttls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StartTls {
    /// SMTP (RFC 3207).
    Smtp,
    /// IMAP (RFC 2595).
    Imap,
    /// POP3 (RFC 2595, STLS).
    Pop3,
}

const DTLS_NAMES: [&str; 4] = ["DtlsV1_0", "DtlsV1_0OrLater", "DtlsV1_2", "DtlsV1_2OrLater"];

fn parse_target(text: &str, allow_zero: bool) -> Result<Target, String> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, port) =
            rest.split_once("]:").ok_or("expected [IPV6]:PORT, e.g. [::1]:443".to_owned())?;
        (host, port)
    } else {
        let (host, port) =
            text.rsplit_once(':').ok_or("expected HOST:PORT, e.g. example.com:443".to_owned())?;
        if host.contains(':') {
            return Err("write an IPv6 address in brackets: [ADDR]:PORT".to_owned());
        }
        (host, port)
    };
    if host.is_empty() {
        return Err("the host is empty".to_owned());
    }
    let port: u16 = port.parse().map_err(|_| format!("bad port {port:?}: not 0-65535"))?;
    if port == 0 && !allow_zero {
        return Err("port 0 cannot be connected to".to_owned());
    }
    Ok(Target { host: host.to_owned(), port })
}

/// `ADDR[:PORT]`: an IP address alone (port 0), or an address and port
/// (`127.0.0.1:5000`, `[::1]:5000`).
fn parse_bind(text: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(ip) = text.parse::<std::net::IpAddr>() {
        return Ok(std::net::SocketAddr::new(ip, 0));
    }
    if let Some(ip) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        if let Ok(ip) = ip.parse::<std::net::Ipv6Addr>() {
            return Ok(std::net::SocketAddr::new(ip.into(), 0));
        }
    }
    text.parse().map_err(|_| format!("{text:?} is not ADDR or ADDR:PORT (an IP address)"))
}

fn parse_connect_target(text: &str) -> Result<Target, String> {
    parse_target(text, false)
}

fn parse_listen_target(text: &str) -> Result<Target, String> {
    parse_target(text, true)
}

fn parse_proxy(text: &str) -> Result<sslsocket::NetworkProxy, String> {
    sslsocket::NetworkProxy::parse(text).map_err(|e| e.to_string())
}

fn parse_escaped(text: &str) -> Result<Payload, String> {
    crate::escape::decode(text).map(Payload)
}

fn parse_protocol(text: &str) -> Result<ProtocolChoice, String> {
    if let Some(p) = SslProtocol::from_name(text) {
        return Ok(ProtocolChoice::Tls(p));
    }
    if let Some(name) = DTLS_NAMES.iter().find(|n| **n == text) {
        return Ok(ProtocolChoice::Dtls(name));
    }
    let names: Vec<&str> = SslProtocol::ALL.iter().map(|p| p.name()).collect();
    Err(format!("unknown protocol {text:?}; one of: {}", names.join(", ")))
}

fn parse_ciphers(text: &str) -> Result<CipherList, String> {
    let mut list = Vec::new();
    for name in text.split([',', ':']).map(str::trim).filter(|n| !n.is_empty()) {
        let cipher = SslCipher::from_iana_name(name).ok_or_else(|| {
            format!("{name:?} is not an IANA cipher suite name (e.g. TLS_AES_128_GCM_SHA256)")
        })?;
        list.push(cipher);
    }
    if list.is_empty() {
        return Err("the cipher list is empty".to_owned());
    }
    Ok(CipherList(list))
}

fn parse_alpn(text: &str) -> Result<AlpnList, String> {
    let mut list = Vec::new();
    for name in text.split(',') {
        if name.is_empty() || name.len() > 255 {
            return Err(format!("ALPN protocol {name:?} must be 1 to 255 bytes"));
        }
        list.push(name.as_bytes().to_vec());
    }
    Ok(AlpnList(list))
}

fn parse_ignore(text: &str) -> Result<IgnoreSpec, String> {
    if text == "all" {
        return Ok(IgnoreSpec::All);
    }
    let mut kinds = Vec::new();
    for name in text.split(',').map(str::trim) {
        let kind = SslErrorKind::from_name(name).ok_or_else(|| {
            format!("unknown error kind {name:?} (SslErrorKind names, e.g. CertificateExpired)")
        })?;
        kinds.push(kind);
    }
    Ok(IgnoreSpec::Kinds(kinds))
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text.parse().map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if seconds <= 0.0 {
        return Err("must be more than 0 seconds".to_owned());
    }
    // Deadlines are `Instant::now() + timeout`: keep them far from overflowing.
    if seconds > 1e9 {
        return Err("must be at most 1e9 seconds".to_owned());
    }
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_take_names_addresses_and_bracketed_ipv6() {
        let t = parse_connect_target("example.com:443").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("example.com", 443));
        let t = parse_connect_target("[::1]:8443").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8443));
        assert_eq!(t.to_string(), "[::1]:8443");
        assert!(parse_listen_target("127.0.0.1:0").is_ok());
    }

    #[test]
    fn bad_targets_are_refused() {
        assert!(parse_connect_target("host:99999").unwrap_err().contains("bad port"));
        assert!(parse_connect_target("host").is_err());
        assert!(parse_connect_target("::1:443").unwrap_err().contains("brackets"));
        assert!(parse_connect_target("host:0").is_err());
        assert!(parse_connect_target(":443").is_err());
    }

    #[test]
    fn protocols_are_sslprotocol_names_or_dtls() {
        assert_eq!(parse_protocol("TlsV1_3"), Ok(ProtocolChoice::Tls(SslProtocol::TlsV1_3)));
        assert_eq!(parse_protocol("DtlsV1_2"), Ok(ProtocolChoice::Dtls("DtlsV1_2")));
        assert!(parse_protocol("TlsV9_9").is_err());
    }

    #[test]
    fn option_lists_parse() {
        assert_eq!(parse_ignore("all"), Ok(IgnoreSpec::All));
        assert_eq!(
            parse_ignore("CertificateExpired,HostNameMismatch"),
            Ok(IgnoreSpec::Kinds(vec![
                SslErrorKind::CertificateExpired,
                SslErrorKind::HostNameMismatch
            ]))
        );
        assert!(parse_ignore("Expired").is_err());
        assert_eq!(
            parse_ciphers("TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384").unwrap().0.len(),
            2
        );
        assert!(parse_ciphers("ECDHE-RSA-AES128-GCM-SHA256").is_err());
        assert_eq!(
            parse_alpn("h2,http/1.1").unwrap().0,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert!(parse_alpn("h2,,x").is_err());
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("1e300").is_err());
        assert!(parse_seconds("1e12").is_err());
        assert!(parse_seconds("NaN").is_err());
    }
}
