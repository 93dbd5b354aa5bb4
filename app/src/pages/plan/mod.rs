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
