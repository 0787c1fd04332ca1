//! `connect`: one TLS client connection (optionally after STARTTLS), the payload sent, what
//! comes back read until the peer closes or goes quiet; and the same as a function for
//! `probe` and `demo`.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Instant;

use ssl_api::Role;
use sslsocket::{
    BindMode, Error, NetworkLayerProtocol, NetworkProxy, SocketOption, SslBackend, SslSocket,
};

use crate::cli::{ConnectArgs, NetArgs, Target};
use crate::options::{self, Outgoing, Problem, Settings};
use crate::report::{colour_enabled, ConnectionReport, Received};
use crate::starttls::{self, io_to_error, left};

/// Runs `connect`; returns the exit status.
///
/// # Errors
/// `Problem::Usage` for a malformed command line.
pub fn run(args: &ConnectArgs) -> Result<u8, Problem> {
    let name = args.backend.as_deref();
    let prepared = options::client_settings(&args.tls, &args.client)
        .map(|settings| Settings { net: args.net.clone(), ..settings })
        .and_then(|settings| Ok((settings, options::payload(&args.client)?)))
        .and_then(|(settings, payload)| {
            let target =
                Target { host: options::to_ascii_host(&args.target.host)?, ..args.target.clone() };
            Ok((settings, payload, target))
        });
    let report = match prepared {
        Err(Problem::Usage(message)) => return Err(Problem::Usage(message)),
        Err(Problem::Refused(err)) => failed_before_start(name, &err),
        Ok((settings, payload, target)) => match options::resolve_backend(name) {
            Ok(backend) => connect_once(&backend, &target, &settings, &payload),
            Err(err) => failed_before_start(name, &err),
        },
    };
    print_report(&report, args.tls.json);
    Ok(report.exit_code())
}

/// A report for a connection that could not even be attempted.
#[must_use]
pub fn failed_before_start(name: Option<&str>, err: &Error) -> ConnectionReport {
    let mut report = match options::resolve_backend(name) {
        Ok(backend) => ConnectionReport::new(backend.as_ref()),
        Err(_) => ConnectionReport::for_name(name.unwrap_or("none")),
    };
    report.set_error(err);
    report
}

/// Prints one report, as JSON or as a table.
pub fn print_report(report: &ConnectionReport, json: bool) {
    let text = if json {
        format!("{}\n", report.to_json_line())
    } else {
        report.to_human(colour_enabled())
    };
    let mut out = io::stdout().lock();
    // A closed stdout (a pipe whose reader left) is not worth a panic or another error.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// One client connection to `target` on `backend`: configuration check (before any byte),
/// connect + handshake within `settings.timeout`, `payload` sent, the answer read until the
/// peer closes or `settings.read_timeout` passes without data, then a graceful close.
#[must_use]
pub fn connect_once(
    backend: &Arc<dyn SslBackend>,
    target: &Target,
    settings: &Settings,
    payload: &Outgoing,
) -> ConnectionReport {
    let mut report = ConnectionReport::new(backend.as_ref());
    if let Err(err) = options::check(backend, settings, Role::Client) {
        report.set_error(&err);
        return report;
    }
    let mut socket = SslSocket::with_backend_handle(Arc::clone(backend));
    options::apply(&mut socket, settings);
    let proxy = settings.proxy.clone().unwrap_or_else(|| NetworkProxy::from_env(&target.host));
    socket.set_proxy(proxy);
    if let Err(err) = apply_net(&mut socket, &settings.net) {
        report.set_error(&err);
        return report;
    }
    let deadline = Instant::now() + settings.timeout;
    let handshake = match settings.starttls {
        None => {
            socket.connect_to_host_encrypted(&target.host, target.port);
            socket.wait_for_encrypted(settings.timeout).map_err(starttls::Failure::Socket)
        }
        Some(proto) => starttls::client(&mut socket, proto, &target.host, target.port, deadline)
            .and_then(|()| {
                socket.start_client_encryption();
                Ok(socket.wait_for_encrypted(left(deadline))?)
            }),
    };
    report.record_session(&socket, settings.ignore.as_ref());
    report.proxy = socket.connect_proxy().and_then(NetworkProxy::url);
    match handshake {
        Ok(()) => {}
        Err(starttls::Failure::Socket(err)) => {
            report.set_error(&err);
            socket.abort();
            return report;
        }
        Err(starttls::Failure::Protocol(message)) => {
            report.fail("SslHandshakeFailedError", &format!("starttls: {message}"));
            socket.abort();
            return report;
        }
    }
    let (received, error) = exchange(&mut socket, settings, payload);
    report.set_received(&received);
    if let Some(err) = error {
        report.set_error(&err);
        socket.abort();
    } else {
        socket.disconnect_from_host();
        let _ = socket.wait_for_disconnected(settings.read_timeout);
    }
    report
}

/// `--bind`, `-4` / `-6`, `--keepalive`, `--no-delay` on the socket, before its connect.
fn apply_net(socket: &mut SslSocket, net: &NetArgs) -> Result<(), Error> {
    if net.ipv4 {
        socket.set_network_layer_protocol(NetworkLayerProtocol::IPv4Protocol);
    } else if net.ipv6 {
        socket.set_network_layer_protocol(NetworkLayerProtocol::IPv6Protocol);
    }
    if net.keepalive {
        socket.set_socket_option(SocketOption::KeepAlive, 1)?;
    }
    if let Some(no_delay) = net.no_delay {
        socket.set_socket_option(SocketOption::LowDelay, u32::from(no_delay))?;
    }
    if let Some(address) = net.bind {
        socket.bind(address, BindMode::DEFAULT_FOR_PLATFORM)?;
    }
    Ok(())
}

/// Sends `payload`, then reads until the peer closes or `read_timeout` passes with nothing
/// new. A read timeout is not an error; a write timeout is (`SocketTimeoutError`). What
/// arrives is counted and hashed as it arrives, never kept whole ([`Received`]).
fn exchange(
    socket: &mut SslSocket,
    settings: &Settings,
    payload: &Outgoing,
) -> (Received, Option<Error>) {
    let mut received = Received::new();
    if !payload.is_empty() {
        socket.set_write_timeout(Some(settings.timeout));
        let source = match payload.open() {
            Ok(source) => source,
            Err(err) => return (received, Some(err)),
        };
        let sent = match (payload, source) {
            (Outgoing::Bytes(bytes), _) => socket.write_all(bytes).map_err(Sending::Write),
            (_, Some(mut source)) => stream(socket, &mut *source),
            (_, None) => Ok(()),
        };
        if let Err(Sending::Read(e)) = sent {
            return (received, Some(Error::io(e)));
        }
        if let Err(Sending::Write(e)) = sent {
            // The peer may have closed first (a server that says its piece and goes): what it
            // sent is still worth reporting.
            let err = write_error(socket, &e);
            received.push(&socket.read_all());
            return (received, Some(err));
        }
        // A peer that answers and closes gracefully while `flush` is still driving leaves the
        // socket unconnected without an error, and `flush` reports OperationError although
        // every byte went out: that is a success, and the answer is in the read buffer.
        if let Err(e) = socket.flush() {
            if e.kind() == io::ErrorKind::TimedOut
                || socket.error().is_some()
                || socket.bytes_to_write() > 0
            {
                let err = if e.kind() == io::ErrorKind::TimedOut {
                    write_error(socket, &e)
                } else {
                    io_to_error(&e)
                };
                received.push(&socket.read_all());
                return (received, Some(err));
            }
        }
    }
    socket.set_read_timeout(Some(settings.read_timeout));
    let mut buf = [0u8; 16 * 1024];
    loop {
        match socket.read(&mut buf) {
            Ok(0) => return (received, None),
            Ok(n) => received.push(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return (received, None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (received, Some(io_to_error(&e))),
        }
    }
}

/// Why sending a streamed payload stopped.
enum Sending {
    /// Reading the file or stdin failed.
    Read(io::Error),
    /// Writing to the socket failed.
    Write(io::Error),
}

/// Copies `source` to `socket` in 64 KiB chunks, each written before the next is read: a
/// file of any size costs one chunk of memory, and a peer that reads slowly slows the copy.
fn stream(socket: &mut SslSocket, source: &mut dyn Read) -> Result<(), Sending> {
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match source.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Sending::Read(e)),
        };
        socket.write_all(&chunk[..n]).map_err(Sending::Write)?;
    }
}

/// The error a failed write stands for: a timeout is `SocketTimeoutError` (whatever the
/// socket's state says), a write refused with no socket error means the peer closed first.
pub fn write_error(socket: &SslSocket, err: &io::Error) -> Error {
    if err.kind() == io::ErrorKind::TimedOut {
        return match Error::from_io_ref(err) {
            Some(inner @ Error::Timeout { .. }) => inner.clone(),
            _ => Error::Timeout { operation: "write" },
        };
    }
    if socket.error().is_none() {
        Error::RemoteClosed
    } else {
        io_to_error(err)
    }
}
