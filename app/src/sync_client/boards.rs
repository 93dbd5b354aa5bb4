//! What the workshop boards need from the client beyond plain edits: the
//! keys that seal private notes and ballots (derived from this device's
//! sealing secret, see [`crate::identity`], so a reload derives the same ones and can publish them after
//! the reveal), and this tab's place on an open board, sent to the others
//! with its presence beacon at most every
//! [`POINTER_INTERVAL_MS`](crate::presence::POINTER_INTERVAL_MS).

use std::cell::{Cell, RefCell};

use accord_shared::ids::DocumentId;
use accord_shared::model::boards::SealKey;
use accord_shared::model::{ItemId, MemberId};
use wasm_bindgen_futures::spawn_local;

use super::{Client, client};
use crate::browser;
use crate::presence::{BoardSpot, POINTER_INTERVAL_MS};

thread_local! {
    /// This tab's place on the board it shows, with the partnership.
    static SPOT: RefCell<Option<(DocumentId, BoardSpot)>> = const { RefCell::new(None) };
    /// When the last board beacon went out.
    static LAST_SENT: Cell<u64> = const { Cell::new(0) };
    /// Whether a trailing beacon is already scheduled.
    static PENDING: Cell<bool> = const { Cell::new(false) };
}

/// This tab's place on a board of `document`, for its beacons.
pub(super) fn spot(document: &DocumentId) -> Option<BoardSpot> {
    SPOT.with(|s| super::held_for(s, document))
}

impl Client {
    /// The key sealing this member's private note or ballot `item` on
    /// `board`: derived from the device's sealing secret, never stored or sent
    /// until it is published after the reveal.
    pub fn seal_key(&self, board: ItemId, item: ItemId, member: MemberId) -> SealKey {
        self.identity.borrow().seal_key(board, item, member)
    }

    /// Records that this tab selected `note` on `board`, keeping the
    /// pointer where it is, and tells the others (see [`Self::set_board_spot`]).
    pub fn select_on_board(&self, document: DocumentId, board: ItemId, note: Option<ItemId>) {
        let pointer = spot(&document)
            .filter(|s| s.board == board.key())
            .and_then(|s| s.pointer);
        self.set_board_spot(
            document,
            Some(BoardSpot {
                board: board.key(),
                pointer,
                selected: note.map(|n| n.key()),
            }),
        );
    }

    /// Records where this tab is on a board of `document` (`None`: it left
    /// the board) and tells the others: at once if the last board beacon is
    /// older than [`POINTER_INTERVAL_MS`], else once that interval is over
    /// (with the newest place then), so a burst of pointer moves sends at
    /// most 20 beacons a second and the last position always arrives.
    pub fn set_board_spot(&self, document: DocumentId, place: Option<BoardSpot>) {
        SPOT.with(|s| *s.borrow_mut() = place.map(|p| (document, p)));
        let now = browser::now_ms();
        let since = now.saturating_sub(LAST_SENT.with(Cell::get));
        if since >= POINTER_INTERVAL_MS {
            LAST_SENT.with(|l| l.set(now));
            self.announce(false);
            return;
        }
        if PENDING.with(|p| p.replace(true)) {
            return;
        }
        let wait = u32::try_from(POINTER_INTERVAL_MS - since).unwrap_or(0);
        spawn_local(async move {
            browser::sleep(wait).await;
            PENDING.with(|p| p.set(false));
            LAST_SENT.with(|l| l.set(browser::now_ms()));
            if let Some(client) = client() {
                client.announce(false);
            }
        });
    }
}
