//! The sync badge's one source of truth: what is safe where, over every open
//! partnership. [`summarize`] is pure; [`Client::refresh_status`] gathers the
//! facts from the engine and the saver and publishes the result.

use std::collections::HashMap;

use accord_shared::automerge::ChangeHash;
use accord_shared::ids::DocumentId;
use leptos::prelude::{GetUntracked, Set, WithUntracked};

use super::Client;
use crate::saving;
use crate::store::SyncStatus;

/// What is known about one open partnership's changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DocFacts {
    /// Changes not yet durable in IndexedDB.
    pub not_durable: usize,
    /// Changes the relay has not confirmed (by the last heads it sent).
    pub not_on_relay: usize,
    /// Changes that stored changes build on but that this device lacks.
    pub missing: usize,
}

/// The connection as the badge needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// A handshaken connection to the relay exists.
    pub connected: bool,
    /// Connected recently and not yet caught up with the relay.
    pub catching_up: bool,
    /// The last write to IndexedDB failed.
    pub storage_failing: bool,
}

/// The status shown for `docs` given the connection state.
pub fn summarize(link: Link, docs: &[DocFacts]) -> SyncStatus {
    let not_durable: usize = docs.iter().map(|d| d.not_durable).sum();
    let not_on_relay: usize = docs.iter().map(|d| d.not_on_relay).sum();
    let missing: usize = docs.iter().map(|d| d.missing).sum();
    if link.storage_failing && not_durable > 0 {
        return SyncStatus::OnlyInTab(not_durable);
    }
    if !link.connected {
        return SyncStatus::Offline(not_on_relay.max(not_durable));
    }
    if not_on_relay == 0 && not_durable == 0 && missing == 0 {
        return SyncStatus::Saved;
    }
    if link.catching_up || missing > 0 {
        return SyncStatus::Syncing(not_on_relay.max(missing));
    }
    SyncStatus::Saving
}

impl Client {
    /// Recomputes the overall and per-partnership status from the engine and
    /// the saver, remembering the heads the relay confirmed.
    ///
    /// Counting changes walks a document's history, so counts are taken only
    /// when the badge shows them (offline, catching up, failing writes);
    /// while typing online the badge needs only "is anything pending".
    pub(super) fn refresh_status(&self) {
        let relay = self.link.borrow().as_ref().map(|l| l.relay.clone());
        let link = Link {
            connected: relay.is_some(),
            catching_up: self.catching_up.get(),
            storage_failing: self.saver.borrow().failures() > 0,
        };
        let count_relay = !link.connected || link.catching_up;
        let mut per_document = HashMap::new();
        let mut all = Vec::new();
        let mut confirmed: Vec<(DocumentId, Vec<ChangeHash>)> = Vec::new();
        let mut unsaved_documents = 0;
        {
            let engine = self.engine.borrow();
            let saver = self.saver.borrow();
            let known = self.relay_heads.borrow();
            for id in engine.documents() {
                let Some(doc) = engine.document(id) else {
                    continue;
                };
                let heads = doc.get_heads();
                let not_on_relay = match &relay {
                    Some(relay) if engine.is_synced_with(id, relay) => {
                        if known.get(id) != Some(&heads) {
                            confirmed.push((*id, heads.clone()));
                        }
                        0
                    }
                    Some(_) if !count_relay => 1,
                    Some(relay) if engine.peer_heads(id, relay).is_some() => {
                        engine.changes_not_on(id, relay).max(1)
                    }
                    _ if known.get(id) == Some(&heads) => 0,
                    _ => {
                        let have: Vec<ChangeHash> = known
                            .get(id)
                            .into_iter()
                            .flatten()
                            .copied()
                            .filter(|h| doc.get_change_meta_by_hash(h).is_some())
                            .collect();
                        doc.get_changes_meta(&have).len()
                    }
                };
                let durable = saver.is_durable(id, doc);
                unsaved_documents += usize::from(!durable);
                let not_durable = match (durable, link.storage_failing) {
                    (true, _) => 0,
                    (false, true) => saver.unsaved(id, doc).max(1),
                    (false, false) => 1,
                };
                let facts = DocFacts {
                    not_durable,
                    not_on_relay,
                    missing: saving::missing_changes(doc),
                };
                all.push(facts);
                per_document.insert(*id, facts);
            }
        }
        for (id, heads) in confirmed {
            self.relay_confirmed(&id, heads);
        }
        let status = summarize(link, &all);
        if self.store.unsaved.get_untracked() != unsaved_documents {
            self.store.unsaved.set(unsaved_documents);
        }
        if status == SyncStatus::Saved && self.catching_up.get() {
            self.catching_up.set(false);
        }
        self.report_unrecoverable(&per_document, relay.is_some());
        if matches!(status, SyncStatus::Offline(n) if n > 0) && !self.told_offline.replace(true) {
            // Once per session: the first edit made offline says it is safe.
            self.store.toast.set(Some(crate::store::Toast {
                message: "You are offline. Your changes are kept on this device and sync when you are back online.".to_owned(),
                undo: None,
            }));
        }
        let per_document: HashMap<DocumentId, SyncStatus> = per_document
            .into_iter()
            .map(|(id, facts)| (id, summarize(link, &[facts])))
            .collect();
        if self.store.status.get_untracked() != status {
            self.store.status.set(status);
        }
        if self
            .store
            .doc_status
            .with_untracked(|current| *current != per_document)
        {
            self.store.doc_status.set(per_document);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONLINE: Link = Link {
        connected: true,
        catching_up: false,
        storage_failing: false,
    };

    const CATCHING_UP: Link = Link {
        catching_up: true,
        ..ONLINE
    };

    const OFFLINE: Link = Link {
        connected: false,
        ..ONLINE
    };

    fn facts(not_durable: usize, not_on_relay: usize) -> DocFacts {
        DocFacts {
            not_durable,
            not_on_relay,
            missing: 0,
        }
    }

    #[test]
    fn saved_only_when_the_relay_and_the_device_hold_everything() {
        assert_eq!(
            summarize(ONLINE, &[facts(0, 0), facts(0, 0)]),
            SyncStatus::Saved
        );
        assert_eq!(
            summarize(ONLINE, &[facts(0, 0), facts(0, 1)]),
            SyncStatus::Saving
        );
        assert_eq!(summarize(ONLINE, &[facts(1, 0)]), SyncStatus::Saving);
        let waiting = DocFacts {
            missing: 2,
            ..facts(0, 0)
        };
        assert_eq!(summarize(ONLINE, &[waiting]), SyncStatus::Syncing(2));
    }

    #[test]
    fn after_reconnecting_the_badge_counts_what_is_left() {
        assert_eq!(
            summarize(CATCHING_UP, &[facts(0, 1500), facts(0, 501)]),
            SyncStatus::Syncing(2001)
        );
        assert_eq!(summarize(CATCHING_UP, &[facts(0, 0)]), SyncStatus::Saved);
    }

    #[test]
    fn offline_counts_changes_kept_on_the_device() {
        assert_eq!(
            summarize(OFFLINE, &[facts(0, 3), facts(0, 4)]),
            SyncStatus::Offline(7)
        );
        assert_eq!(summarize(OFFLINE, &[]), SyncStatus::Offline(0));
    }

    #[test]
    fn failing_storage_says_the_work_is_only_in_this_tab() {
        let failing = Link {
            storage_failing: true,
            ..ONLINE
        };
        assert_eq!(summarize(failing, &[facts(5, 5)]), SyncStatus::OnlyInTab(5));
        // Once everything is durable again the failure no longer matters.
        assert_eq!(summarize(failing, &[facts(0, 0)]), SyncStatus::Saved);
    }
}
