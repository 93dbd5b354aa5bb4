//! Roles: the RACI matrix (activities × current members), with an inline
//! warning on each activity that lacks exactly one Accountable or at least
//! one Responsible.

use accord_shared::automerge::Automerge;
use accord_shared::ids::DocumentId;
use accord_shared::model::members::{self, Member};
use accord_shared::model::raci::{self, ActivityIssue, Raci, Role};
use accord_shared::model::{Collection, ItemId, MemberId, touched};
use leptos::prelude::*;

use crate::components::form::{Feedback, InlineError, feedback};
use crate::components::items::RemoveButton;
use crate::components::rows::{self, ListContext, Placed};
use crate::edit::{self, apply_into};

#[derive(Debug, Clone, PartialEq)]
struct Data {
    raci: Raci,
    issues: Vec<ActivityIssue>,
    members: Vec<Member>,
}

fn load(doc: &Automerge) -> Data {
    Data {
        raci: raci::read(doc),
        issues: raci::issues(doc),
        members: members::list(doc)
            .into_iter()
            .filter(|m| m.left_at.is_none())
            .collect(),
    }
}

/// The cell choices: empty, then R, A, C, I.
const ROLES: [Role; 4] = [
    Role::Responsible,
    Role::Accountable,
    Role::Consulted,
    Role::Informed,
];

/// The warning shown under an activity, or `None` when it is fine.
fn warning(issues: &[ActivityIssue], activity: ItemId) -> Option<String> {
    issues
        .iter()
        .find(|i| i.activity == activity)
        .filter(|i| !i.problems.is_empty())
        .map(|i| {
            let text = i
                .problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            format!("Check: {text}")
        })
}

/// The roles page.
#[component]
pub fn RolesPage(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let data = rows::watched(id, vec![touched::raci(), touched::members()], load);
    let error = feedback();
    let activities = rows::ids(data, |d| &d.raci.activities, |a| a.id);
    let members = Memo::new(move |_| {
        data.with(|d| {
            d.as_ref()
                .map(|d| {
                    d.members
                        .iter()
                        .map(|m| (m.id, m.name.clone()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let header = move || {
        members
            .get()
            .into_iter()
            .map(|(_, name)| view! { <th scope="col" data-testid="raci-member">{name}</th> })
            .collect_view()
    };
    let no_members = move || {
        members.with(Vec::is_empty).then(|| view! {
            <p class="muted">"No members yet: people appear here once they join the partnership."</p>
        })
    };
    let matrix = view! {
        <table class="matrix raci" tabindex="0" aria-label="Responsibility matrix">
            <thead><tr><th scope="col">"Activity"</th>{header}<th></th></tr></thead>
            <tbody>
                <For each=move || activities.get() key=|aid| *aid let:aid>
                    <ActivityRow list=ListContext::new(id, data, error) aid=aid members=members/>
                </For>
            </tbody>
        </table>
        {no_members}
    };
    let name = RwSignal::new(String::new());
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(item) = edit::new_id(error) else {
            return;
        };
        if apply_into(error, &id, |tx| {
            raci::add_activity(tx, item, &name.get_untracked())
        }) {
            name.set(String::new());
        }
    };
    view! {
        <p class="muted">"R responsible · A accountable (exactly one) · C consulted · I informed"</p>
        {matrix}
        <form class="inline-form" on:submit=add>
            <input type="text" data-testid="new-activity" placeholder="New activity" aria-label="New activity" bind:value=name/>
            <button type="submit" data-testid="add-activity">"Add activity"</button>
        </form>
        <InlineError message=error test_id="raci-error"/>
        <crate::components::items::RemovedItems id=id collection=Collection::Activities/>
    }
}

/// One activity: its name and warning, and a role cell per member. It
/// re-renders only when this activity, its cells or the members change, so
/// a partner filling in another row never takes the name being typed here.
#[component]
fn ActivityRow(
    list: ListContext<Data>,
    aid: ItemId,
    members: Memo<Vec<(MemberId, String)>>,
) -> impl IntoView {
    let ListContext {
        id, data, error, ..
    } = list;
    let row = rows::placed(data, |d| &d.raci.activities, |a| a.id, aid);
    let roles = Memo::new(move |_| {
        let members = members.get();
        data.with(|d| {
            d.as_ref()
                .map(|d| {
                    members
                        .iter()
                        .map(|(mid, name)| {
                            (*mid, name.clone(), d.raci.cells.get(&(aid, *mid)).copied())
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let warn = Memo::new(move |_| data.with(|d| d.as_ref().and_then(|d| warning(&d.issues, aid))));
    let name = move || {
        let activity = row.get()?.item;
        Some(view! {
            <input type="text" data-testid="activity-name" aria-label="Activity"
                prop:value=activity.name
                on:change=move |ev| {
                    let name = event_target_value(&ev);
                    apply_into(error, &id, |tx| raci::rename_activity(tx, aid, &name));
                }/>
        })
    };
    let cells = move || {
        roles
            .get()
            .into_iter()
            .map(|(mid, member, role)| role_cell(id, aid, mid, &member, role, error))
            .collect_view()
    };
    let actions = move || {
        let Placed { index, count, .. } = row.get()?;
        Some(view! {
            <crate::components::items::MoveButtons id=id collection=Collection::Activities item=aid index=index count=count error=error/>
        })
    };
    view! {
        <tr data-testid="raci-row" class:warn=move || warn.with(Option::is_some)>
            <th scope="row">
                {name}
                {move || warn.get().map(|w| view! { <p class="inline-warning" data-testid="raci-warning">{w}</p> })}
            </th>
            {cells}
            <td>
                {actions}
                <RemoveButton id=id collection=Collection::Activities item=aid error=error test_id="activity-delete"/>
            </td>
        </tr>
    }
}

/// One cell: a select of nothing / R / A / C / I.
fn role_cell(
    id: DocumentId,
    activity: ItemId,
    mid: MemberId,
    member: &str,
    role: Option<Role>,
    error: Feedback,
) -> impl IntoView + use<> {
    let options = ROLES
        .into_iter()
        .map(|r| view! { <option value=r.letter() selected=role == Some(r)>{r.letter()}</option> })
        .collect_view();
    view! {
        <td>
            <select data-testid="raci-cell" data-member=member.to_owned()
                aria-label=format!("Role of {member}")
                on:change=move |ev| {
                    let text = event_target_value(&ev);
                    match (!text.is_empty()).then(|| text.parse::<Role>()).transpose() {
                        Ok(role) => {
                            apply_into(error, &id, |tx| raci::assign(tx, activity, mid, role));
                        }
                        Err(e) => error.set(Some(e.to_string())),
                    }
                }>
                <option value="" selected=role.is_none()>"–"</option>
                {options}
            </select>
        </td>
    }
}
