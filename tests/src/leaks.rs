//! "Connection count back to zero": the process's open sockets and pollers, counted from
//! `/proc/self/fd`, before and after a test.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// How long closed connections (handshake threads finishing, tasks dropping) may take to
/// release their descriptors.
pub const SETTLE: Duration = Duration::from_secs(10);

/// Sockets, epoll instances and eventfds (mio's pollers and wakers) this process has open.
/// `None` where `/proc` is not available.
#[must_use]
pub fn live_descriptors() -> Option<usize> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    let count = entries
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter(|target| {
            let t = target.to_string_lossy();
            t.starts_with("socket:") || t.starts_with("anon_inode:")
        })
        .count();
    Some(count)
}

/// Serialises the tests of one binary that count descriptors, and checks at the end that the
/// count is back where it was.
#[derive(Debug)]
pub struct LeakCheck {
    _serial: MutexGuard<'static, ()>,
    baseline: Option<usize>,
}

static SERIAL: Mutex<()> = Mutex::new(());

impl LeakCheck {
    /// Waits for the other counting tests of this binary, then takes the baseline.
    #[must_use]
    pub fn start() -> LeakCheck {
        let serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        LeakCheck { _serial: serial, baseline: live_descriptors() }
    }

    /// Waits (bounded by [`SETTLE`]) for the descriptor count to come back to the baseline.
    ///
    /// # Errors
    /// The baseline and the count left, when it does not.
    pub fn back_to_baseline(&self) -> Result<(), String> {
        let Some(baseline) = self.baseline else { return Ok(()) };
        let deadline = Instant::now() + SETTLE;
        loop {
            let now = live_descriptors().unwrap_or(0);
            if now <= baseline {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} socket/poller descriptors leaked ({baseline} before, {now} after)",
                    now - baseline
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}
