//! The frame around a partnership's pages, as a split point of its own: it
//! reads the document, so its code lives in the sync client's chunk (see
//! [`crate::client_chunk`]) and the page groups load inside it
//! ([`super::deferred`]).

use std::rc::Rc;

use accord_shared::ids::DocumentId;
use leptos::prelude::*;
#[cfg(feature = "split")]
use leptos::wasm_split::wasm_split;

use super::deferred::{ChunkResult, Deferred, LoadView, overview_page};
use super::routes::PlanPage;
use super::{shell, view};
use crate::split_point::deferred_call;

/// The frame around a partnership's pages (navigation, title, what every
/// plan page shows above its own content) with the page `page` (`None`
/// for the overview) inside. It reads the document, so it lives in the
/// sync client's chunk (see [`crate::client_chunk`]), never in the main
/// module.
#[cfg_attr(feature = "split", wasm_split(client, wasm_split_path = ::leptos::wasm_split, fallible))]
fn frame_group(id: DocumentId, page: Option<PlanPage>) -> ChunkResult {
    Ok(match page {
        None => view! {
            <shell::PartnershipShell id=id current=None>
                <Deferred load=overview_page(id)/>
            </shell::PartnershipShell>
        }
        .into_any(),
        Some(page) => view! {
            <shell::PartnershipShell id=id current=Some(page)>
                <view::PlanView id=id page=page/>
            </shell::PartnershipShell>
        }
        .into_any(),
    })
}

/// The loader of a partnership's page (`None`: its overview) in its frame.
pub fn partnership_frame(id: DocumentId, page: Option<PlanPage>) -> LoadView {
    Rc::new(move || deferred_call!(frame_group(id, page)))
}
