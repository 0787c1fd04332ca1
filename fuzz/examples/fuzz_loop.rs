//! The fuzz targets without libFuzzer: a seeded loop over random and mutated inputs, on stable
//! Rust. Same target bodies as `cargo fuzz` (`sslsocket_tests::hostile`).
//!
//! ```text
//! cargo run --release --example fuzz_loop -- [TARGET|all] [ITERATIONS] [SEED]
//! cargo run --release --example fuzz_loop -- corpus    # writes seed inputs to corpus/<target>/
//! ```
//!
//! A panic is a crash: the input that caused it is written to `crashes/<target>-<n>` and the
//! loop goes on; the summary counts executions and crashes per target.

use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

use sslsocket_tests::backends;
use sslsocket_tests::hostile::{self, Rng};

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 5] = [
    ("connection_client", hostile::connection_client),
    ("connection_server", hostile::connection_server),
    ("certificate_parse", hostile::certificate_parse),
    ("key_parse", key_parse),
    ("configuration", configuration),
];

fn configuration(data: &[u8]) {
    let _ = hostile::configuration(data);
}

fn key_parse(data: &[u8]) {
    hostile::key_parse(data);
    hostile::encrypted_key_parse(data);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map_or("all", String::as_str);
    if which == "corpus" {
        write_corpus();
        return;
    }
    let iterations: u64 = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let seed: u64 = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1);
    // Crashes are counted and saved, not printed one by one.
    panic::set_hook(Box::new(|_| {}));
    let mut failed = false;
    for (name, target) in TARGETS {
        if which != "all" && which != name {
            continue;
        }
        let seeds = seeds(name);
        let mut rng = Rng::new(seed);
        let started = Instant::now();
        let mut crashes = 0;
        for _ in 0..iterations {
            let input = input(&mut rng, &seeds, name.starts_with("connection"));
            if panic::catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
                crashes += 1;
                let _ = std::fs::create_dir_all("crashes");
                let _ = std::fs::write(format!("crashes/{name}-{crashes}"), &input);
            }
        }
        println!(
            "{name:<18} {iterations} executions in {:.1} s (seed {seed}): {crashes} crashes",
            started.elapsed().as_secs_f64()
        );
        failed |= crashes > 0;
    }
    if failed {
        std::process::exit(1);
    }
}

/// Well-formed inputs for `target`: recorded handshake flights (prefixed with the byte that
/// picks their backend) or certificates and keys.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    match target {
        "connection_client" | "connection_server" => {
            let mut seeds = Vec::new();
            for (i, backend) in backends().iter().enumerate() {
                let (to_server, to_client) = hostile::recorded_handshake(backend);
                let flight = if target == "connection_server" { to_server } else { to_client };
                // Selector i: backend i, chunks of 1 to 97 bytes (see connection_input).
                seeds.push([vec![u8::try_from(i).unwrap_or(0) + 16], flight].concat());
            }
            seeds
        }
        _ => hostile::parser_seeds(),
    }
}

/// Half the time a mutated seed, otherwise random bytes (a handshake record header often).
fn input(rng: &mut Rng, seeds: &[Vec<u8>], connection: bool) -> Vec<u8> {
    if rng.below(2) == 0 && !seeds.is_empty() {
        let mut input = seeds[rng.below(seeds.len())].clone();
        hostile::mutate(rng, &mut input);
        if connection && rng.below(2) == 0 {
            if let Some(selector) = input.first_mut() {
                *selector = rng.next_u64() as u8;
            }
        }
        return input;
    }
    let len = rng.below(2048);
    let mut input = rng.bytes(len);
    if connection && input.len() > 1 {
        input[1] = 0x16;
    }
    input
}

fn write_corpus() {
    for (name, _) in TARGETS {
        let dir = format!("corpus/{name}");
        std::fs::create_dir_all(&dir).expect("create the corpus directory");
        for (i, seed) in seeds(name).iter().enumerate() {
            std::fs::write(format!("{dir}/seed-{i}"), seed).expect("write a seed");
        }
        println!("{dir}: {} seeds", seeds(name).len());
    }
}
