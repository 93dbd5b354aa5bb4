//! UI state as Leptos signals. The documents themselves live in the sync
//! client's engine; views read them through [`crate::sync_client::Client`] and
//! re-read when [`Store::revision`] moves, or, for views that say which
//! places they read, when a change touches those
//! ([`crate::record_signals`]).

use std::fmt;

use accord_shared::automerge::{Automerge, ROOT, ReadDoc};
use accord_shared::ids::DocumentId;
use leptos::prelude::*;

use crate::identity::Profile;
pub use crate::presence::{Here, Peer};

/// What the sync status element shows: one answer to "is my work safe?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStatus {
    /// The sync client is still downloading or starting: nothing is known
    /// about the connection yet (a first visit shows this, not "Offline").
    Starting,
    /// The relay has confirmed the current heads of every open partnership,
    /// and everything is stored on this device.
    Saved,
    /// Connected; recent changes are being stored on the device or sent.
    Saving,
    /// Connected again after being away: this many changes are still to
    /// reach the relay.
    Syncing(usize),
    /// No connection to the relay; this many changes are kept on this device
    /// and not yet on the relay.
    Offline(usize),
    /// Storing on this device is failing: this many changes exist only in
    /// this tab's memory.
    OnlyInTab(usize),
}

impl SyncStatus {
    /// The CSS class that colours the badge.
    pub fn class(self) -> &'static str {
        match self {
            Self::Saved => "status saved",
            Self::Starting => "status starting",
            Self::Saving | Self::Syncing(_) => "status syncing",
            Self::Offline(_) => "status offline",
            Self::OnlyInTab(_) => "status failing",
        }
    }
}

fn changes(n: usize) -> String {
    if n == 1 {
        "1 change".to_owned()
    } else {
        format!("{n} changes")
    }
}

impl fmt::Display for SyncStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Saved => f.write_str("Saved"),
            Self::Starting => f.write_str("Connecting…"),
            Self::Saving | Self::Syncing(0) => f.write_str("Saving…"),
            Self::Syncing(n) => write!(f, "Syncing {n}…"),
            Self::Offline(0) => f.write_str("Offline"),
            Self::Offline(n) => write!(f, "Offline — {} kept on this device", changes(n)),
            Self::OnlyInTab(n) => {
                write!(f, "{} only in this tab — keep it open", changes(n.max(1)))
            }
        }
    }
}

/// A short message at the bottom of the screen, optionally offering to undo
/// what was just done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    /// What happened ("Risk removed").
    pub message: String,
    /// How to take it back, if it can be.
    pub undo: Option<Undo>,
}

/// A removal that can be taken back: the item is restored with any edits
/// made to it meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Undo {
    /// The partnership.
    pub document: DocumentId,
    /// The collection the item was removed from.
    pub collection: accord_shared::model::Collection,
    /// The item.
    pub item: accord_shared::model::ItemId,
}

/// One row of the partnership list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocSummary {
    /// The document.
    pub id: DocumentId,
    /// Its title as last seen.
    pub title: String,
}

/// The app's reactive state. `Copy`, so views can capture it freely.
#[derive(Debug, Clone, Copy)]
pub struct Store {
    /// Partnerships on this device, in the order they were added.
    pub docs: RwSignal<Vec<DocSummary>>,
    /// Relay connection and save state, over every open document.
    pub status: RwSignal<SyncStatus>,
    /// Open partnerships with changes not yet durable in IndexedDB (0 when
    /// everything typed is stored on this device).
    pub unsaved: RwSignal<usize>,
    /// The same state for each partnership on this device (the home list).
    pub doc_status: RwSignal<std::collections::HashMap<DocumentId, SyncStatus>>,
    /// Bumped whenever any open document changes (local or remote).
    pub revision: RwSignal<u64>,
    /// True once the sync client has started: storage is open and the
    /// documents are loaded (see [`crate::client_chunk`]).
    pub ready: RwSignal<bool>,
    /// True once [`Self::docs`] lists what this device holds: from the
    /// titles stored beside each document (before the sync client is in,
    /// see [`crate::stored_list`]) or from the client itself.
    pub listed: RwSignal<bool>,
    /// The last error worth showing the user.
    pub error: RwSignal<Option<String>>,
    /// The toast on screen, if any.
    pub toast: RwSignal<Option<Toast>>,
    /// The person using this device (first-run profile).
    pub profile: RwSignal<Profile>,
    /// Other people who have an open partnership on screen, newest first.
    pub presence: RwSignal<Vec<Peer>>,
    /// The page this tab shows, as announced to others (`None` on the list).
    pub here: RwSignal<Option<Here>>,
}

impl Store {
    /// Fresh signals (call inside the app's reactive owner).
    pub fn new() -> Self {
        Self {
            docs: RwSignal::new(Vec::new()),
            status: RwSignal::new(SyncStatus::Starting),
            unsaved: RwSignal::new(0),
            doc_status: RwSignal::new(std::collections::HashMap::new()),
            revision: RwSignal::new(0),
            ready: RwSignal::new(false),
            listed: RwSignal::new(false),
            error: RwSignal::new(None),
            toast: RwSignal::new(None),
            profile: RwSignal::new(Profile::default()),
            presence: RwSignal::new(Vec::new()),
            here: RwSignal::new(None),
        }
    }

    /// Marks every open document as possibly changed.
    pub fn bump(&self) {
        crate::record_signals::notify_all();
        self.revision.update(|r| *r = r.wrapping_add(1));
    }

    /// Document `id` changed where `touched` says: the views of those places
    /// re-read (see [`crate::record_signals`]), and so does everything that
    /// tracks [`Self::revision`].
    pub fn changed(&self, id: &DocumentId, touched: &accord_shared::model::touched::Touched) {
        crate::record_signals::notify(id, touched);
        self.revision.update(|r| *r = r.wrapping_add(1));
    }

    /// Sets the list title of one document, if it differs.
    pub fn set_title(&self, id: &DocumentId, title: &str) {
        let differs = self
            .docs
            .with_untracked(|docs| docs.iter().any(|d| d.id == *id && d.title != title));
        if differs {
            self.docs.update(|docs| {
                if let Some(doc) = docs.iter_mut().find(|d| d.id == *id) {
                    title.clone_into(&mut doc.title);
                }
            });
        }
    }

    /// Clears the shown error if it is the one that starts with `prefix`
    /// (a condition that has ended, such as failing writes).
    pub fn clear_report_about(&self, prefix: &str) {
        if self
            .error
            .with_untracked(|e| e.as_deref().is_some_and(|t| t.starts_with(prefix)))
        {
            self.error.set(None);
        }
    }

    /// Shows an error to the user.
    pub fn report(&self, error: impl fmt::Display) {
        let text = error.to_string();
        crate::browser::log(&format!("accord: {text}"));
        self.error.set(Some(text));
    }
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

/// A string field at the document's root, or empty when absent or not a string.
pub fn root_string(doc: &Automerge, key: &str) -> String {
    match doc.get(ROOT, key) {
        Ok(Some((value, _))) => value.as_str().map(str::to_owned).unwrap_or_default(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_shared::automerge::transaction::Transactable;

    #[test]
    fn status_texts_match_the_ui_contract() {
        assert_eq!(SyncStatus::Saved.to_string(), "Saved");
        assert_eq!(SyncStatus::Saving.to_string(), "Saving…");
        assert_eq!(SyncStatus::Syncing(3).to_string(), "Syncing 3…");
        assert_eq!(SyncStatus::Syncing(0).to_string(), "Saving…", "never (0)");
        assert_eq!(SyncStatus::Offline(0).to_string(), "Offline");
        assert_eq!(SyncStatus::Starting.to_string(), "Connecting…");
        assert_eq!(
            SyncStatus::Offline(1).to_string(),
            "Offline — 1 change kept on this device"
        );
        assert_eq!(
            SyncStatus::Offline(12).to_string(),
            "Offline — 12 changes kept on this device"
        );
        assert_eq!(
            SyncStatus::OnlyInTab(4).to_string(),
            "4 changes only in this tab — keep it open"
        );
    }

    #[test]
    fn root_string_reads_scalars_only() {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        tx.put(ROOT, "title", "Acme").unwrap();
        tx.put(ROOT, "schema", 1_u64).unwrap();
        tx.commit();
        assert_eq!(root_string(&doc, "title"), "Acme");
        assert_eq!(root_string(&doc, "schema"), "");
        assert_eq!(root_string(&doc, "missing"), "");
    }
}
