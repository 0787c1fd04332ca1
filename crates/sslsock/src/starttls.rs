//! The plaintext exchanges before TLS: SMTP (RFC 3207), IMAP and POP3 (RFC 2595), as client
//! and as a minimal server that answers `openssl s_client -starttls …`.

use std::io::Write;
use std::time::{Duration, Instant};

use sslsocket::{Error, SslSocket};

use crate::cli::StartTls;

/// Why a STARTTLS exchange failed.
#[derive(Debug)]
pub enum Failure {
    /// The socket failed (connect, read, write, timeout).
    Socket(Error),
    /// The peer spoke, but not as expected.
    Protocol(String),
}

impl From<Error> for Failure {
    fn from(err: Error) -> Failure {
        Failure::Socket(err)
    }
}

/// Connects in plain TCP and runs the client side of `proto` up to the point where TLS
/// starts (the caller then calls `start_client_encryption`).
///
/// # Errors
/// The socket's error, or `Protocol` when the server does not offer or refuses STARTTLS.
pub fn client(
    socket: &mut SslSocket,
    proto: StartTls,
    host: &str,
    port: u16,
    deadline: Instant,
) -> Result<(), Failure> {
    socket.connect_to_host(host, port);
    socket.wait_for_connected(left(deadline))?;
    let mut line = Lines { socket, deadline };
    match proto {
        StartTls::Smtp => {
            line.expect_reply("greeting", "220")?;
            line.send(b"EHLO sslsock.invalid\r\n")?;
            let ehlo = line.expect_reply("EHLO", "250")?;
            if !ehlo.iter().any(|l| l.get(4..).is_some_and(|k| k.eq_ignore_ascii_case("STARTTLS")))
            {
                return Err(Failure::Protocol("the SMTP server does not offer STARTTLS".into()));
            }
            line.send(b"STARTTLS\r\n")?;
            line.expect_reply("STARTTLS", "220")?;
        }
        StartTls::Imap => {
            line.expect_prefix("greeting", "* OK")?;
            line.send(b"a001 STARTTLS\r\n")?;
            loop {
                let l = line.next()?;
                if l.starts_with("a001 ") {
                    if l.starts_with("a001 OK") {
                        break;
                    }
                    return Err(Failure::Protocol(format!("IMAP server refused STARTTLS: {l}")));
                }
            }
        }
        StartTls::Pop3 => {
            line.expect_prefix("greeting", "+OK")?;
            line.send(b"STLS\r\n")?;
            line.expect_prefix("STLS", "+OK")?;
        }
    }
    Ok(())
}

/// Runs the server side of `proto` on an adopted, unencrypted socket until the client asks
/// for TLS; answers it (the caller then calls `start_server_encryption`).
///
/// # Errors
/// The socket's error, or `Protocol` when the client quits or never asks for TLS.
pub fn server(socket: &mut SslSocket, proto: StartTls, deadline: Instant) -> Result<(), Failure> {
    let mut line = Lines { socket, deadline };
    match proto {
        StartTls::Smtp => line.send(b"220 sslsock ESMTP ready\r\n")?,
        StartTls::Imap => line.send(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] sslsock ready\r\n")?,
        StartTls::Pop3 => line.send(b"+OK sslsock ready\r\n")?,
    }
    loop {
        let request = line.next()?;
        let mut words = request.split_whitespace();
        let (tag, verb) = match proto {
            StartTls::Imap => (words.next().unwrap_or("*"), words.next().unwrap_or("")),
            _ => ("", words.next().unwrap_or("")),
        };
        let verb = verb.to_ascii_uppercase();
        let answer: String = match (proto, verb.as_str()) {
            (StartTls::Smtp, "EHLO") => "250-sslsock\r\n250 STARTTLS\r\n".into(),
            (StartTls::Smtp, "HELO") => "250 sslsock\r\n".into(),
            (StartTls::Smtp, "STARTTLS") => "220 Ready to start TLS\r\n".into(),
            (StartTls::Smtp, "QUIT") => "221 Bye\r\n".into(),
            (StartTls::Smtp, _) => "530 Must issue a STARTTLS command first\r\n".into(),
            (StartTls::Imap, "CAPABILITY") => {
                format!("* CAPABILITY IMAP4rev1 STARTTLS\r\n{tag} OK CAPABILITY completed\r\n")
            }
            (StartTls::Imap, "STARTTLS") => format!("{tag} OK Begin TLS negotiation now\r\n"),
            (StartTls::Imap, "LOGOUT") => format!("* BYE\r\n{tag} OK LOGOUT completed\r\n"),
            (StartTls::Imap, _) => format!("{tag} BAD STARTTLS first\r\n"),
            (StartTls::Pop3, "CAPA") => "+OK\r\nSTLS\r\n.\r\n".into(),
            (StartTls::Pop3, "STLS") => "+OK Begin TLS negotiation\r\n".into(),
            (StartTls::Pop3, "QUIT") => "+OK Bye\r\n".into(),
            (StartTls::Pop3, _) => "-ERR STLS first\r\n".into(),
        };
        line.send(answer.as_bytes())?;
        match verb.as_str() {
            "STARTTLS" | "STLS" => return Ok(()),
            "QUIT" | "LOGOUT" => {
                return Err(Failure::Protocol("the client quit before STARTTLS".into()))
            }
            _ => {}
        }
    }
}

/// Line-wise reading and writing on an unencrypted socket, bounded by one deadline.
struct Lines<'a> {
    socket: &'a mut SslSocket,
    deadline: Instant,
}

/// The longest line accepted from the peer.
const MAX_LINE: usize = 8192;

impl Lines<'_> {
    fn send(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.socket.set_write_timeout(Some(left(self.deadline)));
        let written = self.socket.write_all(bytes).and_then(|()| self.socket.flush());
        written.map_err(|e| Failure::Socket(io_to_error(&e)))
    }

    /// The next line, without its line end.
    fn next(&mut self) -> Result<String, Failure> {
        while !self.socket.can_read_line() {
            if self.socket.bytes_available() > MAX_LINE {
                return Err(Failure::Protocol("the peer sent an over-long line".into()));
            }
            if self.socket.at_end() {
                return Err(Failure::Socket(Error::RemoteClosed));
            }
            self.socket.wait_for_ready_read(left(self.deadline))?;
        }
        let line = self.socket.read_line().unwrap_or_default();
        Ok(String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_owned())
    }

    /// A multi-line SMTP reply (`CODE-…` lines, then `CODE …`) whose code is `code`.
    fn expect_reply(&mut self, what: &str, code: &str) -> Result<Vec<String>, Failure> {
        let mut lines = Vec::new();
        loop {
            let l = self.next()?;
            let last = l.as_bytes().get(3) != Some(&b'-');
            if !l.starts_with(code) {
                return Err(Failure::Protocol(format!("unexpected {what} reply: {l}")));
            }
            lines.push(l);
            if last {
                return Ok(lines);
            }
        }
    }

    fn expect_prefix(&mut self, what: &str, prefix: &str) -> Result<String, Failure> {
        let l = self.next()?;
        if l.starts_with(prefix) {
            Ok(l)
        } else {
            Err(Failure::Protocol(format!("unexpected {what} reply: {l}")))
        }
    }
}

/// The time left until `deadline` (zero once passed).
#[must_use]
pub fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// The library error inside an `io::Error` from the socket, or one made from it.
#[must_use]
pub fn io_to_error(err: &std::io::Error) -> Error {
    match Error::from_io_ref(err) {
        Some(inner) => inner.clone(),
        None => Error::io(std::io::Error::new(err.kind(), err.to_string())),
    }
}
