//! This device's identity: its Ed25519 key, the secret its sealing keys
//! come from, and the relay registration (device id and bearer token), kept
//! in IndexedDB under the `identity` setting.
//!
//! # The signing key
//!
//! Where the browser has WebCrypto Ed25519, the key is a non-extractable
//! `CryptoKey` ([`DeviceKey::Browser`]): the IndexedDB record holds the key
//! object itself, `{signing_key: CryptoKey, details: "<JSON>"}`, and no
//! script, this app's included, can read its bytes (see
//! [`crate::device_key`]). Elsewhere (an older browser, or a page served
//! over plain http from another host, where `crypto.subtle` is missing)
//! the fallback keeps today's record: JSON text whose `secret_key` is the
//! key's 32 bytes in hex. Such a record moves to the key object as soon as
//! the browser can hold one.
//!
//! # The sealing secret
//!
//! Health-check answers and private board notes and ballots are sealed
//! with keys derived from a device secret
//! ([`AnswerKey::derive`], [`SealKey::derive`]), so the device finds the
//! same key again after a reload and publishes it at the reveal. A
//! non-extractable key cannot give its bytes for that, so the secret is
//! one of ([`SealingSecret`]):
//!
//! - **a new device**: SHA-256 of `"accord/device/sealing-secret/v1"` and
//!   the key's Ed25519 signature over that same label. Ed25519 signatures
//!   are deterministic, so every session derives the same 32 bytes; they
//!   live in memory only and are never stored. At creation the label is
//!   signed twice: a browser whose signatures differ (randomized signing)
//!   gets 32 random bytes instead, stored in the record, since a secret
//!   that changed per session could never open its own seals.
//! - **a device made before** (its record held the key's bytes): the seed
//!   is imported as a non-extractable key (same public key, so the
//!   device's registration, grants, attestations and sign-offs stay
//!   valid), and its bytes are dropped. What sealing needs of them is
//!   kept: the SHA-256 states after the first block of each derivation
//!   ([`HashPrefix`], see [`accord_shared::model::hash_prefix`]), which
//!   give exactly the keys the seed gave, so answers and ballots sealed
//!   before the move (rounds still open) open and reveal as before, and
//!   later ones are sealed the same way. The states cannot be turned back
//!   into the seed (that would invert SHA-256's compression function), so
//!   they cannot sign; they keep the seed's last 3 bytes in the clear,
//!   leaving 232 unknown bits.
//! - **the fallback**: the key's own bytes, as before.
//!
//! Residual risk, stated plainly: whoever can read this origin's IndexedDB
//! (a script injected into the page, a malicious extension, someone with
//! the profile's files) can derive this device's sealing keys, and so read
//! its sealed answers and ballots before the reveal, exactly as before this
//! change. A script running in the page can also ask the key to sign while
//! the page is open. What it can no longer do is carry the signing key
//! away: the key's bytes never reach JavaScript, so nothing lifted from the
//! page can sign as this device later or elsewhere. The bearer token is
//! still stored in the record (the relay's device credential); it never
//! goes into a URL (the sync socket opens with a single-use ticket).

use accord_shared::model::boards::SealKey;
use accord_shared::model::hash_prefix::HashPrefix;
use accord_shared::model::health::AnswerKey;
use accord_shared::model::{ItemId, MemberId};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasm_bindgen::{JsCast, JsValue};

use crate::api::{self, ApiError, DeviceRegistration};
use crate::browser::{self, BrowserError, hex, unhex};
use crate::device_key::{DeviceKey, KeyError};
use crate::storage::{Storage, StorageError};

const META_KEY: &str = "identity";
const PROFILE_KEY: &str = "profile";
/// Meta key of the organization name kept by earlier versions (read into the profile).
const ORGANIZATION_KEY: &str = "organization";

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

    /// Loads the stored profile (empty on first run), with the organization
    /// name earlier versions kept on its own when the profile has none.
    pub async fn load(storage: &Storage) -> Result<Self, IdentityError> {
        let mut profile: Self = match storage.get_meta(PROFILE_KEY).await? {
            Some(json) => {
                serde_json::from_str(&json).map_err(|e| IdentityError::Malformed(e.to_string()))?
            }
            None => Self::default(),
        };
        if profile.organization.is_empty()
            && let Some(organization) = storage.get_meta(ORGANIZATION_KEY).await?
        {
            profile.organization = organization;
        }
        Ok(profile)
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
    /// The device key could not be made or used.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The record of the fallback (and of every device before the signing
/// key became non-extractable): JSON text with the key's bytes.
#[derive(Serialize, Deserialize)]
struct Stored {
    secret_key: String,
    name: String,
    registration: Option<DeviceRegistration>,
    /// Public keys of the other devices of this person's account.
    #[serde(default)]
    account_keys: Vec<String>,
}

/// The record's `details` beside a non-extractable key object.
#[derive(Serialize, Deserialize)]
struct Details {
    /// The key's public key (hex): the key object does not give it.
    public_key: String,
    name: String,
    registration: Option<DeviceRegistration>,
    #[serde(default)]
    account_keys: Vec<String>,
    sealing: StoredSealing,
}

/// Where the sealing secret comes from, as recorded.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StoredSealing {
    /// Derived from the key's signature each session; nothing stored.
    Signature,
    /// Random bytes (hex), for a browser whose signatures are randomized.
    Seed(String),
    /// The prefixes of the old derivations from a seed since dropped.
    Prefixes { answer: String, seal: String },
}

/// The record fields holding the key object and the details.
const SIGNING_KEY_FIELD: &str = "signing_key";
const DETAILS_FIELD: &str = "details";
/// What the key signs to derive a new device's sealing secret.
const SEALING_LABEL: &[u8] = b"accord/device/sealing-secret/v1";

/// The secret this device's sealing keys are derived from (see the module
/// docs).
#[derive(Clone)]
pub enum SealingSecret {
    /// 32 bytes given to the derivations as the secret.
    Seed([u8; 32]),
    /// The derivations' states after the first block of a dropped seed.
    Prefixes {
        /// For health-check answer keys.
        answer: HashPrefix,
        /// For board seal keys.
        seal: HashPrefix,
    },
}

impl SealingSecret {
    /// The prefixes of both derivations from `seed`.
    fn prefixes_of(seed: &[u8; 32]) -> Result<Self, IdentityError> {
        let missing = || IdentityError::Malformed("no sealing prefix for a 32-byte seed".into());
        Ok(Self::Prefixes {
            answer: AnswerKey::prefix(seed).ok_or_else(missing)?,
            seal: SealKey::prefix(seed).ok_or_else(missing)?,
        })
    }

    /// The secret derived from the key's signature over [`SEALING_LABEL`].
    async fn from_signature(key: &DeviceKey) -> Result<[u8; 32], KeyError> {
        Ok(seed_from_signature(&key.sign(SEALING_LABEL).await?))
    }

    /// The key sealing the health-check answer of `member` in `round`.
    pub fn answer_key(&self, round: ItemId, member: MemberId) -> AnswerKey {
        match self {
            Self::Seed(seed) => AnswerKey::derive(seed, round, member),
            Self::Prefixes { answer, .. } => AnswerKey::derive_from_prefix(answer, round, member),
        }
    }

    /// The key sealing `member`'s note or ballot `item` on `board`.
    pub fn seal_key(&self, board: ItemId, item: ItemId, member: MemberId) -> SealKey {
        match self {
            Self::Seed(seed) => SealKey::derive(seed, board, item, member),
            Self::Prefixes { seal, .. } => SealKey::derive_from_prefix(seal, board, item, member),
        }
    }

    fn to_stored(&self, derived: bool) -> StoredSealing {
        match self {
            Self::Seed(_) if derived => StoredSealing::Signature,
            Self::Seed(seed) => StoredSealing::Seed(hex(seed)),
            Self::Prefixes { answer, seal } => StoredSealing::Prefixes {
                answer: answer.to_text(),
                seal: seal.to_text(),
            },
        }
    }
}

fn seed_from_signature(signature: &Signature) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(SEALING_LABEL);
    hash.update(signature.to_bytes());
    hash.finalize().into()
}

/// The device key and, once registered, the relay's credentials for it.
#[derive(Clone)]
pub struct Identity {
    key: DeviceKey,
    sealing: SealingSecret,
    /// Whether [`Self::sealing`] is derived from the key's signature (and
    /// so not stored).
    sealing_derived: bool,
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
    /// Loads the stored identity, or makes and stores a new key on first
    /// run; moves a record holding the key's bytes to a non-extractable key
    /// where the browser can hold one (see the module docs).
    pub async fn load_or_create(storage: &Storage) -> Result<Self, IdentityError> {
        match storage.get_meta_value(META_KEY).await? {
            Some(value) => match value.as_string() {
                Some(json) => Self::from_bytes_record(storage, &json).await,
                None => Self::from_key_record(&value).await,
            },
            None => Self::create(storage).await,
        }
    }

    /// A new device: a non-extractable key, or the fallback's bytes.
    async fn create(storage: &Storage) -> Result<Self, IdentityError> {
        let (key, sealing, sealing_derived) = match DeviceKey::generate().await {
            Ok(key) => {
                let first = key.sign(SEALING_LABEL).await?;
                let again = key.sign(SEALING_LABEL).await?;
                if first == again {
                    (key, SealingSecret::Seed(seed_from_signature(&first)), true)
                } else {
                    let mut seed = [0u8; 32];
                    browser::random_bytes(&mut seed)?;
                    (key, SealingSecret::Seed(seed), false)
                }
            }
            Err(KeyError::Unsupported(why)) => {
                browser::log(&format!(
                    "accord: keeping the device key in app storage: {why}"
                ));
                let mut secret = [0u8; 32];
                browser::random_bytes(&mut secret)?;
                (
                    DeviceKey::Raw(SigningKey::from_bytes(&secret)),
                    SealingSecret::Seed(secret),
                    false,
                )
            }
            Err(other) => return Err(other.into()),
        };
        let identity = Self {
            key,
            sealing,
            sealing_derived,
            name: default_device_name(),
            registration: None,
            account_keys: Vec::new(),
        };
        identity.save(storage).await?;
        Ok(identity)
    }

    /// A record holding the key's bytes: moved to a non-extractable key
    /// (and stored so, the bytes gone) where the browser can hold one, else
    /// used as it is.
    async fn from_bytes_record(storage: &Storage, json: &str) -> Result<Self, IdentityError> {
        let stored: Stored =
            serde_json::from_str(json).map_err(|e| IdentityError::Malformed(e.to_string()))?;
        let seed = unhex::<32>(&stored.secret_key).ok_or_else(|| {
            IdentityError::Malformed("secret key is not 64 hex characters".into())
        })?;
        let (key, sealing) = match DeviceKey::import(&seed).await {
            Ok(key) => (key, SealingSecret::prefixes_of(&seed)?),
            Err(KeyError::Unsupported(_)) => (
                DeviceKey::Raw(SigningKey::from_bytes(&seed)),
                SealingSecret::Seed(seed),
            ),
            Err(other) => return Err(other.into()),
        };
        let moved = matches!(key, DeviceKey::Browser { .. });
        let identity = Self {
            key,
            sealing,
            sealing_derived: false,
            name: stored.name,
            registration: stored.registration,
            account_keys: stored.account_keys,
        };
        if moved {
            identity.save(storage).await?;
        }
        Ok(identity)
    }

    /// A record holding a key object and its details.
    async fn from_key_record(value: &JsValue) -> Result<Self, IdentityError> {
        let field = |name: &str| {
            js_sys::Reflect::get(value, &JsValue::from_str(name))
                .map_err(|e| IdentityError::Malformed(browser::describe(&e)))
        };
        let private: web_sys::CryptoKey = field(SIGNING_KEY_FIELD)?
            .dyn_into()
            .map_err(|_| IdentityError::Malformed("the signing key is not a key object".into()))?;
        let details = field(DETAILS_FIELD)?
            .as_string()
            .ok_or_else(|| IdentityError::Malformed("the identity details are not text".into()))?;
        let details: Details =
            serde_json::from_str(&details).map_err(|e| IdentityError::Malformed(e.to_string()))?;
        let public = unhex::<32>(&details.public_key)
            .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
            .ok_or_else(|| IdentityError::Malformed("the public key is not a key".into()))?;
        let key = DeviceKey::stored(private, public);
        let (sealing, sealing_derived) = match &details.sealing {
            StoredSealing::Signature => (
                SealingSecret::Seed(SealingSecret::from_signature(&key).await?),
                true,
            ),
            StoredSealing::Seed(text) => (
                SealingSecret::Seed(unhex::<32>(text).ok_or_else(|| {
                    IdentityError::Malformed("the sealing seed is not 64 hex characters".into())
                })?),
                false,
            ),
            StoredSealing::Prefixes { answer, seal } => {
                let read = |text: &str| {
                    HashPrefix::from_text(text).map_err(|e| IdentityError::Malformed(e.to_string()))
                };
                (
                    SealingSecret::Prefixes {
                        answer: read(answer)?,
                        seal: read(seal)?,
                    },
                    false,
                )
            }
        };
        Ok(Self {
            key,
            sealing,
            sealing_derived,
            name: details.name,
            registration: details.registration,
            account_keys: details.account_keys,
        })
    }

    async fn save(&self, storage: &Storage) -> Result<(), IdentityError> {
        let malformed = |e: serde_json::Error| IdentityError::Malformed(e.to_string());
        match &self.key {
            DeviceKey::Raw(key) => {
                let stored = Stored {
                    secret_key: hex(key.as_bytes()),
                    name: self.name.clone(),
                    registration: self.registration.clone(),
                    account_keys: self.account_keys.clone(),
                };
                let json = serde_json::to_string(&stored).map_err(malformed)?;
                storage.put_meta(META_KEY, &json).await?;
            }
            DeviceKey::Browser { private, public } => {
                let details = Details {
                    public_key: hex(public.as_bytes()),
                    name: self.name.clone(),
                    registration: self.registration.clone(),
                    account_keys: self.account_keys.clone(),
                    sealing: self.sealing.to_stored(self.sealing_derived),
                };
                let json = serde_json::to_string(&details).map_err(malformed)?;
                let record = js_sys::Object::new();
                for (name, value) in [
                    (SIGNING_KEY_FIELD, JsValue::from(private.clone())),
                    (DETAILS_FIELD, JsValue::from_str(&json)),
                ] {
                    js_sys::Reflect::set(&record, &JsValue::from_str(name), &value)
                        .map_err(|e| IdentityError::Malformed(browser::describe(&e)))?;
                }
                storage.put_meta_value(META_KEY, &record).await?;
            }
        }
        Ok(())
    }

    /// The public key as 64 lowercase hex characters.
    pub fn public_key_hex(&self) -> String {
        hex(self.key.verifying_key().as_bytes())
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
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

    /// The device's signing key (sign-offs and attestations are made with
    /// it; signing is asynchronous, see [`DeviceKey::sign`]).
    pub fn device_key(&self) -> &DeviceKey {
        &self.key
    }

    /// The key sealing this device's health-check answer for `member` in
    /// `round`, derived from the device's sealing secret so nothing needs to
    /// be stored and the key can be published at the reveal (see
    /// [`accord_shared::model::health`] and the module docs).
    pub fn health_answer_key(&self, round: ItemId, member: MemberId) -> AnswerKey {
        self.sealing.answer_key(round, member)
    }

    /// The key sealing this member's private note or ballot `item` on
    /// `board`, derived from the device's sealing secret.
    pub fn seal_key(&self, board: ItemId, item: ItemId, member: MemberId) -> SealKey {
        self.sealing.seal_key(board, item, member)
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
