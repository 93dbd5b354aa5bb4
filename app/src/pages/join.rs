//! Joining a partnership from an invite link (`#/join/<document id>/<code>`):
//! redeem the code, fetch the partnership from the relay, become a member of
//! the invited party, then show it.

use accord_shared::ids::DocumentId;
use leptos::prelude::*;
use wasm_bindgen_futures::spawn_local;

use super::{Route, navigate};
use crate::api::ApiError;
use crate::store::Store;
use crate::sync_client::{ClientError, client};

/// The document of an invite fragment `#/join/<id>/<code>`.
pub fn document_from_hash(hash: &str) -> Option<DocumentId> {
    let rest = hash.trim_start_matches('#').strip_prefix("/join/")?;
    DocumentId::parse_url_or_id(rest.split('/').next()?).ok()
}

/// The code part of an invite fragment, if `hash` is one for `id`.
pub fn code_from_hash(hash: &str, id: &DocumentId) -> Option<String> {
    let rest = hash.trim_start_matches('#').strip_prefix("/join/")?;
    let (doc, code) = rest.split_once('/')?;
    let code = code.trim();
    (DocumentId::parse_url_or_id(doc).ok()? == *id && !code.is_empty()).then(|| code.to_owned())
}

/// What went wrong, worded for the person who clicked the link.
fn explain(error: &ClientError) -> String {
    match error {
        ClientError::Api(ApiError::Status { status, message }) => match status {
            404 => format!("This invite link is not valid ({message}). Ask for a new one."),
            410 => format!("This invite link can no longer be used: {message}. Ask for a new one."),
            429 => "Too many attempts; wait a minute and open the link again.".to_owned(),
            _ => format!("The relay refused the invite: {message}."),
        },
        e if e.is_offline() => {
            "You are offline. Open the link again when you are connected.".to_owned()
        }
        other => format!("Could not join: {other}"),
    }
}

/// Redeems the invite in the current fragment, then opens the partnership.
#[component]
pub fn JoinPage(
    /// The partnership the link is for.
    id: DocumentId,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let problem = RwSignal::new(None::<String>);
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    let code = code_from_hash(&hash, &id);
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) || !store.ready.get() {
            return done.unwrap_or(false);
        }
        let Some(code) = code.clone() else {
            problem.set(Some("This invite link is incomplete.".into()));
            return true;
        };
        let Some(client) = client() else {
            return false;
        };
        spawn_local(async move {
            match client.join(id, &code).await {
                Ok(()) => navigate(Route::Partnership(id)),
                Err(error) => problem.set(Some(explain(&error))),
            }
        });
        true
    });
    view! {
        <section class="join">
            {move || match problem.get() {
                None => view! { <p class="muted" data-testid="join-progress">"Joining the partnership…"</p> }.into_any(),
                Some(text) => view! {
                    <div class="notice" role="alert">
                        <p data-testid="join-error">{text}</p>
                        <p><a href="#/">"Go to your partnerships"</a></p>
                    </div>
                }.into_any(),
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_fragments_yield_their_code() {
        let id = DocumentId::from_bytes([7; 16]);
        let other = DocumentId::from_bytes([8; 16]);
        assert_eq!(
            code_from_hash(&format!("#/join/{id}/abc"), &id).as_deref(),
            Some("abc")
        );
        assert_eq!(code_from_hash(&format!("#/join/{id}/"), &id), None);
        assert_eq!(code_from_hash(&format!("#/join/{other}/abc"), &id), None);
        assert_eq!(code_from_hash("#/p/x", &id), None);
        assert_eq!(document_from_hash(&format!("#/join/{id}/abc")), Some(id));
        assert_eq!(document_from_hash("#/join/nope/abc"), None);
    }
}
