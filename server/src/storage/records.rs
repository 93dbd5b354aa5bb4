//! The records the relay stores about access: devices, their grants of
//! documents and the invites that create grants. [`super::AccessStore`]
//! keeps them; `crate::access` decides with them.

use std::fmt;
use std::str::FromStr;

use accord_shared::engine::Access;
use accord_shared::ids::DocumentId;
use serde::{Deserialize, Serialize, Serializer};

/// A document role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May read, write, invite and revoke.
    Owner,
    /// May read and write.
    Editor,
    /// May read.
    Viewer,
}

impl Role {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Editor => "editor",
            Self::Viewer => "viewer",
        }
    }

    /// What the sync engine lets this role do.
    pub fn sync_access(self) -> Access {
        match self {
            Self::Owner | Self::Editor => Access::Write,
            Self::Viewer => Access::Read,
        }
    }
}

/// A role name that is not owner, editor or viewer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: use owner, editor or viewer")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "owner" => Ok(Self::Owner),
            "editor" => Ok(Self::Editor),
            "viewer" => Ok(Self::Viewer),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// The document.
    #[serde(serialize_with = "document_as_text")]
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

/// Serializes a document id as its bs58check text.
pub(crate) fn document_as_text<S: Serializer>(
    id: &DocumentId,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(id)
}
