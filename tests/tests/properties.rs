//! Deterministic property tests over hostile input, run in CI on every backend: the same
//! bodies as the `cargo fuzz` targets (`sslsocket_tests::hostile`), driven by a seeded
//! generator instead of a fuzzer.
//!
//! - Live pairs with random chunking and at most one flipped byte in flight: never a panic or
//!   a hang, and either both sides get exactly what was sent, or a typed error (or a side left
//!   waiting for the rest of a record whose length was changed) — never corrupted data.
//! - Recorded handshake flights replayed to fresh connections, chunked and mutated: a replay
//!   never completes a handshake, whatever is changed.
//! - Mutated certificates and keys through every parser.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sslsocket::conn::pair::Link;
use sslsocket::{Connection, KeyFormat, Role, SslBackend, SslKey};
use sslsocket_tests::hostile::{self, feed, identities, started, Rng};
use sslsocket_tests::{client_config, on_each_backend, pair, start};

const LIVE_RUNS: u64 = 400;
const REPLAYS: u64 = 150;
const PARSES: u64 = 600;
const CONFIGURATIONS: u64 = 300;
const ROUNDS: usize = 20_000;

/// What one live run ended as.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
enum Ending {
    Complete,
    Error(String),
    WaitingForRestOfRecord,
}

#[test]
fn live_pairs_with_random_chunks_and_a_flipped_byte_never_deliver_corrupted_data() {
    on_each_backend(|backend| {
        let mut tally: BTreeMap<(bool, Ending), usize> = BTreeMap::new();
        for seed in 0..LIVE_RUNS {
            let (corrupted, ending) = live_run(&backend, seed);
            if !corrupted {
                assert_eq!(ending, Ending::Complete, "{} seed {seed}", backend.name());
            }
            *tally.entry((corrupted, ending)).or_default() += 1;
        }
        println!("{:<8} {LIVE_RUNS} live runs:", backend.name());
        for ((corrupted, ending), n) in &tally {
            let what = if *corrupted { "one byte flipped" } else { "untouched" };
            println!("    {n:>4} x {what:<16} -> {ending:?}");
        }
    });
}

/// One run: a handshake and a random payload each way, chunked at random, with (three times
/// out of four) one byte of one direction flipped in flight. Returns whether a byte was
/// flipped and how it ended; panics on a property violation.
fn live_run(backend: &Arc<dyn SslBackend>, seed: u64) -> (bool, Ending) {
    let who = format!("{} seed {seed}", backend.name());
    let mut rng = Rng::new(seed);
    let (ca, server) = identities();
    let mut p = pair(backend, client_config(ca), server, "localhost");
    for conn in [&mut p.client, &mut p.server] {
        conn.set_handshake_timeout(Some(Duration::from_secs(10)));
    }
    start(&mut p);
    let (up_len, down_len) = (1 + rng.below(6000), 1 + rng.below(6000));
    let up = rng.bytes(up_len);
    let down = rng.bytes(down_len);
    assert_eq!(p.client.write(&up).unwrap(), up.len());
    assert_eq!(p.server.write(&down).unwrap(), down.len());
    // (to the server?, offset in that direction's stream, xor mask)
    // Half the flips land in the handshake (the first 2,500 bytes), half anywhere.
    let plan = (rng.below(4) != 0).then(|| {
        let reach = if rng.below(2) == 0 { 2500 } else { 9000 };
        (rng.below(2) == 0, rng.below(reach), (1 + rng.below(255)) as u8)
    });
    let mut flipped = false;
    let (mut at_server, mut at_client) = (Vec::new(), Vec::new());
    let mut timed_out = false;
    for _ in 0..ROUNDS {
        let now = p.now;
        let mut progressed = transmit(&mut p.client, &mut p.to_server);
        progressed |= transmit(&mut p.server, &mut p.to_client);
        if let Some((to_server, offset, mask)) = plan.filter(|_| !flipped) {
            let link = if to_server { &mut p.to_server } else { &mut p.to_client };
            flipped |= flip(link, offset, mask);
        }
        p.to_server.chunk = 1 + rng.below(1500);
        p.to_client.chunk = 1 + rng.below(1500);
        progressed |= receive(&mut p.server, &mut p.to_server, now, &mut at_server);
        progressed |= receive(&mut p.client, &mut p.to_client, now, &mut at_client);
        assert!(up.starts_with(&at_server), "{who}: the server read bytes never sent");
        assert!(down.starts_with(&at_client), "{who}: the client read bytes never sent");
        if at_server.len() == up.len() && at_client.len() == down.len() {
            return (flipped, Ending::Complete);
        }
        if let Some(err) = p.client.error().or(p.server.error()) {
            return (flipped, Ending::Error(format!("{:?}", err.kind())));
        }
        if !progressed {
            if timed_out {
                // Quiet, no error, past every handshake timeout: a length was changed and a
                // side waits for the rest of a record that will never come.
                assert!(flipped, "{who}: stalled without a flipped byte");
                assert!(p.client.is_encrypted() && p.server.is_encrypted(), "{who}");
                return (flipped, Ending::WaitingForRestOfRecord);
            }
            p.advance(Duration::from_secs(11));
            timed_out = true;
        }
    }
    panic!("{who}: still busy after {ROUNDS} rounds");
}

fn transmit(conn: &mut Connection, out: &mut Link) -> bool {
    let mut progressed = false;
    for _ in 0..1000 {
        if !conn.wants_write() {
            break;
        }
        match conn.poll_transmit(out) {
            Ok(n) if n > 0 => progressed = true,
            _ => break,
        }
    }
    // A graceful close: the direction shuts once close_notify is out.
    match conn.poll_action(sslsocket::conn::Wait::Nothing, None, Instant::now()) {
        sslsocket::conn::Action::ShutdownWrite => {
            conn.handle_write_shutdown(Instant::now());
            out.closed = true;
            progressed = true;
        }
        sslsocket::conn::Action::Close => {
            conn.handle_closed();
            out.closed = true;
            progressed = true;
        }
        _ => {}
    }
    progressed
}

fn receive(conn: &mut Connection, inbound: &mut Link, now: Instant, got: &mut Vec<u8>) -> bool {
    let mut progressed = false;
    for _ in 0..100_000 {
        if !conn.wants_read() {
            break;
        }
        match conn.handle_readable(inbound, now) {
            Ok(0) => {
                progressed = true;
                break;
            }
            Ok(_) => progressed = true,
            Err(_) => break,
        }
    }
    while conn.poll_event().is_some() {
        progressed = true;
    }
    let mut buf = [0u8; 8192];
    while let Ok(n) = conn.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        progressed = true;
    }
    progressed
}

/// Flips the byte at `offset` of the stream written into `link` if it is in flight now.
fn flip(link: &mut Link, offset: usize, mask: u8) -> bool {
    let first_in_flight = link.wire.len() - link.in_flight();
    if offset >= first_in_flight && offset < link.wire.len() {
        link.corrupt(offset - first_in_flight, |b| b ^ mask);
        return true;
    }
    false
}

#[test]
fn a_recorded_handshake_replayed_chunked_and_mutated_never_completes() {
    on_each_backend(|backend| {
        let (client_flights, server_flights) = hostile::recorded_handshake(&backend);
        let mut errors: BTreeMap<String, usize> = BTreeMap::new();
        for seed in 0..REPLAYS {
            let mut rng = Rng::new(seed);
            for (role, flights) in
                [(Role::Server, &client_flights), (Role::Client, &server_flights)]
            {
                let mut input = flights.clone();
                if seed % 5 != 0 {
                    // One byte flipped (four runs in five); the others replay it unchanged.
                    let i = rng.below(input.len());
                    input[i] ^= (1 + rng.below(255)) as u8;
                }
                let max = 1 + rng.below(2000);
                let mut conn = started(&backend, role, Instant::now());
                let fed = feed(&mut conn, &input, &mut || 1 + rng.below(max));
                let who = format!("{} {role:?} seed {seed}", backend.name());
                assert!(!fed.encrypted, "{who}: a replayed handshake completed");
                assert!(fed.plaintext.is_empty(), "{who}: replayed data was delivered");
                let err = fed.error.unwrap_or_else(|| panic!("{who}: no error after EOF"));
                *errors.entry(format!("{role:?}: {:?}", err.kind())).or_default() += 1;
            }
        }
        println!("{:<8} {REPLAYS} replays each way: {errors:?}", backend.name());
    });
}

#[test]
fn arbitrary_bytes_to_a_connection_never_complete_a_handshake() {
    // The fuzz targets' bodies on seeded random inputs, for every backend (the first byte
    // picks it) and both roles.
    for seed in 0..REPLAYS * 2 {
        let mut rng = Rng::new(seed);
        let len = rng.below(3000);
        let mut data = rng.bytes(len);
        if let Some(first) = data.get_mut(1) {
            *first = 0x16; // often look like a handshake record
        }
        hostile::connection_client(&data);
        hostile::connection_server(&data);
    }
}

#[test]
fn arbitrary_configurations_are_built_or_refused_with_a_typed_error_on_every_backend() {
    let mut valid = 0;
    for seed in 0..CONFIGURATIONS {
        let mut rng = Rng::new(seed);
        let len = rng.below(1200);
        let input = rng.bytes(len);
        valid += usize::from(hostile::configuration(&input));
    }
    println!("{CONFIGURATIONS} arbitrary configurations: {valid} passed validate, none panicked");
}

#[test]
fn mutated_certificates_and_keys_go_through_every_parser() {
    let samples = hostile::parser_seeds();
    let mut parsed = 0;
    for seed in 0..PARSES {
        let mut rng = Rng::new(seed);
        let mut input = samples[rng.below(samples.len())].clone();
        hostile::mutate(&mut rng, &mut input);
        hostile::certificate_parse(&input);
        hostile::key_parse(&input);
        parsed += usize::from(
            sslsocket::SslCertificate::from_der(&input).is_ok()
                || SslKey::private_key_from_der(&input, KeyFormat::Pkcs8).is_ok(),
        );
    }
    println!("{PARSES} mutated certificates and keys: {parsed} still parsed, none panicked");
}
