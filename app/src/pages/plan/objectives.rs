//! Objectives and KPIs: objectives with owner party, deliverables, due date
//! and status; KPIs, quantitative (unit, baseline, target, direction) or
//! qualitative (rating scale), with a cadence, a measurement log, a trend
//! chart with the target line, and health derived from the latest values.

use accord_shared::automerge::Automerge;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::ids::DocumentId;
use accord_shared::model::boards::convert::ItemLink;
use accord_shared::model::kpis::{
    self, Direction, Health, Kpi, KpiKind, KpiPatch, MeasurementPatch, NewKpi, NewMeasurement,
};
use accord_shared::model::members::Member;
use accord_shared::model::objectives::{
    self, NewObjective, Objective, ObjectivePatch, ObjectiveStatus,
};
use accord_shared::model::parties::Party;
use accord_shared::model::{Collection, ItemId, OpError, PartyId};
use leptos::prelude::*;

use crate::components::chart::TrendChart;
use crate::components::form::{
    AddForm, InlineError, NameField, feedback, on_add, optional_options,
};
use crate::components::from_note::FromNote;
use crate::components::items::RemoveButton;
use crate::components::live_text::LiveTextArea;
use crate::components::roster::Roster;
use crate::components::rows::{ListContext, RecordList};
use crate::components::text_field::TextField;
use crate::edit::{
    self, apply_into, format_date, format_opt_date, parse_date, parse_number, parse_whole,
};

/// An objective without its deliverables, which the text area shows.
fn without_prose(doc: &Automerge, oid: ItemId) -> Option<Objective> {
    let mut objective = objectives::get(doc, oid).ok()?;
    objective.fields.deliverables.clear();
    Some(objective)
}

/// A KPI with its measurements.
fn kpi(doc: &Automerge, kid: ItemId) -> Option<Kpi> {
    kpis::get(doc, kid).ok()
}

/// A status as people read it ("in progress").
fn status_label(status: ObjectiveStatus) -> String {
    status.as_str().replace('_', " ")
}

/// The health badge's text and CSS class.
fn health_label(health: Health) -> (&'static str, &'static str) {
    match health {
        Health::NoData => ("no data", "health none"),
        Health::OffTrack => ("off track", "health off"),
        Health::AtRisk => ("at risk", "health risk"),
        Health::OnTrack => ("on track", "health on"),
    }
}

/// The target of a KPI as a line for the chart, and as text.
fn target_of(kind: &KpiKind) -> (f64, String) {
    match kind {
        KpiKind::Quantitative {
            unit,
            baseline,
            target,
            direction,
        } => {
            let arrow = if *direction == Direction::Up {
                "↑"
            } else {
                "↓"
            };
            (*target, format!("{baseline} → {target} {unit} {arrow}"))
        }
        KpiKind::Qualitative { scale, target } => {
            (f64::from(*target), format!("rating {target} of {scale}"))
        }
    }
}

/// When a measurement dated `text` was taken: the current time when it is
/// dated today (so several measurements of one day keep their order and the
/// latest one drives the health), else that day's UTC midnight.
fn measured_at(text: &str, now: u64) -> Result<u64, OpError> {
    let day = parse_date("date", text)?.ok_or(OpError::InvalidDate { field: "date" })?;
    Ok(if format_date(day) == format_date(now) {
        now
    } else {
        day
    })
}

/// Party choices for an objective's owner.
fn party_options(parties: &[Party], selected: Option<PartyId>) -> impl IntoView + use<> {
    let choices = parties
        .iter()
        .map(|p| (p.id.key(), p.fields.name.clone()))
        .collect();
    optional_options("(no owner)", choices, selected.map(|p| p.key()).as_deref())
}

/// The objectives and KPIs page.
#[component]
pub fn ObjectivesPage(
    /// The partnership.
    id: DocumentId,
) -> impl IntoView {
    let list = ListContext::with_roster(id, Collection::Objectives);
    // Every objective, for the KPIs' choice of objective.
    let all = list.each(without_prose);
    view! {
        <h2>"Objectives"</h2>
        <RecordList list=list error_id="objective-row-error"
            row=move |oid| view! { <ObjectiveRow list=list oid=oid/> }>
            <NewObjectiveForm id=id parties=list.parties()/>
        </RecordList>
        <h2>"KPIs"</h2>
        <KpiList list=ListContext::of(id, Collection::Kpis, list.data, feedback()) objectives=all/>
        <NewKpiForm id=id objectives=all/>
        <crate::components::items::RemovedItems id=id collection=Collection::Kpis/>
    }
}

/// One objective. Its fields re-render only when this objective (or its
/// place in the list) changes, and the deliverables take every keystroke as
/// a splice, so a partner's edit never drops what is being typed here.
#[component]
fn ObjectiveRow(list: ListContext<Roster>, oid: ItemId) -> impl IntoView {
    let ListContext { id, error, .. } = list;
    let objective = list.placed(oid, without_prose);
    let parties = list.parties();
    let update = list.updater(oid, |tx, oid, patch| objectives::update(tx, oid, patch));
    let fields = move || {
        let (objective, index, count) = objective.get()?.parts();
        let statuses = ObjectiveStatus::ALL
            .into_iter()
            .map(|s| {
                let chosen = s == objective.status;
                view! { <option value=s.as_str() selected=chosen>{status_label(s)}</option> }
            })
            .collect_view();
        Some(view! {
            <div class="row">
                <NameField value=objective.fields.title.clone() test_id="objective-title" label="Objective"
                    rename=move |title| update(ObjectivePatch { title: Some(title), ..ObjectivePatch::default() })/>
                <select data-testid="objective-status" aria-label="Status"
                    on:change=move |ev| {
                        match event_target_value(&ev).parse::<ObjectiveStatus>() {
                            Ok(status) => update(ObjectivePatch { status: Some(status), ..ObjectivePatch::default() }),
                            Err(e) => error.set(Some(e.to_string())),
                        }
                    }>
                    {statuses}
                </select>
            </div>
            <div class="row">
                <label>"Owner "
                    <select data-testid="objective-owner"
                        on:change=move |ev| {
                            let owner = event_target_value(&ev).parse::<PartyId>().ok();
                            update(ObjectivePatch { owner: Some(owner), ..ObjectivePatch::default() });
                        }>
                        {party_options(&parties.get(), objective.fields.owner)}
                    </select>
                </label>
                <label>"Due "
                    <input type="date" min=crate::edit::DATE_MIN max=crate::edit::DATE_MAX data-testid="objective-due"
                        prop:value=format_opt_date(objective.fields.due)
                        on:change=move |ev| {
                            match parse_date("due date", &event_target_value(&ev)) {
                                Ok(due) => update(ObjectivePatch { due: Some(due), ..ObjectivePatch::default() }),
                                Err(e) => error.set(Some(e.to_string())),
                            }
                        }/>
                </label>
                <crate::components::items::MoveButtons id=id collection=Collection::Objectives item=oid index=index count=count error=error/>
                <RemoveButton id=id collection=Collection::Objectives item=oid error=error test_id="objective-delete"/>
            </div>
        })
    };
    view! {
        <li class="card" data-testid="objective-row">
            <FromNote id=id link=ItemLink::Objective(oid)/>
            {fields}
            <LiveTextArea id=id field=TextField::ObjectiveDeliverables(oid) error=error
                test_id="objective-deliverables" label="Deliverables" placeholder="Deliverables" rows=2/>
        </li>
    }
}

#[component]
fn NewObjectiveForm(id: DocumentId, parties: Memo<Vec<Party>>) -> impl IntoView {
    let error = feedback();
    let title = RwSignal::new(String::new());
    let due = RwSignal::new(String::new());
    let owner = RwSignal::new(String::new());
    let submit = move |tx: &mut Transaction<'_>, item| {
        let new = NewObjective {
            title: title.get_untracked(),
            owner: owner.get_untracked().parse::<PartyId>().ok(),
            deliverables: String::new(),
            due: parse_date("due date", &due.get_untracked())?,
        };
        objectives::add(tx, item, &new, edit::now())
    };
    let submit_done = move || {
        title.set(String::new());
        due.set(String::new());
    };
    let parties = move || parties.with(|parties| party_options(parties, None));
    view! {
        <AddForm id=id add=submit done=submit_done error=error
            button="Add objective" button_id="add-objective" error_id="objective-error">
            <input type="text" data-testid="new-objective-title" placeholder="New objective" aria-label="New objective" bind:value=title/>
            <select data-testid="new-objective-owner" aria-label="Owner party" bind:value=owner>{parties}</select>
            <input type="date" min=crate::edit::DATE_MIN max=crate::edit::DATE_MAX data-testid="new-objective-due" aria-label="Due date" bind:value=due/>
        </AddForm>
    }
}

/// The KPIs, each card drawn again only when its KPI (with its
/// measurements), the members or the objectives' titles change.
#[component]
fn KpiList(list: ListContext<Roster>, objectives: Memo<Vec<Objective>>) -> impl IntoView {
    let members = list.members();
    let card = move |kid: ItemId| {
        let kpi = list.placed(kid, kpi);
        move || {
            kpi.get().map(|placed| {
                let (kpi, index, count) = placed.parts();
                view! {
                    <KpiCard id=list.id kpi=kpi members=members.get()
                        objectives=objectives.get() index=index count=count/>
                }
            })
        }
    };
    view! {
        <For each=move || list.order().get() key=|kid| *kid children=card/>
    }
}

#[component]
fn KpiCard(
    id: DocumentId,
    kpi: Kpi,
    members: Vec<Member>,
    objectives: Vec<Objective>,
    index: usize,
    count: usize,
) -> impl IntoView {
    let error = feedback();
    let kid = kpi.id;
    let linked = kpi.fields.objective;
    let objective_options = objectives
        .iter()
        .map(|o| view! { <option value=o.id.key() selected=linked == Some(o.id)>{o.fields.title.clone()}</option> })
        .collect_view();
    let link_objective = move |ev: leptos::ev::Event| {
        let objective = event_target_value(&ev).parse::<ItemId>().ok();
        let patch = KpiPatch {
            objective: Some(objective),
            ..KpiPatch::default()
        };
        apply_into(error, &id, |tx| kpis::update(tx, kid, &patch));
    };
    let (target, target_text) = target_of(&kpi.fields.kind);
    let (health_text, health_class) = health_label(kpi.health);
    let points: Vec<(u64, f64)> = kpi.measurements.iter().map(|m| (m.at, m.value)).collect();
    let who = move |by: Option<accord_shared::model::MemberId>| {
        by.and_then(|b| members.iter().find(|m| m.id == b))
            .map(|m| m.name.clone())
            .unwrap_or_default()
    };
    let log = kpi
        .measurements
        .iter()
        .rev()
        .map(|m| {
            let mid = m.id;
            let correct = move |patch: MeasurementPatch| {
                apply_into(error, &id, |tx| kpis::update_measurement(tx, kid, mid, &patch));
            };
            view! {
                <tr data-testid="measurement-row">
                    <td>
                        <input type="date" min=crate::edit::DATE_MIN max=crate::edit::DATE_MAX data-testid="measurement-row-date" aria-label="Date"
                            prop:value=format_date(m.at)
                            on:change=move |ev| match parse_date("date", &event_target_value(&ev)) {
                                Ok(Some(at)) => correct(MeasurementPatch { at: Some(at), ..MeasurementPatch::default() }),
                                Ok(None) => error.set(Some(OpError::InvalidDate { field: "date" }.to_string())),
                                Err(e) => error.set(Some(e.to_string())),
                            }/>
                    </td>
                    <td>
                        <input type="text" inputmode="decimal" class="narrow" data-testid="measurement-value"
                            aria-label="Value" prop:value=m.value.to_string()
                            on:change=move |ev| match parse_number("value", &event_target_value(&ev)) {
                                Ok(v) => correct(MeasurementPatch { value: Some(v), ..MeasurementPatch::default() }),
                                Err(e) => error.set(Some(e.to_string())),
                            }/>
                    </td>
                    <td>
                        <input type="text" data-testid="measurement-row-note" aria-label="Note"
                            prop:value=m.note.clone()
                            on:change=move |ev| correct(MeasurementPatch { note: Some(event_target_value(&ev)), ..MeasurementPatch::default() })/>
                    </td>
                    <td>{who(m.by)}</td>
                    <td>
                        <RemoveButton id=id collection=Collection::Measurements { kpi: kid } item=mid error=error test_id="measurement-delete"/>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let value = RwSignal::new(String::new());
    let date = RwSignal::new(format_date(edit::now()));
    let note = RwSignal::new(String::new());
    let record = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let by = match edit::me_or_error(&id) {
            Ok(by) => by,
            Err(e) => return error.set(Some(e.to_string())),
        };
        let Some(item) = edit::new_id(error) else {
            return;
        };
        let made = apply_into(error, &id, |tx| {
            let new = NewMeasurement {
                value: parse_number("value", &value.get_untracked())?,
                note: note.get_untracked(),
                at: measured_at(&date.get_untracked(), edit::now())?,
                by,
            };
            kpis::record(tx, kid, item, &new)
        });
        if made {
            value.set(String::new());
            note.set(String::new());
        }
    };
    let next_due = kpi.next_due.map(format_date);
    view! {
        <section class="card kpi" data-testid="kpi-card">
            <div class="row">
                <input type="text" class="grow" data-testid="kpi-name" aria-label="KPI"
                    prop:value=kpi.fields.name.clone()
                    on:change=move |ev| {
                        let patch = KpiPatch { name: Some(event_target_value(&ev)), ..KpiPatch::default() };
                        apply_into(error, &id, |tx| kpis::update(tx, kid, &patch));
                    }/>
                <span class=health_class data-testid="kpi-health">{health_text}</span>
                <select data-testid="kpi-objective" aria-label="Objective" on:change=link_objective>
                    <option value="" selected=linked.is_none()>"(no objective)"</option>
                    {objective_options}
                </select>
                <crate::components::items::MoveButtons id=id collection=Collection::Kpis item=kid index=index count=count error=error/>
                <RemoveButton id=id collection=Collection::Kpis item=kid error=error test_id="kpi-delete"/>
            </div>
            <p class="muted">
                <span data-testid="kpi-target">{target_text}</span>
                {format!(" · every {} days", kpi.fields.cadence_days)}
                {next_due.map(|d| format!(" · next measurement {d}"))}
            </p>
            <KpiSettings id=id kpi=kpi.clone()/>
            <TrendChart points=points target=target label=kpi.fields.name.clone()/>
            <table class="log">
                <thead><tr><th>"Date"</th><th>"Value"</th><th>"Note"</th><th>"By"</th><th></th></tr></thead>
                <tbody>{log}</tbody>
            </table>
            <form class="inline-form" on:submit=record>
                <input type="text" inputmode="decimal" class="narrow" data-testid="measurement-value-input" placeholder="Value" aria-label="Value" bind:value=value/>
                <input type="date" min=crate::edit::DATE_MIN max=crate::edit::DATE_MAX data-testid="measurement-date" aria-label="Date" bind:value=date/>
                <input type="text" data-testid="measurement-note" placeholder="Note" aria-label="Note" bind:value=note/>
                <button type="submit" data-testid="record-measurement">"Record"</button>
            </form>
            <InlineError message=error test_id="measurement-error"/>
            <crate::components::items::RemovedItems id=id collection=Collection::Measurements { kpi: kid }/>
        </section>
    }
}

/// The KPI's unit, baseline, target, direction (or rating scale and
/// target) and cadence, changed together and validated as the new KPI
/// form is.
#[component]
fn KpiSettings(id: DocumentId, kpi: Kpi) -> impl IntoView {
    let error = feedback();
    let kid = kpi.id;
    let qualitative = matches!(kpi.fields.kind, KpiKind::Qualitative { .. });
    let (unit, baseline, target, direction, scale) = match &kpi.fields.kind {
        KpiKind::Quantitative {
            unit,
            baseline,
            target,
            direction,
        } => (
            unit.clone(),
            baseline.to_string(),
            target.to_string(),
            if *direction == Direction::Down {
                "down"
            } else {
                "up"
            },
            "5".to_owned(),
        ),
        KpiKind::Qualitative { scale, target } => (
            String::new(),
            String::new(),
            target.to_string(),
            "up",
            scale.to_string(),
        ),
    };
    let fields = KindFields::new(unit, baseline, target, direction, scale);
    let KindFields {
        unit,
        baseline,
        target,
        direction,
        scale,
    } = fields;
    let cadence = RwSignal::new(kpi.fields.cadence_days.to_string());
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        apply_into(error, &id, |tx| {
            let kind = fields.read(qualitative)?;
            let patch = KpiPatch {
                kind: Some(kind),
                cadence_days: Some(parse_whole(
                    "cadence",
                    &cadence.get_untracked(),
                    1,
                    kpis::MAX_CADENCE_DAYS,
                )?),
                ..KpiPatch::default()
            };
            kpis::update(tx, kid, &patch)
        });
    };
    view! {
        <details class="kpi-settings">
            <summary data-testid="kpi-settings">"Change target or cadence"</summary>
            <form class="inline-form" on:submit=save>
                {if qualitative {
                    view! {
                        <label>"Scale 1–"<input type="text" class="narrow" data-testid="kpi-edit-scale" bind:value=scale/></label>
                    }.into_any()
                } else {
                    view! {
                        <label>"Unit "<input type="text" class="narrow" data-testid="kpi-edit-unit" bind:value=unit/></label>
                        <label>"Baseline "<input type="text" class="narrow" data-testid="kpi-edit-baseline" bind:value=baseline/></label>
                        <select data-testid="kpi-edit-direction" aria-label="Direction" bind:value=direction>
                            <option value="up">"higher is better"</option>
                            <option value="down">"lower is better"</option>
                        </select>
                    }.into_any()
                }}
                <label>"Target "<input type="text" class="narrow" data-testid="kpi-edit-target" bind:value=target/></label>
                <label>"Measure every (days)" <input type="text" class="narrow" data-testid="kpi-edit-cadence" bind:value=cadence/></label>
                <button type="submit" data-testid="kpi-edit-save">"Save"</button>
            </form>
            <InlineError message=error test_id="kpi-edit-error"/>
        </details>
    }
}

/// The fields of a KPI's kind, as typed into a form.
#[derive(Clone, Copy)]
struct KindFields {
    unit: RwSignal<String>,
    baseline: RwSignal<String>,
    target: RwSignal<String>,
    direction: RwSignal<String>,
    scale: RwSignal<String>,
}

impl KindFields {
    fn new(unit: String, baseline: String, target: String, direction: &str, scale: String) -> Self {
        Self {
            unit: RwSignal::new(unit),
            baseline: RwSignal::new(baseline),
            target: RwSignal::new(target),
            direction: RwSignal::new(direction.to_owned()),
            scale: RwSignal::new(scale),
        }
    }

    /// The kind the fields describe (a rating when `qualitative`), or the
    /// first field that does not parse.
    fn read(self, qualitative: bool) -> Result<KpiKind, OpError> {
        if qualitative {
            let scale = parse_whole(
                "scale",
                &self.scale.get_untracked(),
                2,
                u32::from(kpis::MAX_SCALE),
            )?;
            let target = parse_whole("target", &self.target.get_untracked(), 1, scale)?;
            return Ok(KpiKind::Qualitative {
                scale: u8::try_from(scale).unwrap_or(kpis::MAX_SCALE),
                target: u8::try_from(target).unwrap_or(1),
            });
        }
        Ok(KpiKind::Quantitative {
            unit: self.unit.get_untracked(),
            baseline: parse_number("baseline", &self.baseline.get_untracked())?,
            target: parse_number("target", &self.target.get_untracked())?,
            direction: if self.direction.get_untracked() == "down" {
                Direction::Down
            } else {
                Direction::Up
            },
        })
    }
}

#[component]
fn NewKpiForm(id: DocumentId, objectives: Memo<Vec<Objective>>) -> impl IntoView {
    let error = feedback();
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new("quantitative".to_owned());
    let fields = KindFields::new(
        String::new(),
        "0".to_owned(),
        String::new(),
        "up",
        "5".to_owned(),
    );
    let cadence = RwSignal::new("30".to_owned());
    let objective = RwSignal::new(String::new());
    let submit = move |tx: &mut Transaction<'_>, item| {
        let new = NewKpi {
            name: name.get_untracked(),
            objective: objective.get_untracked().parse::<ItemId>().ok(),
            kind: fields.read(kind.get_untracked() == "qualitative")?,
            cadence_days: parse_whole(
                "cadence",
                &cadence.get_untracked(),
                1,
                kpis::MAX_CADENCE_DAYS,
            )?,
        };
        kpis::add(tx, item, &new, edit::now())
    };
    let submit_done = move || {
        name.set(String::new());
        fields.target.set(String::new());
    };
    let objective_options = move || {
        objectives.with(|all| {
            all.iter()
                .map(|o| view! { <option value=o.id.key()>{o.fields.title.clone()}</option> })
                .collect_view()
        })
    };
    let quantitative = move || kind.get() != "qualitative";
    view! {
        <form class="stacked-form" on:submit=on_add(error, id, submit, submit_done)>
            <div class="row">
                <input type="text" class="grow" data-testid="new-kpi-name" placeholder="New KPI" aria-label="New KPI" bind:value=name/>
                <select data-testid="new-kpi-kind" aria-label="Kind" bind:value=kind>
                    <option value="quantitative">"quantitative"</option>
                    <option value="qualitative">"qualitative (rating)"</option>
                </select>
                <select data-testid="new-kpi-objective" aria-label="Objective" bind:value=objective>
                    <option value="">"(no objective)"</option>
                    {objective_options}
                </select>
            </div>
            <div class="row">
                <Show when=quantitative fallback=move || view! {
                    <label>"Scale 1–" <input type="number" class="narrow" data-testid="new-kpi-scale" bind:value=fields.scale/></label>
                }>
                    <label>"Unit " <input type="text" class="narrow" data-testid="new-kpi-unit" placeholder="%" bind:value=fields.unit/></label>
                    <label>"Baseline " <input type="text" inputmode="decimal" class="narrow" data-testid="new-kpi-baseline" bind:value=fields.baseline/></label>
                    <label>"Direction "
                        <select data-testid="new-kpi-direction" bind:value=fields.direction>
                            <option value="up">"higher is better"</option>
                            <option value="down">"lower is better"</option>
                        </select>
                    </label>
                </Show>
                <label>"Target " <input type="text" inputmode="decimal" class="narrow" data-testid="new-kpi-target" bind:value=fields.target/></label>
                <label>"Measure every (days)" <input type="number" class="narrow" data-testid="new-kpi-cadence" bind:value=cadence/></label>
                <button type="submit" data-testid="add-kpi">"Add KPI"</button>
            </div>
        </form>
        <InlineError message=error test_id="kpi-error"/>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measurements_of_today_keep_the_time_of_day() {
        let midnight = 1_795_392_000_000; // 2026-11-23
        let now = midnight + 15 * 3_600_000;
        assert_eq!(measured_at("2026-11-23", now).unwrap(), now);
        assert_eq!(
            measured_at("2026-11-20", now).unwrap(),
            midnight - 3 * 86_400_000
        );
        assert_eq!(
            measured_at("", now).unwrap_err().to_string(),
            "date must be a date from 1 January 2000 to 31 December 2199"
        );
    }
}
