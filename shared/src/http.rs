//! The JSON bodies of the relay's HTTP API (`/api/...`), written once for
//! both ends: the relay serializes what it answers and deserializes what it
//! is sent with these types, the browser client the other way round.
//!
//! Serde only, no I/O. Field names are the wire names; a field the relay may
//! leave out is `#[serde(default)]`, and an optional field a client leaves
//! out is skipped rather than sent as `null`, so the bytes each side sends
//! are what they were when each side spelled these out itself.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::engine::Access;

/// A document role (stored by the relay under the same names).
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

/// Every error answer: `{"error": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub error: String,
}

/// `POST /api/devices`: registers a device's Ed25519 public key, alone, with
/// an invite code, or with a link code from another device of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// The public key, 64 hex digits.
    pub public_key: String,
    /// The device's label.
    #[serde(default)]
    pub name: String,
    /// An invite code (needed when registration is by invite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<String>,
    /// A link code: the device joins the account that showed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// What `POST /api/devices` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    /// The relay's id for the device.
    pub device_id: String,
    /// Its bearer token for `/sync` and the API (shown once).
    pub token: String,
    /// With a link code: the account it joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked: Option<Linked>,
}

/// What a device registered with a link code learns about its account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Linked {
    /// The public key (hex) of the device that showed the code.
    pub linked_by_key: String,
    /// The grants it took over from that device.
    pub grants: Vec<Grant>,
}

/// A device's right to a document, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The document, as bs58check text.
    pub document: String,
    /// The device holding it.
    #[serde(default)]
    pub device: String,
    /// What it may do.
    pub role: Role,
    /// The organization it acts for.
    pub party: String,
    /// When granted (ms since the Unix epoch).
    #[serde(default)]
    pub created_at: u64,
}

/// `PUT /api/documents/{id}`: claims a new document for a party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRequest {
    /// The organization the claiming device acts for.
    #[serde(default)]
    pub party: String,
}

/// Invites redeemable once unless asked otherwise.
pub const DEFAULT_INVITE_USES: u32 = 1;
/// Invites last a week unless asked otherwise.
pub const DEFAULT_INVITE_EXPIRY_SECONDS: u64 = 7 * 24 * 3600;

fn default_invite_uses() -> u32 {
    DEFAULT_INVITE_USES
}

fn default_invite_expiry_seconds() -> u64 {
    DEFAULT_INVITE_EXPIRY_SECONDS
}

fn is_default_invite_uses(uses: &u32) -> bool {
    *uses == DEFAULT_INVITE_USES
}

/// `POST /api/documents/{id}/invites`: what the owner asks for when
/// inviting the partner organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInvite {
    /// The role the redeemer gets.
    pub role: Role,
    /// The party (organization name) the redeemer acts for.
    #[serde(default)]
    pub party: String,
    /// How long the link stays valid.
    #[serde(default = "default_invite_expiry_seconds")]
    pub expires_in_seconds: u64,
    /// How many times it can be redeemed.
    #[serde(
        default = "default_invite_uses",
        skip_serializing_if = "is_default_invite_uses"
    )]
    pub uses: u32,
}

/// An invite the relay created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// The secret code that goes into the link.
    pub code: String,
    /// The document, as bs58check text.
    #[serde(default)]
    pub document_id: String,
    /// The role it grants.
    pub role: Role,
    /// The party it grants for.
    pub party: String,
    /// When it expires (ms since the Unix epoch).
    pub expires_at: u64,
    /// Redemptions left.
    #[serde(default)]
    pub uses: u32,
}

/// `POST /api/invites/redeem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemRequest {
    /// The invite code.
    pub code: String,
}

/// What `POST /api/sync-ticket` answers: a single-use ticket for
/// `/sync?ticket=…`, so the bearer token never goes into a URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncTicket {
    /// The ticket.
    pub ticket: String,
    /// How long it stays valid.
    #[serde(default)]
    pub expires_in_seconds: u64,
}

/// `POST /api/links`: asks for a link code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRequest {
    /// Its lifetime (the relay's default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<u64>,
}

/// A link code for adding another device to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkCode {
    /// The code in groups of four (`ABCD-EFGH-JKMN`).
    pub code: String,
    /// When it stops working (ms since the Unix epoch, relay clock).
    pub expires_at: u64,
    /// Its lifetime when made, in seconds.
    pub expires_in_seconds: u64,
}

/// A device as the other devices of its account see it
/// (`GET /api/account/devices`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDevice {
    /// The relay's id for it.
    pub device_id: String,
    /// Its label.
    pub name: String,
    /// Its Ed25519 public key, 64 lowercase hex digits.
    pub public_key: String,
    /// When it registered (ms since the Unix epoch).
    pub created_at: u64,
    /// When it last used its token (ms since the Unix epoch; 0: not yet).
    pub last_seen: u64,
    /// Whether it is the device asking.
    pub this_device: bool,
}

/// A device granted a document, with its public key
/// (`GET /api/documents/{id}/keys`): the relay's word that the key speaks
/// for someone in that partnership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestedKey {
    /// The relay's device id.
    pub device: String,
    /// Its Ed25519 public key, 64 lowercase hex digits.
    pub public_key: String,
    /// Its role on the document.
    pub role: Role,
    /// The organization it acts for.
    pub party: String,
}

/// A device as its document's owners see it (`GET /api/documents/{id}/devices`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberDevice {
    /// The device id.
    pub device_id: String,
    /// Its label.
    pub name: String,
    /// Its role, or `None` once revoked.
    pub role: Option<Role>,
    /// Its party, when it holds a grant.
    pub party: Option<String>,
    /// True when an owner revoked it; it cannot redeem invites to the
    /// document until an owner lifts the revocation.
    pub revoked: bool,
}

/// `GET /api/devices/{id}`: one device's public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// The device id.
    pub device_id: String,
    /// Its label.
    pub name: String,
    /// Its Ed25519 public key, 64 lowercase hex digits.
    pub public_key: String,
}

/// `GET /api/me`: the calling device and every grant it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// Its id.
    #[serde(default)]
    pub device_id: String,
    /// Its label.
    #[serde(default)]
    pub name: String,
    /// Its grants.
    pub grants: Vec<Grant>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_request_fields_are_left_out_not_sent_as_null() {
        let register = RegisterRequest {
            public_key: "ab".into(),
            name: "laptop".into(),
            invite: None,
            link: None,
        };
        assert_eq!(
            serde_json::to_string(&register).unwrap(),
            r#"{"public_key":"ab","name":"laptop"}"#
        );
        assert_eq!(
            serde_json::to_string(&LinkRequest::default()).unwrap(),
            "{}"
        );
        let invite = NewInvite {
            role: Role::Editor,
            party: "Beta".into(),
            expires_in_seconds: 60,
            uses: DEFAULT_INVITE_USES,
        };
        assert_eq!(
            serde_json::to_string(&invite).unwrap(),
            r#"{"role":"editor","party":"Beta","expires_in_seconds":60}"#
        );
    }

    #[test]
    fn request_defaults_match_what_the_relay_assumes() {
        let invite: NewInvite = serde_json::from_str(r#"{"role":"viewer"}"#).unwrap();
        assert_eq!(invite.party, "");
        assert_eq!(invite.expires_in_seconds, 7 * 24 * 3600);
        assert_eq!(invite.uses, 1);
        let register: RegisterRequest = serde_json::from_str(r#"{"public_key":"ab"}"#).unwrap();
        assert_eq!(register.name, "");
        assert!(register.invite.is_none() && register.link.is_none());
    }

    #[test]
    fn roles_round_trip_by_their_stored_names() {
        for role in [Role::Owner, Role::Editor, Role::Viewer] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(
                serde_json::to_string(&role).unwrap(),
                format!("\"{}\"", role.as_str())
            );
        }
        assert!("admin".parse::<Role>().is_err());
    }
}
