//! The partnership document (schema v1): a hand-written typed mapping over
//! Automerge, typed reads, and every mutation the UI can make as an
//! operation with validation and typed errors.
//!
//! - Every operation takes `&mut T where T: `[`Tx`]` (an
//!   `AutoCommit`, or a `Transaction` of an `Automerge`), validates its input
//!   first, and on error returns [`OpError`] having written nothing
//!   ([`OpResult`]).
//! - Ids of new items come from the caller (16 random bytes; see [`ids`]),
//!   and so does the time (`now`, UTC milliseconds).
//! - Reads return plain structs and are lenient: missing or mistyped fields
//!   read as defaults, so a document touched by an older or buggy client
//!   still opens.
//! - Collections are maps keyed by random ids, so concurrent inserts never
//!   collide; fields are separate keys, so concurrent edits of one item
//!   merge field by field; prose is Automerge Text, edited by minimal
//!   splices, so concurrent typing merges character by character.
//! - Deleting an item marks it deleted; a concurrent edit is kept and comes
//!   back with [`items::restore`] (see [`items`]).
//!
//! The full shape is documented in `docs/schema.md`.
//!
//! Modules, one concept each:
//! - [`schema`]: version, [`init`] and [`migrate`];
//! - [`overview`]: title, purpose, lifecycle stage and its history, review
//!   cadence and check-ins;
//! - [`parties`], [`members`] (with devices and partnership managers);
//! - [`vetting`]: weighted criteria, scores, due diligence;
//! - [`objectives`], [`kpis`] (measurements and health);
//! - [`raci`], [`comm_plan`], [`milestones`];
//! - [`meetings`], [`reviews`], [`actions`] (a meeting's or review's action
//!   items), and [`check_ins`] above meetings and the overview (scheduling at
//!   the next check-in due, holding a check-in);
//! - [`boards`]: live workshop boards (notes, dot voting, timer,
//!   facilitation, notes turned into plan items);
//! - [`items`]: what every collection item shares (create, read in order,
//!   find, splice a prose field, order, delete, restore);
//! - [`sealing`]: commit, then reveal (health-check answers, board ballots
//!   and private notes);
//! - `fields` (typed reads of one field, writes that skip unchanged
//!   values, applying a patch field by field, shared validation, and
//!   [`Tx`], the document an operation changes), `keys` (every top-level
//!   key) and `refs` (the members, parties and escalation levels an item
//!   names, checked and read here so no collection imports another), below
//!   the collections; `stored_names` (the macro declaring an enum stored by
//!   name: `ALL`, `as_str`, `from_stored`, and optionally `Display` and
//!   `FromStr`); `editable` (the macro declaring a record's editable fields
//!   once, and from them the patch that changes some of them: a record is
//!   `{ id, fields, … }` and adding an item takes its fields);
//! - [`period`]: a span of time with both ends included (a review's, a
//!   report's);
//!
//! Reads that span collections (attention, the report, the agreement's
//! history and exports) are views in [`crate::views`], above this module.
//! - [`ids`], [`error`].

pub mod actions;
pub mod agreement;
pub mod boards;
pub mod check_ins;
pub mod comm_plan;
pub mod conflicts;
pub mod device_keys;
mod editable;
pub mod error;
mod fields;
pub mod formatting;
pub mod governance;
pub mod hash_prefix;
pub mod health;
pub mod ids;
pub mod items;
mod keys;
pub mod kpis;
mod lazy_maps;
pub mod meetings;
pub mod members;
pub mod milestones;
pub mod objectives;
pub mod overview;
pub mod parties;
pub mod period;
pub mod raci;
mod refs;
pub mod reviews;
pub mod risks;
pub mod schema;
pub mod sealing;
pub mod signoff;
mod stored_names;
pub mod suggestions;
pub mod touched;
pub mod versions;
pub mod vetting;

#[cfg(test)]
mod convergence_tests;
#[cfg(test)]
pub(crate) mod test_support;

use automerge::ReadDoc;

pub use error::{OpError, OpResult};
pub use fields::{DAY_MS, MAX_DATE, MIN_DATE, Tx};
pub use ids::{IdError, ItemId, MemberId, PartyId};
pub use items::Collection;
pub use schema::{Migration, SCHEMA_VERSION, init, migrate};

/// Everything in a partnership document, read at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Partnership {
    /// The schema version.
    pub schema: u64,
    /// Title, purpose, stage, check-ins.
    pub overview: overview::Overview,
    /// The partner organizations.
    pub parties: Vec<parties::Party>,
    /// Everyone, including who left.
    pub members: Vec<members::Member>,
    /// Devices and their members.
    pub devices: Vec<members::Device>,
    /// Criteria, scores, totals, due diligence.
    pub vetting: vetting::Vetting,
    /// Objectives.
    pub objectives: Vec<objectives::Objective>,
    /// KPIs with their logs and health.
    pub kpis: Vec<kpis::Kpi>,
    /// The RACI matrix.
    pub raci: raci::Raci,
    /// RACI rows needing a fix.
    pub raci_issues: Vec<raci::ActivityIssue>,
    /// The communication plan.
    pub comm_plan: Vec<comm_plan::Communication>,
    /// Milestones.
    pub milestones: Vec<milestones::Milestone>,
}

impl Partnership {
    /// Reads the whole document. Fails only if it is not a partnership or
    /// was written by a newer schema than this code knows.
    pub fn read<R: ReadDoc>(doc: &R) -> Result<Self, OpError> {
        let schema = schema::version(doc).ok_or(OpError::NotInitialized(schema::SCHEMA))?;
        if schema > SCHEMA_VERSION {
            return Err(OpError::UnsupportedSchema {
                found: schema,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(Self {
            schema,
            overview: overview::read(doc),
            parties: parties::list(doc),
            members: members::list(doc),
            devices: members::devices(doc),
            vetting: vetting::read(doc),
            objectives: objectives::list(doc),
            kpis: kpis::list(doc),
            raci: raci::read(doc),
            raci_issues: raci::issues(doc),
            comm_plan: comm_plan::list(doc),
            milestones: milestones::list(doc),
        })
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, Value};

    use super::*;
    use crate::model::test_support::{T0, partnership};

    #[test]
    fn init_makes_a_v1_document() {
        let mut doc = AutoCommit::new();
        assert!(matches!(
            init(&mut doc, " ", T0),
            Err(OpError::Empty { .. })
        ));
        assert!(matches!(
            init(&mut doc, "x", 0),
            Err(OpError::InvalidDate { .. })
        ));
        assert_eq!(doc.length(ROOT), 0);
        init(&mut doc, "Acme × Globex", T0).unwrap();
        assert!(matches!(
            init(&mut doc, "Again", T0),
            Err(OpError::Invalid { .. })
        ));
        let read = Partnership::read(&doc).unwrap();
        assert_eq!(read.schema, SCHEMA_VERSION);
        assert_eq!(read.overview.title, "Acme × Globex");
        assert_eq!(read.vetting.criteria.len(), 7);
        assert!(read.parties.is_empty() && read.objectives.is_empty());
        assert!(matches!(
            doc.get(ROOT, "purpose").unwrap(),
            Some((Value::Object(ObjType::Text), _))
        ));
        // Migrating a current document changes nothing.
        let migration = migrate(&mut doc, T0).unwrap();
        assert_eq!(
            migration,
            Migration {
                from: Some(1),
                to: 1,
                changed: false
            }
        );
    }

    #[test]
    fn migration_from_no_schema_is_init() {
        let mut doc = AutoCommit::new();
        assert!(matches!(
            Partnership::read(&doc),
            Err(OpError::NotInitialized("schema"))
        ));
        let migration = migrate(&mut doc, T0).unwrap();
        assert_eq!(
            migration,
            Migration {
                from: None,
                to: 1,
                changed: true
            }
        );
        let mut fresh = AutoCommit::new();
        init(&mut fresh, "Untitled partnership", T0).unwrap();
        assert_eq!(
            Partnership::read(&doc).unwrap(),
            Partnership::read(&fresh).unwrap()
        );
    }

    #[test]
    fn migration_repairs_an_early_client_document() {
        // What the first browser build wrote: schema 1, plain strings only.
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "schema", 1_u64).unwrap();
        doc.put(ROOT, "title", "Acme").unwrap();
        doc.put(ROOT, "purpose", "Sell more.").unwrap();
        let migration = migrate(&mut doc, T0).unwrap();
        assert!(migration.changed);
        let read = Partnership::read(&doc).unwrap();
        assert_eq!(read.overview.title, "Acme");
        assert_eq!(read.overview.purpose, "Sell more.");
        assert_eq!(read.vetting.criteria.len(), 7);
        assert!(matches!(
            doc.get(ROOT, "purpose").unwrap(),
            Some((Value::Object(ObjType::Text), _))
        ));
        overview::set_purpose(&mut doc, "Sell more, together.").unwrap();
        assert_eq!(overview::read(&doc).purpose, "Sell more, together.");
    }

    #[test]
    fn newer_schemas_are_refused_and_left_alone() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "schema", 2_u64).unwrap();
        doc.commit();
        let heads = doc.get_heads();
        assert!(matches!(
            migrate(&mut doc, T0),
            Err(OpError::UnsupportedSchema {
                found: 2,
                supported: 1
            })
        ));
        assert!(matches!(
            Partnership::read(&doc),
            Err(OpError::UnsupportedSchema { .. })
        ));
        doc.commit();
        assert_eq!(doc.get_heads(), heads);
    }

    #[test]
    fn ops_on_an_uninitialised_document_say_so() {
        let mut doc = AutoCommit::new();
        let err = objectives::add(
            &mut doc,
            ItemId::from_bytes([1; 16]),
            &objectives::NewObjective {
                title: "x".into(),
                ..Default::default()
            },
            T0,
        )
        .unwrap_err();
        assert!(matches!(err, OpError::NotInitialized("objectives")));
        assert_eq!(doc.length(ROOT), 0);
    }

    #[test]
    fn refused_ops_write_nothing() {
        use automerge::AutoCommit;

        let mut fixture = partnership();
        let (alice, acme) = (fixture.alice, fixture.acme);
        let doc = &mut fixture.doc;
        let missing = ItemId::from_bytes([1; 16]);
        type Op = Box<dyn Fn(&mut AutoCommit) -> Result<(), OpError>>;
        let failing: Vec<(&str, Op)> = vec![
            ("title", Box::new(|d| overview::set_title(d, ""))),
            ("cadence", Box::new(|d| overview::set_review_cadence(d, 0))),
            ("check-in", Box::new(|d| overview::record_check_in(d, 1))),
            (
                "stage",
                Box::new(move |d| {
                    overview::move_stage(d, missing, overview::Stage::Active, alice, 0)
                }),
            ),
            (
                "party",
                Box::new(|d| parties::add(d, PartyId::from_bytes([3; 16]), &Default::default())),
            ),
            (
                "member",
                Box::new(move |d| {
                    members::add(
                        d,
                        MemberId::from_bytes([3; 16]),
                        &members::NewMember {
                            name: "Carol".into(),
                            party: acme,
                            title: String::new(),
                            public_key: Some("zz".into()),
                        },
                    )
                }),
            ),
            (
                "score",
                Box::new(move |d| {
                    vetting::set_score(d, acme, vetting::default_criterion_id(0), Some(9))
                }),
            ),
            (
                "score note",
                Box::new(move |d| vetting::set_score_note(d, acme, missing, "x")),
            ),
            (
                "objective",
                Box::new(move |d| {
                    objectives::update(
                        d,
                        missing,
                        &objectives::ObjectivePatch {
                            title: Some("x".into()),
                            ..Default::default()
                        },
                    )
                }),
            ),
            (
                "kpi",
                Box::new(move |d| {
                    kpis::add(
                        d,
                        missing,
                        &kpis::NewKpi {
                            name: "Revenue".into(),
                            objective: None,
                            kind: kpis::KpiKind::Quantitative {
                                unit: String::new(),
                                baseline: 0.0,
                                target: 1.0,
                                direction: kpis::Direction::Up,
                            },
                            cadence_days: 30,
                        },
                        T0,
                    )
                }),
            ),
            (
                "raci",
                Box::new(move |d| raci::assign(d, missing, alice, Some(raci::Role::Accountable))),
            ),
            (
                "comm",
                Box::new(move |d| comm_plan::mark_sent(d, missing, T0)),
            ),
            (
                "milestone",
                Box::new(move |d| milestones::achieve(d, missing, T0, "")),
            ),
            (
                "delete party",
                Box::new(move |d| items::delete(d, Collection::Parties, acme.into(), T0)),
            ),
            (
                "restore",
                Box::new(move |d| items::restore(d, Collection::Milestones, missing)),
            ),
        ];
        for (name, op) in failing {
            assert!(op(doc).is_err(), "{name} should fail");
            assert_eq!(doc.pending_ops(), 0, "{name} wrote to the document");
        }
    }

    #[test]
    fn works_inside_an_automerge_transaction() {
        let mut doc = automerge::Automerge::new();
        let mut tx = doc.transaction();
        init(&mut tx, "Acme × Globex", T0).unwrap();
        tx.commit();
        assert_eq!(
            Partnership::read(&doc).unwrap().overview.title,
            "Acme × Globex"
        );
        let fixture = partnership();
        assert_eq!(Partnership::read(&fixture.doc).unwrap().parties.len(), 2);
    }
}
