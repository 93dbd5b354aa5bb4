//! Accounts: the devices of one person. A device registered with a link
//! code (see [`super::links`]) joins the account of the device that showed
//! the code and takes over that device's grants; any device of an account
//! lists the others with when they were last seen, and revokes one (a lost
//! phone): its token stops working and its grants go, at once.

use accord_shared::http::AccountDevice;

use super::links::{self, LinkCode};
use super::{AccessControl, AccessError, Device, Grant, parse_public_key, secret};

/// How stale a device's stored last-seen time may get before it is written
/// again (it is exact in memory).
pub const LAST_SEEN_PRECISION_MS: u64 = 5 * 60_000;

/// A device registered with a link code.
#[derive(Debug, Clone)]
pub struct LinkedDevice {
    /// The new device.
    pub device: Device,
    /// Its bearer token (shown once).
    pub token: String,
    /// The grants it took over.
    pub grants: Vec<Grant>,
    /// The public key (hex) of the device that showed the code.
    pub linked_by_key: String,
}

pub(crate) fn key_hex(key: &[u8; 32]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

impl AccessControl {
    /// A link code for `device`'s account, valid for `ttl_ms` (default
    /// [`links::DEFAULT_LINK_TTL_MS`], at most [`links::MAX_LINK_TTL_MS`]).
    /// Each account may ask for [`links::LINKS_PER_ACCOUNT`] per window.
    pub fn create_link(
        &self,
        device: &str,
        ttl_ms: Option<u64>,
        now: u64,
    ) -> Result<(String, LinkCode), AccessError> {
        let ttl_ms = ttl_ms.unwrap_or(links::DEFAULT_LINK_TTL_MS);
        if !(1000..=links::MAX_LINK_TTL_MS).contains(&ttl_ms) {
            return Err(AccessError::Invalid(format!(
                "a link code lives between 1 second and {} minutes",
                links::MAX_LINK_TTL_MS / 60_000
            )));
        }
        let account = self
            .read()
            .devices
            .get(device)
            .map(|d| d.account.clone())
            .ok_or(AccessError::BadToken)?;
        if !self
            .link_limiter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .allow(&account, now)
        {
            return Err(AccessError::RateLimited);
        }
        let _serial = self.serial();
        Ok(self.write().links.create(&account, device, ttl_ms, now))
    }

    /// Registers a device with a link code: it joins the code's account and
    /// gets every grant the device that showed the code holds now (same
    /// role and party). The code is spent in the same serialized step as
    /// the storage write, so of two devices racing with one code exactly
    /// one wins; the other gets [`links::LinkRefusal::Used`].
    pub fn register_linked(
        &self,
        public_key_hex: &str,
        name: &str,
        code: &str,
        now: u64,
    ) -> Result<LinkedDevice, AccessError> {
        let public_key = parse_public_key(public_key_hex)?;
        let name = super::label(name, "name")?;
        if code.len() > super::MAX_SECRET {
            return Err(AccessError::Link(links::LinkRefusal::Unknown));
        }
        let _serial = self.serial();
        let link = self.read().links.check(code, now)?;
        let (linked_by_key, grants) = {
            let state = self.read();
            let creator = state
                .devices
                .get(&link.created_by)
                .filter(|d| d.revoked_at == 0)
                .ok_or(AccessError::Link(links::LinkRefusal::Unknown))?;
            let grants: Vec<Grant> = state
                .grants
                .values()
                .filter_map(|g| g.get(&link.created_by))
                .cloned()
                .collect();
            (key_hex(&creator.public_key), grants)
        };
        let token = secret::generate(32);
        let device = Device {
            id: format!("dev_{}", secret::random_hex(8)),
            public_key,
            name,
            token_hash: secret::hash(&token),
            created_at: now,
            account: link.account.clone(),
            last_seen: now,
            revoked_at: 0,
        };
        let mut grants: Vec<Grant> = grants
            .into_iter()
            .map(|g| Grant {
                device: device.id.clone(),
                created_at: now,
                ..g
            })
            .collect();
        grants.sort_by_key(|g| g.document.to_string());
        self.store.link_device(&device, &grants)?;
        let mut state = self.write();
        state.links.spend(code, &device.id);
        state
            .device_by_token
            .insert(device.token_hash, device.id.clone());
        state.devices.insert(device.id.clone(), device.clone());
        for grant in &grants {
            state
                .grants
                .entry(grant.document)
                .or_default()
                .insert(device.id.clone(), grant.clone());
        }
        Ok(LinkedDevice {
            device,
            token,
            grants,
            linked_by_key,
        })
    }

    /// The devices of `requester`'s account that were not revoked, oldest
    /// first.
    pub fn account_devices(&self, requester: &str) -> Result<Vec<AccountDevice>, AccessError> {
        let state = self.read();
        let account = state
            .devices
            .get(requester)
            .map(|d| d.account.clone())
            .ok_or(AccessError::BadToken)?;
        let seen = self.seen_times();
        let mut found: Vec<AccountDevice> = state
            .devices
            .values()
            .filter(|d| d.account == account && d.revoked_at == 0)
            .map(|d| AccountDevice {
                device_id: d.id.clone(),
                name: d.name.clone(),
                public_key: key_hex(&d.public_key),
                created_at: d.created_at,
                last_seen: seen.get(&d.id).copied().unwrap_or(0).max(d.last_seen),
                this_device: d.id == requester,
            })
            .collect();
        found.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then(a.device_id.cmp(&b.device_id))
        });
        Ok(found)
    }

    /// Revokes `target`, a device of `requester`'s account (a lost phone):
    /// its token stops working and every grant it holds is removed, in one
    /// storage write. It disappears from the account's list. A device
    /// cannot revoke itself this way (it signs out instead).
    pub fn revoke_device(
        &self,
        requester: &str,
        target: &str,
        now: u64,
    ) -> Result<Device, AccessError> {
        if requester == target {
            return Err(AccessError::Invalid(
                "this is the device you are using: sign out instead".into(),
            ));
        }
        let _serial = self.serial();
        let (mine, theirs) = {
            let state = self.read();
            (
                state.devices.get(requester).cloned(),
                state.devices.get(target).cloned(),
            )
        };
        let mine = mine.ok_or(AccessError::BadToken)?;
        let theirs = theirs
            .filter(|d| d.account == mine.account && d.revoked_at == 0)
            .ok_or(AccessError::NotYourDevice)?;
        let old_hash = theirs.token_hash;
        let retired = Device {
            token_hash: secret::hash(&secret::generate(32)),
            revoked_at: now.max(1),
            ..theirs
        };
        self.store.retire_device(&retired)?;
        let mut state = self.write();
        state.device_by_token.remove(&old_hash);
        state.devices.insert(retired.id.clone(), retired.clone());
        for grants in state.grants.values_mut() {
            grants.remove(target);
        }
        Ok(retired)
    }

    /// Notes that `device` used its token at `now`; returns the device
    /// record to store when its stored last-seen time is more than
    /// [`LAST_SEEN_PRECISION_MS`] old (the caller writes it off the async
    /// threads with [`Self::store_last_seen`]).
    pub fn saw(&self, device: &str, now: u64) -> Option<Device> {
        self.last_seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(device.to_owned(), now);
        let stored = self.read().devices.get(device)?.last_seen;
        (now.saturating_sub(stored) > LAST_SEEN_PRECISION_MS).then(|| self.device(device))?
    }

    /// Writes `device`'s last-seen time (see [`Self::saw`]).
    pub fn store_last_seen(&self, device: &str, now: u64) -> Result<(), AccessError> {
        let _serial = self.serial();
        let Some(mut updated) = self.device(device) else {
            return Ok(());
        };
        if updated.last_seen >= now {
            return Ok(());
        }
        updated.last_seen = now;
        self.store.put_device(&updated)?;
        self.write().devices.insert(updated.id.clone(), updated);
        Ok(())
    }

    fn seen_times(&self) -> std::collections::HashMap<String, u64> {
        self.last_seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
