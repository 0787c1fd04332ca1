//! Who waits on a socket: the reading task and the writing task, which are two different
//! tasks when the socket is used through `tokio::io::split`.
//!
//! tokio keeps one waker per readiness direction of a stream, and one per timer. A socket
//! that registered the calling task's waker would let each half steal the other's wake-up:
//! the reader registers for writability too (TLS may have to write to read), the writer for
//! readability (it may have to read to write), and one of them sleeps forever. So the socket
//! registers one waker of its own with the stream, the timer and the connect, and that waker
//! wakes every task that waits; a task that did not wait for what happened polls once for
//! nothing and waits again. Progress one side makes on the other's behalf (a write that read
//! the transport and decrypted data) wakes the other side directly.
//!
//! Written by hand: the two-slot fan-out is a dozen lines over `std::task::Wake`; the crates
//! that have one (futures-util's `AtomicWaker` holds a single waker) would still need it.

use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Wake, Waker};

/// The side a poll is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    /// `poll_read`, and the socket's own async methods (which hold it exclusively).
    Reader,
    /// `poll_write`, `poll_flush`, `poll_shutdown`.
    Writer,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Reader => Side::Writer,
            Side::Writer => Side::Reader,
        }
    }
}

/// The waiting tasks, and the waker registered on their behalf.
pub(super) struct Waiters {
    slots: Arc<Slots>,
    waker: Waker,
}

#[derive(Default)]
struct Slots {
    reader: Mutex<Option<Waker>>,
    writer: Mutex<Option<Waker>>,
}

impl Slots {
    fn slot(&self, side: Side) -> &Mutex<Option<Waker>> {
        match side {
            Side::Reader => &self.reader,
            Side::Writer => &self.writer,
        }
    }

    fn wake_side(&self, side: Side) {
        let waker = self.slot(side).lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Wake for Slots {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_side(Side::Reader);
        self.wake_side(Side::Writer);
    }
}

impl Waiters {
    pub(super) fn new() -> Waiters {
        let slots = Arc::new(Slots::default());
        let waker = Waker::from(slots.clone());
        Waiters { slots, waker }
    }

    /// The waker to register with the stream, the timer and the connect.
    pub(super) fn waker(&self) -> Waker {
        self.waker.clone()
    }

    /// `waker` waits for `side`. Called before registering, so that a wake-up that comes
    /// in between is not lost.
    pub(super) fn park(&self, side: Side, waker: &Waker) {
        let mut slot = self.slots.slot(side).lock().unwrap_or_else(PoisonError::into_inner);
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    /// `side` no longer waits.
    pub(super) fn unpark(&self, side: Side) {
        self.slots.slot(side).lock().unwrap_or_else(PoisonError::into_inner).take();
    }

    /// Something `side` did may let the other side's task go on: wake it.
    pub(super) fn wake_other(&self, side: Side) {
        self.slots.wake_side(side.other());
    }
}
