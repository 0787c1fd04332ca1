//! The command line: which metrics, which backends, how much; runs them A/B/A/B and prints
//! the report.

use std::io::{self, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::engines::{Backend, Driver, Env, Kind, DEFAULT_CIPHER};
use crate::memory::{memory_sample, MemoryPlan};
use crate::qt::{self, QtComparison, QtSamples};
use crate::report::{fmt_num, json, markdown_table, Goal, Row};
use crate::work::{self, HandshakePlan, Latency, Names};

/// The suites of the extra bulk rows by default.
const EXTRA_BULK_CIPHERS: [&str; 2] = ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"];

/// Which metrics to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Which {
    /// Every metric.
    All,
    /// Bulk throughput, client → server.
    Bulk,
    /// Full (and resumed) handshakes per second.
    Handshake,
    /// Memory per idle established connection.
    Memory,
    /// One-byte ping-pong round trips.
    Latency,
    /// One side (`--role`) of a fixed number of handshakes, for callgrind and strace: see
    /// [`crate::profile`]. Not part of `all`.
    Profile,
}

/// `sslsocket-benches [all|bulk|handshake|memory|latency] [--backend NAME]… [--quick]
/// [--json PATH]`: sslsocket against the raw engine it wraps, on loopback, in one run.
#[derive(Debug, Parser)]
#[command(name = "sslsocket-benches", version)]
pub struct Cli {
    /// The metric(s) to run.
    #[arg(value_enum, default_value_t = Which::All)]
    pub which: Which,
    /// A backend to measure (repeatable; default: every compiled one).
    #[arg(long = "backend", value_name = "NAME")]
    pub backends: Vec<String>,
    /// A driver to measure, `blocking` or `tokio` (repeatable; default: both).
    #[arg(long = "driver", value_name = "NAME")]
    pub drivers: Vec<String>,
    /// Seconds-long smoke run: small sizes, few rounds. Its figures mean nothing.
    #[arg(long)]
    pub quick: bool,
    /// Also write the results as a JSON array to PATH.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Also write the markdown report to PATH.
    #[arg(long, value_name = "PATH")]
    pub markdown: Option<PathBuf>,
    /// Rounds per pair (default 5; 2 with --quick).
    #[arg(long)]
    pub rounds: Option<usize>,
    /// MiB per bulk transfer (default 512; 8 with --quick).
    #[arg(long, value_name = "MIB")]
    pub bulk_mib: Option<u64>,
    /// Seconds per handshake sample (default 2; 0.1 with --quick).
    #[arg(long, value_name = "SECS")]
    pub handshake_secs: Option<f64>,
    /// At least this many handshakes per sample (default 20; 5 with --quick).
    #[arg(long, value_name = "N")]
    pub handshakes: Option<u64>,
    /// Slices per handshake sample: each round's raw and ours samples are taken as this many
    /// short slices, alternated raw/ours, ours/raw, … (default 8; 1 = one block per side).
    #[arg(long, value_name = "N")]
    pub handshake_slices: Option<u32>,
    /// Idle connections per memory sample (default 1000; 50 with --quick).
    #[arg(long, value_name = "N")]
    pub memory_conns: Option<usize>,
    /// Timed round trips per latency sample (default 20000; 500 with --quick).
    #[arg(long, value_name = "N")]
    pub latency_rtts: Option<usize>,
    /// The TLS 1.3 suite (IANA name) for backends that can choose one.
    #[arg(long, default_value = DEFAULT_CIPHER)]
    pub cipher: String,
    /// Further TLS 1.3 suites for extra bulk rows, on the backends that can choose a suite
    /// (repeatable; default: TLS_AES_256_GCM_SHA384 and TLS_CHACHA20_POLY1305_SHA256; `none`
    /// for no extra rows).
    #[arg(long = "bulk-cipher", value_name = "SUITE")]
    pub bulk_ciphers: Vec<String>,
    /// `profile`: which process this is.
    #[arg(long, value_enum, default_value_t = crate::profile::Role::Server)]
    pub role: crate::profile::Role,
    /// `profile`: raw engine or sslsocket (on both sides).
    #[arg(long, value_enum, default_value_t = crate::profile::Side::Ours)]
    pub side: crate::profile::Side,
    /// `profile`: the directory where the server writes the PKI and its address.
    #[arg(long, value_name = "DIR", default_value = "target/profile")]
    pub dir: PathBuf,
    /// `profile`: resumed handshakes (the same server name every time) instead of full ones.
    #[arg(long)]
    pub resumed: bool,
}

/// Sizes and counts of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Rounds per pair.
    pub rounds: usize,
    /// Bytes per bulk transfer.
    pub bulk_bytes: u64,
    /// Handshake sample plan (names are set per row).
    pub handshake_time: Duration,
    /// Minimum handshakes per sample.
    pub handshake_min: u64,
    /// Alternated slices per handshake sample.
    pub handshake_slices: u32,
    /// Connections per memory sample.
    pub memory_conns: usize,
    /// Warm-up connections before the memory baseline.
    pub memory_warmup: usize,
    /// Round trips per latency sample.
    pub latency_rtts: usize,
    /// Extra suites for bulk rows.
    pub bulk_ciphers: Vec<String>,
}

impl Settings {
    /// The settings `cli` asks for.
    #[must_use]
    pub fn from_cli(cli: &Cli) -> Settings {
        let q = cli.quick;
        Settings {
            rounds: cli.rounds.unwrap_or(if q { 2 } else { 5 }).max(1),
            bulk_bytes: cli.bulk_mib.unwrap_or(if q { 8 } else { 512 }).max(1) * 1024 * 1024,
            handshake_time: Duration::from_secs_f64(
                cli.handshake_secs.unwrap_or(if q { 0.1 } else { 2.0 }).max(0.0),
            ),
            handshake_min: cli.handshakes.unwrap_or(if q { 5 } else { 20 }).max(1),
            handshake_slices: cli.handshake_slices.unwrap_or(8).max(1),
            memory_conns: cli.memory_conns.unwrap_or(if q { 50 } else { 1000 }).max(1),
            memory_warmup: if q { 5 } else { 20 },
            latency_rtts: cli.latency_rtts.unwrap_or(if q { 500 } else { 20_000 }).max(1),
            bulk_ciphers: if cli.bulk_ciphers.is_empty() {
                EXTRA_BULK_CIPHERS.iter().map(|c| (*c).to_owned()).collect()
            } else {
                cli.bulk_ciphers.iter().filter(|c| *c != "none").cloned().collect()
            },
        }
    }
}

fn progress(text: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// Profiling aid: `SSLSOCKET_BENCH_ONLY=raw|ours` runs one kind only (and reports it as both,
/// so the ratios mean nothing).
fn measured(kind: Kind) -> Kind {
    match std::env::var("SSLSOCKET_BENCH_ONLY").as_deref() {
        Ok("raw") => Kind::Raw,
        Ok("ours") => Kind::Ours,
        _ => kind,
    }
}

/// Shows one round's pair and keeps it.
fn keep_round<T>(
    (label, round, rounds): (&str, usize, usize),
    show: &impl Fn(&T) -> String,
    (r, o): (T, T),
    (raw, ours): (&mut Vec<T>, &mut Vec<T>),
) {
    progress(&format!(
        "  {label} round {}/{rounds}: raw {}, ours {}",
        round + 1,
        show(&r),
        show(&o)
    ));
    raw.push(r);
    ours.push(o);
}

/// Runs `sample` for raw then ours, `rounds` times (A/B/A/B).
fn ab<T: std::fmt::Debug>(
    rounds: usize,
    label: &str,
    mut sample: impl FnMut(Kind) -> io::Result<T>,
    show: impl Fn(&T) -> String,
) -> io::Result<(Vec<T>, Vec<T>)> {
    let mut raw = Vec::with_capacity(rounds);
    let mut ours = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let pair = (sample(measured(Kind::Raw))?, sample(measured(Kind::Ours))?);
        keep_round((label, round, rounds), &show, pair, (&mut raw, &mut ours));
    }
    Ok((raw, ours))
}

/// [`ab`] for samples made of `slices` short slices per side: each round takes them
/// alternated raw, ours, then ours, raw, and so on, and its sample per side is the mean of
/// that side's slices. A host whose speed drifts over seconds (steal on a shared machine)
/// then slows both sides alike, where one block per side would give the drift to one of them.
fn ab_sliced(
    rounds: usize,
    slices: u32,
    label: &str,
    mut sample: impl FnMut(Kind) -> io::Result<f64>,
    mut after_round: impl FnMut(),
    show: impl Fn(&f64) -> String,
) -> io::Result<(Vec<f64>, Vec<f64>)> {
    let mut raw = Vec::with_capacity(rounds);
    let mut ours = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let (mut r, mut o) = (0.0, 0.0);
        for slice in 0..slices {
            if slice % 2 == 0 {
                r += sample(measured(Kind::Raw))?;
                o += sample(measured(Kind::Ours))?;
            } else {
                o += sample(measured(Kind::Ours))?;
                r += sample(measured(Kind::Raw))?;
            }
        }
        let pair = (r / f64::from(slices), o / f64::from(slices));
        keep_round((label, round, rounds), &show, pair, (&mut raw, &mut ours));
        after_round();
    }
    Ok((raw, ours))
}

fn bulk_sample(
    backend: Option<Backend>,
    driver: Driver,
    kind: Kind,
    env: &Env,
    bytes: u64,
) -> io::Result<f64> {
    match driver {
        Driver::Blocking => work::with_blocking_server(backend, kind, env, |c, addr| {
            work::bulk_blocking(c, addr, bytes)
        }),
        #[cfg(feature = "tokio")]
        Driver::Tokio => work::with_tokio_server(backend, kind, env, move |c, addr| {
            work::bulk_async(c, addr, bytes)
        }),
        #[cfg(not(feature = "tokio"))]
        Driver::Tokio => Err(crate::engines::other("built without tokio")),
    }
}

fn handshake_sample(
    backend: Backend,
    driver: Driver,
    kind: Kind,
    env: &Env,
    plan: HandshakePlan,
) -> io::Result<f64> {
    match driver {
        Driver::Blocking => work::with_blocking_server(Some(backend), kind, env, |c, addr| {
            work::handshakes_blocking(c, addr, plan)
        }),
        #[cfg(feature = "tokio")]
        Driver::Tokio => work::with_tokio_server(Some(backend), kind, env, move |c, addr| {
            work::handshakes_async(c, addr, plan)
        }),
        #[cfg(not(feature = "tokio"))]
        Driver::Tokio => Err(crate::engines::other("built without tokio")),
    }
}

fn latency_sample(
    backend: Backend,
    driver: Driver,
    kind: Kind,
    env: &Env,
    rtts: usize,
) -> io::Result<Latency> {
    match driver {
        Driver::Blocking => work::with_blocking_server(Some(backend), kind, env, |c, addr| {
            work::latency_blocking(c, addr, rtts)
        }),
        #[cfg(feature = "tokio")]
        Driver::Tokio => work::with_tokio_server(Some(backend), kind, env, move |c, addr| {
            work::latency_async(c, addr, rtts)
        }),
        #[cfg(not(feature = "tokio"))]
        Driver::Tokio => Err(crate::engines::other("built without tokio")),
    }
}

fn row(
    backend: &str,
    driver: Driver,
    metric: &str,
    unit: &str,
    raw: Vec<f64>,
    ours: Option<Vec<f64>>,
    goal: Goal,
) -> Row {
    Row {
        backend: backend.to_owned(),
        driver: driver.name().to_owned(),
        metric: metric.to_owned(),
        side: None,
        unit: unit.to_owned(),
        raw,
        ours,
        goal,
        note: None,
        baseline: None,
        cipher: None,
    }
}

/// Target of the `*_vs_qt` rows: the openssl backend at 1.8× Qt 6 QSslSocket or better.
const QT_GOAL: Goal = Goal::RatioAtLeast(1.8);

/// The `*_vs_qt` row (Qt as `raw`, ours as measured for the openssl row), when Qt ran in every
/// round; its error otherwise.
fn qt_row(
    out: &mut Outcome,
    label: &str,
    metric: &str,
    unit: &str,
    qt: QtSamples<'_>,
    ours: &[f64],
) {
    if let Some(e) = qt.error {
        out.failures.push(format!("{label} vs Qt: {e}"));
    } else if !qt.samples.is_empty() {
        let mut r = row(
            "openssl",
            Driver::Blocking,
            metric,
            unit,
            qt.samples,
            Some(ours.to_vec()),
            QT_GOAL,
        );
        r.baseline = Some("qt".to_owned());
        out.rows.push(r);
    }
}

/// Everything one run produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The table rows.
    pub rows: Vec<Row>,
    /// Pairs that failed, with their error.
    pub failures: Vec<String>,
    /// Lines shown under the table (the Qt comparison's versions, or why it was skipped).
    pub notes: Vec<String>,
}

/// Runs the metrics `which` for `backends` and `drivers`.
///
/// # Errors
/// Setup errors (PKI); a failing pair is recorded in [`Outcome::failures`] instead.
pub fn run(
    which: Which,
    backends: &[Backend],
    drivers: &[Driver],
    settings: &Settings,
    env: &Env,
) -> io::Result<Outcome> {
    let mut out = Outcome::default();
    let wants = |w: Which| which == Which::All || which == w;
    let rounds = settings.rounds;
    let mut qt_comparison = QtComparison::default();

    if wants(Which::Bulk) {
        let mib = settings.bulk_bytes / (1024 * 1024);
        for &driver in drivers {
            progress(&format!("bulk plain-tcp {} ({mib} MiB)", driver.name()));
            let mut samples = Vec::new();
            for round in 0..rounds {
                match bulk_sample(None, driver, Kind::Raw, env, settings.bulk_bytes) {
                    Ok(v) => {
                        progress(&format!("  round {}/{rounds}: {} MB/s", round + 1, fmt_num(v)));
                        samples.push(v);
                    }
                    Err(e) => out.failures.push(format!("bulk plain-tcp {}: {e}", driver.name())),
                }
            }
            if !samples.is_empty() {
                out.rows.push(row("plain-tcp", driver, "bulk", "MB/s", samples, None, Goal::None));
            }
        }
        for &backend in backends {
            let goal = Goal::RatioAtLeast(if backend == Backend::Rustls { 0.97 } else { 1.0 });
            for &driver in drivers {
                let label = format!("bulk {} {}", backend.name(), driver.name());
                let bench =
                    if qt::applies(backend, driver) { qt_comparison.bench(env) } else { None };
                let mut qt = QtSamples::new(bench);
                progress(&format!("{label} ({mib} MiB)"));
                let result = ab(
                    rounds,
                    &label,
                    |kind| {
                        let v = bulk_sample(Some(backend), driver, kind, env, settings.bulk_bytes);
                        qt.after(kind, |b| b.bulk(settings.bulk_bytes));
                        v
                    },
                    |v| format!("{} MB/s", fmt_num(*v)),
                );
                match result {
                    Ok((raw, ours)) => {
                        out.rows.push(row(
                            backend.name(),
                            driver,
                            "bulk",
                            "MB/s",
                            raw,
                            Some(ours.clone()),
                            goal,
                        ));
                        qt_row(&mut out, &label, "bulk_vs_qt", "MB/s", qt, &ours);
                    }
                    Err(e) => out.failures.push(format!("{label}: {e}")),
                }
            }
        }
    }

    if wants(Which::Bulk) {
        for cipher in &settings.bulk_ciphers {
            let extra = match Env::new(cipher) {
                Ok(extra) => extra,
                Err(e) => {
                    out.failures.push(format!("bulk with {cipher}: {e}"));
                    continue;
                }
            };
            for &backend in backends.iter().filter(|b| b.chooses_suite()) {
                let goal = Goal::RatioAtLeast(if backend == Backend::Rustls { 0.97 } else { 1.0 });
                for &driver in drivers {
                    let label = format!("bulk {} {} {cipher}", backend.name(), driver.name());
                    progress(&label);
                    let result = ab(
                        rounds,
                        &label,
                        |kind| {
                            bulk_sample(Some(backend), driver, kind, &extra, settings.bulk_bytes)
                        },
                        |v| format!("{} MB/s", fmt_num(*v)),
                    );
                    match result {
                        Ok((raw, ours)) => {
                            let mut r =
                                row(backend.name(), driver, "bulk", "MB/s", raw, Some(ours), goal);
                            r.cipher = Some(cipher.clone());
                            out.rows.push(r);
                        }
                        Err(e) => out.failures.push(format!("{label}: {e}")),
                    }
                }
            }
        }
    }

    if wants(Which::Handshake) {
        for &backend in backends {
            let mut kinds = vec![("handshake_full", Names::Unique)];
            if backend.resumes() {
                kinds.push(("handshake_resumed", Names::Same));
            }
            for &driver in drivers {
                for &(metric, names) in &kinds {
                    let label = format!("{metric} {} {}", backend.name(), driver.name());
                    progress(&label);
                    let plan = HandshakePlan {
                        time: settings.handshake_time,
                        min_count: settings.handshake_min,
                        names,
                    };
                    let slices = settings.handshake_slices;
                    let slice = HandshakePlan {
                        time: plan.time / slices,
                        min_count: plan.min_count.div_ceil(u64::from(slices)),
                        names,
                    };
                    let bench = if qt::applies(backend, driver) && names == Names::Unique {
                        qt_comparison.bench(env)
                    } else {
                        None
                    };
                    let mut qt = QtSamples::new(bench);
                    let result = ab_sliced(
                        rounds,
                        slices,
                        &label,
                        |kind| handshake_sample(backend, driver, kind, env, slice),
                        // Qt runs as a program of its own: one full sample per round.
                        || qt.after(Kind::Ours, |b| b.handshakes(plan)),
                        |v| format!("{}/s", fmt_num(*v)),
                    );
                    match result {
                        Ok((raw, ours)) => {
                            out.rows.push(row(
                                backend.name(),
                                driver,
                                metric,
                                "handshakes/s",
                                raw,
                                Some(ours.clone()),
                                Goal::RatioAtLeast(0.97),
                            ));
                            let qt_metric = format!("{metric}_vs_qt");
                            qt_row(&mut out, &label, &qt_metric, "handshakes/s", qt, &ours);
                        }
                        Err(e) => out.failures.push(format!("{label}: {e}")),
                    }
                }
            }
        }
    }

    if wants(Which::Memory) {
        let pki_dir =
            std::env::temp_dir().join(format!("sslsocket-benches-{}", std::process::id()));
        env.pki.save(&pki_dir)?;
        let plan = MemoryPlan {
            exe: std::env::current_exe()?,
            pki_dir: pki_dir.clone(),
            cipher: env.cipher.clone(),
            count: settings.memory_conns,
            warmup: settings.memory_warmup,
        };
        for &backend in backends {
            for &driver in drivers {
                let label = format!("idle_memory {} {}", backend.name(), driver.name());
                progress(&format!("{label} ({} connections)", plan.count));
                match ab(
                    rounds,
                    &label,
                    |kind| memory_sample(&plan, backend, driver, kind),
                    |m| {
                        format!(
                            "client {} KiB server {} KiB",
                            fmt_num(m.client_kib),
                            fmt_num(m.server_kib)
                        )
                    },
                ) {
                    Ok((raw, ours)) => {
                        for side in ["client", "server"] {
                            let pick = |m: &crate::memory::MemorySample| {
                                if side == "client" {
                                    m.client_kib
                                } else {
                                    m.server_kib
                                }
                            };
                            let mut r = row(
                                backend.name(),
                                driver,
                                "idle_memory",
                                "KiB/conn",
                                raw.iter().map(pick).collect(),
                                Some(ours.iter().map(pick).collect()),
                                Goal::AtMostRawPlus(2.0),
                            );
                            r.side = Some(side.to_owned());
                            out.rows.push(r);
                        }
                    }
                    Err(e) => out.failures.push(format!("{label}: {e}")),
                }
            }
        }
        let _ = std::fs::remove_dir_all(&pki_dir);
    }

    if wants(Which::Latency) {
        for &backend in backends {
            for &driver in drivers {
                let label = format!("latency {} {}", backend.name(), driver.name());
                progress(&format!("{label} ({} round trips)", settings.latency_rtts));
                match ab(
                    rounds,
                    &label,
                    |kind| latency_sample(backend, driver, kind, env, settings.latency_rtts),
                    |l| format!("p50 {} µs p99 {} µs", fmt_num(l.p50_us), fmt_num(l.p99_us)),
                ) {
                    Ok((raw, ours)) => {
                        out.rows.push(row(
                            backend.name(),
                            driver,
                            "latency_p50",
                            "µs",
                            raw.iter().map(|l| l.p50_us).collect(),
                            Some(ours.iter().map(|l| l.p50_us).collect()),
                            Goal::AtMostRawPlus(5.0),
                        ));
                        out.rows.push(row(
                            backend.name(),
                            driver,
                            "latency_p99",
                            "µs",
                            raw.iter().map(|l| l.p99_us).collect(),
                            Some(ours.iter().map(|l| l.p99_us).collect()),
                            Goal::None,
                        ));
                    }
                    Err(e) => out.failures.push(format!("{label}: {e}")),
                }
            }
        }
    }
    out.notes.extend(qt_comparison.note.take());
    out.failures.extend(qt_comparison.failure.take());
    Ok(out)
}

fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')))
        .map_or("unknown".to_owned(), |(_, m)| m.trim().to_owned());
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    format!("{model} ({cpus} CPUs)")
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// What each engine negotiated, from one sslsocket connection per backend (protocol and
/// suite as sslsocket reports them), plus rustls's key exchange group from a raw connection.
fn negotiated(backends: &[Backend], env: &Env) -> Vec<String> {
    let mut lines = Vec::new();
    for &backend in backends {
        let probe = work::with_blocking_server(Some(backend), Kind::Ours, env, |_, addr| {
            let mut socket = sslsocket::SslSocket::with_backend_handle(backend.handle()?);
            socket.set_ssl_configuration(env.ours_client(backend)?);
            socket.connect_to_host_encrypted_with_peer_name(
                &addr.ip().to_string(),
                addr.port(),
                "localhost",
            );
            socket.wait_for_encrypted(Duration::from_secs(10)).map_err(io::Error::from)?;
            let text = format!(
                "{:?}, {}",
                socket.session_protocol(),
                socket.session_cipher().map_or("suite not reported".to_owned(), |c| c.name)
            );
            std::io::Write::write_all(&mut socket, b"H")?;
            let mut answer = [0u8; 1];
            std::io::Read::read_exact(&mut socket, &mut answer)?;
            crate::engines::Conn::close(&mut socket);
            Ok(text)
        });
        let text = probe.unwrap_or_else(|e| format!("probe failed: {e}"));
        lines.push(format!("{}: {text}", backend.name()));
    }
    #[cfg(feature = "rustls")]
    if backends.contains(&Backend::Rustls) {
        if let Some(group) = rustls_group(env) {
            lines.push(format!("rustls key exchange (raw and ours: provider defaults): {group}"));
        }
        match rustls_resumption(env) {
            Ok(text) => lines.push(format!("rustls resumption check: {text}")),
            Err(e) => lines.push(format!("rustls resumption check failed: {e}")),
        }
    }
    #[cfg(feature = "openssl")]
    if backends.contains(&Backend::Openssl) {
        match openssl_resumption(env) {
            Ok(text) => lines.push(format!("openssl resumption check: {text}")),
            Err(e) => lines.push(format!("openssl resumption check failed: {e}")),
        }
    }
    lines
}

/// Whether sslsocket's openssl client and the raw OpenSSL client resume against a raw OpenSSL
/// server: `n` handshakes with the same server name after a first one, counted by the server's
/// `SSL_session_reused`.
#[cfg(feature = "openssl")]
fn openssl_resumption(env: &Env) -> io::Result<String> {
    use crate::engines::raw_openssl::RESUMED;
    use std::sync::atomic::Ordering;
    const N: u64 = 4;
    let mut text = Vec::new();
    for (client, label) in [(Kind::Ours, "ours client"), (Kind::Raw, "raw client")] {
        let acceptor = crate::engines::blocking_acceptor(Some(Backend::Openssl), Kind::Raw, env)?;
        let connector = crate::engines::blocking_connector(Some(Backend::Openssl), client, env)?;
        let addr = acceptor.local_addr();
        let serving = std::thread::spawn(move || work::serve_blocking(acceptor));
        let before = RESUMED.load(Ordering::Relaxed);
        let mut result = work::handshake_once(&*connector, addr, Names::Same);
        for _ in 0..N {
            result = result.and_then(|()| work::handshake_once(&*connector, addr, Names::Same));
        }
        let resumed = RESUMED.load(Ordering::Relaxed) - before;
        let quit = work::command_blocking(&*connector, addr, b'Q');
        let _ = serving.join();
        result?;
        quit?;
        text.push(format!("{label} → raw server: {resumed} of {N} resumed"));
    }
    Ok(text.join("; "))
}

/// Whether sessions resume between sslsocket and raw rustls, each way: `n` handshakes with
/// the same server name after a first one, counted by the raw side's `handshake_kind`.
#[cfg(feature = "rustls")]
fn rustls_resumption(env: &Env) -> io::Result<String> {
    use crate::engines::raw_rustls::RESUMED;
    use std::sync::atomic::Ordering;
    const N: u64 = 4;
    let mut text = Vec::new();
    for (client, server, side, label) in [
        (Kind::Ours, Kind::Raw, 1, "ours client → raw server"),
        (Kind::Raw, Kind::Ours, 0, "raw client → ours server"),
    ] {
        let acceptor = crate::engines::blocking_acceptor(Some(Backend::Rustls), server, env)?;
        let connector = crate::engines::blocking_connector(Some(Backend::Rustls), client, env)?;
        let addr = acceptor.local_addr();
        let serving = std::thread::spawn(move || work::serve_blocking(acceptor));
        let before = RESUMED[side].load(Ordering::Relaxed);
        let mut result = work::handshake_once(&*connector, addr, Names::Same);
        for _ in 0..N {
            result = result.and_then(|()| work::handshake_once(&*connector, addr, Names::Same));
        }
        let resumed = RESUMED[side].load(Ordering::Relaxed) - before;
        let quit = work::command_blocking(&*connector, addr, b'Q');
        let _ = serving.join();
        result?;
        quit?;
        text.push(format!("{label}: {resumed} of {N} resumed"));
    }
    Ok(text.join("; "))
}

#[cfg(feature = "rustls")]
fn rustls_group(env: &Env) -> Option<String> {
    let client = crate::engines::raw_rustls::client_config(env).ok()?;
    let server = crate::engines::raw_rustls::server_config(env).ok()?;
    let name = rustls::pki_types::ServerName::try_from("localhost").ok()?;
    let mut c = rustls::ClientConnection::new(client, name).ok()?;
    let mut s = rustls::ServerConnection::new(server).ok()?;
    for _ in 0..10 {
        let mut buf = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut buf).ok()?;
        }
        if !buf.is_empty() {
            s.read_tls(&mut buf.as_slice()).ok()?;
            s.process_new_packets().ok()?;
        }
        buf.clear();
        while s.wants_write() {
            s.write_tls(&mut buf).ok()?;
        }
        if !buf.is_empty() {
            c.read_tls(&mut buf.as_slice()).ok()?;
            c.process_new_packets().ok()?;
        }
        if !c.is_handshaking() && !s.is_handshaking() {
            break;
        }
    }
    c.negotiated_key_exchange_group().map(|g| format!("{:?}", g.name()))
}

/// The report: header, table, notes.
#[must_use]
pub fn render(
    outcome: &Outcome,
    settings: &Settings,
    backends: &[Backend],
    env: &Env,
    load: (&str, &str),
    negotiated: &[String],
) -> String {
    let mut s = String::new();
    s.push_str("## sslsocket vs the raw engines\n\n");
    let args: Vec<String> = std::env::args().skip(1).collect();
    s.push_str(&format!(
        "Command: `cargo run --release -p sslsocket-benches -- {}`\n\n",
        args.join(" ")
    ));
    s.push_str(&format!("- CPU: {}\n", cpu_model()));
    s.push_str(&format!("- load average: {} at start, {} at end\n", load.0, load.1));
    for &backend in backends {
        if let Ok(handle) = backend.handle() {
            s.push_str(&format!("- {}: {}\n", backend.name(), handle.library_version_string()));
        }
    }
    s.push_str(&format!(
        "- rounds: {} (A/B/A/B: raw, then ours, each round; median and min–max of the rounds)\n",
        settings.rounds
    ));
    s.push_str(&format!(
        "- bulk: {} MiB client → server per sample, 64 KiB writes and reads; handshakes: {:.1} s \
         (and at least {}) per sample, in {} slices alternated raw/ours, ours/raw, …; memory: {} \
         idle connections after {} warm-up ones; latency: {} timed round trips per sample\n",
        settings.bulk_bytes / (1024 * 1024),
        settings.handshake_time.as_secs_f64(),
        settings.handshake_min,
        settings.handshake_slices,
        settings.memory_conns,
        settings.memory_warmup,
        settings.latency_rtts
    ));
    s.push_str(&format!("- suite asked for (rustls, openssl): {}; negotiated:\n", env.cipher));
    for line in negotiated {
        s.push_str(&format!("  - {line}\n"));
    }
    s.push('\n');
    s.push_str(&markdown_table(&outcome.rows));
    s.push('\n');
    s.push_str(
        "Raw engines: rustls `StreamOwned` over std `TcpStream` / tokio-rustls; openssl \
         `SslStream` / tokio-openssl; native-tls `TlsStream` / tokio-native-tls. Ours: \
         `SslSocket` + `SslServer` / `AsyncSslSocket` + `AsyncSslServer`. Each engine is \
         configured as its sslsocket backend configures it (same certificates, suite, \
         protocol, key exchange defaults, session caches); raw sockets set TCP_NODELAY on both \
         ends. native-tls cannot choose suite or protocol: both sides run its defaults (TLS 1.2 \
         on a Linux server). Full handshakes use a new server name per connection (all under the \
         certificate's `*.bench.test`) so that no client session cache offers a session; \
         resumed rows only where the backend claims SessionTicket. Each handshake is a new TCP \
         connection, the handshake, a one-byte request and answer, and a graceful close: \
         close_notify, end of stream, and (blocking) a read until the peer's close_notify or end \
         of stream, as sslsocket's blocking socket closes; the raw blocking sides do it by hand. \
         Memory is the RSS growth of a child process per side divided by the connection count. Latency \
         rows are the median over rounds of each round's p50 / p99.\n",
    );
    for note in &outcome.notes {
        s.push_str(&format!("\n{note}\n"));
    }
    if !outcome.failures.is_empty() {
        s.push_str("\nFailed:\n");
        for f in &outcome.failures {
            s.push_str(&format!("- {f}\n"));
        }
    }
    s
}

/// The whole program, for the binary and the `cargo bench` target: runs the memory
/// benchmark's child (`args[1]` is [`crate::memory::CHILD_COMMAND`]) or parses `args` and
/// runs; exits the process with 1 on failure, 2 when a pair failed.
pub fn run_main(args: &[String]) {
    use crate::memory::{memory_child, CHILD_COMMAND};
    if args.get(1).map(String::as_str) == Some(CHILD_COMMAND) {
        if let Err(err) = memory_child(&args[2..]) {
            eprintln!("{CHILD_COMMAND}: {err}");
            std::process::exit(1);
        }
        return;
    }
    let cli = Cli::parse_from(args);
    match main_with(&cli) {
        Ok(true) => {}
        Ok(false) => std::process::exit(2),
        Err(err) => {
            eprintln!("sslsocket-benches: {err}");
            std::process::exit(1);
        }
    }
}

/// The entry point of the binary (after the hidden child command has been ruled out).
///
/// # Errors
/// Bad arguments, setup failures, or failures writing the outputs.
pub fn main_with(cli: &Cli) -> io::Result<bool> {
    let settings = Settings::from_cli(cli);
    let mut backends = Vec::new();
    for name in &cli.backends {
        let backend = Backend::parse(name).ok_or_else(|| {
            let have: Vec<&str> = Backend::compiled().iter().map(|b| b.name()).collect();
            crate::engines::other(format!(
                "no backend {name:?} is compiled in (have: {})",
                have.join(", ")
            ))
        })?;
        if !backends.contains(&backend) {
            backends.push(backend);
        }
    }
    if backends.is_empty() {
        backends = Backend::compiled();
    }
    let mut drivers = Vec::new();
    for name in &cli.drivers {
        let driver = Driver::compiled()
            .into_iter()
            .find(|d| d.name() == name)
            .ok_or_else(|| crate::engines::other(format!("no driver {name:?}")))?;
        if !drivers.contains(&driver) {
            drivers.push(driver);
        }
    }
    if drivers.is_empty() {
        drivers = Driver::compiled();
    }
    if cli.which == Which::Profile {
        let plan = crate::profile::ProfilePlan {
            role: cli.role,
            side: cli.side,
            backend: backends[0],
            driver: drivers[0],
            dir: cli.dir.clone(),
            handshakes: cli.handshakes.unwrap_or(20),
            resumed: cli.resumed,
            cipher: cli.cipher.clone(),
        };
        crate::profile::run(&plan)?;
        return Ok(true);
    }
    let env = Env::new(&cli.cipher)?;
    let load_start = loadavg();
    let negotiated = negotiated(&backends, &env);
    let outcome = run(cli.which, &backends, &drivers, &settings, &env)?;
    let load_end = loadavg();
    let text = render(&outcome, &settings, &backends, &env, (&load_start, &load_end), &negotiated);
    println!("{text}");
    if let Some(path) = &cli.markdown {
        std::fs::write(path, &text)?;
    }
    if let Some(path) = &cli.json {
        let body =
            serde_json::to_string_pretty(&json(&outcome.rows)).map_err(crate::engines::other)?;
        std::fs::write(path, body + "\n")?;
    }
    Ok(outcome.failures.is_empty())
}
