//! Hostile input: arbitrary bytes fed to a [`Connection`] as its peer's, and to the
//! certificate and key parsers. These are the bodies of the `cargo fuzz` targets (`fuzz/`)
//! and of the seeded property tests (`tests/properties.rs`), so CI runs the same paths the
//! fuzzers explore.
//!
//! Every function here must return normally, whatever the input: a panic or a hang is the
//! finding.

use std::io;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use conformance::pki::{Authority, Identity};
use sslsocket::{
    Connection, Error, KeyFormat, Role, SslBackend, SslCertificate, SslConfiguration, SslKey,
};

use crate::{backends, client_config};

/// A small, fast, seeded pseudo-random generator (xorshift64*): deterministic test inputs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; 0 is remapped).
    #[must_use]
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// A trust anchor and a server identity, made once per process (key generation is the slow
/// part of a fuzz iteration otherwise).
pub fn identities() -> &'static (SslCertificate, Identity) {
    static IDS: OnceLock<(SslCertificate, Identity)> = OnceLock::new();
    IDS.get_or_init(|| {
        let ca = Authority::root("hostile input root");
        let server = ca.leaf(&["localhost"]);
        (ca.certificate.clone(), server)
    })
}

/// A connection in `role` on `backend` that has started its handshake: a client trusting
/// [`identities`] and verifying `localhost`, or a server presenting its identity.
#[must_use]
pub fn started(backend: &Arc<dyn SslBackend>, role: Role, now: Instant) -> Connection {
    let (ca, server) = identities();
    let config: SslConfiguration = match role {
        Role::Client => client_config(ca),
        Role::Server => server.server_config(),
    };
    let mut conn = Connection::new(backend.clone(), config);
    conn.set_peer_verify_name("localhost");
    conn.handle_adopted();
    match role {
        Role::Client => sslsocket::testing::start_client_encryption(&mut conn, now),
        Role::Server => sslsocket::testing::start_server_encryption(&mut conn, now),
    }
    conn
}

/// What became of a connection fed hostile bytes.
#[derive(Debug)]
pub struct Fed {
    /// The handshake completed and the peer was accepted.
    pub encrypted: bool,
    /// The connection's error, if it failed.
    pub error: Option<Error>,
    /// Plaintext it delivered to the application.
    pub plaintext: Vec<u8>,
    /// Input bytes it took before it stopped reading.
    pub consumed: usize,
}

/// Feeds `data` to `conn` as its peer's bytes, in chunks whose sizes `chunk` picks (each at
/// least 1), then end of file. Everything the connection writes is discarded, events are
/// drained, plaintext is read. Bounded: every loop stops after a fixed number of rounds.
pub fn feed(conn: &mut Connection, data: &[u8], chunk: &mut dyn FnMut() -> usize) -> Fed {
    let now = Instant::now();
    let mut offset = 0;
    let mut plaintext = Vec::new();
    let mut eof_sent = false;
    // Each round takes at least one byte or ends; the extra rounds cover the EOF.
    for _ in 0..data.len() + 16 {
        settle(conn, &mut plaintext);
        if !conn.wants_read() {
            break;
        }
        let take = chunk().max(1).min(data.len() - offset);
        let mut piece = &data[offset..offset + take];
        let before = piece.len();
        // Errors end the connection (or are WouldBlock); the loop sees it in wants_read.
        if let Ok(0) = conn.handle_readable(&mut piece, now) {
            eof_sent = true;
        }
        offset += before - piece.len();
        if eof_sent {
            break;
        }
    }
    // The clock runs past any handshake timeout: nothing may wait for ever.
    conn.handle_timeout(now + Duration::from_secs(3600));
    settle(conn, &mut plaintext);
    Fed {
        encrypted: conn.is_encrypted(),
        error: conn.error().cloned(),
        plaintext,
        consumed: offset,
    }
}

/// Writes what the connection has to send (into the void), drains its events, reads its
/// plaintext. Bounded.
fn settle(conn: &mut Connection, plaintext: &mut Vec<u8>) {
    for _ in 0..64 {
        let mut progressed = false;
        if conn.wants_write() && matches!(conn.poll_transmit(&mut io::sink()), Ok(n) if n > 0) {
            progressed = true;
        }
        while conn.poll_event().is_some() {
            progressed = true;
        }
        // The transport steps a close asks for (shut down, close) have nothing to act on.
        match conn.poll_action(sslsocket::conn::Wait::Nothing, None, Instant::now()) {
            sslsocket::conn::Action::ShutdownWrite => conn.handle_write_shutdown(Instant::now()),
            sslsocket::conn::Action::Close => conn.handle_closed(),
            _ => {}
        }
        let mut buf = [0u8; 4096];
        if let Ok(n) = conn.read(&mut buf) {
            plaintext.extend_from_slice(&buf[..n]);
            progressed |= n > 0;
        }
        if !progressed {
            return;
        }
    }
}

/// The `connection_client` fuzz target: [`connection_input`] for a client.
pub fn connection_client(data: &[u8]) {
    connection_input(Role::Client, data);
}

/// The `connection_server` fuzz target: [`connection_input`] for a server.
pub fn connection_server(data: &[u8]) {
    connection_input(Role::Server, data);
}

/// Arbitrary bytes to a connection in `role`: the first byte picks the backend and the
/// chunking, the rest is the peer's bytes.
///
/// # Panics
/// When the bytes complete a handshake or deliver plaintext (they cannot without the peer's
/// keys), or when the connection panics.
pub fn connection_input(role: Role, data: &[u8]) {
    let Some((&selector, input)) = data.split_first() else { return };
    let list = backends();
    let backend = &list[usize::from(selector) % list.len()];
    let mut rng = Rng::new(u64::from(selector));
    let max = 1 + usize::from(selector >> 4) * 97;
    let mut conn = started(backend, role, Instant::now());
    let fed = feed(&mut conn, input, &mut || 1 + rng.below(max));
    // Arbitrary bytes cannot complete a handshake: it needs the peer's private key.
    assert!(
        !fed.encrypted && fed.plaintext.is_empty(),
        "{} {role:?}: arbitrary bytes completed a handshake",
        backend.name()
    );
}

/// The `certificate_parse` fuzz target: DER and PEM parsing, then every getter, and a DER
/// round trip.
pub fn certificate_parse(data: &[u8]) {
    if let Ok(cert) = SslCertificate::from_der(data) {
        exercise_certificate(&cert);
        let again =
            SslCertificate::from_der(cert.to_der()).expect("a parsed certificate re-parses");
        assert_eq!(again, cert);
    }
    if let Ok(certs) = SslCertificate::from_pem(data) {
        for cert in &certs {
            exercise_certificate(cert);
        }
    }
}

fn exercise_certificate(cert: &SslCertificate) {
    let _ = (cert.subject_display(), cert.issuer_display(), cert.serial_number_hex());
    let _ = (cert.version(), cert.effective_date(), cert.expiry_date());
    let _ = (cert.subject_alternative_names().len(), cert.is_ca(), cert.is_self_signed());
    let _ = (cert.sha256_hex(), cert.subject_info("CN"), cert.issuer_info("O"));
    let _ = format!("{cert:?}");
    let pem = cert.to_pem();
    let back = SslCertificate::from_pem(pem.as_bytes()).expect("our own PEM parses");
    assert_eq!(back.first(), Some(cert));
}

/// The `key_parse` fuzz target: every key reader, then the getters and conversions.
pub fn key_parse(data: &[u8]) {
    let mut keys = Vec::new();
    for format in [KeyFormat::Pkcs8, KeyFormat::Pkcs1, KeyFormat::Sec1] {
        keys.extend(SslKey::private_key_from_der(data, format).ok());
    }
    keys.extend(SslKey::public_key_from_der(data).ok());
    keys.extend(SslKey::private_key_from_pem(data).ok());
    keys.extend(SslKey::public_key_from_pem(data).ok());
    for key in keys {
        let _ = (key.algorithm(), key.length(), key.key_type(), key.format(), key.ec_curve());
        let _ = format!("{key:?}");
        let _ = key.public_key();
        let _ = key.to_pem(None);
        let _ = key.to_der().len();
    }
}

/// [`key_parse`] plus the passphrase readers (encrypted PKCS#8, PEM and DER, and legacy PEM
/// encryption). Separate because a key may ask for key-derivation work up to the documented
/// limits (`sslsocket::MAX_PBKDF2_ITERATIONS`, `MAX_SCRYPT_*`); beyond them it is refused
/// before any derivation.
pub fn encrypted_key_parse(data: &[u8]) {
    let _ = SslKey::private_key_from_pem_with_passphrase(data, b"passphrase");
    let _ = SslKey::private_key_from_encrypted_der(data, b"passphrase");
}

/// The `configuration` fuzz target: a configuration built from arbitrary bytes (verify depth
/// and mode, protocol, ALPN names of any length, with or without the identity, a key of
/// another certificate) goes through `SslConfiguration::validate` and the engine context of
/// every backend in both roles. Either a context or a typed `ConfigError`, never a panic;
/// and a configuration `validate` refuses is refused by every backend. Returns whether
/// `validate` accepted it.
///
/// # Panics
/// When a backend builds a context for a configuration `validate` refuses.
pub fn configuration(data: &[u8]) -> bool {
    let (ca, server) = identities();
    let mut bytes = data.iter().copied();
    let mut next = || bytes.next().unwrap_or(0);
    let flags = next();
    let mut config = if flags & 1 == 0 { client_config(ca) } else { server.server_config() };
    let depth = [next(), next(), next(), next()];
    // Mostly small (so the rest gets checked too), sometimes any u32 (past the limit, past
    // OpenSSL's int).
    config.peer_verify_depth =
        if flags & 4 != 0 { u32::from_le_bytes(depth) } else { u32::from(depth[0] % 128) };
    config.peer_verify_mode = match next() % 4 {
        0 => sslsocket::PeerVerifyMode::VerifyNone,
        1 => sslsocket::PeerVerifyMode::QueryPeer,
        2 => sslsocket::PeerVerifyMode::VerifyPeer,
        _ => sslsocket::PeerVerifyMode::AutoVerifyPeer,
    };
    config.protocol = match next() % 6 {
        0 => sslsocket::SslProtocol::TlsV1_2,
        1 => sslsocket::SslProtocol::TlsV1_3,
        2 => sslsocket::SslProtocol::TlsV1_2OrLater,
        3 => sslsocket::SslProtocol::AnyProtocol,
        4 => sslsocket::SslProtocol::UnknownProtocol,
        _ => sslsocket::SslProtocol::SecureProtocols,
    };
    if flags & 2 != 0 {
        // A key of another certificate: a mismatch validate must catch.
        config.private_key = Some(identities_other_key().clone());
    }
    // The rest: ALPN names, each a length byte (scaled up to reach past 255 and past the
    // list limit) and that many bytes of the input, repeated.
    let rest = data.get(8..).unwrap_or(&[]);
    let scale = usize::from(flags >> 4) + 1;
    let mut alpn = Vec::new();
    let mut i = 0;
    while i < rest.len() && alpn.len() < 512 {
        let len = usize::from(rest[i]) * scale / 4;
        let start = (i + 1).min(rest.len());
        let name: Vec<u8> = rest[start..].iter().copied().cycle().take(len).collect();
        alpn.push(if rest.len() > start { name } else { vec![b'x'; len] });
        i += 1 + (len % 7);
    }
    config.alpn_protocols = alpn;
    let valid = config.validate().is_ok();
    for backend in backends() {
        for role in [Role::Client, Role::Server] {
            let built = sslsocket::registry::context_for(&backend, &config, role);
            assert!(
                valid || built.is_err(),
                "{} {role:?}: a context for a configuration validate refuses",
                backend.name()
            );
            if let Err(err) = built {
                let _ = (err.kind(), err.to_string());
            }
        }
    }
    valid
}

/// A private key that belongs to no certificate of [`identities`].
fn identities_other_key() -> &'static SslKey {
    static KEY: OnceLock<SslKey> = OnceLock::new();
    KEY.get_or_init(|| Authority::root("hostile input other").leaf(&["localhost"]).key)
}

/// Both directions of one real handshake on `backend` with a little data each way, as they
/// crossed the wire: (client → server, server → client). Seeds for mutation.
///
/// # Panics
/// When the handshake fails.
#[must_use]
pub fn recorded_handshake(backend: &Arc<dyn SslBackend>) -> (Vec<u8>, Vec<u8>) {
    let (ca, server) = identities();
    let mut p = crate::pair(backend, client_config(ca), server, "localhost");
    crate::start(&mut p);
    p.client.write(b"recorded request").expect("queued");
    p.server.write(b"recorded response").expect("queued");
    p.drive_until(10_000, |p| p.client.bytes_available() > 0 && p.server.bytes_available() > 0)
        .expect("a recorded handshake");
    (p.to_server.wire.clone(), p.to_client.wire.clone())
}

/// Well-formed inputs for the parsers: a CA certificate (DER, PEM), an EC key (PKCS#8 DER,
/// PEM) and an RSA key (PKCS#8 DER).
#[must_use]
pub fn parser_seeds() -> Vec<Vec<u8>> {
    let (ca, server) = identities();
    let rsa = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).ok();
    [
        Some(ca.to_der().to_vec()),
        Some(ca.to_pem().into_bytes()),
        Some(server.key.to_der().to_vec()),
        Some(server.key_pem.clone().into_bytes()),
        rsa.map(|k| k.serialize_der()),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Changes `input` in one to three places: a flipped byte, a truncation, or inserted junk.
pub fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(3) {
        match rng.below(3) {
            0 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] ^= (1 + rng.below(255)) as u8;
            }
            1 => input.truncate(rng.below(input.len() + 1)),
            _ => {
                let i = rng.below(input.len() + 1);
                let n = 1 + rng.below(8);
                let junk = rng.bytes(n);
                input.splice(i..i, junk);
            }
        }
    }
}
