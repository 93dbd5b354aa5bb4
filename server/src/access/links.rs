//! Device link codes: how a person adds another device (a phone, a second
//! laptop) to the member they already are.
//!
//! A device asks for a code (`POST /api/links`); the new device registers
//! with it (`POST /api/devices` with `link`) and becomes another device of
//! the same account. A code works once, for at most [`MAX_LINK_TTL_MS`],
//! and each account may ask for [`LINKS_PER_ACCOUNT`] codes per
//! [`LINK_WINDOW_MS`]. Codes are short enough to type (12 characters from
//! an alphabet without look-alikes), are kept only as SHA-256 hashes and
//! live in memory: after a restart a person simply asks for a new code.
//! A spent code is remembered until an hour after it expires, so reusing it
//! says "already used" rather than "unknown".
//!
//! This module is the sans-IO table; [`super::AccessControl`] spends a code
//! and writes the new device in one serialized step.

use std::collections::HashMap;

use rand::Rng;

use super::secret;

/// Lifetime of a code when the caller does not ask for a shorter one.
pub const DEFAULT_LINK_TTL_MS: u64 = 5 * 60_000;
/// Longest lifetime a code may have.
pub const MAX_LINK_TTL_MS: u64 = 10 * 60_000;
/// Codes one account may create per [`LINK_WINDOW_MS`].
pub const LINKS_PER_ACCOUNT: u32 = 5;
/// The window of [`LINKS_PER_ACCOUNT`].
pub const LINK_WINDOW_MS: u64 = 10 * 60_000;
/// How long a spent or expired code is remembered after it expires.
const REMEMBER_MS: u64 = 3_600_000;
/// Outstanding codes the relay holds in all (then the oldest are dropped).
const LINKS_IN_ALL: usize = 65_536;
/// Characters a code is made of: no 0/O, 1/I/L look-alikes.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Characters in a code.
const CODE_LEN: usize = 12;

/// One outstanding code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkCode {
    /// The account the new device joins.
    pub account: String,
    /// The device that asked for the code (whose grants the new device gets).
    pub created_by: String,
    /// When it was created (ms since the Unix epoch).
    pub created_at: u64,
    /// When it stops working.
    pub expires_at: u64,
    /// The device that registered with it, once spent.
    pub redeemed_by: Option<String>,
}

/// Why a code cannot be spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    /// No code like it.
    #[error("this link code is not valid; check it or ask for a new one")]
    Unknown,
    /// It expired.
    #[error("this link code has expired; show a new one on your other device")]
    Expired,
    /// It was already used.
    #[error("this link code was already used; show a new one on your other device")]
    Used,
}

/// The outstanding codes, keyed by the hash of the normalized code.
#[derive(Debug, Default)]
pub struct Links {
    by_hash: HashMap<[u8; 32], LinkCode>,
}

/// The code as typed, reduced to its characters: upper case, without
/// spaces or dashes.
pub fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A code shown in groups of four: `ABCD-EFGH-JKMN`.
pub fn display(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

impl Links {
    /// A new code for `created_by` of `account`, valid for `ttl_ms` from
    /// `now`; returns its text (normalized) and the record.
    pub fn create(
        &mut self,
        account: &str,
        created_by: &str,
        ttl_ms: u64,
        now: u64,
    ) -> (String, LinkCode) {
        self.forget_old(now);
        if self.by_hash.len() >= LINKS_IN_ALL
            && let Some(oldest) = self
                .by_hash
                .iter()
                .min_by_key(|(_, link)| link.created_at)
                .map(|(hash, _)| *hash)
        {
            self.by_hash.remove(&oldest);
        }
        let mut rng = rand::rng();
        let code: String = (0..CODE_LEN)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect();
        let link = LinkCode {
            account: account.to_owned(),
            created_by: created_by.to_owned(),
            created_at: now,
            expires_at: now.saturating_add(ttl_ms),
            redeemed_by: None,
        };
        self.by_hash.insert(secret::hash(&code), link.clone());
        (code, link)
    }

    /// The code's record if it can be spent at `now`.
    pub fn check(&self, code: &str, now: u64) -> Result<LinkCode, LinkRefusal> {
        let hash = secret::hash(&normalize(code));
        let (stored, link) = self
            .by_hash
            .get_key_value(&hash)
            .ok_or(LinkRefusal::Unknown)?;
        if !secret::same(stored, &hash) {
            return Err(LinkRefusal::Unknown);
        }
        if link.redeemed_by.is_some() {
            return Err(LinkRefusal::Used);
        }
        if link.expires_at <= now {
            return Err(LinkRefusal::Expired);
        }
        Ok(link.clone())
    }

    /// Marks a code checked with [`Self::check`] as spent by `device`.
    pub fn spend(&mut self, code: &str, device: &str) {
        if let Some(link) = self.by_hash.get_mut(&secret::hash(&normalize(code))) {
            link.redeemed_by = Some(device.to_owned());
        }
    }

    /// The codes of `account` that were asked for by `device` and are still
    /// remembered, newest first (for "has my phone joined yet?").
    pub fn of_creator(&self, device: &str) -> Vec<LinkCode> {
        let mut found: Vec<LinkCode> = self
            .by_hash
            .values()
            .filter(|l| l.created_by == device)
            .cloned()
            .collect();
        found.sort_by_key(|l| std::cmp::Reverse(l.created_at));
        found
    }

    fn forget_old(&mut self, now: u64) {
        self.by_hash
            .retain(|_, link| link.expires_at.saturating_add(REMEMBER_MS) > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_works_once_until_it_expires() {
        let mut links = Links::default();
        let (code, link) = links.create("acct", "dev_a", 1000, 10);
        assert_eq!(code.len(), CODE_LEN);
        assert!(code.bytes().all(|b| ALPHABET.contains(&b)));
        assert_eq!(link.expires_at, 1010);
        let typed = display(&code).to_ascii_lowercase();
        assert_eq!(links.check(&typed, 11).unwrap().account, "acct");
        assert_eq!(links.check(&code, 1010), Err(LinkRefusal::Expired));
        links.spend(&typed, "dev_b");
        assert_eq!(links.check(&code, 11), Err(LinkRefusal::Used));
        assert_eq!(links.check("ABCDEFGHJKMN", 11), Err(LinkRefusal::Unknown));
        assert_eq!(
            links.of_creator("dev_a")[0].redeemed_by.as_deref(),
            Some("dev_b")
        );
    }

    #[test]
    fn old_codes_are_forgotten_an_hour_after_expiry() {
        let mut links = Links::default();
        let (old, _) = links.create("acct", "dev_a", 1000, 0);
        links.spend(&old, "dev_b");
        links.create("acct", "dev_a", 1000, 999 + REMEMBER_MS);
        assert_eq!(links.check(&old, 2), Err(LinkRefusal::Used));
        links.create("acct", "dev_a", 1000, 1000 + REMEMBER_MS);
        assert_eq!(links.by_hash.len(), 2);
        assert_eq!(links.check(&old, 2), Err(LinkRefusal::Unknown));
    }

    #[test]
    fn display_groups_by_four_and_normalize_undoes_it() {
        assert_eq!(display("ABCDEFGHJKMN"), "ABCD-EFGH-JKMN");
        assert_eq!(normalize(" abcd-efgh jkmn "), "ABCDEFGHJKMN");
    }
}
