//! Turning the shared options into an `SslConfiguration` and socket settings, loading
//! certificates and keys, and refusing (before any byte) what a backend cannot honour.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ssl_api::Role;
use sslsocket::{
    CertificateError, ConfigError, EncodingFormat, Error, Feature, PatternSyntax, PeerVerifyMode,
    SslBackend, SslCertificate, SslConfiguration, SslKey, SslMode, SslSocket,
};

use crate::cli::{ClientArgs, IgnoreSpec, NetArgs, ProtocolChoice, StartTls, TlsArgs};

/// Why a command cannot go on.
#[derive(Debug)]
pub enum Problem {
    /// The command line is malformed: exit 2.
    Usage(String),
    /// The configuration cannot be carried out (a file, a key, a backend): exit 1, reported
    /// as `SslInvalidUserDataError` (or the error's own kind).
    Refused(Error),
}

impl From<Error> for Problem {
    fn from(err: Error) -> Problem {
        Problem::Refused(err)
    }
}

/// Everything a connection needs besides the backend and the target.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The configuration the socket uses.
    pub config: SslConfiguration,
    /// A Qt DTLS protocol name given to `--protocol` (never usable on TCP).
    pub dtls: Option<&'static str>,
    /// `--ignore-errors`.
    pub ignore: Option<IgnoreSpec>,
    /// `--peer-name`, as A-labels.
    pub peer_name: Option<String>,
    /// `--timeout`: connect + handshake.
    pub timeout: Duration,
    /// `--read-timeout`.
    pub read_timeout: Duration,
    /// `--starttls`.
    pub starttls: Option<StartTls>,
    /// `--verify` was given: on a server even `auto` is then a request for the client's
    /// certificate (QueryPeer), not the library default's "request one if you can".
    pub verify_given: bool,
    /// `connect`'s socket options (`--bind`, `-4` / `-6`, `--keepalive`, `--no-delay`).
    pub net: NetArgs,
    /// `--proxy` (`none`: NoProxy); `None`: the environment's, as curl reads it.
    pub proxy: Option<sslsocket::NetworkProxy>,
}

/// Settings of a client command (connect, probe).
///
/// # Errors
/// `Usage` for inconsistent options or a peer name that is not a valid IDNA name; `Refused`
/// for files that cannot be read or parsed and keys that cannot be decrypted.
pub fn client_settings(tls: &TlsArgs, client: &ClientArgs) -> Result<Settings, Problem> {
    let mut settings = settings(tls)?;
    settings.peer_name = client.peer_name.as_deref().map(to_ascii_host).transpose()?;
    settings.proxy.clone_from(&client.proxy);
    Ok(settings)
}

/// Settings of `serve`: `--cert` (and a key) are required.
///
/// # Errors
/// As [`client_settings`]; `Usage` without `--cert`.
pub fn server_settings(tls: &TlsArgs) -> Result<Settings, Problem> {
    if tls.cert.is_none() {
        return Err(Problem::Usage("serve needs --cert FILE and --key FILE".to_owned()));
    }
    settings(tls)
}

/// What a client sends after the handshake: `--send`, `--send-file` (`-` = stdin), or
/// nothing. A file and stdin are streamed in chunks as the peer takes them, never read whole.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// `--send`, or nothing (empty).
    Bytes(Vec<u8>),
    /// `--send-file FILE`, opened for each connection.
    File(PathBuf),
    /// `--send-file -`.
    Stdin,
}

impl Outgoing {
    /// Whether there is certainly nothing to send.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        matches!(self, Outgoing::Bytes(bytes) if bytes.is_empty())
    }

    /// The same payload for several connections: standard input can be read once only, so
    /// it is read whole here (`probe`); a file is reopened by each connection.
    ///
    /// # Errors
    /// `Refused` when standard input cannot be read.
    pub fn replayable(self) -> Result<Outgoing, Problem> {
        match self {
            Outgoing::Stdin => {
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut data)
                    .map_err(|e| Problem::Refused(file_error(Path::new("-"), &e)))?;
                Ok(Outgoing::Bytes(data))
            }
            other => Ok(other),
        }
    }

    /// The reader of a file or stdin payload (`None` for bytes).
    ///
    /// # Errors
    /// `SslInvalidUserDataError` naming the file when it cannot be opened.
    pub fn open(&self) -> Result<Option<Box<dyn std::io::Read + Send>>, Error> {
        match self {
            Outgoing::Bytes(_) => Ok(None),
            Outgoing::File(path) => std::fs::File::open(path)
                .map(|f| Some(Box::new(f) as Box<dyn std::io::Read + Send>))
                .map_err(|e| file_error(path, &e)),
            Outgoing::Stdin => Ok(Some(Box::new(std::io::stdin()))),
        }
    }
}

/// The payload of a client command.
///
/// # Errors
/// `Refused` when the file does not exist or cannot be examined (it is opened and read when
/// the connection is up; a FIFO is fine).
pub fn payload(client: &ClientArgs) -> Result<Outgoing, Problem> {
    if let Some(text) = &client.send {
        return Ok(Outgoing::Bytes(text.0.clone()));
    }
    let Some(path) = &client.send_file else { return Ok(Outgoing::Bytes(Vec::new())) };
    if path.as_os_str() == "-" {
        return Ok(Outgoing::Stdin);
    }
    std::fs::metadata(path).map_err(|e| Problem::Refused(file_error(path, &e)))?;
    Ok(Outgoing::File(path.clone()))
}

/// Converts a Unicode host name to A-labels (IDNA); ASCII names are kept as they are.
///
/// # Errors
/// `Usage` when the name is not a valid internationalised domain name.
pub fn to_ascii_host(name: &str) -> Result<String, Problem> {
    if name.is_ascii() {
        return Ok(name.to_owned());
    }
    idna::domain_to_ascii(name)
        .map_err(|_| Problem::Usage(format!("{name:?} is not a valid internationalised name")))
}

/// The backend `name` names, or the process's active backend.
///
/// # Errors
/// When no usable backend of that name is compiled in (`SslInvalidUserDataError`).
pub fn resolve_backend(name: Option<&str>) -> Result<Arc<dyn SslBackend>, Error> {
    match name {
        Some(name) => sslsocket::registry::backend(name),
        None => sslsocket::active_backend(),
    }
}

/// Refuses, before any byte is sent, what `backend` cannot honour in `role`: a DTLS
/// protocol, options needing a feature it lacks, and whatever its engine refuses when the
/// context is built.
///
/// # Errors
/// `Error::Config` naming the backend and the feature.
pub fn check(backend: &Arc<dyn SslBackend>, settings: &Settings, role: Role) -> Result<(), Error> {
    let name = backend.name();
    if let Some(dtls) = settings.dtls {
        return Err(Error::Config(ConfigError::Engine {
            backend: name,
            message: format!("protocol {dtls} is DTLS, which cannot run on TCP"),
        }));
    }
    let config = &settings.config;
    let features = backend.features();
    let mode = match role {
        Role::Client => SslMode::SslClientMode,
        Role::Server => SslMode::SslServerMode,
    };
    let verifying = config.peer_verify_mode.effective(mode) != PeerVerifyMode::VerifyNone;
    let explicit_request = role == Role::Server
        && (matches!(
            config.peer_verify_mode,
            PeerVerifyMode::QueryPeer | PeerVerifyMode::VerifyPeer
        ) || settings.verify_given
            && config.peer_verify_mode == PeerVerifyMode::AutoVerifyPeer);
    let alpn = match role {
        Role::Client => Feature::ClientSideAlpn,
        Role::Server => Feature::ServerSideAlpn,
    };
    let needs = [
        (config.peer_verify_depth != 0 && verifying, Feature::PeerVerifyDepth),
        (!config.alpn_protocols.is_empty(), alpn),
        (!config.ciphers.is_empty(), Feature::CipherSelection),
        (
            role == Role::Client && !config.local_certificate_chain.is_empty(),
            Feature::ClientCertificates,
        ),
        (explicit_request, Feature::ServerRequestsClientCertificate),
        (config.danger_allow_weak_crypto, Feature::WeakCrypto),
    ];
    if let Some((_, feature)) = needs.iter().find(|(needed, f)| *needed && !features.contains(*f)) {
        return Err(Error::Config(ConfigError::Unsupported { backend: name, feature: *feature }));
    }
    sslsocket::registry::context_for(backend, config, role).map(|_| ())
}

/// Gives `socket` the configuration, peer name, ignore list and handshake timeout.
pub fn apply(socket: &mut SslSocket, settings: &Settings) {
    socket.set_ssl_configuration(settings.config.clone());
    if let Some(name) = &settings.peer_name {
        socket.set_peer_verify_name(name.clone());
    }
    apply_ignore(socket, settings.ignore.as_ref());
    socket.set_handshake_timeout(Some(settings.timeout));
}

/// Applies `--ignore-errors` to `socket`.
pub fn apply_ignore(socket: &mut SslSocket, ignore: Option<&IgnoreSpec>) {
    match ignore {
        Some(IgnoreSpec::All) => socket.ignore_ssl_errors(),
        Some(IgnoreSpec::Kinds(kinds)) => socket.ignore_ssl_error_kinds(kinds.clone()),
        None => {}
    }
}

fn settings(tls: &TlsArgs) -> Result<Settings, Problem> {
    let mut config = SslConfiguration::default_configuration();
    let mut dtls = None;
    match tls.protocol {
        Some(ProtocolChoice::Tls(p)) => config.protocol = p,
        Some(ProtocolChoice::Dtls(name)) => dtls = Some(name),
        None => {}
    }
    if let Some(verify) = tls.verify {
        config.peer_verify_mode = verify.mode();
    }
    if let Some(depth) = tls.verify_depth {
        config.peer_verify_depth = depth;
    }
    for path in &tls.cafile {
        config.ca_certificates.extend(load_certificates(path)?);
    }
    for pattern in &tls.capath {
        let pattern =
            if Path::new(pattern).is_dir() { format!("{pattern}/*") } else { pattern.clone() };
        let found =
            SslCertificate::from_path(&pattern, EncodingFormat::Pem, PatternSyntax::Wildcard)
                .map_err(|e| Error::Config(e.into()))?;
        config.ca_certificates.extend(found);
    }
    config.system_ca_certificates = !tls.no_system_ca;
    config.danger_allow_weak_crypto = tls.danger_allow_weak_crypto;
    match (&tls.cert, &tls.key) {
        (Some(cert), key) => {
            config.local_certificate_chain = load_certificates(cert)?;
            config.private_key =
                Some(load_key(key.as_deref().unwrap_or(cert), tls.pass.as_deref())?);
        }
        (None, Some(_)) => return Err(Problem::Usage("--key needs --cert".to_owned())),
        (None, None) => {}
    }
    if !tls.chain.is_empty() && tls.cert.is_none() {
        return Err(Problem::Usage("--chain needs --cert".to_owned()));
    }
    for path in &tls.chain {
        config.local_certificate_chain.extend(load_certificates(path)?);
    }
    if let Some(ciphers) = &tls.ciphers {
        config.ciphers.clone_from(&ciphers.0);
    }
    if let Some(alpn) = &tls.alpn {
        config.alpn_protocols.clone_from(&alpn.0);
    }
    Ok(Settings {
        config,
        dtls,
        ignore: tls.ignore_errors.clone(),
        peer_name: None,
        timeout: tls.timeout,
        read_timeout: tls.read_timeout,
        verify_given: tls.verify.is_some(),
        starttls: tls.starttls,
        net: NetArgs::default(),
        proxy: None,
    })
}

/// Every certificate of a PEM file, or the one of a DER file: a regular file up to
/// `ssl_api::files::MAX_FILE_SIZE` (a FIFO or a device is refused before it is opened).
fn load_certificates(path: &Path) -> Result<Vec<SslCertificate>, Error> {
    let data = ssl_api::files::read_regular_file(path).map_err(|e| Error::Config(e.into()))?;
    let format = if is_pem(&data) { EncodingFormat::Pem } else { EncodingFormat::Der };
    SslCertificate::from_data(&data, format).map_err(|e| file_error(path, &e))
}

/// The private key of a file, in every form the library reads
/// (`SslKey::private_key_from_file`: PEM, encrypted or not, legacy OpenSSL encryption
/// included; DER PKCS#8, encrypted PKCS#8, PKCS#1, SEC1), decrypted with `pass`.
fn load_key(path: &Path, pass: Option<&str>) -> Result<SslKey, Error> {
    SslKey::private_key_from_file(path, pass.map(str::as_bytes)).map_err(|e| match e {
        // These name the file already.
        CertificateError::NotARegularFile { .. }
        | CertificateError::FileTooLarge { .. }
        | CertificateError::Io { .. } => Error::Config(e.into()),
        CertificateError::PassphraseRequired => {
            file_error(path, &"the key is encrypted: give --pass")
        }
        other => file_error(path, &other),
    })
}

fn is_pem(data: &[u8]) -> bool {
    data.windows(11).any(|w| w == b"-----BEGIN ")
}

/// A file that cannot be used: `SslInvalidUserDataError` naming the file.
fn file_error(path: &Path, err: &dyn std::fmt::Display) -> Error {
    Error::Config(ConfigError::Certificate(CertificateError::Io {
        path: path.display().to_string(),
        message: err.to_string(),
    }))
}
