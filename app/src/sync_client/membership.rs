//! This device's person in each partnership: the party it acts for, its
//! member record (added with its party on the first edit, renamed with the
//! profile, this session's actor registered to it so every change is
//! attributable), and the invites that bring a partner organization in.

use std::rc::Rc;

use accord_shared::automerge::transaction::{Transactable, Transaction};
use accord_shared::engine::Event;
use accord_shared::ids::DocumentId;
use accord_shared::model::members::{self, DevicePerson, NewMember};
use accord_shared::model::parties;
use accord_shared::model::{self, MemberId, PartyId, overview};
use leptos::prelude::{GetUntracked, Set, Update};

use super::{Client, ClientError, commit_options, random_id};
use crate::api;
use crate::browser::{self, now_ms};
use crate::identity::Profile;
use crate::storage::DocRecord;
use crate::store::DocSummary;

/// Meta key prefix of the party this device acts for in one partnership
/// (set when joining through an invite; otherwise the profile's organization).
pub(super) const PARTY_KEY_PREFIX: &str = "party:";

/// How long joining waits for the relay to send the partnership.
pub(super) const JOIN_WAIT_MS: u64 = 20_000;

pub(super) fn party_key(id: &DocumentId) -> String {
    format!("{PARTY_KEY_PREFIX}{id}")
}

impl Client {
    /// The organization this device acts for in `id` (for display).
    pub fn party_name(&self, id: &DocumentId) -> String {
        self.party_for(id)
    }

    /// The party this device acts for in `id`.
    pub(super) fn party_for(&self, id: &DocumentId) -> String {
        self.parties
            .borrow()
            .get(id)
            .cloned()
            .unwrap_or_else(|| self.store.profile.get_untracked().party_name())
    }

    /// Each party's name with the names of its current members.
    pub fn parties(&self, id: &DocumentId) -> Vec<(String, Vec<String>)> {
        let engine = self.engine.borrow();
        let Some(doc) = engine.document(id) else {
            return Vec::new();
        };
        let members = members::list(doc);
        parties::list(doc)
            .into_iter()
            .map(|party| {
                let names = members
                    .iter()
                    .filter(|m| m.party == Some(party.id) && m.left_at.is_none())
                    .map(|m| m.name.clone())
                    .collect();
                (party.fields.name, names)
            })
            .collect()
    }

    /// Each party of `id` by name with the colour it shows in (empty while
    /// the partnership is not open on this device).
    pub fn party_colours(&self, id: &DocumentId) -> Vec<(String, parties::PartyColour)> {
        self.read_doc(id, |doc| {
            parties::list(doc)
                .into_iter()
                .map(|p| (p.fields.name, p.colour))
                .collect()
        })
        .unwrap_or_default()
    }

    /// Stores the member profile used for new partnerships and presence,
    /// and renames this person's member record in every partnership held
    /// here (where they can edit), so partners see the new name and title.
    pub async fn set_profile(&self, profile: Profile) -> Result<(), ClientError> {
        // The signal takes the new profile before anything is awaited, so
        // calls made in quick succession (one per field left) land in call
        // order and an earlier call finishing late never puts back a stale
        // profile over fields typed since.
        self.store.profile.set(profile.clone());
        profile.save(&self.storage).await?;
        let held: Vec<DocumentId> = self.engine.borrow().documents().copied().collect();
        for id in held {
            if self.is_viewer(&id) {
                continue;
            }
            if let Err(error) = self.rename_self(&id) {
                browser::log(&format!("accord: could not rename in {id}: {error}"));
            }
        }
        Ok(())
    }

    /// Brings this device's member record in `id` in line with the profile
    /// (name and title), as one change; nothing when they match, when the
    /// profile has no name yet or when this person is not a member.
    pub(super) fn rename_self(&self, id: &DocumentId) -> Result<(), ClientError> {
        let profile = self.store.profile.get_untracked();
        let name = profile.name.trim().to_owned();
        if name.is_empty() {
            return Ok(());
        }
        let title = profile.title.trim().to_owned();
        let member = self.read_doc(id, |doc| self.my_member(doc, id));
        let Some(Some(member)) = member else {
            return Ok(());
        };
        if member.name == name && member.title == title {
            return Ok(());
        }
        self.edit(id, |tx| members::rename(tx, member.id, &name, &title))
    }

    /// Makes sure this device's person is a member of `party` in the document
    /// (adding the party and the member if missing) and, with `device`, that
    /// this session's actor is registered to that member, so every change it
    /// makes is attributable. Does nothing on a document without a schema.
    pub(super) fn attribute(
        &self,
        tx: &mut Transaction<'_>,
        id: &DocumentId,
        party: &str,
        device: bool,
    ) -> Result<(), ClientError> {
        if model::schema::version(tx).is_none() {
            return Ok(());
        }
        let profile = self.store.profile.get_untracked();
        let actor = device.then_some(&self.actor);
        if let Some(member) = self.my_member(&*tx, id) {
            // Catch up with a profile changed while this partnership was
            // not open here.
            let known = DevicePerson::Member {
                id: member.id,
                name: &profile.name,
                title: &profile.title,
            };
            members::attribute_device(tx, known, actor)?;
            return Ok(());
        }
        let party = parties::named_or_add(tx, party, PartyId::from_bytes(random_id()?))?;
        let new = NewMember {
            name: profile.display_name(),
            party,
            title: profile.title.trim().to_owned(),
            public_key: Some(self.identity.borrow().public_key_hex()),
        };
        let newcomer = DevicePerson::Newcomer {
            id: MemberId::from_bytes(random_id()?),
            new: &new,
        };
        members::attribute_device(tx, newcomer, actor)?;
        Ok(())
    }

    /// Creates an invite link for the partner organization on a partnership
    /// this device owns: `<origin>/#/join/<document id>/<code>`.
    pub async fn invite(
        &self,
        id: &DocumentId,
        invite: &api::NewInvite,
    ) -> Result<String, ClientError> {
        let token = self.token().await?;
        let created = api::create_invite(&self.origin, &token, &id.to_string(), invite).await?;
        Ok(format!("{}/#/join/{id}/{}", self.origin, created.code))
    }

    /// Redeems an invite for `id`, fetches the partnership from the relay and
    /// adds this device's person as a member of the invited party. Joining a
    /// partnership already on this device only redeems the code.
    pub async fn join(self: &Rc<Self>, id: DocumentId, code: &str) -> Result<(), ClientError> {
        let grant = self.redeem(id, code).await?;
        self.enter(id, grant).await
    }

    /// Redeems an invite for `id` (the first half of [`Self::join`]): the
    /// device may now open the partnership, acting for the grant's party,
    /// which also becomes the profile's organization if it had none.
    pub async fn redeem(&self, id: DocumentId, code: &str) -> Result<api::Grant, ClientError> {
        let token = self.token().await?;
        let grant = api::redeem_invite(&self.origin, &token, code).await?;
        self.storage.put_meta(&party_key(&id), &grant.party).await?;
        let mut profile = self.store.profile.get_untracked();
        if profile.organization.trim().is_empty() {
            // Someone whose first step is an invite belongs to the invited
            // organization: their profile says so from now on.
            profile.organization.clone_from(&grant.party);
            profile.save(&self.storage).await?;
            self.store.profile.set(profile);
        }
        self.parties.borrow_mut().insert(id, grant.party.clone());
        Ok(grant)
    }

    /// Starts keeping a document this device was granted (as `role`): its
    /// record stored, listed on the home screen, tracked for saving and
    /// opened for sync, so its content arrives from the relay.
    pub(super) async fn adopt_granted(
        &self,
        id: DocumentId,
        role: api::Role,
    ) -> Result<(), ClientError> {
        let record = granted_record(&id, role);
        self.storage.put_record(&record).await?;
        self.records.borrow_mut().push(record);
        self.store.docs.update(|docs| {
            docs.push(DocSummary {
                id,
                title: String::new(),
            });
        });
        self.saver.borrow_mut().track(id, Vec::new());
        self.handle(Event::Open {
            document: id,
            doc: None,
        });
        Ok(())
    }

    /// Fetches a partnership whose invite was redeemed (see [`Self::redeem`])
    /// and adds this device's person as a member of the invited party.
    pub async fn enter(
        self: &Rc<Self>,
        id: DocumentId,
        grant: api::Grant,
    ) -> Result<(), ClientError> {
        let held = self.engine.borrow().document(&id).is_some();
        if held {
            // Already here: keep the record's role in step with the new grant.
            let text = id.to_string();
            let updated = self
                .records
                .borrow()
                .iter()
                .find(|r| r.id == text && r.role != Some(grant.role))
                .cloned();
            if let Some(mut record) = updated {
                record.role = Some(grant.role);
                self.save_record(record);
            }
        } else {
            self.adopt_granted(id, grant.role).await?;
        }
        let deadline = now_ms() + JOIN_WAIT_MS;
        while !self.has_content(&id) {
            if now_ms() > deadline {
                return Err(ClientError::NotReceived);
            }
            browser::sleep(100).await;
        }
        if grant.role == api::Role::Viewer {
            // A viewer's changes are not applied by the relay; record nothing,
            // but let the pages re-read the role and turn editing off.
            self.store.bump();
            return Ok(());
        }
        let party = self.party_for(&id);
        self.change_member(&id, &party)
    }

    /// Adds this person (and their party) to the document if missing, as its own change.
    pub(super) fn change_member(&self, id: &DocumentId, party: &str) -> Result<(), ClientError> {
        let wrote = {
            let mut engine = self.engine.borrow_mut();
            let doc = engine.document_mut(id).ok_or(ClientError::NotOpen(*id))?;
            if doc.get_actor() != &self.actor {
                doc.set_actor(self.actor.clone());
            }
            let mut tx = doc.transaction();
            if let Err(error) = self.attribute(&mut tx, id, party, true) {
                tx.rollback();
                return Err(error);
            }
            let wrote = tx.pending_ops() > 0;
            tx.commit_with(commit_options());
            wrote
        };
        self.attributed.borrow_mut().insert(*id);
        if wrote {
            self.handle(Event::LocalChange { document: *id });
            self.document_changed(id);
        }
        Ok(())
    }

    /// Moves the partnership's lifecycle stage, recorded as done by this person.
    pub fn move_stage(&self, id: &DocumentId, to: overview::Stage) -> Result<(), ClientError> {
        let party = self.party_for(id);
        self.change_member(id, &party)?;
        let by = self
            .read_doc(id, |doc| self.my_member(doc, id))
            .flatten()
            .map(|m| m.id)
            .ok_or(ClientError::NotOpen(*id))?;
        let entry = random_id()?;
        self.edit(id, |tx| {
            overview::move_stage(tx, model::ItemId::from_bytes(entry), to, by, now_ms())
        })
    }
}

/// The home-screen record of a document this device was granted as
/// `role` (claimed: the relay holds it already).
pub(super) fn granted_record(id: &DocumentId, role: api::Role) -> DocRecord {
    DocRecord {
        id: id.to_string(),
        title: String::new(),
        added_at: now_ms(),
        claimed: true,
        role: Some(role),
        relay_heads: None,
    }
}
