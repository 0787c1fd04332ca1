//! The driving loop the drivers share.

use std::io;
use std::time::Instant;

use super::Connection;

/// Write-then-read rounds one `pump` call makes at most.
const PUMP_ROUNDS: usize = 4;
/// Transport reads one round makes at most.
const READS_PER_ROUND: usize = 16;

impl Connection {
    /// Moves bytes both ways over `transport` until it would block or the connection wants
    /// nothing, in bounded rounds: the caller checks what it waits for (e.g. `Encrypted`)
    /// between calls instead of draining a fast peer into memory first. The caller loops while
    /// this reports progress and waits for the transport only after a call that moved
    /// nothing (then every wanted direction has seen `WouldBlock`, so edge-triggered
    /// readiness is safe). Transport errors end the connection (see `poll_transmit` and
    /// `handle_readable`).
    ///
    /// Plaintext the engine holds when `pump` is called (the application has not read it)
    /// first moves into the read buffer, within its limit, so that the engine can take more
    /// from the transport: an application that waits for more data before reading (Qt's
    /// `while bytesAvailable() < n: waitForReadyRead()`) gets it. An application that reads
    /// before it waits never pays that copy.
    pub fn pump<T: io::Read + io::Write>(&mut self, transport: &mut T, now: Instant) -> bool {
        self.buffer_plaintext();
        let mut progressed = false;
        for _ in 0..PUMP_ROUNDS {
            let mut moved = false;
            while self.wants_write() {
                match self.poll_transmit(transport) {
                    Ok(n) if n > 0 => moved = true,
                    _ => break,
                }
            }
            for _ in 0..READS_PER_ROUND {
                if !self.wants_read() {
                    break;
                }
                match self.handle_readable(transport, now) {
                    Ok(0) => {
                        moved = true;
                        break;
                    }
                    Ok(_) => moved = true,
                    Err(_) => break,
                }
            }
            if !moved {
                return progressed;
            }
            progressed = true;
        }
        progressed
    }
}
