//! The plan pages of one partnership (issue 5): vetting, objectives and KPIs,
//! roles (RACI), communication plan and milestones, each at
//! `#/p/<id>/<slug>`, plus [`overview_panels`] for the overview page and
//! the page kinds ([`PlanPage`]) the navigation links to.
//!
//! Every form goes through [`crate::edit`]: a model op validates the input and
//! either writes only the fields that changed or refuses, in which case the
//! op's message is shown inline and the document is unchanged.

pub mod comm_plan;
pub mod milestones;
pub mod objectives;
pub mod overview_panels;
pub mod roles;
pub mod vetting;

use accord_shared::model::MemberId;
use accord_shared::model::members::Member;
use leptos::prelude::*;

use crate::components::form::optional_options;

/// `<option>`s choosing the owner among `members` (or no owner),
/// `selected` chosen.
pub fn owner_options(members: &[Member], selected: Option<MemberId>) -> impl IntoView + use<> {
    let choices = members
        .iter()
        .map(|m| (m.id.key(), m.name.clone()))
        .collect();
    optional_options("(no owner)", choices, selected.map(|m| m.key()).as_deref())
}
