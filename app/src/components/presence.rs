//! Avatars of the other people who have this partnership open.

use accord_shared::ids::DocumentId;
use leptos::prelude::*;

use crate::presence::{Peer, initials};
use crate::store::Store;
use crate::sync_client::party_colour;

/// This person as the others see them on partnership `id`: their name and
/// the organization they act for there (tracking the profile).
pub fn me_as_shown(store: Store, id: &DocumentId) -> (String, String) {
    let profile = store.profile.get();
    let organization = crate::sync_client::client()
        .map(|c| c.party_name(id))
        .unwrap_or_else(|| profile.party_name());
    (profile.display_name(), organization)
}

/// Shows who else is on partnership `id` and on which page, one avatar each,
/// coloured by their organization. Includes "you" first, so two people on the
/// same partnership both see two avatars.
#[component]
pub fn PresenceBar(
    /// The partnership shown.
    id: DocumentId,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let others = move || {
        store.presence.with(|peers| {
            peers
                .iter()
                .filter(|p| p.document == id)
                .cloned()
                .collect::<Vec<Peer>>()
        })
    };
    let me = move || me_as_shown(store, &id);
    view! {
        <ul class="presence" data-testid="presence" aria-label="People here now">
            {move || {
                let (name, organization) = me();
                view! {
                    <li class="avatar me" data-testid="presence-peer"
                        style=format!("--party: {}", party_colour(&id, &organization))
                        title=format!("{name} ({organization}) — you")>
                        <span class="initials" aria-hidden="true">{initials(&name)}</span>
                        <span class="who">{format!("{name} (you)")}</span>
                    </li>
                }
            }}
            <For each=others key=|p| (p.beacon.session.clone(), p.beacon.page.clone(), p.beacon.name.clone()) let:peer>
                <li class="avatar" data-testid="presence-peer"
                    style={
                        let organization = peer.beacon.organization.clone();
                        move || format!("--party: {}", party_colour(&id, &organization))
                    }
                    title=format!("{} ({}) — on {}", peer.beacon.name, peer.beacon.organization, peer.beacon.page)>
                    <span class="initials" aria-hidden="true">{peer.initials()}</span>
                    <span class="who">{format!("{} · {}", peer.beacon.name, peer.beacon.page)}</span>
                </li>
            </For>
        </ul>
    }
}
