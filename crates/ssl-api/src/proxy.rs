//! Proxies (`QNetworkProxy`): which proxy a connection goes through, parsed from and shown as a
//! URL, and the environment's proxy settings as curl reads them.
//!
//! The URL grammar is the small one proxies use (`scheme://[user[:password]@]host[:port]`).
//! It is parsed here by hand: no workspace dependency parses URLs, and the `url` crate's WHATWG
//! rules (special schemes, IDNA, path normalisation) would add nothing a proxy address needs.

use std::fmt;

use zeroize::Zeroizing;

/// The port a proxy URL without one uses: 1080, as curl has it for every proxy scheme.
pub const DEFAULT_PROXY_PORT: u16 = 1080;

/// What kind of proxy (`QNetworkProxy::ProxyType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProxyType {
    /// No proxy: connect directly.
    NoProxy,
    /// The application proxy (`set_application_proxy`; NoProxy unless set).
    DefaultProxy,
    /// SOCKS5 (RFC 1928), with user name / password authentication (RFC 1929).
    Socks5Proxy,
    /// An HTTP proxy, tunnelling with `CONNECT` (RFC 9110 §9.3.6), Basic authentication.
    HttpProxy,
}

/// A proxy (`QNetworkProxy`): type, host, port, credentials, and whether host names are
/// resolved by the proxy.
///
/// Parsed from and shown as a URL: `socks5://user:pass@host:1080` (the target's name resolved
/// locally), `socks5h://…` (resolved by the proxy, as curl's), `http://…` (HTTP CONNECT). The
/// password is never shown by `Debug` or `Display`, and is wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct NetworkProxy {
    kind: ProxyType,
    host: String,
    port: u16,
    user: Option<String>,
    password: Option<Zeroizing<String>>,
    remote_dns: bool,
}

/// A proxy URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyUrlError {
    /// The scheme is not `socks5`, `socks5h` or `http`.
    #[error("unsupported proxy scheme {0:?} (socks5, socks5h or http)")]
    UnsupportedScheme(String),
    /// No host after the scheme.
    #[error("the proxy url has no host")]
    MissingHost,
    /// The port is not a number from 1 to 65535.
    #[error("invalid proxy port {0:?}")]
    InvalidPort(String),
    /// A bracketed IPv6 address is not closed, or the host holds a character a host cannot.
    #[error("invalid proxy host {0:?}")]
    InvalidHost(String),
    /// A `%` escape in the user name or password is not two hex digits, or not UTF-8.
    #[error("invalid percent escape in the proxy credentials")]
    InvalidEscape,
}

impl NetworkProxy {
    /// No proxy: connect directly.
    #[must_use]
    pub fn no_proxy() -> NetworkProxy {
        NetworkProxy::new(ProxyType::NoProxy, "", 0)
    }

    /// The application proxy (the default of every socket).
    #[must_use]
    pub fn default_proxy() -> NetworkProxy {
        NetworkProxy::new(ProxyType::DefaultProxy, "", 0)
    }

    /// A proxy of `kind` at `host:port`, without credentials. A SOCKS5 proxy made this way
    /// resolves target names locally ([`NetworkProxy::set_remote_dns`] changes it).
    #[must_use]
    pub fn new(kind: ProxyType, host: &str, port: u16) -> NetworkProxy {
        NetworkProxy {
            kind,
            host: host.to_owned(),
            port,
            user: None,
            password: None,
            remote_dns: false,
        }
    }

    /// Parses a proxy URL: `socks5://`, `socks5h://` or `http://`, optional
    /// `user[:password]@` (percent-escaped), host (a name, an IPv4 address or a bracketed IPv6
    /// one), optional `:port` (default [`DEFAULT_PROXY_PORT`]) and an optional trailing `/`.
    /// A URL without a scheme is an HTTP proxy, as curl has it; `none` (or the empty string)
    /// is [`NetworkProxy::no_proxy`].
    ///
    /// # Errors
    /// [`ProxyUrlError`] saying what is wrong.
    pub fn parse(url: &str) -> Result<NetworkProxy, ProxyUrlError> {
        let url = url.trim();
        if url.is_empty() || url.eq_ignore_ascii_case("none") {
            return Ok(NetworkProxy::no_proxy());
        }
        let (scheme, rest) = match url.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("http".to_owned(), url),
        };
        let (kind, remote_dns) = match scheme.as_str() {
            "socks5" => (ProxyType::Socks5Proxy, false),
            "socks5h" => (ProxyType::Socks5Proxy, true),
            "http" => (ProxyType::HttpProxy, true),
            _ => return Err(ProxyUrlError::UnsupportedScheme(scheme)),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport)?;
        let mut proxy = NetworkProxy::new(kind, &host, port);
        proxy.remote_dns = remote_dns;
        if let Some(userinfo) = userinfo {
            let (user, password) = match userinfo.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (userinfo, None),
            };
            proxy.user = Some(percent_decode(user)?);
            if let Some(password) = password {
                proxy.password = Some(Zeroizing::new(percent_decode(password)?));
            }
        }
        Ok(proxy)
    }

    /// The proxy for connections to `host` that the environment names, as curl reads it:
    /// `https_proxy` / `HTTPS_PROXY`, else `all_proxy` / `ALL_PROXY` (the lowercase name
    /// first); none when `no_proxy` / `NO_PROXY` matches `host` (see
    /// [`NetworkProxy::from_env_with`]). A variable that does not parse is ignored, as if it
    /// were unset. The library never reads the environment on its own: applications that
    /// want it call this.
    #[must_use]
    pub fn from_env(host: &str) -> NetworkProxy {
        NetworkProxy::from_env_with(host, |name| std::env::var(name).ok())
    }

    /// [`NetworkProxy::from_env`] over `var` instead of the process environment.
    ///
    /// `no_proxy` is a comma-separated list: `*` matches every host; any other entry matches
    /// the host itself and its subdomains (`example.com` and `.example.com` both match
    /// `example.com` and `www.example.com`, not `badexample.com`); case-insensitive; an IPv6
    /// address may be bracketed. CIDR ranges, which newer curl accepts, are not supported.
    #[must_use]
    pub fn from_env_with(host: &str, var: impl Fn(&str) -> Option<String>) -> NetworkProxy {
        let first = |names: &[&str]| {
            names.iter().find_map(|name| var(name).filter(|value| !value.trim().is_empty()))
        };
        if let Some(list) = first(&["no_proxy", "NO_PROXY"]) {
            if no_proxy_matches(&list, host) {
                return NetworkProxy::no_proxy();
            }
        }
        first(&["https_proxy", "HTTPS_PROXY"])
            .or_else(|| first(&["all_proxy", "ALL_PROXY"]))
            .and_then(|url| NetworkProxy::parse(&url).ok())
            .unwrap_or_else(NetworkProxy::no_proxy)
    }

    /// The proxy's type.
    #[must_use]
    pub fn kind(&self) -> ProxyType {
        self.kind
    }

    /// The proxy's host name or address (empty for NoProxy / DefaultProxy).
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user name, if any.
    #[must_use]
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The password, if any (never shown by `Debug` or `Display`).
    #[must_use]
    pub fn password(&self) -> Option<&str> {
        self.password.as_ref().map(|p| p.as_str())
    }

    /// Whether credentials were given (a user name; the password may be empty).
    #[must_use]
    pub fn has_credentials(&self) -> bool {
        self.user.is_some()
    }

    /// Whether the proxy resolves the target's host name (SOCKS5 with a domain-name address,
    /// `socks5h://`; always for HTTP CONNECT) rather than the local resolver.
    #[must_use]
    pub fn remote_dns(&self) -> bool {
        self.remote_dns || self.kind == ProxyType::HttpProxy
    }

    /// Sets the user name.
    pub fn set_user(&mut self, user: impl Into<String>) {
        self.user = Some(user.into());
    }

    /// Sets the password.
    pub fn set_password(&mut self, password: impl Into<String>) {
        self.password = Some(Zeroizing::new(password.into()));
    }

    /// Sets whether the proxy resolves the target's host name (SOCKS5).
    pub fn set_remote_dns(&mut self, remote: bool) {
        self.remote_dns = remote;
    }

    /// Whether connections through this proxy go through one (SOCKS5 or HTTP, with a host).
    #[must_use]
    pub fn is_proxy(&self) -> bool {
        matches!(self.kind, ProxyType::Socks5Proxy | ProxyType::HttpProxy)
    }

    /// The proxy's URL without the password (`socks5h://user@host:1080`), or `None` for
    /// NoProxy / DefaultProxy. The same text as `Display`.
    #[must_use]
    pub fn url(&self) -> Option<String> {
        let scheme = match self.kind {
            ProxyType::Socks5Proxy if self.remote_dns => "socks5h",
            ProxyType::Socks5Proxy => "socks5",
            ProxyType::HttpProxy => "http",
            ProxyType::NoProxy | ProxyType::DefaultProxy => return None,
        };
        let user = self.user.as_deref().map(|u| format!("{}@", percent_encode(u)));
        let host =
            if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        Some(format!("{scheme}://{}{host}:{}", user.unwrap_or_default(), self.port))
    }
}

impl Default for NetworkProxy {
    /// [`NetworkProxy::default_proxy`], as a socket's proxy starts.
    fn default() -> NetworkProxy {
        NetworkProxy::default_proxy()
    }
}

impl fmt::Display for NetworkProxy {
    /// The URL without the password; `none` / `default` for the two types without one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.url(), self.kind) {
            (Some(url), _) => f.write_str(&url),
            (None, ProxyType::DefaultProxy) => f.write_str("default"),
            (None, _) => f.write_str("none"),
        }
    }
}

impl fmt::Debug for NetworkProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkProxy")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("remote_dns", &self.remote_dns())
            .finish()
    }
}

/// What a proxy-authentication handler fills in (`QAuthenticator`): the credentials to retry
/// with. Left empty, the connection fails with `ProxyAuthenticationRequiredError`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProxyAuthenticator {
    user: Option<String>,
    password: Zeroizing<String>,
    realm: Option<String>,
}

impl ProxyAuthenticator {
    /// An empty authenticator for a challenge of `realm` (HTTP's `realm=`, if any).
    #[must_use]
    pub fn new(realm: Option<String>) -> ProxyAuthenticator {
        ProxyAuthenticator { user: None, password: Zeroizing::default(), realm }
    }

    /// The realm the proxy named, if any.
    #[must_use]
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// The user name filled in, if any.
    #[must_use]
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The password filled in.
    #[must_use]
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Fills in the user name.
    pub fn set_user(&mut self, user: impl Into<String>) {
        self.user = Some(user.into());
    }

    /// Fills in the password.
    pub fn set_password(&mut self, password: impl Into<String>) {
        self.password = Zeroizing::new(password.into());
    }
}

impl fmt::Debug for ProxyAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyAuthenticator")
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .field("realm", &self.realm)
            .finish()
    }
}

/// Splits `host[:port]` / `[v6][:port]`.
fn split_host_port(hostport: &str) -> Result<(String, u16), ProxyUrlError> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) =
            rest.split_once(']').ok_or_else(|| ProxyUrlError::InvalidHost(hostport.to_owned()))?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(ProxyUrlError::InvalidHost(hostport.to_owned())),
            },
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(ProxyUrlError::MissingHost);
    }
    let bad = |c: char| c.is_whitespace() || "/?#@[]\\".contains(c) || c.is_control();
    if host.chars().any(bad) {
        return Err(ProxyUrlError::InvalidHost(host.to_owned()));
    }
    let port = match port {
        None => DEFAULT_PROXY_PORT,
        Some(text) => match text.parse::<u16>() {
            Ok(port) if port > 0 && text.bytes().all(|b| b.is_ascii_digit()) => port,
            _ => return Err(ProxyUrlError::InvalidPort(text.to_owned())),
        },
    };
    Ok((host.to_owned(), port))
}

fn percent_decode(text: &str) -> Result<String, ProxyUrlError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(ProxyUrlError::InvalidEscape)?;
            let hex = std::str::from_utf8(hex).map_err(|_| ProxyUrlError::InvalidEscape)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ProxyUrlError::InvalidEscape)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ProxyUrlError::InvalidEscape)
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether curl's `no_proxy` list `list` exempts `host`.
fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    list.split(',').map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = entry.trim_start_matches('[').trim_end_matches(']');
        let entry = entry.trim_start_matches('.').trim_end_matches('.').to_ascii_lowercase();
        host == entry || host.strip_suffix(entry.as_str()).is_some_and(|head| head.ends_with('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_into_type_host_port_and_credentials() {
        let p = NetworkProxy::parse("socks5h://us%40er:p%3Ass@proxy.example:1081/").unwrap();
        assert_eq!(p.kind(), ProxyType::Socks5Proxy);
        assert!(p.remote_dns());
        assert_eq!((p.host(), p.port()), ("proxy.example", 1081));
        assert_eq!((p.user(), p.password()), (Some("us@er"), Some("p:ss")));
        let p = NetworkProxy::parse("socks5://[::1]").unwrap();
        assert_eq!((p.host(), p.port(), p.remote_dns()), ("::1", 1080, false));
        let p = NetworkProxy::parse("127.0.0.1:3128").unwrap();
        assert_eq!((p.kind(), p.port()), (ProxyType::HttpProxy, 3128));
        assert_eq!(NetworkProxy::parse("none").unwrap().kind(), ProxyType::NoProxy);
    }

    #[test]
    fn bad_urls_are_typed_errors() {
        assert!(matches!(NetworkProxy::parse("ftp://h"), Err(ProxyUrlError::UnsupportedScheme(_))));
        assert_eq!(NetworkProxy::parse("http://:80"), Err(ProxyUrlError::MissingHost));
        assert!(matches!(NetworkProxy::parse("http://h:0"), Err(ProxyUrlError::InvalidPort(_))));
        assert!(matches!(NetworkProxy::parse("http://h:x"), Err(ProxyUrlError::InvalidPort(_))));
        assert!(matches!(NetworkProxy::parse("http://[::1"), Err(ProxyUrlError::InvalidHost(_))));
        assert_eq!(NetworkProxy::parse("http://u:%zz@h"), Err(ProxyUrlError::InvalidEscape));
        assert_eq!(NetworkProxy::parse("http://u:%4@h"), Err(ProxyUrlError::InvalidEscape));
    }

    #[test]
    fn the_password_is_never_shown() {
        let p = NetworkProxy::parse("socks5://user:secret@h:1").unwrap();
        assert_eq!(p.to_string(), "socks5://user@h:1");
        assert!(!format!("{p:?}").contains("secret"));
        let mut auth = ProxyAuthenticator::new(None);
        auth.set_password("secret");
        assert!(!format!("{auth:?}").contains("secret"));
        assert_eq!(NetworkProxy::parse("http://[::1]:8").unwrap().to_string(), "http://[::1]:8");
    }

    #[test]
    fn the_environment_is_read_as_curl_reads_it() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
        };
        let vars = &[("https_proxy", "socks5h://a:1"), ("ALL_PROXY", "http://b:2")];
        assert_eq!(NetworkProxy::from_env_with("x.example", env(vars)).host(), "a");
        let vars = &[("ALL_PROXY", "http://b:2"), ("no_proxy", "example.com, .other")];
        assert_eq!(NetworkProxy::from_env_with("x.org", env(vars)).host(), "b");
        for exempt in ["example.com", "www.example.com", "a.other", "OTHER"] {
            let p = NetworkProxy::from_env_with(exempt, env(vars));
            assert_eq!(p.kind(), ProxyType::NoProxy, "{exempt}");
        }
        assert_eq!(NetworkProxy::from_env_with("badexample.com", env(vars)).host(), "b");
        let vars = &[("all_proxy", "http://b:2"), ("NO_PROXY", "*")];
        assert_eq!(NetworkProxy::from_env_with("x", env(vars)).kind(), ProxyType::NoProxy);
        let vars = &[("all_proxy", "gopher://b")];
        assert_eq!(NetworkProxy::from_env_with("x", env(vars)).kind(), ProxyType::NoProxy);
    }
}
