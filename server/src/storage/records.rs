//! The records the relay stores about access: devices, their grants of
//! documents and the invites that create grants. [`super::AccessStore`]
//! keeps them; `crate::access` decides with them.

use accord_shared::http;
use accord_shared::ids::DocumentId;

pub use accord_shared::http::{Role, UnknownRole};

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Relay-assigned id.
    pub id: String,
    /// The device's Ed25519 public key (attested to other members).
    pub public_key: [u8; 32],
    /// A label chosen by the user.
    pub name: String,
    /// SHA-256 of its bearer token.
    pub token_hash: [u8; 32],
    /// Registration time (ms since the Unix epoch).
    pub created_at: u64,
    /// The account (the person) it belongs to: the id of the account's first
    /// device. Devices linked with a link code share their account.
    pub account: String,
    /// When it last used its token (ms since the Unix epoch; 0: never
    /// recorded). Written at most every few minutes.
    pub last_seen: u64,
    /// When another device of its account revoked it (0: not revoked).
    pub revoked_at: u64,
}

/// A device's right to a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The document.
    pub document: DocumentId,
    /// The device id.
    pub device: String,
    /// What it may do.
    pub role: Role,
    /// The organization it acts for.
    pub party: String,
    /// When granted (ms since the Unix epoch).
    pub created_at: u64,
}

impl Grant {
    /// The grant as the HTTP API shows it.
    pub fn to_wire(&self) -> http::Grant {
        http::Grant {
            document: self.document.to_string(),
            device: self.device.clone(),
            role: self.role,
            party: self.party.clone(),
            created_at: self.created_at,
        }
    }
}

/// An invitation to a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// SHA-256 of the code.
    pub code_hash: [u8; 32],
    /// The document.
    pub document: DocumentId,
    /// The role redeemers get.
    pub role: Role,
    /// The party redeemers act for.
    pub party: String,
    /// Expiry (ms since the Unix epoch).
    pub expires_at: u64,
    /// Redemptions left.
    pub uses_left: u32,
    /// The device (or `operator`) that created it.
    pub created_by: String,
}
