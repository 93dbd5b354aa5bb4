//! A member's further device keys: a person who adds a phone or a second
//! laptop stays one member, and the new device's Ed25519 key is listed on
//! that member, attested by a key the member already has.
//!
//! # Stored
//!
//! `members{id → {…, public_key, "device_key:<key hex>" → {by (key hex),
//! signature (128 hex), at}}}`: one entry per added key, right in the
//! member's map (not in a shared child map, which two devices creating it
//! at once would each make and one would lose), each a fresh map (two
//! devices attesting the same key at once never mix fields; either
//! attestation is genuine, so whichever wins the merge, the key counts).
//!
//! # What is signed
//!
//! The attestation signs, with the `by` key's secret, the 98 bytes
//!
//! ```text
//! "accord/device-key/v1" 0x00   21 bytes, domain separation
//! document id                   16 bytes
//! member id                     16 bytes
//! attested key                  32 bytes
//! time                           8 bytes, u64 big-endian UTC milliseconds
//! ```
//!
//! so an attestation cannot be copied to another partnership or member.
//!
//! # Which keys are a member's ([`member_keys`])
//!
//! The member's `public_key` (the device that joined the partnership),
//! then every listed key whose attestation verifies under a key already
//! found, repeated until nothing changes. Order of arrival does not
//! matter: an attestation merged before the one that makes its signer a
//! member key still counts once both are there, so replicas that hold the
//! same entries agree. A listed key without a valid chain to `public_key`
//! (written by someone else, or with a forged signature) never counts.
//!
//! Whether a key counts for a sign-off is then also up to the relay: the
//! app only accepts keys the relay attests for the partnership (see
//! [`super::signoff`]); a revoked device loses that at once.

use crate::model::error::OpResult;
use crate::model::fields::Tx;
use automerge::{ObjId, ObjType, ReadDoc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use super::error::OpError;
use super::fields::{check_date, child_map, get_str, get_u64};
use super::ids::{MemberId, from_hex, to_hex};
use super::members;
use super::refs;
use crate::ids::DocumentId;

const PREFIX: &str = "device_key:";
const BY: &str = "by";
const SIGNATURE: &str = "signature";
const AT: &str = "at";
const DOMAIN: &[u8] = b"accord/device-key/v1\0";

/// The bytes an attestation signs (see the module docs).
pub fn statement(document: &DocumentId, member: MemberId, key: &VerifyingKey, at: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(DOMAIN.len() + 72);
    out.extend_from_slice(DOMAIN);
    out.extend_from_slice(document.as_bytes());
    out.extend_from_slice(member.as_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&at.to_be_bytes());
    out
}

fn parse_key(hex: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = from_hex(hex.trim())?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// A listed key and its attestation, parsed; `None` if malformed.
struct Entry {
    key: VerifyingKey,
    by: VerifyingKey,
    signature: Signature,
    at: u64,
}

fn entries<R: ReadDoc>(doc: &R, member_obj: &ObjId) -> Vec<Entry> {
    doc.keys(member_obj)
        .filter_map(|field| {
            let listed = field.strip_prefix(PREFIX)?;
            let obj = child_map(doc, member_obj, &field)?;
            let signature: [u8; 64] = from_hex(&get_str(doc, &obj, SIGNATURE)?)?.try_into().ok()?;
            Some(Entry {
                key: parse_key(listed)?,
                by: parse_key(&get_str(doc, &obj, BY)?)?,
                signature: Signature::from_bytes(&signature),
                at: get_u64(doc, &obj, AT)?,
            })
        })
        .collect()
}

fn field(key: &VerifyingKey) -> String {
    format!("{PREFIX}{}", to_hex(key.as_bytes()))
}

fn member_obj<R: ReadDoc>(doc: &R, member: MemberId) -> Option<ObjId> {
    let map = child_map(doc, &automerge::ROOT, super::keys::MEMBERS)?;
    child_map(doc, &map, &member.key())
}

/// Every key of `member` in `document`: the member's `public_key` first,
/// then each attested key in the order its chain reaches it (ties by key).
/// Empty when the member has no valid `public_key`.
pub fn member_keys<R: ReadDoc>(
    doc: &R,
    document: &DocumentId,
    member: MemberId,
) -> Vec<VerifyingKey> {
    let Some(obj) = member_obj(doc, member) else {
        return Vec::new();
    };
    let Some(root) = get_str(doc, &obj, "public_key").and_then(|k| parse_key(&k)) else {
        return Vec::new();
    };
    let mut found = vec![root];
    let mut pending = entries(doc, &obj);
    pending.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
    loop {
        let before = found.len();
        pending.retain(|entry| {
            if found.contains(&entry.key) {
                return false;
            }
            let genuine = found.contains(&entry.by)
                && entry
                    .by
                    .verify_strict(
                        &statement(document, member, &entry.key, entry.at),
                        &entry.signature,
                    )
                    .is_ok();
            if genuine {
                found.push(entry.key);
            }
            !genuine
        });
        if found.len() == before {
            return found;
        }
    }
}

/// The keys of a member that count for sign-offs: those of
/// [`member_keys`] that the relay lists for `document` (`listed`, key hex in
/// any case). `None` (the relay has not answered yet) attests no one.
pub fn relay_attested<'a, R: ReadDoc>(
    doc: &'a R,
    document: &'a DocumentId,
    listed: Option<&'a [String]>,
) -> impl Fn(MemberId) -> Vec<VerifyingKey> + 'a {
    move |member| {
        let Some(listed) = listed else {
            return Vec::new();
        };
        member_keys(doc, document, member)
            .into_iter()
            .filter(|key| {
                let hex = to_hex(key.as_bytes());
                listed.iter().any(|k| k.eq_ignore_ascii_case(&hex))
            })
            .collect()
    }
}

/// Whether `key` is one of `member`'s keys (see [`member_keys`]).
pub fn is_member_key<R: ReadDoc>(
    doc: &R,
    document: &DocumentId,
    member: MemberId,
    key: &VerifyingKey,
) -> bool {
    member_keys(doc, document, member).contains(key)
}

/// The current member (not left) one of whose keys is `key`, if any.
pub fn member_with_key<R: ReadDoc>(
    doc: &R,
    document: &DocumentId,
    key: &VerifyingKey,
) -> Option<MemberId> {
    members::list(doc)
        .into_iter()
        .filter(|m| m.left_at.is_none())
        .find(|m| is_member_key(doc, document, m.id, key))
        .map(|m| m.id)
}

/// Lists `key` as another device key of `member`, attested with `signer`
/// (a key the member already has). Nothing to do when `key` already counts
/// for the member. Refused when the member is missing or left, or
/// `signer` is not one of the member's keys.
pub fn attest<T: Tx>(
    tx: &mut T,
    document: &DocumentId,
    member: MemberId,
    key: &VerifyingKey,
    signer: &SigningKey,
    now: u64,
) -> OpResult {
    let now = check_date("time", now)?;
    let by = signer.verifying_key();
    if !needs_attestation(tx, document, member, key, &by)? {
        return Ok(());
    }
    let signature = signer.sign(&statement(document, member, key, now));
    record_attestation(tx, document, member, key, &by, &signature, now)
}

/// Whether `by` should attest `key` for `member` (false: `key` already
/// counts); refused as [`attest`] refuses. For a signer that cannot sign
/// inside an edit: sign [`statement`], then [`record_attestation`].
pub fn needs_attestation<R: ReadDoc>(
    doc: &R,
    document: &DocumentId,
    member: MemberId,
    key: &VerifyingKey,
    by: &VerifyingKey,
) -> OpResult<bool> {
    refs::require_member(doc, member)?;
    let keys = member_keys(doc, document, member);
    if !keys.contains(by) {
        return Err(OpError::Invalid {
            field: "signing key",
            reason: "it is not this member's key",
        });
    }
    Ok(!keys.contains(key))
}

/// Writes the attestation of `key` for `member` by `by`, whose `signature`
/// over [`statement`] at `at` was made elsewhere: the stored format
/// [`attest`] writes. Nothing to do when `key` already counts; refused as
/// [`attest`] refuses, or when the signature does not verify.
pub fn record_attestation<T: Tx>(
    tx: &mut T,
    document: &DocumentId,
    member: MemberId,
    key: &VerifyingKey,
    by: &VerifyingKey,
    signature: &Signature,
    at: u64,
) -> OpResult {
    let at = check_date("time", at)?;
    if !needs_attestation(tx, document, member, key, by)? {
        return Ok(());
    }
    if by
        .verify_strict(&statement(document, member, key, at), signature)
        .is_err()
    {
        return Err(OpError::Invalid {
            field: "signature",
            reason: "it does not verify under the attesting key",
        });
    }
    let obj = refs::require_member(tx, member)?;
    let entry = tx.put_object(&obj, field(key), ObjType::Map)?;
    tx.put(&entry, BY, to_hex(by.as_bytes()))?;
    tx.put(&entry, SIGNATURE, to_hex(&signature.to_bytes()))?;
    tx.put(&entry, AT, at)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use automerge::AutoCommit;
    use automerge::transaction::Transactable;

    use super::*;
    use crate::model::members::MemberPatch;
    use crate::model::test_support::{Fixture, T0, partnership, sync_pair};

    const DOC: DocumentId = DocumentId::from_bytes([0xd0; 16]);

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    /// The fixture with Alice's laptop key (seed 1) as her `public_key`.
    fn fixture() -> Fixture {
        let mut fixture = partnership();
        members::update(
            &mut fixture.doc,
            fixture.alice,
            &MemberPatch {
                public_key: Some(Some(to_hex(key(1).verifying_key().as_bytes()))),
                ..MemberPatch::default()
            },
        )
        .unwrap();
        fixture.doc.commit();
        fixture
    }

    fn keys(doc: &AutoCommit, member: MemberId) -> Vec<VerifyingKey> {
        member_keys(doc, &DOC, member)
    }

    #[test]
    fn an_attested_key_counts_and_chains_from_the_first_key() {
        let mut fixture = fixture();
        let (alice, bob) = (fixture.alice, fixture.bob);
        let doc = &mut fixture.doc;
        let (laptop, phone, tablet) = (key(1), key(2), key(3));
        assert_eq!(keys(doc, alice), [laptop.verifying_key()]);
        attest(doc, &DOC, alice, &phone.verifying_key(), &laptop, T0).unwrap();
        // The phone may add the tablet in turn.
        attest(doc, &DOC, alice, &tablet.verifying_key(), &phone, T0 + 1).unwrap();
        assert_eq!(
            keys(doc, alice),
            [
                laptop.verifying_key(),
                phone.verifying_key(),
                tablet.verifying_key()
            ]
        );
        assert_eq!(
            member_with_key(doc, &DOC, &tablet.verifying_key()),
            Some(alice)
        );
        // Again: nothing written.
        let heads = doc.get_heads();
        attest(doc, &DOC, alice, &phone.verifying_key(), &tablet, T0 + 2).unwrap();
        assert_eq!(doc.get_heads(), heads);
        assert_eq!(doc.pending_ops(), 0);
        // A key that is not Alice's cannot add one; Bob has no key at all.
        assert!(matches!(
            attest(doc, &DOC, alice, &key(9).verifying_key(), &key(8), T0),
            Err(OpError::Invalid {
                field: "signing key",
                ..
            })
        ));
        assert!(attest(doc, &DOC, bob, &key(9).verifying_key(), &laptop, T0).is_err());
        assert!(keys(doc, bob).is_empty());
    }

    #[test]
    fn forged_copied_or_self_made_attestations_never_count() {
        let mut fixture = fixture();
        let (alice, bob) = (fixture.alice, fixture.bob);
        let doc = &mut fixture.doc;
        let (laptop, phone) = (key(1), key(2));
        attest(doc, &DOC, alice, &phone.verifying_key(), &laptop, T0).unwrap();
        // Bob writes his own key under Alice, "attested" by his own key.
        let map = member_obj(doc, alice).unwrap();
        let mallory = key(7);
        let entry = doc
            .put_object(&map, field(&mallory.verifying_key()), ObjType::Map)
            .unwrap();
        doc.put(&entry, BY, to_hex(mallory.verifying_key().as_bytes()))
            .unwrap();
        let forged = mallory.sign(&statement(&DOC, alice, &mallory.verifying_key(), T0));
        doc.put(&entry, SIGNATURE, to_hex(&forged.to_bytes()))
            .unwrap();
        doc.put(&entry, AT, T0).unwrap();
        // …or claims the laptop signed it (the signature does not verify).
        let entry = doc
            .put_object(&map, field(&key(6).verifying_key()), ObjType::Map)
            .unwrap();
        doc.put(&entry, BY, to_hex(laptop.verifying_key().as_bytes()))
            .unwrap();
        doc.put(&entry, SIGNATURE, to_hex(&forged.to_bytes()))
            .unwrap();
        doc.put(&entry, AT, T0).unwrap();
        assert_eq!(
            keys(doc, alice),
            [laptop.verifying_key(), phone.verifying_key()]
        );
        // The laptop's attestation for Alice's phone, copied to another
        // partnership or to Bob, does not verify there.
        let other = DocumentId::from_bytes([0xd1; 16]);
        assert_eq!(member_keys(doc, &other, alice), [laptop.verifying_key()]);
        members::update(
            doc,
            bob,
            &MemberPatch {
                public_key: Some(Some(to_hex(laptop.verifying_key().as_bytes()))),
                ..MemberPatch::default()
            },
        )
        .unwrap();
        let bob_obj = member_obj(doc, bob).unwrap();
        let alice_entry = child_map(doc, &map, &field(&phone.verifying_key())).unwrap();
        let signature = get_str(doc, &alice_entry, SIGNATURE).unwrap();
        let copied = doc
            .put_object(&bob_obj, field(&phone.verifying_key()), ObjType::Map)
            .unwrap();
        doc.put(&copied, BY, to_hex(laptop.verifying_key().as_bytes()))
            .unwrap();
        doc.put(&copied, SIGNATURE, signature).unwrap();
        doc.put(&copied, AT, T0).unwrap();
        assert_eq!(keys(doc, bob), [laptop.verifying_key()]);
    }

    /// An attestation signed outside the edit (the browser's key signs
    /// asynchronously) is recorded only when it verifies, and then counts.
    #[test]
    fn an_attestation_signed_elsewhere_counts_only_when_genuine() {
        let mut fixture = fixture();
        let alice = fixture.alice;
        let (laptop, phone) = (key(1), key(2));
        let doc = &mut fixture.doc;
        let (by, new) = (laptop.verifying_key(), phone.verifying_key());
        assert!(needs_attestation(doc, &DOC, alice, &new, &by).unwrap());
        assert!(needs_attestation(doc, &DOC, alice, &by, &new).is_err());
        let signature = laptop.sign(&statement(&DOC, alice, &new, T0));
        assert!(record_attestation(doc, &DOC, alice, &new, &by, &signature, T0 + 1).is_err());
        assert!(record_attestation(doc, &DOC, alice, &new, &new, &signature, T0).is_err());
        assert!(!is_member_key(doc, &DOC, alice, &new));
        record_attestation(doc, &DOC, alice, &new, &by, &signature, T0).unwrap();
        assert!(is_member_key(doc, &DOC, alice, &new));
        assert!(!needs_attestation(doc, &DOC, alice, &new, &by).unwrap());
    }

    #[test]
    fn two_replicas_attesting_offline_and_at_once_converge() {
        let mut fixture = fixture();
        let (alice, [laptop, phone, tablet]) = (fixture.alice, [1, 2, 3].map(key));
        let mut office = fixture.doc.fork();
        let home = &mut fixture.doc;
        // Both of Alice's replicas attest the phone at once (the laptop
        // and a second tab, say); one also adds the tablet via the phone.
        attest(home, &DOC, alice, &phone.verifying_key(), &laptop, T0).unwrap();
        attest(
            &mut office,
            &DOC,
            alice,
            &phone.verifying_key(),
            &laptop,
            T0 + 5,
        )
        .unwrap();
        attest(
            &mut office,
            &DOC,
            alice,
            &tablet.verifying_key(),
            &phone,
            T0 + 6,
        )
        .unwrap();
        sync_pair(home, &mut office);
        let expected = [
            laptop.verifying_key(),
            phone.verifying_key(),
            tablet.verifying_key(),
        ];
        assert_eq!(keys(home, alice), expected);
        assert_eq!(keys(&office, alice), expected);
    }

    #[test]
    fn a_chain_counts_whatever_order_its_links_arrive_in() {
        let mut fixture = fixture();
        let (alice, [laptop, phone, tablet]) = (fixture.alice, [1, 2, 3].map(key));
        let mut other = fixture.doc.fork();
        attest(&mut other, &DOC, alice, &phone.verifying_key(), &laptop, T0).unwrap();
        attest(&mut other, &DOC, alice, &tablet.verifying_key(), &phone, T0).unwrap();
        // Keys sort so that the tablet's entry is judged before the phone's
        // in the first pass when its key is smaller: both must count.
        fixture.doc.merge(&mut other).unwrap();
        assert_eq!(keys(&fixture.doc, alice).len(), 3);
    }

    #[test]
    fn only_keys_the_relay_lists_are_attested() {
        let mut fixture = fixture();
        members::update(
            &mut fixture.doc,
            fixture.bob,
            &MemberPatch {
                public_key: Some(Some(to_hex(key(2).verifying_key().as_bytes()))),
                ..MemberPatch::default()
            },
        )
        .unwrap();
        // The relay vouches for Alice's key only (upper case is the same key).
        let listed = vec![to_hex(key(1).verifying_key().as_bytes()).to_ascii_uppercase()];
        let keys = relay_attested(&fixture.doc, &DOC, Some(&listed));
        assert_eq!(keys(fixture.alice), [key(1).verifying_key()]);
        assert!(keys(fixture.bob).is_empty());
        assert!(keys(MemberId::from_bytes([9; 16])).is_empty());
        // Before the relay has answered, nobody's key is attested.
        assert!(relay_attested(&fixture.doc, &DOC, None)(fixture.alice).is_empty());
    }
}
