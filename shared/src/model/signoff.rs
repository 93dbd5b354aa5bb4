//! Clause-by-clause sign-off: a member signs, with their device's Ed25519
//! key, a statement naming the exact text of a clause; the sign-off counts
//! only while that text is unchanged and the signature verifies against the
//! key the relay attests for that member.
//!
//! # What is signed
//!
//! The **content hash** of a clause is SHA-256 over
//!
//! ```text
//! "accord/clause-content/v1" 0x00
//! u64 big-endian byte length of the title ‖ title (UTF-8, as stored)
//! u64 big-endian byte length of the body  ‖ body  (UTF-8, as stored)
//! ```
//!
//! The **statement** (the bytes the Ed25519 signature covers, 122 bytes) is
//!
//! ```text
//! "accord/signoff/v1" 0x00     18 bytes, domain separation
//! document id                  16 bytes (the automerge-repo document id)
//! clause id                    16 bytes
//! content hash                 32 bytes
//! party id                     16 bytes
//! member id                    16 bytes
//! time                          8 bytes, u64 big-endian UTC milliseconds
//! ```
//!
//! Every field has a fixed length, so no two statements share an encoding.
//!
//! # What is stored
//!
//! `agreement.signoffs{"<clause id>:<member id>" → {clause, party, member,
//! hash (64 hex), signature (128 hex), at}}`: one entry per member and
//! clause; signing again replaces the whole entry (a fresh map, so two
//! concurrent sign-offs never mix fields).
//!
//! # How it is judged ([`verify`])
//!
//! 1. fields missing or malformed → [`Validity::Invalid`];
//! 2. no attested key for the member → invalid;
//! 3. the signature does not verify (strictly) over the statement rebuilt
//!    from the stored fields with any of the member's attested keys →
//!    invalid (a forged signature, another member's key, or any field
//!    edited after signing). A member has one key per device: the one they
//!    joined with and those of devices they linked later (see
//!    [`super::device_keys`]);
//! 4. the member does not belong to the party named → invalid;
//! 5. the stored hash differs from the clause's current content hash →
//!    [`Validity::Void`]: a genuine sign-off of an earlier text;
//! 6. otherwise [`Validity::Valid`].
//!
//! So a sign-off is never shown as valid unless the signature verifies
//! against the attested key *and* the hash matches the current text. Any
//! edit, local or merged from offline work, changes the hash and voids it.

use crate::model::error::OpResult;
use crate::model::fields::Tx;
use automerge::{ObjId, ObjType, ReadDoc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::agreement::{self, CLAUSE, SIGNOFFS};
use super::error::OpError;
use super::fields::{check_date, child_map, get_str, get_u64};
use super::ids::{ItemId, MemberId, PartyId, from_hex, to_hex};
use super::refs;
use super::{device_keys, members, parties};
use crate::ids::DocumentId;

const CONTENT_DOMAIN: &[u8] = b"accord/clause-content/v1\0";
const STATEMENT_DOMAIN: &[u8] = b"accord/signoff/v1\0";
const PARTY: &str = "party";
const MEMBER: &str = "member";
const HASH: &str = "hash";
const SIGNATURE: &str = "signature";
const AT: &str = "at";

/// SHA-256 of a clause's title and body in the canonical encoding (see the
/// module docs).
pub fn content_hash(title: &str, body: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(CONTENT_DOMAIN);
    for part in [title, body] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

/// What a sign-off attests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The partnership document.
    pub document: DocumentId,
    /// The clause.
    pub clause: ItemId,
    /// [`content_hash`] of the clause's text when signed.
    pub content_hash: [u8; 32],
    /// The party the member signs for.
    pub party: PartyId,
    /// The signer.
    pub member: MemberId,
    /// When (UTC ms).
    pub at: u64,
}

impl Statement {
    /// The exact bytes signed (see the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(122);
        out.extend_from_slice(STATEMENT_DOMAIN);
        out.extend_from_slice(self.document.as_bytes());
        out.extend_from_slice(self.clause.as_bytes());
        out.extend_from_slice(&self.content_hash);
        out.extend_from_slice(self.party.as_bytes());
        out.extend_from_slice(self.member.as_bytes());
        out.extend_from_slice(&self.at.to_be_bytes());
        out
    }
}

/// A stored sign-off, as written by [`sign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signoff {
    /// The clause.
    pub clause: ItemId,
    /// The party signed for.
    pub party: PartyId,
    /// The signer.
    pub member: MemberId,
    /// The content hash signed.
    pub content_hash: [u8; 32],
    /// The Ed25519 signature over the [`Statement`].
    pub signature: [u8; 64],
    /// When (UTC ms).
    pub at: u64,
}

/// Why a sign-off is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvalidReason {
    /// A field is missing or not in the stored format.
    Malformed,
    /// The relay attests no key for the signer.
    KeyNotAttested,
    /// The signature does not verify: forged, made with another key, or a
    /// field was changed after signing.
    BadSignature,
    /// The signer does not (or no longer) belong to the party named.
    WrongParty,
}

/// Whether a sign-off counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validity {
    /// Genuine, and the clause is unchanged since: it counts.
    Valid,
    /// Genuine, but the clause changed since it was signed.
    Void,
    /// Not a genuine sign-off: never counts.
    Invalid(InvalidReason),
}

/// One sign-off on a clause and whether it counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignoffStatus {
    /// The signer, as stored (absent if unreadable).
    pub member: Option<MemberId>,
    /// The party, as stored (absent if unreadable).
    pub party: Option<PartyId>,
    /// When, as stored.
    pub at: Option<u64>,
    /// The verdict.
    pub validity: Validity,
}

/// Where a party stands on one clause: its best sign-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartyState {
    /// No sign-off at all.
    Unsigned,
    /// Only invalid sign-offs (shown as a warning, never as signed).
    Invalid,
    /// A genuine sign-off of an earlier text.
    Void,
    /// A valid sign-off of the current text.
    Signed,
}

/// One party's state on one clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartySignoff {
    /// The party.
    pub party: PartyId,
    /// Its best sign-off.
    pub state: PartyState,
    /// The members whose sign-offs give that state.
    pub members: Vec<MemberId>,
}

/// The sign-offs of one clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClauseSignoffs {
    /// The clause.
    pub clause: ItemId,
    /// Its current content hash.
    pub content_hash: [u8; 32],
    /// Every stored sign-off, oldest first.
    pub statuses: Vec<SignoffStatus>,
    /// Each live party, in party order.
    pub parties: Vec<PartySignoff>,
}

impl ClauseSignoffs {
    /// The parties with a valid sign-off on the current text.
    pub fn signed_by(&self) -> Vec<PartyId> {
        self.parties
            .iter()
            .filter(|p| p.state == PartyState::Signed)
            .map(|p| p.party)
            .collect()
    }

    /// Whether every party has signed the current text.
    pub fn fully_signed(&self) -> bool {
        !self.parties.is_empty() && self.parties.iter().all(|p| p.state == PartyState::Signed)
    }
}

/// The sign-offs of the whole agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementSignoffs {
    /// Each clause, in display order.
    pub clauses: Vec<ClauseSignoffs>,
    /// The parties that have signed every clause's current text.
    pub signed_all: Vec<PartyId>,
    /// Whether every party has signed every clause (and there is one).
    pub complete: bool,
}

fn signoffs_map<R: ReadDoc>(doc: &R) -> OpResult<ObjId> {
    agreement::agreement_map(doc, SIGNOFFS)
}

fn key_of(clause: ItemId, member: MemberId) -> String {
    format!("{}:{}", clause.key(), member.key())
}

/// The current content hash of a live clause.
pub fn clause_hash<R: ReadDoc>(doc: &R, clause: ItemId) -> OpResult<[u8; 32]> {
    let clause = agreement::clause(doc, clause)?;
    Ok(content_hash(&clause.title, &clause.body))
}

/// Signs off the current text of `clause` as `member`, for the member's
/// party, with `signing_key` (one of the member's device keys). Refused if
/// the clause or member is missing, the member has left or has no party,
/// or the member has keys in the document and this is not one of them.
pub fn sign<T: Tx>(
    tx: &mut T,
    document: &DocumentId,
    clause: ItemId,
    member: MemberId,
    signing_key: &SigningKey,
    now: u64,
) -> OpResult<Signoff> {
    let key = signing_key.verifying_key();
    let statement = statement_to_sign(tx, document, clause, member, &key, now)?;
    let signature = signing_key.sign(&statement.to_bytes()).to_bytes();
    record(tx, &statement, &key, &signature)
}

/// What [`sign`] would sign now: the statement for the current text of
/// `clause`, as `member` for their party, with the key `key`, refused for
/// the same reasons. For a signer that cannot sign inside an edit (the
/// browser's non-extractable key answers asynchronously): sign
/// [`Statement::to_bytes`], then [`record`] the signature.
pub fn statement_to_sign<R: ReadDoc>(
    doc: &R,
    document: &DocumentId,
    clause: ItemId,
    member: MemberId,
    key: &VerifyingKey,
    now: u64,
) -> OpResult<Statement> {
    let now = check_date("time", now)?;
    let hash = clause_hash(doc, clause)?;
    refs::require_member(doc, member)?;
    let record = members::get(doc, member)?;
    let party = record.party.ok_or(OpError::Invalid {
        field: "member",
        reason: "they belong to no party",
    })?;
    refs::require_party(doc, party)?;
    if record.public_key.is_some() && !device_keys::is_member_key(doc, document, member, key) {
        return Err(OpError::Invalid {
            field: "signing key",
            reason: "it is not one of this member's keys yet (a newly linked device counts once another of their devices has confirmed it)",
        });
    }
    Ok(Statement {
        document: *document,
        clause,
        content_hash: hash,
        party,
        member,
        at: now,
    })
}

/// Writes the sign-off of `statement` signed with `key`: the stored format
/// [`sign`] writes. Refused when the statement is no longer what
/// [`statement_to_sign`] gives (the clause changed, or the member's party
/// or keys did, since it was made) or the signature does not verify, so a
/// sign-off written here always judges [`Validity::Valid`] at once.
pub fn record<T: Tx>(
    tx: &mut T,
    statement: &Statement,
    key: &VerifyingKey,
    signature: &[u8; 64],
) -> OpResult<Signoff> {
    let current = statement_to_sign(
        tx,
        &statement.document,
        statement.clause,
        statement.member,
        key,
        statement.at,
    )?;
    if current != *statement {
        return Err(OpError::Invalid {
            field: "clause",
            reason: "it changed while it was being signed; sign it again",
        });
    }
    if key
        .verify_strict(&statement.to_bytes(), &Signature::from_bytes(signature))
        .is_err()
    {
        return Err(OpError::Invalid {
            field: "signature",
            reason: "it does not verify under the signing key",
        });
    }
    let map = signoffs_map(tx)?;
    let obj = tx.put_object(
        &map,
        key_of(statement.clause, statement.member),
        ObjType::Map,
    )?;
    tx.put(&obj, CLAUSE, statement.clause.key())?;
    tx.put(&obj, PARTY, statement.party.key())?;
    tx.put(&obj, MEMBER, statement.member.key())?;
    tx.put(&obj, HASH, to_hex(&statement.content_hash))?;
    tx.put(&obj, SIGNATURE, to_hex(signature))?;
    tx.put(&obj, AT, statement.at)?;
    Ok(Signoff {
        clause: statement.clause,
        party: statement.party,
        member: statement.member,
        content_hash: statement.content_hash,
        signature: *signature,
        at: statement.at,
    })
}

/// Withdraws `member`'s sign-off of `clause`.
pub fn withdraw<T: Tx>(tx: &mut T, clause: ItemId, member: MemberId) -> OpResult {
    let map = signoffs_map(tx)?;
    let key = key_of(clause, member);
    if tx.get(&map, &key)?.is_none() {
        return Err(OpError::not_found("sign-off", &key));
    }
    tx.delete(&map, key)?;
    Ok(())
}

fn fixed<const N: usize>(hex: Option<String>) -> Option<[u8; N]> {
    from_hex(&hex?)?.try_into().ok()
}

/// The stored fields of one entry, parsed; `None` if any is malformed.
fn parse<R: ReadDoc>(doc: &R, obj: &ObjId) -> Option<Signoff> {
    Some(Signoff {
        clause: get_str(doc, obj, CLAUSE)?.parse().ok()?,
        party: get_str(doc, obj, PARTY)?.parse().ok()?,
        member: get_str(doc, obj, MEMBER)?.parse().ok()?,
        content_hash: fixed(get_str(doc, obj, HASH))?,
        signature: fixed(get_str(doc, obj, SIGNATURE))?,
        at: get_u64(doc, obj, AT)?,
    })
}

/// Every stored sign-off entry of `clause` (by its stored `clause` field,
/// or by its key when that field is unreadable), oldest first.
fn entries<R: ReadDoc>(doc: &R, clause: ItemId) -> Vec<ObjId> {
    let Ok(map) = signoffs_map(doc) else {
        return Vec::new();
    };
    let prefix = format!("{}:", clause.key());
    let mut found: Vec<(Option<u64>, String, ObjId)> = doc
        .keys(&map)
        .filter_map(|key| {
            let obj = child_map(doc, &map, &key)?;
            let stored = get_str(doc, &obj, CLAUSE).and_then(|c| c.parse::<ItemId>().ok());
            let mine = match stored {
                Some(stored) => stored == clause,
                None => key.starts_with(&prefix),
            };
            mine.then(|| (get_u64(doc, &obj, AT), key, obj))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    found.into_iter().map(|(_, _, obj)| obj).collect()
}

/// What every sign-off of one clause is judged against: the document it
/// was signed in, the clause's current content hash and the keys the relay
/// attests per member.
struct Judge<'a> {
    document: &'a DocumentId,
    current: [u8; 32],
    attested_keys: &'a dyn Fn(MemberId) -> Vec<VerifyingKey>,
}

impl Judge<'_> {
    fn judge<R: ReadDoc>(&self, doc: &R, obj: &ObjId) -> SignoffStatus {
        let Some(signoff) = parse(doc, obj) else {
            return SignoffStatus {
                member: get_str(doc, obj, MEMBER).and_then(|m| m.parse().ok()),
                party: get_str(doc, obj, PARTY).and_then(|p| p.parse().ok()),
                at: get_u64(doc, obj, AT),
                validity: Validity::Invalid(InvalidReason::Malformed),
            };
        };
        let validity = self.validity(doc, &signoff);
        SignoffStatus {
            member: Some(signoff.member),
            party: Some(signoff.party),
            at: Some(signoff.at),
            validity,
        }
    }

    fn validity<R: ReadDoc>(&self, doc: &R, signoff: &Signoff) -> Validity {
        let keys = (self.attested_keys)(signoff.member);
        if keys.is_empty() {
            return Validity::Invalid(InvalidReason::KeyNotAttested);
        }
        let statement = Statement {
            document: *self.document,
            clause: signoff.clause,
            content_hash: signoff.content_hash,
            party: signoff.party,
            member: signoff.member,
            at: signoff.at,
        };
        let signature = Signature::from_bytes(&signoff.signature);
        let bytes = statement.to_bytes();
        if !keys
            .iter()
            .any(|key| key.verify_strict(&bytes, &signature).is_ok())
        {
            return Validity::Invalid(InvalidReason::BadSignature);
        }
        let party = members::get(doc, signoff.member).ok().and_then(|m| m.party);
        if party != Some(signoff.party) {
            return Validity::Invalid(InvalidReason::WrongParty);
        }
        if signoff.content_hash != self.current {
            return Validity::Void;
        }
        Validity::Valid
    }
}

/// Judges every sign-off of `clause` against its current text and the
/// keys the relay attests (`attested_keys`: member → the member's keys the
/// relay vouches for, empty when none). Empty if the clause does not exist.
pub fn verify<R: ReadDoc>(
    doc: &R,
    document: &DocumentId,
    clause: ItemId,
    attested_keys: &dyn Fn(MemberId) -> Vec<VerifyingKey>,
) -> Vec<SignoffStatus> {
    let Ok(current) = clause_hash(doc, clause) else {
        return Vec::new();
    };
    judge_all(doc, document, clause, current, attested_keys)
}

/// Judges every sign-off of `clause` against `current`, the hash of its
/// text now (read once by the caller).
fn judge_all<R: ReadDoc>(
    doc: &R,
    document: &DocumentId,
    clause: ItemId,
    current: [u8; 32],
    attested_keys: &dyn Fn(MemberId) -> Vec<VerifyingKey>,
) -> Vec<SignoffStatus> {
    let judge = Judge {
        document,
        current,
        attested_keys,
    };
    entries(doc, clause)
        .iter()
        .map(|obj| judge.judge(doc, obj))
        .collect()
}

/// Per party, whether it has signed the current text of `clause`.
pub fn clause_summary<R: ReadDoc>(
    doc: &R,
    document: &DocumentId,
    clause: ItemId,
    attested_keys: &dyn Fn(MemberId) -> Vec<VerifyingKey>,
) -> OpResult<ClauseSignoffs> {
    // The clause is read and hashed once: this runs on every keystroke
    // in the clause.
    let content_hash = clause_hash(doc, clause)?;
    let statuses = judge_all(doc, document, clause, content_hash, attested_keys);
    let parties = parties::list(doc)
        .into_iter()
        .map(|party| {
            let state_of = |status: &SignoffStatus| match status.validity {
                Validity::Valid => PartyState::Signed,
                Validity::Void => PartyState::Void,
                Validity::Invalid(_) => PartyState::Invalid,
            };
            let mine: Vec<&SignoffStatus> = statuses
                .iter()
                .filter(|s| s.party == Some(party.id))
                .collect();
            let state = mine
                .iter()
                .map(|s| state_of(s))
                .max()
                .unwrap_or(PartyState::Unsigned);
            let mut members: Vec<MemberId> = mine
                .iter()
                .filter(|s| state_of(s) == state)
                .filter_map(|s| s.member)
                .collect();
            members.dedup();
            PartySignoff {
                party: party.id,
                state,
                members,
            }
        })
        .collect();
    Ok(ClauseSignoffs {
        clause,
        content_hash,
        statuses,
        parties,
    })
}

/// Per clause and overall, which parties have signed the current text.
pub fn summary<R: ReadDoc>(
    doc: &R,
    document: &DocumentId,
    attested_keys: &dyn Fn(MemberId) -> Vec<VerifyingKey>,
) -> AgreementSignoffs {
    let clauses: Vec<ClauseSignoffs> = agreement::clauses(doc)
        .iter()
        .filter_map(|c| clause_summary(doc, document, c.id, attested_keys).ok())
        .collect();
    let parties = parties::list(doc);
    let signed_all: Vec<PartyId> = if clauses.is_empty() {
        Vec::new()
    } else {
        parties
            .iter()
            .map(|p| p.id)
            .filter(|party| clauses.iter().all(|c| c.signed_by().contains(party)))
            .collect()
    };
    let complete = !clauses.is_empty() && !parties.is_empty() && signed_all.len() == parties.len();
    AgreementSignoffs {
        clauses,
        signed_all,
        complete,
    }
}

/// The verifying key in a `public_key` field (64 hex digits), if valid.
pub fn parse_public_key(hex: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = from_hex(hex.trim())?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use automerge::transaction::Transactable;
    use std::collections::HashMap;

    use automerge::{ActorId, AutoCommit};

    use super::*;
    use crate::model::agreement::{NewClause, add_clause, set_clause_body, set_clause_title};
    use crate::model::members::MemberPatch;
    use crate::model::test_support::{Fixture, T0, id, partnership};
    use crate::text::Splice;

    pub(crate) const DOC: DocumentId = DocumentId::from_bytes([0xd0; 16]);
    pub(crate) const CLAUSE_ID: u8 = 1;

    pub(crate) fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    /// The fixture with Alice's and Bob's real keys and one clause.
    pub(crate) fn signed_fixture() -> (Fixture, HashMap<MemberId, VerifyingKey>) {
        let mut fixture = partnership();
        let doc = &mut fixture.doc;
        let mut keys = HashMap::new();
        for (member, seed) in [(fixture.alice, 1), (fixture.bob, 2)] {
            let public = key(seed).verifying_key();
            crate::model::members::update(
                doc,
                member,
                &MemberPatch {
                    public_key: Some(Some(to_hex(public.as_bytes()))),
                    ..MemberPatch::default()
                },
            )
            .unwrap();
            keys.insert(member, public);
        }
        add_clause(
            doc,
            id(CLAUSE_ID),
            &NewClause {
                title: "Term".into(),
                body: "The term is one year.".into(),
            },
            T0,
        )
        .unwrap();
        doc.commit();
        (fixture, keys)
    }

    fn statuses(doc: &AutoCommit, keys: &HashMap<MemberId, VerifyingKey>) -> Vec<Validity> {
        let lookup = |m: MemberId| keys.get(&m).copied().into_iter().collect::<Vec<_>>();
        verify(doc, &DOC, id(CLAUSE_ID), &lookup)
            .into_iter()
            .map(|s| s.validity)
            .collect()
    }

    fn entry(doc: &AutoCommit, clause: ItemId, member: MemberId) -> ObjId {
        let map = signoffs_map(doc).unwrap();
        child_map(doc, &map, &key_of(clause, member)).unwrap()
    }

    #[test]
    fn statement_and_hash_encoding_are_fixed() {
        let statement = Statement {
            document: DOC,
            clause: id(1),
            content_hash: content_hash("Term", "One year."),
            party: PartyId::from_bytes([2; 16]),
            member: MemberId::from_bytes([3; 16]),
            at: T0,
        };
        let bytes = statement.to_bytes();
        assert_eq!(bytes.len(), 122);
        assert_eq!(&bytes[..18], b"accord/signoff/v1\0");
        assert_eq!(&bytes[114..], &T0.to_be_bytes());
        // Moving a byte between title and body changes the hash.
        assert_ne!(content_hash("ab", "c"), content_hash("a", "bc"));
        // Pinned: the encoding is a contract between app versions.
        assert_eq!(
            to_hex(&content_hash("Term", "One year.")),
            to_hex(&{
                let mut h = Sha256::new();
                h.update(
                    b"accord/clause-content/v1\0\0\0\0\0\0\0\0\x04Term\0\0\0\0\0\0\0\x09One year.",
                );
                <[u8; 32]>::from(h.finalize())
            })
        );
    }

    #[test]
    fn a_sign_off_is_valid_until_the_clause_is_edited() {
        let (mut fixture, keys) = signed_fixture();
        let (alice, bob, acme, globex) = (fixture.alice, fixture.bob, fixture.acme, fixture.globex);
        let doc = &mut fixture.doc;
        let signoff = sign(doc, &DOC, id(CLAUSE_ID), alice, &key(1), T0 + 1).unwrap();
        assert_eq!(signoff.party, acme);
        assert_eq!(statuses(doc, &keys), [Validity::Valid]);
        let lookup = |m: MemberId| keys.get(&m).copied().into_iter().collect::<Vec<_>>();
        let summary = clause_summary(doc, &DOC, id(CLAUSE_ID), &lookup).unwrap();
        assert_eq!(summary.signed_by(), [acme]);
        assert!(!summary.fully_signed());
        assert_eq!(summary.parties[1].state, PartyState::Unsigned);
        sign(doc, &DOC, id(CLAUSE_ID), bob, &key(2), T0 + 2).unwrap();
        let overall = super::summary(doc, &DOC, &lookup);
        assert!(overall.complete);
        assert_eq!(overall.signed_all, [acme, globex]);

        // A one-character local edit voids both.
        set_clause_body(doc, id(CLAUSE_ID), "The term is one year!", None).unwrap();
        assert_eq!(statuses(doc, &keys), [Validity::Void, Validity::Void]);
        let overall = super::summary(doc, &DOC, &lookup);
        assert!(!overall.complete && overall.signed_all.is_empty());
        assert_eq!(overall.clauses[0].parties[0].state, PartyState::Void);
        assert_eq!(overall.clauses[0].parties[0].members, [alice]);
        // So does a title edit.
        sign(doc, &DOC, id(CLAUSE_ID), alice, &key(1), T0 + 3).unwrap();
        assert_eq!(statuses(doc, &keys), [Validity::Void, Validity::Valid]);
        set_clause_title(doc, id(CLAUSE_ID), "Duration").unwrap();
        assert_eq!(statuses(doc, &keys), [Validity::Void, Validity::Void]);
        withdraw(doc, id(CLAUSE_ID), bob).unwrap();
        assert_eq!(statuses(doc, &keys), [Validity::Void]);
        assert!(withdraw(doc, id(CLAUSE_ID), bob).is_err());
    }

    #[test]
    fn a_merged_offline_edit_voids_the_sign_off_on_both_sides() {
        let (fixture, keys) = signed_fixture();
        let alice_id = fixture.alice;
        let mut alice = fixture
            .doc
            .with_actor(ActorId::from(b"alice-laptop".as_slice()));
        let mut bob = alice
            .fork()
            .with_actor(ActorId::from(b"bob-plane".as_slice()));
        // Bob edits offline while Alice signs.
        crate::model::agreement::edit_clause_body(
            &mut bob,
            id(CLAUSE_ID),
            &Splice {
                position: 12,
                delete: 3,
                insert: "two".into(),
            },
            None,
        )
        .unwrap();
        sign(&mut alice, &DOC, id(CLAUSE_ID), alice_id, &key(1), T0 + 1).unwrap();
        assert_eq!(statuses(&alice, &keys), [Validity::Valid]);
        crate::model::test_support::sync_pair(&mut alice, &mut bob);
        for doc in [&alice, &bob] {
            assert_eq!(
                crate::model::agreement::clause(doc, id(CLAUSE_ID))
                    .unwrap()
                    .body,
                "The term is two year."
            );
            assert_eq!(statuses(doc, &keys), [Validity::Void]);
        }
    }

    #[test]
    fn forged_wrong_key_tampered_and_unattested_are_never_valid() {
        let (mut fixture, keys) = signed_fixture();
        let (alice, bob, globex) = (fixture.alice, fixture.bob, fixture.globex);
        let doc = &mut fixture.doc;
        let clause = id(CLAUSE_ID);

        // sign() refuses a key that is not the member's.
        assert!(matches!(
            sign(doc, &DOC, clause, alice, &key(9), T0),
            Err(OpError::Invalid {
                field: "signing key",
                ..
            })
        ));
        assert_eq!(doc.pending_ops(), 0);

        // Forged: a random key writes a sign-off in Alice's name directly.
        let forge = |doc: &mut AutoCommit, signer: &SigningKey, member: MemberId, party| {
            let hash = clause_hash(doc, clause).unwrap();
            let statement = Statement {
                document: DOC,
                clause,
                content_hash: hash,
                party,
                member,
                at: T0,
            };
            let signature = signer.sign(&statement.to_bytes()).to_bytes();
            let map = signoffs_map(doc).unwrap();
            let obj = doc
                .put_object(&map, key_of(clause, member), ObjType::Map)
                .unwrap();
            doc.put(&obj, CLAUSE, clause.key()).unwrap();
            doc.put(&obj, PARTY, party.key()).unwrap();
            doc.put(&obj, MEMBER, member.key()).unwrap();
            doc.put(&obj, HASH, to_hex(&hash)).unwrap();
            doc.put(&obj, SIGNATURE, to_hex(&signature)).unwrap();
            doc.put(&obj, AT, T0).unwrap();
        };
        let acme = fixture_party(doc, alice);
        forge(doc, &key(77), alice, acme);
        assert_eq!(
            statuses(doc, &keys),
            [Validity::Invalid(InvalidReason::BadSignature)]
        );
        // Wrong key: a valid signature, but by Bob's key, in Alice's name.
        forge(doc, &key(2), alice, acme);
        assert_eq!(
            statuses(doc, &keys),
            [Validity::Invalid(InvalidReason::BadSignature)]
        );
        // Signed by Alice's key but for the other party.
        forge(doc, &key(1), alice, globex);
        assert_eq!(
            statuses(doc, &keys),
            [Validity::Invalid(InvalidReason::WrongParty)]
        );

        // Key not attested by the relay.
        sign(doc, &DOC, clause, alice, &key(1), T0 + 1).unwrap();
        let none = |_: MemberId| Vec::new();
        assert_eq!(
            verify(doc, &DOC, clause, &none)[0].validity,
            Validity::Invalid(InvalidReason::KeyNotAttested)
        );
        // Another document's sign-off does not carry over.
        let lookup = |m: MemberId| keys.get(&m).copied().into_iter().collect::<Vec<_>>();
        let other = DocumentId::from_bytes([0xd1; 16]);
        assert_eq!(
            verify(doc, &other, clause, &lookup)[0].validity,
            Validity::Invalid(InvalidReason::BadSignature)
        );

        // Tampered hash: after an edit, someone rewrites the stored hash to
        // the new text's hash to un-void it.
        set_clause_body(doc, clause, "The term is ten years.", None).unwrap();
        assert_eq!(statuses(doc, &keys), [Validity::Void]);
        let obj = entry(doc, clause, alice);
        let new_hash = to_hex(&clause_hash(doc, clause).unwrap());
        doc.put(&obj, HASH, new_hash).unwrap();
        assert_eq!(
            statuses(doc, &keys),
            [Validity::Invalid(InvalidReason::BadSignature)]
        );
        // Tampered time or party field.
        sign(doc, &DOC, clause, alice, &key(1), T0 + 2).unwrap();
        assert_eq!(statuses(doc, &keys), [Validity::Valid]);
        let obj = entry(doc, clause, alice);
        doc.put(&obj, AT, T0 + 3).unwrap();
        assert_eq!(
            statuses(doc, &keys),
            [Validity::Invalid(InvalidReason::BadSignature)]
        );
        // Malformed signature field.
        doc.put(&obj, SIGNATURE, "zz").unwrap();
        assert_eq!(
            statuses(doc, &keys),
            [Validity::Invalid(InvalidReason::Malformed)]
        );
        // Stale hash: a genuine sign-off of the previous text, replayed
        // onto the current one, is void, not valid.
        sign(doc, &DOC, clause, bob, &key(2), T0 + 4).unwrap();
        set_clause_body(doc, clause, "The term is eleven years.", None).unwrap();
        let lookup = |m: MemberId| keys.get(&m).copied().into_iter().collect::<Vec<_>>();
        let summary = clause_summary(doc, &DOC, clause, &lookup).unwrap();
        assert!(summary.signed_by().is_empty());
        assert_eq!(summary.parties[0].state, PartyState::Invalid);
        assert_eq!(summary.parties[1].state, PartyState::Void);
    }

    fn fixture_party(doc: &AutoCommit, member: MemberId) -> PartyId {
        members::get(doc, member).unwrap().party.unwrap()
    }

    #[test]
    fn sign_validates_and_writes_nothing_on_error() {
        let (mut fixture, _) = signed_fixture();
        let alice = fixture.alice;
        let doc = &mut fixture.doc;
        assert!(sign(doc, &DOC, id(9), alice, &key(1), T0).is_err());
        assert!(
            sign(
                doc,
                &DOC,
                id(CLAUSE_ID),
                MemberId::from_bytes([9; 16]),
                &key(1),
                T0
            )
            .is_err()
        );
        assert!(sign(doc, &DOC, id(CLAUSE_ID), alice, &key(1), 5).is_err());
        members::leave(doc, alice, T0).unwrap();
        doc.commit();
        assert!(sign(doc, &DOC, id(CLAUSE_ID), alice, &key(1), T0).is_err());
        assert_eq!(doc.pending_ops(), 0);
        assert!(parse_public_key(&to_hex(key(1).verifying_key().as_bytes())).is_some());
        assert!(parse_public_key("abc").is_none());
    }

    /// Signing in two steps (statement, signature made elsewhere, record)
    /// writes exactly what [`sign`] writes, and refuses a statement whose
    /// clause changed in between or a signature that does not verify.
    #[test]
    fn a_signature_made_elsewhere_is_recorded_as_sign_would() {
        let (mut fixture, keys) = signed_fixture();
        let alice = fixture.alice;
        let mut at_once = fixture.doc.fork();
        sign(&mut at_once, &DOC, id(CLAUSE_ID), alice, &key(1), T0).unwrap();
        let doc = &mut fixture.doc;
        let public = key(1).verifying_key();
        let statement = statement_to_sign(doc, &DOC, id(CLAUSE_ID), alice, &public, T0).unwrap();
        let signature = key(1).sign(&statement.to_bytes()).to_bytes();
        let mut forged = signature;
        forged[0] ^= 1;
        assert!(record(doc, &statement, &public, &forged).is_err());
        assert!(record(doc, &statement, &key(2).verifying_key(), &signature).is_err());
        assert_eq!(doc.pending_ops(), 0);
        let recorded = record(doc, &statement, &public, &signature).unwrap();
        doc.commit();
        assert_eq!(statuses(doc, &keys), vec![Validity::Valid]);
        let stored = |d: &AutoCommit| {
            let obj = entry(d, id(CLAUSE_ID), alice);
            (
                get_str(d, &obj, SIGNATURE),
                get_str(d, &obj, HASH),
                get_u64(d, &obj, AT),
            )
        };
        assert_eq!(stored(doc), stored(&at_once));
        assert_eq!(to_hex(&recorded.signature), stored(doc).0.unwrap());

        // The clause changes between the statement and the record: refused.
        let later = statement_to_sign(doc, &DOC, id(CLAUSE_ID), alice, &public, T0 + 1).unwrap();
        let signature = key(1).sign(&later.to_bytes()).to_bytes();
        set_clause_title(doc, id(CLAUSE_ID), "Duration").unwrap();
        assert!(record(doc, &later, &public, &signature).is_err());
    }

    /// What the app does: the member's keys in the document that the relay
    /// also attests.
    fn relay_checked<'a>(
        doc: &'a AutoCommit,
        relay: &'a [VerifyingKey],
    ) -> impl Fn(MemberId) -> Vec<VerifyingKey> + 'a {
        move |member| {
            crate::model::device_keys::member_keys(doc, &DOC, member)
                .into_iter()
                .filter(|k| relay.contains(k))
                .collect()
        }
    }

    #[test]
    fn a_linked_device_signs_for_the_same_member_once_attested() {
        let (mut fixture, _) = signed_fixture();
        let alice = fixture.alice;
        let (laptop, phone) = (key(1), key(5));
        let mut phone_doc = fixture.doc.fork();
        // Before the laptop attests it, the phone's key is not Alice's.
        assert!(matches!(
            sign(&mut phone_doc, &DOC, id(CLAUSE_ID), alice, &phone, T0),
            Err(OpError::Invalid {
                field: "signing key",
                ..
            })
        ));
        crate::model::device_keys::attest(
            &mut fixture.doc,
            &DOC,
            alice,
            &phone.verifying_key(),
            &laptop,
            T0,
        )
        .unwrap();
        crate::model::test_support::sync_pair(&mut fixture.doc, &mut phone_doc);
        sign(&mut phone_doc, &DOC, id(CLAUSE_ID), alice, &phone, T0 + 1).unwrap();
        // Bob's replica receives the sign-off; one name, one member.
        let mut bob_doc = fixture.doc.fork();
        crate::model::test_support::sync_pair(&mut bob_doc, &mut phone_doc);
        let relay = [laptop.verifying_key(), phone.verifying_key()];
        let attested = relay_checked(&bob_doc, &relay);
        let statuses = verify(&bob_doc, &DOC, id(CLAUSE_ID), &attested);
        assert_eq!(statuses.len(), 1);
        assert_eq!(statuses[0].member, Some(alice));
        assert_eq!(statuses[0].validity, Validity::Valid);
        // Once the phone is revoked the relay stops attesting its key, and
        // what it signed no longer counts.
        let revoked = [laptop.verifying_key()];
        let attested = relay_checked(&bob_doc, &revoked);
        assert_eq!(
            verify(&bob_doc, &DOC, id(CLAUSE_ID), &attested)[0].validity,
            Validity::Invalid(InvalidReason::BadSignature)
        );
    }
}
