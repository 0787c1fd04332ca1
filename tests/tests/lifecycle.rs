//! The socket's lifecycle as a QSslSocket user meets it: pausing on certificate errors,
//! `wait_for_*` without an event loop, read buffer limits, end of stream, a socket that never
//! connected, timeouts that leave the socket as it was.
//!
//! The peer is a raw rustls server (or plain TCP) on loopback, not our code, so what the
//! socket reports is measured against a peer that behaves the same for every backend. Every
//! test runs every compiled backend and names the backend (and driver) that failed; where a
//! scenario cannot run on a backend, the test names the backend and the reason.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use conformance::pki::{self, Authority, Identity};
use sha2::{Digest, Sha256};
use sslsocket::{
    Event, PauseMode, SocketErrorKind, SocketState, SslBackend, SslCertificate, SslSocket,
};
use sslsocket_tests::raw::rustls_server_config;
use sslsocket_tests::{backends, client_config, recoverable};

/// How long any single step may take before it counts as a hang.
const TIMEOUT: Duration = Duration::from_secs(10);

// ---- 2: read() on a connection paused on its certificate errors ------------------------------

#[test]
fn read_on_a_connection_paused_on_ssl_errors_fails_at_once_and_resume_continues_it() {
    let server_id = pki::self_signed(&["localhost"]);
    each_backend(|backend, who| {
        if let Some(reason) = cannot_pause_on_ssl_errors(backend) {
            println!("{who}: n/a: {reason}");
            return;
        }
        let (port, peer) = rustls_peer(&server_id, |s| s.write_all(b"after resume\n"));
        let mut socket = SslSocket::with_backend_handle(backend.clone());
        // The server's self-signed certificate is trusted by nobody: SslErrors, then a pause.
        socket.set_ssl_configuration(client_config(&pki::self_signed(&["nobody"]).chain[0]));
        socket.set_pause_mode(PauseMode::PauseOnSslErrors);
        // Only a guard so the thread ends: the read must fail long before this.
        socket.set_read_timeout(Some(Duration::from_secs(5)));
        socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");

        let (tx, rx) = mpsc::channel();
        let reader = thread::spawn(move || {
            let started = Instant::now();
            let mut buf = [0u8; 64];
            let result = socket.read(&mut buf);
            let _ = tx.send((result.map_err(|e| e.kind()), started.elapsed()));
            socket
        });
        let Ok((result, elapsed)) = rx.recv_timeout(Duration::from_secs(8)) else {
            panic!("{who}: read() on a paused connection did not return within 8 s");
        };
        let mut socket = reader.join().unwrap();
        assert!(
            elapsed < Duration::from_secs(2),
            "{who}: read() on a paused connection took {elapsed:?} (returned {result:?}); \
             it must fail at once: nothing can happen until resume()"
        );
        match result {
            Err(kind) => assert!(
                !matches!(kind, io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut),
                "{who}: read() on a paused connection failed with {kind:?}: waiting cannot help"
            ),
            Ok(n) => panic!("{who}: read() on a paused connection returned Ok({n})"),
        }
        assert!(!socket.ssl_handshake_errors().is_empty(), "{who}: paused without SslErrors");

        socket.ignore_ssl_errors();
        socket.resume();
        encrypted_line_then_close(
            socket,
            peer,
            b"after resume\n",
            who,
            "after ignore_ssl_errors + resume",
        );
    });
}

/// Finishes the handshake (`when` says after what), reads `line`, closes, and checks the peer.
fn encrypted_line_then_close(
    mut socket: SslSocket,
    peer: JoinHandle<io::Result<()>>,
    line: &[u8],
    who: &str,
    when: &str,
) {
    socket
        .wait_for_encrypted(TIMEOUT)
        .unwrap_or_else(|e| panic!("{who}: wait_for_encrypted {when}: {e:?}"));
    assert_eq!(read_line(&mut socket, who), line, "{who}: data {when}");
    socket.disconnect_from_host();
    let _ = socket.wait_for_disconnected(TIMEOUT);
    peer.join().unwrap().unwrap_or_else(|e| panic!("{who}: peer: {e}"));
}

/// Why `backend` cannot pause on certificate errors, if it cannot.
fn cannot_pause_on_ssl_errors(backend: &Arc<dyn SslBackend>) -> Option<&'static str> {
    let reason = match backend.name() {
        "native" => Some(
            "native-tls decides verification inside the engine (no RecoverableVerifyErrors): \
             an untrusted certificate fails the handshake, there is nothing to pause on",
        ),
        _ => None,
    };
    // The list above must agree with what the backend says of itself.
    assert_eq!(
        reason.is_none(),
        recoverable(backend),
        "{}: RecoverableVerifyErrors and this test's n/a list disagree",
        backend.name()
    );
    reason
}

// ---- 3: wait_for_bytes_written after write ---------------------------------------------------

#[test]
fn wait_for_bytes_written_after_a_write_returns_while_the_peer_keeps_the_connection_open() {
    let (ca, server_id) = localhost_identity();
    each_backend(|backend, who| {
        let (port, peer) = rustls_peer(&server_id, |s| {
            let mut line = [0u8; 6];
            s.read_exact(&mut line)?;
            // The peer keeps the connection open; drain() reads until the client closes.
            Ok(())
        });
        let mut socket = connected_client(backend, &ca.certificate, port, who);
        assert_eq!(socket.write(b"hello\n").unwrap(), 6, "{who}: write");
        let started = Instant::now();
        let waited = socket.wait_for_bytes_written(Duration::from_secs(5));
        let elapsed = started.elapsed();
        assert!(
            waited.is_ok() && elapsed < Duration::from_secs(1),
            "{who}: wait_for_bytes_written after write gave {waited:?} after {elapsed:?}; \
             the bytes were handed on, it must return Ok at once"
        );
        socket.disconnect_from_host();
        let _ = socket.wait_for_disconnected(TIMEOUT);
        peer.join().unwrap().unwrap_or_else(|e| panic!("{who}: peer: {e}"));
    });
}

// ---- 4: wait_for_connected when the handshake fails in the same round ------------------------

#[test]
fn wait_for_connected_is_ok_once_tcp_connects_even_if_the_handshake_then_fails() {
    const TRIES: usize = 20;
    let ca = Authority::root("lifecycle root");
    each_backend(|backend, who| {
        let (port, stop) = garbage_server();
        let mut failures = Vec::new();
        for attempt in 0..TRIES {
            let mut socket = SslSocket::with_backend_handle(backend.clone());
            socket.set_ssl_configuration(client_config(&ca.certificate));
            // A handler with some work to do while the TCP connect is in flight (as a Qt
            // slot on stateChanged might): the server's garbage is there by the time the
            // socket sees the connection up, so the handshake fails in that same round.
            socket.set_event_handler(|event, _| {
                if *event == Event::StateChanged(SocketState::ConnectingState) {
                    thread::sleep(Duration::from_millis(30));
                }
            });
            socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
            if let Err(e) = socket.wait_for_connected(TIMEOUT) {
                failures.push(format!("try {attempt}: {:?} ({e})", e.kind()));
            }
        }
        stop.store(true, Ordering::SeqCst);
        assert!(
            failures.is_empty(),
            "{who}: wait_for_connected failed in {} of {TRIES} tries although TCP connected \
             (the handshake's failure is not its business): {failures:?}",
            failures.len()
        );
    });
}

// ---- 5, 6: the read buffer limit -------------------------------------------------------------

#[test]
fn lifting_the_read_buffer_limit_lets_qts_wait_and_read_loop_get_every_byte() {
    const TOTAL: usize = 100 * 1024;
    let (ca, server_id) = localhost_identity();
    let payload = Arc::new(payload(TOTAL));
    each_backend(|backend, who| {
        let sent = payload.clone();
        let (port, peer) = rustls_peer(&server_id, move |s| s.write_all(&sent));
        let mut socket = SslSocket::with_backend_handle(backend.clone());
        socket.set_ssl_configuration(client_config(&ca.certificate));
        socket.set_read_timeout(Some(TIMEOUT));
        socket.set_read_buffer_size(10);
        socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
        socket.wait_for_encrypted(TIMEOUT).unwrap_or_else(|e| panic!("{who}: handshake: {e:?}"));
        socket.wait_for_ready_read(TIMEOUT).unwrap_or_else(|e| panic!("{who}: first wait: {e:?}"));
        socket.set_read_buffer_size(0);

        let mut received = Vec::with_capacity(TOTAL);
        let mut buf = vec![0u8; 4096];
        while received.len() < TOTAL {
            if socket.bytes_available() == 0 {
                if let Err(e) = socket.wait_for_ready_read(Duration::from_secs(5)) {
                    panic!(
                        "{who}: wait_for_ready_read after {} of {TOTAL} bytes: {:?} ({e}); \
                         the peer sent them all",
                        received.len(),
                        e.kind()
                    );
                }
            }
            let n = socket.read(&mut buf).unwrap_or_else(|e| {
                panic!("{who}: read after {} of {TOTAL} bytes: {e}", received.len())
            });
            assert!(n > 0, "{who}: end of stream after {} of {TOTAL} bytes", received.len());
            received.extend_from_slice(&buf[..n]);
        }
        assert_eq!(Sha256::digest(&received), Sha256::digest(payload.as_slice()), "{who}: data");
        socket.disconnect_from_host();
        let _ = socket.wait_for_disconnected(TIMEOUT);
        peer.join().unwrap().unwrap_or_else(|e| panic!("{who}: peer: {e}"));
    });
}

#[test]
fn read_all_under_a_read_buffer_limit_takes_what_bytes_available_reported() {
    const TOTAL: usize = 100 * 1024;
    const LIMIT: usize = 10;
    let (ca, server_id) = localhost_identity();
    let payload = Arc::new(payload(TOTAL));
    each_backend(|backend, who| {
        let sent = payload.clone();
        let (port, peer) = rustls_peer(&server_id, move |s| s.write_all(&sent));
        let mut socket = SslSocket::with_backend_handle(backend.clone());
        socket.set_ssl_configuration(client_config(&ca.certificate));
        socket.set_read_buffer_size(LIMIT);
        socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
        socket.wait_for_encrypted(TIMEOUT).unwrap_or_else(|e| panic!("{who}: handshake: {e:?}"));
        let mut received = Vec::new();
        for round in 0..5 {
            if socket.bytes_available() == 0 {
                socket
                    .wait_for_ready_read(TIMEOUT)
                    .unwrap_or_else(|e| panic!("{who}: wait_for_ready_read {round}: {e:?}"));
            }
            let available = socket.bytes_available();
            let all = socket.read_all();
            assert!(available <= LIMIT, "{who}: bytes_available {available} over the limit");
            assert_eq!(
                all.len(),
                available,
                "{who}: read_all() took {} bytes, bytes_available() said {available} \
                 (read buffer limit {LIMIT})",
                all.len()
            );
            received.extend_from_slice(&all);
        }
        assert_eq!(received, payload[..received.len()], "{who}: the bytes, in order");
        socket.abort();
        drop(peer); // the peer fails on the abort; its result says nothing here
    });
}

// ---- 7: ReadChannelFinished by the time read reports the end ---------------------------------

#[test]
fn read_channel_finished_is_delivered_by_the_time_read_reports_the_end_of_stream() {
    let (ca, server_id) = localhost_identity();
    let blocking = |backend: &Arc<dyn SslBackend>, who: &str| {
        let (port, peer) = rustls_peer(&server_id, close_notify_after_hello);
        let events = Arc::new(Mutex::new(Vec::new()));
        let mut socket = SslSocket::with_backend_handle(backend.clone());
        socket.set_ssl_configuration(client_config(&ca.certificate));
        socket.set_read_timeout(Some(TIMEOUT));
        let seen = events.clone();
        socket.set_event_handler(move |event, _| seen.lock().unwrap().push(event.clone()));
        socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let n = socket.read(&mut buf).unwrap_or_else(|e| panic!("{who}: read: {e}"));
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        let at_end = events.lock().unwrap().clone();
        assert_eq!(got, b"hello\n", "{who}: data");
        assert!(
            at_end.contains(&Event::ReadChannelFinished),
            "{who}: read returned Ok(0) but the handler has not seen ReadChannelFinished; \
             it saw {at_end:?}"
        );
        drop(socket);
        peer.join().unwrap().unwrap_or_else(|e| panic!("{who}: peer: {e}"));
    };
    #[cfg(feature = "tokio")]
    let tokio = |backend: &Arc<dyn SslBackend>, who: &str| {
        use tokio::io::AsyncReadExt;
        let (port, peer) = rustls_peer(&server_id, close_notify_after_hello);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (got, handler_saw, streamed) = rt.block_on(async {
            let mut socket = sslsocket::AsyncSslSocket::with_backend_handle(backend.clone());
            socket.set_ssl_configuration(client_config(&ca.certificate));
            let events = Arc::new(Mutex::new(Vec::new()));
            let seen = events.clone();
            socket.set_event_handler(move |event, _| seen.lock().unwrap().push(event.clone()));
            let mut stream = socket.events();
            tokio::time::timeout(
                TIMEOUT,
                socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost"),
            )
            .await
            .unwrap_or_else(|_| panic!("{who}: handshake timed out"))
            .unwrap_or_else(|e| panic!("{who}: handshake: {e:?}"));
            let mut got = Vec::new();
            let mut buf = [0u8; 64];
            loop {
                let n = tokio::time::timeout(TIMEOUT, socket.read(&mut buf))
                    .await
                    .unwrap_or_else(|_| panic!("{who}: read timed out"))
                    .unwrap_or_else(|e| panic!("{who}: read: {e}"));
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            // Checked right after read returned 0: handler and stream, nothing awaited.
            let handler_saw = events.lock().unwrap().clone();
            let mut streamed = Vec::new();
            while let Some(event) = stream.try_recv() {
                streamed.push(event);
            }
            (got, handler_saw, streamed)
        });
        assert_eq!(got, b"hello\n", "{who}: data");
        assert!(
            handler_saw.contains(&Event::ReadChannelFinished),
            "{who}: read returned 0 but the handler has not seen ReadChannelFinished; \
             it saw {handler_saw:?}"
        );
        assert!(
            streamed.contains(&Event::ReadChannelFinished),
            "{who}: read returned 0 but events() has not yielded ReadChannelFinished; \
             it yielded {streamed:?}"
        );
        peer.join().unwrap().unwrap_or_else(|e| panic!("{who}: peer: {e}"));
    };
    each_driver_and_backend(&[
        ("blocking", &blocking),
        #[cfg(feature = "tokio")]
        ("tokio", &tokio),
    ]);
}

/// The peer's script: one line, then close_notify, the TCP connection left open.
fn close_notify_after_hello(s: &mut RustlsStream) -> io::Result<()> {
    s.write_all(b"hello\n")?;
    s.flush()?;
    s.conn.send_close_notify();
    s.flush()
}

// ---- 8: a socket that never connected --------------------------------------------------------

#[test]
fn read_on_a_socket_that_never_connected_is_a_not_connected_error() {
    let blocking = |backend: &Arc<dyn SslBackend>, who: &str| {
        let mut socket = SslSocket::with_backend_handle(backend.clone());
        socket.set_read_timeout(Some(Duration::from_secs(2)));
        let result = socket.read(&mut [0u8; 16]).map_err(|e| e.kind());
        assert_eq!(
            result,
            Err(io::ErrorKind::NotConnected),
            "{who}: read() on an unconnected socket holding nothing (at_end() = {})",
            socket.at_end()
        );
    };
    #[cfg(feature = "tokio")]
    let tokio = |backend: &Arc<dyn SslBackend>, who: &str| {
        use tokio::io::AsyncReadExt;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut socket = sslsocket::AsyncSslSocket::with_backend_handle(backend.clone());
        let result = rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(2), socket.read(&mut [0u8; 16]))
                .await
                .map_err(|_| io::ErrorKind::TimedOut)
                .and_then(|r| r.map_err(|e| e.kind()))
        });
        assert_eq!(
            result,
            Err(io::ErrorKind::NotConnected),
            "{who}: read() on an unconnected socket holding nothing (at_end() = {})",
            socket.at_end()
        );
    };
    each_driver_and_backend(&[
        ("blocking", &blocking),
        #[cfg(feature = "tokio")]
        ("tokio", &tokio),
    ]);
}

#[test]
fn write_on_a_socket_that_never_connected_is_a_not_connected_error() {
    let blocking = |backend: &Arc<dyn SslBackend>, who: &str| {
        let mut socket = SslSocket::with_backend_handle(backend.clone());
        socket.set_write_timeout(Some(Duration::from_secs(2)));
        let result = socket.write(b"hello").map_err(|e| e.kind());
        assert_eq!(result, Err(io::ErrorKind::NotConnected), "{who}: write()");
    };
    #[cfg(feature = "tokio")]
    let tokio = |backend: &Arc<dyn SslBackend>, who: &str| {
        use tokio::io::AsyncWriteExt;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut socket = sslsocket::AsyncSslSocket::with_backend_handle(backend.clone());
        let result = rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(2), socket.write(b"hello"))
                .await
                .map_err(|_| io::ErrorKind::TimedOut)
                .and_then(|r| r.map_err(|e| e.kind()))
        });
        assert_eq!(result, Err(io::ErrorKind::NotConnected), "{who}: write()");
    };
    each_driver_and_backend(&[
        ("blocking", &blocking),
        #[cfg(feature = "tokio")]
        ("tokio", &tokio),
    ]);
}

#[test]
fn wait_for_disconnected_on_a_socket_that_never_connected_is_an_error() {
    each_backend(|backend, who| {
        let mut socket = SslSocket::with_backend_handle(backend.clone());
        let result = socket.wait_for_disconnected(Duration::from_secs(1));
        assert!(
            result.is_err(),
            "{who}: wait_for_disconnected in UnconnectedState returned {result:?}; \
             Qt: not allowed in UnconnectedState"
        );
        assert_eq!(socket.state(), SocketState::UnconnectedState, "{who}: state");
    });
}

#[test]
fn bytes_written_before_the_connection_is_up_arrive_once_encrypted() {
    let (ca, server_id) = localhost_identity();
    each_backend(|backend, who| {
        let (tx, rx) = mpsc::channel();
        let (port, peer) = rustls_peer(&server_id, move |s| {
            let mut line = [0u8; 13];
            s.read_exact(&mut line)?;
            let _ = tx.send(line.to_vec());
            Ok(())
        });
        let mut socket = SslSocket::with_backend_handle(backend.clone());
        socket.set_ssl_configuration(client_config(&ca.certificate));
        socket.set_write_timeout(Some(TIMEOUT));
        socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
        assert_eq!(socket.write(b"early bytes\r\n").unwrap(), 13, "{who}: write while connecting");
        socket.wait_for_encrypted(TIMEOUT).unwrap_or_else(|e| panic!("{who}: handshake: {e:?}"));
        socket.flush().unwrap_or_else(|e| panic!("{who}: flush: {e}"));
        assert_eq!(rx.recv_timeout(TIMEOUT).unwrap(), b"early bytes\r\n", "{who}: the peer got");
        socket.disconnect_from_host();
        let _ = socket.wait_for_disconnected(TIMEOUT);
        peer.join().unwrap().unwrap_or_else(|e| panic!("{who}: peer: {e}"));
    });
}

#[test]
fn data_that_arrived_before_the_peer_closed_stays_readable_after_the_close() {
    let (ca, server_id) = localhost_identity();
    each_backend(|backend, who| {
        let (port, peer) = rustls_peer_then_close(&server_id, close_notify_after_hello);
        let mut socket = SslSocket::with_backend_handle(backend.clone());
        socket.set_ssl_configuration(client_config(&ca.certificate));
        socket.set_read_timeout(Some(TIMEOUT));
        socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
        socket.wait_for_encrypted(TIMEOUT).unwrap_or_else(|e| panic!("{who}: handshake: {e:?}"));
        socket
            .wait_for_disconnected(TIMEOUT)
            .unwrap_or_else(|e| panic!("{who}: the peer's close: {e:?}"));
        peer.join().unwrap().unwrap_or_else(|e| panic!("{who}: peer: {e}"));
        assert_eq!(socket.state(), SocketState::UnconnectedState, "{who}: state");
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while got.len() < 6 {
            match socket.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => panic!("{who}: read after the peer's close, {got:?} so far: {e}"),
            }
        }
        assert_eq!(got, b"hello\n", "{who}: data read after the peer's close");
        assert!(socket.at_end(), "{who}: at_end() once everything was read");
    });
}

// ---- 9: a wait that times out ----------------------------------------------------------------

#[test]
fn a_wait_that_times_out_reports_socket_timeout_and_leaves_the_socket_as_it_was() {
    let (ca, server_id) = localhost_identity();
    each_backend(|backend, who| {
        let config = rustls_server_config(&server_id);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let peer = thread::spawn(move || -> io::Result<()> {
            let (tcp, _) = listener.accept()?;
            thread::sleep(Duration::from_secs(1)); // a slow server: the handshake waits
            serve(config, tcp, |s| s.write_all(b"ready\n"))
        });
        let mut socket = SslSocket::with_backend_handle(backend.clone());
        socket.set_ssl_configuration(client_config(&ca.certificate));
        socket.set_read_timeout(Some(TIMEOUT));
        socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
        let first = socket.wait_for_encrypted(Duration::from_millis(200));
        assert_eq!(
            first.as_ref().map_err(sslsocket::Error::kind).err(),
            Some(SocketErrorKind::SocketTimeoutError),
            "{who}: wait_for_encrypted(200 ms) against a server that waits 1 s: {first:?}"
        );
        assert_eq!(
            socket.error().map(sslsocket::Error::kind),
            Some(SocketErrorKind::SocketTimeoutError),
            "{who}: error() after the wait timed out (QAbstractSocket::error())"
        );
        assert!(!socket.error_string().is_empty(), "{who}: error_string() after the timeout");
        assert_eq!(socket.state(), SocketState::ConnectedState, "{who}: state after the timeout");
        encrypted_line_then_close(socket, peer, b"ready\n", who, "once the server goes on");
    });
}

// ---- 10: the tokio handshake timeout under a paused clock ------------------------------------

/// With tokio's clock paused (`#[tokio::test(start_paused = true)]`; built by hand here so
/// each backend gets its own runtime and they run side by side), the handshake timeout is
/// virtual time: it must fire as soon as the runtime is idle, not after 30 s of real time.
#[cfg(feature = "tokio")]
#[test]
fn the_tokio_handshake_timeout_fires_in_virtual_time_when_the_clock_is_paused() {
    const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
    let list = backends();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let done = Arc::new(AtomicBool::new(false));
    let holder = {
        let done = done.clone();
        listener.set_nonblocking(true).unwrap();
        // Accepts and never answers; holds the connections until the test is over.
        thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !done.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((tcp, _)) => held.push(tcp),
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
            drop(held);
        })
    };
    let runs: Vec<(String, JoinHandle<TimedConnect>)> = list
        .into_iter()
        .map(|backend| {
            let who = format!("tokio/{}", backend.name());
            let run = thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .start_paused(true)
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let mut socket = sslsocket::AsyncSslSocket::with_backend_handle(backend);
                    socket.set_handshake_timeout(Some(HANDSHAKE_TIMEOUT));
                    let started = Instant::now();
                    let result = socket
                        .connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost")
                        .await;
                    (result, started.elapsed())
                })
            });
            (who, run)
        })
        .collect();
    let mut failures = Vec::new();
    for (who, run) in runs {
        match run.join() {
            Ok((result, elapsed)) => {
                let kind = result.as_ref().map_err(sslsocket::Error::kind).err();
                if kind != Some(SocketErrorKind::SocketTimeoutError) || elapsed >= TIMEOUT / 2 {
                    failures.push(format!(
                        "{who}: {result:?} after {:.1} s of real time (want SocketTimeoutError \
                         at once in virtual time, < 5 s real)",
                        elapsed.as_secs_f64()
                    ));
                }
            }
            Err(_) => failures.push(format!("{who}: the run panicked")),
        }
    }
    done.store(true, Ordering::SeqCst);
    holder.join().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---- helpers ---------------------------------------------------------------------------------

type RustlsStream = rustls::StreamOwned<rustls::ServerConnection, TcpStream>;

/// A connect attempt's outcome and the real time it took.
type TimedConnect = (Result<(), sslsocket::Error>, Duration);

/// A test body for one driver: the backend and the name of the combination.
type Body<'a> = &'a dyn Fn(&Arc<dyn SslBackend>, &str);

/// Runs every `(driver, body)` for every backend, each to the end even when one fails, then
/// fails naming every combination (`driver/backend`) that did.
fn each_driver_and_backend(bodies: &[(&str, Body<'_>)]) {
    let mut failed = Vec::new();
    for backend in backends() {
        for (driver, body) in bodies {
            let who = format!("{driver}/{}", backend.name());
            if let Err(panic) = panic::catch_unwind(AssertUnwindSafe(|| body(&backend, &who))) {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                failed.push(message);
            }
        }
    }
    assert!(failed.is_empty(), "failed on {} combination(s):\n{}", failed.len(), failed.join("\n"));
}

/// [`each_driver_and_backend`] for a body that only the blocking driver can run (the
/// `wait_for_*(timeout)` calls are Qt's blocking API; the tokio socket has none).
fn each_backend(body: impl Fn(&Arc<dyn SslBackend>, &str)) {
    each_driver_and_backend(&[("blocking", &body)]);
}

/// A root and a `localhost` leaf it issued.
fn localhost_identity() -> (Authority, Identity) {
    let ca = Authority::root("lifecycle root");
    let leaf = ca.leaf(&["localhost"]);
    (ca, leaf)
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) >> 3) as u8).collect()
}

// ---- Drop ------------------------------------------------------------------------------------

/// Qt's destructor aborts: "Destroys the socket… If there is pending data, it is discarded"
/// is what `~QAbstractSocket` does through `abort()`. Dropping an `SslSocket` does the same:
/// no close_notify is sent, so the peer sees a truncation, never a clean end, and what had
/// not been sent is not delivered.
#[test]
fn dropping_a_socket_aborts_it_the_peer_sees_no_clean_end() {
    const TOTAL: usize = 8 * 1024 * 1024;
    let (ca, server_id) = localhost_identity();
    each_backend(|backend, who| {
        let (port, peer) = rustls_peer(&server_id, |s| {
            let mut got = 0usize;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match s.read(&mut buf) {
                    Ok(0) => return Ok(()), // close_notify: a clean end
                    Ok(n) => got += n,
                    Err(e) => {
                        return Err(io::Error::new(e.kind(), format!("{got} bytes, then {e}")))
                    }
                }
                thread::sleep(Duration::from_millis(1)); // a slow reader: data stays queued
            }
        });
        let mut socket = connected_client(backend, &ca.certificate, port, who);
        // A non-blocking-sized write that leaves most of the payload queued in the socket.
        let data = payload(TOTAL);
        let mut written = 0;
        while written < 512 * 1024 {
            written +=
                socket.write(&data[written..]).unwrap_or_else(|e| panic!("{who}: write: {e}"));
        }
        drop(socket);
        let outcome = peer.join().unwrap();
        assert!(
            outcome.is_err(),
            "{who}: the peer saw a clean end after a drop: a dropped socket must abort"
        );
    });
}

/// A client on `backend` trusting `ca`, encrypted with the peer on `port`.
fn connected_client(
    backend: &Arc<dyn SslBackend>,
    ca: &SslCertificate,
    port: u16,
    who: &str,
) -> SslSocket {
    let mut socket = SslSocket::with_backend_handle(backend.clone());
    socket.set_ssl_configuration(client_config(ca));
    socket.set_read_timeout(Some(TIMEOUT));
    socket.set_write_timeout(Some(TIMEOUT));
    socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
    socket.wait_for_encrypted(TIMEOUT).unwrap_or_else(|e| panic!("{who}: handshake: {e:?}"));
    socket
}

fn read_line(socket: &mut SslSocket, who: &str) -> Vec<u8> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\n") {
        match socket.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => line.push(byte[0]),
            Err(e) => panic!("{who}: read: {e}"),
        }
    }
    line
}

/// A raw rustls server for one connection: the handshake, `script`, then it reads until the
/// client closes (the connection stays open meanwhile).
fn rustls_peer(
    id: &Identity,
    script: impl FnOnce(&mut RustlsStream) -> io::Result<()> + Send + 'static,
) -> (u16, JoinHandle<io::Result<()>>) {
    spawn_peer(id, move |config, tcp| serve(config, tcp, script))
}

/// As [`rustls_peer`], but the peer closes TCP right after `script`.
fn rustls_peer_then_close(
    id: &Identity,
    script: impl FnOnce(&mut RustlsStream) -> io::Result<()> + Send + 'static,
) -> (u16, JoinHandle<io::Result<()>>) {
    spawn_peer(id, move |config, tcp| {
        let mut stream = handshake(config, tcp)?;
        script(&mut stream)?;
        stream.sock.shutdown(std::net::Shutdown::Both)
    })
}

/// A listener on a free loopback port and a thread that runs `body` on its first connection.
fn spawn_peer(
    id: &Identity,
    body: impl FnOnce(Arc<rustls::ServerConfig>, TcpStream) -> io::Result<()> + Send + 'static,
) -> (u16, JoinHandle<io::Result<()>>) {
    let config = rustls_server_config(id);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = thread::spawn(move || {
        let (tcp, _) = listener.accept()?;
        body(config, tcp)
    });
    (port, peer)
}

/// The server side of a TLS handshake on `tcp`, with bounded reads and writes.
fn handshake(config: Arc<rustls::ServerConfig>, tcp: TcpStream) -> io::Result<RustlsStream> {
    tcp.set_read_timeout(Some(TIMEOUT))?;
    tcp.set_write_timeout(Some(TIMEOUT))?;
    let conn = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(stream)
}

fn serve(
    config: Arc<rustls::ServerConfig>,
    tcp: TcpStream,
    script: impl FnOnce(&mut RustlsStream) -> io::Result<()>,
) -> io::Result<()> {
    let mut stream = handshake(config, tcp)?;
    script(&mut stream)?;
    stream.flush()?;
    let mut sink = [0u8; 4096];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            // The client may drop TCP after its close_notify, or without one.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// A TCP server that answers every connection with bytes that are not TLS and closes.
fn garbage_server() -> (u16, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    thread::spawn(move || {
        while !stopped.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((mut tcp, _)) => {
                    let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\nthis is not TLS\r\n");
                    drop(tcp);
                }
                Err(_) => thread::sleep(Duration::from_millis(1)),
            }
        }
    });
    (port, stop)
}
