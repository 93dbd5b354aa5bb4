//! A secret-derived SHA-256 key whose derivation can go on without the
//! secret.
//!
//! [`AnswerKey::derive`](super::health::AnswerKey::derive) and
//! [`SealKey::derive`](super::boards::SealKey::derive) hash
//! `label ‖ u64 length ‖ secret ‖ fields`. SHA-256 reads its input in
//! 64-byte blocks, and each block only updates a 32-byte chaining state, so
//! the hash of any `label ‖ length ‖ secret ‖ fields` can be finished from
//! the state after the first whole blocks plus the few secret bytes left
//! over. A [`HashPrefix`] keeps exactly that: with it a device computes
//! every key the secret would give, for any fields, while the secret bytes
//! folded into the state cannot be read back (that would invert SHA-256's
//! compression function).
//!
//! The web app uses it for devices made before their Ed25519 seed became a
//! non-extractable browser key: the seed itself is dropped, and the
//! prefixes keep their sealed answers and ballots openable (see the app's
//! `identity` module).

use sha2::compress256;
use sha2::digest::generic_array::GenericArray;

/// SHA-256's initial state.
const INITIAL: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];
const BLOCK: usize = 64;
/// The fewest secret bytes a prefix must fold into its state: fewer would
/// leave too much of the secret guessable from the state.
const MIN_FOLDED: usize = 24;

/// SHA-256 after reading `label ‖ u64 length ‖ secret` up to the last
/// whole block: the chaining state, the bytes read so far, and the bytes
/// of the secret not yet folded in.
#[derive(Clone, PartialEq, Eq)]
pub struct HashPrefix {
    state: [u32; 8],
    blocks: u64,
    tail: Vec<u8>,
}

impl std::fmt::Debug for HashPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashPrefix(…)")
    }
}

/// Why a stored prefix could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed hash prefix")]
pub struct MalformedPrefix;

impl HashPrefix {
    /// Reads `label ‖ u64 big-endian length of secret ‖ secret` and keeps
    /// the state after its whole blocks. `None` when fewer than 24 bytes of
    /// the secret would be folded in (a short secret or a long label).
    pub fn absorb(label: &[u8], secret: &[u8]) -> Option<Self> {
        let mut input = Vec::with_capacity(label.len() + 8 + secret.len());
        input.extend_from_slice(label);
        input.extend_from_slice(&(secret.len() as u64).to_be_bytes());
        input.extend_from_slice(secret);
        let whole = input.len() / BLOCK * BLOCK;
        if whole < label.len() + 8 + MIN_FOLDED {
            return None;
        }
        let mut state = INITIAL;
        compress_all(&mut state, &input[..whole]);
        Some(Self {
            state,
            blocks: (whole / BLOCK) as u64,
            tail: input[whole..].to_vec(),
        })
    }

    /// SHA-256 of everything absorbed followed by `parts`: the same digest
    /// as hashing the whole input at once.
    pub fn finish(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut rest = self.tail.clone();
        for part in parts {
            rest.extend_from_slice(part);
        }
        let bits = (self.blocks * BLOCK as u64 + rest.len() as u64) * 8;
        rest.push(0x80);
        while rest.len() % BLOCK != BLOCK - 8 {
            rest.push(0);
        }
        rest.extend_from_slice(&bits.to_be_bytes());
        let mut state = self.state;
        compress_all(&mut state, &rest);
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// The prefix as text for storage: `state:blocks:tail`, hex.
    pub fn to_text(&self) -> String {
        let state: Vec<u8> = self.state.iter().flat_map(|w| w.to_be_bytes()).collect();
        format!(
            "{}:{}:{}",
            super::ids::to_hex(&state),
            self.blocks,
            super::ids::to_hex(&self.tail)
        )
    }

    /// Reads a prefix written by [`Self::to_text`].
    pub fn from_text(text: &str) -> Result<Self, MalformedPrefix> {
        let mut fields = text.split(':');
        let (Some(state), Some(blocks), Some(tail), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(MalformedPrefix);
        };
        let state = super::ids::from_hex(state).ok_or(MalformedPrefix)?;
        let tail = super::ids::from_hex(tail).ok_or(MalformedPrefix)?;
        let blocks: u64 = blocks.parse().map_err(|_| MalformedPrefix)?;
        if state.len() != 32 || tail.len() >= BLOCK || blocks == 0 || blocks > 1 << 20 {
            return Err(MalformedPrefix);
        }
        let mut words = [0u32; 8];
        for (word, chunk) in words.iter_mut().zip(state.chunks_exact(4)) {
            *word = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        Ok(Self {
            state: words,
            blocks,
            tail,
        })
    }
}

fn compress_all(state: &mut [u32; 8], bytes: &[u8]) {
    let blocks: Vec<GenericArray<u8, _>> = bytes
        .chunks_exact(BLOCK)
        .map(GenericArray::clone_from_slice)
        .collect();
    compress256(state, &blocks);
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    fn whole(label: &[u8], secret: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(label);
        hash.update((secret.len() as u64).to_be_bytes());
        hash.update(secret);
        for part in parts {
            hash.update(part);
        }
        hash.finalize().into()
    }

    #[test]
    fn finishing_a_prefix_gives_the_whole_hash() {
        for label_len in [0usize, 1, 25, 27, 31, 32, 60] {
            let label = vec![b'l'; label_len];
            for secret_len in [32usize, 33, 64, 100] {
                let secret: Vec<u8> = (0..secret_len).map(|i| (i * 7 + 3) as u8).collect();
                let Some(prefix) = HashPrefix::absorb(&label, &secret) else {
                    let folded = (label_len + 8 + secret_len) / BLOCK * BLOCK;
                    assert!(
                        folded < label_len + 8 + MIN_FOLDED,
                        "{label_len}/{secret_len}"
                    );
                    continue;
                };
                for parts in [
                    vec![],
                    vec![&[1u8; 16][..], &[2u8; 16][..]],
                    vec![&[9u8; 48][..]],
                    vec![&[5u8; 130][..]],
                ] {
                    assert_eq!(
                        prefix.finish(&parts),
                        whole(&label, &secret, &parts),
                        "label {label_len}, secret {secret_len}, parts {}",
                        parts.len()
                    );
                }
                let text = prefix.to_text();
                assert_eq!(HashPrefix::from_text(&text), Ok(prefix));
            }
        }
    }

    #[test]
    fn a_prefix_keeps_few_secret_bytes_in_the_clear() {
        let secret = [0xabu8; 32];
        let prefix = HashPrefix::absorb(b"accord/health/answer-key/v1", &secret).unwrap();
        assert_eq!(prefix.tail.len(), 3);
        let prefix = HashPrefix::absorb(b"accord/boards/seal-key/v1", &secret).unwrap();
        assert_eq!(prefix.tail.len(), 1);
        // A short secret would sit (almost) whole in the tail: refused.
        assert!(HashPrefix::absorb(b"accord/health/answer-key/v1", &[1u8; 16]).is_none());
        assert!(HashPrefix::absorb(&[b'l'; 40], &secret).is_none());
    }

    #[test]
    fn malformed_text_is_refused() {
        for text in [
            "",
            "00:1:",
            "zz:1:00",
            &format!("{}:0:00", "00".repeat(32)),
            &format!("{}:1:{}", "00".repeat(32), "00".repeat(64)),
            &format!("{}:1:00:00", "00".repeat(32)),
        ] {
            assert_eq!(HashPrefix::from_text(text), Err(MalformedPrefix), "{text}");
        }
    }
}
