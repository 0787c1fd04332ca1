//! TLS peers nobody here wrote — `openssl s_server` / `s_client`, `gnutls-serv` /
//! `gnutls-cli`, `curl`, Python's `ssl` — run as child processes on loopback, each behind a
//! guard that kills it on drop so nothing outlives its test.
//!
//! Certificates are written per run into a temporary directory ([`PemDir`]) for the tools to
//! read.
//!
//! # Missing programs
//!
//! One rule for every test that needs an outside program: look it up ([`locate`],
//! [`first_missing`]) before the part that needs it. A missing one is a [`Missing`], reported
//! where the part would have been (`n/a: gnutls-cli not installed (apt-get install gnutls-bin)`),
//! and handed at the end of the test to [`settle_missing`]: in a plain `cargo test` the test
//! passes and prints what it did not run; with `SSLSOCKET_REQUIRE_PEERS=1` (set by `.ci/run`,
//! which installs the programs) it fails and names them. A table of cells does all of this
//! through [`crate::table::Table::run`] and [`crate::table::Table::report`]; a test that needs its
//! programs or nothing starts with [`all_installed`]. [`Peer::spawn`] on a missing program is an
//! error naming its package, never a silent skip.

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use conformance::pki::Identity;
use sslsocket::SslCertificate;

/// How long a peer process may take to start listening, or to finish its exchange.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(15);

/// The environment variable that turns a missing outside program into a test failure: set to
/// `1`, every program a test needs must be installed.
pub const REQUIRE_PEERS: &str = "SSLSOCKET_REQUIRE_PEERS";

/// The Debian package that provides `program` (for the message when it is missing).
#[must_use]
pub fn package_of(program: &str) -> &'static str {
    match program {
        "openssl" => "openssl",
        "gnutls-serv" | "gnutls-cli" => "gnutls-bin",
        "curl" => "curl",
        "python3" => "python3",
        "microsocks" => "microsocks",
        "tinyproxy" => "tinyproxy",
        _ => "?",
    }
}

/// An outside program a test needs that is not on `PATH`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Missing {
    /// The program's name, as looked up on `PATH`.
    pub program: String,
}

impl Missing {
    /// The Debian package to install.
    #[must_use]
    pub fn package(&self) -> &'static str {
        package_of(&self.program)
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} not installed (apt-get install {})", self.program, self.package())
    }
}

/// The path of `program` on `PATH`.
///
/// # Errors
/// [`Missing`] when it is not there.
pub fn locate(program: &str) -> Result<PathBuf, Missing> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| Missing { program: program.to_owned() })
}

/// The first of `programs` that is not on `PATH`, if any.
#[must_use]
pub fn first_missing(programs: &[&str]) -> Option<Missing> {
    programs.iter().find_map(|program| locate(program).err())
}

/// Whether [`REQUIRE_PEERS`] is set to `1`.
#[must_use]
pub fn peers_required() -> bool {
    std::env::var(REQUIRE_PEERS).is_ok_and(|v| v == "1")
}

/// The missing programs, deduplicated, in first-seen order, as `a, b`.
#[must_use]
pub fn program_list<'a>(missing: impl IntoIterator<Item = &'a Missing>) -> String {
    let mut seen = BTreeSet::new();
    let mut names = Vec::new();
    for m in missing {
        if seen.insert(m.program.as_str()) {
            names.push(m.program.as_str());
        }
    }
    names.join(", ")
}

/// Ends the part of `test` that could not run for `missing` programs (nothing to do when none
/// is missing).
///
/// # Panics
/// With [`REQUIRE_PEERS`]`=1` and any program missing: the message names each program and its
/// package. Without it, the programs are printed and the test goes on.
pub fn settle_missing(test: &str, missing: &[Missing]) {
    settle(test, missing, peers_required());
}

fn settle(test: &str, missing: &[Missing], required: bool) {
    if missing.is_empty() {
        return;
    }
    let packages: Vec<&str> =
        missing.iter().map(Missing::package).collect::<BTreeSet<_>>().into_iter().collect();
    let programs = program_list(missing);
    assert!(
        !required,
        "{test}: {REQUIRE_PEERS}=1 and not installed: {programs} (apt-get install {})",
        packages.join(" ")
    );
    println!(
        "{test}: not run for want of {programs} (apt-get install {}); \
         {REQUIRE_PEERS}=1 makes this a failure",
        packages.join(" ")
    );
}

/// Whether every one of `programs` is installed, for a test that needs all of them or nothing:
/// `false` (the test returns, having printed what it did not run) when one is missing.
///
/// # Panics
/// As [`settle_missing`]: with [`REQUIRE_PEERS`]`=1` and a program missing.
#[must_use]
pub fn all_installed(test: &str, programs: &[&str]) -> bool {
    let missing: Vec<Missing> = programs.iter().filter_map(|p| locate(p).err()).collect();
    settle_missing(test, &missing);
    missing.is_empty()
}

/// The path of `program` on `PATH`.
///
/// # Errors
/// A message naming the package to install when it is not there.
pub fn find(program: &str) -> Result<PathBuf, String> {
    locate(program).map_err(|missing| missing.to_string())
}

/// A temporary directory of PEM files for the tools, removed on drop.
#[derive(Debug)]
pub struct PemDir {
    dir: tempfile::TempDir,
}

/// The files of one identity: certificate chain (or part of it) and key.
#[derive(Debug, Clone)]
pub struct IdentityFiles {
    /// The certificates the peer sends, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8 PEM).
    pub key: PathBuf,
}

impl PemDir {
    /// A new empty directory.
    ///
    /// # Panics
    /// When no temporary directory can be made.
    #[must_use]
    pub fn new() -> PemDir {
        PemDir { dir: tempfile::tempdir().expect("a temporary directory") }
    }

    /// The directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` as `name` and returns its path.
    ///
    /// # Panics
    /// When the file cannot be written.
    #[must_use]
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write a PEM file");
        path
    }

    /// Writes a certificate as `name`.
    #[must_use]
    pub fn certificate(&self, name: &str, cert: &SslCertificate) -> PathBuf {
        self.write(name, &cert.to_pem())
    }

    /// Writes an identity's whole chain and key as `name.pem` / `name.key`.
    #[must_use]
    pub fn identity(&self, name: &str, id: &Identity) -> IdentityFiles {
        IdentityFiles {
            cert: self.write(&format!("{name}.pem"), &id.chain_pem),
            key: self.write(&format!("{name}.key"), &id.key_pem),
        }
    }

    /// Writes only an identity's leaf (no intermediates: an incomplete chain) and key.
    #[must_use]
    pub fn leaf_only(&self, name: &str, id: &Identity) -> IdentityFiles {
        IdentityFiles {
            cert: self.certificate(&format!("{name}.pem"), id.leaf()),
            key: self.write(&format!("{name}.key"), &id.key_pem),
        }
    }
}

impl Default for PemDir {
    fn default() -> PemDir {
        PemDir::new()
    }
}

/// A running child process, killed (and reaped) on drop. Its stdout and stderr are collected
/// by two threads into one log.
#[derive(Debug)]
pub struct Peer {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    log: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
}

impl Peer {
    /// Starts `program` with `args` in `dir`, stdin piped.
    ///
    /// # Errors
    /// A missing program (naming its package), or a failure to start it.
    pub fn spawn(program: &str, args: &[String], dir: &Path) -> Result<Peer, String> {
        let path = find(program)?;
        let mut child = Command::new(path)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        let log = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(collect(out, log.clone()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(collect(err, log.clone()));
        }
        let stdin = child.stdin.take();
        let name = format!("{program} {}", args.join(" "));
        Ok(Peer { name, child, stdin, log, readers, status: None })
    }

    /// Everything the process printed so far (stdout and stderr interleaved).
    #[must_use]
    pub fn output(&self) -> String {
        self.log.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Waits until the output contains `needle`.
    ///
    /// # Errors
    /// When the process exits first, or after `timeout`; the message holds the output.
    pub fn wait_for_output(&mut self, needle: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.output().contains(needle) {
                return Ok(());
            }
            if let Some(status) = self.try_status() {
                // Give the readers a moment to collect the last lines.
                thread::sleep(Duration::from_millis(50));
                if self.output().contains(needle) {
                    return Ok(());
                }
                return Err(format!("{} exited ({status}) before {needle:?}", self.describe()));
            }
            if Instant::now() >= deadline {
                return Err(format!("{} did not print {needle:?} in {timeout:?}", self.describe()));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Writes `bytes` to the process's stdin.
    ///
    /// # Errors
    /// When its stdin is closed.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let stdin = self.stdin.as_mut().ok_or(io::ErrorKind::BrokenPipe)?;
        stdin.write_all(bytes)?;
        stdin.flush()
    }

    /// Closes the process's stdin (end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the process to exit.
    ///
    /// # Errors
    /// After `timeout` (the process is killed then); the message holds the output.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status() {
                self.join_readers();
                return Ok(status);
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(format!("{} still running after {timeout:?}", self.describe()));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The command line and what it printed, for failure messages.
    #[must_use]
    pub fn describe(&self) -> String {
        let output = self.output();
        let tail: String = {
            let lines: Vec<&str> = output.lines().collect();
            lines[lines.len().saturating_sub(25)..].join("\n    ")
        };
        format!("`{}`\n    {tail}", self.name)
    }

    fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    fn kill(&mut self) {
        self.stdin = None;
        if self.try_status().is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
        self.join_readers();
    }

    fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn collect(mut from: impl Read + Send + 'static, log: Arc<Mutex<String>>) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => log
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    })
}

/// A port on 127.0.0.1 that was free a moment ago (for tools that take a port number).
///
/// # Panics
/// When no port can be bound.
#[must_use]
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Starts a server tool on a free port: `args(port)` builds its command line, and it is ready
/// once it prints `ready`. A port taken between the check and the bind is retried.
///
/// # Errors
/// A missing tool, or a server that never became ready (with its output).
pub fn spawn_server(
    program: &str,
    args: impl Fn(u16) -> Vec<String>,
    ready: &str,
    dir: &Path,
) -> Result<(Peer, u16), String> {
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port();
        let mut peer = Peer::spawn(program, &args(port), dir)?;
        match peer.wait_for_output(ready, PEER_TIMEOUT) {
            Ok(()) => return Ok((peer, port)),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Command-line arguments from string slices.
#[must_use]
pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// A path as a command-line argument.
#[must_use]
pub fn arg(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::{program_list, settle, Missing};

    fn missing(program: &str) -> Missing {
        Missing { program: program.to_owned() }
    }

    #[test]
    fn a_missing_program_names_its_package() {
        assert_eq!(
            missing("gnutls-cli").to_string(),
            "gnutls-cli not installed (apt-get install gnutls-bin)"
        );
        let list = [missing("gnutls-serv"), missing("gnutls-cli"), missing("gnutls-serv")];
        assert_eq!(program_list(&list), "gnutls-serv, gnutls-cli");
    }

    #[test]
    #[should_panic(
        expected = "interop: SSLSOCKET_REQUIRE_PEERS=1 and not installed: gnutls-serv, gnutls-cli \
                    (apt-get install gnutls-bin)"
    )]
    fn a_missing_program_fails_when_peers_are_required() {
        settle("interop", &[missing("gnutls-serv"), missing("gnutls-cli")], true);
    }

    #[test]
    fn a_missing_program_is_reported_without_failing_otherwise() {
        settle("interop", &[missing("gnutls-serv")], false);
        settle("interop", &[], true);
    }
}
