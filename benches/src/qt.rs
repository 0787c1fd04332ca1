//! The Qt comparison: Qt 6 `QSslSocket` (the application sslsocket replaces) on the same
//! OpenSSL, as the baseline of the `bulk_vs_qt` and `handshake_full_vs_qt` rows of the openssl
//! backend's blocking driver.
//!
//! `benches/qt/` is a small C++ program, `qt-bench`, built with cmake into
//! `<target>/qt-bench/` once per run, only when cmake finds Qt 6 (Debian/Ubuntu:
//! [`INSTALL_HINT`]); otherwise the comparison is skipped with one line, never failing the run.
//! [`QT_ENV`] names a prebuilt `qt-bench` instead, or turns the comparison off. `qt-bench` runs
//! its server and client in one process, reads the run's PKI (the same rcgen CA and leaf as
//! every engine) from a temporary directory, negotiates the run's suite over TLS 1.3 with the
//! OpenSSL TLS backend forced, and prints one JSON line per measurement.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::engines::{other, Backend, Driver, Env, Kind};
use crate::work::HandshakePlan;

/// Environment variable: a path to a prebuilt `qt-bench` (not rebuilt), or `off` to skip the
/// comparison.
pub const QT_ENV: &str = "SSLSOCKET_BENCH_QT";

/// What to install for the comparison on Debian 12 / Ubuntu.
pub const INSTALL_HINT: &str = "apt-get install qt6-base-dev cmake g++";

/// The target the comparison's rows are added to: sslsocket's openssl backend, blocking.
#[must_use]
pub fn applies(backend: Backend, driver: Driver) -> bool {
    backend == Backend::Openssl && driver == Driver::Blocking
}

/// Qt and its TLS library, as `qt-bench info` reports them.
#[derive(Debug, Clone)]
pub struct QtInfo {
    /// Qt's run-time version (`qVersion()`).
    pub qt: String,
    /// Qt's active TLS backend (`QSslSocket::activeBackend()`), always `openssl`.
    pub backend: String,
    /// `QSslSocket::sslLibraryVersionString()`: the OpenSSL loaded at run time.
    pub ssl: String,
}

/// A ready `qt-bench` and the PKI files it reads (removed on drop).
#[derive(Debug)]
pub struct QtBench {
    exe: PathBuf,
    dir: PathBuf,
    cipher: String,
    /// What `qt-bench info` reported.
    pub info: QtInfo,
}

/// Why there is no comparison.
#[derive(Debug)]
pub enum Unavailable {
    /// cmake, a C++ compiler or Qt 6 is missing, or [`QT_ENV`] is `off`: skipped, not a
    /// failure.
    Skipped(String),
    /// Qt 6 was found but `qt-bench` did not build or run.
    Failed(io::Error),
}

impl QtBench {
    /// Builds (or finds, through [`QT_ENV`]) `qt-bench`, writes `env`'s PKI for it and asks it
    /// which Qt and OpenSSL it runs.
    ///
    /// # Errors
    /// [`Unavailable::Skipped`] when Qt 6 or cmake is not installed; [`Unavailable::Failed`]
    /// when the build, the PKI files or `qt-bench info` fail.
    pub fn prepare(env: &Env) -> Result<QtBench, Unavailable> {
        let exe = match std::env::var_os(QT_ENV) {
            Some(v) if v == "off" => return Err(Unavailable::Skipped(format!("{QT_ENV}=off"))),
            Some(path) if !Path::new(&path).is_file() => {
                let path = Path::new(&path).display().to_string();
                return Err(Unavailable::Failed(other(format!("{QT_ENV}={path}: no such file"))));
            }
            Some(path) => PathBuf::from(path),
            None => build()?,
        };
        let dir = std::env::temp_dir().join(format!("sslsocket-benches-qt-{}", std::process::id()));
        env.pki.save(&dir).map_err(Unavailable::Failed)?;
        let mut bench = QtBench {
            exe,
            dir,
            cipher: env.cipher.clone(),
            info: QtInfo { qt: String::new(), backend: String::new(), ssl: String::new() },
        };
        let line = bench.run(&["info"]).map_err(Unavailable::Failed)?;
        let text = |key: &str| line[key].as_str().unwrap_or("unknown").to_owned();
        bench.info = QtInfo { qt: text("qt"), backend: text("backend"), ssl: text("ssl") };
        Ok(bench)
    }

    /// One bulk sample: `bytes` (whole MiB) client → server, in MB/s.
    ///
    /// # Errors
    /// When `qt-bench` fails or prints no figure.
    pub fn bulk(&self, bytes: u64) -> io::Result<f64> {
        let mib = (bytes / (1024 * 1024)).max(1).to_string();
        value(&self.measure(&["bulk", "--mib", &mib])?)
    }

    /// One full-handshake sample (fresh server name per connection), in handshakes/s.
    ///
    /// # Errors
    /// When `qt-bench` fails or prints no figure.
    pub fn handshakes(&self, plan: HandshakePlan) -> io::Result<f64> {
        let secs = plan.time.as_secs_f64().to_string();
        let min = plan.min_count.to_string();
        value(&self.measure(&["handshake", "--secs", &secs, "--min", &min])?)
    }

    /// A line for the report: versions, and whether Qt loaded the OpenSSL sslsocket's
    /// openssl backend reports.
    #[must_use]
    pub fn describe(&self) -> String {
        let ours = Backend::Openssl.handle().map(|h| h.library_version_string());
        let same = match &ours {
            Ok(v) if *v == self.info.ssl => "yes".to_owned(),
            Ok(v) => format!("**no**, the openssl backend runs {v}"),
            Err(e) => format!("unknown ({e})"),
        };
        format!(
            "Qt comparison (`*_vs_qt` rows: raw = Qt {} QSslSocket, TLS backend {}, {}; \
             same OpenSSL as the openssl backend: {same}; ours = the openssl blocking rows' own \
             samples, Qt run right after ours in each round): `{}`",
            self.info.qt,
            self.info.backend,
            self.info.ssl,
            self.exe.display()
        )
    }

    fn measure(&self, args: &[&str]) -> io::Result<serde_json::Value> {
        let dir = &self.dir;
        let files = [
            ("--ca", dir.join("ca.der")),
            ("--cert", dir.join("leaf.pem")),
            ("--key", dir.join("key.pem")),
        ];
        let mut all: Vec<String> = args.iter().map(|&a| a.to_owned()).collect();
        for (flag, path) in files {
            all.push(flag.to_owned());
            all.push(path.to_string_lossy().into_owned());
        }
        all.push("--cipher".to_owned());
        all.push(self.cipher.clone());
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        self.run(&refs)
    }

    /// Runs `qt-bench ARGS` and parses the last line it printed.
    fn run(&self, args: &[&str]) -> io::Result<serde_json::Value> {
        let output = Command::new(&self.exe).args(args).output()?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            return Err(other(format!(
                "qt-bench {}: {}: {}",
                args[0],
                output.status,
                stderr.trim()
            )));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout.lines().last().unwrap_or_default();
        let json: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| other(format!("qt-bench printed {line:?}: {e}")))?;
        if json["backend"] != "openssl" {
            return Err(other(format!("qt-bench ran on TLS backend {}", json["backend"])));
        }
        Ok(json)
    }
}

impl Drop for QtBench {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A run's comparison: prepared on first use, at most once; Qt samples taken right after
/// each of ours.
#[derive(Debug, Default)]
pub struct QtComparison {
    tried: bool,
    bench: Option<QtBench>,
    /// Why it was skipped, or the report line describing it.
    pub note: Option<String>,
    /// Why it failed, for the report's failures.
    pub failure: Option<String>,
}

impl QtComparison {
    /// The `qt-bench` to run, prepared (built) on the first call; `None` when Qt is
    /// unavailable, after saying why on stderr once.
    pub fn bench(&mut self, env: &Env) -> Option<&QtBench> {
        if !self.tried {
            self.tried = true;
            eprintln!("Qt comparison: preparing qt-bench (benches/qt)");
            match QtBench::prepare(env) {
                Ok(bench) => {
                    eprintln!("  {}", bench.describe());
                    self.note = Some(bench.describe());
                    self.bench = Some(bench);
                }
                Err(Unavailable::Skipped(why)) => {
                    let line = format!("Qt comparison skipped: {why}");
                    eprintln!("{line}");
                    self.note = Some(line);
                }
                Err(Unavailable::Failed(e)) => {
                    eprintln!("Qt comparison failed: {e}");
                    self.failure = Some(format!("Qt comparison: {e}"));
                }
            }
        }
        self.bench.as_ref()
    }
}

/// Samples of Qt collected during an A/B run, one after each of ours.
#[derive(Debug)]
pub struct QtSamples<'a> {
    bench: Option<&'a QtBench>,
    /// Qt's figures, one per round.
    pub samples: Vec<f64>,
    /// The first error (no more samples are taken after it).
    pub error: Option<io::Error>,
}

impl<'a> QtSamples<'a> {
    /// Collects from `bench` (`None`: nothing is run).
    #[must_use]
    pub fn new(bench: Option<&'a QtBench>) -> QtSamples<'a> {
        QtSamples { bench, samples: Vec::new(), error: None }
    }

    /// After a sample of `kind`: when it was ours, takes one Qt sample with `sample`.
    pub fn after(&mut self, kind: Kind, sample: impl FnOnce(&QtBench) -> io::Result<f64>) {
        let Some(bench) = self.bench else { return };
        if kind != Kind::Ours || self.error.is_some() {
            return;
        }
        match sample(bench) {
            Ok(v) => {
                eprintln!("    Qt QSslSocket: {}", crate::report::fmt_num(v));
                self.samples.push(v);
            }
            Err(e) => self.error = Some(e),
        }
    }
}

fn value(line: &serde_json::Value) -> io::Result<f64> {
    line["value"]
        .as_f64()
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| other(format!("qt-bench printed no figure: {line}")))
}

/// `cmake -S benches/qt -B <target>/qt-bench` and `cmake --build`: the path of `qt-bench`.
fn build() -> Result<PathBuf, Unavailable> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("qt");
    if !source.join("CMakeLists.txt").is_file() {
        return Err(Unavailable::Skipped(format!("no sources at {}", source.display())));
    }
    let build = target_dir().join("qt-bench");
    let configure = Command::new("cmake")
        .arg("-S")
        .arg(&source)
        .arg("-B")
        .arg(&build)
        .arg("-DCMAKE_BUILD_TYPE=Release")
        .output();
    let configure = match configure {
        Ok(out) => out,
        Err(e) => return Err(not_installed(&format!("cannot run cmake: {e}"))),
    };
    if !configure.status.success() {
        // Qt 6 or a C++ compiler not found: the usual case on a machine without Qt.
        let err = String::from_utf8_lossy(&configure.stderr);
        let why = if err.contains("Qt6") {
            "cmake found no Qt6Config.cmake".to_owned()
        } else if err.contains("CMAKE_CXX_COMPILER") {
            "cmake found no C++ compiler".to_owned()
        } else {
            let first = err.lines().map(str::trim).find(|l| !l.is_empty());
            format!("cmake configure failed: {}", first.unwrap_or("no output"))
        };
        return Err(not_installed(&why));
    }
    let built =
        Command::new("cmake").arg("--build").arg(&build).output().map_err(Unavailable::Failed)?;
    if !built.status.success() {
        let log = String::from_utf8_lossy(&built.stdout) + String::from_utf8_lossy(&built.stderr);
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(Unavailable::Failed(other(format!(
            "building {} failed:\n{}",
            source.display(),
            tail.join("\n")
        ))));
    }
    Ok(build.join("qt-bench"))
}

fn not_installed(why: &str) -> Unavailable {
    Unavailable::Skipped(format!(
        "Qt 6 is not installed ({why}); to add it: `{INSTALL_HINT}`, or set {QT_ENV} to a \
         prebuilt qt-bench"
    ))
}

/// Cargo's target directory: `CARGO_TARGET_DIR`, else the nearest ancestor of this executable
/// holding cargo's `CACHEDIR.TAG`, else the workspace's `target/`.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.ancestors().find(|d| d.join("CACHEDIR.TAG").is_file()) {
            return dir.to_path_buf();
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_openssl_blocking_rows_get_a_qt_comparison() {
        assert!(applies(Backend::Openssl, Driver::Blocking));
        assert!(!applies(Backend::Openssl, Driver::Tokio));
        assert!(!applies(Backend::Rustls, Driver::Blocking));
        assert!(!applies(Backend::Native, Driver::Blocking));
    }

    #[test]
    fn a_line_without_a_positive_figure_is_an_error() {
        assert_eq!(value(&serde_json::json!({"value": 612.5})).unwrap(), 612.5);
        assert!(value(&serde_json::json!({"value": 0.0})).is_err());
        assert!(value(&serde_json::json!({"metric": "bulk"})).is_err());
    }

    /// With Qt 6 and cmake installed the Qt rows appear; without, one note says why. Either
    /// way nothing fails.
    #[cfg(feature = "openssl")]
    #[test]
    fn openssl_blocking_runs_get_qt_rows_or_a_skip_note() {
        use crate::run::{run, Settings, Which};
        use std::time::Duration;

        let env = Env::new(crate::engines::DEFAULT_CIPHER).unwrap();
        let settings = Settings {
            rounds: 1,
            bulk_bytes: 1024 * 1024,
            handshake_time: Duration::ZERO,
            handshake_min: 3,
            handshake_slices: 2,
            memory_conns: 1,
            memory_warmup: 0,
            latency_rtts: 1,
            bulk_ciphers: Vec::new(),
        };
        for (which, metric) in
            [(Which::Bulk, "bulk_vs_qt"), (Which::Handshake, "handshake_full_vs_qt")]
        {
            let out =
                run(which, &[Backend::Openssl], &[Driver::Blocking], &settings, &env).unwrap();
            assert!(out.failures.is_empty(), "{:?}", out.failures);
            let qt_rows: Vec<_> = out.rows.iter().filter(|r| r.metric == metric).collect();
            let skipped = out.notes.iter().any(|n| n.starts_with("Qt comparison skipped"));
            if skipped {
                assert!(qt_rows.is_empty(), "{qt_rows:?}");
            } else {
                assert_eq!(qt_rows.len(), 1, "{:?} {:?}", out.rows, out.notes);
                let row = qt_rows[0];
                assert_eq!(row.baseline.as_deref(), Some("qt"));
                assert!(row.raw_median() > 0.0 && row.ratio().unwrap() > 0.0, "{row:?}");
            }
        }
    }
}
