//! I/O behaviour: ordering, STARTTLS, chunking, big transfers, back-pressure, closing,
//! truncation, dying and garbage peers, timeouts, and closing from inside handlers.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sslsocket::conn::pair::Pair;
use sslsocket::{Connection, Error, Event, SocketErrorKind, SocketState};

use super::{scenario, Scenario};
use crate::driver::{Outcome as Accepted, TIMEOUT};
use crate::harness::{trusting, Ctx};
use crate::outcome::{ensure, Check, Context, Outcome};
use crate::pki::Authority;

pub(super) fn scenarios() -> Vec<Scenario> {
    let in_memory = |name, run| Scenario { per_driver: false, ..scenario(name, run) };
    vec![
        in_memory("write_before_encrypted_is_sent_after_encrypted", write_before_encrypted),
        in_memory("starttls_after_a_plaintext_exchange_with_peeked_data", starttls),
        in_memory("one_byte_chunks", one_byte_chunks),
        in_memory("read_buffer_limit_under_a_flood_loses_nothing", flood),
        in_memory("abort_from_inside_an_event_handler", |c| from_handler(c, true)),
        in_memory("close_from_inside_an_event_handler", |c| from_handler(c, false)),
        scenario("transfer_64mib_sha256", transfer_64mib),
        scenario("close_notify_is_a_clean_end", close_notify),
        scenario("truncation_is_an_error", truncation),
        scenario("peer_dies_mid_handshake", peer_dies),
        scenario("garbage_instead_of_tls", garbage),
        scenario("handshake_timeout", handshake_timeout),
    ]
}

const STEPS: usize = 100_000;

fn pair(ctx: &Ctx) -> Pair {
    let ca = Authority::root("io root");
    let mut client = Connection::new(ctx.client.clone(), trusting(&ca.certificate));
    client.set_peer_verify_name("localhost");
    let server = Connection::new(ctx.server.clone(), ca.leaf(&["localhost"]).server_config());
    Pair::new(client, server, Instant::now())
}

fn start(p: &mut Pair) {
    let now = p.now;
    sslsocket::testing::start_client_encryption(&mut p.client, now);
    sslsocket::testing::start_server_encryption(&mut p.server, now);
}

fn stalled(e: sslsocket::conn::pair::Stalled) -> Outcome {
    Outcome::Fail(format!("the pair {e}"))
}

fn write_before_encrypted(ctx: &Ctx) -> Check {
    let mut p = pair(ctx);
    start(&mut p);
    let secret = b"NEVER-IN-CLEAR-0123456789";
    p.client.write(secret).context("write")?;
    p.drive_until(STEPS, |p| p.server.bytes_available() >= secret.len()).map_err(stalled)?;
    ensure(p.server.read_all() == secret, || "server read something else".into())?;
    ensure(!p.to_server.wire.windows(secret.len()).any(|w| w == secret), || {
        "plaintext on the wire".into()
    })?;
    let encrypted = p.client_events.iter().position(|e| *e == Event::Encrypted);
    let written = p.client_events.iter().position(|e| matches!(e, Event::BytesWritten(_)));
    ensure(encrypted.is_some() && encrypted < written, || {
        format!("event order {:?}", p.client_events)
    })
}

fn starttls(ctx: &Ctx) -> Check {
    let mut p = pair(ctx);
    p.client.write(b"STARTTLS\r\n").context("write")?;
    p.drive_until(STEPS, |p| p.server.can_read_line()).map_err(stalled)?;
    let mut peeked = [0u8; 8];
    ensure(p.server.peek(&mut peeked) == 8 && &peeked == b"STARTTLS", || "peek".into())?;
    ensure(p.server.read_line().as_deref() == Some(b"STARTTLS\r\n".as_slice()), || {
        "command".into()
    })?;
    p.server.write(b"220 go ahead\r\n").context("answer")?;
    let now = p.now;
    sslsocket::testing::start_server_encryption(&mut p.server, now);
    p.drive_until(STEPS, |p| p.client.can_read_line()).map_err(stalled)?;
    ensure(p.client.read_line().as_deref() == Some(b"220 go ahead\r\n".as_slice()), || {
        "answer".into()
    })?;
    sslsocket::testing::start_client_encryption(&mut p.client, now);
    p.client.write(b"EHLO secret\r\n").context("write")?;
    p.drive_until(STEPS, |p| p.server.can_read_line()).map_err(stalled)?;
    ensure(p.server.read_line().as_deref() == Some(b"EHLO secret\r\n".as_slice()), || {
        "encrypted line".into()
    })?;
    ensure(!p.to_server.wire.windows(6).any(|w| w == b"secret"), || {
        "plaintext after STARTTLS".into()
    })
}

fn one_byte_chunks(ctx: &Ctx) -> Check {
    let mut p = pair(ctx);
    p.set_chunk(1);
    start(&mut p);
    p.drive_until(STEPS * 10, |p| p.client.is_encrypted() && p.server.is_encrypted())
        .map_err(stalled)?;
    let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
    p.client.write(&data).context("write")?;
    p.drive_until(STEPS * 10, |p| p.server.bytes_available() >= data.len()).map_err(stalled)?;
    ensure(p.server.read_all() == data, || "data differs".into())
}

fn flood(ctx: &Ctx) -> Check {
    let mut p = pair(ctx);
    p.client.set_read_buffer_size(4096);
    p.to_client.capacity = 64 * 1024;
    start(&mut p);
    p.drive_until(STEPS, |p| p.client.is_encrypted() && p.server.is_encrypted())
        .map_err(stalled)?;
    let flood: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let (mut sent, mut received) = (0, Vec::new());
    let mut buf = [0u8; 1000];
    for _ in 0..STEPS * 10 {
        if sent < flood.len() {
            if let Ok(n) = p.server.write(&flood[sent..]) {
                sent += n;
            }
        }
        p.step();
        ensure(p.client.bytes_available() <= 4096, || {
            format!("read buffer at {}", p.client.bytes_available())
        })?;
        ensure(p.server.encrypted_bytes_to_write() <= 256 * 1024, || {
            "sender queue unbounded".into()
        })?;
        if let Ok(n) = p.client.read(&mut buf) {
            received.extend_from_slice(&buf[..n]);
        }
        if received.len() == flood.len() {
            break;
        }
    }
    ensure(Sha256::digest(&received) == Sha256::digest(&flood), || {
        format!("{} of {} bytes", received.len(), flood.len())
    })
}

fn from_handler(ctx: &Ctx, abort: bool) -> Check {
    let mut p = pair(ctx);
    p.client_handler = Some(Box::new(move |event, conn| {
        if *event == Event::Encrypted {
            if abort {
                conn.abort();
            } else {
                conn.close();
            }
        }
    }));
    start(&mut p);
    p.drive_bounded(STEPS).map_err(stalled)?;
    ensure(p.client.state() == SocketState::UnconnectedState, || {
        format!("client {:?}", p.client.state())
    })?;
    ensure(p.client_events.contains(&Event::Disconnected), || "no Disconnected".into())?;
    if !abort {
        ensure(p.client_events.contains(&Event::AboutToClose), || "no AboutToClose".into())?;
    }
    Ok(())
}

fn transfer_64mib(ctx: &Ctx) -> Check {
    let ca = Authority::root("bulk root");
    let served = ctx.serve(ca.leaf(&["localhost"]).server_config(), 1);
    let mut socket = ctx.client(trusting(&ca.certificate));
    socket.connect_encrypted("localhost", served.port).context("connect")?;
    let chunk: Vec<u8> = (0..1024 * 1024u32).map(|i| (i * 31 / 7) as u8).collect();
    let mut sent = Sha256::new();
    let mut echoed = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut pending = 0usize;
    for _ in 0..64 {
        socket.write_all(&chunk).context("write")?;
        socket.flush().context("flush")?;
        sent.update(&chunk);
        pending += chunk.len();
        // Drain the echo as we go so neither direction fills up.
        while pending > 2 * 1024 * 1024 {
            let n = socket.read(&mut buf).context("read")?;
            ensure(n > 0, || "early end".into())?;
            echoed.update(&buf[..n]);
            pending -= n;
        }
    }
    while pending > 0 {
        let n = socket.read(&mut buf[..pending.min(256 * 1024)]).context("read")?;
        ensure(n > 0, || "early end".into())?;
        echoed.update(&buf[..n]);
        pending -= n;
    }
    socket.disconnect().context("disconnect")?;
    served.finish()?;
    ensure(sent.finalize() == echoed.finalize(), || "SHA-256 differs".into())
}

fn close_notify(ctx: &Ctx) -> Check {
    let ca = Authority::root("close root");
    let mut server =
        ctx.driver.server(&ctx.server, ca.leaf(&["localhost"]).server_config(), TIMEOUT);
    let port = server.port();
    let closing = thread::spawn(move || -> Result<(), String> {
        let Accepted::Encrypted(mut socket) =
            server.accept_next(TIMEOUT).map_err(|e| format!("{e:?}"))?
        else {
            return Err("handshake failed".into());
        };
        socket.write_all(b"bye").map_err(|e| e.to_string())?;
        socket.disconnect().map_err(|e| format!("{e:?}"))
    });
    let mut socket = ctx.client(trusting(&ca.certificate));
    socket.connect_encrypted("localhost", port).context("connect")?;
    let mut got = Vec::new();
    socket.read_to_end(&mut got).context("a clean close must read as end of stream")?;
    ensure(got == b"bye", || format!("read {got:?}"))?;
    ensure(socket.connection().error().is_none(), || {
        format!("error {:?}", socket.connection().error())
    })?;
    // Our end of the close: the blocking socket answered the peer's close_notify itself (Qt's
    // behaviour); on the async one it ended only the peer's direction (half-close).
    socket.disconnect().context("our close after the peer's")?;
    closing.join().map_err(|_| Outcome::Fail("server panicked".into()))?.map_err(Outcome::Fail)
}

fn truncation(ctx: &Ctx) -> Check {
    let ca = Authority::root("truncation root");
    let mut server =
        ctx.driver.server(&ctx.server, ca.leaf(&["localhost"]).server_config(), TIMEOUT);
    let port = server.port();
    let cutting = thread::spawn(move || {
        if let Ok(Accepted::Encrypted(mut socket)) = server.accept_next(TIMEOUT) {
            let _ = socket.write_all(b"partial");
            let _ = socket.flush();
            socket.abort();
        }
    });
    let mut socket = ctx.client(trusting(&ca.certificate));
    socket.connect_encrypted("localhost", port).context("connect")?;
    let mut got = Vec::new();
    let result = socket.read_to_end(&mut got);
    cutting.join().map_err(|_| Outcome::Fail("server panicked".into()))?;
    let err = match result {
        Ok(()) => return Err(Outcome::Fail("truncation read as a clean end".into())),
        Err(e) => e,
    };
    ensure(got == b"partial", || format!("read {got:?}"))?;
    ensure(matches!(Error::from_io_ref(&err), Some(Error::Truncated)), || format!("{err:?}"))
}

/// A raw TCP peer that reads the ClientHello and then does `then`.
fn raw_peer(then: fn(&mut std::net::TcpStream)) -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut hello = [0u8; 1024];
            let _ = stream.read(&mut hello);
            then(&mut stream);
        }
    });
    (port, handle)
}

fn expect_handshake_failure(ctx: &Ctx, port: u16, peer: thread::JoinHandle<()>) -> Check {
    let ca = Authority::root("raw root");
    let mut socket = ctx.client(trusting(&ca.certificate));
    let started = Instant::now();
    let result = socket.connect_encrypted("localhost", port);
    let _ = peer.join();
    let err = match result {
        Ok(()) => return Err(Outcome::Fail("handshake succeeded against a broken peer".into())),
        Err(e) => e,
    };
    ensure(started.elapsed() < Duration::from_secs(5), || "took too long".into())?;
    ensure(err.kind() == SocketErrorKind::SslHandshakeFailedError, || format!("{err:?}"))
}

fn peer_dies(ctx: &Ctx) -> Check {
    let (port, peer) = raw_peer(|_| {}); // closes right after reading the ClientHello
    expect_handshake_failure(ctx, port, peer)
}

fn garbage(ctx: &Ctx) -> Check {
    let (port, peer) = raw_peer(|s| {
        let _ = s.write_all(&[0x47; 4096]);
        thread::sleep(Duration::from_millis(300));
    });
    expect_handshake_failure(ctx, port, peer)
}

fn handshake_timeout(ctx: &Ctx) -> Check {
    let ca = Authority::root("timeout root");
    let mut server = ctx.driver.server(
        &ctx.server,
        ca.leaf(&["localhost"]).server_config(),
        Duration::from_millis(500),
    );
    let silent = std::net::TcpStream::connect(("127.0.0.1", server.port())).context("connect")?;
    let started = Instant::now();
    let outcome = server.accept_next(TIMEOUT).context("accept")?;
    drop(silent);
    let Accepted::Failed(failure) = outcome else {
        return Err(Outcome::Fail("a silent client was accepted".into()));
    };
    ensure(failure.error.kind() == SocketErrorKind::SocketTimeoutError, || {
        format!("{:?}", failure.error)
    })?;
    ensure(started.elapsed() >= Duration::from_millis(450), || "dropped before the timeout".into())
}
