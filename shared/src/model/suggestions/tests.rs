use automerge::AutoCommit;
use automerge::transaction::Transactable;
use proptest::prelude::*;

use super::*;
use crate::model::agreement::{
    ClauseStatus, clause, edit_clause_body, set_clause_body, set_clause_status,
};
use crate::model::signoff::tests::{CLAUSE_ID, DOC, key, signed_fixture};
use crate::model::signoff::{self, Validity};
use crate::model::test_support::{
    Fixture, T0, TERM, actor, id, splice, sync_pair, sync_to, two_devices, with_clause,
};

fn suggestion(author: MemberId, position: usize, delete: usize, insert: &str) -> NewSuggestion {
    NewSuggestion {
        clause: id(1),
        author,
        position,
        delete,
        insert: insert.into(),
    }
}

fn body(doc: &AutoCommit) -> String {
    clause(doc, id(1)).unwrap().body
}

/// Bob's usual suggestion: "one year" → "two years".
fn two_years(bob: MemberId) -> NewSuggestion {
    suggestion(bob, 12, 8, "two years")
}

/// The usual clause with Bob's "two years" (`id(10)`), committed; then
/// Alice accepts it on her device at `alice_at` (decision `id(20)`) while
/// Bob gives `verdict` on his at `T0 + 1` (decision `id(21)`), and the
/// devices sync.
fn decided_at_once(alice_at: u64, verdict: Verdict) -> (Fixture, AutoCommit, AutoCommit) {
    let mut fixture = with_clause(TERM);
    suggest(&mut fixture.doc, id(10), &two_years(fixture.bob), T0).unwrap();
    fixture.doc.commit();
    let (mut a, mut b) = two_devices(&fixture.doc);
    decide(
        &mut a,
        id(10),
        id(20),
        Verdict::Accept,
        fixture.alice,
        alice_at,
    )
    .unwrap();
    decide(&mut b, id(10), id(21), verdict, fixture.bob, T0 + 1).unwrap();
    sync_pair(&mut a, &mut b);
    (fixture, a, b)
}

/// Alice's and Bob's devices, where Bob has suggested "two years" (`id(10)`)
/// and " renewable" after "year" (`id(11)`).
fn bob_suggests_on_his_device(fixture: &Fixture) -> (AutoCommit, AutoCommit) {
    let (a, mut b) = two_devices(&fixture.doc);
    suggest(&mut b, id(10), &two_years(fixture.bob), T0).unwrap();
    let renewable = suggestion(fixture.bob, 20, 0, " renewable");
    suggest(&mut b, id(11), &renewable, T0).unwrap();
    (a, b)
}

#[test]
fn insertion_deletion_and_replacement_are_accepted_as_edits() {
    let mut fixture = with_clause(TERM);
    let (alice, bob) = (fixture.alice, fixture.bob);
    let doc = &mut fixture.doc;
    // "one year" → "two years"; delete " from signature"; insert "initial ".
    suggest(doc, id(10), &two_years(bob), T0).unwrap();
    suggest(doc, id(11), &suggestion(bob, 20, 15, ""), T0 + 1).unwrap();
    suggest(doc, id(12), &suggestion(alice, 4, 0, "initial "), T0 + 2).unwrap();
    assert_eq!(body(doc), TERM, "suggesting changes nothing");
    let read = list(doc, id(1));
    let kinds: Vec<SuggestionKind> = read.iter().map(Suggestion::kind).collect();
    assert_eq!(
        kinds,
        [
            SuggestionKind::Replacement,
            SuggestionKind::Deletion,
            SuggestionKind::Insertion
        ]
    );
    assert_eq!(read[0].deleted, "one year");
    assert_eq!(read[0].placement, Placement::At { start: 12, end: 20 });
    assert_eq!(read[2].placement, Placement::At { start: 4, end: 4 });
    assert_eq!(read[0].party, Some(fixture.globex));

    decide(doc, id(12), id(20), Verdict::Accept, bob, T0 + 3).unwrap();
    assert_eq!(body(doc), "The initial term is one year from signature.");
    // The others moved with their words.
    assert_eq!(
        get(doc, id(10)).unwrap().placement,
        Placement::At { start: 20, end: 28 }
    );
    decide(doc, id(10), id(21), Verdict::Accept, alice, T0 + 4).unwrap();
    decide(doc, id(11), id(22), Verdict::Reject, alice, T0 + 5).unwrap();
    assert_eq!(body(doc), "The initial term is two years from signature.");
    let decided = list(doc, id(1));
    assert!(matches!(&decided[0].state, SuggestionState::Accepted(d) if d.by == Some(alice)));
    assert!(matches!(&decided[1].state, SuggestionState::Rejected(d) if d.at == Some(T0 + 5)));
    assert!(open(doc, id(1)).is_empty());
    assert!(matches!(
        decide(doc, id(10), id(23), Verdict::Reject, bob, T0 + 6),
        Err(OpError::AlreadyDecided("accepted"))
    ));
}

#[test]
fn refused_suggestions_write_nothing() {
    let mut fixture = with_clause(TERM);
    let bob = fixture.bob;
    let doc = &mut fixture.doc;
    suggest(doc, id(10), &suggestion(bob, 0, 3, "A"), T0).unwrap();
    doc.commit();
    let stranger = MemberId::from_bytes([9; 16]);
    let long = "x".repeat(MAX_INSERT_CHARS + 1);
    let bad = [
        suggestion(bob, 30, 10, "x"),
        suggestion(bob, 3, 0, ""),
        suggestion(bob, 0, 3, "The"),
        suggestion(stranger, 0, 0, "x"),
        suggestion(bob, 0, 0, &long),
    ];
    for new in &bad {
        assert!(suggest(doc, id(11), new, T0).is_err(), "{new:?}");
    }
    assert!(suggest(doc, id(10), &suggestion(bob, 0, 0, "x"), T0).is_err());
    assert!(suggest(doc, id(11), &suggestion(bob, 0, 0, "x"), 1).is_err());
    assert!(decide(doc, id(99), id(20), Verdict::Accept, bob, T0).is_err());
    assert!(decide(doc, id(10), id(20), Verdict::Accept, stranger, T0).is_err());
    assert_eq!(doc.pending_ops(), 0);
    assert_eq!(list(doc, id(1)).len(), 1);
}

#[test]
fn a_suggestion_stays_on_its_words_while_others_type() {
    let fixture = with_clause(TERM);
    let (mut a, mut b) = bob_suggests_on_his_device(&fixture);
    // Meanwhile Alice types before, between and after those words.
    edit_clause_body(&mut a, id(1), &splice(35, 0, " by both"), None).unwrap();
    edit_clause_body(&mut a, id(1), &splice(4, 0, "initial "), None).unwrap();
    sync_pair(&mut a, &mut b);
    assert_eq!(
        body(&a),
        "The initial term is one year from signature by both."
    );
    assert_eq!(
        get(&a, id(10)).unwrap().placement,
        Placement::At { start: 20, end: 28 }
    );
    decide(&mut a, id(10), id(20), Verdict::Accept, fixture.alice, T0).unwrap();
    decide(&mut a, id(11), id(21), Verdict::Accept, fixture.alice, T0).unwrap();
    let expected = "The initial term is two years renewable from signature by both.";
    sync_to((&mut a, &mut b), body, &expected.to_owned());
}

#[test]
fn a_suggestion_whose_words_were_edited_is_not_applicable() {
    let fixture = with_clause(TERM);
    let (alice, bob) = (fixture.alice, fixture.bob);
    let (mut a, mut b) = bob_suggests_on_his_device(&fixture);
    suggest(&mut b, id(12), &suggestion(bob, 0, 3, "This"), T0).unwrap();
    // Alice types inside "one year", and removes "year" and "The" entirely.
    edit_clause_body(&mut a, id(1), &splice(15, 0, " full"), None).unwrap();
    edit_clause_body(&mut a, id(1), &splice(0, 4, ""), None).unwrap();
    sync_pair(&mut a, &mut b);
    assert_eq!(body(&a), "term is one full year from signature.");
    for suggestion in [id(10), id(12)] {
        assert_eq!(
            get(&a, suggestion).unwrap().placement,
            Placement::NotApplicable
        );
        a.commit();
        assert!(matches!(
            decide(&mut a, suggestion, id(20), Verdict::Accept, alice, T0),
            Err(OpError::NotApplicable)
        ));
        assert_eq!(a.pending_ops(), 0);
    }
    // The insertion after "year" still applies: its anchor is intact.
    decide(&mut a, id(11), id(21), Verdict::Accept, alice, T0).unwrap();
    assert_eq!(body(&a), "term is one full year renewable from signature.");
    // Removing the anchor character of an insertion makes it not applicable.
    suggest(&mut a, id(13), &suggestion(alice, 4, 0, "X"), T0).unwrap();
    set_clause_body(&mut a, id(1), "ter is one", None).unwrap();
    assert_eq!(get(&a, id(13)).unwrap().placement, Placement::NotApplicable);
    // Not applicable ones can still be rejected.
    decide(&mut a, id(10), id(22), Verdict::Reject, alice, T0).unwrap();
    assert!(matches!(
        get(&a, id(10)).unwrap().state,
        SuggestionState::Rejected(_)
    ));
}

#[test]
fn accepting_voids_sign_offs_like_any_edit() {
    let (mut fixture, keys) = signed_fixture();
    let (alice, bob) = (fixture.alice, fixture.bob);
    let doc = &mut fixture.doc;
    let clause_id = id(CLAUSE_ID);
    signoff::sign(doc, &DOC, clause_id, alice, &key(1), T0 + 1).unwrap();
    let new = NewSuggestion {
        clause: clause_id,
        author: bob,
        position: 12,
        delete: 8,
        insert: "two years".into(),
    };
    suggest(doc, id(10), &new, T0 + 2).unwrap();
    let lookup = |m: MemberId| keys.get(&m).copied().into_iter().collect::<Vec<_>>();
    let validity = |doc: &AutoCommit| {
        signoff::verify(doc, &DOC, clause_id, &lookup)
            .into_iter()
            .map(|s| s.validity)
            .collect::<Vec<_>>()
    };
    assert_eq!(validity(doc), [Validity::Valid], "a suggestion is no edit");
    decide(doc, id(10), id(20), Verdict::Reject, alice, T0 + 3).unwrap();
    assert_eq!(validity(doc), [Validity::Valid], "nor is a reject");
    suggest(doc, id(11), &NewSuggestion { ..new }, T0 + 4).unwrap();
    decide(doc, id(11), id(21), Verdict::Accept, alice, T0 + 5).unwrap();
    assert_eq!(validity(doc), [Validity::Void]);
}

#[test]
fn on_a_proposed_clause_the_other_party_can_only_suggest() {
    let mut fixture = with_clause(TERM);
    let (alice, bob) = (fixture.alice, fixture.bob);
    let doc = &mut fixture.doc;
    set_clause_status(doc, id(1), ClauseStatus::Proposed, Some(alice)).unwrap();
    assert_eq!(clause(doc, id(1)).unwrap().proposed_by, Some(fixture.acme));
    doc.commit();
    for editor in [Some(bob), None] {
        assert!(matches!(
            edit_clause_body(doc, id(1), &splice(0, 0, "X"), editor),
            Err(OpError::SuggestOnly)
        ));
        assert!(matches!(
            set_clause_body(doc, id(1), "Other.", editor),
            Err(OpError::SuggestOnly)
        ));
    }
    assert_eq!(doc.pending_ops(), 0);
    suggest(doc, id(10), &two_years(bob), T0).unwrap();
    doc.commit();
    assert!(matches!(
        decide(doc, id(10), id(20), Verdict::Accept, bob, T0),
        Err(OpError::SuggestOnly)
    ));
    assert_eq!(doc.pending_ops(), 0);
    decide(doc, id(10), id(20), Verdict::Accept, alice, T0).unwrap();
    edit_clause_body(doc, id(1), &splice(0, 0, "> "), Some(alice)).unwrap();
    assert_eq!(body(doc), "> The term is two years from signature.");
    // Back to draft: everyone edits again.
    set_clause_status(doc, id(1), ClauseStatus::Draft, Some(bob)).unwrap();
    assert_eq!(clause(doc, id(1)).unwrap().proposed_by, None);
    edit_clause_body(doc, id(1), &splice(0, 2, ""), Some(bob)).unwrap();
    // A clause proposed without a known proposer (older clients) is open.
    set_clause_status(doc, id(1), ClauseStatus::Proposed, None).unwrap();
    edit_clause_body(doc, id(1), &splice(0, 0, "So: "), Some(bob)).unwrap();
}

#[test]
fn concurrent_accept_and_reject_resolve_to_accepted_everywhere() {
    let (_, a, b) = decided_at_once(T0 + 9, Verdict::Reject);
    for doc in [&a, &b] {
        let read = get(doc, id(10)).unwrap();
        assert!(matches!(&read.state, SuggestionState::Accepted(d) if d.id == id(20)));
        assert_eq!(
            read.decisions.len(),
            2,
            "the overruled reject stays on record"
        );
        assert_eq!(body(doc), "The term is two years from signature.");
        assert!(!unsettled(doc));
    }
}

#[test]
fn two_accepts_at_once_insert_the_words_once_after_settling() {
    let (fixture, mut a, mut b) = decided_at_once(T0 + 2, Verdict::Accept);
    let bob = fixture.bob;
    assert!(unsettled(&a) && unsettled(&b));
    assert_eq!(body(&a).matches("two years").count(), 2);
    // Both settle at once, then meet again.
    assert_eq!(settle(&mut a).unwrap(), 1);
    assert_eq!(settle(&mut b).unwrap(), 1);
    sync_pair(&mut a, &mut b);
    for doc in [&a, &b] {
        assert_eq!(body(doc), "The term is two years from signature.");
        assert!(!unsettled(doc));
        assert!(
            matches!(&get(doc, id(10)).unwrap().state, SuggestionState::Accepted(d) if d.by == Some(bob))
        );
    }
    assert_eq!(settle(&mut a).unwrap(), 0);
}

#[test]
fn overlapping_suggestions() {
    let mut fixture = with_clause(TERM);
    let (alice, bob) = (fixture.alice, fixture.bob);
    // "one year from signature" → "two years", and "year" → "month".
    suggest(
        &mut fixture.doc,
        id(10),
        &suggestion(bob, 12, 23, "two years"),
        T0,
    )
    .unwrap();
    suggest(
        &mut fixture.doc,
        id(11),
        &suggestion(alice, 16, 4, "month"),
        T0,
    )
    .unwrap();
    fixture.doc.commit();
    // One after the other on one replica: the second no longer applies.
    let mut one = fixture.doc.clone();
    decide(&mut one, id(10), id(20), Verdict::Accept, alice, T0).unwrap();
    assert_eq!(
        get(&one, id(11)).unwrap().placement,
        Placement::NotApplicable
    );
    // At once on two replicas: both merge, the same everywhere.
    let (mut a, mut b) = two_devices(&fixture.doc);
    decide(&mut a, id(10), id(20), Verdict::Accept, alice, T0).unwrap();
    decide(&mut b, id(11), id(21), Verdict::Accept, bob, T0).unwrap();
    sync_pair(&mut a, &mut b);
    assert_eq!(body(&a), body(&b));
    assert_eq!(body(&a), "The term is two yearsmonth.");
}

/// Replacing `delete` characters at `at` with `text` on one replica.
#[derive(Debug, Clone)]
struct Edit {
    replica: usize,
    at: usize,
    delete: usize,
    text: String,
}

/// Edits on one of three replicas, deleting fewer than `delete` characters
/// and inserting text matching `text`.
fn edit(delete: usize, text: &'static str) -> impl Strategy<Value = Edit> {
    (0..3_usize, 0..60_usize, 0..delete, text).prop_map(|(replica, at, delete, text)| Edit {
        replica,
        at,
        delete,
        text,
    })
}

/// One step of the random convergence test.
#[derive(Debug, Clone)]
enum Step {
    Type(Edit),
    Suggest(Edit),
    Decide {
        replica: usize,
        which: usize,
        accept: bool,
    },
    Settle {
        replica: usize,
    },
    Sync {
        a: usize,
        b: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let replica = 0..3_usize;
    prop_oneof![
        edit(4, "[a-z ]{0,4}").prop_map(Step::Type),
        edit(6, "[A-Z]{0,4}").prop_map(Step::Suggest),
        (replica.clone(), 0..8_usize, any::<bool>()).prop_map(|(replica, which, accept)| {
            Step::Decide {
                replica,
                which,
                accept,
            }
        }),
        replica.clone().prop_map(|replica| Step::Settle { replica }),
        (replica.clone(), replica).prop_map(|(a, b)| Step::Sync { a, b }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random concurrent typing, suggestions, accepts, rejects and partial
    /// syncs on three replicas: once everyone has met and settled, every
    /// replica reads the same text and the same suggestion states, and no
    /// accept is left unsettled.
    #[test]
    fn replicas_converge(steps in proptest::collection::vec(step(), 1..40)) {
        let fixture = with_clause(TERM);
        let members = [fixture.alice, fixture.bob, fixture.alice];
        let mut replicas: Vec<AutoCommit> = ["r0", "r1", "r2"]
            .iter()
            .map(|name| actor(&fixture.doc, name))
            .collect();
        let mut next_id = 100_u8;
        let mut now = T0;
        for step in steps {
            next_id = next_id.wrapping_add(1).max(100);
            now += 1;
            match step {
                Step::Type(Edit { replica, at, delete, text }) => {
                    let doc = &mut replicas[replica];
                    let length = body(doc).chars().count();
                    let at = at.min(length);
                    let edit = splice(at, delete.min(length - at), &text);
                    edit_clause_body(doc, id(1), &edit, None).unwrap();
                }
                Step::Suggest(Edit { replica, at, delete, text }) => {
                    let doc = &mut replicas[replica];
                    let length = body(doc).chars().count();
                    let at = at.min(length);
                    let new = suggestion(members[replica], at, delete.min(length - at), &text);
                    // Refusals (a no-op change, a reused id) are fine; they write nothing.
                    let _ = suggest(doc, id(next_id), &new, now);
                }
                Step::Decide { replica, which, accept } => {
                    let doc = &mut replicas[replica];
                    let all = list(doc, id(1));
                    if let Some(target) = all.get(which % all.len().max(1)) {
                        let verdict = if accept { Verdict::Accept } else { Verdict::Reject };
                        let result = decide(doc, target.id, id(next_id), verdict, members[replica], now);
                        if let Err(error) = result {
                            prop_assert!(matches!(
                                error,
                                OpError::NotApplicable | OpError::AlreadyDecided(_)
                            ), "{error}");
                        }
                    }
                }
                Step::Settle { replica } => {
                    settle(&mut replicas[replica]).unwrap();
                }
                Step::Sync { a, b } if a != b => {
                    let (low, high) = (a.min(b), a.max(b));
                    let (left, right) = replicas.split_at_mut(high);
                    sync_pair(&mut left[low], &mut right[0]);
                }
                Step::Sync { .. } => {}
            }
        }
        // Everyone meets, settles, and meets again.
        for _ in 0..2 {
            let (first, rest) = replicas.split_at_mut(1);
            for other in rest.iter_mut() {
                sync_pair(&mut first[0], other);
            }
            for other in rest.iter_mut() {
                sync_pair(&mut first[0], other);
            }
            for doc in replicas.iter_mut() {
                settle(doc).unwrap();
            }
        }
        let (first, rest) = replicas.split_at_mut(1);
        for other in rest.iter_mut() {
            sync_pair(&mut first[0], other);
        }
        for other in rest.iter_mut() {
            sync_pair(&mut first[0], other);
        }
        let reference = (body(&replicas[0]), list(&replicas[0], id(1)));
        for doc in &replicas {
            prop_assert!(!unsettled(doc));
            prop_assert_eq!(&(body(doc), list(doc, id(1))), &reference);
        }
    }
}

#[test]
fn a_v1_client_and_a_new_one_keep_each_others_work() {
    use automerge::transaction::Transactable;

    let fixture = with_clause(TERM);
    let (alice, bob) = (fixture.alice, fixture.bob);
    let mut new_client = actor(&fixture.doc, "new");
    let mut old_client = actor(&fixture.doc, "old");
    // The upgraded side suggests, comments on words and saves a version.
    suggest(&mut new_client, id(10), &two_years(bob), T0).unwrap();
    let comment = crate::model::agreement::NewComment {
        clause: id(1),
        author: bob,
        body: "Why?".into(),
        reply_to: None,
    };
    crate::model::agreement::add_anchored_comment(&mut new_client, id(11), &comment, 21..35, T0)
        .unwrap();
    // The other side, on a v1 client, splices plain text and comments on
    // the clause as v1 clients do.
    let text = crate::model::agreement::clause_body_text(&old_client, id(1)).unwrap();
    old_client.splice_text(&text, 0, 0, "Hereby: ").unwrap();
    let v1_comment = crate::model::agreement::NewComment {
        author: alice,
        body: "Fine by us.".into(),
        ..comment
    };
    crate::model::agreement::add_comment(&mut old_client, id(12), &v1_comment, T0).unwrap();
    sync_pair(&mut new_client, &mut old_client);
    for doc in [&new_client, &old_client] {
        assert_eq!(body(doc), format!("Hereby: {TERM}"));
        assert_eq!(
            get(doc, id(10)).unwrap().placement,
            Placement::At { start: 20, end: 28 }
        );
        let threads = crate::model::agreement::comments(doc, id(1));
        assert_eq!(threads.len(), 2);
        assert!(matches!(
            &threads[0].root.anchor,
            Some(crate::model::agreement::CommentAnchor::Range { text, .. }) if text == "from signature"
        ));
        assert_eq!(threads[1].root.anchor, None);
        // Still schema 1: a v1 reader opens it.
        assert_eq!(crate::model::Partnership::read(doc).unwrap().schema, 1);
    }
    // The v1 client rewrites the whole text through its text box (a
    // smallest splice): the suggestion still finds its words.
    let text = crate::model::agreement::clause_body_text(&old_client, id(1)).unwrap();
    old_client.splice_text(&text, 0, 8, "").unwrap();
    sync_pair(&mut new_client, &mut old_client);
    decide(&mut new_client, id(10), id(20), Verdict::Accept, alice, T0).unwrap();
    assert_eq!(body(&new_client), "The term is two years from signature.");
}
