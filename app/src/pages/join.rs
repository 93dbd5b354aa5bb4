//! Joining a partnership from an invite link (`#/join/<document id>/<code>`):
//! redeem the code, fetch the partnership from the relay, become a member of
//! the invited party, then show it.
//!
//! Someone opening their first invite has nothing of Accord on the device
//! yet: the page asks who they are at once, from the join chunk alone,
//! while the sync client downloads and redeems the code behind the form
//! (every client call goes through [`client_chunk`]'s split points).

use accord_shared::http::Grant;
use accord_shared::ids::DocumentId;
use leptos::prelude::*;
use wasm_bindgen_futures::spawn_local;

use super::routes::invite_code_from_hash;
use super::{Route, navigate};
use crate::api::ApiError;
use crate::client_chunk::{self, ActionError};
use crate::store::Store;
use crate::sync_client::ClientError;

/// What went wrong, worded for the person who clicked the link: one
/// sentence per case, without repeating the relay's own wording.
fn explain(error: &ActionError) -> String {
    match error {
        ActionError::Client(ClientError::Api(ApiError::Status { status, message })) => {
            match status {
                404 => "This invite link is not valid: check that you opened the whole link, or ask the partner for a new one.".to_owned(),
                410 if message.contains("expired") => {
                    "This invite link has expired: ask the partner for a new one.".to_owned()
                }
                410 => "This invite link has already been used: ask the partner for a new one.".to_owned(),
                429 => "Too many attempts: wait a minute and open the link again.".to_owned(),
                _ => format!("The relay refused the invite: {message}."),
            }
        }
        ActionError::Client(e) if e.is_offline() => {
            "You are offline. Open the link again when you are connected.".to_owned()
        }
        ActionError::Unavailable(_) => {
            "Accord could not finish downloading. Open the link again when you are connected."
                .to_owned()
        }
        other => format!("Could not join: {other}"),
    }
}

/// Where the join page stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum JoinStep {
    /// Waiting for the device's stored profile to load.
    Loading,
    /// The person has not said who they are yet: asked before joining, so
    /// partners never see a placeholder name. The invite is redeemed
    /// meanwhile.
    AskingWhoYouAre,
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
    // The redeemed invite (its own signal: the form stays as it is, focus
    // and all, when the grant arrives while someone types).
    let redeemed = RwSignal::new(None::<Grant>);
    // Name and title given before the invite was redeemed.
    let chosen = StoredValue::new(None::<(String, String)>);
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    let code = invite_code_from_hash(&hash, &id);
    // Joins with a redeemed grant: fetch the partnership, become a member.
    let enter = move |grant: Grant| {
        step.set(JoinStep::Joining);
        spawn_local(async move {
            match client_chunk::enter_partnership(store, id, grant).await {
                Ok(()) => navigate(Route::Partnership(id)),
                Err(error) => step.set(JoinStep::Failed(explain(&error))),
            }
        });
    };
    // Saves the name and title given, then joins. The profile is read now,
    // not when the form was sent: redeeming may have set its organization.
    let finish = move |(name, title): (String, String), grant: Grant| {
        step.set(JoinStep::Joining);
        spawn_local(async move {
            let mut profile = store.profile.get_untracked();
            profile.name = name;
            profile.title = title;
            if let Err(error) = client_chunk::set_profile(store, profile).await {
                store.report(format!("could not save your profile: {error}"));
            }
            enter(grant);
        });
    };
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) || !store.listed.get() {
            return done.unwrap_or(false);
        }
        let Some(code) = code.clone() else {
            step.set(JoinStep::Failed(
                "This invite link is incomplete: copy the whole link and open it again.".into(),
            ));
            return true;
        };
        let asking = store.profile.with_untracked(|p| p.name.trim().is_empty());
        step.set(if asking {
            JoinStep::AskingWhoYouAre
        } else {
            JoinStep::Joining
        });
        spawn_local(async move {
            match client_chunk::redeem_invite(store, id, code).await {
                Err(error) => step.set(JoinStep::Failed(explain(&error))),
                Ok(grant) if step.get_untracked() == JoinStep::AskingWhoYouAre => {
                    redeemed.set(Some(grant));
                }
                Ok(grant) => match chosen.try_update_value(Option::take).flatten() {
                    Some(who) => finish(who, grant),
                    None => enter(grant),
                },
            }
        });
        true
    });
    let name = RwSignal::new(String::new());
    let title = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let who = (
            name.get_untracked().trim().to_owned(),
            title.get_untracked().trim().to_owned(),
        );
        if who.0.is_empty() {
            return;
        }
        if step.get_untracked() != JoinStep::AskingWhoYouAre {
            return;
        }
        match redeemed.get_untracked() {
            Some(grant) => finish(who, grant),
            None => {
                // The invite is still being redeemed: joining goes on when it is.
                chosen.set_value(Some(who));
                step.set(JoinStep::Joining);
            }
        }
    };
    view! {
        <section class="join">
            {move || match step.get() {
                JoinStep::Loading | JoinStep::Joining => view! {
                    <p class="muted" data-testid="join-progress">"Joining the partnership…"</p>
                }.into_any(),
                JoinStep::AskingWhoYouAre => view! {
                    <form class="join-who" data-testid="join-who" on:submit=submit>
                        <h1>"You are invited to a partnership"</h1>
                        <p>"Tell the partners who you are. You can change your name and title later."</p>
                        <p class="field">
                            <span>"Organization (set by the invite)"</span>
                            {move || match redeemed.get() {
                                Some(grant) => view! {
                                    <strong data-testid="join-organization">{grant.party}</strong>
                                }.into_any(),
                                None => view! {
                                    <span class="muted" data-testid="join-checking">"Checking the invite…"</span>
                                }.into_any(),
                            }}
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
            explain(&ActionError::Client(ClientError::Api(ApiError::Status {
                status,
                message: message.to_owned(),
            })))
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
