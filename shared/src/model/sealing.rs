//! Commit, then reveal: the one sealing primitive under health-check
//! answers ([`super::health`]) and board ballots and private notes
//! ([`super::boards`]).
//!
//! A device encrypts a value with ChaCha20-Poly1305 under a 32-byte
//! [`SealingKey`] only it holds, and writes the ciphertext, the nonce and a
//! commitment `SHA-256(commitment label ‖ key ‖ slot)`. The associated data
//! is `sealed label ‖ binding`, so a ciphertext cannot be moved to another
//! slot. At the reveal the device publishes the key; a key counts only if
//! it matches the commitment and opens the ciphertext.
//!
//! Each user of the primitive is a [`Domain`], declared here with its labels
//! so that every stored label is in this one file; the labels,
//! the slot and binding bytes and the field names (`nonce`, `sealed`,
//! `commitment`, `key`) are stored formats: documents already shared were
//! sealed with them, so they never change.

use crate::model::error::OpResult;
use crate::model::fields::Tx;
use std::marker::PhantomData;

use automerge::{ObjId, ReadDoc, ScalarValue, Value};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};

use super::error::OpError;
use super::fields::{child_map, get_str, get_u64};
use super::hash_prefix::HashPrefix;
use super::ids::{MemberId, PartyId};

/// Plaintexts are zero-padded to a multiple of this many bytes, so only
/// their size class shows.
pub(crate) const PAD: usize = 256;

/// The labels one kind of sealed value is hashed and encrypted under.
pub trait Domain {
    /// The key type's name, shown by `Debug` instead of the key bytes.
    const NAME: &'static str;
    /// The domain label of [`SealingKey::derive_parts`].
    const KEY_LABEL: &'static [u8];
    /// The label hashed before the key in a commitment.
    const COMMITMENT_LABEL: &'static [u8];
    /// The label the associated data starts with.
    const SEALED_LABEL: &'static [u8];
}

/// Declares a [`Domain`]: the name of its key type and its three labels.
macro_rules! domain {
    ($(#[$doc:meta])* $domain:ident: $name:literal, key $key:literal,
     commitment $commitment:literal, sealed $sealed:literal) => {
        $(#[$doc])*
        pub enum $domain {}

        impl Domain for $domain {
            const NAME: &'static str = $name;
            const KEY_LABEL: &'static [u8] = $key;
            const COMMITMENT_LABEL: &'static [u8] = $commitment;
            const SEALED_LABEL: &'static [u8] = $sealed;
        }
    };
}

domain!(
    /// Health-check answers ([`super::health`]): the slot is
    /// `round ‖ member`, the binding `round ‖ member ‖ party`.
    HealthAnswers: "AnswerKey",
    key b"accord/health/answer-key/v1",
    commitment b"accord/health/commitment/v1",
    sealed b"accord/health/answer/v1"
);

domain!(
    /// Board ballots and private notes ([`super::boards`]): slot and
    /// binding are both `kind ‖ board ‖ item ‖ member`.
    BoardSeals: "SealKey",
    key b"accord/boards/seal-key/v1",
    commitment b"accord/boards/commitment/v1",
    sealed b"accord/boards/sealed/v1"
);

/// The 32-byte key sealing one value of domain `D`.
pub struct SealingKey<D> {
    bytes: [u8; 32],
    domain: PhantomData<fn() -> D>,
}

impl<D> Clone for SealingKey<D> {
    fn clone(&self) -> Self {
        Self::from_bytes(self.bytes)
    }
}

impl<D> PartialEq for SealingKey<D> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl<D> Eq for SealingKey<D> {}

impl<D: Domain> std::fmt::Debug for SealingKey<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}(…)", D::NAME)
    }
}

impl<D> SealingKey<D> {
    /// A key from 32 random bytes supplied by the caller.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            bytes,
            domain: PhantomData,
        }
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl<D: Domain> SealingKey<D> {
    /// `SHA-256(KEY_LABEL ‖ u64 length ‖ secret ‖ parts…)`: a key the device
    /// finds again from its secret without storing it. Publishing it
    /// reveals nothing about the secret.
    pub(crate) fn derive_parts(secret: &[u8], parts: &[&[u8]]) -> Self {
        let mut hash = Sha256::new();
        hash.update(D::KEY_LABEL);
        hash.update((secret.len() as u64).to_be_bytes());
        hash.update(secret);
        for part in parts {
            hash.update(part);
        }
        Self::from_bytes(hash.finalize().into())
    }

    /// What the `derive_from_prefix` of a key type needs of `secret`,
    /// without the secret itself (see [`crate::model::hash_prefix`]);
    /// `None` for a secret shorter than 32 bytes.
    pub fn prefix(secret: &[u8]) -> Option<HashPrefix> {
        (secret.len() >= 32)
            .then(|| HashPrefix::absorb(D::KEY_LABEL, secret))
            .flatten()
    }

    /// The same key as [`Self::derive_parts`] with the secret `prefix` was
    /// made from.
    pub(crate) fn from_prefix(prefix: &HashPrefix, parts: &[&[u8]]) -> Self {
        Self::from_bytes(prefix.finish(parts))
    }

    /// `SHA-256(COMMITMENT_LABEL ‖ key ‖ slot)`.
    pub(crate) fn commitment(&self, slot: &[u8]) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(D::COMMITMENT_LABEL);
        hash.update(self.bytes);
        hash.update(slot);
        hash.finalize().into()
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&Key::from(self.bytes))
    }
}

fn aad<D: Domain>(binding: &[u8]) -> Vec<u8> {
    let mut aad = D::SEALED_LABEL.to_vec();
    aad.extend_from_slice(binding);
    aad
}

/// Zero-pads `plain` to the next multiple of [`PAD`] bytes.
pub(crate) fn pad(plain: &mut Vec<u8>) {
    plain.resize(plain.len().div_ceil(PAD) * PAD, 0);
}

/// A sealed value as stored: ciphertext, nonce, commitment, and the key
/// once published.
pub(crate) struct Sealed<D> {
    pub(crate) nonce: Vec<u8>,
    pub(crate) sealed: Vec<u8>,
    pub(crate) commitment: Vec<u8>,
    pub(crate) key: Option<SealingKey<D>>,
}

impl<D> Clone for Sealed<D> {
    fn clone(&self) -> Self {
        Self {
            nonce: self.nonce.clone(),
            sealed: self.sealed.clone(),
            commitment: self.commitment.clone(),
            key: self.key.clone(),
        }
    }
}

impl<D: Domain> std::fmt::Debug for Sealed<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed")
            .field("nonce", &self.nonce)
            .field("sealed", &self.sealed)
            .field("commitment", &self.commitment)
            .field("key", &self.key)
            .finish()
    }
}

impl<D: Domain> Sealed<D> {
    /// Encrypts the already padded `plain` under `key`, committing to
    /// `slot` and binding the ciphertext to `binding`. `None` only if the
    /// cipher refuses (a plaintext beyond its limit).
    pub(crate) fn seal(
        plain: &[u8],
        key: &SealingKey<D>,
        nonce: [u8; 12],
        slot: &[u8],
        binding: &[u8],
    ) -> Option<Self> {
        let sealed = key
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: &aad::<D>(binding),
                },
            )
            .ok()?;
        Some(Self {
            nonce: nonce.to_vec(),
            sealed,
            commitment: key.commitment(slot).to_vec(),
            key: None,
        })
    }

    /// The padded plaintext: `None` unless `key` matches the commitment to
    /// `slot` and decrypts the ciphertext bound to `binding`.
    pub(crate) fn open(&self, key: &SealingKey<D>, slot: &[u8], binding: &[u8]) -> Option<Vec<u8>> {
        if key.commitment(slot).as_slice() != self.commitment.as_slice() {
            return None;
        }
        let nonce: [u8; 12] = self.nonce.as_slice().try_into().ok()?;
        key.cipher()
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &self.sealed,
                    aad: &aad::<D>(binding),
                },
            )
            .ok()
    }

    /// Reads the sealed fields of `obj`; `None` if one is missing.
    pub(crate) fn read<R: ReadDoc>(doc: &R, obj: &ObjId) -> Option<Self> {
        Some(Self {
            nonce: get_bytes(doc, obj, "nonce")?,
            sealed: get_bytes(doc, obj, "sealed")?,
            commitment: get_bytes(doc, obj, "commitment")?,
            key: get_bytes(doc, obj, "key")
                .and_then(|k| <[u8; 32]>::try_from(k).ok())
                .map(SealingKey::from_bytes),
        })
    }

    /// Writes the sealed fields (not the key) into `obj`.
    pub(crate) fn write<T: Tx>(&self, tx: &mut T, obj: &ObjId) -> OpResult {
        tx.put(obj, "nonce", ScalarValue::Bytes(self.nonce.clone()))?;
        tx.put(obj, "sealed", ScalarValue::Bytes(self.sealed.clone()))?;
        tx.put(
            obj,
            "commitment",
            ScalarValue::Bytes(self.commitment.clone()),
        )?;
        Ok(())
    }
}

/// One member's sealed value in a map keyed by member id (health-check
/// answers, board ballots): `{ member id → { party?, <time>, nonce,
/// sealed, commitment, key? } }`, where `<time>` is named by the user.
pub(crate) struct MemberSeal<D> {
    pub(crate) member: MemberId,
    pub(crate) party: Option<PartyId>,
    /// When it was sealed.
    pub(crate) at: u64,
    pub(crate) sealed: Sealed<D>,
    /// The entry's map.
    obj: ObjId,
}

impl<D: Domain> MemberSeal<D> {
    /// Every readable entry of `map` (none without a map), with its time
    /// from the field `time`.
    pub(crate) fn read_all<R: ReadDoc>(doc: &R, map: Option<&ObjId>, time: &str) -> Vec<Self> {
        let Some(map) = map else {
            return Vec::new();
        };
        doc.keys(map)
            .filter_map(|key| {
                let obj = child_map(doc, map, &key)?;
                Some(Self {
                    member: key.parse().ok()?,
                    party: get_str(doc, &obj, "party").and_then(|p| p.parse().ok()),
                    at: get_u64(doc, &obj, time).unwrap_or(0),
                    sealed: Sealed::read(doc, &obj)?,
                    obj,
                })
            })
            .collect()
    }

    /// Publishes `key` into this entry: nothing to do if it is published
    /// already; refused with `refusal` unless `opens(key)`.
    pub(crate) fn publish<T: Tx>(
        &self,
        tx: &mut T,
        key: &SealingKey<D>,
        opens: impl FnOnce(&SealingKey<D>) -> bool,
        refusal: &'static str,
    ) -> OpResult {
        if self.sealed.key.as_ref() == Some(key) {
            return Ok(());
        }
        if !opens(key) {
            return Err(OpError::Invalid {
                field: "key",
                reason: refusal,
            });
        }
        write_key(tx, &self.obj, key)
    }
}

/// Writes `member`'s new entry into `map`: their party (if any), the time
/// `now` in the field `time`, and the sealed fields.
pub(crate) fn write_member_seal<D: Domain, T: Tx>(
    tx: &mut T,
    map: &ObjId,
    (member, party): (MemberId, Option<PartyId>),
    (time, now): (&str, u64),
    sealed: &Sealed<D>,
) -> OpResult {
    let entry = tx.put_object(map, member.key().as_str(), automerge::ObjType::Map)?;
    if let Some(party) = party {
        tx.put(&entry, "party", party.key())?;
    }
    tx.put(&entry, time, now)?;
    sealed.write(tx, &entry)
}

/// Publishes `key` into `obj`.
pub(crate) fn write_key<D, T: Tx>(tx: &mut T, obj: &ObjId, key: &SealingKey<D>) -> OpResult {
    tx.put(obj, "key", ScalarValue::Bytes(key.bytes.to_vec()))?;
    Ok(())
}

fn get_bytes<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Option<Vec<u8>> {
    match doc.get(obj, key) {
        Ok(Some((Value::Scalar(value), _))) => match value.as_ref() {
            ScalarValue::Bytes(bytes) => Some(bytes.clone()),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Test;

    impl Domain for Test {
        const NAME: &'static str = "TestKey";
        const KEY_LABEL: &'static [u8] = b"test/key";
        const COMMITMENT_LABEL: &'static [u8] = b"test/commitment";
        const SEALED_LABEL: &'static [u8] = b"test/sealed";
    }

    #[test]
    fn a_key_opens_only_its_slot_and_binding() {
        let key = SealingKey::<Test>::derive_parts(b"secret", &[b"slot"]);
        let mut plain = b"words".to_vec();
        pad(&mut plain);
        assert_eq!(plain.len(), PAD);
        let sealed = Sealed::seal(&plain, &key, [1; 12], b"slot", b"bound").unwrap();
        assert_eq!(sealed.open(&key, b"slot", b"bound"), Some(plain));
        assert_eq!(sealed.open(&key, b"other", b"bound"), None);
        assert_eq!(sealed.open(&key, b"slot", b"other"), None);
        let wrong = SealingKey::<Test>::from_bytes([0; 32]);
        assert_eq!(sealed.open(&wrong, b"slot", b"bound"), None);
        assert_eq!(format!("{key:?}"), "TestKey(…)");
    }
}
