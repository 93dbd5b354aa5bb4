//! This tab's caret in a clause of the agreement, sent to the partner with
//! its presence beacon as the caret moves, again every
//! [`CARET_HEARTBEAT_MS`] while it stays (so partners can drop a caret
//! [`crate::presence::CARET_EXPIRY_MS`] after the last one), and cleared
//! when the clause's text box loses the focus (so the partner's view drops
//! it at once).

use std::cell::{Cell, RefCell};

use accord_shared::ids::DocumentId;

use super::{Client, client};
use crate::browser;
use crate::presence::{CARET_HEARTBEAT_MS, ClauseSpot};

thread_local! {
    /// This tab's caret, with the partnership.
    static CARET: RefCell<Option<(DocumentId, ClauseSpot)>> = const { RefCell::new(None) };
    /// Whether the caret heartbeat is running.
    static BEATING: Cell<bool> = const { Cell::new(false) };
}

/// Announces this tab every [`CARET_HEARTBEAT_MS`] while it has a caret in
/// a clause; stops when the caret is cleared.
async fn caret_heartbeat() {
    loop {
        browser::sleep(CARET_HEARTBEAT_MS).await;
        let typing = CARET.with(|c| c.borrow().is_some());
        match client() {
            Some(client) if typing => client.announce(false),
            _ => {
                BEATING.with(|b| b.set(false));
                return;
            }
        }
    }
}

/// This tab's caret in a clause of `document`, for its beacons.
pub(super) fn caret(document: &DocumentId) -> Option<ClauseSpot> {
    CARET.with(|c| super::held_for(c, document))
}

impl Client {
    /// Records where this tab's caret is in a clause of `document` (`None`:
    /// no clause text has the focus) and tells the others if it moved.
    pub fn set_caret(&self, document: DocumentId, spot: Option<ClauseSpot>) {
        let changed = CARET.with(|c| {
            let next = spot.map(|s| (document, s));
            let mut current = c.borrow_mut();
            let changed = *current != next;
            *current = next;
            changed
        });
        if changed {
            self.announce(false);
        }
        let typing = CARET.with(|c| c.borrow().is_some());
        if typing && !BEATING.with(|b| b.replace(true)) {
            wasm_bindgen_futures::spawn_local(caret_heartbeat());
        }
    }
}
