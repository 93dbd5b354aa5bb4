//! Joining a partnership from an invite link (`#/join/<document id>/<code>`):
//! redeem the code, fetch the partnership from the relay, become a member of
//! the invited party, then show it.

use accord_shared::ids::DocumentId;
use leptos::prelude::*;
use wasm_bindgen_futures::spawn_local;

use super::routes::invite_code_from_hash;
use super::{Route, navigate};
use crate::api::{ApiError, Grant};
use crate::store::Store;
use crate::sync_client::{ClientError, client};

/// What went wrong, worded for the person who clicked the link: one
/// sentence per case, without repeating the relay's own wording.
fn explain(error: &ClientError) -> String {
    match error {
        ClientError::Api(ApiError::Status { status, message }) => match status {
            404 => "This invite link is not valid: check that you opened the whole link, or ask the partner for a new one.".to_owned(),
            410 if message.contains("expired") => {
                "This invite link has expired: ask the partner for a new one.".to_owned()
            }
            410 => "This invite link has already been used: ask the partner for a new one.".to_owned(),
            429 => "Too many attempts: wait a minute and open the link again.".to_owned(),
            _ => format!("The relay refused the invite: {message}."),
        },
        e if e.is_offline() => {
            "You are offline. Open the link again when you are connected.".to_owned()
        }
        other => format!("Could not join: {other}"),
    }
}

/// Where the join page stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum JoinStep {
    /// Waiting for the device's stored profile to load.
    Loading,
    /// The invite is redeemed but the person has not said who they are
    /// yet: asked before joining, so partners never see a placeholder name.
    AskingWhoYouAre(Grant),
    /// Redeeming the code and fetching the partnership.
    Joining,
    /// It failed, for this reason (worded for the person).
    Failed(String),
}

/// Redeems the invite in the current fragment, then opens the partnership.
/// Someone who has not given their name yet is asked first (name and
/// title; the organization is the one the invite is for).
#[component]
pub fn JoinPage(
    /// The partnership the link is for.
    id: DocumentId,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let step = RwSignal::new(JoinStep::Loading);
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    let code = invite_code_from_hash(&hash, &id);
    // Joins with a redeemed grant: fetch the partnership, become a member.
    let enter = move |grant: Grant| {
        let Some(client) = client() else { return };
        step.set(JoinStep::Joining);
        spawn_local(async move {
            match client.enter(id, grant).await {
                Ok(()) => navigate(Route::Partnership(id)),
                Err(error) => step.set(JoinStep::Failed(explain(&error))),
            }
        });
    };
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) || !store.ready.get() {
            return done.unwrap_or(false);
        }
        let Some(code) = code.clone() else {
            step.set(JoinStep::Failed(
                "This invite link is incomplete: copy the whole link and open it again.".into(),
            ));
            return true;
        };
        let Some(client) = client() else {
            return false;
        };
        step.set(JoinStep::Joining);
        spawn_local(async move {
            match client.redeem(id, &code).await {
                Err(error) => step.set(JoinStep::Failed(explain(&error))),
                Ok(grant) if store.profile.with_untracked(|p| p.name.trim().is_empty()) => {
                    step.set(JoinStep::AskingWhoYouAre(grant));
                }
                Ok(grant) => enter(grant),
            }
        });
        true
    });
    let name = RwSignal::new(String::new());
    let title = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let chosen = name.get_untracked().trim().to_owned();
        let JoinStep::AskingWhoYouAre(grant) = step.get_untracked() else {
            return;
        };
        if chosen.is_empty() {
            return;
        }
        let Some(client) = client() else { return };
        let mut profile = store.profile.get_untracked();
        profile.name = chosen;
        profile.title = title.get_untracked().trim().to_owned();
        spawn_local(async move {
            if let Err(error) = client.set_profile(profile).await {
                store.report(format!("could not save your profile: {error}"));
            }
            enter(grant);
        });
    };
    view! {
        <section class="join">
            {move || match step.get() {
                JoinStep::Loading | JoinStep::Joining => view! {
                    <p class="muted" data-testid="join-progress">"Joining the partnership…"</p>
                }.into_any(),
                JoinStep::AskingWhoYouAre(grant) => view! {
                    <form class="join-who" data-testid="join-who" on:submit=submit>
                        <h1>"You are invited to a partnership"</h1>
                        <p>"Tell the partners who you are. You can change your name and title later."</p>
                        <p class="field">
                            <span>"Organization (set by the invite)"</span>
                            <strong data-testid="join-organization">{grant.party}</strong>
                        </p>
                        <label class="field">
                            <span>"Your name"</span>
                            <input data-testid="join-name" type="text" autocomplete="name" required
                                prop:value=move || name.get()
                                on:input=move |ev| name.set(event_target_value(&ev))/>
                        </label>
                        <label class="field">
                            <span>"Title (optional)"</span>
                            <input data-testid="join-title" type="text" autocomplete="organization-title"
                                prop:value=move || title.get()
                                on:input=move |ev| title.set(event_target_value(&ev))/>
                        </label>
                        <button type="submit" data-testid="join-submit"
                            disabled=move || name.with(|n| n.trim().is_empty())>
                            "Join"
                        </button>
                    </form>
                }.into_any(),
                JoinStep::Failed(text) => view! {
                    <crate::components::form::FailedStep message=text test_id="join-error"/>
                }.into_any(),
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refused_invite_gets_one_sentence() {
        let refused = |status, message: &str| {
            explain(&ClientError::Api(ApiError::Status {
                status,
                message: message.to_owned(),
            }))
        };
        let unknown = refused(404, "this invite code is not valid");
        let expired = refused(
            410,
            "this invite has expired; ask the partner for a new one",
        );
        let used = refused(
            410,
            "this invite has already been used; ask the partner for a new one",
        );
        assert!(
            unknown.starts_with("This invite link is not valid:"),
            "{unknown}"
        );
        assert!(
            expired.starts_with("This invite link has expired:"),
            "{expired}"
        );
        assert!(
            used.starts_with("This invite link has already been used:"),
            "{used}"
        );
        for text in [unknown, expired, used] {
            assert_eq!(
                text.matches("valid").count()
                    + text.matches("expired").count()
                    + text.matches("used").count(),
                1,
                "{text}"
            );
        }
    }
}
