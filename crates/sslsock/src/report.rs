//! What a connection looked like: the JSON object of `connect --json` / `serve --json` (field
//! order and names are fixed by the issue), and the human renderings (aligned tables, colour
//! only on a terminal).

use std::io::IsTerminal;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sha2::{Digest, Sha256};
use sslsocket::conn::error_chain;
use sslsocket::{Error, Feature, SslBackend, SslCertificate, SslError, SslProtocol, SslSocket};

use crate::cli::IgnoreSpec;

/// One connection, client or server side.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionReport {
    pub backend: String,
    pub library_version: String,
    pub encrypted: bool,
    pub mode: String,
    pub protocol: Option<String>,
    pub cipher: Option<CipherInfo>,
    pub alpn: Option<String>,
    /// The proxy the client went through, as a URL without the password (null: direct).
    pub proxy: Option<String>,
    pub peer_certificate_chain: Vec<CertInfo>,
    pub ssl_errors: Vec<SslErrorInfo>,
    pub ignored_errors: Vec<SslErrorInfo>,
    /// At most [`RECEIVED_PREFIX`] bytes of what arrived (lossy UTF-8).
    pub received: Option<String>,
    /// Whether more arrived than `received` shows.
    pub received_truncated: bool,
    pub received_bytes: u64,
    /// The SHA-256 of everything that arrived, computed as it arrived.
    pub received_sha256: Option<String>,
    /// The TCP connection's local address (`ADDR:PORT`), once connected.
    pub local_address: Option<String>,
    /// The peer's address (`ADDR:PORT`), once connected.
    pub peer_address: Option<String>,
    pub error: Option<ErrorInfo>,
}

/// The most bytes of what a peer sent a report keeps for `received`: 64 KiB. The count and the
/// SHA-256 cover everything; a peer sending a gigabyte costs the report no more than this.
pub const RECEIVED_PREFIX: usize = 64 * 1024;

/// What a peer sent, taken in as it arrives: counted, hashed, and kept up to
/// [`RECEIVED_PREFIX`] bytes.
#[derive(Debug, Clone, Default)]
pub struct Received {
    prefix: Vec<u8>,
    bytes: u64,
    sha256: Sha256,
}

impl Received {
    /// Nothing yet.
    #[must_use]
    pub fn new() -> Received {
        Received::default()
    }

    /// Takes in `data`, the next bytes that arrived.
    pub fn push(&mut self, data: &[u8]) {
        self.bytes += data.len() as u64;
        self.sha256.update(data);
        let room = RECEIVED_PREFIX.saturating_sub(self.prefix.len());
        self.prefix.extend_from_slice(&data[..room.min(data.len())]);
    }
}

/// The negotiated cipher suite.
#[derive(Debug, Clone, Serialize)]
pub struct CipherInfo {
    pub name: String,
    pub protocol: String,
    pub used_bits: u32,
    pub supported_bits: u32,
}

/// One certificate of the peer's chain.
#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    pub sha256: String,
}

/// One certificate verification error.
#[derive(Debug, Clone, Serialize)]
pub struct SslErrorInfo {
    pub kind: String,
    pub certificate_sha256: Option<String>,
}

/// Why the connection failed.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorInfo {
    pub kind: String,
    pub message: String,
}

impl ConnectionReport {
    /// A report of nothing yet: not encrypted, no session, no error.
    #[must_use]
    pub fn new(backend: &dyn SslBackend) -> ConnectionReport {
        let mut report = ConnectionReport::for_name(backend.name());
        report.library_version = backend.library_version_string();
        report
    }

    /// A report for a backend known only by name (not compiled in, or unusable).
    #[must_use]
    pub fn for_name(name: &str) -> ConnectionReport {
        ConnectionReport {
            backend: name.to_owned(),
            library_version: String::new(),
            encrypted: false,
            mode: "UnencryptedMode".to_owned(),
            protocol: None,
            cipher: None,
            alpn: None,
            proxy: None,
            peer_certificate_chain: Vec::new(),
            ssl_errors: Vec::new(),
            ignored_errors: Vec::new(),
            received: None,
            received_truncated: false,
            received_bytes: 0,
            received_sha256: None,
            local_address: None,
            peer_address: None,
            error: None,
        }
    }

    /// Records what `socket` knows of its session: mode, protocol, cipher, ALPN, the peer's
    /// chain and every verification error (`ignored_errors`: those `ignore` covers).
    pub fn record_session(&mut self, socket: &SslSocket, ignore: Option<&IgnoreSpec>) {
        let features = socket.connection().backend().features();
        // The handshake completed, even if the peer has closed since (it may have sent its
        // data and close_notify right behind its Finished).
        self.encrypted = socket.connection().was_encrypted();
        self.mode = format!("{:?}", socket.mode());
        self.protocol = match socket.session_protocol() {
            SslProtocol::UnknownProtocol => None,
            _ if !features.contains(Feature::SessionProtocol) => None,
            p => Some(p.name().to_owned()),
        };
        self.cipher = socket.session_cipher().map(|c| CipherInfo {
            name: c.name,
            protocol: c.protocol.name().to_owned(),
            used_bits: c.used_bits,
            supported_bits: c.supported_bits,
        });
        self.alpn = socket.alpn_protocol().map(|p| String::from_utf8_lossy(&p).into_owned());
        self.peer_certificate_chain =
            socket.peer_certificate_chain().iter().map(cert_info).collect();
        self.local_address = socket.local_address().map(|a| a.to_string());
        self.peer_address = socket.peer_address().map(|a| a.to_string());
        self.record_ssl_errors(socket.ssl_handshake_errors(), ignore);
    }

    /// Records the verification errors of a handshake.
    pub fn record_ssl_errors(&mut self, errors: &[SslError], ignore: Option<&IgnoreSpec>) {
        self.ssl_errors = errors.iter().map(ssl_error_info).collect();
        self.ignored_errors = errors
            .iter()
            .filter(|e| ignore.is_some_and(|i| i.covers(e.kind)))
            .map(ssl_error_info)
            .collect();
    }

    /// Records what arrived (`null`, false, 0, `null` when nothing did): its first
    /// [`RECEIVED_PREFIX`] bytes, whether there was more, its length and SHA-256.
    pub fn set_received(&mut self, received: &Received) {
        self.received_bytes = received.bytes;
        self.received_truncated = received.bytes > received.prefix.len() as u64;
        if received.bytes == 0 {
            self.received = None;
            self.received_sha256 = None;
        } else {
            self.received = Some(String::from_utf8_lossy(&received.prefix).into_owned());
            self.received_sha256 = Some(hex(&received.sha256.clone().finalize()));
        }
    }

    /// Records the library error that ended the connection.
    pub fn set_error(&mut self, err: &Error) {
        self.fail(&format!("{:?}", err.kind()), &error_chain(err));
    }

    /// Records a failure with a socket error kind name and a message. `encrypted` keeps what
    /// the handshake achieved (an error after it, such as a truncation, leaves it true).
    pub fn fail(&mut self, kind: &str, message: &str) {
        self.error = Some(ErrorInfo { kind: kind.to_owned(), message: message.to_owned() });
    }

    /// The exit status this connection stands for: 0 when encrypted without error, else 1.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        u8::from(self.error.is_some() || !self.encrypted)
    }

    /// One JSON line.
    #[must_use]
    pub fn to_json_line(&self) -> String {
        // Serialising plain strings, numbers and vectors cannot fail; fall back to a
        // hand-written object naming the problem rather than panic.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The human rendering: one aligned `field  value` line each.
    #[must_use]
    pub fn to_human(&self, colour: bool) -> String {
        let mut t = Table::new(&["", ""]).without_header();
        let backend = format!("{} ({})", self.backend, self.library_version);
        t.row(vec![Cell::plain("backend"), Cell::plain(backend)]);
        let verdict = match (&self.error, self.encrypted) {
            (None, true) => Cell::good("encrypted"),
            (Some(e), _) => Cell::bad(format!("FAILED {}: {}", e.kind, e.message)),
            (None, false) => Cell::bad("not encrypted"),
        };
        t.row(vec![Cell::plain("result"), verdict]);
        t.row(vec![Cell::plain("mode"), Cell::plain(&self.mode)]);
        t.row(vec![Cell::plain("protocol"), Cell::plain(or_dash(self.protocol.as_deref()))]);
        let cipher = self.cipher.as_ref().map(|c| format!("{} ({} bits)", c.name, c.used_bits));
        t.row(vec![Cell::plain("cipher"), Cell::plain(or_dash(cipher.as_deref()))]);
        t.row(vec![Cell::plain("alpn"), Cell::plain(or_dash(self.alpn.as_deref()))]);
        if let Some(proxy) = &self.proxy {
            t.row(vec![Cell::plain("proxy"), Cell::plain(proxy)]);
        }
        for (i, c) in self.peer_certificate_chain.iter().enumerate() {
            let label = if i == 0 { "peer chain" } else { "" };
            let text = format!("{i} {}  (issuer {}, until {})", c.subject, c.issuer, c.not_after);
            t.row(vec![Cell::plain(label), Cell::plain(text)]);
        }
        let errors: Vec<String> = self
            .ssl_errors
            .iter()
            .map(|e| {
                let ignored = self.ignored_errors.iter().any(|i| i.kind == e.kind);
                if ignored {
                    format!("{} (ignored)", e.kind)
                } else {
                    e.kind.clone()
                }
            })
            .collect();
        let errors_cell = if errors.is_empty() {
            Cell::plain("none")
        } else if self.ignored_errors.len() == self.ssl_errors.len() {
            Cell::plain(errors.join(", "))
        } else {
            Cell::bad(errors.join(", "))
        };
        t.row(vec![Cell::plain("ssl errors"), errors_cell]);
        let received = match &self.received {
            Some(text) if self.received_truncated => {
                format!("{} bytes, the first {RECEIVED_PREFIX}: {text:?}", self.received_bytes)
            }
            Some(text) => format!("{} bytes: {text:?}", self.received_bytes),
            None => "nothing".to_owned(),
        };
        t.row(vec![Cell::plain("received"), Cell::plain(received)]);
        t.render(colour)
    }
}

/// Whether stdout gets colour: a terminal, and `NO_COLOR` unset.
#[must_use]
pub fn colour_enabled() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// The JSON view of a certificate.
#[must_use]
pub fn cert_info(cert: &SslCertificate) -> CertInfo {
    CertInfo {
        subject: cert.subject_display(),
        issuer: cert.issuer_display(),
        serial: cert.serial_number_hex(),
        not_before: rfc3339(cert.effective_date()),
        not_after: rfc3339(cert.expiry_date()),
        sha256: cert.sha256_hex(),
    }
}

fn ssl_error_info(error: &SslError) -> SslErrorInfo {
    SslErrorInfo {
        kind: error.kind.name().to_owned(),
        certificate_sha256: error.certificate.as_ref().map(SslCertificate::sha256_hex),
    }
}

/// Lowercase hex.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `t` as RFC 3339 UTC (`2026-11-02T10:00:00Z`), to the second.
#[must_use]
pub fn rfc3339(t: SystemTime) -> String {
    let secs: i64 = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn or_dash(value: Option<&str>) -> &str {
    value.unwrap_or("-")
}

// ---- tables -----------------------------------------------------------------------------

/// How a cell is shown on a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Good,
    Bad,
}

/// One table cell.
#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    pub style: Style,
}

/// Every cell's text is escaped for the terminal ([`crate::escape::for_terminal`]): a table
/// shows what a peer chose (certificate subjects, ALPN, error messages), and nothing it sends
/// may reach the terminal as a control sequence.
impl Cell {
    pub fn plain(text: impl Into<String>) -> Cell {
        Cell::styled(text.into(), Style::Plain)
    }
    pub fn good(text: impl Into<String>) -> Cell {
        Cell::styled(text.into(), Style::Good)
    }
    pub fn bad(text: impl Into<String>) -> Cell {
        Cell::styled(text.into(), Style::Bad)
    }
    fn styled(text: String, style: Style) -> Cell {
        Cell { text: crate::escape::for_terminal(&text), style }
    }
}

/// An aligned text table.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<Cell>>,
    show_header: bool,
}

impl Table {
    #[must_use]
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
            show_header: true,
        }
    }

    #[must_use]
    pub fn without_header(mut self) -> Table {
        self.show_header = false;
        self
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    /// The table, columns padded to their widest cell, two spaces apart.
    #[must_use]
    pub fn render(&self, colour: bool) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.text.chars().count());
            }
        }
        let mut out = String::new();
        if self.show_header {
            let header: Vec<Cell> = self.headers.iter().map(Cell::plain).collect();
            push_line(&mut out, &header, &widths, colour, true);
        }
        for row in &self.rows {
            push_line(&mut out, row, &widths, colour, false);
        }
        out
    }
}

fn push_line(out: &mut String, cells: &[Cell], widths: &[usize], colour: bool, bold: bool) {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        let last = i + 1 == cells.len();
        let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(cell.text.chars().count());
        let code = match (colour, bold, cell.style) {
            (false, _, _) => None,
            (true, true, _) => Some("1"),
            (true, false, Style::Good) => Some("32"),
            (true, false, Style::Bad) => Some("31"),
            (true, false, Style::Plain) => None,
        };
        match code {
            Some(code) => line.push_str(&format!("\x1b[{code}m{}\x1b[0m", cell.text)),
            None => line.push_str(&cell.text),
        }
        if !last {
            line.push_str(&" ".repeat(pad + 2));
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_rfc3339_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(rfc3339(UNIX_EPOCH - Duration::from_secs(86_400)), "1969-12-31T00:00:00Z");
    }

    #[test]
    fn tables_align_columns_and_colour_only_when_asked() {
        let mut t = Table::new(&["a", "bb"]);
        t.row(vec![Cell::plain("xxx"), Cell::good("y")]);
        assert_eq!(t.render(false), "a    bb\nxxx  y\n");
        assert!(t.render(true).contains("\x1b[32my\x1b[0m"));
    }

    #[test]
    fn received_bytes_are_counted_and_hashed() {
        let mut r = ConnectionReport::for_name("x");
        let mut received = Received::new();
        received.push(b"h");
        received.push(b"i\n");
        r.set_received(&received);
        assert_eq!(r.received.as_deref(), Some("hi\n"));
        assert_eq!((r.received_bytes, r.received_truncated), (3, false));
        assert_eq!(r.received_sha256, Some(hex(&Sha256::digest(b"hi\n"))));
        r.set_received(&Received::new());
        assert_eq!(
            (r.received.as_deref(), r.received_bytes, r.received_sha256.as_deref()),
            (None, 0, None)
        );
    }

    #[test]
    fn only_a_prefix_of_what_arrived_is_kept_and_the_hash_covers_everything() {
        let chunk = vec![b'a'; 10_000];
        let mut received = Received::new();
        let mut all = Vec::new();
        for _ in 0..100 {
            received.push(&chunk);
            all.extend_from_slice(&chunk);
        }
        let mut r = ConnectionReport::for_name("x");
        r.set_received(&received);
        assert_eq!(r.received.as_ref().map(String::len), Some(RECEIVED_PREFIX));
        assert_eq!((r.received_bytes, r.received_truncated), (1_000_000, true));
        assert_eq!(r.received_sha256, Some(hex(&Sha256::digest(&all))));
    }
}
