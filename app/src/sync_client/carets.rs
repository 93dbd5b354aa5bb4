//! This tab's caret in a clause of the agreement, sent to the partner with
//! its presence beacon as the caret moves, and cleared when the clause's
//! text box loses the focus (so the partner's view drops it at once).

use std::cell::RefCell;

use accord_shared::ids::DocumentId;

use super::Client;
use crate::presence::ClauseSpot;

thread_local! {
    /// This tab's caret, with the partnership.
    static CARET: RefCell<Option<(DocumentId, ClauseSpot)>> = const { RefCell::new(None) };
}

/// This tab's caret in a clause of `document`, for its beacons.
pub(super) fn caret(document: &DocumentId) -> Option<ClauseSpot> {
    CARET.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|(d, _)| d == document)
            .map(|(_, spot)| spot.clone())
    })
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
    }
}
