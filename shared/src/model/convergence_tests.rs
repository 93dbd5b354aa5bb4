//! Two replicas editing the same items concurrently, then syncing.

use automerge::{ActorId, AutoCommit};

use super::items::{self, Collection};
use super::kpis::{self, Direction, KpiKind, KpiPatch, NewMeasurement};
use super::objectives::{self, NewObjective, ObjectivePatch, ObjectiveStatus};
use super::test_support::{T0, id, partnership, revenue_kpi, sync_pair};
use super::{DAY_MS, OpError, Partnership};

const OBJECTIVE: u8 = 40;
const KPI: u8 = 60;

/// Alice's replica with an objective and a KPI, and Bob's fork of it.
fn two_replicas() -> (AutoCommit, AutoCommit, super::test_support::Fixture) {
    let mut fixture = partnership();
    let doc = &mut fixture.doc;
    doc.set_actor(ActorId::from(b"alice-laptop".as_slice()));
    objectives::add(
        doc,
        id(OBJECTIVE),
        &NewObjective {
            title: "Launch".into(),
            owner: Some(fixture.acme),
            deliverables: "Two pilots in Benelux.".into(),
            due: None,
        },
        T0,
    )
    .unwrap();
    kpis::add(doc, id(KPI), &revenue_kpi(Some(id(OBJECTIVE))), T0).unwrap();
    doc.commit();
    let alice = doc
        .fork()
        .with_actor(ActorId::from(b"alice-laptop-2".as_slice()));
    let bob = doc
        .fork()
        .with_actor(ActorId::from(b"bob-phone".as_slice()));
    (alice, bob, fixture)
}

/// Bob's offline edit of the objective: retitled "Launch in Benelux",
/// with `deliverables`, and the rest of `patch`.
fn bob_retitles(doc: &mut AutoCommit, deliverables: &str, patch: &ObjectivePatch) {
    let patch = ObjectivePatch {
        title: Some("Launch in Benelux".into()),
        deliverables: Some(deliverables.into()),
        ..patch.clone()
    };
    objectives::update(doc, id(OBJECTIVE), &patch).unwrap();
}

#[test]
fn concurrent_edits_of_one_objective_and_kpi_merge_field_by_field() {
    let (mut alice_doc, mut bob_doc, fixture) = two_replicas();
    let (alice, bob) = (fixture.alice, fixture.bob);

    // Alice submits the whole edit form: unchanged fields are not rewritten.
    objectives::update(
        &mut alice_doc,
        id(OBJECTIVE),
        &ObjectivePatch {
            title: Some("Launch".into()),
            owner: Some(Some(fixture.acme)),
            deliverables: Some("Two paid pilots in Benelux.".into()),
            due: Some(None),
            status: Some(ObjectiveStatus::InProgress),
        },
    )
    .unwrap();
    kpis::update(
        &mut alice_doc,
        id(KPI),
        &KpiPatch {
            kind: Some(KpiKind::Quantitative {
                unit: "kEUR".into(),
                baseline: 0.0,
                target: 120.0,
                direction: Direction::Up,
            }),
            ..KpiPatch::default()
        },
    )
    .unwrap();
    kpis::record(
        &mut alice_doc,
        id(KPI),
        id(70),
        &NewMeasurement {
            value: 40.0,
            note: "Q1".into(),
            at: T0 + DAY_MS,
            by: alice,
        },
    )
    .unwrap();

    // Bob, offline, edits other fields of the same items.
    bob_retitles(
        &mut bob_doc,
        "Two pilots in Benelux and one in France.",
        &ObjectivePatch {
            due: Some(Some(T0 + 90 * DAY_MS)),
            owner: Some(Some(fixture.globex)),
            ..ObjectivePatch::default()
        },
    );
    kpis::update(
        &mut bob_doc,
        id(KPI),
        &KpiPatch {
            name: Some("Joint revenue (signed)".into()),
            cadence_days: Some(14),
            ..KpiPatch::default()
        },
    )
    .unwrap();
    kpis::record(
        &mut bob_doc,
        id(KPI),
        id(71),
        &NewMeasurement {
            value: 100.0,
            note: "Q2".into(),
            at: T0 + 2 * DAY_MS,
            by: bob,
        },
    )
    .unwrap();

    sync_pair(&mut alice_doc, &mut bob_doc);
    let merged = Partnership::read(&alice_doc).unwrap();
    assert_eq!(merged, Partnership::read(&bob_doc).unwrap());

    let objective = &merged.objectives[0];
    assert_eq!(objective.fields.title, "Launch in Benelux");
    assert_eq!(objective.status, ObjectiveStatus::InProgress);
    assert_eq!(objective.fields.due, Some(T0 + 90 * DAY_MS));
    assert_eq!(objective.fields.owner, Some(fixture.globex));
    assert_eq!(
        objective.fields.deliverables,
        "Two paid pilots in Benelux and one in France."
    );

    let kpi = &merged.kpis[0];
    assert_eq!(kpi.fields.name, "Joint revenue (signed)");
    assert_eq!(kpi.fields.cadence_days, 14);
    assert!(matches!(kpi.fields.kind, KpiKind::Quantitative { target, .. } if target == 120.0));
    let values: Vec<f64> = kpi.measurements.iter().map(|m| m.value).collect();
    assert_eq!(values, [40.0, 100.0]);
    assert_eq!(kpi.health, kpis::Health::OnTrack);
}

#[test]
fn concurrent_inserts_never_collide() {
    let (mut alice_doc, mut bob_doc, _) = two_replicas();
    let new = |title: &str| NewObjective {
        title: title.into(),
        ..NewObjective::default()
    };
    objectives::add(&mut alice_doc, id(41), &new("From Alice"), T0).unwrap();
    objectives::add(&mut bob_doc, id(42), &new("From Bob"), T0).unwrap();
    sync_pair(&mut alice_doc, &mut bob_doc);
    let titles: Vec<String> = objectives::list(&bob_doc)
        .into_iter()
        .map(|o| o.fields.title)
        .collect();
    assert_eq!(titles, ["Launch", "From Alice", "From Bob"]);
    assert_eq!(objectives::list(&alice_doc), objectives::list(&bob_doc));
}

#[test]
fn delete_wins_over_a_concurrent_edit_which_restore_brings_back() {
    let (mut alice_doc, mut bob_doc, fixture) = two_replicas();
    items::delete(&mut alice_doc, Collection::Objectives, id(OBJECTIVE), T0).unwrap();
    items::delete(&mut alice_doc, Collection::Kpis, id(KPI), T0).unwrap();
    bob_retitles(
        &mut bob_doc,
        "Two pilots in Benelux, signed.",
        &ObjectivePatch::default(),
    );
    kpis::record(
        &mut bob_doc,
        id(KPI),
        id(71),
        &NewMeasurement {
            value: 55.0,
            note: String::new(),
            at: T0 + DAY_MS,
            by: fixture.bob,
        },
    )
    .unwrap();

    sync_pair(&mut alice_doc, &mut bob_doc);
    for doc in [&alice_doc, &bob_doc] {
        assert!(objectives::list(doc).is_empty());
        assert!(kpis::list(doc).is_empty());
        assert_eq!(
            items::deleted(doc, Collection::Objectives).unwrap()[0].label,
            "Launch in Benelux"
        );
    }
    // On either side the deleted item now refuses further edits.
    assert!(matches!(
        objectives::update(
            &mut bob_doc,
            id(OBJECTIVE),
            &ObjectivePatch {
                status: Some(ObjectiveStatus::Done),
                ..ObjectivePatch::default()
            }
        ),
        Err(OpError::NotFound {
            kind: "objective",
            ..
        })
    ));

    // Restoring brings the items back with Bob's concurrent edits.
    items::restore(&mut bob_doc, Collection::Objectives, id(OBJECTIVE)).unwrap();
    items::restore(&mut bob_doc, Collection::Kpis, id(KPI)).unwrap();
    sync_pair(&mut alice_doc, &mut bob_doc);
    let objective = objectives::get(&alice_doc, id(OBJECTIVE)).unwrap();
    assert_eq!(objective.fields.title, "Launch in Benelux");
    assert_eq!(
        objective.fields.deliverables,
        "Two pilots in Benelux, signed."
    );
    assert_eq!(
        kpis::get(&alice_doc, id(KPI)).unwrap().measurements[0].value,
        55.0
    );
    assert_eq!(
        Partnership::read(&alice_doc).unwrap(),
        Partnership::read(&bob_doc).unwrap()
    );
}

#[test]
fn merge_instead_of_sync_gives_the_same_result() {
    let (mut alice_doc, mut bob_doc, _) = two_replicas();
    objectives::update(
        &mut alice_doc,
        id(OBJECTIVE),
        &ObjectivePatch {
            status: Some(ObjectiveStatus::Blocked),
            ..ObjectivePatch::default()
        },
    )
    .unwrap();
    objectives::update(
        &mut bob_doc,
        id(OBJECTIVE),
        &ObjectivePatch {
            title: Some("Launch now".into()),
            ..ObjectivePatch::default()
        },
    )
    .unwrap();
    alice_doc.merge(&mut bob_doc).unwrap();
    bob_doc.merge(&mut alice_doc).unwrap();
    let objective = objectives::get(&bob_doc, id(OBJECTIVE)).unwrap();
    assert_eq!(
        (objective.fields.title.as_str(), objective.status),
        ("Launch now", ObjectiveStatus::Blocked)
    );
    assert_eq!(objectives::list(&alice_doc), objectives::list(&bob_doc));
}

mod random_edits {
    use proptest::prelude::*;

    use super::*;

    /// One edit a replica may make to the shared objective and KPI.
    #[derive(Debug, Clone)]
    enum Edit {
        Title(String),
        Deliverables(String),
        Status(usize),
        Target(u8),
        Measure(u8, u8),
        Delete,
        Restore,
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            "[a-c ]{1,6}".prop_map(Edit::Title),
            "[a-cé ]{0,8}".prop_map(Edit::Deliverables),
            (0..ObjectiveStatus::ALL.len()).prop_map(Edit::Status),
            (1..200_u8).prop_map(Edit::Target),
            (any::<u8>(), any::<u8>()).prop_map(|(key, value)| Edit::Measure(key, value)),
            Just(Edit::Delete),
            Just(Edit::Restore),
        ]
    }

    fn apply(doc: &mut AutoCommit, edit: &Edit, by: super::super::MemberId) {
        let mut patch = |p: ObjectivePatch| objectives::update(&mut *doc, id(OBJECTIVE), &p);
        // Refused edits (for example of a deleted item) are part of the game.
        let _ = match edit {
            Edit::Title(title) => patch(ObjectivePatch {
                title: Some(title.clone()),
                ..ObjectivePatch::default()
            }),
            Edit::Deliverables(text) => patch(ObjectivePatch {
                deliverables: Some(text.clone()),
                ..ObjectivePatch::default()
            }),
            Edit::Status(i) => patch(ObjectivePatch {
                status: Some(ObjectiveStatus::ALL[*i]),
                ..ObjectivePatch::default()
            }),
            Edit::Target(target) => kpis::update(
                doc,
                id(KPI),
                &KpiPatch {
                    kind: Some(KpiKind::Quantitative {
                        unit: "kEUR".into(),
                        baseline: 0.0,
                        target: f64::from(*target),
                        direction: Direction::Up,
                    }),
                    ..KpiPatch::default()
                },
            ),
            Edit::Measure(key, value) => kpis::record(
                doc,
                id(KPI),
                id(*key),
                &NewMeasurement {
                    value: f64::from(*value),
                    note: String::new(),
                    at: T0 + u64::from(*key) * DAY_MS,
                    by,
                },
            ),
            Edit::Delete => items::delete(doc, Collection::Objectives, id(OBJECTIVE), T0),
            Edit::Restore => items::restore(doc, Collection::Objectives, id(OBJECTIVE)),
        };
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn replicas_converge_after_any_concurrent_edits(
            rounds in prop::collection::vec(
                (prop::collection::vec(edit(), 0..4), prop::collection::vec(edit(), 0..4), any::<bool>()),
                1..4,
            )
        ) {
            let (mut alice_doc, mut bob_doc, fixture) = two_replicas();
            for (alice_edits, bob_edits, sync_now) in &rounds {
                for e in alice_edits {
                    apply(&mut alice_doc, e, fixture.alice);
                }
                for e in bob_edits {
                    apply(&mut bob_doc, e, fixture.bob);
                }
                if *sync_now {
                    sync_pair(&mut alice_doc, &mut bob_doc);
                }
            }
            sync_pair(&mut alice_doc, &mut bob_doc);
            prop_assert_eq!(
                Partnership::read(&alice_doc).unwrap(),
                Partnership::read(&bob_doc).unwrap()
            );
        }
    }
}
