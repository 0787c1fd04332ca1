//! The socket's events as a `Stream`.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::mpsc::UnboundedReceiver;

use crate::conn::Event;

/// Every event of an [`AsyncSslSocket`](super::AsyncSslSocket) from the moment `events()` was
/// called, in order. Implements `futures_core::Stream`; ends when the socket is dropped.
/// Events queue up until read, so read them (or drop the stream).
#[derive(Debug)]
pub struct EventStream {
    pub(super) rx: UnboundedReceiver<Event>,
}

impl EventStream {
    /// The next event, or `None` once the socket is gone.
    pub async fn recv(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event if one is queued now.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

impl futures_core::Stream for EventStream {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.rx.poll_recv(cx)
    }
}
