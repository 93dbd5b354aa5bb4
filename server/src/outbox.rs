//! What is queued for one connection, bounded in bytes rather than messages.
//!
//! Every queued item carries a [`Charge`] for its estimated memory, counted
//! against the connection's budget and the relay-wide one until the send
//! task has written it to the socket (or dropped it). A client that does not
//! read therefore holds at most its own budget, and all of them together at
//! most the relay-wide one; past either, the hub drops that client.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use accord_shared::protocol::Message;
use tokio::sync::mpsc;

use crate::metrics::Metrics;

/// What the hub sends a connection task.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A message to encode and send.
    Frame(accord_shared::protocol::Message),
    /// Send `error` with this text, then close.
    Close(String),
    /// Close (the `error` message was already queued).
    End(String),
}

/// Memory held for a queued item, given back when it is dropped.
#[derive(Debug)]
pub(crate) struct Charge {
    bytes: u64,
    connection: Arc<AtomicU64>,
    metrics: Arc<Metrics>,
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.connection.fetch_sub(self.bytes, Ordering::Relaxed);
        self.metrics
            .outbound_queued_bytes
            .fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// Why an item was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OutboxError {
    /// The connection's or the relay's budget is used up.
    #[error("send queue full")]
    Full,
    /// The connection's send task has ended.
    #[error("connection closed")]
    Closed,
}

/// One queued item, boxed so that the channel's slots are one pointer wide:
/// tokio allocates a connection's first block of 32 slots when the channel is
/// made, and at 144 bytes a slot that block alone was 4.6 KB of every idle
/// connection (`accord-load compare --cost-only`, docs/benchmarks.md).
type Queued = Box<(Outbound, Charge)>;

/// The sending side of one connection's queue.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    sender: mpsc::UnboundedSender<Queued>,
    queued: Arc<AtomicU64>,
    limit: u64,
    total_limit: u64,
    metrics: Arc<Metrics>,
}

/// The receiving side, owned by the connection's send task.
#[derive(Debug)]
pub(crate) struct Outgoing(mpsc::UnboundedReceiver<Queued>);

impl Outgoing {
    /// The next item with its charge; `None` once every [`Outbox`] is gone.
    pub(crate) async fn recv(&mut self) -> Option<(Outbound, Charge)> {
        self.0.recv().await.map(|queued| *queued)
    }

    /// The next item if one is queued now.
    pub(crate) fn try_recv(&mut self) -> Option<(Outbound, Charge)> {
        self.0.try_recv().ok().map(|queued| *queued)
    }
}

/// Estimated memory an item holds until it is written: the message, and its
/// encoded copy while the send task writes it.
fn cost(outbound: &Outbound) -> u64 {
    let payload = match outbound {
        Outbound::Frame(Message::Request(m) | Message::Sync(m)) => m.data.len(),
        Outbound::Frame(Message::Ephemeral(m)) => m.data.len(),
        Outbound::Frame(_) => 0,
        Outbound::Close(reason) | Outbound::End(reason) => reason.len(),
    };
    256 + 2 * payload as u64
}

impl Outbox {
    /// A queue holding at most `limit` bytes for this connection, within
    /// `total_limit` bytes for all connections.
    pub(crate) fn new(limit: u64, total_limit: u64, metrics: Arc<Metrics>) -> (Self, Outgoing) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (
            Self {
                sender,
                queued: Arc::default(),
                limit,
                total_limit,
                metrics,
            },
            Outgoing(receiver),
        )
    }

    /// Queues `outbound` unless that would pass a budget. An empty queue
    /// takes one item of any size (a large document must be sendable), still
    /// within the relay-wide budget.
    pub(crate) fn try_send(&self, outbound: Outbound) -> Result<(), OutboxError> {
        if self.sender.is_closed() {
            return Err(OutboxError::Closed);
        }
        let bytes = cost(&outbound);
        let queued = self.queued.load(Ordering::Relaxed);
        if queued > 0 && queued + bytes > self.limit {
            return Err(OutboxError::Full);
        }
        let total = &self.metrics.outbound_queued_bytes;
        if total.fetch_add(bytes, Ordering::Relaxed) + bytes > self.total_limit {
            total.fetch_sub(bytes, Ordering::Relaxed);
            return Err(OutboxError::Full);
        }
        self.queued.fetch_add(bytes, Ordering::Relaxed);
        let charge = Charge {
            bytes,
            connection: self.queued.clone(),
            metrics: self.metrics.clone(),
        };
        self.sender
            .send(Box::new((outbound, charge)))
            .map_err(|_| OutboxError::Closed)
    }

    /// Bytes queued for this connection.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use accord_shared::ids::DocumentId;
    use accord_shared::protocol::DocMessage;

    use super::*;

    fn sync(bytes: usize) -> Outbound {
        Outbound::Frame(Message::Sync(DocMessage {
            sender_id: "a".parse().unwrap(),
            target_id: "b".parse().unwrap(),
            document_id: DocumentId::from_bytes([1; 16]),
            data: vec![0; bytes],
        }))
    }

    #[test]
    fn budgets_are_in_bytes_and_given_back_when_items_go() {
        let metrics = Arc::new(Metrics::default());
        let (a, mut a_out) = Outbox::new(10_000, 50_000, metrics.clone());
        let (b, _b_out) = Outbox::new(10_000, 50_000, metrics.clone());
        // An empty queue takes one large item...
        a.try_send(sync(20_000)).unwrap();
        // ...but nothing more while it is unsent.
        assert_eq!(a.try_send(sync(10)), Err(OutboxError::Full));
        // The relay-wide budget holds across connections.
        assert_eq!(b.try_send(sync(20_000)), Err(OutboxError::Full));
        b.try_send(sync(4_000)).unwrap();
        let total = metrics.outbound_queued_bytes.load(Ordering::Relaxed);
        assert_eq!(total, a.queued() + b.queued());
        // Sending (dropping the item) gives the bytes back.
        drop(a_out.try_recv().unwrap());
        assert_eq!(a.queued(), 0);
        a.try_send(sync(10)).unwrap();
        drop(a_out);
        assert_eq!(a.try_send(sync(10)), Err(OutboxError::Closed));
    }
}
