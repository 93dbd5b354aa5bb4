//! The sync client as a chunk of its own. Automerge, the engine, the relay
//! connection and the edit and save paths are about half of the app's code
//! a first visit would otherwise download before the home screen works; the
//! home screen lists the partnerships from their stored titles instead
//! ([`crate::stored_list`]) and [`start`] fetches this chunk right after,
//! then boots the client from it.
//!
//! The main module reaches the client only through the split points below
//! (all in the chunk `client`): starting it, the home screen's and the
//! toast's actions, and joining from an invite (so the join page asks who
//! someone is while the client is still on its way). Each action waits
//! for the chunk and for the client to have booted, so a click made before
//! either is in does what it says once they are, never nothing. Pages are
//! chunks themselves and call [`crate::sync_client::client`] as before: a
//! page is only shown inside the partnership frame, which this chunk
//! renders (`partnership_frame` in `pages/frame.rs`). Without the `split`
//! feature the split points are plain calls and the app one module.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use accord_shared::http::Grant;
use accord_shared::ids::DocumentId;
use futures_util::FutureExt as _;
use futures_util::future::{LocalBoxFuture, Shared};
use leptos::prelude::Set as _;
#[cfg(feature = "split")]
use leptos::wasm_split::wasm_split;
use wasm_bindgen_futures::spawn_local;

use crate::edit::{self, EditError};
use crate::identity::Profile;
use crate::split_point::{ChunkUnavailable, deferred_call};
use crate::store::{Store, Undo};
use crate::sync_client::{self, Client, ClientError};

/// Why an action on the client did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The client's code could not be downloaded (offline on a first visit
    /// that never finished).
    #[error("Accord has not finished downloading to this device; connect and try again")]
    Unavailable(#[from] ChunkUnavailable),
    /// The client refused or failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// An edit was refused.
    #[error(transparent)]
    Edit(#[from] EditError),
}

/// What an action does once the chunk is in: a future made by chunk code.
type Pending<T> = Pin<Box<dyn Future<Output = Result<T, ActionError>>>>;

/// The client's boot, shared by everyone who waits for it.
type Booting = Shared<LocalBoxFuture<'static, Result<Rc<Client>, ClientError>>>;

thread_local! {
    static BOOTING: RefCell<Option<Booting>> = const { RefCell::new(None) };
}

/// The running client: boots it on the first call, later calls wait for
/// the same boot.
fn running(store: Store) -> Booting {
    BOOTING.with(|booting| {
        booting
            .borrow_mut()
            .get_or_insert_with(|| sync_client::boot(store).boxed_local().shared())
            .clone()
    })
}

/// Boots the client (in the chunk), reporting a failure.
#[cfg_attr(feature = "split", wasm_split(client, wasm_split_path = ::leptos::wasm_split, fallible))]
fn boot_in_chunk(store: Store) -> Result<(), ChunkUnavailable> {
    spawn_local(async move {
        if let Err(error) = running(store).await {
            store.report(format!("cannot start: {error}"));
        }
    });
    Ok(())
}

/// Fetches the client's chunk and boots the client from it. Called once
/// the home list is on screen, so the download does not compete with it.
pub fn start(store: Store) {
    spawn_local(async move {
        let started: Pin<Box<dyn Future<Output = Result<(), ChunkUnavailable>>>> =
            deferred_call!(boot_in_chunk(store));
        if let Err(error) = started.await {
            // Without the client nothing syncs: say so rather than
            // "Connecting…" for ever.
            store.status.set(crate::store::SyncStatus::Offline(0));
            store.report(ActionError::from(error));
        }
    });
}

/// Waits for the chunk, then for what the chunk's `pending` does.
async fn act<T>(
    pending: Pin<Box<dyn Future<Output = Result<Pending<T>, ChunkUnavailable>>>>,
) -> Result<T, ActionError> {
    pending.await?.await
}

#[cfg_attr(feature = "split", wasm_split(client, wasm_split_path = ::leptos::wasm_split, fallible))]
fn create_in_chunk(
    store: Store,
    title: &'static str,
) -> Result<Pending<DocumentId>, ChunkUnavailable> {
    Ok(Box::pin(async move {
        let client = running(store).await?;
        Ok(client.create_partnership(title).await?)
    }))
}

/// Creates a partnership called `title` on this device (once the client
/// is running).
pub async fn create_partnership(
    store: Store,
    title: &'static str,
) -> Result<DocumentId, ActionError> {
    act(deferred_call!(create_in_chunk(store, title))).await
}

#[cfg_attr(feature = "split", wasm_split(client, wasm_split_path = ::leptos::wasm_split, fallible))]
fn remove_in_chunk(store: Store, id: DocumentId) -> Result<Pending<()>, ChunkUnavailable> {
    Ok(Box::pin(async move {
        running(store).await?.remove_partnership(&id);
        Ok(())
    }))
}

/// Removes partnership `id` from this device (once the client is running).
pub async fn remove_partnership(store: Store, id: DocumentId) -> Result<(), ActionError> {
    act(deferred_call!(remove_in_chunk(store, id))).await
}

#[cfg_attr(feature = "split", wasm_split(client, wasm_split_path = ::leptos::wasm_split, fallible))]
fn profile_in_chunk(store: Store, profile: Profile) -> Result<Pending<()>, ChunkUnavailable> {
    Ok(Box::pin(async move {
        Ok(running(store).await?.set_profile(profile).await?)
    }))
}

/// Stores the profile and writes it into the partnerships (once the client
/// is running).
pub async fn set_profile(store: Store, profile: Profile) -> Result<(), ActionError> {
    act(deferred_call!(profile_in_chunk(store, profile))).await
}

#[cfg_attr(feature = "split", wasm_split(client, wasm_split_path = ::leptos::wasm_split, fallible))]
fn undo_in_chunk(store: Store, undo: Undo) -> Result<Pending<()>, ChunkUnavailable> {
    Ok(Box::pin(async move {
        running(store).await?;
        Ok(edit::undo(undo)?)
    }))
}

/// Takes back the removal a toast offers to undo.
pub async fn undo(store: Store, undo: Undo) -> Result<(), ActionError> {
    act(deferred_call!(undo_in_chunk(store, undo))).await
}

#[cfg_attr(feature = "split", wasm_split(client, wasm_split_path = ::leptos::wasm_split, fallible))]
fn redeem_in_chunk(
    store: Store,
    id: DocumentId,
    code: String,
) -> Result<Pending<Grant>, ChunkUnavailable> {
    Ok(Box::pin(async move {
        Ok(running(store).await?.redeem(id, &code).await?)
    }))
}

/// Redeems the invite `code` to partnership `id` (once the client is
/// running): the grant says which organization and role it is for.
pub async fn redeem_invite(
    store: Store,
    id: DocumentId,
    code: String,
) -> Result<Grant, ActionError> {
    act(deferred_call!(redeem_in_chunk(store, id, code))).await
}

#[cfg_attr(feature = "split", wasm_split(client, wasm_split_path = ::leptos::wasm_split, fallible))]
fn enter_in_chunk(
    store: Store,
    id: DocumentId,
    grant: Grant,
) -> Result<Pending<()>, ChunkUnavailable> {
    Ok(Box::pin(async move {
        Ok(running(store).await?.enter(id, grant).await?)
    }))
}

/// Joins partnership `id` with a redeemed `grant`: fetches it from the
/// relay and makes this person a member of the invited organization.
pub async fn enter_partnership(
    store: Store,
    id: DocumentId,
    grant: Grant,
) -> Result<(), ActionError> {
    act(deferred_call!(enter_in_chunk(store, id, grant))).await
}
