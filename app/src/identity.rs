//! This device's identity: an Ed25519 key made from the browser's random source,
//! kept in IndexedDB, and the relay registration (device id and bearer token).

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::api::{self, ApiError, DeviceRegistration};
use crate::browser::{self, BrowserError, hex, unhex};
use crate::storage::{Storage, StorageError};

const META_KEY: &str = "identity";
const PROFILE_KEY: &str = "profile";

/// The person using this device, as shown to partners: asked on first run and
/// written into each partnership as a member of their organization's party.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Their name.
    pub name: String,
    /// Their organization (the party they belong to).
    pub organization: String,
    /// Their job title.
    pub title: String,
}

impl Profile {
    /// True once the user has given at least a name and an organization.
    pub fn is_complete(&self) -> bool {
        !self.name.trim().is_empty() && !self.organization.trim().is_empty()
    }

    /// The name to record, with a placeholder while the profile is incomplete.
    pub fn display_name(&self) -> String {
        non_blank(&self.name, "Unnamed member")
    }

    /// The organization to record, with a placeholder while incomplete.
    pub fn party_name(&self) -> String {
        non_blank(&self.organization, "My organization")
    }

    /// Loads the stored profile (empty on first run).
    pub async fn load(storage: &Storage) -> Result<Self, IdentityError> {
        match storage.get_meta(PROFILE_KEY).await? {
            Some(json) => {
                serde_json::from_str(&json).map_err(|e| IdentityError::Malformed(e.to_string()))
            }
            None => Ok(Self::default()),
        }
    }

    /// Stores the profile.
    pub async fn save(&self, storage: &Storage) -> Result<(), IdentityError> {
        let json =
            serde_json::to_string(self).map_err(|e| IdentityError::Malformed(e.to_string()))?;
        storage.put_meta(PROFILE_KEY, &json).await?;
        Ok(())
    }
}

fn non_blank(text: &str, fallback: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        fallback.to_owned()
    } else {
        text.to_owned()
    }
}

/// Why the identity could not be loaded, created or registered.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IdentityError {
    /// Reading or writing IndexedDB failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The browser could not supply randomness.
    #[error("cannot make a device key: {0}")]
    Random(#[from] BrowserError),
    /// The stored identity is unreadable.
    #[error("stored identity is malformed: {0}")]
    Malformed(String),
    /// Registration with the relay failed.
    #[error(transparent)]
    Api(#[from] ApiError),
}

#[derive(Serialize, Deserialize)]
struct Stored {
    secret_key: String,
    name: String,
    registration: Option<DeviceRegistration>,
    /// Public keys of the other devices of this person's account.
    #[serde(default)]
    account_keys: Vec<String>,
}

/// The device key and, once registered, the relay's credentials for it.
#[derive(Clone)]
pub struct Identity {
    key: SigningKey,
    name: String,
    registration: Option<DeviceRegistration>,
    /// Public keys (hex) of the other devices of this person's account, as
    /// the relay last listed them: how a linked device finds the member it
    /// is in a partnership before its own key is attested there.
    account_keys: Vec<String>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("public_key", &self.public_key_hex())
            .field("name", &self.name)
            .field(
                "device_id",
                &self.registration.as_ref().map(|r| &r.device_id),
            )
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Loads the stored identity, or makes and stores a new key on first run.
    pub async fn load_or_create(storage: &Storage) -> Result<Self, IdentityError> {
        if let Some(json) = storage.get_meta(META_KEY).await? {
            let stored: Stored =
                serde_json::from_str(&json).map_err(|e| IdentityError::Malformed(e.to_string()))?;
            let bytes = unhex::<32>(&stored.secret_key).ok_or_else(|| {
                IdentityError::Malformed("secret key is not 64 hex characters".into())
            })?;
            return Ok(Self {
                key: SigningKey::from_bytes(&bytes),
                name: stored.name,
                registration: stored.registration,
                account_keys: stored.account_keys,
            });
        }
        let mut secret = [0u8; 32];
        browser::random_bytes(&mut secret)?;
        let identity = Self {
            key: SigningKey::from_bytes(&secret),
            name: default_device_name(),
            registration: None,
            account_keys: Vec::new(),
        };
        identity.save(storage).await?;
        Ok(identity)
    }

    async fn save(&self, storage: &Storage) -> Result<(), IdentityError> {
        let stored = Stored {
            secret_key: hex(self.key.as_bytes()),
            name: self.name.clone(),
            registration: self.registration.clone(),
            account_keys: self.account_keys.clone(),
        };
        let json =
            serde_json::to_string(&stored).map_err(|e| IdentityError::Malformed(e.to_string()))?;
        storage.put_meta(META_KEY, &json).await?;
        Ok(())
    }

    /// The public key as 64 lowercase hex characters.
    pub fn public_key_hex(&self) -> String {
        hex(self.key.verifying_key().as_bytes())
    }

    /// The Automerge actor for this page session: the first 16 bytes of the
    /// device's public key followed by `session` (random per page load), so two
    /// tabs of one profile never reuse an actor and sequence number, while the
    /// device stays recognizable in the actor.
    pub fn session_actor(&self, session: &[u8; 8]) -> accord_shared::automerge::ActorId {
        let mut bytes = self.key.verifying_key().as_bytes()[..16].to_vec();
        bytes.extend_from_slice(session);
        accord_shared::automerge::ActorId::from(bytes)
    }

    /// The device's signing key (sign-offs are made with it).
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The key sealing this device's health-check answer for `member` in
    /// `round`, derived from the device's secret key so nothing needs to be
    /// stored and the key can be published at the reveal (see
    /// [`accord_shared::model::health`]).
    pub fn health_answer_key(
        &self,
        round: accord_shared::model::ItemId,
        member: accord_shared::model::MemberId,
    ) -> accord_shared::model::health::AnswerKey {
        accord_shared::model::health::AnswerKey::derive(self.key.as_bytes(), round, member)
    }

    /// The relay credentials, if registered.
    pub fn registration(&self) -> Option<&DeviceRegistration> {
        self.registration.as_ref()
    }

    /// Registers with the relay at `origin` unless already registered; stores the token.
    pub async fn ensure_registered(
        &mut self,
        storage: &Storage,
        origin: &str,
    ) -> Result<DeviceRegistration, IdentityError> {
        if let Some(registration) = &self.registration {
            return Ok(registration.clone());
        }
        let registration = api::register_device(origin, &self.public_key_hex(), &self.name).await?;
        self.registration = Some(registration.clone());
        self.save(storage).await?;
        Ok(registration)
    }

    /// Registers as another device of the account that showed `code` (see
    /// `POST /api/devices` with `link`), named `name` (blank: as before),
    /// replacing any registration of its own this device had; keeps the new
    /// token and the linking device's key. Returns what the relay says
    /// about the account.
    pub async fn link(
        &mut self,
        storage: &Storage,
        origin: &str,
        code: &str,
        name: &str,
    ) -> Result<api::Linked, IdentityError> {
        let name = non_blank(name, &self.name);
        let (registration, linked) =
            api::register_linked(origin, &self.public_key_hex(), &name, code).await?;
        self.name = name;
        self.registration = Some(registration);
        self.account_keys = vec![linked.linked_by_key.to_ascii_lowercase()];
        self.save(storage).await?;
        Ok(linked)
    }

    /// The device's label (shown in "My devices").
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public keys (hex) of this account's other devices, last known.
    pub fn account_keys(&self) -> &[String] {
        &self.account_keys
    }

    /// Remembers the public keys of this account's other devices.
    pub async fn set_account_keys(
        &mut self,
        storage: &Storage,
        keys: Vec<String>,
    ) -> Result<(), IdentityError> {
        if keys == self.account_keys {
            return Ok(());
        }
        self.account_keys = keys;
        self.save(storage).await
    }

    /// Forgets the registration (the relay no longer accepts the token).
    pub async fn forget_registration(&mut self, storage: &Storage) -> Result<(), IdentityError> {
        self.registration = None;
        self.save(storage).await
    }
}

fn default_device_name() -> String {
    let agent = web_sys::window()
        .and_then(|w| w.navigator().user_agent().ok())
        .unwrap_or_default();
    let browser = ["Firefox", "Edg", "Chrome", "Safari"]
        .into_iter()
        .find(|b| agent.contains(b))
        .unwrap_or("browser");
    let browser = if browser == "Edg" { "Edge" } else { browser };
    format!("Accord web ({browser})")
}
