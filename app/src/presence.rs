//! Presence: who else has a partnership open, and on which page.
//!
//! Each tab that shows a partnership sends a small [`Beacon`] as an ephemeral
//! message (relayed to the document's other peers, never stored) every
//! [`HEARTBEAT_MS`], and a `leaving` beacon when it navigates away or the page
//! is hidden for good. A peer not heard from for [`EXPIRY_MS`] is dropped.
//! The payload is JSON; ephemeral data is opaque to the relay.
//!
//! This module is pure bookkeeping (no browser APIs), so it is unit-tested natively.

use accord_shared::ids::DocumentId;
use accord_shared::model::parties::PartyColour;
use serde::{Deserialize, Serialize};

/// How often a tab announces itself.
pub const HEARTBEAT_MS: u32 = 2_000;
/// How long after the last beacon a peer is considered gone.
pub const EXPIRY_MS: u64 = 6_000;
/// How often a tab whose caret is in a clause announces itself (faster
/// than [`HEARTBEAT_MS`], so a caret can expire sooner than its owner).
pub const CARET_HEARTBEAT_MS: u32 = 600;
/// How long after the last beacon a partner's caret is still drawn.
pub const CARET_EXPIRY_MS: u64 = 2_000;

/// The page this tab shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Here {
    /// The partnership.
    pub document: DocumentId,
    /// A short page name such as `overview`.
    pub page: String,
}

/// What one tab announces about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beacon {
    /// Random id of the sending tab (one person may have several).
    pub session: String,
    /// The person's name.
    pub name: String,
    /// Their organization (party name), which also picks their colour.
    pub organization: String,
    /// The page they are on.
    pub page: String,
    /// True when the tab is going away.
    #[serde(default)]
    pub leaving: bool,
    /// Where on a workshop board they are, while one is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board: Option<BoardSpot>,
    /// Where their caret is in a clause of the agreement, while they edit one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clause: Option<ClauseSpot>,
}

/// One person's caret in a clause's text, sent with their beacon while the
/// clause's text box has the focus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClauseSpot {
    /// The clause (its key form).
    pub clause: String,
    /// The caret as an Automerge cursor string on the character after it
    /// (`e`: the end of the text), so it stays between the same characters
    /// while others type.
    pub caret: String,
    /// The other end of their selection (same form), while words are
    /// selected. Older tabs neither send nor read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
}

/// Where one participant is on an open workshop board: their pointer and
/// the note they selected, sent with their beacon (throttled, see
/// [`POINTER_INTERVAL_MS`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardSpot {
    /// The board's id (its key form).
    pub board: String,
    /// The pointer, in ten-thousandths (0..=10 000) of the board's width
    /// and height; `None` while it is outside the board.
    #[serde(default)]
    pub pointer: Option<(u16, u16)>,
    /// The note they selected (its key form).
    #[serde(default)]
    pub selected: Option<String>,
}

/// The shortest gap between two pointer beacons (at most 20 a second).
pub const POINTER_INTERVAL_MS: u64 = 50;

impl Beacon {
    /// The beacon as ephemeral message data.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads ephemeral message data; `None` for anything that is not a beacon.
    pub fn decode(data: &[u8]) -> Option<Self> {
        serde_json::from_slice(data).ok()
    }
}

/// Another tab that has a partnership open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The partnership they have open.
    pub document: DocumentId,
    /// Their last beacon.
    pub beacon: Beacon,
    /// When it arrived (ms since the epoch).
    pub last_seen: u64,
}

impl Peer {
    /// Their caret in a clause, while it is fresh at `now` (heard within
    /// [`CARET_EXPIRY_MS`]).
    pub fn live_caret(&self, now: u64) -> Option<&ClauseSpot> {
        self.beacon.clause.as_ref().filter(|_| {
            !self.beacon.leaving && now.saturating_sub(self.last_seen) < CARET_EXPIRY_MS
        })
    }

    /// Up to two initials of the person's name, for the avatar.
    pub fn initials(&self) -> String {
        initials(&self.beacon.name)
    }
}

/// Up to two initials of `name` (`?` when blank).
pub fn initials(name: &str) -> String {
    let text: String = name
        .split_whitespace()
        .filter_map(|word| word.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    if text.is_empty() {
        "?".to_owned()
    } else {
        text
    }
}

/// Records `beacon` about `document` from another tab. Returns whether the
/// list changed in a way the UI shows (not for a mere heartbeat).
pub fn receive(peers: &mut Vec<Peer>, document: DocumentId, beacon: Beacon, now: u64) -> bool {
    let found = peers
        .iter()
        .position(|p| p.beacon.session == beacon.session);
    if beacon.leaving {
        return match found {
            Some(i) => {
                peers.remove(i);
                true
            }
            None => false,
        };
    }
    match found {
        Some(i) => {
            let peer = &mut peers[i];
            let changed = peer.document != document || peer.beacon != beacon;
            peer.document = document;
            peer.beacon = beacon;
            peer.last_seen = now;
            changed
        }
        None => {
            peers.push(Peer {
                document,
                beacon,
                last_seen: now,
            });
            peers.sort_by(|a, b| a.beacon.name.cmp(&b.beacon.name));
            true
        }
    }
}

/// Drops peers not heard from for [`EXPIRY_MS`]; returns whether any were dropped.
pub fn expire(peers: &mut Vec<Peer>, now: u64) -> bool {
    let before = peers.len();
    peers.retain(|p| now.saturating_sub(p.last_seen) < EXPIRY_MS);
    peers.len() != before
}

/// The colour of `organization` among `parties` (each party's name and its
/// colour as the document resolves it, see
/// [`accord_shared::model::parties::colours`]); an organization not (yet) in
/// the document, such as a joining peer's, gets a stable colour from its
/// name.
pub fn party_colour(parties: &[(String, PartyColour)], organization: &str) -> &'static str {
    let wanted = organization.trim();
    if let Some((_, colour)) = parties
        .iter()
        .find(|(name, _)| name.trim().eq_ignore_ascii_case(wanted))
    {
        return colour.hex();
    }
    // FNV-1a: tiny and stable across builds.
    let hash = wanted.to_lowercase().bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    PartyColour::ALL[hash as usize % PartyColour::ALL.len()].hex()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beacon(session: &str, page: &str) -> Beacon {
        Beacon {
            session: session.into(),
            name: "Bea Baker".into(),
            organization: "Globex".into(),
            page: page.into(),
            leaving: false,
            board: None,
            clause: None,
        }
    }

    #[test]
    fn peers_join_move_leave_and_expire() {
        let doc = DocumentId::from_bytes([1; 16]);
        let mut peers = Vec::new();
        assert!(receive(&mut peers, doc, beacon("s1", "overview"), 1_000));
        assert!(!receive(&mut peers, doc, beacon("s1", "overview"), 3_000));
        assert!(receive(&mut peers, doc, beacon("s1", "plan"), 3_500));
        assert_eq!(peers[0].beacon.page, "plan");
        assert!(!expire(&mut peers, 3_500 + EXPIRY_MS - 1));
        assert!(expire(&mut peers, 3_500 + EXPIRY_MS));
        assert!(peers.is_empty());

        assert!(receive(&mut peers, doc, beacon("s2", "overview"), 10_000));
        let leaving = Beacon {
            leaving: true,
            ..beacon("s2", "overview")
        };
        assert!(receive(&mut peers, doc, leaving.clone(), 10_100));
        assert!(peers.is_empty());
        assert!(!receive(&mut peers, doc, leaving, 10_200));
    }

    /// A beacon of `session` on the agreement, typing in clause `c1`.
    fn typing_in_c1(session: &str, caret: &str, anchor: Option<&str>) -> Beacon {
        Beacon {
            clause: Some(ClauseSpot {
                clause: "c1".into(),
                caret: caret.into(),
                anchor: anchor.map(Into::into),
            }),
            ..beacon(session, "agreement")
        }
    }

    #[test]
    fn a_caret_expires_two_seconds_after_the_beacon_that_carried_it() {
        let doc = DocumentId::from_bytes([1; 16]);
        let mut peers = Vec::new();
        let typing = typing_in_c1("s1", "e", None);
        receive(&mut peers, doc, typing.clone(), 1_000);
        assert!(peers[0].live_caret(1_000 + CARET_EXPIRY_MS - 1).is_some());
        assert!(peers[0].live_caret(1_000 + CARET_EXPIRY_MS).is_none());
        // A heartbeat while typing keeps it; the peer itself stays longer.
        receive(
            &mut peers,
            doc,
            typing,
            1_000 + u64::from(CARET_HEARTBEAT_MS),
        );
        assert!(peers[0].live_caret(1_000 + CARET_EXPIRY_MS).is_some());
        assert!(!expire(&mut peers, 1_000 + CARET_EXPIRY_MS * 2));
        // A beacon without a caret (the text lost the focus) drops it at once.
        receive(&mut peers, doc, beacon("s1", "agreement"), 1_700);
        assert!(peers[0].live_caret(1_700).is_none());
        // An older tab's beacon without `anchor` still decodes.
        let old = typing_in_c1("s2", "3@ab", None);
        assert_eq!(Beacon::decode(&old.encode()), Some(old));
    }

    #[test]
    fn beacons_round_trip_and_junk_is_ignored() {
        let b = beacon("s", "overview");
        assert_eq!(Beacon::decode(&b.encode()), Some(b));
        let typing = typing_in_c1("s", "12@ab", Some("9@ab"));
        assert_eq!(Beacon::decode(&typing.encode()), Some(typing));
        assert_eq!(Beacon::decode(b"\xa1\x01"), None);
    }

    #[test]
    fn board_spots_ride_along_and_old_beacons_still_read() {
        let mut b = beacon("s", "boards");
        b.board = Some(BoardSpot {
            board: "b1".into(),
            pointer: Some((2_500, 5_000)),
            selected: Some("n1".into()),
        });
        assert_eq!(Beacon::decode(&b.encode()), Some(b));
        let old = br#"{"session":"s","name":"N","organization":"O","page":"overview"}"#;
        assert_eq!(Beacon::decode(old).unwrap().board, None);
        assert!(
            !String::from_utf8(beacon("s", "x").encode())
                .unwrap()
                .contains("board")
        );
    }

    #[test]
    fn initials_and_colours_are_stable() {
        let doc = DocumentId::from_bytes([1; 16]);
        let peer = Peer {
            document: doc,
            beacon: beacon("s", "overview"),
            last_seen: 0,
        };
        assert_eq!(peer.initials(), "BB");
        assert_eq!(party_colour(&[], "Globex"), party_colour(&[], " globex "));
        // The document's colours win over the name's: two organizations
        // whose names hash alike still show their own colours.
        let parties = [
            ("Acme".to_owned(), PartyColour::Blue),
            ("Globex".to_owned(), PartyColour::Orange),
        ];
        assert_eq!(party_colour(&parties, "acme"), PartyColour::Blue.hex());
        assert_eq!(party_colour(&parties, "Globex "), PartyColour::Orange.hex());
    }
}
