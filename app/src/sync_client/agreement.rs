//! What the agreement page needs from the client beyond plain edits:
//! signing off a clause with this device's key, the public keys the relay
//! attests for a partnership (kept for offline use), and the version of each
//! agreement this device last looked at.

use accord_shared::automerge::{ChangeHash, ReadDoc};
use accord_shared::ids::DocumentId;
use accord_shared::model::{ItemId, MemberId, signoff};

use super::{Client, ClientError};
use crate::api;
use crate::identity::IdentityError;

/// The setting holding the keys the relay attested for `id`.
pub(super) fn keys_key(id: &DocumentId) -> String {
    format!("keys:{id}")
}

/// The setting holding the version of `id` this device last looked at.
pub(super) fn seen_key(id: &DocumentId) -> String {
    format!("seen:{id}")
}

impl Client {
    /// Signs off the current text of `clause` as `member` with this
    /// device's key, as one local change. The statement is taken from the
    /// document, signed (asynchronously: the key may be a non-extractable
    /// browser key), then written; a clause changed in between is refused
    /// with a sentence asking to sign again.
    pub async fn sign_clause(
        &self,
        id: &DocumentId,
        clause: ItemId,
        member: MemberId,
        now: u64,
    ) -> Result<(), ClientError> {
        let key = self.identity.borrow().device_key().clone();
        let public = key.verifying_key();
        let statement = self
            .read_doc(id, |doc| {
                signoff::statement_to_sign(doc, id, clause, member, &public, now)
            })
            .ok_or(ClientError::NotOpen(*id))?
            .map_err(|e| ClientError::Model(e.to_string()))?;
        let signature = key
            .sign(&statement.to_bytes())
            .await
            .map_err(IdentityError::from)?;
        self.edit(id, |tx| {
            signoff::record(tx, &statement, &public, &signature.to_bytes()).map(|_| ())
        })
    }

    /// The public keys (hex) the relay attests for `id`, asked fresh and
    /// remembered on this device. When the relay cannot be reached the
    /// remembered list is returned; `Ok(None)` means none is known yet.
    pub async fn attested_keys(&self, id: &DocumentId) -> Result<Option<Vec<String>>, ClientError> {
        let fetched = match self.token().await {
            Ok(token) => api::document_keys(&self.origin, &token, &id.to_string()).await,
            Err(ClientError::Api(error)) => Err(error),
            Err(other) => return Err(other),
        };
        match fetched {
            Ok(keys) => {
                let keys: Vec<String> = keys.into_iter().map(|k| k.public_key).collect();
                let json = serde_json::to_string(&keys)
                    .map_err(|e| ClientError::Protocol(e.to_string()))?;
                self.storage.put_meta(&keys_key(id), &json).await?;
                Ok(Some(keys))
            }
            Err(error) if error.is_network() => self.remembered_keys(id).await,
            Err(error) => Err(error.into()),
        }
    }

    /// The attested keys last fetched for `id`, if any.
    pub async fn remembered_keys(
        &self,
        id: &DocumentId,
    ) -> Result<Option<Vec<String>>, ClientError> {
        let Some(json) = self.storage.get_meta(&keys_key(id)).await? else {
            return Ok(None);
        };
        serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// The current heads of an open document.
    pub fn heads(&self, id: &DocumentId) -> Option<Vec<ChangeHash>> {
        self.read_doc(id, |doc| doc.get_heads())
    }

    /// The heads of `id` when this device last looked at its agreement
    /// (`None`: never). Heads this document does not hold are dropped.
    pub async fn seen_heads(
        &self,
        id: &DocumentId,
    ) -> Result<Option<Vec<ChangeHash>>, ClientError> {
        let Some(text) = self.storage.get_meta(&seen_key(id)).await? else {
            return Ok(None);
        };
        let heads: Vec<ChangeHash> = text
            .split(',')
            .filter_map(|h| h.trim().parse().ok())
            .collect();
        let known = self
            .read_doc(id, |doc| {
                heads.iter().all(|h| doc.get_change_by_hash(h).is_some())
            })
            .unwrap_or(false);
        Ok(known.then_some(heads))
    }

    /// True once this device holds every change the relay said it has of
    /// `id` (nothing of the partnership is still on its way here).
    pub fn caught_up_with_relay(&self, id: &DocumentId) -> bool {
        let Some(heads) = self.relay_heads.borrow().get(id).cloned() else {
            return false;
        };
        self.read_doc(id, |doc| {
            heads.iter().all(|h| doc.get_change_by_hash(h).is_some())
        })
        .unwrap_or(false)
    }

    /// Records `heads` as the version of `id` this device last looked at.
    pub async fn mark_seen(
        &self,
        id: &DocumentId,
        heads: &[ChangeHash],
    ) -> Result<(), ClientError> {
        let text: Vec<String> = heads.iter().map(ToString::to_string).collect();
        self.storage
            .put_meta(&seen_key(id), &text.join(","))
            .await?;
        Ok(())
    }
}
