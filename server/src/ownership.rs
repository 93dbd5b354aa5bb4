//! Document ownership leases when several relay nodes share one store
//! (sans-IO: the hub feeds it times and storage answers, and carries out
//! what it asks for).
//!
//! A node serves a document only while it holds the document's lease. It
//! takes the lease before loading (the store bumps the document's epoch),
//! renews every lease it holds in one batch, and gives it back when the
//! document unloads. Every commit carries the epoch of the lease it was
//! made under, and the store refuses (fences) a commit whose (node, epoch)
//! no longer owns the document, in the same transaction as the write. The
//! fence alone keeps storage safe whatever the clocks do; the local expiry
//! here only stops a node that cannot renew (partitioned, paused) from
//! serving stale reads: its peers are sent away to reconnect.
//!
//! Times are the hub's milliseconds. A lease counts as valid locally until
//! `requested_at + ttl - margin`: the store starts its `ttl` no earlier than
//! it receives the request, so a node gives a lease up before any other
//! node may take it, as long as the two clocks run at about the same rate.
//!
//! # Departures from the scale-out design (`shared/design/scale-out.md`)
//! - **A lease per document** (`document_owner.lease_until`, renewed in one
//!   batched `UPDATE` per node) instead of ownership that lasts while the
//!   node's heartbeat row in `nodes` lives. It needs no node registry,
//!   advisory-lock session or heartbeat loop before forwarding exists, and a
//!   document's row alone says whether it may be taken. The cost: renewal
//!   touches every owned row, and failover after a crash waits for the TTL
//!   (no advisory-lock fast path yet). The `nodes` table that came with
//!   the node links ([`crate::cluster`]) holds link URLs and heartbeats for
//!   access propagation; ownership still does not depend on it, so a node's
//!   heartbeat failing alone never moves a document.
//! - **The fence is a `SELECT … FOR SHARE`** of the ownership rows in the
//!   commit's transaction rather than `UPDATE documents SET last_seq`: only
//!   the owner writes a document's chunks, so the sequence stays
//!   `MAX(seq) + 1` and no counter row is written per commit. The row lock
//!   gives the same two orders as the design's test (a takeover waits for an
//!   in-flight commit; a commit after a takeover matches no row).
//! - **The node id is kept in the data directory** instead of drawn at each
//!   start, so a restarted node takes its own documents back at once (with a
//!   new epoch, fencing anything its previous process had in flight) instead
//!   of waiting for its old leases to lapse.

use std::collections::HashMap;

use accord_shared::ids::DocumentId;

/// How long leases last and how often they are renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTimes {
    /// How long a lease lasts after the store grants or renews it.
    pub ttl_ms: u64,
    /// How often the held leases are renewed.
    pub renew_every_ms: u64,
}

impl LeaseTimes {
    /// Renewal at a quarter of the lease, so three renewals may fail in a
    /// row before a lease lapses.
    pub fn for_ttl(ttl_ms: u64) -> Self {
        Self {
            ttl_ms,
            renew_every_ms: (ttl_ms / 4).max(1),
        }
    }

    /// The safety margin subtracted from a lease's local validity.
    fn margin_ms(self) -> u64 {
        self.ttl_ms / 10
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lease {
    epoch: u64,
    valid_until: u64,
}

/// A batch of leases to renew, sent at `sent_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal {
    /// When the request left (the new validity counts from here).
    pub sent_at: u64,
    /// Each held document with the epoch it is held at.
    pub leases: Vec<(DocumentId, u64)>,
}

/// What a tick asks of the hub.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LeaseTick {
    /// Leases that lapsed without renewal: stop serving these documents.
    pub expired: Vec<DocumentId>,
    /// Renew these now (at most one renewal is in flight).
    pub renew: Option<Renewal>,
}

/// The leases one node holds.
#[derive(Debug)]
pub struct Leases {
    times: LeaseTimes,
    held: HashMap<DocumentId, Lease>,
    renewal_in_flight: bool,
    last_renewal: u64,
}

impl Leases {
    /// No leases yet.
    pub fn new(times: LeaseTimes) -> Self {
        Self {
            times,
            held: HashMap::new(),
            renewal_in_flight: false,
            last_renewal: 0,
        }
    }

    /// The configured times.
    pub fn times(&self) -> LeaseTimes {
        self.times
    }

    /// The store granted `document` at `epoch` for a request sent at
    /// `requested_at`.
    pub fn taken(&mut self, document: DocumentId, epoch: u64, requested_at: u64) {
        let valid_until = self.valid_from(requested_at);
        self.held.insert(document, Lease { epoch, valid_until });
    }

    /// The epoch a commit of `document` is made under, while the lease is
    /// valid at `now`.
    pub fn epoch(&self, document: &DocumentId, now: u64) -> Option<u64> {
        self.held
            .get(document)
            .filter(|lease| now < lease.valid_until)
            .map(|lease| lease.epoch)
    }

    /// How many leases are held.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// The document unloaded: forget its lease and return the epoch to
    /// give back to the store.
    pub fn release(&mut self, document: &DocumentId) -> Option<u64> {
        self.held.remove(document).map(|lease| lease.epoch)
    }

    /// A commit under `epoch` was fenced: the lease is gone. Returns whether
    /// it was the current lease (a late answer for an older one is ignored).
    pub fn fenced(&mut self, document: &DocumentId, epoch: u64) -> bool {
        if self.held.get(document).is_some_and(|l| l.epoch == epoch) {
            self.held.remove(document);
            true
        } else {
            false
        }
    }

    /// Drops every lease (the hub restarted its engine).
    pub fn clear(&mut self) -> Vec<(DocumentId, u64)> {
        self.held.drain().map(|(d, l)| (d, l.epoch)).collect()
    }

    /// Housekeeping at `now`: lapsed leases, and a renewal when one is due.
    pub fn tick(&mut self, now: u64) -> LeaseTick {
        let expired: Vec<DocumentId> = self
            .held
            .iter()
            .filter(|(_, lease)| now >= lease.valid_until)
            .map(|(document, _)| *document)
            .collect();
        for document in &expired {
            self.held.remove(document);
        }
        let due = now.saturating_sub(self.last_renewal) >= self.times.renew_every_ms;
        let renew = (due && !self.renewal_in_flight && !self.held.is_empty()).then(|| {
            self.renewal_in_flight = true;
            self.last_renewal = now;
            let mut leases: Vec<(DocumentId, u64)> =
                self.held.iter().map(|(d, l)| (*d, l.epoch)).collect();
            leases.sort();
            Renewal {
                sent_at: now,
                leases,
            }
        });
        LeaseTick { expired, renew }
    }

    /// The store answered `renewal`: `kept` are the documents it renewed.
    /// Returns the documents whose lease is lost (taken by another node).
    pub fn renewed(&mut self, renewal: &Renewal, kept: &[DocumentId]) -> Vec<DocumentId> {
        self.renewal_in_flight = false;
        let valid_until = self.valid_from(renewal.sent_at);
        let mut lost = Vec::new();
        for (document, epoch) in &renewal.leases {
            let Some(lease) = self.held.get_mut(document).filter(|l| l.epoch == *epoch) else {
                continue; // released or re-taken meanwhile
            };
            if kept.contains(document) {
                lease.valid_until = lease.valid_until.max(valid_until);
            } else {
                self.held.remove(document);
                lost.push(*document);
            }
        }
        lost
    }

    /// The renewal failed (the store is unreachable): leases keep their
    /// old validity and the next tick tries again.
    pub fn renewal_failed(&mut self) {
        self.renewal_in_flight = false;
    }

    fn valid_from(&self, requested_at: u64) -> u64 {
        requested_at + self.times.ttl_ms - self.times.margin_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(n: u8) -> DocumentId {
        DocumentId::from_bytes([n; 16])
    }

    fn leases() -> Leases {
        Leases::new(LeaseTimes::for_ttl(1_000))
    }

    #[test]
    fn a_lease_is_valid_until_its_ttl_less_the_margin_from_the_request() {
        let mut leases = leases();
        leases.taken(doc(1), 7, 10_000);
        assert_eq!(leases.epoch(&doc(1), 10_000), Some(7));
        assert_eq!(leases.epoch(&doc(1), 10_899), Some(7));
        assert_eq!(leases.epoch(&doc(1), 10_900), None, "margin of ttl/10");
        assert_eq!(leases.epoch(&doc(2), 10_000), None);
    }

    #[test]
    fn renewals_are_batched_one_at_a_time_and_extend_from_their_send_time() {
        let mut leases = leases();
        leases.taken(doc(1), 1, 0);
        leases.taken(doc(2), 4, 0);
        let tick = leases.tick(300);
        let renewal = tick.renew.expect("due after a quarter of the ttl");
        assert_eq!(renewal.leases, vec![(doc(1), 1), (doc(2), 4)]);
        assert_eq!(leases.tick(700).renew, None, "one renewal in flight");
        assert!(leases.renewed(&renewal, &[doc(1), doc(2)]).is_empty());
        assert_eq!(leases.epoch(&doc(1), 1_199), Some(1));
        assert_eq!(leases.epoch(&doc(1), 1_200), None);
        assert_eq!(leases.tick(701).renew.unwrap().sent_at, 701);
    }

    #[test]
    fn a_lease_the_store_did_not_renew_is_lost() {
        let mut leases = leases();
        leases.taken(doc(1), 1, 0);
        leases.taken(doc(2), 1, 0);
        let renewal = leases.tick(300).renew.unwrap();
        assert_eq!(leases.renewed(&renewal, &[doc(2)]), vec![doc(1)]);
        assert_eq!(leases.epoch(&doc(1), 301), None);
        assert_eq!(leases.epoch(&doc(2), 301), Some(1));
    }

    #[test]
    fn leases_lapse_when_renewals_fail_or_the_node_was_paused() {
        let mut leases = leases();
        leases.taken(doc(1), 1, 0);
        let renewal = leases.tick(300).renew.unwrap();
        leases.renewal_failed();
        assert!(leases.tick(600).renew.is_some(), "retried at the next tick");
        leases.renewal_failed();
        // Paused past the lease: the first tick after waking expires it.
        let tick = leases.tick(5_000);
        assert_eq!(tick.expired, vec![doc(1)]);
        assert_eq!(tick.renew, None, "nothing left to renew");
        // A late answer for the lapsed lease does not revive it.
        assert!(leases.renewed(&renewal, &[doc(1)]).is_empty());
        assert_eq!(leases.epoch(&doc(1), 5_001), None);
    }

    #[test]
    fn only_the_current_epoch_is_fenced_or_renewed() {
        let mut leases = leases();
        leases.taken(doc(1), 1, 0);
        let renewal = leases.tick(300).renew.unwrap();
        // Unloaded and taken again (a new epoch) while the renewal was out.
        assert_eq!(leases.release(&doc(1)), Some(1));
        leases.taken(doc(1), 2, 310);
        assert!(leases.renewed(&renewal, &[]).is_empty());
        assert!(!leases.fenced(&doc(1), 1), "an old epoch's fence is stale");
        assert_eq!(leases.epoch(&doc(1), 320), Some(2));
        assert!(leases.fenced(&doc(1), 2));
        assert_eq!(leases.epoch(&doc(1), 320), None);
        assert!(leases.is_empty());
    }
}
