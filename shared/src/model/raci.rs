//! Roles and responsibilities: a RACI matrix of activities × members.
//!
//! ```text
//! raci: {
//!   activities:  { id → { name, order, deleted_at? } }
//!   assignments: { "<activity id>:<member id>" → "R" | "A" | "C" | "I" }
//! }
//! ```
//!
//! Cells are scalars under a flat key, so two people filling different
//! cells never conflict and two people setting the same cell resolve to one
//! value (the same everywhere). Clearing a cell deletes its key; a clear
//! concurrent with a set keeps the set.

use crate::model::error::OpResult;
use crate::model::fields::Tx;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use automerge::{ObjId, ROOT, ReadDoc};

use super::error::OpError;
use super::fields::{child_map, get_str, get_string, non_empty, put, put_opt};
use super::ids::{ItemId, MemberId};
use super::items::{self, Collection};
use super::members;
use super::refs;

pub(crate) const RACI: &str = "raci";
pub(crate) const ACTIVITIES: &str = "activities";
pub(crate) const ASSIGNMENTS: &str = "assignments";

/// A member's part in an activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Does the work.
    Responsible,
    /// Answers for it and signs it off (exactly one per activity).
    Accountable,
    /// Is asked before.
    Consulted,
    /// Is told after.
    Informed,
}

impl Role {
    /// The letter shown in the matrix and stored in the document.
    pub fn letter(self) -> &'static str {
        match self {
            Self::Responsible => "R",
            Self::Accountable => "A",
            Self::Consulted => "C",
            Self::Informed => "I",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.letter())
    }
}

impl FromStr for Role {
    type Err = OpError;

    fn from_str(text: &str) -> OpResult<Self> {
        match text {
            "R" => Ok(Self::Responsible),
            "A" => Ok(Self::Accountable),
            "C" => Ok(Self::Consulted),
            "I" => Ok(Self::Informed),
            _ => Err(OpError::Invalid {
                field: "role",
                reason: "expected R, A, C or I",
            }),
        }
    }
}

/// A row of the matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// Its id.
    pub id: ItemId,
    /// What is done.
    pub name: String,
}

/// The matrix.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Raci {
    /// Rows, in display order.
    pub activities: Vec<Activity>,
    /// Filled cells of live activities.
    pub cells: BTreeMap<(ItemId, MemberId), Role>,
}

/// What is wrong with an activity's assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaciProblem {
    /// Nobody is accountable.
    NoAccountable,
    /// More than one member is accountable (how many).
    SeveralAccountable(usize),
    /// Nobody is responsible.
    NoResponsible,
}

impl fmt::Display for RaciProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoAccountable => f.write_str("nobody is accountable"),
            Self::SeveralAccountable(n) => {
                write!(f, "{n} people are accountable; there should be one")
            }
            Self::NoResponsible => f.write_str("nobody is responsible"),
        }
    }
}

/// An activity whose assignments need fixing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityIssue {
    /// The activity.
    pub activity: ItemId,
    /// What is wrong.
    pub problems: Vec<RaciProblem>,
}

fn cell_key(activity: ItemId, member: MemberId) -> String {
    format!("{activity}:{member}")
}

fn assignments_map<R: ReadDoc>(doc: &R) -> OpResult<ObjId> {
    child_map(doc, &ROOT, RACI)
        .and_then(|r| child_map(doc, &r, ASSIGNMENTS))
        .ok_or(OpError::NotInitialized("raci.assignments"))
}

/// Reads the matrix (cells of deleted activities are left out).
pub fn read<R: ReadDoc>(doc: &R) -> Raci {
    let activities: Vec<Activity> = match Collection::Activities.locate(doc) {
        Ok(map) => items::entries(doc, &map)
            .into_iter()
            .map(|(id, obj)| Activity {
                id,
                name: get_string(doc, &obj, "name"),
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut cells = BTreeMap::new();
    if let Ok(map) = assignments_map(doc) {
        for key in doc.keys(&map) {
            let Some((activity, member)) = key.split_once(':') else {
                continue;
            };
            let (Ok(activity), Ok(member)) =
                (activity.parse::<ItemId>(), member.parse::<MemberId>())
            else {
                continue;
            };
            if !activities.iter().any(|a| a.id == activity) {
                continue;
            }
            if let Some(role) = get_str(doc, &map, &key).and_then(|r| r.parse().ok()) {
                cells.insert((activity, member), role);
            }
        }
    }
    Raci { activities, cells }
}

/// Activities lacking exactly one A or at least one R, in display order.
/// Members listed in `former` (people who left) do not count.
pub fn check(raci: &Raci, former: &[MemberId]) -> Vec<ActivityIssue> {
    raci.activities
        .iter()
        .filter_map(|activity| {
            let roles: Vec<Role> = raci
                .cells
                .iter()
                .filter(|((a, m), _)| *a == activity.id && !former.contains(m))
                .map(|(_, role)| *role)
                .collect();
            let count = |role| roles.iter().filter(|r| **r == role).count();
            let mut problems = Vec::new();
            match count(Role::Accountable) {
                0 => problems.push(RaciProblem::NoAccountable),
                1 => {}
                n => problems.push(RaciProblem::SeveralAccountable(n)),
            }
            if count(Role::Responsible) == 0 {
                problems.push(RaciProblem::NoResponsible);
            }
            (!problems.is_empty()).then_some(ActivityIssue {
                activity: activity.id,
                problems,
            })
        })
        .collect()
}

/// Reads the matrix and checks it against the current members.
pub fn issues<R: ReadDoc>(doc: &R) -> Vec<ActivityIssue> {
    let former: Vec<MemberId> = members::list(doc)
        .into_iter()
        .filter(|m| m.left_at.is_some())
        .map(|m| m.id)
        .collect();
    check(&read(doc), &former)
}

/// Adds an activity (a row).
pub fn add_activity<T: Tx>(tx: &mut T, id: ItemId, name: &str) -> OpResult {
    let name = non_empty("activity", name)?;
    let map = Collection::Activities.locate(tx)?;
    let obj = items::create(tx, &map, "activity", id)?;
    tx.put(&obj, "name", name)?;
    Ok(())
}

/// Renames an activity.
pub fn rename_activity<T: Tx>(tx: &mut T, id: ItemId, name: &str) -> OpResult {
    let name = non_empty("activity", name)?;
    let obj = items::require(tx, Collection::Activities, id)?;
    put(tx, &obj, "name", name)
}

/// Sets a member's role in an activity, or clears the cell with `None`.
pub fn assign<T: Tx>(
    tx: &mut T,
    activity: ItemId,
    member: MemberId,
    role: Option<Role>,
) -> OpResult {
    items::require(tx, Collection::Activities, activity)?;
    if role.is_some() {
        refs::require_member(tx, member)?;
    }
    let map = assignments_map(tx)?;
    put_opt(
        tx,
        &map,
        &cell_key(activity, member),
        role.map(Role::letter),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_support::{T0, id, partnership};

    #[test]
    fn activities_and_assignments() {
        let mut fixture = partnership();
        let (alice, bob) = (fixture.alice, fixture.bob);
        let doc = &mut fixture.doc;
        assert!(matches!(
            add_activity(doc, id(80), " "),
            Err(OpError::Empty { .. })
        ));
        add_activity(doc, id(80), "Joint marketing plan").unwrap();
        add_activity(doc, id(81), "Pricing").unwrap();
        assert!(rename_activity(doc, id(81), "").is_err());
        rename_activity(doc, id(81), "Pricing and discounts").unwrap();
        assert!(matches!(
            rename_activity(doc, id(89), "x"),
            Err(OpError::NotFound { .. })
        ));
        assert!(matches!(
            assign(doc, id(89), alice, Some(Role::Accountable)),
            Err(OpError::NotFound {
                kind: "activity",
                ..
            })
        ));
        assert!(matches!(
            assign(
                doc,
                id(80),
                MemberId::from_bytes([1; 16]),
                Some(Role::Accountable)
            ),
            Err(OpError::NotFound { kind: "member", .. })
        ));
        assign(doc, id(80), alice, Some(Role::Accountable)).unwrap();
        assign(doc, id(80), bob, Some(Role::Responsible)).unwrap();
        assign(doc, id(81), alice, Some(Role::Accountable)).unwrap();
        assign(doc, id(81), bob, Some(Role::Accountable)).unwrap();
        let raci = read(doc);
        assert_eq!(raci.activities[1].name, "Pricing and discounts");
        assert_eq!(raci.cells.get(&(id(80), bob)), Some(&Role::Responsible));
        assert_eq!(
            issues(doc),
            [ActivityIssue {
                activity: id(81),
                problems: vec![
                    RaciProblem::SeveralAccountable(2),
                    RaciProblem::NoResponsible
                ]
            }]
        );
        assign(doc, id(81), bob, Some(Role::Responsible)).unwrap();
        assert!(issues(doc).is_empty());
        assign(doc, id(81), bob, None).unwrap();
        assert_eq!(issues(doc)[0].problems, [RaciProblem::NoResponsible]);

        // Someone who left no longer counts.
        members::leave(doc, alice, T0).unwrap();
        assert_eq!(issues(doc)[0].problems, [RaciProblem::NoAccountable]);
        // A deleted activity drops out with its cells.
        items::delete(doc, Collection::Activities, id(80), T0).unwrap();
        let raci = read(doc);
        assert_eq!(raci.activities.len(), 1);
        assert!(raci.cells.keys().all(|(a, _)| *a == id(81)));
        assert_eq!(
            RaciProblem::SeveralAccountable(2).to_string(),
            "2 people are accountable; there should be one"
        );
    }

    #[test]
    fn roles_parse() {
        for role in [
            Role::Responsible,
            Role::Accountable,
            Role::Consulted,
            Role::Informed,
        ] {
            assert_eq!(role.to_string().parse::<Role>().unwrap(), role);
        }
        assert!("X".parse::<Role>().is_err());
    }
}
