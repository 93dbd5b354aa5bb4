//! Governance: joint committees (members from both parties, mandate,
//! cadence), decision rights (what, who decides, how) and the escalation
//! ladder (levels, who handles a conflict there, within how many days).

use accord_shared::automerge::Automerge;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::ids::DocumentId;
use accord_shared::model::governance::{
    self, Committee, CommitteeFields, CommitteePatch, Decider, DecisionRight, EscalationLevel,
    MAX_DAYS, NewCommittee, Rule,
};
use accord_shared::model::{Collection, ItemId, MemberId, OpError};
use leptos::prelude::*;

use crate::components::form::{AddForm, InlineError, NameField, feedback, optional_options};
use crate::components::icon::{Glyph, Icon};
use crate::components::items::RemoveButton;
use crate::components::live_text::LiveTextArea;
use crate::components::roster::{Roster, roster};
use crate::components::rows::{ListContext, RecordList};
use crate::components::text_field::TextField;
use crate::edit::{self, apply_into, parse_whole};

/// A committee without its mandate, which the text area shows itself.
fn committee(doc: &Automerge, cid: ItemId) -> Option<Committee> {
    let mut committee = governance::committees(doc)
        .into_iter()
        .find(|c| c.id == cid)?;
    committee.fields.mandate.clear();
    Some(committee)
}

fn right(doc: &Automerge, rid: ItemId) -> Option<DecisionRight> {
    governance::decision_rights(doc)
        .into_iter()
        .find(|r| r.id == rid)
}

fn level(doc: &Automerge, lid: ItemId) -> Option<EscalationLevel> {
    governance::ladder(doc).into_iter().find(|l| l.id == lid)
}

/// A rule as people read it.
fn rule_label(rule: Rule) -> &'static str {
    match rule {
        Rule::Sole => "alone",
        Rule::AfterConsulting => "after consulting the partner",
        Rule::Consensus => "by consensus",
        Rule::Majority => "by majority vote",
        Rule::Unanimous => "unanimously",
    }
}

/// The `<select>` value of a decider.
fn decider_value(decider: Decider) -> String {
    match decider {
        Decider::Joint => "joint".to_owned(),
        Decider::Party(p) => format!("party:{p}"),
        Decider::Committee(c) => format!("committee:{c}"),
        Decider::Member(m) => format!("member:{m}"),
    }
}

/// The decider a `<select>` value names, or why not.
fn parse_decider(value: &str) -> Result<Decider, OpError> {
    let invalid = OpError::Invalid {
        field: "decider",
        reason: "choose who decides",
    };
    match value.split_once(':') {
        None if value == "joint" => Ok(Decider::Joint),
        Some(("party", id)) => id.parse().map(Decider::Party).map_err(|_| invalid),
        Some(("committee", id)) => id.parse().map(Decider::Committee).map_err(|_| invalid),
        Some(("member", id)) => id.parse().map(Decider::Member).map_err(|_| invalid),
        _ => Err(invalid),
    }
}

/// Who can decide, as people read them: jointly, a party, a committee or
/// a current member.
fn decider_choices(data: &Roster, committees: &[Committee]) -> Vec<(Decider, String)> {
    let mut choices = vec![(Decider::Joint, "Both parties jointly".to_owned())];
    choices.extend(
        data.parties
            .iter()
            .map(|p| (Decider::Party(p.id), p.fields.name.clone())),
    );
    choices.extend(
        committees
            .iter()
            .map(|c| (Decider::Committee(c.id), c.fields.name.clone())),
    );
    choices.extend(
        data.members
            .iter()
            .filter(|m| m.left_at.is_none())
            .map(|m| (Decider::Member(m.id), m.name.clone())),
    );
    choices
}

/// `<option>`s for who decides, `selected` chosen.
fn decider_options(
    choices: &[(Decider, String)],
    selected: Option<Decider>,
) -> impl IntoView + use<> {
    let choices = choices
        .iter()
        .map(|(decider, label)| (decider_value(*decider), label.clone()))
        .collect();
    optional_options("(choose)", choices, selected.map(decider_value).as_deref())
}

/// The governance page.
#[component]
pub fn GovernancePage(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let data = roster(id);
    view! {
        <h2>"Committees"</h2>
        <Committees id=id data=data/>
        <h2>"Decision rights"</h2>
        <DecisionRights id=id data=data/>
        <h2>"Escalation ladder"</h2>
        <Ladder id=id data=data/>
    }
}

/// A committee without its mandate (which the text area shows itself),
/// and who can sit on it: current members and those already on it, each
/// as `(id, name, " (party)")`.
#[derive(Debug, Clone, PartialEq)]
struct CommitteeCard {
    committee: Committee,
    eligible: Vec<(MemberId, String, String)>,
}

fn committee_card(data: &Roster, committee: Committee) -> CommitteeCard {
    let eligible = data
        .members
        .iter()
        .filter(|m| m.left_at.is_none() || committee.members.contains(&m.id))
        .map(|m| {
            let party = m
                .party
                .and_then(|p| data.parties.iter().find(|x| x.id == p))
                .map(|p| format!(" ({})", p.fields.name))
                .unwrap_or_default();
            (m.id, m.name.clone(), party)
        })
        .collect();
    CommitteeCard {
        committee,
        eligible,
    }
}

/// One committee. It re-renders only when this committee (or who may sit
/// on it) changes, and its mandate merges concurrent typing.
#[component]
fn CommitteeRow(list: ListContext<Roster>, cid: ItemId) -> impl IntoView {
    let ListContext {
        id, data, error, ..
    } = list;
    let committee = list.record(cid, committee);
    let card = Memo::new(move |_| {
        let committee = committee.get()?;
        data.with(|d| d.as_ref().map(|d| committee_card(d, committee)))
    });
    let update = list.updater(cid, |tx, cid, patch: &CommitteePatch| {
        governance::update_committee(tx, cid, patch)
    });
    let head = move || {
        let CommitteeCard { committee, .. } = card.get()?;
        Some(view! {
            <div class="row">
                <NameField value=committee.fields.name.clone() test_id="committee-name" label="Committee"
                    rename=move |name| update(CommitteePatch { name: Some(name), ..CommitteePatch::default() })/>
                <label>"Meets every "
                    <input type="number" class="narrow" data-testid="committee-cadence"
                        prop:value=committee.fields.cadence_days.to_string()
                        on:change=move |ev| match parse_whole("cadence (days)", &event_target_value(&ev), 1, MAX_DAYS) {
                            Ok(days) => update(CommitteePatch { cadence_days: Some(days), ..CommitteePatch::default() }),
                            Err(e) => error.set(Some(e.to_string())),
                        }/>
                    " days"
                </label>
                <span class="muted" data-testid="committee-parties">
                    {format!("{} member(s) from {} party(ies)", committee.members.len(), committee.parties.len())}
                </span>
                <RemoveButton id=id collection=Collection::Committees item=cid error=error test_id="committee-delete"/>
            </div>
        })
    };
    let roster = move || {
        let CommitteeCard {
            committee,
            eligible,
        } = card.get()?;
        let boxes = eligible
            .into_iter()
            .map(|(mid, name, party)| {
                let label = format!("{name}{party}");
                view! {
                    <label class="check">
                        <input type="checkbox" data-testid="committee-member" data-member=name
                            prop:checked=committee.members.contains(&mid)
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                apply_into(error, &id, |tx| governance::set_committee_member(tx, cid, mid, on));
                            }/>
                        {label}
                    </label>
                }
            })
            .collect_view();
        Some(boxes)
    };
    view! {
        <li class="card" data-testid="committee-row">
            {head}
            <LiveTextArea id=id field=TextField::CommitteeMandate(cid) error=error
                test_id="committee-mandate" label="Mandate"
                placeholder="Mandate: what it decides and oversees" rows=2/>
            <div class="row">{roster}</div>
        </li>
    }
}

#[component]
fn Committees(id: DocumentId, data: Memo<Option<Roster>>) -> impl IntoView {
    let list = ListContext::of(id, Collection::Committees, data, feedback());
    let name = RwSignal::new(String::new());
    let cadence = RwSignal::new("91".to_owned());
    let add = move |tx: &mut Transaction<'_>, item| {
        let new = NewCommittee {
            fields: CommitteeFields {
                name: name.get_untracked(),
                mandate: String::new(),
                cadence_days: parse_whole("cadence (days)", &cadence.get_untracked(), 1, MAX_DAYS)?,
            },
            members: Vec::new(),
        };
        governance::add_committee(tx, item, &new)
    };
    view! {
        <RecordList list=list error_id="committee-row-error"
            row=move |cid| view! { <CommitteeRow list=list cid=cid/> }>
            <AddForm id=id add=add done=move || name.set(String::new())
                button="Add committee" button_id="add-committee" error_id="committee-error">
                <input type="text" data-testid="new-committee-name" placeholder="New committee" aria-label="New committee" bind:value=name/>
                <label>"Meets every (days)" <input type="number" class="narrow" data-testid="new-committee-cadence" bind:value=cadence/></label>
            </AddForm>
        </RecordList>
    }
}

/// One decision right, with who may decide it.
#[component]
fn RightRow(
    list: ListContext<Roster>,
    rid: ItemId,
    choices: Memo<Vec<(Decider, String)>>,
) -> impl IntoView {
    let ListContext { id, error, .. } = list;
    let row = list.placed(rid, right);
    move || {
        let right = row.get()?.item;
        let decider = right.decider;
        let rules = Rule::ALL
            .into_iter()
            .map(|r| view! { <option value=r.as_str() selected=r == right.rule>{rule_label(r)}</option> })
            .collect_view();
        Some(view! {
            <li class="row" data-testid="right-row">
                <input type="text" class="grow" data-testid="right-decision" aria-label="Decision"
                    prop:value=right.decision.clone()
                    on:change=move |ev| {
                        let text = event_target_value(&ev);
                        apply_into(error, &id, |tx| governance::update_decision_right(tx, rid, Some(&text), None, None));
                    }/>
                <select data-testid="right-decider" aria-label="Who decides"
                    on:change=move |ev| match parse_decider(&event_target_value(&ev)) {
                        Ok(decider) => { apply_into(error, &id, |tx| governance::update_decision_right(tx, rid, None, Some(decider), None)); }
                        Err(e) => error.set(Some(e.to_string())),
                    }>
                    {move || choices.with(|c| decider_options(c, decider))}
                </select>
                <select data-testid="right-rule" aria-label="How"
                    on:change=move |ev| {
                        let rule = Rule::from_stored(&event_target_value(&ev));
                        apply_into(error, &id, |tx| governance::update_decision_right(tx, rid, None, None, rule));
                    }>
                    {rules}
                </select>
                <RemoveButton id=id collection=Collection::DecisionRights item=rid error=error test_id="right-delete"/>
            </li>
        })
    }
}

#[component]
fn DecisionRights(id: DocumentId, data: Memo<Option<Roster>>) -> impl IntoView {
    let error = feedback();
    let list = ListContext::of(id, Collection::DecisionRights, data, error);
    // Who can decide, shared by every row and the form.
    let committees = ListContext::of(id, Collection::Committees, data, error).each(committee);
    let choices = Memo::new(move |_| {
        committees.with(|committees| {
            data.with(|d| {
                d.as_ref()
                    .map(|d| decider_choices(d, committees))
                    .unwrap_or_default()
            })
        })
    });
    let decision = RwSignal::new(String::new());
    let decider = RwSignal::new("joint".to_owned());
    let rule = RwSignal::new(Rule::Consensus.as_str().to_owned());
    let add = move |tx: &mut Transaction<'_>, item| {
        let who = parse_decider(&decider.get_untracked())?;
        let how = Rule::from_stored(&rule.get_untracked()).unwrap_or(Rule::Consensus);
        governance::add_decision_right(tx, item, &decision.get_untracked(), who, how)
    };
    let deciders = move || choices.with(|c| decider_options(c, Some(Decider::Joint)));
    let rules = Rule::ALL
        .into_iter()
        .map(|r| view! { <option value=r.as_str() selected=r == Rule::Consensus>{rule_label(r)}</option> })
        .collect_view();
    view! {
        <RecordList list=list error_id="right-row-error" class="plain"
            row=move |rid| view! { <RightRow list=list rid=rid choices=choices/> }>
            <AddForm id=id add=add done=move || decision.set(String::new())
                button="Add decision right" button_id="add-right" error_id="right-error">
                <input type="text" class="grow" data-testid="new-right-decision" placeholder="What is decided" aria-label="Decision" bind:value=decision/>
                <select data-testid="new-right-decider" aria-label="Who decides" bind:value=decider>{deciders}</select>
                <select data-testid="new-right-rule" aria-label="How" bind:value=rule>{rules}</select>
            </AddForm>
        </RecordList>
    }
}

/// One level of the ladder, with its place in it.
#[component]
fn LevelRow(list: ListContext<Roster>, lid: ItemId) -> impl IntoView {
    let ListContext { id, error, .. } = list;
    let row = list.placed(lid, level);
    move || {
        let (level, index, count) = row.get()?.parts();
        Some(view! {
            <li class="row" data-testid="level-row">
                <span class="badge kind">{format!("Level {}", index + 1)}</span>
                <input type="text" data-testid="level-name" aria-label="Level"
                    prop:value=level.name.clone()
                    on:change=move |ev| {
                        let name = event_target_value(&ev);
                        apply_into(error, &id, |tx| governance::update_level(tx, lid, Some(&name), None, None));
                    }/>
                <input type="text" class="grow" data-testid="level-who" aria-label="Who handles it"
                    prop:value=level.who.clone()
                    on:change=move |ev| {
                        let who = event_target_value(&ev);
                        apply_into(error, &id, |tx| governance::update_level(tx, lid, None, Some(&who), None));
                    }/>
                <label>"within "
                    <input type="number" class="narrow" data-testid="level-days"
                        prop:value=level.within_days.to_string()
                        on:change=move |ev| match parse_whole("within (days)", &event_target_value(&ev), 1, MAX_DAYS) {
                            Ok(days) => { apply_into(error, &id, |tx| governance::update_level(tx, lid, None, None, Some(days))); }
                            Err(e) => error.set(Some(e.to_string())),
                        }/>
                    " days"
                </label>
                <button type="button" class="link" data-testid="level-up" disabled=index == 0
                    on:click=move |_| { apply_into(error, &id, |tx| governance::move_level(tx, lid, index.saturating_sub(1))); }>
                    <Glyph icon=Icon::ArrowUp/>
                </button>
                <button type="button" class="link" data-testid="level-down" disabled=index + 1 == count
                    on:click=move |_| { apply_into(error, &id, |tx| governance::move_level(tx, lid, index + 1)); }>
                    <Glyph icon=Icon::ArrowDown/>
                </button>
                <button type="button" class="link danger" data-testid="level-delete"
                    on:click=move |_| { apply_into(error, &id, |tx| accord_shared::model::conflicts::delete_level(tx, lid, edit::now())); }>
                    "Remove"
                </button>
            </li>
        })
    }
}

#[component]
fn Ladder(id: DocumentId, data: Memo<Option<Roster>>) -> impl IntoView {
    let error = feedback();
    let list = ListContext::of(id, Collection::EscalationLevels, data, error);
    let name = RwSignal::new(String::new());
    let who = RwSignal::new(String::new());
    let days = RwSignal::new("14".to_owned());
    let add = move |tx: &mut Transaction<'_>, item| {
        let within = parse_whole("within (days)", &days.get_untracked(), 1, MAX_DAYS)?;
        governance::add_level(
            tx,
            item,
            &name.get_untracked(),
            &who.get_untracked(),
            within,
        )
    };
    let done = move || {
        name.set(String::new());
        who.set(String::new());
    };
    view! {
        <p class="muted">"A conflict starts at the first level; escalating moves it one level up."</p>
        <ol class="plain ladder">
            <For each=move || list.order().get() key=|lid| *lid let:lid>
                <LevelRow list=list lid=lid/>
            </For>
        </ol>
        <InlineError message=error test_id="level-row-error"/>
        <AddForm id=id add=add done=done button="Add level" button_id="add-level" error_id="level-error">
            <input type="text" data-testid="new-level-name" placeholder="Level (e.g. Partnership managers)" aria-label="Level" bind:value=name/>
            <input type="text" class="grow" data-testid="new-level-who" placeholder="Who handles it" aria-label="Who" bind:value=who/>
            <label>"Resolve within (days)" <input type="number" class="narrow" data-testid="new-level-days" bind:value=days/></label>
        </AddForm>
        <crate::components::items::RemovedItems id=id collection=Collection::EscalationLevels/>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deciders_round_trip_through_the_select_value() {
        let party = accord_shared::model::PartyId::from_bytes([7; 16]);
        let member = MemberId::from_bytes([9; 16]);
        for decider in [
            Decider::Joint,
            Decider::Party(party),
            Decider::Member(member),
        ] {
            assert_eq!(parse_decider(&decider_value(decider)).unwrap(), decider);
        }
        assert!(parse_decider("").is_err());
        assert!(parse_decider("party:nonsense!").is_err());
    }
}
