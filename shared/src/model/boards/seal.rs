//! Sealing for ballots and private notes: commit, then reveal, as in
//! [`crate::model::health`].
//!
//! The device encrypts the content with ChaCha20-Poly1305 under a 32-byte
//! [`SealKey`] only it holds, and writes the ciphertext, the nonce and a
//! commitment `SHA-256("accord/boards/commitment/v1" ‖ key ‖ context)`.
//! The context names what is sealed (kind ‖ board ‖ item ‖ member) and is
//! also the associated data, so a ciphertext cannot be moved to another
//! slot. The content is length-prefixed and zero-padded to a multiple of
//! 256 bytes, so only its size class shows. At the reveal the device
//! publishes the key; a key counts only if it matches the commitment and
//! opens the ciphertext.

use automerge::transaction::Transactable;
use automerge::{ObjId, ReadDoc, ScalarValue, Value};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};

use crate::model::error::OpError;
use crate::model::hash_prefix::HashPrefix;
use crate::model::ids::{ItemId, MemberId};

const PAD: usize = 256;

/// The 32-byte key sealing one member's ballot, or one private note.
#[derive(Clone, PartialEq, Eq)]
pub struct SealKey([u8; 32]);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(…)")
    }
}

impl SealKey {
    /// A key from 32 random bytes supplied by the caller.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key derived from a device secret, so the device can find it again
    /// without storing it: `SHA-256("accord/boards/seal-key/v1" ‖ len ‖
    /// secret ‖ board ‖ item ‖ member)`, where `item` is the vote (for a
    /// ballot) or the note (for a private note). Publishing it reveals
    /// nothing about the secret.
    pub fn derive(secret: &[u8], board: ItemId, item: ItemId, member: MemberId) -> Self {
        let mut hash = Sha256::new();
        hash.update(SEAL_KEY_LABEL);
        hash.update((secret.len() as u64).to_be_bytes());
        hash.update(secret);
        hash.update(board.as_bytes());
        hash.update(item.as_bytes());
        hash.update(member.as_bytes());
        Self(hash.finalize().into())
    }

    /// What [`Self::derive_from_prefix`] needs of `secret`, without the
    /// secret itself (see [`crate::model::hash_prefix`]); `None` for a
    /// secret shorter than 32 bytes.
    pub fn prefix(secret: &[u8]) -> Option<HashPrefix> {
        (secret.len() >= 32)
            .then(|| HashPrefix::absorb(SEAL_KEY_LABEL, secret))
            .flatten()
    }

    /// The same key as [`Self::derive`] with the secret `prefix` was made
    /// from.
    pub fn derive_from_prefix(
        prefix: &HashPrefix,
        board: ItemId,
        item: ItemId,
        member: MemberId,
    ) -> Self {
        Self(prefix.finish(&[board.as_bytes(), item.as_bytes(), member.as_bytes()]))
    }

    fn commitment(&self, context: &[u8]) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(b"accord/boards/commitment/v1");
        hash.update(self.0);
        hash.update(context);
        hash.finalize().into()
    }
}

/// The domain label of [`SealKey::derive`].
const SEAL_KEY_LABEL: &[u8] = b"accord/boards/seal-key/v1";

/// What names a sealed slot: `kind ‖ board ‖ item ‖ member`.
pub(crate) fn context(kind: &[u8], board: ItemId, item: ItemId, member: MemberId) -> Vec<u8> {
    let mut out = kind.to_vec();
    out.extend_from_slice(board.as_bytes());
    out.extend_from_slice(item.as_bytes());
    out.extend_from_slice(member.as_bytes());
    out
}

fn aad(context: &[u8]) -> Vec<u8> {
    let mut aad = b"accord/boards/sealed/v1".to_vec();
    aad.extend_from_slice(context);
    aad
}

/// A sealed value as stored.
#[derive(Debug, Clone)]
pub(crate) struct Sealed {
    pub(crate) nonce: Vec<u8>,
    pub(crate) sealed: Vec<u8>,
    pub(crate) commitment: Vec<u8>,
    pub(crate) key: Option<SealKey>,
}

/// Seals `content` (at most 65 535 bytes) under `key`.
pub(crate) fn seal(
    content: &[u8],
    key: &SealKey,
    nonce: [u8; 12],
    context: &[u8],
) -> Result<Sealed, OpError> {
    let len = u16::try_from(content.len()).map_err(|_| OpError::Invalid {
        field: "content",
        reason: "it is too long to seal",
    })?;
    let mut plain = len.to_be_bytes().to_vec();
    plain.extend_from_slice(content);
    plain.resize(plain.len().div_ceil(PAD) * PAD, 0);
    let cipher = ChaCha20Poly1305::new(&Key::from(key.0));
    let sealed = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &plain,
                aad: &aad(context),
            },
        )
        .map_err(|_| OpError::Invalid {
            field: "content",
            reason: "it could not be sealed",
        })?;
    Ok(Sealed {
        nonce: nonce.to_vec(),
        sealed,
        commitment: key.commitment(context).to_vec(),
        key: None,
    })
}

/// Opens `sealed` with `key`: `None` unless the key matches the commitment
/// and decrypts the ciphertext.
pub(crate) fn open(sealed: &Sealed, key: &SealKey, context: &[u8]) -> Option<Vec<u8>> {
    if key.commitment(context).as_slice() != sealed.commitment.as_slice() {
        return None;
    }
    let nonce: [u8; 12] = sealed.nonce.as_slice().try_into().ok()?;
    let plain = ChaCha20Poly1305::new(&Key::from(key.0))
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &sealed.sealed,
                aad: &aad(context),
            },
        )
        .ok()?;
    let len = usize::from(u16::from_be_bytes([*plain.first()?, *plain.get(1)?]));
    plain.get(2..2 + len).map(<[u8]>::to_vec)
}

/// Opens with the published key, if any.
pub(crate) fn open_published(sealed: &Sealed, context: &[u8]) -> Option<Vec<u8>> {
    open(sealed, sealed.key.as_ref()?, context)
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

/// Reads the sealed fields of `obj`.
pub(crate) fn read<R: ReadDoc>(doc: &R, obj: &ObjId) -> Option<Sealed> {
    Some(Sealed {
        nonce: get_bytes(doc, obj, "nonce")?,
        sealed: get_bytes(doc, obj, "sealed")?,
        commitment: get_bytes(doc, obj, "commitment")?,
        key: get_bytes(doc, obj, "key")
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
            .map(SealKey),
    })
}

/// Writes the sealed fields (not the key) into `obj`.
pub(crate) fn write<T: Transactable + ReadDoc>(
    tx: &mut T,
    obj: &ObjId,
    sealed: &Sealed,
) -> Result<(), OpError> {
    tx.put(obj, "nonce", ScalarValue::Bytes(sealed.nonce.clone()))?;
    tx.put(obj, "sealed", ScalarValue::Bytes(sealed.sealed.clone()))?;
    tx.put(
        obj,
        "commitment",
        ScalarValue::Bytes(sealed.commitment.clone()),
    )?;
    Ok(())
}

/// Publishes `key` into `obj`.
pub(crate) fn write_key<T: Transactable + ReadDoc>(
    tx: &mut T,
    obj: &ObjId,
    key: &SealKey,
) -> Result<(), OpError> {
    tx.put(obj, "key", ScalarValue::Bytes(key.0.to_vec()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_derives_the_keys_the_secret_does() {
        let secret = [0x5au8; 32];
        let prefix = SealKey::prefix(&secret).expect("a 32-byte secret");
        for n in 0..4u8 {
            let (board, item, member) = (
                ItemId::from_bytes([n; 16]),
                ItemId::from_bytes([n + 1; 16]),
                MemberId::from_bytes([n + 2; 16]),
            );
            assert_eq!(
                SealKey::derive_from_prefix(&prefix, board, item, member).as_bytes(),
                SealKey::derive(&secret, board, item, member).as_bytes()
            );
        }
        assert!(SealKey::prefix(b"seed").is_none());
    }

    /// Ballots and private notes in documents already shared must keep
    /// opening: the derived key, the commitment and the ciphertext
    /// (length prefix, padding, associated data and labels) are pinned to
    /// the bytes this version writes.
    #[test]
    fn sealed_bytes_are_pinned() {
        use crate::model::ids::to_hex;
        let (board, item, member) = (
            ItemId::from_bytes([1; 16]),
            ItemId::from_bytes([2; 16]),
            MemberId::from_bytes([3; 16]),
        );
        let key = SealKey::derive(b"device secret", board, item, member);
        assert_eq!(
            to_hex(key.as_bytes()),
            "8ade04bf7d3ab967d480a0953662630003816a378f3a38525525bebcad9b7f0b"
        );
        let ctx = context(b"ballot", board, item, member);
        let sealed = seal(b"pinned", &key, [7; 12], &ctx).unwrap();
        assert_eq!(
            to_hex(&sealed.commitment),
            "26c0aa8a47a7fe30c473c911c8a043fe6374cd23ad37677963c4b41c615261ad"
        );
        assert_eq!(sealed.sealed.len(), 256 + 16);
        assert_eq!(
            to_hex(&Sha256::digest(&sealed.sealed)),
            "736416e12f1251100e88593bd3b74bc830e8fdd25b77aed3866944bd0715ab3f"
        );
    }

    #[test]
    fn seal_open_and_refuse_wrong_keys_or_slots() {
        let (board, item, member) = (
            ItemId::from_bytes([1; 16]),
            ItemId::from_bytes([2; 16]),
            MemberId::from_bytes([3; 16]),
        );
        let key = SealKey::derive(b"seed", board, item, member);
        let ctx = context(b"note", board, item, member);
        let sealed = seal(b"secret words", &key, [7; 12], &ctx).unwrap();
        assert_eq!(sealed.sealed.len(), 256 + 16);
        assert_eq!(open(&sealed, &key, &ctx).unwrap(), b"secret words");
        assert!(open(&sealed, &SealKey::from_bytes([0; 32]), &ctx).is_none());
        let other = context(b"note", board, item, MemberId::from_bytes([4; 16]));
        assert!(open(&sealed, &key, &other).is_none());
        assert!(open_published(&sealed, &ctx).is_none());
        assert_eq!(format!("{key:?}"), "SealKey(…)");
        assert!(seal(&vec![0; 70_000], &key, [7; 12], &ctx).is_err());
    }
}
