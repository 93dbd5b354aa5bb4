//! This person's other devices: showing a link code, joining with one,
//! listing the account's devices and revoking a lost one, opening the
//! partnerships another device of the account created or joined (the relay
//! grants all of an account's devices alike), and keeping each
//! partnership's member record listing every device key of the account
//! (see [`accord_shared::model::device_keys`]).
//!
//! A new device cannot vouch for itself: one of the member's keys must sign
//! its key into each partnership. The device that showed the code does it
//! as soon as it sees the new device (it polls while the code is shown),
//! and every device does it for the others whenever it lists the account
//! (at start, then every minute), so a partnership whose document was not
//! open at linking time, or a linking device that went offline, catches up
//! later. Attestations are idempotent and merge (see the model module).

use std::rc::Rc;

use accord_shared::automerge::ReadDoc;
use accord_shared::ids::DocumentId;
use accord_shared::model::members::{self, Member};
use accord_shared::model::{device_keys, signoff};
use ed25519_dalek::VerifyingKey;
use leptos::prelude::{Set, WithUntracked};

use super::membership::granted_record;
use super::{Client, ClientError, JOIN_WAIT_MS, party_key};
use crate::api::{self, AccountDevice, LinkCode};
use crate::browser::{self, now_ms};
use crate::identity::Profile;

/// How often every device lists its account and attests new keys.
pub(super) const ACCOUNT_REFRESH_MS: u32 = 60_000;
/// Meta key of the documents this device's grants covered when last
/// looked at (JSON list of ids): a grant not in it is new.
const KNOWN_GRANTS_KEY: &str = "known-grants";

impl Client {
    /// The member this device is in `doc`: the current member one of whose
    /// keys is this device's key, or else (a linked device its account has
    /// not attested there yet) one of whose keys is another device's of
    /// this account.
    pub fn my_member<R: ReadDoc>(&self, doc: &R, id: &DocumentId) -> Option<Member> {
        let identity = self.identity.borrow();
        let own = identity.verifying_key();
        let found = device_keys::member_with_key(doc, id, &own).or_else(|| {
            identity
                .account_keys()
                .iter()
                .filter_map(|k| signoff::parse_public_key(k))
                .find_map(|key| device_keys::member_with_key(doc, id, &key))
        })?;
        members::get(doc, found).ok()
    }

    /// This device's label.
    pub fn device_name(&self) -> String {
        self.identity.borrow().name().to_owned()
    }

    /// Asks the relay for a link code for this device's account; returns it
    /// with the link to open on the new device.
    pub async fn create_link(&self) -> Result<(LinkCode, String), ClientError> {
        let token = self.token().await?;
        let code = api::create_link(&self.origin, &token).await?;
        let link = format!("{}/#/link/{}", self.origin, code.code);
        Ok((code, link))
    }

    /// The devices of this account, and (as a side effect) the others' keys
    /// remembered and attested in every partnership held here.
    pub async fn account_devices(&self) -> Result<Vec<AccountDevice>, ClientError> {
        let token = self.token().await?;
        let devices = api::account_devices(&self.origin, &token).await?;
        let others: Vec<String> = devices
            .iter()
            .filter(|d| !d.this_device)
            .map(|d| d.public_key.to_ascii_lowercase())
            .collect();
        {
            let mut identity = self.identity.borrow().clone();
            identity
                .set_account_keys(&self.storage, others.clone())
                .await?;
            *self.identity.borrow_mut() = identity;
        }
        self.attest_account_keys(&others).await;
        Ok(devices)
    }

    /// Revokes another device of this account (a lost phone).
    pub async fn revoke_device(&self, device: &str) -> Result<(), ClientError> {
        let token = self.token().await?;
        api::revoke_device(&self.origin, &token, device).await?;
        Ok(())
    }

    /// In every partnership held here where this device's own key is one of
    /// its member's keys, signs each of `keys` (the account's other
    /// devices) into that member's record unless it is already there. Each
    /// attestation is signed first (asynchronously), then written.
    async fn attest_account_keys(&self, keys: &[String]) {
        let keys: Vec<VerifyingKey> = keys
            .iter()
            .filter_map(|k| signoff::parse_public_key(k))
            .collect();
        if keys.is_empty() {
            return;
        }
        let signer = self.identity.borrow().device_key().clone();
        let by = signer.verifying_key();
        let held: Vec<DocumentId> = self.engine.borrow().documents().copied().collect();
        for id in held {
            if self.is_viewer(&id) {
                continue;
            }
            let member = self
                .read_doc(&id, |doc| device_keys::member_with_key(doc, &id, &by))
                .flatten();
            let Some(member) = member else {
                continue;
            };
            let missing: Vec<VerifyingKey> = self
                .read_doc(&id, |doc| {
                    let known = device_keys::member_keys(doc, &id, member);
                    keys.iter()
                        .filter(|k| !known.contains(k))
                        .copied()
                        .collect()
                })
                .unwrap_or_default();
            for key in missing {
                let at = now_ms();
                let result = match signer
                    .sign(&device_keys::statement(&id, member, &key, at))
                    .await
                {
                    Ok(signature) => self.edit(&id, |tx| {
                        device_keys::record_attestation(tx, &id, member, &key, &by, &signature, at)
                    }),
                    Err(error) => Err(ClientError::Identity(error.into())),
                };
                if let Err(error) = result {
                    browser::log(&format!(
                        "accord: could not attest a device in {id}: {error}"
                    ));
                }
            }
        }
    }

    /// Makes this browser another device of the account that showed `code`:
    /// registers with it and lists every partnership that account's device
    /// holds here. Refused on a browser that already holds partnerships of
    /// its own (they belong to another account). Returns how many
    /// partnerships it now has; the caller reloads the page, so the client
    /// starts afresh with the new credentials (a new peer id: the relay
    /// keeps the old one for the old registration), fetches them and
    /// adopts the person's profile (see [`Self::adopt_profile`]).
    pub async fn link_this_device(&self, code: &str, name: &str) -> Result<usize, ClientError> {
        if !self.records.borrow().is_empty() {
            return Err(ClientError::Model(
                "this browser already holds partnerships of its own; link a browser (or profile) that has none".into(),
            ));
        }
        while self.registering.get() {
            browser::sleep(50).await;
        }
        self.registering.set(true);
        let mut identity = self.identity.borrow().clone();
        let previous = identity.registration().cloned();
        let result = identity.link(&self.storage, &self.origin, code, name).await;
        if result.is_ok() {
            *self.identity.borrow_mut() = identity;
        }
        self.registering.set(false);
        let linked = result?;
        if let Some(previous) = previous {
            // The registration this browser made on its own is not needed
            // any more: sign it out (best effort).
            let _ = api::sign_out(&self.origin, &previous.token, &previous.device_id).await;
        }
        for grant in &linked.grants {
            let Ok(id) = DocumentId::parse_url_or_id(&grant.document) else {
                continue;
            };
            self.storage.put_meta(&party_key(&id), &grant.party).await?;
            self.storage
                .put_record(&granted_record(&id, grant.role))
                .await?;
        }
        let known: Vec<String> = linked.grants.iter().map(|g| g.document.clone()).collect();
        self.remember_grants(&known).await?;
        Ok(linked.grants.len())
    }

    async fn remember_grants(&self, documents: &[String]) -> Result<(), ClientError> {
        let json =
            serde_json::to_string(documents).map_err(|e| ClientError::Protocol(e.to_string()))?;
        self.storage.put_meta(KNOWN_GRANTS_KEY, &json).await?;
        Ok(())
    }

    /// Opens the partnerships this device was granted since it last looked:
    /// another device of the account created or joined them (the relay
    /// grants every device of an account alike). A partnership removed
    /// from this device on purpose is not brought back. The first look on a
    /// device only notes what it has.
    async fn follow_account_grants(&self) -> Result<(), ClientError> {
        let token = self.token().await?;
        let grants = api::my_grants(&self.origin, &token).await?;
        let known: Option<Vec<String>> = self
            .storage
            .get_meta(KNOWN_GRANTS_KEY)
            .await?
            .and_then(|json| serde_json::from_str(&json).ok());
        if let Some(known) = &known {
            for grant in grants.iter().filter(|g| !known.contains(&g.document)) {
                let Ok(id) = DocumentId::parse_url_or_id(&grant.document) else {
                    continue;
                };
                let text = id.to_string();
                if self.records.borrow().iter().any(|r| r.id == text) {
                    continue;
                }
                self.storage.put_meta(&party_key(&id), &grant.party).await?;
                self.parties.borrow_mut().insert(id, grant.party.clone());
                self.adopt_granted(id, grant.role).await?;
            }
        }
        let mut all = known.unwrap_or_default();
        for grant in grants {
            if !all.contains(&grant.document) {
                all.push(grant.document);
            }
        }
        self.remember_grants(&all).await
    }

    /// Once a partnership has arrived, takes the person's name, title and
    /// organization from their member record (a linked device starts with
    /// an empty profile), unless the profile is already filled in. Run at
    /// start on a linked device without a complete profile.
    pub(super) async fn adopt_profile(&self, documents: Vec<DocumentId>) {
        let deadline = now_ms() + JOIN_WAIT_MS;
        while now_ms() < deadline {
            if self.store.profile.with_untracked(Profile::is_complete) {
                return;
            }
            let found = documents.iter().find_map(|id| {
                self.read_doc(id, |doc| {
                    let member = self.my_member(doc, id)?;
                    let organization = member.party.and_then(|party| {
                        accord_shared::model::parties::list(doc)
                            .into_iter()
                            .find(|p| p.id == party)
                            .map(|p| p.fields.name)
                    })?;
                    Some(Profile {
                        name: member.name,
                        organization,
                        title: member.title,
                    })
                })
                .flatten()
            });
            if let Some(profile) = found {
                if let Err(error) = profile.save(&self.storage).await {
                    self.store
                        .report(format!("could not save your profile: {error}"));
                }
                self.store.profile.set(profile);
                return;
            }
            browser::sleep(200).await;
        }
    }

    /// Follows the account now and then: opens partnerships another of its
    /// devices created or joined, and attests keys of devices linked while
    /// this one was away.
    pub(super) async fn run_account_watch(self: Rc<Self>) {
        browser::sleep(3_000).await;
        loop {
            if self.identity.borrow().registration().is_some() {
                let listed = match self.follow_account_grants().await {
                    Ok(()) => self.account_devices().await.map(|_| ()),
                    Err(error) => Err(error),
                };
                if let Err(error) = listed
                    && !error.is_offline()
                {
                    browser::log(&format!("accord: following this account: {error}"));
                }
            }
            browser::sleep(ACCOUNT_REFRESH_MS).await;
        }
    }
}
