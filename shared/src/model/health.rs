//! Health checks: a survey round every member answers, with each party's
//! answers **sealed** until every party has submitted.
//!
//! ```text
//! health: { round id → { title, opened_at, opened_by (member id), order, deleted_at?,
//!   participants: { member id → party id },          # who is asked, fixed at opening
//!   closed:       { party id → { by, at } },          # "submit our party as it is"
//!   answers:      { member id → { party, sealed_at,
//!                                 nonce (bytes 12), sealed (bytes), commitment (bytes 32),
//!                                 key (bytes 32)? } } } }   # key: published at the reveal
//! ```
//!
//! # How the sealing works (commit, then reveal)
//!
//! 1. **Answer**: the member's device encrypts the answer (five ratings 1–5
//!    and a free text, padded to a multiple of 256 bytes) with
//!    ChaCha20-Poly1305 under a 32-byte **answer key** that only that device
//!    holds, and writes the ciphertext, the nonce and a **commitment**
//!    `SHA-256("accord/health/commitment/v1" ‖ key ‖ round ‖ member)`. The
//!    associated data binds the ciphertext to its round, member and party, so
//!    it cannot be moved to another slot. Nothing else about the answer
//!    enters the document. The key is random bytes from the caller or,
//!    so nothing must be stored, derived from the device's secret with
//!    [`AnswerKey::derive`].
//! 2. **Submitted**: a party has submitted when every participant of that
//!    party (who has not left) has answered, or when one of its participants
//!    closed the party's submission ([`close_party`]) with at least one
//!    answer in.
//! 3. **Reveal**: once *every* party has submitted, each answering device
//!    publishes its key ([`reveal`]; the app calls it whenever
//!    [`should_reveal`] says so). A key is accepted only if it matches the
//!    commitment and opens the ciphertext. Results are computed by
//!    decrypting the answers whose keys are published.
//!
//! What this protects: before the reveal, the shared document — on every
//! replica, on the relay, in its history — holds only ciphertext, so no
//! client, curious or modified, can read another member's answers; and an
//! honest device publishes its key only after every party is in, so a party
//! cannot see the other's answers before its own are committed. The
//! commitment makes the key binding: a member cannot later publish a
//! different key that opens their ciphertext to a different answer.
//!
//! What it does not protect against (a member running a modified client
//! can write anything the document allows; their changes are attributed to
//! their device in the history): publishing their *own* key early (it
//! reveals only their own answer); marking another party closed or adding
//! answers after seeing results (ops refuse both; a modified client can
//! bypass the ops, and the history shows who did it). Who answered, when,
//! and the padded length of the free text are visible to everyone; ratings
//! are not. A member whose device never comes back after everyone
//! submitted leaves their answer sealed: results show "n of m revealed".
//! Within a party there is no anonymity beyond averages: with one
//! respondent, the party average is their answer.

use crate::model::error::OpResult;
use crate::model::fields::Tx;
use std::collections::{BTreeMap, BTreeSet};

use automerge::{ObjId, ObjType, ReadDoc};

use super::error::OpError;
use super::fields::{check_date, child_map, get_str, get_string, get_u64, non_empty};
use super::hash_prefix::HashPrefix;
use super::ids::{ItemId, MemberId, PartyId};
use super::items;
use super::items::{require_in, root_map, sub_map};
use super::keys::HEALTH;
use super::members;
use super::refs;
use super::sealing::{self, HealthAnswers, MemberSeal, Sealed, SealingKey};

const PARTICIPANTS: &str = "participants";
const CLOSED: &str = "closed";
const ANSWERS: &str = "answers";

/// Longest free-text answer, in bytes of UTF-8.
pub const MAX_COMMENT_BYTES: usize = 4000;
/// A perception gap this large (or larger) is highlighted.
pub const GAP_THRESHOLD: f64 = 1.0;
const FORMAT: u8 = 1;

/// The questions of a round, each rated 1–5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Question {
    /// "I trust the partner."
    Trust,
    /// "Communication works."
    Communication,
    /// "The partnership delivers value to us."
    ValueDelivered,
    /// "We are aligned on goals."
    Alignment,
    /// "The partner responds promptly."
    Responsiveness,
}

impl Question {
    /// Every question, in order.
    pub const ALL: [Question; 5] = [
        Self::Trust,
        Self::Communication,
        Self::ValueDelivered,
        Self::Alignment,
        Self::Responsiveness,
    ];

    /// A short label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Trust => "Trust",
            Self::Communication => "Communication",
            Self::ValueDelivered => "Value delivered",
            Self::Alignment => "Alignment",
            Self::Responsiveness => "Responsiveness",
        }
    }

    /// Position in [`Question::ALL`] (and in rating arrays).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One member's answer: a rating 1–5 per question (in [`Question::ALL`]
/// order) and free text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    /// Ratings, 1–5.
    pub ratings: [u8; 5],
    /// Free text.
    pub comment: String,
}

/// The 32-byte key sealing one member's answer in one round.
pub type AnswerKey = SealingKey<HealthAnswers>;

impl SealingKey<HealthAnswers> {
    /// A key derived from a device secret (for example its Ed25519 seed),
    /// so the device can find it again without storing it:
    /// `SHA-256("accord/health/answer-key/v1" ‖ len ‖ secret ‖ round ‖ member)`.
    /// Publishing it reveals nothing about the secret.
    pub fn derive(secret: &[u8], round: ItemId, member: MemberId) -> Self {
        Self::derive_parts(secret, &[round.as_bytes(), member.as_bytes()])
    }

    /// The same key as [`Self::derive`] with the secret `prefix` was made
    /// from (see [`SealingKey::prefix`]).
    pub fn derive_from_prefix(prefix: &HashPrefix, round: ItemId, member: MemberId) -> Self {
        Self::from_prefix(prefix, &[round.as_bytes(), member.as_bytes()])
    }
}

/// What an answer's commitment names: `round ‖ member`.
fn slot(round: ItemId, member: MemberId) -> Vec<u8> {
    [round.as_bytes().as_slice(), member.as_bytes()].concat()
}

/// What an answer's ciphertext is bound to: `round ‖ member ‖ party`.
fn binding(round: ItemId, member: MemberId, party: PartyId) -> Vec<u8> {
    [slot(round, member).as_slice(), party.as_bytes()].concat()
}

fn check_answers(answers: &Answers) -> OpResult {
    for (question, &rating) in Question::ALL.iter().zip(&answers.ratings) {
        if !(1..=5).contains(&rating) {
            return Err(OpError::OutOfRange {
                field: question.label(),
                min: 1.0,
                max: 5.0,
                value: f64::from(rating),
            });
        }
    }
    if answers.comment.len() > MAX_COMMENT_BYTES {
        return Err(OpError::Invalid {
            field: "comment",
            reason: "it is longer than 4000 bytes",
        });
    }
    Ok(())
}

/// `[format, r1..r5, len (u16 BE), comment…, zero padding to 256·k]`.
fn encode(answers: &Answers) -> Vec<u8> {
    let comment = answers.comment.trim().as_bytes();
    let mut plain = Vec::with_capacity(sealing::PAD);
    plain.push(FORMAT);
    plain.extend_from_slice(&answers.ratings);
    let len = u16::try_from(comment.len()).unwrap_or(u16::MAX);
    plain.extend_from_slice(&len.to_be_bytes());
    plain.extend_from_slice(&comment[..usize::from(len)]);
    sealing::pad(&mut plain);
    plain
}

fn decode(plain: &[u8]) -> Option<Answers> {
    let (&format, rest) = plain.split_first()?;
    if format != FORMAT || rest.len() < 7 {
        return None;
    }
    let ratings: [u8; 5] = rest[..5].try_into().ok()?;
    if ratings.iter().any(|r| !(1..=5).contains(r)) {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([rest[5], rest[6]]));
    let comment = rest.get(7..7 + len)?;
    Some(Answers {
        ratings,
        comment: String::from_utf8(comment.to_vec()).ok()?,
    })
}

fn seal(
    answers: &Answers,
    key: &AnswerKey,
    nonce: [u8; 12],
    round: ItemId,
    member: MemberId,
    party: PartyId,
) -> OpResult<Sealed<HealthAnswers>> {
    Sealed::seal(
        &encode(answers),
        key,
        nonce,
        &slot(round, member),
        &binding(round, member, party),
    )
    .ok_or(OpError::Invalid {
        field: "answers",
        reason: "they could not be sealed",
    })
}

fn open(answer: &SealedAnswer, key: &AnswerKey, round: ItemId) -> Option<Answers> {
    let plain = answer.sealed.open(
        key,
        &slot(round, answer.member),
        &binding(round, answer.member, answer.party?),
    )?;
    decode(&plain)
}

// ---------------------------------------------------------------------------
// Reading.

/// A member's sealed answer; its party is always there (see
/// [`sealed_answers`]).
type SealedAnswer = MemberSeal<HealthAnswers>;

/// The answers of a round that name a party and a 32-byte commitment.
fn sealed_answers<R: ReadDoc>(doc: &R, round: &ObjId) -> Vec<SealedAnswer> {
    let map = child_map(doc, round, ANSWERS);
    MemberSeal::read_all(doc, map.as_ref(), "sealed_at")
        .into_iter()
        .filter(|a| a.party.is_some() && a.sealed.commitment.len() == 32)
        .collect()
}

/// One party's progress in a round.
#[derive(Debug, Clone, PartialEq)]
pub struct PartyProgress {
    /// The party.
    pub party: PartyId,
    /// Its participants who have not left.
    pub expected: Vec<MemberId>,
    /// Those of its members who have answered (sealed).
    pub answered: Vec<MemberId>,
    /// Who closed the party's submission early, and when.
    pub closed: Option<(MemberId, u64)>,
    /// Everyone expected answered, or closed with at least one answer.
    pub submitted: bool,
}

/// Where a round stands.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundStatus {
    /// Each party with participants, in party id order.
    pub parties: Vec<PartyProgress>,
    /// Every party has submitted: keys may be published.
    pub all_submitted: bool,
    /// How many answers are sealed in the document.
    pub sealed: usize,
    /// How many of them have their key published.
    pub revealed: usize,
}

/// One party's view after the reveal.
#[derive(Debug, Clone, PartialEq)]
pub struct PartyResult {
    /// The party.
    pub party: PartyId,
    /// Answers opened (key published and valid).
    pub revealed: usize,
    /// Answers sealed.
    pub sealed: usize,
    /// Average rating per question (in [`Question::ALL`] order); `None`
    /// before any of the party's answers is revealed.
    pub averages: [Option<f64>; 5],
    /// The free-text answers that are not blank, sorted (not in answer
    /// order, so they cannot be matched to who answered when).
    pub comments: Vec<String>,
}

/// How far apart the parties see one question.
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    /// The question.
    pub question: Question,
    /// The lowest party average, and whose.
    pub low: (PartyId, f64),
    /// The highest party average, and whose.
    pub high: (PartyId, f64),
    /// `high − low` (for two parties, |A − B|).
    pub gap: f64,
    /// `gap ≥` [`GAP_THRESHOLD`].
    pub highlighted: bool,
}

/// The results of a revealed round.
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    /// Per party, in party id order.
    pub parties: Vec<PartyResult>,
    /// Per question where at least two parties have an average.
    pub gaps: Vec<Gap>,
    /// Every sealed answer is revealed.
    pub complete: bool,
}

/// A health-check round.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    /// Its id.
    pub id: ItemId,
    /// Its title ("Health check 2024").
    pub title: String,
    /// When it was opened (UTC ms).
    pub opened_at: u64,
    /// Who opened it.
    pub opened_by: Option<MemberId>,
    /// Who has submitted.
    pub status: RoundStatus,
    /// After every party submitted and at least one key is published.
    pub results: Option<Results>,
}

fn participants<R: ReadDoc>(doc: &R, round: &ObjId) -> BTreeMap<MemberId, PartyId> {
    let Some(map) = child_map(doc, round, PARTICIPANTS) else {
        return BTreeMap::new();
    };
    doc.keys(&map)
        .filter_map(|key| Some((key.parse().ok()?, get_str(doc, &map, &key)?.parse().ok()?)))
        .collect()
}

fn status<R: ReadDoc>(doc: &R, round: &ObjId, answers: &[SealedAnswer]) -> RoundStatus {
    let left: BTreeSet<MemberId> = members::list(doc)
        .into_iter()
        .filter(|m| m.left_at.is_some())
        .map(|m| m.id)
        .collect();
    let closed_map = child_map(doc, round, CLOSED);
    let mut by_party: BTreeMap<PartyId, PartyProgress> = BTreeMap::new();
    for (member, party) in participants(doc, round) {
        let entry = by_party.entry(party).or_insert_with(|| PartyProgress {
            party,
            expected: Vec::new(),
            answered: Vec::new(),
            closed: None,
            submitted: false,
        });
        if !left.contains(&member) {
            entry.expected.push(member);
        }
    }
    for answer in answers {
        if let Some(entry) = answer.party.and_then(|p| by_party.get_mut(&p)) {
            entry.answered.push(answer.member);
        }
    }
    for entry in by_party.values_mut() {
        entry.answered.sort();
        entry.closed = closed_map.as_ref().and_then(|map| {
            let obj = child_map(doc, map, &entry.party.key())?;
            Some((
                get_str(doc, &obj, "by")?.parse().ok()?,
                get_u64(doc, &obj, "at")?,
            ))
        });
        let everyone = entry.expected.iter().all(|m| entry.answered.contains(m));
        entry.submitted = !entry.answered.is_empty() && (everyone || entry.closed.is_some());
    }
    // A party whose participants all left without answering is not waited for.
    let parties: Vec<PartyProgress> = by_party
        .into_values()
        .filter(|p| !p.expected.is_empty() || !p.answered.is_empty())
        .collect();
    RoundStatus {
        all_submitted: !parties.is_empty() && parties.iter().all(|p| p.submitted),
        parties,
        sealed: answers.len(),
        revealed: answers.iter().filter(|a| a.sealed.key.is_some()).count(),
    }
}

fn results(round: ItemId, status: &RoundStatus, answers: &[SealedAnswer]) -> Option<Results> {
    if !status.all_submitted || status.revealed == 0 {
        return None;
    }
    let mut parties = Vec::new();
    let mut complete = true;
    for progress in &status.parties {
        let mine: Vec<&SealedAnswer> = answers
            .iter()
            .filter(|a| a.party == Some(progress.party))
            .collect();
        let opened: Vec<Answers> = mine
            .iter()
            .filter_map(|a| open(a, a.sealed.key.as_ref()?, round))
            .collect();
        complete &= opened.len() == mine.len();
        let mut averages = [None; 5];
        if !opened.is_empty() {
            for (q, average) in averages.iter_mut().enumerate() {
                let sum: u32 = opened.iter().map(|a| u32::from(a.ratings[q])).sum();
                *average = Some(f64::from(sum) / opened.len() as f64);
            }
        }
        let mut comments: Vec<String> = opened
            .iter()
            .map(|a| a.comment.clone())
            .filter(|c| !c.trim().is_empty())
            .collect();
        comments.sort();
        parties.push(PartyResult {
            party: progress.party,
            revealed: opened.len(),
            sealed: mine.len(),
            averages,
            comments,
        });
    }
    let gaps = Question::ALL
        .into_iter()
        .filter_map(|question| {
            let values: Vec<(PartyId, f64)> = parties
                .iter()
                .filter_map(|p| Some((p.party, p.averages[question.index()]?)))
                .collect();
            if values.len() < 2 {
                return None;
            }
            let low = *values.iter().min_by(|a, b| a.1.total_cmp(&b.1))?;
            let high = *values.iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
            let gap = high.1 - low.1;
            Some(Gap {
                question,
                low,
                high,
                gap,
                highlighted: gap >= GAP_THRESHOLD,
            })
        })
        .collect();
    Some(Results {
        parties,
        gaps,
        complete,
    })
}

fn read_one<R: ReadDoc>(doc: &R, id: ItemId, obj: &ObjId) -> Round {
    let answers = sealed_answers(doc, obj);
    let status = status(doc, obj, &answers);
    Round {
        id,
        title: get_string(doc, obj, "title"),
        opened_at: get_u64(doc, obj, "opened_at").unwrap_or(0),
        opened_by: get_str(doc, obj, "opened_by").and_then(|m| m.parse().ok()),
        results: results(id, &status, &answers),
        status,
    }
}

/// Every round, oldest first.
pub fn list<R: ReadDoc>(doc: &R) -> Vec<Round> {
    let Ok(map) = root_map(doc, HEALTH) else {
        return Vec::new();
    };
    let mut found: Vec<Round> = items::entries(doc, &map)
        .into_iter()
        .map(|(id, obj)| read_one(doc, id, &obj))
        .collect();
    found.sort_by(|a, b| a.opened_at.cmp(&b.opened_at).then(a.id.cmp(&b.id)));
    found
}

/// One round, or [`OpError::NotFound`].
pub fn get<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<Round> {
    let obj = require(doc, id)?;
    Ok(read_one(doc, id, &obj))
}

/// One point of the trend: a round's per-party averages.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    /// The round.
    pub round: ItemId,
    /// Its title.
    pub title: String,
    /// When it was opened (UTC ms).
    pub opened_at: u64,
    /// Per party (party id order): averages per question.
    pub parties: Vec<(PartyId, [Option<f64>; 5])>,
}

/// The revealed rounds, oldest first, for the trend chart.
pub fn trend<R: ReadDoc>(doc: &R) -> Vec<TrendPoint> {
    list(doc)
        .into_iter()
        .filter_map(|round| {
            let results = round.results?;
            Some(TrendPoint {
                round: round.id,
                title: round.title,
                opened_at: round.opened_at,
                parties: results
                    .parties
                    .into_iter()
                    .map(|p| (p.party, p.averages))
                    .collect(),
            })
        })
        .collect()
}

/// Whether `member`'s device should publish its key now: every party has
/// submitted, the member answered, and their key is not yet published.
pub fn should_reveal<R: ReadDoc>(doc: &R, round: ItemId, member: MemberId) -> bool {
    let Ok(obj) = require(doc, round) else {
        return false;
    };
    let answers = sealed_answers(doc, &obj);
    status(doc, &obj, &answers).all_submitted
        && answers
            .iter()
            .any(|a| a.member == member && a.sealed.key.is_none())
}

/// Opens the member's own sealed answer with their key (to show them what
/// they submitted before the reveal). `None` if there is none or the key
/// does not open it.
pub fn open_own<R: ReadDoc>(
    doc: &R,
    round: ItemId,
    member: MemberId,
    key: &AnswerKey,
) -> Option<Answers> {
    let obj = require(doc, round).ok()?;
    let answer = sealed_answers(doc, &obj)
        .into_iter()
        .find(|a| a.member == member)?;
    open(&answer, key, round)
}

// ---------------------------------------------------------------------------
// Operations.

fn require<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<ObjId> {
    let map = root_map(doc, HEALTH)?;
    require_in(doc, &map, "health-check round", id)
}

/// Opens a round asking every current member (of a party) to answer.
/// Refused unless at least two parties have members.
pub fn open_round<T: Tx>(tx: &mut T, id: ItemId, title: &str, by: MemberId, now: u64) -> OpResult {
    let title = non_empty("title", title)?;
    let now = check_date("time", now)?;
    refs::require_member(tx, by)?;
    let live_parties: BTreeSet<PartyId> =
        super::parties::list(tx).into_iter().map(|p| p.id).collect();
    let asked: Vec<(MemberId, PartyId)> = members::list(tx)
        .into_iter()
        .filter(|m| m.left_at.is_none())
        .filter_map(|m| Some((m.id, m.party.filter(|p| live_parties.contains(p))?)))
        .collect();
    let parties: BTreeSet<PartyId> = asked.iter().map(|(_, p)| *p).collect();
    if parties.len() < 2 {
        return Err(OpError::Invalid {
            field: "round",
            reason: "at least two parties need members to answer",
        });
    }
    let map = root_map(tx, HEALTH)?;
    let obj = items::create(tx, &map, "health-check round", id)?;
    tx.put(&obj, "title", title)?;
    tx.put(&obj, "opened_at", now)?;
    tx.put(&obj, "opened_by", by.key())?;
    let roster = tx.put_object(&obj, PARTICIPANTS, ObjType::Map)?;
    for (member, party) in asked {
        tx.put(&roster, member.key(), party.key())?;
    }
    for empty in [CLOSED, ANSWERS] {
        tx.put_object(&obj, empty, ObjType::Map)?;
    }
    Ok(())
}

/// Seals and submits `member`'s answers under `key` with a fresh random
/// `nonce`. Only the ciphertext, nonce and commitment are written. Refused
/// if the member is not a participant, already answered (answers are
/// final), or their party's submission is closed, or every party has
/// already submitted.
pub fn submit<T: Tx>(
    tx: &mut T,
    round: ItemId,
    member: MemberId,
    answers: &Answers,
    key: &AnswerKey,
    nonce: [u8; 12],
    now: u64,
) -> OpResult {
    check_answers(answers)?;
    let now = check_date("time", now)?;
    refs::require_member(tx, member)?;
    let obj = require(tx, round)?;
    let party = *participants(tx, &obj)
        .get(&member)
        .ok_or(OpError::Invalid {
            field: "member",
            reason: "they were not asked in this round",
        })?;
    let existing = sealed_answers(tx, &obj);
    if existing.iter().any(|a| a.member == member) {
        return Err(OpError::Duplicate {
            kind: "answer",
            id: member.key(),
        });
    }
    let status = status(tx, &obj, &existing);
    if status.all_submitted {
        return Err(OpError::Invalid {
            field: "round",
            reason: "every party has submitted; the answers are being revealed",
        });
    }
    if status
        .parties
        .iter()
        .any(|p| p.party == party && p.closed.is_some())
    {
        return Err(OpError::Invalid {
            field: "round",
            reason: "your party's submission is closed",
        });
    }
    let sealed = seal(answers, key, nonce, round, member, party)?;
    let map = sub_map(tx, &obj, ANSWERS, "health.answers")?;
    sealing::write_member_seal(tx, &map, (member, Some(party)), ("sealed_at", now), &sealed)
}

/// Closes `party`'s submission as it stands (for members who will not
/// answer), by one of that party's participants. Needs at least one answer
/// from the party.
pub fn close_party<T: Tx>(
    tx: &mut T,
    round: ItemId,
    party: PartyId,
    by: MemberId,
    now: u64,
) -> OpResult {
    let now = check_date("time", now)?;
    refs::require_member(tx, by)?;
    let obj = require(tx, round)?;
    if participants(tx, &obj).get(&by) != Some(&party) {
        return Err(OpError::Invalid {
            field: "member",
            reason: "only a participant of that party can close its submission",
        });
    }
    let answers = sealed_answers(tx, &obj);
    if !answers.iter().any(|a| a.party == Some(party)) {
        return Err(OpError::Invalid {
            field: "round",
            reason: "nobody of the party has answered yet",
        });
    }
    let closed = sub_map(tx, &obj, CLOSED, "health.closed")?;
    if child_map(tx, &closed, &party.key()).is_some() {
        return Ok(());
    }
    let entry = tx.put_object(&closed, party.key().as_str(), ObjType::Map)?;
    tx.put(&entry, "by", by.key())?;
    tx.put(&entry, "at", now)?;
    Ok(())
}

/// Publishes `member`'s answer key, revealing their answer. Refused until
/// every party has submitted, and for a key that does not match the
/// commitment or does not open the sealed answer. Publishing the same key
/// again changes nothing.
pub fn reveal<T: Tx>(tx: &mut T, round: ItemId, member: MemberId, key: &AnswerKey) -> OpResult {
    let obj = require(tx, round)?;
    let answers = sealed_answers(tx, &obj);
    if !status(tx, &obj, &answers).all_submitted {
        return Err(OpError::Invalid {
            field: "round",
            reason: "not every party has submitted yet",
        });
    }
    let answer = answers
        .iter()
        .find(|a| a.member == member)
        .ok_or_else(|| OpError::not_found("answer", &member))?;
    answer.publish(
        tx,
        key,
        |key| open(answer, key, round).is_some(),
        "it does not open this member's sealed answer",
    )
}

/// When each answer was sealed, for a "who has answered" list:
/// `(member, party, sealed_at)`, by time.
pub fn answered<R: ReadDoc>(doc: &R, round: ItemId) -> Vec<(MemberId, PartyId, u64)> {
    let Ok(obj) = require(doc, round) else {
        return Vec::new();
    };
    let mut found: Vec<(MemberId, PartyId, u64)> = sealed_answers(doc, &obj)
        .into_iter()
        .filter_map(|a| Some((a.member, a.party?, a.at)))
        .collect();
    found.sort_by_key(|(m, _, at)| (*at, *m));
    found
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ScalarValue};

    use super::*;
    use crate::model::fields::DAY_MS;
    use crate::model::items::{self, Collection};
    use crate::model::members::NewMember;
    use crate::model::test_support::{
        T0, add_carol, contains, everything_visible, id, partnership, visible_values,
    };

    const ACME_SECRET: &str = "Acme-only: we doubt Globex's pipeline numbers";
    const CAROL_SECRET: &str = "Carol thinks the QBRs are too long";
    const BOB_SECRET: &str = "Globex: Acme answers emails slowly";

    fn key(n: u8) -> AnswerKey {
        AnswerKey::from_bytes([n; 32])
    }

    /// `member` answers `ratings` and `comment` in `round` at `at`, sealed
    /// under `key(n)` with the nonce `[n; 12]`.
    fn answer(
        doc: &mut AutoCommit,
        round: ItemId,
        member: MemberId,
        (ratings, comment): ([u8; 5], &str),
        n: u8,
        at: u64,
    ) {
        let answers = answers(ratings, comment);
        submit(doc, round, member, &answers, &key(n), [n; 12], at).unwrap();
    }

    fn answers(ratings: [u8; 5], comment: &str) -> Answers {
        Answers {
            ratings,
            comment: comment.into(),
        }
    }

    #[test]
    fn a_prefix_derives_the_answer_keys_the_secret_does() {
        let secret: Vec<u8> = (0..32u8).collect();
        let prefix = AnswerKey::prefix(&secret).expect("a 32-byte secret");
        for n in 0..4u8 {
            let (round, member) = (
                ItemId::from_bytes([n; 16]),
                MemberId::from_bytes([n + 9; 16]),
            );
            assert_eq!(
                AnswerKey::derive_from_prefix(&prefix, round, member).as_bytes(),
                AnswerKey::derive(&secret, round, member).as_bytes()
            );
        }
    }

    #[test]
    fn answers_stay_sealed_until_every_party_submits() {
        let mut fixture = partnership();
        let (alice, bob, acme, globex) = (fixture.alice, fixture.bob, fixture.acme, fixture.globex);
        let doc = &mut fixture.doc;
        let carol = add_carol(doc, acme);
        open_round(doc, id(1), "Health check 2024", alice, T0).unwrap();
        let round = id(1);

        answer(doc, round, alice, ([4, 4, 3, 4, 2], ACME_SECRET), 1, T0 + 1);
        // Acme is not complete until Carol answers; Globex has nothing yet.
        let status = get(doc, round).unwrap().status;
        assert_eq!(status.parties.len(), 2);
        assert!(!status.all_submitted);
        assert!(status.parties.iter().all(|p| !p.submitted));
        assert!(matches!(
            reveal(doc, round, alice, &key(1)),
            Err(OpError::Invalid {
                reason: "not every party has submitted yet",
                ..
            })
        ));
        answer(
            doc,
            round,
            carol,
            ([5, 3, 3, 4, 3], CAROL_SECRET),
            3,
            T0 + 2,
        );
        let status = get(doc, round).unwrap().status;
        assert!(
            status
                .parties
                .iter()
                .any(|p| p.party == acme && p.submitted)
        );
        assert!(!status.all_submitted);
        assert!(!should_reveal(doc, round, alice));
        // Alice's device can show her own answer before the reveal.
        assert_eq!(
            open_own(doc, round, alice, &key(1)).unwrap().comment,
            ACME_SECRET
        );
        assert_eq!(open_own(doc, round, alice, &key(2)), None);

        answer(doc, round, bob, ([2, 3, 4, 3, 4], BOB_SECRET), 2, T0 + 3);
        let round_now = get(doc, round).unwrap();
        assert!(round_now.status.all_submitted);
        assert_eq!((round_now.status.sealed, round_now.status.revealed), (3, 0));
        assert!(round_now.results.is_none());

        // Everyone has submitted, nobody has revealed: the document — every
        // value in it and its saved bytes — holds none of the answers.
        doc.commit();
        let (values, bytes) = everything_visible(doc);
        for secret in [ACME_SECRET, CAROL_SECRET, BOB_SECRET, "doubt", "slowly"] {
            assert!(
                !values.contains(secret),
                "{secret} readable in the document"
            );
            assert!(
                !contains(&bytes, secret.as_bytes()),
                "{secret} in the saved bytes"
            );
            assert!(!contains(&doc.save(), secret.as_bytes()));
        }
        // Nor does the health map name any question or rating.
        let health_map = root_map(doc, HEALTH).unwrap();
        let health_values = visible_values(doc, &health_map);
        for field in ["rating", "trust", "comment", "communication", "value"] {
            assert!(
                !health_values.to_lowercase().contains(field),
                "{field} stored in plain"
            );
        }
        let obj = require(doc, round).unwrap();
        let answer_map = child_map(doc, &obj, ANSWERS).unwrap();
        let entry = child_map(doc, &answer_map, &alice.key()).unwrap();
        let mut keys: Vec<String> = doc.keys(&entry).collect();
        keys.sort();
        assert_eq!(
            keys,
            ["commitment", "nonce", "party", "sealed", "sealed_at"]
        );
        // Padded: both Acme answers are 256 bytes + the tag, whatever their length.
        let lengths: Vec<usize> = sealed_answers(doc, &obj)
            .iter()
            .map(|a| a.sealed.sealed.len())
            .collect();
        assert!(lengths.iter().all(|&l| l == 256 + 16), "{lengths:?}");

        // The reveal: wrong keys are refused; each device publishes its own.
        assert!(should_reveal(doc, round, bob));
        assert!(matches!(
            reveal(doc, round, bob, &key(1)),
            Err(OpError::Invalid { field: "key", .. })
        ));
        reveal(doc, round, bob, &key(2)).unwrap();
        reveal(doc, round, bob, &key(2)).unwrap();
        assert!(!should_reveal(doc, round, bob));
        let partial = get(doc, round).unwrap().results.unwrap();
        assert!(!partial.complete);
        assert!(partial.gaps.is_empty());
        reveal(doc, round, alice, &key(1)).unwrap();
        reveal(doc, round, carol, &key(3)).unwrap();
        let results = get(doc, round).unwrap().results.unwrap();
        assert!(results.complete);
        let acme_result = results.parties.iter().find(|p| p.party == acme).unwrap();
        let globex_result = results.parties.iter().find(|p| p.party == globex).unwrap();
        assert_eq!(
            acme_result.averages,
            [Some(4.5), Some(3.5), Some(3.0), Some(4.0), Some(2.5)]
        );
        assert_eq!((acme_result.revealed, acme_result.sealed), (2, 2));
        assert_eq!(acme_result.comments, [ACME_SECRET, CAROL_SECRET]);
        assert_eq!(
            globex_result.averages,
            [Some(2.0), Some(3.0), Some(4.0), Some(3.0), Some(4.0)]
        );
        let gaps: Vec<(Question, f64, bool)> = results
            .gaps
            .iter()
            .map(|g| (g.question, g.gap, g.highlighted))
            .collect();
        assert_eq!(
            gaps,
            [
                (Question::Trust, 2.5, true),
                (Question::Communication, 0.5, false),
                (Question::ValueDelivered, 1.0, true),
                (Question::Alignment, 1.0, true),
                (Question::Responsiveness, 1.5, true),
            ]
        );
        assert_eq!(results.gaps[0].low, (globex, 2.0));
        assert_eq!(results.gaps[0].high, (acme, 4.5));
    }

    #[test]
    fn submission_rules() {
        let mut fixture = partnership();
        let (alice, bob, acme, globex) = (fixture.alice, fixture.bob, fixture.acme, fixture.globex);
        let doc = &mut fixture.doc;
        assert!(open_round(doc, id(1), " ", alice, T0).is_err());
        open_round(doc, id(1), "Q1", alice, T0).unwrap();
        doc.commit();
        let good = answers([3; 5], "");
        for bad in [
            answers([0, 3, 3, 3, 3], ""),
            answers([3, 3, 3, 3, 6], ""),
            answers([3; 5], &"x".repeat(4001)),
        ] {
            assert!(submit(doc, id(1), alice, &bad, &key(1), [1; 12], T0).is_err());
        }
        assert!(submit(doc, id(2), alice, &good, &key(1), [1; 12], T0).is_err());
        assert!(submit(doc, id(1), alice, &good, &key(1), [1; 12], 0).is_err());
        assert_eq!(doc.pending_ops(), 0);
        // A member added after the round opened was not asked.
        let dave = MemberId::from_bytes([0xd4; 16]);
        members::add(
            doc,
            dave,
            &NewMember {
                name: "Dave".into(),
                party: globex,
                title: String::new(),
                public_key: None,
            },
        )
        .unwrap();
        assert!(matches!(
            submit(doc, id(1), dave, &good, &key(4), [4; 12], T0),
            Err(OpError::Invalid {
                field: "member",
                ..
            })
        ));
        assert!(
            close_party(doc, id(1), acme, alice, T0).is_err(),
            "nobody answered yet"
        );
        submit(doc, id(1), alice, &good, &key(1), [1; 12], T0).unwrap();
        assert!(matches!(
            submit(doc, id(1), alice, &good, &key(1), [9; 12], T0),
            Err(OpError::Duplicate { .. })
        ));
        assert!(
            close_party(doc, id(1), acme, bob, T0).is_err(),
            "bob is not acme"
        );
        close_party(doc, id(1), acme, alice, T0 + 5).unwrap();
        close_party(doc, id(1), acme, alice, T0 + 6).unwrap();
        let status = get(doc, id(1)).unwrap().status;
        assert_eq!(
            status
                .parties
                .iter()
                .find(|p| p.party == acme)
                .unwrap()
                .closed,
            Some((alice, T0 + 5))
        );
        answer(doc, id(1), bob, ([1; 5], "late?"), 2, T0);
        assert!(get(doc, id(1)).unwrap().status.all_submitted);
        // Nobody answers once every party is in.
        assert!(members::leave(doc, dave, T0).is_ok());

        // A round needs two parties with members.
        let mut lonely = partnership();
        members::leave(&mut lonely.doc, lonely.bob, T0).unwrap();
        assert!(matches!(
            open_round(&mut lonely.doc, id(1), "Q1", lonely.alice, T0),
            Err(OpError::Invalid { field: "round", .. })
        ));
        items::delete(doc, Collection::HealthRounds, id(1), T0).unwrap();
        assert!(list(doc).is_empty());
        items::restore(doc, Collection::HealthRounds, id(1)).unwrap();
        assert_eq!(answered(doc, id(1)).len(), 2);
    }

    #[test]
    fn tampering_is_refused_and_never_shown() {
        let mut fixture = partnership();
        let (alice, bob) = (fixture.alice, fixture.bob);
        let doc = &mut fixture.doc;
        open_round(doc, id(1), "Q1", alice, T0).unwrap();
        answer(doc, id(1), alice, ([5; 5], "fine"), 1, T0);
        answer(doc, id(1), bob, ([1; 5], "bad"), 2, T0);
        // Flip one byte of Alice's ciphertext, as a modified client could.
        let obj = require(doc, id(1)).unwrap();
        let map = child_map(doc, &obj, ANSWERS).unwrap();
        let entry = child_map(doc, &map, &alice.key()).unwrap();
        let mut sealed = Sealed::<HealthAnswers>::read(doc, &entry).unwrap().sealed;
        sealed[0] ^= 1;
        doc.put(&entry, "sealed", ScalarValue::Bytes(sealed))
            .unwrap();
        assert!(matches!(
            reveal(doc, id(1), alice, &key(1)),
            Err(OpError::Invalid { field: "key", .. })
        ));
        // Even a key written directly is only used if it opens the answer.
        doc.put(&entry, "key", ScalarValue::Bytes(vec![1; 32]))
            .unwrap();
        reveal(doc, id(1), bob, &key(2)).unwrap();
        let results = get(doc, id(1)).unwrap().results.unwrap();
        assert!(!results.complete);
        let opened: usize = results.parties.iter().map(|p| p.revealed).sum();
        assert_eq!(opened, 1);
    }

    #[test]
    fn concurrent_submissions_merge_and_the_trend_follows_rounds() {
        let mut fixture = partnership();
        let (alice, bob, acme) = (fixture.alice, fixture.bob, fixture.acme);
        let secret_a = b"alice device seed";
        let secret_b = b"bob device seed";
        for (n, (a, b)) in [
            ([4, 4, 4, 4, 4], [2, 2, 2, 2, 2]),
            ([5, 4, 4, 4, 4], [4, 3, 2, 2, 2]),
        ]
        .into_iter()
        .enumerate()
        {
            let round = id(10 + u8::try_from(n).unwrap());
            let at = T0 + n as u64 * 91 * DAY_MS;
            open_round(&mut fixture.doc, round, &format!("Round {n}"), alice, at).unwrap();
            let mut other = fixture.doc.fork();
            let (ka, kb) = (
                AnswerKey::derive(secret_a, round, alice),
                AnswerKey::derive(secret_b, round, bob),
            );
            submit(
                &mut fixture.doc,
                round,
                alice,
                &answers(a, ""),
                &ka,
                [7; 12],
                at + 1,
            )
            .unwrap();
            submit(
                &mut other,
                round,
                bob,
                &answers(b, ""),
                &kb,
                [8; 12],
                at + 2,
            )
            .unwrap();
            assert!(!should_reveal(&other, round, bob));
            fixture.doc.merge(&mut other).unwrap();
            assert!(should_reveal(&fixture.doc, round, alice));
            reveal(
                &mut fixture.doc,
                round,
                alice,
                &AnswerKey::derive(secret_a, round, alice),
            )
            .unwrap();
            reveal(
                &mut fixture.doc,
                round,
                bob,
                &AnswerKey::derive(secret_b, round, bob),
            )
            .unwrap();
        }
        let trend = trend(&fixture.doc);
        assert_eq!(trend.len(), 2);
        let acme_trust: Vec<Option<f64>> = trend
            .iter()
            .map(|t| t.parties.iter().find(|(p, _)| *p == acme).unwrap().1[0])
            .collect();
        assert_eq!(acme_trust, [Some(4.0), Some(5.0)]);
        assert_ne!(
            AnswerKey::derive(secret_a, id(10), alice),
            AnswerKey::derive(secret_a, id(11), alice)
        );
    }

    /// Sealed answers in documents already shared must keep opening: the
    /// derived key, the commitment and the ciphertext (padding, associated
    /// data and labels) are pinned to the bytes this version writes.
    #[test]
    fn sealed_answer_bytes_are_pinned() {
        use crate::model::ids::to_hex;
        use sha2::{Digest, Sha256};
        let (round, member, party) = (
            id(10),
            MemberId::from_bytes([0xa2; 16]),
            PartyId::from_bytes([0xa1; 16]),
        );
        let key = AnswerKey::derive(b"device secret", round, member);
        assert_eq!(
            to_hex(key.as_bytes()),
            "a89de4619ba45c5543aa3ec36327a500330932a7cb9a855dc9ead14d7e55f918"
        );
        assert_eq!(
            to_hex(&key.commitment(&slot(round, member))),
            "faaed8d9a2b5990c1fb851f3c2905220a4a8e5e5e51f37e7e31324307fdc870b"
        );
        let sealed = seal(
            &answers([4, 3, 5, 2, 1], "pinned"),
            &key,
            [7; 12],
            round,
            member,
            party,
        )
        .unwrap();
        assert_eq!(sealed.commitment, key.commitment(&slot(round, member)));
        assert_eq!(sealed.sealed.len(), 256 + 16);
        assert_eq!(
            to_hex(&Sha256::digest(&sealed.sealed)),
            "d3d0c58a1a69dfc63c51ffae1c7d18dc4e02833ab8316602ef5c86095caf7585"
        );
    }

    #[test]
    fn plaintext_encoding_round_trips_and_rejects_junk() {
        let a = answers([1, 2, 3, 4, 5], "héllo");
        let plain = encode(&a);
        assert_eq!(plain.len(), 256);
        assert_eq!(decode(&plain), Some(a));
        assert_eq!(encode(&answers([1; 5], &"x".repeat(300))).len(), 512);
        assert_eq!(decode(&[2, 1, 1, 1, 1, 1, 0, 0]), None);
        assert_eq!(decode(&[1, 9, 1, 1, 1, 1, 0, 0]), None);
        assert_eq!(decode(&[1, 1, 1, 1, 1, 1, 0, 9, b'x']), None);
        assert_eq!(format!("{:?}", key(1)), "AnswerKey(…)");
    }
}
