//! Sealing for ballots and private notes: commit, then reveal, with the
//! primitive in [`crate::model::sealing`] (shared with health checks).
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

use crate::model::error::OpError;
use crate::model::hash_prefix::HashPrefix;
use crate::model::ids::{ItemId, MemberId};
use crate::model::sealing::{self, BoardSeals, SealingKey};

/// The 32-byte key sealing one member's ballot, or one private note.
pub type SealKey = SealingKey<BoardSeals>;

impl SealingKey<BoardSeals> {
    /// A key derived from a device secret, so the device can find it again
    /// without storing it: `SHA-256("accord/boards/seal-key/v1" ‖ len ‖
    /// secret ‖ board ‖ item ‖ member)`, where `item` is the vote (for a
    /// ballot) or the note (for a private note). Publishing it reveals
    /// nothing about the secret.
    pub fn derive(secret: &[u8], board: ItemId, item: ItemId, member: MemberId) -> Self {
        Self::derive_parts(
            secret,
            &[board.as_bytes(), item.as_bytes(), member.as_bytes()],
        )
    }

    /// The same key as [`Self::derive`] with the secret `prefix` was made
    /// from (see [`SealingKey::prefix`]).
    pub fn derive_from_prefix(
        prefix: &HashPrefix,
        board: ItemId,
        item: ItemId,
        member: MemberId,
    ) -> Self {
        Self::from_prefix(
            prefix,
            &[board.as_bytes(), item.as_bytes(), member.as_bytes()],
        )
    }
}

/// What names a sealed slot: `kind ‖ board ‖ item ‖ member`.
pub(crate) fn context(kind: &[u8], board: ItemId, item: ItemId, member: MemberId) -> Vec<u8> {
    let mut out = kind.to_vec();
    out.extend_from_slice(board.as_bytes());
    out.extend_from_slice(item.as_bytes());
    out.extend_from_slice(member.as_bytes());
    out
}

/// A sealed ballot or private note as stored.
pub(crate) type Sealed = sealing::Sealed<BoardSeals>;

/// Seals `content` (at most 65 535 bytes) under `key`: length-prefixed,
/// zero-padded, committed to and bound to `context`.
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
    sealing::pad(&mut plain);
    Sealed::seal(&plain, key, nonce, context, context).ok_or(OpError::Invalid {
        field: "content",
        reason: "it could not be sealed",
    })
}

/// Opens `sealed` with `key`: `None` unless the key matches the commitment
/// and decrypts the ciphertext.
pub(crate) fn open(sealed: &Sealed, key: &SealKey, context: &[u8]) -> Option<Vec<u8>> {
    let plain = sealed.open(key, context, context)?;
    let len = usize::from(u16::from_be_bytes([*plain.first()?, *plain.get(1)?]));
    plain.get(2..2 + len).map(<[u8]>::to_vec)
}

/// Opens with the published key, if any.
pub(crate) fn open_published(sealed: &Sealed, context: &[u8]) -> Option<Vec<u8>> {
    open(sealed, sealed.key.as_ref()?, context)
}

pub(crate) use sealing::write_key;

#[cfg(test)]
mod tests {
    use super::*;

    /// A board, an item on it and a member, from one seed byte.
    fn slot(n: u8) -> (ItemId, ItemId, MemberId) {
        (
            ItemId::from_bytes([n; 16]),
            ItemId::from_bytes([n + 1; 16]),
            MemberId::from_bytes([n + 2; 16]),
        )
    }

    #[test]
    fn a_prefix_derives_the_keys_the_secret_does() {
        let secret = [0x5au8; 32];
        let prefix = SealKey::prefix(&secret).expect("a 32-byte secret");
        for n in 0..4u8 {
            let (board, item, member) = slot(n);
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
        use sha2::Digest;
        let (board, item, member) = slot(1);
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
            to_hex(&sha2::Sha256::digest(&sealed.sealed)),
            "736416e12f1251100e88593bd3b74bc830e8fdd25b77aed3866944bd0715ab3f"
        );
    }

    #[test]
    fn seal_open_and_refuse_wrong_keys_or_slots() {
        let (board, item, member) = slot(1);
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
