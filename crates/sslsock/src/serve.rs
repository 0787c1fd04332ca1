//! `serve`: a TLS server like `openssl s_server`. Prints `listening on ADDR:PORT` once ready,
//! serves each connection on its own thread, and reports each one when it ends.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ssl_api::Role;
use sslsocket::accept::{AcceptError, Backoff};
use sslsocket::{Accepted, Error, SslBackend, SslServer, SslSocket};

use crate::cli::ServeArgs;
use crate::connect::{failed_before_start, print_report, write_error};
use crate::options::{self, Problem, Settings};
use crate::report::{colour_enabled, Cell, ConnectionReport, Received, Table};
use crate::starttls::{self, io_to_error, left};

/// What the server does with each connection.
#[derive(Debug, Clone)]
struct Behaviour {
    settings: Settings,
    echo: bool,
    reply: Option<Vec<u8>>,
    json: bool,
    /// `--max-connections`.
    max_connections: usize,
}

/// Runs `serve`; returns the exit status (only `--once` or a failure ever returns).
///
/// # Errors
/// `Problem::Usage` for a malformed command line.
pub fn run(args: &ServeArgs) -> Result<u8, Problem> {
    let name = args.backend.as_deref();
    let json = args.tls.json;
    let settings = match options::server_settings(&args.tls) {
        Ok(settings) => settings,
        Err(Problem::Usage(message)) => return Err(Problem::Usage(message)),
        Err(Problem::Refused(err)) => return Ok(refuse(name, &err, json)),
    };
    let backend = match options::resolve_backend(name) {
        Ok(backend) => backend,
        Err(err) => return Ok(refuse(name, &err, json)),
    };
    if let Err(err) = options::check(&backend, &settings, Role::Server) {
        return Ok(refuse(name, &err, json));
    }
    let behaviour = Arc::new(Behaviour {
        settings,
        echo: args.echo,
        reply: args.reply.as_ref().map(|r| r.0.clone()),
        json,
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
    });
    let addr = (args.target.host.as_str(), args.target.port);
    if behaviour.settings.starttls.is_some() {
        let listener = match TcpListener::bind(addr) {
            Ok(listener) => listener,
            Err(e) => return Ok(refuse(name, &Error::io(e), json)),
        };
        serve_starttls(&listener, &backend, &behaviour, args.once)
    } else {
        serve_tls(&backend, &behaviour, addr, args.once)
    }
}

/// Reports a server that cannot start (exit 1, before `listening on`).
fn refuse(name: Option<&str>, err: &Error, json: bool) -> u8 {
    let report = failed_before_start(name, err);
    if json {
        print_report(&report, true);
    } else if let Some(e) = &report.error {
        let message = crate::escape::for_terminal(&e.message);
        eprintln!("sslsock serve: {} ({}): {message}", report.backend, e.kind);
    }
    1
}

fn announce(addr: Option<SocketAddr>) {
    let shown = addr.map_or_else(|| "?".to_owned(), |a| a.to_string());
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "listening on {shown}").and_then(|()| out.flush());
}

fn serve_tls(
    backend: &Arc<dyn SslBackend>,
    behaviour: &Arc<Behaviour>,
    addr: (&str, u16),
    once: bool,
) -> Result<u8, Problem> {
    let mut server = SslServer::with_backend_handle(Arc::clone(backend));
    server.set_ssl_configuration(behaviour.settings.config.clone());
    server.set_handshake_timeout(behaviour.settings.timeout);
    let ignore = behaviour.settings.ignore.clone();
    server.set_socket_setup(move |socket| options::apply_ignore(socket, ignore.as_ref()));
    if let Err(err) = server.listen(addr) {
        return Ok(refuse(Some(backend.name()), &err, behaviour.json));
    }
    announce(server.local_address());
    let live = Live::new(behaviour.max_connections);
    loop {
        let outcome = match server.accept_next(None) {
            Ok(outcome) => outcome,
            Err(err) => return Ok(refuse(Some(backend.name()), &err, behaviour.json)),
        };
        match outcome {
            Accepted::Encrypted(socket) => {
                if once {
                    return Ok(serve_connection(*socket, behaviour));
                }
                let behaviour = Arc::clone(behaviour);
                live.spawn(socket.peer_address(), move || {
                    serve_connection(*socket, &behaviour);
                });
            }
            Accepted::Failed(failure) => {
                let mut report = ConnectionReport::new(backend.as_ref());
                report.mode = "SslServerMode".to_owned();
                report.record_ssl_errors(&failure.ssl_errors, behaviour.settings.ignore.as_ref());
                report.set_error(&failure.error);
                print_connection(&report, Some(failure.peer), behaviour.json);
                if once {
                    return Ok(1);
                }
            }
        }
    }
}

fn serve_starttls(
    listener: &TcpListener,
    backend: &Arc<dyn SslBackend>,
    behaviour: &Arc<Behaviour>,
    once: bool,
) -> Result<u8, Problem> {
    announce(listener.local_addr().ok());
    let mut backoff = Backoff::new();
    let live = Live::new(behaviour.max_connections);
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => {
                backoff.reset();
                stream
            }
            // The library's servers' policy: out of descriptors or memory, the connection
            // waits in the backlog and the server tries again; only a broken listener stops.
            Err(e) => match AcceptError::classify(&e) {
                AcceptError::ClientGone => continue,
                AcceptError::ListenerFailed => {
                    return Ok(refuse(Some(backend.name()), &Error::io(e), behaviour.json))
                }
                _ => {
                    let delay = backoff.next_delay();
                    if delay == Backoff::FIRST {
                        eprintln!("sslsock serve: cannot accept ({e}); retrying");
                    }
                    std::thread::sleep(delay);
                    continue;
                }
            },
        };
        if once {
            return Ok(starttls_connection(stream, backend, behaviour));
        }
        let backend = Arc::clone(backend);
        let behaviour = Arc::clone(behaviour);
        live.spawn(stream.peer_addr().ok(), move || {
            starttls_connection(stream, &backend, &behaviour);
        });
    }
}

/// The connection threads of a server: at most `max` at once (the next connection waits in
/// the backlog until one ends), and a thread the OS refuses is a logged, survived event.
#[derive(Debug, Clone)]
struct Live {
    count: Arc<(Mutex<usize>, Condvar)>,
    max: usize,
}

impl Live {
    fn new(max: usize) -> Live {
        Live { count: Arc::new((Mutex::new(0), Condvar::new())), max: max.max(1) }
    }

    /// Waits for a free slot, then runs `serve` on a thread of its own. When the thread
    /// cannot be started, the connection is dropped (closed) and the server goes on.
    fn spawn(&self, peer: Option<SocketAddr>, serve: impl FnOnce() + Send + 'static) {
        let (lock, freed) = &*self.count;
        let mut count = lock.lock().unwrap_or_else(PoisonError::into_inner);
        while *count >= self.max {
            count = freed.wait(count).unwrap_or_else(PoisonError::into_inner);
        }
        *count += 1;
        drop(count);
        let slot = Slot(Arc::clone(&self.count));
        let started =
            std::thread::Builder::new().name("sslsock-connection".into()).spawn(move || {
                let _slot = slot;
                serve();
            });
        if let Err(e) = started {
            // The closure, and with it the connection and its slot, was dropped.
            let peer = peer.map_or_else(|| "?".to_owned(), |p| p.to_string());
            eprintln!("sslsock serve: cannot start a thread for {peer} ({e}); connection closed");
        }
    }
}

/// One connection's place among the live ones, given back when its thread ends.
struct Slot(Arc<(Mutex<usize>, Condvar)>);

impl Drop for Slot {
    fn drop(&mut self) {
        let (lock, freed) = &*self.0;
        let mut count = lock.lock().unwrap_or_else(PoisonError::into_inner);
        *count = count.saturating_sub(1);
        freed.notify_one();
    }
}

/// One STARTTLS connection: the plaintext dialogue, the handshake, then the service.
fn starttls_connection(
    stream: TcpStream,
    backend: &Arc<dyn SslBackend>,
    behaviour: &Behaviour,
) -> u8 {
    let peer = stream.peer_addr().ok();
    let settings = &behaviour.settings;
    let mut socket = SslSocket::with_backend_handle(Arc::clone(backend));
    options::apply(&mut socket, settings);
    let deadline = Instant::now() + settings.timeout;
    let mut report = ConnectionReport::new(backend.as_ref());
    let result = match socket.set_socket_descriptor(stream) {
        Err(err) => Err(starttls::Failure::Socket(err)),
        Ok(()) => settings
            .starttls
            .map_or(Ok(()), |proto| starttls::server(&mut socket, proto, deadline))
            .and_then(|()| {
                socket.start_server_encryption();
                Ok(socket.wait_for_encrypted(left(deadline))?)
            }),
    };
    match result {
        Ok(()) => serve_connection(socket, behaviour),
        Err(failure) => {
            report.record_session(&socket, settings.ignore.as_ref());
            match failure {
                starttls::Failure::Socket(err) => report.set_error(&err),
                starttls::Failure::Protocol(message) => {
                    report.fail("SslHandshakeFailedError", &format!("starttls: {message}"));
                }
            }
            socket.abort();
            print_connection(&report, peer, behaviour.json);
            1
        }
    }
}

/// Serves one encrypted connection: reads what the client sends (echoing it, answering once
/// with the reply) until the client closes, or, once the reply is sent, until it goes quiet
/// for `--read-timeout`. Prints the report; returns its exit status.
fn serve_connection(mut socket: SslSocket, behaviour: &Behaviour) -> u8 {
    let peer = socket.peer_address();
    let settings = &behaviour.settings;
    let mut report = ConnectionReport::new(socket.connection().backend().as_ref());
    report.record_session(&socket, settings.ignore.as_ref());
    let (received, error) = converse(&mut socket, behaviour);
    report.set_received(&received);
    match error {
        Some(err) => {
            report.set_error(&err);
            socket.abort();
        }
        None => {
            socket.disconnect_from_host();
            let _ = socket.wait_for_disconnected(Duration::from_secs(1));
        }
    }
    print_connection(&report, peer, behaviour.json);
    report.exit_code()
}

/// Reads, and writes the echo and the reply, in turn: while a write is blocked nothing is
/// read (the library does not buffer input behind a blocked write either), so a client that
/// sends without reading is pushed back by TCP. What arrives is counted and hashed, and only
/// its first `RECEIVED_PREFIX` bytes are kept ([`Received`]).
fn converse(socket: &mut SslSocket, behaviour: &Behaviour) -> (Received, Option<Error>) {
    let mut received = Received::new();
    let mut replied = false;
    let mut buf = [0u8; 16 * 1024];
    socket.set_write_timeout(Some(behaviour.settings.timeout));
    loop {
        let quiet_ends = replied && !behaviour.echo;
        socket.set_read_timeout(quiet_ends.then_some(behaviour.settings.read_timeout));
        let n = match socket.read(&mut buf) {
            Ok(0) => return (received, None),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return (received, None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return (received, Some(io_to_error(&e))),
        };
        received.push(&buf[..n]);
        let mut out = Vec::new();
        if behaviour.echo {
            out.extend_from_slice(&buf[..n]);
        }
        if let (Some(reply), false) = (&behaviour.reply, replied) {
            out.extend_from_slice(reply);
            replied = true;
        }
        if !out.is_empty() {
            if let Err(e) = socket.write_all(&out).and_then(|()| socket.flush()) {
                // A client that closed gracefully right after its data is done, not failed; a
                // write that timed out failed, whatever the socket's state says.
                let error = if e.kind() == io::ErrorKind::TimedOut {
                    Some(write_error(socket, &e))
                } else {
                    socket.error().map(|_| io_to_error(&e))
                };
                received.push(&socket.read_all());
                return (received, error);
            }
        }
    }
}

/// One connection's report: a JSON line, or one human line.
fn print_connection(report: &ConnectionReport, peer: Option<SocketAddr>, json: bool) {
    if json {
        print_report(report, true);
        return;
    }
    let peer = peer.map_or_else(|| "?".to_owned(), |p| p.to_string());
    let result = match &report.error {
        None if report.encrypted => Cell::good("ok"),
        None => Cell::bad("not encrypted"),
        Some(e) => Cell::bad(format!("{}: {}", e.kind, e.message)),
    };
    let mut table = Table::new(&[""; 6]).without_header();
    table.row(vec![
        Cell::plain(peer),
        result,
        Cell::plain(report.protocol.as_deref().unwrap_or("-")),
        Cell::plain(report.cipher.as_ref().map_or("-", |c| c.name.as_str())),
        Cell::plain(
            report
                .peer_certificate_chain
                .first()
                .map_or("no client certificate", |c| c.subject.as_str()),
        ),
        Cell::plain(format!("received {} bytes", report.received_bytes)),
    ]);
    let mut out = io::stdout().lock();
    let _ = out.write_all(table.render(colour_enabled()).as_bytes()).and_then(|()| out.flush());
}
