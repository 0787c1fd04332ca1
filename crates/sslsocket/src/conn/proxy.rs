//! The proxy negotiation, a phase of the connection between the TCP connect to the proxy and
//! `Connected` (to the target): SOCKS5 (RFC 1928, user name / password RFC 1929) and HTTP
//! CONNECT (RFC 9110 §9.3.6, Basic authentication RFC 7617). Sans-IO like the rest of the
//! connection: the request goes out through the connection's own transport byte path (`out`),
//! the reply comes in through `handle_readable`, and the bytes the proxy sends after its
//! reply (the target's first bytes: a TLS ServerHello may share the segment) become the
//! target's input.
//!
//! Every input is bounded: a reply is parsed as it comes, and at most [`MAX_REPLY`] bytes of
//! it are held; the negotiation has its own deadline (`set_proxy_timeout`, default 30 s).

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ssl_api::{Error, NetworkProxy, ProxyAuthenticator, ProxyError, ProxyType, SocketState};

use super::{Close, Connection, Event, Phase};

/// The largest proxy reply held: an HTTP header block over 64 KiB is a protocol error.
pub const MAX_REPLY: usize = 64 * 1024;

/// How long a proxy negotiation may take by default, from the TCP connect to the proxy.
pub const DEFAULT_PROXY_TIMEOUT: Duration = Duration::from_secs(30);

/// What a proxy-authentication handler is: called with the proxy and an authenticator to fill
/// in when the proxy asks for credentials it was not given (`proxyAuthenticationRequired`).
pub type ProxyAuthenticationHandler =
    Arc<dyn Fn(&NetworkProxy, &mut ProxyAuthenticator) + Send + Sync>;

/// The handler, with a `Debug` of its own for the connection's.
#[derive(Clone)]
pub(super) struct AuthHandler(pub(super) ProxyAuthenticationHandler);

impl fmt::Debug for AuthHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProxyAuthenticationHandler")
    }
}

/// A negotiation in progress.
#[derive(Debug)]
pub(super) struct Negotiation {
    step: Step,
    /// The reply bytes received and not parsed yet (at most [`MAX_REPLY`] + one read).
    input: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// SOCKS5: the method selection reply (2 bytes).
    Socks5Method,
    /// SOCKS5: the user name / password status (2 bytes).
    Socks5Auth,
    /// SOCKS5: the CONNECT reply.
    Socks5Reply,
    /// HTTP: the status line and headers of the CONNECT reply.
    HttpReply,
}

/// What a step of the reply parse found.
enum Outcome {
    /// More bytes are needed.
    More,
    /// Send `bytes` and go on.
    Send(Vec<u8>),
    /// The tunnel is up; the bytes that followed the reply are the target's.
    Done(Vec<u8>),
    /// The proxy wants credentials (`realm` for HTTP's challenge).
    AuthRequired(Option<String>),
    /// The negotiation failed.
    Failed(ProxyError),
}

impl Connection {
    /// Sets the proxy for the next connect (default: [`NetworkProxy::default_proxy`], the
    /// application proxy). A connection already made or in progress is not affected.
    pub fn set_proxy(&mut self, proxy: NetworkProxy) {
        self.proxy = proxy;
    }

    /// The proxy set for this connection (`DefaultProxy` unless set).
    #[must_use]
    pub fn proxy(&self) -> &NetworkProxy {
        &self.proxy
    }

    /// The proxy the current (or last) connect goes through, once `DefaultProxy` was
    /// resolved to the application proxy; `None` for a direct connection.
    #[must_use]
    pub fn connect_proxy(&self) -> Option<&NetworkProxy> {
        self.route.as_deref()
    }

    /// Sets how long the proxy negotiation may take, from the TCP connect to the proxy to its
    /// reply; `None` is no limit. Default 30 s. A wait with an earlier deadline (e.g.
    /// `wait_for_connected`) ends first, with `SocketTimeoutError`, and the negotiation goes on.
    pub fn set_proxy_timeout(&mut self, timeout: Option<Duration>) {
        self.proxy_timeout = timeout;
    }

    /// The proxy negotiation's timeout.
    #[must_use]
    pub fn proxy_timeout(&self) -> Option<Duration> {
        self.proxy_timeout
    }

    /// Sets the handler asked for credentials when a proxy demands some it was not given
    /// (HTTP 407 with `Proxy-Authenticate: Basic`, SOCKS5 method 0x02). If it fills in a user
    /// name, the connect is retried once, on a new connection, with those credentials; if not,
    /// or if the proxy refuses them too, the connection fails with
    /// `ProxyAuthenticationRequiredError`.
    pub fn set_proxy_authentication_handler(
        &mut self,
        handler: impl Fn(&NetworkProxy, &mut ProxyAuthenticator) + Send + Sync + 'static,
    ) {
        self.proxy_auth = Some(AuthHandler(Arc::new(handler)));
    }

    /// Sets the target's port (`QAbstractSocket::setPeerPort`); the drivers call it with
    /// `connect_to_host`, after it.
    pub fn set_peer_port(&mut self, port: u16) {
        self.peer_port = port;
    }

    /// The target's port (`peerPort`).
    #[must_use]
    pub fn peer_port(&self) -> u16 {
        self.peer_port
    }

    /// The target's host name as given to `connect_to_host` (`peerName`).
    #[must_use]
    pub fn peer_name(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// Makes the connect in progress go through `proxy` (`None`: directly). The drivers call
    /// it after `connect_to_host` and [`Connection::set_peer_port`], with the socket's proxy
    /// and `DefaultProxy` resolved.
    pub fn set_connect_proxy(&mut self, proxy: Option<NetworkProxy>) {
        self.route = proxy.filter(NetworkProxy::is_proxy).map(Box::new);
    }

    /// Where the driver resolves and connects to: the proxy's host and port when the connect
    /// goes through one, the target's otherwise. `None` before any connect.
    #[must_use]
    pub fn dial_target(&self) -> Option<(String, u16)> {
        match &self.route {
            Some(proxy) => Some((proxy.host().to_owned(), proxy.port())),
            None => self.host.clone().map(|host| (host, self.peer_port)),
        }
    }

    /// Through a proxy, the target's address as the socket reports it (`peerAddress`, as Qt
    /// does: the target's, not the proxy's): the target's IP and port when it was given as an
    /// address, `None` for a name (the local side never learns what the proxy resolved it to).
    /// `None` (the outer one) for a direct connection: the transport's peer is the peer.
    #[must_use]
    pub fn proxied_peer_address(&self) -> Option<Option<SocketAddr>> {
        self.route.as_ref()?;
        if let Some(addr) = self.target_addr {
            return Some(Some(addr));
        }
        let host = self.host.as_deref().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Some(host.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, self.peer_port)))
    }

    /// The target's host and port to look up locally before the proxy (the driver's part
    /// of a SOCKS5 connect that resolves names locally, `socks5://`): `Some` in
    /// HostLookupState until [`Connection::handle_target_resolved`]. `None` when the proxy
    /// resolves names (`socks5h://`, HTTP), the target is an address, or there is no proxy.
    #[must_use]
    pub fn target_lookup(&self) -> Option<(String, u16)> {
        let proxy = self.route.as_ref()?;
        let host = self.host.as_deref()?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let local = proxy.kind() == ProxyType::Socks5Proxy && !proxy.remote_dns();
        (local
            && self.state == SocketState::HostLookupState
            && self.target_addr.is_none()
            && bare.parse::<IpAddr>().is_err())
        .then(|| (host.to_owned(), self.peer_port))
    }

    /// The driver looked up [`Connection::target_lookup`]: the first address is the one the
    /// SOCKS5 request names. None: the target's `HostNotFoundError`.
    pub fn handle_target_resolved(&mut self, addrs: &[SocketAddr]) {
        match addrs.first() {
            Some(addr) => self.target_addr = Some(*addr),
            None => {
                let host = self.host.clone().unwrap_or_default();
                self.dry = false;
                self.fail(Error::HostNotFound { host });
            }
        }
    }

    /// Whether the proxy negotiation is in progress.
    #[must_use]
    pub fn is_negotiating_proxy(&self) -> bool {
        self.negotiation.is_some()
    }

    // ---- the connection's side -----------------------------------------------------------

    /// The TCP connect to the proxy is up: sends the first request. Returns false for a
    /// direct connection (nothing to negotiate).
    pub(super) fn start_negotiation(&mut self, now: Instant) -> bool {
        let Some(proxy) = &self.route else { return false };
        let (step, request) = match proxy.kind() {
            ProxyType::Socks5Proxy => (Step::Socks5Method, socks5_greeting()),
            _ => {
                match http_request(proxy, self.host.as_deref().unwrap_or_default(), self.peer_port)
                {
                    Ok(request) => (Step::HttpReply, request),
                    Err(err) => {
                        self.fail(err.into());
                        return true;
                    }
                }
            }
        };
        self.out.extend(request);
        self.negotiation = Some(Box::new(Negotiation { step, input: Vec::new() }));
        self.deadline = self.proxy_timeout.and_then(|t| now.checked_add(t));
        true
    }

    /// Reads the proxy's reply from `rd` (see `handle_readable`).
    pub(super) fn read_proxy_reply(
        &mut self,
        rd: &mut dyn io::Read,
        now: Instant,
    ) -> io::Result<usize> {
        let Some(negotiation) = &mut self.negotiation else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let mut chunk = [0u8; 4096];
        let result = rd.read(&mut chunk);
        match result {
            Ok(0) => {
                self.transport_eof = true;
                self.fail(ProxyError::ConnectionClosed.into());
                Ok(0)
            }
            Ok(n) => {
                negotiation.input.extend_from_slice(&chunk[..n]);
                self.advance_negotiation(now);
                Ok(n)
            }
            Err(e)
                if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) =>
            {
                Err(e)
            }
            Err(e) => {
                let copy = io::Error::new(e.kind(), e.to_string());
                self.fail(ProxyError::ConnectionClosed.into());
                Err(copy)
            }
        }
    }

    /// Parses what has arrived, as far as it goes.
    fn advance_negotiation(&mut self, now: Instant) {
        // Each pass consumes a whole message or stops: bounded by the three SOCKS5 steps.
        for _ in 0..4 {
            let (Some(negotiation), Some(proxy)) = (&mut self.negotiation, &self.route) else {
                return;
            };
            // A name resolved locally goes to the proxy as the address it resolved to.
            let resolved = self.target_addr.map(|addr| addr.ip().to_string());
            let host = resolved.as_deref().or(self.host.as_deref()).unwrap_or_default();
            let outcome = negotiation.parse(proxy, host, self.peer_port);
            match outcome {
                Outcome::More => return,
                Outcome::Send(bytes) => self.out.extend(bytes),
                Outcome::Done(rest) => return self.finish_negotiation(rest, now),
                Outcome::AuthRequired(realm) => return self.proxy_auth_required(realm),
                Outcome::Failed(err) => return self.fail(err.into()),
            }
        }
    }

    /// The tunnel is up: Connected (to the target), then the TLS handshake of an encrypted
    /// connect, which takes the bytes that followed the reply as the target's.
    fn finish_negotiation(&mut self, rest: Vec<u8>, now: Instant) {
        self.negotiation = None;
        self.deadline = None;
        let plain = matches!(self.phase, Phase::Plain { connect_tls: None });
        self.read_buf.extend(&rest);
        self.enter_connected(now);
        if plain && !rest.is_empty() {
            self.emit(Event::ReadyRead);
        }
    }

    /// The proxy asked for credentials: asks the handler (once per connect, and only when
    /// none were given) and retries on a new connection, or fails.
    fn proxy_auth_required(&mut self, realm: Option<String>) {
        let Some(proxy) = self.route.clone() else { return };
        let failure = ProxyError::AuthenticationRequired { proxy: proxy.to_string() };
        let handler = match &self.proxy_auth {
            Some(handler) if !proxy.has_credentials() && !self.proxy_retried => handler.0.clone(),
            _ => return self.fail(failure.into()),
        };
        let mut authenticator = ProxyAuthenticator::new(realm);
        handler(&proxy, &mut authenticator);
        let Some(user) = authenticator.user() else { return self.fail(failure.into()) };
        let mut with_credentials = proxy;
        with_credentials.set_user(user);
        with_credentials.set_password(authenticator.password());
        self.route = Some(with_credentials);
        self.proxy_retried = true;
        // A new connection: the driver closes this one and looks the proxy up again.
        self.negotiation = None;
        self.deadline = None;
        self.out.clear();
        self.read_buf.clear();
        self.transport_eof = false;
        self.dry = false;
        self.close = Close::Release;
        self.set_state(SocketState::HostLookupState);
    }

    /// Gives a failure of the transport to the proxy its proxy error code: the proxy's name
    /// not found, its connection refused or closed during the negotiation.
    pub(super) fn proxy_error_of(&self, err: Error) -> Error {
        let Some(proxy) = &self.route else { return err };
        if self.negotiation.is_some() {
            return match err {
                Error::Io { .. } => ProxyError::ConnectionClosed.into(),
                other => other,
            };
        }
        match (self.state, err) {
            (SocketState::HostLookupState, Error::HostNotFound { host }) => {
                ProxyError::NotFound { host }.into()
            }
            (SocketState::ConnectingState, Error::Io { kind, source })
                if source.kind() == io::ErrorKind::ConnectionRefused =>
            {
                let _ = (kind, source);
                ProxyError::ConnectionRefused { proxy: proxy.to_string() }.into()
            }
            (_, other) => other,
        }
    }

    /// The negotiation's deadline passed.
    pub(super) fn proxy_timed_out(&mut self) {
        let millis =
            self.proxy_timeout.map_or(0, |t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX));
        self.fail(ProxyError::Timeout { millis }.into());
    }
}

impl Negotiation {
    fn parse(&mut self, proxy: &NetworkProxy, host: &str, port: u16) -> Outcome {
        let outcome = match self.step {
            Step::Socks5Method => self.socks5_method(proxy, host, port),
            Step::Socks5Auth => self.socks5_auth(host, port),
            Step::Socks5Reply => self.socks5_reply(),
            Step::HttpReply => self.http_reply(proxy),
        };
        if matches!(outcome, Outcome::More) && self.input.len() > MAX_REPLY {
            return protocol(format!("the proxy's reply is longer than {MAX_REPLY} bytes"));
        }
        outcome
    }

    /// Takes the first `n` bytes of the input, if they have arrived.
    fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        (self.input.len() >= n).then(|| self.input.drain(..n).collect())
    }

    fn socks5_method(&mut self, proxy: &NetworkProxy, host: &str, port: u16) -> Outcome {
        let Some(reply) = self.take(2) else { return Outcome::More };
        if reply[0] != 5 {
            return protocol(format!("not a socks5 reply (version byte {:#04x})", reply[0]));
        }
        match reply[1] {
            0x00 => self.socks5_connect(proxy, host, port),
            0x02 => match (proxy.user(), proxy.password()) {
                (Some(user), password) => {
                    let password = password.unwrap_or_default();
                    if user.len() > 255 || password.len() > 255 {
                        return protocol("socks5 user name or password over 255 bytes".into());
                    }
                    self.step = Step::Socks5Auth;
                    let mut auth = vec![1, user.len() as u8];
                    auth.extend_from_slice(user.as_bytes());
                    auth.push(password.len() as u8);
                    auth.extend_from_slice(password.as_bytes());
                    Outcome::Send(auth)
                }
                (None, _) => Outcome::AuthRequired(None),
            },
            // No method we offered is acceptable: the proxy wants one we do not speak, or
            // credentials (some servers answer so when they were not offered).
            0xff if !proxy.has_credentials() => Outcome::AuthRequired(None),
            0xff => protocol("the socks5 proxy accepted none of our methods".into()),
            other => protocol(format!("the socks5 proxy chose method {other:#04x}, not offered")),
        }
    }

    fn socks5_auth(&mut self, host: &str, port: u16) -> Outcome {
        let Some(reply) = self.take(2) else { return Outcome::More };
        if reply[0] != 1 {
            return protocol(format!("not a socks5 authentication reply ({:#04x})", reply[0]));
        }
        if reply[1] != 0 {
            return Outcome::AuthRequired(None);
        }
        self.socks5_request(host, port)
    }

    fn socks5_connect(&mut self, proxy: &NetworkProxy, host: &str, port: u16) -> Outcome {
        let _ = proxy;
        self.socks5_request(host, port)
    }

    fn socks5_request(&mut self, host: &str, port: u16) -> Outcome {
        let mut request = vec![5, 1, 0];
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        match bare.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => {
                request.push(1);
                request.extend_from_slice(&ip.octets());
            }
            Ok(IpAddr::V6(ip)) => {
                request.push(4);
                request.extend_from_slice(&ip.octets());
            }
            Err(_) => {
                if host.is_empty() || host.len() > 255 {
                    return protocol("the target's host name is empty or over 255 bytes".into());
                }
                request.push(3);
                request.push(host.len() as u8);
                request.extend_from_slice(host.as_bytes());
            }
        }
        request.extend_from_slice(&port.to_be_bytes());
        self.step = Step::Socks5Reply;
        Outcome::Send(request)
    }

    fn socks5_reply(&mut self) -> Outcome {
        if self.input.len() < 5 {
            return Outcome::More;
        }
        let (version, code, atyp) = (self.input[0], self.input[1], self.input[3]);
        if version != 5 {
            return protocol(format!("not a socks5 reply (version byte {version:#04x})"));
        }
        match code {
            0x00 => {}
            0x04 => return Outcome::Failed(ProxyError::TargetNotFound),
            0x05 => return Outcome::Failed(ProxyError::TargetRefused),
            other => {
                return protocol(format!(
                    "the socks5 proxy refused the connect ({})",
                    socks5_code(other)
                ))
            }
        }
        let address = match atyp {
            1 => 4,
            4 => 16,
            3 => 1 + usize::from(self.input[4]),
            other => return protocol(format!("socks5 reply with address type {other:#04x}")),
        };
        if self.take(4 + address + 2).is_none() {
            return Outcome::More;
        }
        Outcome::Done(std::mem::take(&mut self.input))
    }

    fn http_reply(&mut self, proxy: &NetworkProxy) -> Outcome {
        let Some(end) = find(&self.input, b"\r\n\r\n") else {
            if !self.input.is_empty()
                && !b"HTTP/".starts_with(&self.input[..self.input.len().min(5)])
            {
                return protocol("the proxy's reply is not http".into());
            }
            return Outcome::More;
        };
        if end + 4 > MAX_REPLY {
            return protocol(format!("the proxy's reply header is longer than {MAX_REPLY} bytes"));
        }
        let head: Vec<u8> = self.input.drain(..end + 4).collect();
        let head = String::from_utf8_lossy(&head[..end]);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        let status = parts.next().and_then(|s| s.parse::<u16>().ok());
        let Some(status) = status.filter(|_| version.starts_with("HTTP/1.")) else {
            return protocol(format!("not an http status line: {:?}", truncate(status_line)));
        };
        match status {
            200..=299 => Outcome::Done(std::mem::take(&mut self.input)),
            407 => {
                let challenge = lines
                    .filter_map(|line| line.split_once(':'))
                    .filter(|(name, _)| name.trim().eq_ignore_ascii_case("proxy-authenticate"))
                    .map(|(_, value)| value.trim().to_owned())
                    .find(|value| value.to_ascii_lowercase().starts_with("basic"));
                match challenge {
                    Some(challenge) if !proxy.has_credentials() => {
                        Outcome::AuthRequired(realm_of(&challenge))
                    }
                    Some(_) => Outcome::Failed(ProxyError::AuthenticationRequired {
                        proxy: proxy.to_string(),
                    }),
                    None => protocol("407 without a basic challenge".into()),
                }
            }
            _ => protocol(format!("the proxy answered {}", truncate(status_line))),
        }
    }
}

fn protocol(message: String) -> Outcome {
    Outcome::Failed(ProxyError::Protocol { message })
}

/// A SOCKS5 reply code's meaning (RFC 1928 §6).
fn socks5_code(code: u8) -> String {
    let text = match code {
        0x01 => "general failure",
        0x02 => "not allowed by ruleset",
        0x03 => "network unreachable",
        0x06 => "ttl expired",
        0x07 => "command not supported",
        0x08 => "address type not supported",
        _ => "unknown code",
    };
    format!("{code:#04x}, {text}")
}

/// The greeting: version 5, two methods offered, no authentication and user name / password.
fn socks5_greeting() -> Vec<u8> {
    vec![5, 2, 0, 2]
}

/// The CONNECT request for `host:port`, with Basic credentials when the proxy has them.
fn http_request(proxy: &NetworkProxy, host: &str, port: u16) -> Result<Vec<u8>, ProxyError> {
    if host.is_empty() || host.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(ProxyError::Protocol {
            message: "the target's host name cannot be sent".into(),
        });
    }
    let authority = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(user) = proxy.user() {
        let credentials = format!("{user}:{}", proxy.password().unwrap_or_default());
        let credentials = zeroize::Zeroizing::new(credentials);
        request.push_str("Proxy-Authorization: Basic ");
        request.push_str(&base64(credentials.as_bytes()));
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    Ok(request.into_bytes())
}

fn realm_of(challenge: &str) -> Option<String> {
    let at = challenge.to_ascii_lowercase().find("realm=")?;
    let value = challenge[at + 6..].trim_start();
    let value = value.strip_prefix('"').map_or_else(
        || value.split([',', ' ']).next().unwrap_or_default(),
        |quoted| quoted.split('"').next().unwrap_or_default(),
    );
    Some(value.to_owned())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn truncate(text: &str) -> String {
    text.chars().take(80).collect()
}

/// Standard base64 (RFC 4648 §4) for the Basic credentials: a dozen lines, where the workspace
/// has no base64 dependency of its own.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases =
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")];
        for (input, expected) in cases {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    /// Every reply a hostile proxy can send, cut anywhere, ends in a typed outcome or asks for
    /// more, and never holds more than the bound.
    #[test]
    fn hostile_replies_never_panic_and_stay_bounded() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let proxy =
            NetworkProxy::parse("socks5://u:p@h:1").unwrap_or_else(|_| NetworkProxy::no_proxy());
        let seeds: [&[u8]; 4] = [
            &[5, 2, 1, 0, 5, 0, 0, 3, 9, b'l', b'o', b'c', b'a', b'l', 0, 80],
            &[5, 0, 5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 187],
            b"HTTP/1.1 407 x\r\nProxy-Authenticate: Basic realm=\"r\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX: y\r\n\r\nrest",
        ];
        for round in 0..4000 {
            let base = seeds[round % seeds.len()];
            let mut input: Vec<u8> = base.to_vec();
            for _ in 0..(next() % 4) {
                let at = (next() as usize) % (input.len() + 1);
                match next() % 3 {
                    0 if at < input.len() => input[at] = next() as u8,
                    1 => input.insert(at, next() as u8),
                    _ => input.truncate(at),
                }
            }
            let step = [Step::Socks5Method, Step::Socks5Auth, Step::Socks5Reply, Step::HttpReply]
                [round % 4];
            let mut negotiation = Negotiation { step, input: Vec::new() };
            for chunk in input.chunks(1 + (next() as usize) % 7) {
                negotiation.input.extend_from_slice(chunk);
                for _ in 0..4 {
                    match negotiation.parse(&proxy, "target.example", 443) {
                        Outcome::Send(_) => {}
                        _ => break,
                    }
                }
                assert!(negotiation.input.len() <= MAX_REPLY + 8);
            }
        }
    }

    #[test]
    fn a_realm_is_read_from_a_basic_challenge() {
        assert_eq!(realm_of("Basic realm=\"tiny proxy\"").as_deref(), Some("tiny proxy"));
        assert_eq!(realm_of("Basic realm=x, charset=UTF-8").as_deref(), Some("x"));
        assert_eq!(realm_of("Basic"), None);
    }
}
