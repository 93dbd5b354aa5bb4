//! Presence over the relay: this tab's beacon for the page it shows (sent
//! on every page change and as a heartbeat), and the beacons heard from
//! other tabs and people.

use std::rc::Rc;

use accord_shared::ids::DocumentId;
use accord_shared::protocol::{EphemeralMessage, Message};
use leptos::prelude::{GetUntracked, Notify, Update, UpdateUntracked, WithUntracked};

use super::{Client, boards, carets};
use crate::browser::{self, now_ms};
use crate::presence::{self, Beacon, HEARTBEAT_MS};

impl Client {
    /// Sends this tab's presence for the page it shows (or a `leaving` one).
    pub fn announce(&self, leaving: bool) {
        let Some(here) = self.store.here.get_untracked() else {
            return;
        };
        self.beacon(&here.document, &here.page, leaving);
    }

    /// Sends one presence beacon about `document` to the relay.
    pub fn beacon(&self, document: &DocumentId, page: &str, leaving: bool) {
        let relay = match self.link.borrow().as_ref() {
            Some(link) => link.relay.clone(),
            None => return,
        };
        let profile = self.store.profile.get_untracked();
        let beacon = Beacon {
            session: self.session.clone(),
            name: profile.display_name(),
            organization: self.party_for(document),
            page: page.to_owned(),
            leaving,
            board: boards::spot(document).filter(|_| !leaving),
            clause: carets::caret(document).filter(|_| !leaving),
        };
        let count = self.ephemeral_count.get();
        self.ephemeral_count.set(count + 1);
        let message = Message::Ephemeral(EphemeralMessage {
            sender_id: self.engine.borrow().peer_id().clone(),
            target_id: relay.clone(),
            count,
            session_id: self.session.clone(),
            document_id: *document,
            data: beacon.encode(),
        });
        self.send(&relay, &message);
    }

    pub(super) fn heard(&self, message: &EphemeralMessage) {
        let Some(beacon) = Beacon::decode(&message.data) else {
            return;
        };
        if beacon.session == self.session {
            return;
        }
        let now = now_ms();
        // Heartbeats only refresh `last_seen`: re-render only on a visible change.
        let changed = self
            .store
            .presence
            .try_update_untracked(|peers| {
                presence::receive(peers, message.document_id, beacon, now)
            })
            .unwrap_or(false);
        if changed {
            self.store.presence.notify();
        }
    }

    pub(super) async fn run_presence(self: Rc<Self>) {
        loop {
            browser::sleep(HEARTBEAT_MS).await;
            self.announce(false);
            let now = now_ms();
            let stale = self.store.presence.with_untracked(|peers| {
                peers
                    .iter()
                    .any(|p| now.saturating_sub(p.last_seen) >= presence::EXPIRY_MS)
            });
            if stale {
                self.store.presence.update(|peers| {
                    presence::expire(peers, now);
                });
            }
        }
    }
}
