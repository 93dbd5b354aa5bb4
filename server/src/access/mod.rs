//! Who may do what: devices and their bearer tokens, grants of documents to
//! devices (role and party), invites, and revocation.
//!
//! Everything is kept in memory for per-message checks and written through to
//! an [`AccessStore`]. Tokens and invite codes are stored only as SHA-256
//! hashes and compared in constant time.

pub mod accounts;
pub mod links;
mod rate;
pub(crate) mod secret;
pub mod tickets;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use accord_shared::engine::Access;
use accord_shared::ids::DocumentId;
use serde::Deserialize;

pub use crate::storage::records::{Device, Grant, Invite, Role, UnknownRole};
use crate::storage::{AccessSnapshot, AccessStore, StorageError};
pub use accord_shared::http::{AccountDevice, AttestedKey, MemberDevice};
pub use accounts::LinkedDevice;
pub use links::LinkRefusal;
pub use rate::RateLimiter;

/// Whether anyone may register or only invitees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Registration {
    /// Any device may register.
    #[default]
    Open,
    /// Registration needs a valid invite code, which it redeems.
    Invite,
}

/// Why an access operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The bearer token is unknown.
    #[error("unknown token")]
    BadToken,
    /// Registration is invite-only and no valid invite was given.
    #[error("registration on this relay requires an invite code")]
    InviteRequired,
    /// The public key is not 32 bytes of hex encoding a valid Ed25519 point.
    #[error("public_key must be an Ed25519 public key as 64 hex characters")]
    BadPublicKey,
    /// The caller is not an owner of the document.
    #[error("only an owner of this document may do that")]
    NotOwner,
    /// No invite has this code.
    #[error("this invite code is not valid")]
    InviteNotFound,
    /// The invite expired.
    #[error("this invite has expired; ask the partner for a new one")]
    InviteExpired,
    /// The invite has no uses left.
    #[error("this invite has already been used; ask the partner for a new one")]
    InviteUsedUp,
    /// Too many redemption attempts.
    #[error("too many attempts; wait a minute and try again")]
    RateLimited,
    /// The document already has grants.
    #[error("this document already belongs to someone")]
    AlreadyOwned,
    /// Nothing to revoke.
    #[error("that device has no grant for this document")]
    NoSuchGrant,
    /// Nothing to lift.
    #[error("that device's access to this document was not revoked")]
    NotRevoked,
    /// An owner revoked this device's access to the document.
    #[error("an owner revoked this device's access to that document; ask them to lift it")]
    Revoked,
    /// A device may only sign itself out.
    #[error("a device can only sign itself out")]
    NotYourDevice,
    /// The caller holds no grant on the document.
    #[error("this device has no access to that document")]
    NoAccess,
    /// A device link code cannot be used.
    #[error(transparent)]
    Link(#[from] LinkRefusal),
    /// A request field is invalid.
    #[error("{0}")]
    Invalid(String),
    /// Storage failed; nothing changed.
    #[error("storage error: {0}")]
    Storage(#[from] StorageError),
}

#[derive(Default)]
struct State {
    devices: HashMap<String, Device>,
    device_by_token: HashMap<[u8; 32], String>,
    grants: HashMap<DocumentId, HashMap<String, Grant>>,
    invites: HashMap<[u8; 32], Invite>,
    /// Every document ever claimed, granted or not.
    claimed: HashSet<DocumentId>,
    /// (document, device) pairs whose grant an owner revoked.
    revoked: HashSet<(DocumentId, String)>,
    /// Outstanding device link codes.
    links: links::Links,
}

impl State {
    /// The grants on a document, oldest first.
    fn grants_by_age(&self, document: &DocumentId) -> Vec<&Grant> {
        let mut grants: Vec<&Grant> = self
            .grants
            .get(document)
            .map(|g| g.values().collect())
            .unwrap_or_default();
        grants.sort_by_key(|g| g.created_at);
        grants
    }
}

impl From<AccessSnapshot> for State {
    fn from(snapshot: AccessSnapshot) -> Self {
        let mut state = State::default();
        for device in snapshot.devices {
            state
                .device_by_token
                .insert(device.token_hash, device.id.clone());
            state.devices.insert(device.id.clone(), device);
        }
        for grant in snapshot.grants {
            state.claimed.insert(grant.document);
            state
                .grants
                .entry(grant.document)
                .or_default()
                .insert(grant.device.clone(), grant);
        }
        for invite in snapshot.invites {
            state.invites.insert(invite.code_hash, invite);
        }
        state.claimed.extend(snapshot.claimed);
        state.revoked.extend(snapshot.revocations);
        state
    }
}

/// What other relay nodes changed in a shared store since the last read
/// (see [`AccessControl::refresh`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AccessChanges {
    /// (device, document) grants that are gone.
    pub revoked: Vec<(String, DocumentId)>,
    /// Devices whose token changed (signed out elsewhere).
    pub signed_out: Vec<String>,
}

/// A grant check's answer for one device and document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentAccess {
    /// The device holds this grant.
    Granted(Grant),
    /// Nobody ever claimed it: the first to publish becomes owner.
    Unclaimed,
    /// It was claimed and this device holds no grant (even if nobody does now).
    Denied,
}

/// The access rules, in memory, written through to storage.
///
/// Reads (every message's access check) take a read lock that writers hold
/// only to apply a change already on disk: a mutation validates, writes to
/// storage (which may fsync) holding only `serial`, then applies itself
/// under the write lock.
pub struct AccessControl {
    store: Arc<dyn AccessStore>,
    state: RwLock<State>,
    /// Serializes mutations so validation, storage write and apply are
    /// atomic with respect to each other, without blocking readers.
    serial: Mutex<()>,
    registration: Registration,
    redeem_limiter: Mutex<RateLimiter>,
    address_limiter: Mutex<RateLimiter>,
    /// Single-use tickets for opening `/sync` without a token in the URL.
    tickets: Mutex<tickets::Tickets>,
    /// Link codes created per account (see [`links`]).
    link_limiter: Mutex<RateLimiter>,
    /// When each device last used its token, exact (storage lags by up to
    /// [`accounts::LAST_SEEN_PRECISION_MS`]).
    last_seen: Mutex<HashMap<String, u64>>,
}

/// Longest accepted device name or party.
const MAX_LABEL: usize = 200;

/// Longest accepted bearer token or invite code (ours are 43 and 32 characters).
const MAX_SECRET: usize = 128;

/// Wrong invite codes (registration or redemption) allowed per client address a minute.
pub const ATTEMPTS_PER_ADDRESS_PER_MINUTE: u32 = 10;

/// How much a role may do, for keeping the stronger of two grants.
fn rank(role: Role) -> u8 {
    match role {
        Role::Owner => 3,
        Role::Editor => 2,
        Role::Viewer => 1,
    }
}

impl AccessControl {
    /// Loads everything from `store`.
    pub fn load(
        store: Arc<dyn AccessStore>,
        registration: Registration,
    ) -> Result<Self, AccessError> {
        let state = State::from(store.load_access()?);
        Ok(Self {
            store,
            state: RwLock::new(state),
            serial: Mutex::new(()),
            registration,
            redeem_limiter: Mutex::new(RateLimiter::new(10, 60_000)),
            address_limiter: Mutex::new(RateLimiter::new(ATTEMPTS_PER_ADDRESS_PER_MINUTE, 60_000)),
            tickets: Mutex::new(tickets::Tickets::default()),
            link_limiter: Mutex::new(RateLimiter::new(
                links::LINKS_PER_ACCOUNT,
                links::LINK_WINDOW_MS,
            )),
            last_seen: Mutex::new(HashMap::new()),
        })
    }

    /// Reads every access record from storage again and replaces the
    /// cache with it: other relay nodes sharing the store (PostgreSQL)
    /// register devices, grant, revoke and redeem there. Returns what
    /// disappeared, so the caller can stop the sync it allowed.
    pub fn refresh(&self) -> Result<AccessChanges, AccessError> {
        let _serial = self.serial();
        let fresh = State::from(self.store.load_access()?);
        let mut state = self.write();
        let mut changes = AccessChanges::default();
        for (document, grants) in &state.grants {
            for device in grants.keys() {
                if !fresh
                    .grants
                    .get(document)
                    .is_some_and(|g| g.contains_key(device))
                {
                    changes.revoked.push((device.clone(), *document));
                }
            }
        }
        for (id, device) in &state.devices {
            if fresh
                .devices
                .get(id)
                .is_some_and(|d| d.token_hash != device.token_hash)
            {
                changes.signed_out.push(id.clone());
            }
        }
        // Link codes live only in this node's memory: keep them.
        let links = std::mem::take(&mut state.links);
        *state = fresh;
        state.links = links;
        Ok(changes)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn serial(&self) -> std::sync::MutexGuard<'_, ()> {
        self.serial
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a client address made too many wrong invite attempts this minute.
    pub fn address_limited(&self, address: &str, now: u64) -> bool {
        self.address_limiter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_limited(address, now)
    }

    /// Counts a wrong invite code against a client address.
    pub fn record_address_miss(&self, address: &str, now: u64) {
        let _ = self
            .address_limiter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .allow(address, now);
    }

    /// Whether registration needs an invite.
    pub fn registration(&self) -> Registration {
        self.registration
    }

    /// Registers a device; returns it and its bearer token (shown once, stored hashed).
    pub fn register(
        &self,
        public_key_hex: &str,
        name: &str,
        invite: Option<&str>,
        now: u64,
    ) -> Result<(Device, String), AccessError> {
        let public_key = parse_public_key(public_key_hex)?;
        let name = label(name, "name")?;
        if self.registration == Registration::Invite {
            let code = invite.ok_or(AccessError::InviteRequired)?;
            self.check_invite(code, now)?;
        }
        let token = secret::generate(32);
        let id = format!("dev_{}", secret::random_hex(8));
        let device = Device {
            account: id.clone(),
            id,
            public_key,
            name,
            token_hash: secret::hash(&token),
            created_at: now,
            last_seen: now,
            revoked_at: 0,
        };
        {
            let _serial = self.serial();
            self.store.put_device(&device)?;
            let mut state = self.write();
            state
                .device_by_token
                .insert(device.token_hash, device.id.clone());
            state.devices.insert(device.id.clone(), device.clone());
        }
        if let Some(code) = invite {
            self.redeem(&device.id, code, now)?;
        }
        Ok((device, token))
    }

    /// The device a bearer token belongs to.
    pub fn authenticate(&self, token: &str) -> Result<String, AccessError> {
        if token.len() > MAX_SECRET {
            return Err(AccessError::BadToken);
        }
        let hash = secret::hash(token);
        let state = self.read();
        let id = state
            .device_by_token
            .get(&hash)
            .ok_or(AccessError::BadToken)?;
        let device = state.devices.get(id).ok_or(AccessError::BadToken)?;
        if secret::same(&device.token_hash, &hash) {
            Ok(id.clone())
        } else {
            Err(AccessError::BadToken)
        }
    }

    /// A single-use ticket for `device` to open `/sync` with (see
    /// [`tickets`]), valid for [`tickets::TICKET_TTL_MS`].
    pub fn issue_sync_ticket(&self, device: &str, now: u64) -> Result<String, AccessError> {
        let token_hash = self
            .read()
            .devices
            .get(device)
            .map(|d| d.token_hash)
            .ok_or(AccessError::BadToken)?;
        if self.store.keeps_sync_tickets() {
            // A shared store: whichever relay node the socket reaches
            // redeems it.
            let text = secret::generate(32);
            self.store.put_sync_ticket(
                &crate::storage::SyncTicket {
                    ticket_hash: secret::hash(&text),
                    device: device.to_owned(),
                    token_hash,
                    issued_at: now,
                },
                now.saturating_sub(tickets::TICKET_TTL_MS),
                tickets::TICKETS_PER_DEVICE,
            )?;
            return Ok(text);
        }
        Ok(self
            .tickets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .issue(device, token_hash, now))
    }

    /// Spends a sync ticket: the device it speaks for, if it is fresh,
    /// unused, and its device still holds the token it was issued under.
    pub fn redeem_sync_ticket(&self, ticket: &str, now: u64) -> Result<String, AccessError> {
        if ticket.len() > MAX_SECRET {
            return Err(AccessError::BadToken);
        }
        let (device, token_hash) = if self.store.keeps_sync_tickets() {
            self.store
                .take_sync_ticket(&secret::hash(ticket))?
                .filter(|t| now.saturating_sub(t.issued_at) < tickets::TICKET_TTL_MS)
                .map(|t| (t.device, t.token_hash))
        } else {
            self.tickets
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .redeem(ticket, now)
        }
        .ok_or(AccessError::BadToken)?;
        let current = self.read().devices.get(&device).map(|d| d.token_hash);
        match current {
            Some(hash) if secret::same(&hash, &token_hash) => Ok(device),
            _ => Err(AccessError::BadToken),
        }
    }

    /// Signs `device` out: its token stops working at once and for good. Its
    /// grants and public key stay (so sign-offs it made still verify); only
    /// the device itself may do this.
    pub fn sign_out(&self, device: &str, requester: &str) -> Result<(), AccessError> {
        if device != requester {
            return Err(AccessError::NotYourDevice);
        }
        let _serial = self.serial();
        let Some(mut updated) = self.read().devices.get(device).cloned() else {
            return Err(AccessError::BadToken);
        };
        let old_hash = updated.token_hash;
        // A hash of a secret nobody holds: no token matches it any more.
        updated.token_hash = secret::hash(&secret::generate(32));
        self.store.put_device(&updated)?;
        let mut state = self.write();
        state.device_by_token.remove(&old_hash);
        state.devices.insert(updated.id.clone(), updated);
        Ok(())
    }

    /// A registered device.
    pub fn device(&self, id: &str) -> Option<Device> {
        self.read().devices.get(id).cloned()
    }

    /// What `device` may do with `document`.
    pub fn check(&self, device: &str, document: &DocumentId) -> DocumentAccess {
        let state = self.read();
        if let Some(grant) = state.grants.get(document).and_then(|g| g.get(device)) {
            return DocumentAccess::Granted(grant.clone());
        }
        if state.claimed.contains(document)
            || state.grants.get(document).is_some_and(|g| !g.is_empty())
        {
            DocumentAccess::Denied
        } else {
            DocumentAccess::Unclaimed
        }
    }

    /// What the sync engine may let `device` do with `document` right now;
    /// `None` without a grant.
    pub fn sync_access(&self, device: &str, document: &DocumentId) -> Option<Access> {
        self.read()
            .grants
            .get(document)
            .and_then(|g| g.get(device))
            .map(|g| g.role.sync_access())
    }

    /// Makes `device` (and the other devices of its account) the owner of a
    /// document nobody ever claimed.
    pub fn claim(
        &self,
        document: DocumentId,
        device: &str,
        party: &str,
        now: u64,
    ) -> Result<Grant, AccessError> {
        let party = label(party, "party")?;
        let _serial = self.serial();
        match self.check(device, &document) {
            DocumentAccess::Granted(existing) if existing.role == Role::Owner => {
                return Ok(existing);
            }
            DocumentAccess::Unclaimed => {}
            DocumentAccess::Granted(_) | DocumentAccess::Denied => {
                return Err(AccessError::AlreadyOwned);
            }
        }
        let grant = Grant {
            document,
            device: device.to_owned(),
            role: Role::Owner,
            party,
            created_at: now,
        };
        let grants = self.with_account(&grant);
        if let Err(error) = self.store.claim(&grants) {
            if let StorageError::Conflict(_) = error {
                // Another relay node claimed it first.
                self.write().claimed.insert(document);
                return Err(AccessError::AlreadyOwned);
            }
            return Err(error.into());
        }
        let mut state = self.write();
        state.claimed.insert(document);
        let on_document = state.grants.entry(document).or_default();
        for each in grants {
            on_document.insert(each.device.clone(), each);
        }
        Ok(grant)
    }

    /// `grant` and the same grant for each other device of its device's
    /// account that is not revoked, holds no grant at least as strong on
    /// that document, and was not revoked from it by an owner: what one
    /// device of a person gains, all of them gain.
    fn with_account(&self, grant: &Grant) -> Vec<Grant> {
        let state = self.read();
        let Some(account) = state.devices.get(&grant.device).map(|d| d.account.clone()) else {
            return vec![grant.clone()];
        };
        let mut siblings: Vec<&Device> = state
            .devices
            .values()
            .filter(|d| d.account == account && d.id != grant.device && d.revoked_at == 0)
            .filter(|d| !state.revoked.contains(&(grant.document, d.id.clone())))
            .filter(|d| {
                state
                    .grants
                    .get(&grant.document)
                    .and_then(|g| g.get(&d.id))
                    .is_none_or(|held| rank(held.role) < rank(grant.role))
            })
            .collect();
        siblings.sort_by(|a, b| a.id.cmp(&b.id));
        let mut all = vec![grant.clone()];
        all.extend(siblings.into_iter().map(|d| Grant {
            device: d.id.clone(),
            ..grant.clone()
        }));
        all
    }

    /// Every grant `device` holds.
    pub fn grants_of(&self, device: &str) -> Vec<Grant> {
        let state = self.read();
        let mut grants: Vec<Grant> = state
            .grants
            .values()
            .filter_map(|g| g.get(device).cloned())
            .collect();
        grants.sort_by_key(|g| g.created_at);
        grants
    }

    fn require_owner(&self, document: &DocumentId, device: &str) -> Result<(), AccessError> {
        self.read_as_owner(document, device).map(drop)
    }

    /// The state, once `device` is confirmed an owner of `document` under
    /// the same read lock (so the answer cannot change in between).
    fn read_as_owner(
        &self,
        document: &DocumentId,
        device: &str,
    ) -> Result<std::sync::RwLockReadGuard<'_, State>, AccessError> {
        let state = self.read();
        match state.grants.get(document).and_then(|g| g.get(device)) {
            Some(grant) if grant.role == Role::Owner => Ok(state),
            _ => Err(AccessError::NotOwner),
        }
    }

    /// Every grant on a document, for its owners.
    pub fn grants_on(
        &self,
        document: &DocumentId,
        requester: &str,
    ) -> Result<Vec<Grant>, AccessError> {
        Ok(self
            .read_as_owner(document, requester)?
            .grants_by_age(document)
            .into_iter()
            .cloned()
            .collect())
    }

    /// The devices of a document, granted or revoked, for its owners.
    pub fn devices_on(
        &self,
        document: &DocumentId,
        requester: &str,
    ) -> Result<Vec<MemberDevice>, AccessError> {
        let state = self.read_as_owner(document, requester)?;
        let name = |id: &str| {
            state
                .devices
                .get(id)
                .map(|d| d.name.clone())
                .unwrap_or_default()
        };
        let mut out: Vec<MemberDevice> = state
            .grants_by_age(document)
            .into_iter()
            .map(|g| MemberDevice {
                device_id: g.device.clone(),
                name: name(&g.device),
                role: Some(g.role),
                party: Some(g.party.clone()),
                revoked: false,
            })
            .collect();
        let mut revoked: Vec<&String> = state
            .revoked
            .iter()
            .filter(|(d, _)| d == document)
            .map(|(_, device)| device)
            .collect();
        revoked.sort();
        out.extend(revoked.into_iter().map(|device| MemberDevice {
            device_id: device.clone(),
            name: name(device),
            role: None,
            party: None,
            revoked: true,
        }));
        Ok(out)
    }

    /// The public keys of every device granted `document`, for anyone who
    /// holds a grant on it: what the relay attests when clients verify
    /// sign-offs. Sorted by when the grant was made.
    pub fn keys_on(
        &self,
        document: &DocumentId,
        requester: &str,
    ) -> Result<Vec<AttestedKey>, AccessError> {
        if !matches!(self.check(requester, document), DocumentAccess::Granted(_)) {
            return Err(AccessError::NoAccess);
        }
        let state = self.read();
        Ok(state
            .grants_by_age(document)
            .into_iter()
            .filter_map(|grant| {
                let device = state.devices.get(&grant.device)?;
                Some(AttestedKey {
                    device: device.id.clone(),
                    public_key: device
                        .public_key
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect(),
                    role: grant.role,
                    party: grant.party.clone(),
                })
            })
            .collect())
    }

    /// Creates an invite; `requester: None` is the operator (no owner check).
    pub fn create_invite(
        &self,
        document: DocumentId,
        requester: Option<&str>,
        spec: &InviteSpec,
        now: u64,
    ) -> Result<(String, Invite), AccessError> {
        if let Some(device) = requester {
            self.require_owner(&document, device)?;
        }
        if spec.uses == 0 || spec.uses > 1000 {
            return Err(AccessError::Invalid(
                "uses must be between 1 and 1000".into(),
            ));
        }
        if spec.expires_in_ms == 0 || spec.expires_in_ms > 365 * 24 * 3_600_000 {
            return Err(AccessError::Invalid(
                "expiry must be between 1 second and 365 days".into(),
            ));
        }
        let code = secret::generate(24);
        let invite = Invite {
            code_hash: secret::hash(&code),
            document,
            role: spec.role,
            party: label(&spec.party, "party")?,
            expires_at: now.saturating_add(spec.expires_in_ms),
            uses_left: spec.uses,
            created_by: requester.unwrap_or("operator").to_owned(),
        };
        let _serial = self.serial();
        self.store.put_invite(&invite)?;
        self.write()
            .invites
            .insert(invite.code_hash, invite.clone());
        Ok((code, invite))
    }

    fn check_invite(&self, code: &str, now: u64) -> Result<Invite, AccessError> {
        if code.len() > MAX_SECRET {
            return Err(AccessError::InviteNotFound);
        }
        let hash = secret::hash(code);
        let cached = self.read().invites.get(&hash).cloned();
        let invite = match cached {
            Some(invite) => invite,
            None => {
                // Invites written by operator commands while the relay runs:
                // one indexed lookup, not a reload of everything.
                let found = self
                    .store
                    .load_invite(&hash)?
                    .ok_or(AccessError::InviteNotFound)?;
                let _serial = self.serial();
                self.write().invites.entry(hash).or_insert(found).clone()
            }
        };
        if !secret::same(&invite.code_hash, &hash) {
            return Err(AccessError::InviteNotFound);
        }
        if invite.expires_at <= now {
            return Err(AccessError::InviteExpired);
        }
        if invite.uses_left == 0 {
            return Err(AccessError::InviteUsedUp);
        }
        Ok(invite)
    }

    /// Redeems an invite for `device`, creating (or upgrading) its grant,
    /// and the same for the other devices of its account.
    ///
    /// A device that already holds a grant at least as strong gets it back
    /// without spending a use, so one device cannot use up a multi-use
    /// invite; a device an owner revoked cannot come back through an invite
    /// until an owner lifts the revocation.
    pub fn redeem(&self, device: &str, code: &str, now: u64) -> Result<Grant, AccessError> {
        if !self
            .redeem_limiter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .allow(device, now)
        {
            return Err(AccessError::RateLimited);
        }
        let invite = self.check_invite(code, now)?;
        let _serial = self.serial();
        let (current, existing) = {
            let state = self.read();
            if state
                .revoked
                .contains(&(invite.document, device.to_owned()))
            {
                return Err(AccessError::Revoked);
            }
            let current = state
                .invites
                .get(&invite.code_hash)
                .map_or(0, |i| i.uses_left);
            let existing = state
                .grants
                .get(&invite.document)
                .and_then(|g| g.get(device))
                .cloned();
            (current, existing)
        };
        if let Some(existing) = existing.filter(|g| rank(g.role) >= rank(invite.role)) {
            return Ok(existing);
        }
        if current == 0 {
            return Err(AccessError::InviteUsedUp);
        }
        let updated = Invite {
            uses_left: current - 1,
            ..invite.clone()
        };
        let grant = Grant {
            document: invite.document,
            device: device.to_owned(),
            role: invite.role,
            party: invite.party.clone(),
            created_at: now,
        };
        let grants = self.with_account(&grant);
        if let Err(error) = self.store.redeem(&updated, &grants) {
            if let StorageError::Conflict(_) = error {
                // Another relay node spent a use first: take the stored
                // count, so the next attempt decides on it.
                if let Some(stored) = self.store.load_invite(&invite.code_hash)? {
                    let left = stored.uses_left;
                    self.write().invites.insert(stored.code_hash, stored);
                    if left == 0 {
                        return Err(AccessError::InviteUsedUp);
                    }
                }
            }
            return Err(error.into());
        }
        let mut state = self.write();
        state.invites.insert(updated.code_hash, updated);
        let on_document = state.grants.entry(grant.document).or_default();
        for each in grants {
            on_document.insert(each.device.clone(), each);
        }
        Ok(grant)
    }

    /// Removes `target`'s grant on `document` and records the revocation; the
    /// caller must own it (`None`: operator). The document stays claimed even
    /// when this was its last grant.
    pub fn revoke(
        &self,
        document: &DocumentId,
        requester: Option<&str>,
        target: &str,
        now: u64,
    ) -> Result<Grant, AccessError> {
        let _serial = self.serial();
        if let Some(device) = requester {
            self.require_owner(document, device)?;
        }
        let grant = self
            .read()
            .grants
            .get(document)
            .and_then(|g| g.get(target))
            .cloned()
            .ok_or(AccessError::NoSuchGrant)?;
        self.store.revoke(document, target, now)?;
        let mut state = self.write();
        if let Some(grants) = state.grants.get_mut(document) {
            grants.remove(target);
        }
        state.claimed.insert(*document);
        state.revoked.insert((*document, target.to_owned()));
        Ok(grant)
    }

    /// Lets a revoked device redeem invites to `document` again (owners only).
    pub fn lift_revocation(
        &self,
        document: &DocumentId,
        requester: &str,
        target: &str,
    ) -> Result<(), AccessError> {
        let _serial = self.serial();
        self.require_owner(document, requester)?;
        let key = (*document, target.to_owned());
        if !self.read().revoked.contains(&key) {
            return Err(AccessError::NotRevoked);
        }
        self.store.lift_revocation(document, target)?;
        self.write().revoked.remove(&key);
        Ok(())
    }
}

/// What an invite grants.
#[derive(Debug, Clone, Deserialize)]
pub struct InviteSpec {
    /// Role for redeemers.
    pub role: Role,
    /// Party redeemers act for.
    pub party: String,
    /// Lifetime in milliseconds.
    pub expires_in_ms: u64,
    /// How many redemptions.
    pub uses: u32,
}

fn label(text: &str, field: &str) -> Result<String, AccessError> {
    let text = text.trim();
    if text.len() > MAX_LABEL || text.chars().any(char::is_control) {
        return Err(AccessError::Invalid(format!(
            "{field} must be at most {MAX_LABEL} characters of plain text"
        )));
    }
    Ok(text.to_owned())
}

fn parse_public_key(hex: &str) -> Result<[u8; 32], AccessError> {
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(AccessError::BadPublicKey);
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            .map_err(|_| AccessError::BadPublicKey)?;
    }
    ed25519_dalek::VerifyingKey::from_bytes(&key).map_err(|_| AccessError::BadPublicKey)?;
    Ok(key)
}

#[cfg(test)]
mod tests;

/// A random suffix for a new storage id.
pub fn new_storage_suffix() -> String {
    secret::random_hex(8)
}
