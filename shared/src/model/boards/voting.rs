//! Dot voting: the facilitator opens a vote giving everyone N dots; ballots
//! are sealed until the facilitator reveals, then ranked.
//!
//! ```text
//! votes: { id → { votes_each, opened_at, opened_by, revealed_at?, closed_at?,
//!                 order,
//!   ballots: { member id → { party?, cast_at, nonce, sealed, commitment, key? } } } }
//! ```
//!
//! # Hidden until the reveal
//!
//! A ballot (which notes get how many of the voter's dots) is sealed on the
//! voter's device exactly like a health-check answer (see
//! [`crate::model::health`]): ChaCha20-Poly1305 under a [`SealKey`] only that
//! device holds — random, or derived with [`SealKey::derive`]`(secret,
//! board, vote, member)` — with a SHA-256 commitment to the key. The
//! document holds only the nonce, ciphertext (padded to 256-byte steps)
//! and commitment, so before the reveal no replica, relay or history
//! shows who put dots where, and nobody can tailor their dots to others'.
//! Casting again before the reveal replaces the whole ballot (the ballot
//! map is written anew, so two devices of one member casting at once leave
//! one whole ballot, never a mix); the N-dot limit is checked when sealing.
//!
//! [`reveal`] (facilitator) stops new ballots. Each voter's device then
//! publishes its key ([`publish_key`]; the app calls it whenever
//! [`should_publish`] is true); a key counts only if it matches the
//! commitment and opens the ballot. Results count the opened ballots —
//! `complete` says whether every ballot is in — and ignore dots on notes
//! removed since. A modified client can write a ballot over the limit; it
//! is dropped when opened ([`Results::invalid`] counts them). Who voted and
//! when is visible to all. [`close`] ends a vote for good: no ballots, and
//! a vote closed before its reveal never shows results.

use crate::model::error::OpResult;
use crate::model::fields::Tx;
use std::collections::BTreeMap;

use automerge::{ObjId, ObjType, ReadDoc};

use super::seal::{self, SealKey};
use super::{Role, VOTES, board_map, read_notes, require, require_as, require_facilitator};
use crate::model::error::OpError;
use crate::model::fields::{check_date, check_range, child_map, get_str, get_u64, put};
use crate::model::ids::{ItemId, MemberId, PartyId};
use crate::model::items;
use crate::model::items::require_in;
use crate::model::members;
use crate::model::refs;
use crate::model::sealing::{self, BoardSeals, MemberSeal};

const BALLOTS: &str = "ballots";
const BALLOT_CONTEXT: &[u8] = b"ballot";

/// The most dots a vote can give each participant.
pub const MAX_VOTES_EACH: u64 = 20;

/// One voter's dots: how many on each note.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ballot {
    /// Dots per note.
    pub dots: BTreeMap<ItemId, u8>,
}

impl Ballot {
    /// How many dots in all.
    pub fn total(&self) -> u32 {
        self.dots.values().map(|&d| u32::from(d)).sum()
    }

    /// `[1, count (u16 BE), (note id, dots)…]`.
    fn encode(&self) -> Vec<u8> {
        let mut out = vec![1];
        let count = u16::try_from(self.dots.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for (note, dots) in self.dots.iter().take(usize::from(count)) {
            out.extend_from_slice(note.as_bytes());
            out.push(*dots);
        }
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let (&format, rest) = bytes.split_first()?;
        if format != 1 || rest.len() < 2 {
            return None;
        }
        let count = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let entries = rest.get(2..)?;
        if entries.len() != count * 17 {
            return None;
        }
        let mut dots = BTreeMap::new();
        for chunk in entries.chunks(17) {
            let note = ItemId::from_bytes(chunk[..16].try_into().ok()?);
            if chunk[16] == 0 || dots.insert(note, chunk[16]).is_some() {
                return None;
            }
        }
        Some(Self { dots })
    }
}

/// The outcome of a revealed vote.
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    /// Every live note of the board with its dots, most first (ties in
    /// board order).
    pub ranking: Vec<(ItemId, u32)>,
    /// Ballots opened and counted.
    pub counted: usize,
    /// Ballots cast.
    pub cast: usize,
    /// Opened ballots dropped for breaking the rules (too many dots).
    pub invalid: usize,
    /// Every ballot is opened.
    pub complete: bool,
}

/// A dot vote.
#[derive(Debug, Clone, PartialEq)]
pub struct Vote {
    /// Its id.
    pub id: ItemId,
    /// Dots each participant has.
    pub votes_each: u32,
    /// When it was opened (UTC ms).
    pub opened_at: u64,
    /// Who opened it.
    pub opened_by: Option<MemberId>,
    /// When the facilitator revealed it.
    pub revealed_at: Option<u64>,
    /// When it was closed.
    pub closed_at: Option<u64>,
    /// Who has cast a ballot, with their party and when, by time.
    pub voters: Vec<(MemberId, Option<PartyId>, u64)>,
    /// After the reveal, once at least one key is published.
    pub results: Option<Results>,
}

impl Vote {
    /// Accepting ballots: neither revealed nor closed.
    pub fn is_open(&self) -> bool {
        self.revealed_at.is_none() && self.closed_at.is_none()
    }
}

fn ballots<R: ReadDoc>(doc: &R, vote: &ObjId) -> Vec<MemberSeal<BoardSeals>> {
    MemberSeal::read_all(doc, child_map(doc, vote, BALLOTS).as_ref(), "cast_at")
}

fn read_one<R: ReadDoc>(
    doc: &R,
    board: ItemId,
    board_obj: &ObjId,
    id: ItemId,
    obj: &ObjId,
) -> Vote {
    let votes_each = get_u64(doc, obj, "votes_each")
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(0);
    let revealed_at = get_u64(doc, obj, REVEALED_AT);
    let stored = ballots(doc, obj);
    let mut voters: Vec<(MemberId, Option<PartyId>, u64)> =
        stored.iter().map(|b| (b.member, b.party, b.at)).collect();
    voters.sort_by_key(|(m, _, at)| (*at, *m));
    let results = revealed_at
        .filter(|_| stored.iter().any(|b| b.sealed.key.is_some()))
        .map(|_| {
            let notes = read_notes(doc, board_obj);
            let mut totals: BTreeMap<ItemId, u32> = BTreeMap::new();
            let (mut counted, mut invalid) = (0, 0);
            for ballot in &stored {
                let context = seal::context(BALLOT_CONTEXT, board, id, ballot.member);
                let Some(opened) =
                    seal::open_published(&ballot.sealed, &context).and_then(|b| Ballot::decode(&b))
                else {
                    continue;
                };
                if opened.total() > votes_each {
                    invalid += 1;
                    continue;
                }
                counted += 1;
                for (note, dots) in opened.dots {
                    *totals.entry(note).or_default() += u32::from(dots);
                }
            }
            let mut ranking: Vec<(ItemId, u32)> = notes
                .iter()
                .map(|n| (n.id, totals.get(&n.id).copied().unwrap_or(0)))
                .collect();
            // Stable: equal totals keep board order.
            ranking.sort_by_key(|r| std::cmp::Reverse(r.1));
            Results {
                ranking,
                counted,
                cast: stored.len(),
                invalid,
                complete: counted + invalid == stored.len(),
            }
        });
    Vote {
        id,
        votes_each,
        opened_at: get_u64(doc, obj, "opened_at").unwrap_or(0),
        opened_by: get_str(doc, obj, "opened_by").and_then(|m| m.parse().ok()),
        revealed_at,
        closed_at: get_u64(doc, obj, CLOSED_AT),
        voters,
        results,
    }
}

/// The board's votes, oldest first.
pub fn list<R: ReadDoc>(doc: &R, board: ItemId) -> Vec<Vote> {
    let Ok(board_obj) = require(doc, board) else {
        return Vec::new();
    };
    let Ok(map) = board_map(doc, &board_obj, VOTES, "board.votes") else {
        return Vec::new();
    };
    let mut found: Vec<Vote> = items::entries(doc, &map)
        .into_iter()
        .map(|(id, obj)| read_one(doc, board, &board_obj, id, &obj))
        .collect();
    found.sort_by(|a, b| a.opened_at.cmp(&b.opened_at).then(a.id.cmp(&b.id)));
    found
}

/// One vote, or [`OpError::NotFound`].
pub fn get<R: ReadDoc>(doc: &R, board: ItemId, vote: ItemId) -> OpResult<Vote> {
    let (board_obj, obj) = locate(doc, board, vote)?;
    Ok(read_one(doc, board, &board_obj, vote, &obj))
}

fn locate<R: ReadDoc>(doc: &R, board: ItemId, vote: ItemId) -> OpResult<(ObjId, ObjId)> {
    let board_obj = require(doc, board)?;
    let map = board_map(doc, &board_obj, VOTES, "board.votes")?;
    let obj = require_in(doc, &map, "vote", vote)?;
    Ok((board_obj, obj))
}

/// Opens a vote giving every participant `votes_each` dots (1–20).
/// Facilitator only; refused while another vote of the board is open.
pub fn open<T: Tx>(
    tx: &mut T,
    board: ItemId,
    id: ItemId,
    votes_each: u32,
    by: MemberId,
    now: u64,
) -> OpResult {
    let votes_each = check_range("votes each", u64::from(votes_each), 1, MAX_VOTES_EACH)?;
    let now = check_date("time", now)?;
    let board_obj = require_as(tx, board, by, Role::Facilitator)?;
    if list(tx, board).iter().any(Vote::is_open) {
        return Err(OpError::Invalid {
            field: "vote",
            reason: "another vote on this board is still open",
        });
    }
    let map = board_map(tx, &board_obj, VOTES, "board.votes")?;
    let obj = items::create(tx, &map, "vote", id)?;
    tx.put(&obj, "votes_each", votes_each)?;
    tx.put(&obj, "opened_at", now)?;
    tx.put(&obj, "opened_by", by.key())?;
    tx.put_object(&obj, BALLOTS, ObjType::Map)?;
    Ok(())
}

/// Seals and casts `member`'s ballot under `key` with a fresh random
/// `nonce` (never reuse one with the same key: replaced ballots stay in the
/// history; the op only refuses a repeat of the current ballot's nonce),
/// replacing their earlier ballot. Refused once the vote is
/// revealed or closed, for more dots than the vote gives, no dots, and dots
/// on notes not on the board.
#[allow(clippy::too_many_arguments)]
pub fn cast<T: Tx>(
    tx: &mut T,
    board: ItemId,
    vote: ItemId,
    member: MemberId,
    ballot: &Ballot,
    key: &SealKey,
    nonce: [u8; 12],
    now: u64,
) -> OpResult {
    let now = check_date("time", now)?;
    let party = members::get(tx, member)?.party;
    refs::require_member(tx, member)?;
    let (board_obj, obj) = locate(tx, board, vote)?;
    let current = read_one(tx, board, &board_obj, vote, &obj);
    if !current.is_open() {
        return Err(OpError::Invalid {
            field: "vote",
            reason: "it is no longer taking ballots",
        });
    }
    if ballot.dots.is_empty() || ballot.dots.values().any(|&d| d == 0) {
        return Err(OpError::Empty { field: "ballot" });
    }
    if ballot.total() > current.votes_each {
        return Err(OpError::OutOfRange {
            field: "dots",
            min: 1.0,
            max: f64::from(current.votes_each),
            value: f64::from(ballot.total()),
        });
    }
    let notes = read_notes(tx, &board_obj);
    if let Some(missing) = ballot
        .dots
        .keys()
        .find(|n| !notes.iter().any(|x| x.id == **n))
    {
        return Err(OpError::not_found("note", missing));
    }
    let context = seal::context(BALLOT_CONTEXT, board, vote, member);
    if ballots(tx, &obj)
        .iter()
        .any(|b| b.member == member && b.sealed.nonce == nonce)
    {
        return Err(OpError::Invalid {
            field: "nonce",
            reason: "it was already used for this ballot",
        });
    }
    let sealed = seal::seal(&ballot.encode(), key, nonce, &context)?;
    let map = board_map(tx, &obj, BALLOTS, "vote.ballots")?;
    sealing::write_member_seal(tx, &map, (member, party), ("cast_at", now), &sealed)
}

/// Reveals the vote: no more ballots; voters' devices publish their keys.
/// Facilitator only; refused once closed.
pub fn reveal<T: Tx>(tx: &mut T, board: ItemId, vote: ItemId, by: MemberId, now: u64) -> OpResult {
    stamp_once(tx, (board, vote), by, now, REVEALED_AT)
}

/// Closes the vote for good. Facilitator only; closing again changes
/// nothing.
pub fn close<T: Tx>(tx: &mut T, board: ItemId, vote: ItemId, by: MemberId, now: u64) -> OpResult {
    stamp_once(tx, (board, vote), by, now, CLOSED_AT)
}

const REVEALED_AT: &str = "revealed_at";
const CLOSED_AT: &str = "closed_at";

/// Writes `now` into the vote's `field` ([`REVEALED_AT`] or [`CLOSED_AT`])
/// unless it is there already. Facilitator only; a closed vote is not
/// revealed.
fn stamp_once<T: Tx>(
    tx: &mut T,
    (board, vote): (ItemId, ItemId),
    by: MemberId,
    now: u64,
    field: &str,
) -> OpResult {
    let now = check_date("time", now)?;
    let (board_obj, obj) = locate(tx, board, vote)?;
    require_facilitator(tx, &board_obj, by)?;
    if field == REVEALED_AT && get_u64(tx, &obj, CLOSED_AT).is_some() {
        return Err(OpError::Invalid {
            field: "vote",
            reason: "it is closed",
        });
    }
    if get_u64(tx, &obj, field).is_some() {
        return Ok(());
    }
    put(tx, &obj, field, now)
}

/// Publishes `member`'s ballot key after the reveal. Refused before it, and
/// for a key that does not match the commitment or open the ballot.
/// Publishing the same key again changes nothing.
pub fn publish_key<T: Tx>(
    tx: &mut T,
    board: ItemId,
    vote: ItemId,
    member: MemberId,
    key: &SealKey,
) -> OpResult {
    let (_, obj) = locate(tx, board, vote)?;
    if get_u64(tx, &obj, REVEALED_AT).is_none() {
        return Err(OpError::Invalid {
            field: "vote",
            reason: "it has not been revealed yet",
        });
    }
    let ballot = ballots(tx, &obj)
        .into_iter()
        .find(|b| b.member == member)
        .ok_or_else(|| OpError::not_found("ballot", &member))?;
    let context = seal::context(BALLOT_CONTEXT, board, vote, member);
    ballot.publish(
        tx,
        key,
        |key| seal::open(&ballot.sealed, key, &context).is_some(),
        "it does not open this member's ballot",
    )
}

/// Whether `member`'s device should publish its key now: the vote is
/// revealed, they cast a ballot, and its key is not published.
pub fn should_publish<R: ReadDoc>(doc: &R, board: ItemId, vote: ItemId, member: MemberId) -> bool {
    let Ok((_, obj)) = locate(doc, board, vote) else {
        return false;
    };
    get_u64(doc, &obj, REVEALED_AT).is_some()
        && ballots(doc, &obj)
            .iter()
            .any(|b| b.member == member && b.sealed.key.is_none())
}

/// Opens the member's own ballot with their key, to show their dots before
/// the reveal.
pub fn own_ballot<R: ReadDoc>(
    doc: &R,
    board: ItemId,
    vote: ItemId,
    member: MemberId,
    key: &SealKey,
) -> Option<Ballot> {
    let (_, obj) = locate(doc, board, vote).ok()?;
    let ballot = ballots(doc, &obj)
        .into_iter()
        .find(|b| b.member == member)?;
    let context = seal::context(BALLOT_CONTEXT, board, vote, member);
    Ballot::decode(&seal::open(&ballot.sealed, key, &context)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ballots_round_trip_and_junk_is_refused() {
        let ballot = Ballot {
            dots: [
                (ItemId::from_bytes([1; 16]), 2),
                (ItemId::from_bytes([2; 16]), 1),
            ]
            .into(),
        };
        assert_eq!(ballot.total(), 3);
        assert_eq!(Ballot::decode(&ballot.encode()), Some(ballot));
        assert_eq!(Ballot::decode(&[2, 0, 0]), None);
        assert_eq!(Ballot::decode(&[1, 0, 1]), None);
        let mut zero = vec![1, 0, 1];
        zero.extend_from_slice(&[1; 16]);
        zero.push(0);
        assert_eq!(Ballot::decode(&zero), None);
    }
}
