//! Tests of the board model: every operation and its validation, the
//! sealing of ballots and private notes, and two replicas converging.

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ReadDoc};

use super::convert::{self, Conversion, ItemLink, NoteRef};
use super::facilitation::{self, FocusTarget};
use super::voting::{self, Ballot};
use super::*;
use crate::model::actions::ActionSource;
use crate::model::conflicts::{self, Severity};
use crate::model::items::{self, Collection};
use crate::model::meetings::{self, MeetingKind, NewMeeting};
use crate::model::objectives;
use crate::model::period::Period;
use crate::model::reviews::{self, NewReview, ReviewKind};
use crate::model::risks;
use crate::model::test_support::{
    Fixture, T0, add_carol, contains, everything_visible, id, partnership, sync_pair,
};

const BOARD: u8 = 10;

fn board_id() -> ItemId {
    id(BOARD)
}

fn col(index: usize) -> ItemId {
    template_column_id(board_id(), index)
}

/// A retrospective facilitated by Alice.
fn retro() -> Fixture {
    let mut fixture = partnership();
    create(
        &mut fixture.doc,
        board_id(),
        &NewBoard {
            title: String::new(),
            template: Template::Retrospective,
            facilitator: fixture.alice,
        },
        T0,
    )
    .unwrap();
    fixture.doc.commit();
    fixture
}

/// [`retro`], with Alice (facilitator), Bob and the board's id at hand.
fn retro_by_alice_with_bob() -> (Fixture, MemberId, MemberId, ItemId) {
    let fixture = retro();
    let (alice, bob) = (fixture.alice, fixture.bob);
    (fixture, alice, bob, board_id())
}

fn new_note(column: usize, text: &str, author: MemberId) -> NewNote {
    NewNote {
        column: col(column),
        text: text.into(),
        colour: Colour::Yellow,
        author,
    }
}

fn add(doc: &mut AutoCommit, n: u8, column: usize, text: &str, author: MemberId) -> ItemId {
    add_note(doc, board_id(), id(n), &new_note(column, text, author), T0).unwrap();
    id(n)
}

fn texts(doc: &AutoCommit, column: usize) -> Vec<String> {
    let board = get(doc, board_id()).unwrap();
    board
        .notes_in(col(column))
        .map(|n| n.text.clone())
        .collect()
}

fn key(n: u8) -> SealKey {
    SealKey::from_bytes([n; 32])
}

/// Converts `note` on the test board into item `id(n)`, as `by`, at
/// [`T0`]; panics if refused.
fn converted(doc: &mut AutoCommit, by: MemberId, note: ItemId, n: u8, to: &Conversion) -> ItemLink {
    convert::convert_note(doc, board_id(), note, id(n), to, by, T0).unwrap()
}

fn dots(entries: &[(ItemId, u8)]) -> Ballot {
    Ballot {
        dots: entries.iter().copied().collect(),
    }
}

#[test]
fn templates_give_titles_and_columns() {
    let mut fixture = partnership();
    let alice = fixture.alice;
    let doc = &mut fixture.doc;
    let new = |template, title: &str| NewBoard {
        title: title.into(),
        template,
        facilitator: alice,
    };
    assert!(matches!(
        create(doc, id(1), &new(Template::Swot, ""), 0),
        Err(OpError::InvalidDate { .. })
    ));
    assert!(matches!(
        create(
            doc,
            id(1),
            &NewBoard {
                facilitator: MemberId::from_bytes([9; 16]),
                ..new(Template::Swot, "")
            },
            T0
        ),
        Err(OpError::NotFound { kind: "member", .. })
    ));
    assert_eq!(doc.pending_ops(), 0);
    for (n, template) in Template::ALL.into_iter().enumerate() {
        let board = id(u8::try_from(n).unwrap() + 1);
        create(doc, board, &new(template, ""), T0).unwrap();
        let read = get(doc, board).unwrap();
        assert_eq!(read.title, template.label());
        assert_eq!(read.template, template);
        assert_eq!(read.facilitator, Some(alice));
        assert!(!read.locked && read.notes.is_empty() && read.timer.is_none());
        let titles: Vec<&str> = read.columns.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, template.columns());
        assert_eq!(read.columns[0].id, template_column_id(board, 0));
    }
    assert_eq!(
        get(doc, id(3))
            .unwrap()
            .columns
            .iter()
            .map(|c| c.title.clone())
            .collect::<Vec<_>>(),
        ["Went well", "To improve", "Ideas", "Actions"]
    );
    assert_eq!(
        Template::Swot.columns(),
        ["Strengths", "Weaknesses", "Opportunities", "Threats"]
    );
    assert!(matches!(
        create(doc, id(1), &new(Template::Swot, "Again"), T0),
        Err(OpError::Duplicate { kind: "board", .. })
    ));
    create(
        doc,
        id(9),
        &new(Template::Brainstorm, "  Pricing ideas "),
        T0,
    )
    .unwrap();
    assert_eq!(get(doc, id(9)).unwrap().title, "Pricing ideas");
    assert_eq!(list(doc).len(), 6);
    rename(doc, id(9), "Pricing", alice).unwrap();
    assert!(rename(doc, id(9), " ", alice).is_err());
    assert!(rename(doc, id(9), "x", fixture.bob).is_err());
    assert_eq!(get(doc, id(9)).unwrap().title, "Pricing");
    items::delete(doc, Collection::Boards, id(9), T0).unwrap();
    assert_eq!(list(doc).len(), 5);
    assert!(get(doc, id(9)).is_err());
    let gone = items::deleted(doc, Collection::Boards).unwrap();
    assert_eq!(gone.len(), 1);
    assert_eq!((gone[0].id, gone[0].label.as_str()), (id(9), "Pricing"));
    items::restore(doc, Collection::Boards, id(9)).unwrap();
    assert_eq!(list(doc).len(), 6);
    assert!(items::deleted(doc, Collection::Boards).unwrap().is_empty());
}

#[test]
fn columns_add_rename_reorder_remove() {
    let (mut fixture, alice, bob, b) = retro_by_alice_with_bob();
    let doc = &mut fixture.doc;
    let titles = |doc: &AutoCommit| -> Vec<String> {
        get(doc, b)
            .unwrap()
            .columns
            .into_iter()
            .map(|c| c.title)
            .collect()
    };
    assert!(matches!(
        add_column(doc, b, id(50), " ", bob),
        Err(OpError::Empty { .. })
    ));
    add_column(doc, b, id(50), "Shout-outs", bob).unwrap();
    assert!(add_column(doc, b, id(50), "Again", bob).is_err());
    rename_column(doc, b, id(50), "Kudos", bob).unwrap();
    assert!(rename_column(doc, b, id(51), "x", bob).is_err());
    move_column(doc, b, id(50), 0, alice).unwrap();
    assert_eq!(
        titles(doc),
        ["Kudos", "Went well", "To improve", "Ideas", "Actions"]
    );
    move_column(doc, b, col(0), 99, alice).unwrap();
    assert_eq!(titles(doc)[4], "Went well");
    add(doc, 1, 1, "Too many meetings", bob);
    assert!(matches!(
        delete_column(doc, b, col(1), alice, T0),
        Err(OpError::InUse { .. })
    ));
    assert!(move_column(doc, b, id(59), 0, alice).is_err());
    assert!(delete_column(doc, b, id(50), alice, 0).is_err());
    delete_column(doc, b, id(50), alice, T0).unwrap();
    assert!(delete_column(doc, b, id(50), alice, T0).is_err());
    assert_eq!(titles(doc).len(), 4);
    for n in 0..8 {
        add_column(doc, b, id(60 + n), "More", bob).unwrap();
    }
    assert!(matches!(
        add_column(doc, b, id(70), "Thirteenth", bob),
        Err(OpError::Invalid {
            field: "column",
            ..
        })
    ));
    // The last column cannot go.
    let mut single = partnership();
    create(
        &mut single.doc,
        id(2),
        &NewBoard {
            title: String::new(),
            template: Template::Brainstorm,
            facilitator: single.alice,
        },
        T0,
    )
    .unwrap();
    assert!(matches!(
        delete_column(
            &mut single.doc,
            id(2),
            template_column_id(id(2), 0),
            single.alice,
            T0
        ),
        Err(OpError::InUse { .. })
    ));
}

#[test]
fn notes_add_edit_colour_move_group_remove() {
    let mut fixture = retro();
    let (alice, bob, acme, globex) = (fixture.alice, fixture.bob, fixture.acme, fixture.globex);
    let doc = &mut fixture.doc;
    let b = board_id();
    for (bad, why) in [
        (new_note(0, "  ", bob), "empty"),
        (new_note(0, &"x".repeat(MAX_NOTE_CHARS + 1), bob), "long"),
        (
            NewNote {
                column: id(99),
                ..new_note(0, "x", bob)
            },
            "column",
        ),
        (new_note(0, "x", MemberId::from_bytes([9; 16])), "author"),
    ] {
        assert!(add_note(doc, b, id(1), &bad, T0).is_err(), "{why}");
    }
    assert!(add_note(doc, b, id(1), &new_note(0, "x", bob), 0).is_err());
    assert!(add_note(doc, id(99), id(1), &new_note(0, "x", bob), T0).is_err());
    assert_eq!(doc.pending_ops(), 0);

    let a = add(doc, 1, 0, "Joint pipeline review", alice);
    let c = add(doc, 2, 0, "Fast legal turnaround", bob);
    let d = add(doc, 3, 1, "Slow invoicing", bob);
    assert!(matches!(
        add_note(doc, b, a, &new_note(0, "again", bob), T0),
        Err(OpError::Duplicate { kind: "note", .. })
    ));
    let read = get(doc, b).unwrap();
    assert_eq!(read.notes.len(), 3);
    let first = &read.notes[0];
    assert_eq!(
        (
            first.author,
            first.party,
            first.colour,
            first.created_at,
            first.sealed
        ),
        (Some(alice), Some(acme), Colour::Yellow, T0, false)
    );
    assert_eq!(read.notes[1].party, Some(globex));

    edit_note(doc, b, a, "Monthly joint pipeline review", bob).unwrap();
    assert!(edit_note(doc, b, a, "", bob).is_err());
    assert!(edit_note(doc, b, id(9), "x", bob).is_err());
    assert_eq!(texts(doc, 0)[0], "Monthly joint pipeline review");

    set_colour(doc, b, a, Colour::parse("green").unwrap(), bob).unwrap();
    assert!(matches!(
        Colour::parse("chartreuse"),
        Err(OpError::Invalid {
            field: "colour",
            ..
        })
    ));
    assert_eq!(get(doc, b).unwrap().notes[0].colour, Colour::Green);
    assert!(set_colour(doc, b, id(99), Colour::Pink, bob).is_err());
    assert!(ungroup_note(doc, b, id(99), bob).is_err());
    assert!(delete_note(doc, b, a, bob, 0).is_err());

    // Within a column, then across.
    move_note(doc, b, c, col(0), 0, bob).unwrap();
    assert_eq!(
        texts(doc, 0),
        ["Fast legal turnaround", "Monthly joint pipeline review"]
    );
    move_note(doc, b, a, col(1), 0, bob).unwrap();
    assert_eq!(
        texts(doc, 1),
        ["Monthly joint pipeline review", "Slow invoicing"]
    );
    move_note(doc, b, a, col(1), 9, bob).unwrap();
    assert_eq!(
        texts(doc, 1),
        ["Slow invoicing", "Monthly joint pipeline review"]
    );
    assert!(move_note(doc, b, a, id(99), 0, bob).is_err());
    assert!(move_note(doc, b, id(99), col(0), 0, bob).is_err());

    let group = id(40);
    doc.commit();
    assert!(matches!(
        group_notes(doc, b, &[], group, bob),
        Err(OpError::Empty { .. })
    ));
    assert!(group_notes(doc, b, &[a, id(99)], group, bob).is_err());
    assert_eq!(doc.pending_ops(), 0);
    group_notes(doc, b, &[a, d], group, bob).unwrap();
    let read = get(doc, b).unwrap();
    assert_eq!(read.group(group).count(), 2);
    ungroup_note(doc, b, d, bob).unwrap();
    assert_eq!(
        get(doc, b)
            .unwrap()
            .group(group)
            .map(|n| n.id)
            .collect::<Vec<_>>(),
        [a]
    );

    delete_note(doc, b, d, bob, T0).unwrap();
    assert!(delete_note(doc, b, d, bob, T0).is_err());
    assert_eq!(texts(doc, 1), ["Monthly joint pipeline review"]);
    let removed = deleted_notes(doc, b);
    assert_eq!(removed.len(), 1);
    assert_eq!((removed[0].id, removed[0].deleted_at), (d, T0));
    assert!(!removed[0].label.trim().is_empty());
    restore_note(doc, b, d, bob).unwrap();
    assert_eq!(texts(doc, 1).len(), 2);
    assert!(deleted_notes(doc, b).is_empty());
}

#[test]
fn a_note_in_a_removed_column_shows_in_the_first() {
    let mut fixture = retro();
    let (alice, bob) = (fixture.alice, fixture.bob);
    let mut other = fixture.doc.fork();
    delete_column(&mut fixture.doc, board_id(), col(2), alice, T0).unwrap();
    add(&mut other, 1, 2, "An idea", bob);
    fixture.doc.merge(&mut other).unwrap();
    let board = get(&fixture.doc, board_id()).unwrap();
    assert_eq!(board.columns.len(), 3);
    assert_eq!(board.notes[0].column, col(0));
    restore_column(&mut fixture.doc, board_id(), col(2), bob).unwrap();
    assert!(restore_column(&mut fixture.doc, board_id(), col(2), bob).is_err());
    assert_eq!(
        get(&fixture.doc, board_id()).unwrap().notes[0].column,
        col(2)
    );
}

#[test]
fn removing_the_last_two_columns_at_once_loses_no_note() {
    let mut fixture = partnership();
    let (alice, bob) = (fixture.alice, fixture.bob);
    create(
        &mut fixture.doc,
        board_id(),
        &NewBoard {
            title: String::new(),
            template: Template::Brainstorm,
            facilitator: alice,
        },
        T0,
    )
    .unwrap();
    add_column(&mut fixture.doc, board_id(), id(50), "Later", alice).unwrap();
    add_note(
        &mut fixture.doc,
        board_id(),
        id(1),
        &NewNote {
            column: id(50),
            ..new_note(0, "Keep me", bob)
        },
        T0,
    )
    .unwrap();
    move_note(&mut fixture.doc, board_id(), id(1), col(0), 0, bob).unwrap();
    let mut other = fixture.doc.fork();
    delete_column(&mut fixture.doc, board_id(), id(50), alice, T0).unwrap();
    // Offline, Bob moves the note to "Later" and removes the first column:
    // each side removed an empty column, together they removed both.
    move_note(&mut other, board_id(), id(1), id(50), 0, bob).unwrap();
    delete_column(&mut other, board_id(), col(0), bob, T0).unwrap();
    fixture.doc.merge(&mut other).unwrap();
    let board = get(&fixture.doc, board_id()).unwrap();
    assert!(board.columns.is_empty());
    assert_eq!(board.notes.len(), 1);
    // Both columns are listed for restoring.
    let removed: Vec<String> = deleted_columns(&fixture.doc, board_id())
        .into_iter()
        .map(|c| c.label)
        .collect();
    assert_eq!(removed.len(), 2);
    assert!(removed.contains(&"Later".to_owned()));
    restore_column(&mut fixture.doc, board_id(), id(50), alice).unwrap();
    assert_eq!(deleted_columns(&fixture.doc, board_id()).len(), 1);
    let board = get(&fixture.doc, board_id()).unwrap();
    assert_eq!(board.notes[0].column, id(50));
    assert_eq!(board.notes[0].text, "Keep me");
}

#[test]
fn a_locked_board_takes_edits_only_from_the_facilitator() {
    let (mut fixture, alice, bob, b) = retro_by_alice_with_bob();
    let doc = &mut fixture.doc;
    let n = add(doc, 1, 0, "Kept", bob);
    assert!(matches!(
        set_locked(doc, b, true, bob),
        Err(OpError::Invalid {
            field: "member",
            ..
        })
    ));
    set_locked(doc, b, true, alice).unwrap();
    assert!(get(doc, b).unwrap().locked);
    doc.commit();
    type Op = Box<dyn Fn(&mut AutoCommit, MemberId) -> Result<(), OpError>>;
    let ops: Vec<(&str, Op)> = vec![
        (
            "add",
            Box::new(move |d, by| add_note(d, b, id(2), &new_note(0, "x", by), T0)),
        ),
        (
            "edit",
            Box::new(move |d, by| edit_note(d, b, n, "Changed", by)),
        ),
        (
            "colour",
            Box::new(move |d, by| set_colour(d, b, n, Colour::Pink, by)),
        ),
        (
            "move",
            Box::new(move |d, by| move_note(d, b, n, col(1), 0, by)),
        ),
        (
            "group",
            Box::new(move |d, by| group_notes(d, b, &[n], id(40), by)),
        ),
        (
            "column",
            Box::new(move |d, by| add_column(d, b, id(50), "New", by)),
        ),
        (
            "rename column",
            Box::new(move |d, by| rename_column(d, b, col(3), "Todo", by)),
        ),
        (
            "remove",
            Box::new(move |d, by| delete_note(d, b, n, by, T0)),
        ),
    ];
    for (name, op) in &ops {
        assert!(
            matches!(op(doc, bob), Err(OpError::Invalid { field: "board", .. })),
            "{name}"
        );
        assert_eq!(doc.pending_ops(), 0, "{name}");
    }
    for (name, op) in &ops {
        op(doc, alice).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    set_locked(doc, b, false, alice).unwrap();
    restore_note(doc, b, n, bob).unwrap();
    edit_note(doc, b, n, "Open again", bob).unwrap();
    // Handing over facilitation.
    assert!(hand_over(doc, b, alice, bob).is_err());
    hand_over(doc, b, bob, alice).unwrap();
    set_locked(doc, b, true, bob).unwrap();
    assert!(edit_note(doc, b, n, "x", alice).is_err());
}

#[test]
fn the_timer_survives_a_reload_and_pauses() {
    let (mut fixture, alice, bob, b) = retro_by_alice_with_bob();
    let doc = &mut fixture.doc;
    assert!(matches!(
        facilitation::start_timer(doc, b, 1000, alice, T0),
        Err(OpError::OutOfRange { field: "timer", .. })
    ));
    assert!(facilitation::start_timer(doc, b, 300_000, bob, T0).is_err());
    assert!(facilitation::pause_timer(doc, b, alice, T0).is_err());
    assert_eq!(doc.pending_ops(), 0);
    facilitation::start_timer(doc, b, 300_000, alice, T0).unwrap();
    // Another participant reloads: the saved document gives the same clock.
    let reloaded = AutoCommit::load(&doc.save()).unwrap();
    let timer = get(&reloaded, b).unwrap().timer.unwrap();
    assert_eq!(timer.remaining_ms(T0 + 60_000), 240_000);
    assert_eq!(timer.remaining_ms(T0 - 5), 300_000);
    assert!(!timer.is_finished(T0 + 299_999));
    assert!(timer.is_finished(T0 + 400_000));
    assert_eq!(timer.by, Some(alice));

    facilitation::pause_timer(doc, b, alice, T0 + 100_000).unwrap();
    assert!(facilitation::pause_timer(doc, b, alice, T0 + 100_001).is_err());
    let paused = get(doc, b).unwrap().timer.unwrap();
    assert!(paused.is_paused());
    assert_eq!(paused.remaining_ms(T0 + 900_000), 200_000);
    assert!(facilitation::resume_timer(doc, b, bob, T0 + 150_000).is_err());
    facilitation::resume_timer(doc, b, alice, T0 + 150_000).unwrap();
    assert!(facilitation::resume_timer(doc, b, alice, T0 + 150_000).is_err());
    let resumed = get(doc, b).unwrap().timer.unwrap();
    assert_eq!(resumed.paused_ms, 50_000);
    assert_eq!(resumed.remaining_ms(T0 + 250_000), 100_000);
    assert!(facilitation::start_timer(doc, b, 300_000, alice, 0).is_err());
    assert!(facilitation::stop_timer(doc, b, bob).is_err());
    facilitation::stop_timer(doc, b, alice).unwrap();
    assert!(get(doc, b).unwrap().timer.is_none());
    assert!(facilitation::stop_timer(doc, b, alice).is_err());
}

#[test]
fn focus_brings_everyone_to_a_column_or_note() {
    let (mut fixture, alice, bob, b) = retro_by_alice_with_bob();
    let doc = &mut fixture.doc;
    let n = add(doc, 1, 0, "Look here", bob);
    assert!(facilitation::set_focus(doc, b, FocusTarget::Note(n), bob, T0).is_err());
    assert!(facilitation::set_focus(doc, b, FocusTarget::Note(id(9)), alice, T0).is_err());
    assert!(facilitation::set_focus(doc, b, FocusTarget::Column(id(9)), alice, T0).is_err());
    facilitation::set_focus(doc, b, FocusTarget::Column(col(1)), alice, T0).unwrap();
    facilitation::set_focus(doc, b, FocusTarget::Note(n), alice, T0 + 5).unwrap();
    let focus = get(doc, b).unwrap().focus.unwrap();
    assert_eq!(
        (focus.target, focus.by, focus.at),
        (FocusTarget::Note(n), Some(alice), T0 + 5)
    );
    assert!(facilitation::clear_focus(doc, b, bob).is_err());
    facilitation::clear_focus(doc, b, alice).unwrap();
    assert!(get(doc, b).unwrap().focus.is_none());
}

#[test]
fn dot_votes_are_sealed_until_revealed_then_ranked() {
    let mut fixture = retro();
    let (alice, bob, acme) = (fixture.alice, fixture.bob, fixture.acme);
    let doc = &mut fixture.doc;
    let carol = add_carol(doc, acme);
    let b = board_id();
    // Note ids whose raw bytes appear nowhere else in the document.
    let ids = [0xe1_u8, 0xe2, 0xe3].map(|n| ItemId::from_bytes([n; 16]));
    for (note, text) in ids.iter().zip(["Pipeline", "Invoicing", "Legal"]) {
        add_note(doc, b, *note, &new_note(0, text, bob), T0).unwrap();
    }
    let [pipeline, invoicing, legal] = ids;
    let vote = id(70);
    // Facilitators often lock the notes before a vote: ballots still go in.
    set_locked(doc, b, true, alice).unwrap();
    doc.commit();
    assert!(voting::open(doc, b, vote, 3, bob, T0).is_err());
    assert!(matches!(
        voting::open(doc, b, vote, 0, alice, T0),
        Err(OpError::OutOfRange { .. })
    ));
    assert!(voting::open(doc, b, vote, 21, alice, T0).is_err());
    assert_eq!(doc.pending_ops(), 0);
    voting::open(doc, b, vote, 3, alice, T0).unwrap();
    assert!(matches!(
        voting::open(doc, b, id(71), 3, alice, T0),
        Err(OpError::Invalid { field: "vote", .. })
    ));
    assert!(voting::get(doc, b, vote).unwrap().is_open());
    doc.commit();

    // The limit, empty ballots and unknown notes.
    let cast = |doc: &mut AutoCommit, who, ballot: &Ballot, k: u8, nonce: u8| {
        voting::cast(doc, b, vote, who, ballot, &key(k), [nonce; 12], T0 + 1)
    };
    assert!(matches!(
        cast(doc, bob, &dots(&[(pipeline, 3), (legal, 1)]), 2, 1),
        Err(OpError::OutOfRange { field: "dots", .. })
    ));
    assert!(matches!(
        cast(doc, bob, &dots(&[]), 2, 1),
        Err(OpError::Empty { .. })
    ));
    assert!(cast(doc, bob, &dots(&[(pipeline, 0)]), 2, 1).is_err());
    assert!(matches!(
        cast(doc, bob, &dots(&[(id(99), 1)]), 2, 1),
        Err(OpError::NotFound { kind: "note", .. })
    ));
    assert_eq!(doc.pending_ops(), 0);
    cast(doc, bob, &dots(&[(legal, 3)]), 2, 1).unwrap();
    assert!(matches!(
        cast(doc, bob, &dots(&[(legal, 2)]), 2, 1),
        Err(OpError::Invalid { field: "nonce", .. })
    ));
    // Bob changes his mind: the ballot is replaced, not added to.
    cast(doc, bob, &dots(&[(pipeline, 2), (invoicing, 1)]), 2, 2).unwrap();
    cast(doc, alice, &dots(&[(pipeline, 1), (legal, 2)]), 1, 3).unwrap();
    cast(doc, carol, &dots(&[(invoicing, 1)]), 3, 4).unwrap();
    assert_eq!(
        voting::own_ballot(doc, b, vote, bob, &key(2)),
        Some(dots(&[(pipeline, 2), (invoicing, 1)]))
    );
    assert_eq!(voting::own_ballot(doc, b, vote, bob, &key(1)), None);
    let before = voting::get(doc, b, vote).unwrap();
    assert_eq!(before.voters.len(), 3);
    assert!(before.results.is_none());
    assert!(!voting::should_publish(doc, b, vote, bob));
    assert!(matches!(
        voting::publish_key(doc, b, vote, bob, &key(2)),
        Err(OpError::Invalid { field: "vote", .. })
    ));

    // Before the reveal, nothing in the document says who put dots where.
    doc.commit();
    let (values, bytes) = everything_visible(doc);
    for note in ids {
        assert!(
            !contains(&bytes, note.as_bytes()),
            "a raw note id is stored"
        );
        assert!(!contains(&doc.save(), note.as_bytes()));
    }
    let board_obj = require(doc, b).unwrap();
    let votes = board_map(doc, &board_obj, VOTES, "votes").unwrap();
    let vote_obj = child_map(doc, &votes, &vote.key()).unwrap();
    let ballots = child_map(doc, &vote_obj, "ballots").unwrap();
    let entry = child_map(doc, &ballots, &bob.key()).unwrap();
    let mut keys: Vec<String> = doc.keys(&entry).collect();
    keys.sort();
    assert_eq!(keys, ["cast_at", "commitment", "nonce", "party", "sealed"]);
    for note in ids {
        let hex = note.key();
        let occurrences = values.matches(&hex).count();
        assert_eq!(occurrences, 1, "note {hex} named outside its own key");
    }

    // The reveal.
    assert!(voting::reveal(doc, b, vote, bob, T0 + 2).is_err());
    voting::reveal(doc, b, vote, alice, T0 + 2).unwrap();
    voting::reveal(doc, b, vote, alice, T0 + 3).unwrap();
    assert_eq!(voting::get(doc, b, vote).unwrap().revealed_at, Some(T0 + 2));
    assert!(
        cast(doc, bob, &dots(&[(legal, 1)]), 2, 5).is_err(),
        "no ballots after reveal"
    );
    assert!(voting::should_publish(doc, b, vote, bob));
    assert!(matches!(
        voting::publish_key(doc, b, vote, bob, &key(1)),
        Err(OpError::Invalid { field: "key", .. })
    ));
    assert!(voting::publish_key(doc, b, vote, id(9).into(), &key(1)).is_err());
    voting::publish_key(doc, b, vote, bob, &key(2)).unwrap();
    voting::publish_key(doc, b, vote, bob, &key(2)).unwrap();
    assert!(!voting::should_publish(doc, b, vote, bob));
    let partial = voting::get(doc, b, vote).unwrap().results.unwrap();
    assert_eq!(
        (partial.counted, partial.cast, partial.complete),
        (1, 3, false)
    );
    voting::publish_key(doc, b, vote, alice, &key(1)).unwrap();
    voting::publish_key(doc, b, vote, carol, &key(3)).unwrap();
    let results = voting::get(doc, b, vote).unwrap().results.unwrap();
    assert!(results.complete);
    assert_eq!(results.ranking, [(pipeline, 3), (invoicing, 2), (legal, 2)]);

    // Closing: no reveal after close on a new vote, and a new vote can open.
    voting::close(doc, b, vote, alice, T0 + 9).unwrap();
    voting::open(doc, b, id(71), 2, alice, T0 + 10).unwrap();
    assert!(voting::close(doc, b, id(71), bob, T0 + 11).is_err());
    voting::close(doc, b, id(71), alice, T0 + 11).unwrap();
    assert!(voting::reveal(doc, b, id(71), alice, T0 + 12).is_err());
    assert_eq!(voting::list(doc, b).len(), 2);
}

#[test]
fn a_forged_ballot_over_the_limit_is_not_counted() {
    let (mut fixture, alice, bob, b) = retro_by_alice_with_bob();
    let doc = &mut fixture.doc;
    let n = add(doc, 1, 0, "Pipeline", bob);
    voting::open(doc, b, id(70), 5, alice, T0).unwrap();
    voting::cast(doc, b, id(70), bob, &dots(&[(n, 5)]), &key(2), [2; 12], T0).unwrap();
    // A modified client lowers the limit after Bob cast five dots.
    let board_obj = require(doc, b).unwrap();
    let votes = board_map(doc, &board_obj, VOTES, "votes").unwrap();
    let vote_obj = child_map(doc, &votes, &id(70).key()).unwrap();
    doc.put(&vote_obj, "votes_each", 2_u64).unwrap();
    voting::reveal(doc, b, id(70), alice, T0).unwrap();
    voting::publish_key(doc, b, id(70), bob, &key(2)).unwrap();
    let results = voting::get(doc, b, id(70)).unwrap().results.unwrap();
    assert_eq!(
        (results.counted, results.invalid, results.complete),
        (0, 1, true)
    );
    assert_eq!(results.ranking, [(n, 0)]);
}

const PRIVATE_SECRET: &str = "Globex's reseller margin is too thin";

#[test]
fn private_notes_are_sealed_until_revealed() {
    let (mut fixture, alice, bob, b) = retro_by_alice_with_bob();
    let doc = &mut fixture.doc;
    let note = id(1);
    let bob_key = SealKey::derive(b"bob device", b, note, bob);
    assert!(
        facilitation::add_private_note(doc, b, note, &new_note(0, "x", bob), &bob_key, [1; 12], T0)
            .is_err(),
        "private writing is off"
    );
    assert!(facilitation::start_private_writing(doc, b, bob, T0).is_err());
    facilitation::start_private_writing(doc, b, alice, T0).unwrap();
    assert!(facilitation::start_private_writing(doc, b, alice, T0).is_err());
    assert_eq!(
        get(doc, b).unwrap().private_writing.unwrap().by,
        Some(alice)
    );
    assert!(matches!(
        add_note(doc, b, note, &new_note(0, "plain", bob), T0),
        Err(OpError::Invalid { field: "note", .. })
    ));
    facilitation::add_private_note(
        doc,
        b,
        note,
        &new_note(0, "A first draft", bob),
        &bob_key,
        [1; 12],
        T0,
    )
    .unwrap();
    // Rewriting: only the author, with the key, and a fresh nonce.
    let rewrite = |doc: &mut AutoCommit, k: &SealKey, nonce: u8, by| {
        facilitation::rewrite_private_note(doc, b, note, PRIVATE_SECRET, k, [nonce; 12], by)
    };
    assert!(rewrite(doc, &bob_key, 1, bob).is_err());
    assert!(rewrite(doc, &key(9), 2, bob).is_err());
    assert!(rewrite(doc, &bob_key, 2, alice).is_err());
    rewrite(doc, &bob_key, 2, bob).unwrap();
    let read = get(doc, b).unwrap();
    assert!(read.notes[0].sealed);
    assert_eq!(read.notes[0].text, "");
    assert_eq!(read.notes[0].author, Some(bob));
    assert!(edit_note(doc, b, note, "peek", alice).is_err());
    assert_eq!(
        facilitation::open_own_note(doc, b, note, &bob_key).as_deref(),
        Some(PRIVATE_SECRET)
    );
    assert!(facilitation::notes_to_publish(doc, b, bob).is_empty());
    assert!(matches!(
        facilitation::publish_note_key(doc, b, note, &bob_key),
        Err(OpError::Invalid {
            field: "private writing",
            ..
        })
    ));

    // Before the reveal the words are nowhere in the document.
    doc.commit();
    let (values, bytes) = everything_visible(doc);
    for secret in [PRIVATE_SECRET, "reseller", "A first draft"] {
        assert!(!values.contains(secret), "{secret} readable");
        assert!(
            !contains(&bytes, secret.as_bytes()),
            "{secret} in the saved bytes"
        );
        assert!(!contains(&doc.save(), secret.as_bytes()));
    }

    assert!(facilitation::reveal_private_notes(doc, b, bob).is_err());
    facilitation::reveal_private_notes(doc, b, alice).unwrap();
    assert!(facilitation::reveal_private_notes(doc, b, alice).is_err());
    assert!(get(doc, b).unwrap().private_writing.is_none());
    assert_eq!(facilitation::notes_to_publish(doc, b, bob), [note]);
    assert!(facilitation::notes_to_publish(doc, b, alice).is_empty());
    assert!(matches!(
        facilitation::publish_note_key(doc, b, note, &key(9)),
        Err(OpError::Invalid { field: "key", .. })
    ));
    facilitation::publish_note_key(doc, b, note, &bob_key).unwrap();
    facilitation::publish_note_key(doc, b, note, &bob_key).unwrap();
    let read = get(doc, b).unwrap();
    assert!(!read.notes[0].sealed);
    assert_eq!(read.notes[0].text, PRIVATE_SECRET);
    assert!(facilitation::notes_to_publish(doc, b, bob).is_empty());
    // An opened note is an ordinary note.
    edit_note(doc, b, note, "Globex's reseller margin is thin", alice).unwrap();
    assert_eq!(texts(doc, 0), ["Globex's reseller margin is thin"]);
    let plain = add(doc, 2, 0, "Plain again", bob);
    assert!(facilitation::publish_note_key(doc, b, plain, &bob_key).is_err());
}

#[test]
fn notes_become_plan_items_linked_both_ways() {
    let mut fixture = retro();
    let (alice, bob, acme) = (fixture.alice, fixture.bob, fixture.acme);
    let doc = &mut fixture.doc;
    let b = board_id();
    let meeting = id(80);
    meetings::schedule(
        doc,
        meeting,
        &NewMeeting {
            kind: MeetingKind::Workshop,
            title: "Q3 retro".into(),
            at: Some(T0),
            duration_minutes: 90,
            location: String::new(),
        },
        T0,
    )
    .unwrap();
    let review = id(81);
    reviews::add(
        doc,
        review,
        &NewReview {
            kind: ReviewKind::Retrospective,
            title: String::new(),
            period: Period {
                from: T0,
                to: T0 + 1,
            },
        },
        T0,
    )
    .unwrap();
    let action = add(doc, 1, 3, "Send the joint deck\nby Friday, both logos", bob);
    let risk = add(doc, 2, 1, "Key engineer may leave", bob);
    let objective = add(doc, 3, 2, "Enter the Nordics", alice);
    let conflict = add(doc, 4, 1, "Lead ownership\nBoth sales teams claim it.", bob);
    let in_review = add(doc, 5, 3, "Write the retro summary", bob);

    // What the item's own op refuses is refused, and nothing is written.
    doc.commit();
    for bad in [
        Conversion::Risk {
            likelihood: 0,
            impact: 3,
            owner: None,
        },
        Conversion::Action {
            into: ActionSource::Meeting(id(99)),
            owner: None,
            due: None,
        },
    ] {
        assert!(convert::convert_note(doc, b, risk, id(90), &bad, bob, T0).is_err());
        assert_eq!(doc.pending_ops(), 0);
    }

    let to_action = Conversion::Action {
        into: ActionSource::Meeting(meeting),
        owner: Some(bob),
        due: Some(T0 + 7 * crate::model::DAY_MS),
    };
    let link = converted(doc, bob, action, 90, &to_action);
    assert_eq!(
        link,
        ItemLink::Action {
            source: ActionSource::Meeting(meeting),
            id: id(90)
        }
    );
    let actions = meetings::get(doc, meeting).unwrap().actions;
    assert_eq!(actions[0].fields.title, "Send the joint deck");
    assert_eq!(actions[0].fields.owner, Some(bob));
    assert_eq!(
        convert::source_of(doc, link),
        Some(NoteRef {
            board: b,
            note: action
        })
    );
    let to_review = Conversion::Action {
        into: ActionSource::Review(review),
        owner: None,
        due: None,
    };
    let review_link = converted(doc, bob, in_review, 95, &to_review);
    assert_eq!(
        reviews::get(doc, review).unwrap().actions[0].fields.title,
        "Write the retro summary"
    );
    assert_eq!(
        convert::source_of(doc, review_link).unwrap().note,
        in_review
    );

    let to_risk = Conversion::Risk {
        likelihood: 3,
        impact: 4,
        owner: Some(alice),
    };
    let risk_link = converted(doc, bob, risk, 91, &to_risk);
    assert_eq!(
        risks::get(doc, id(91)).unwrap().fields.title,
        "Key engineer may leave"
    );
    assert_eq!(convert::source_of(doc, risk_link).unwrap().note, risk);

    let to_objective = Conversion::Objective {
        owner: Some(acme),
        due: None,
    };
    let objective_link = converted(doc, alice, objective, 92, &to_objective);
    assert_eq!(
        objectives::get(doc, id(92)).unwrap().fields.owner,
        Some(acme)
    );
    assert_eq!(convert::source_of(doc, objective_link).unwrap().board, b);

    let to_conflict = Conversion::Conflict {
        severity: Severity::Medium,
    };
    let conflict_link = converted(doc, bob, conflict, 93, &to_conflict);
    let raised = conflicts::get(doc, id(93)).unwrap();
    assert_eq!(raised.fields.title, "Lead ownership");
    assert_eq!(
        raised.fields.description,
        "Lead ownership\nBoth sales teams claim it."
    );
    assert_eq!(raised.raised_by, Some(bob));

    // The notes link forward; converting again is refused.
    let board = get(doc, b).unwrap();
    let link_of = |n: ItemId| board.notes.iter().find(|x| x.id == n).unwrap().link;
    assert_eq!(link_of(action), Some(link));
    assert_eq!(link_of(risk), Some(risk_link));
    assert_eq!(link_of(objective), Some(objective_link));
    assert_eq!(link_of(conflict), Some(conflict_link));
    assert!(matches!(
        convert::convert_note(
            doc,
            b,
            risk,
            id(94),
            &Conversion::Conflict {
                severity: Severity::Low
            },
            bob,
            T0
        ),
        Err(OpError::Invalid { field: "note", .. })
    ));
    assert_eq!(convert::source_of(doc, ItemLink::Risk(id(99))), None);
    assert_eq!(crate::views::attention::all_actions(doc).len(), 2);
}

#[test]
fn sealed_or_locked_notes_are_not_converted() {
    let (mut fixture, alice, bob, b) = retro_by_alice_with_bob();
    let doc = &mut fixture.doc;
    facilitation::start_private_writing(doc, b, alice, T0).unwrap();
    facilitation::add_private_note(
        doc,
        b,
        id(1),
        &new_note(0, "Secret risk", bob),
        &key(2),
        [2; 12],
        T0,
    )
    .unwrap();
    let to_risk = Conversion::Risk {
        likelihood: 2,
        impact: 2,
        owner: None,
    };
    doc.commit();
    assert!(matches!(
        convert::convert_note(doc, b, id(1), id(90), &to_risk, bob, T0),
        Err(OpError::Invalid { field: "note", .. })
    ));
    facilitation::reveal_private_notes(doc, b, alice).unwrap();
    set_locked(doc, b, true, alice).unwrap();
    facilitation::publish_note_key(doc, b, id(1), &key(2)).unwrap();
    doc.commit();
    assert!(convert::convert_note(doc, b, id(1), id(90), &to_risk, bob, T0).is_err());
    assert_eq!(doc.pending_ops(), 0);
    convert::convert_note(doc, b, id(1), id(90), &to_risk, alice, T0).unwrap();
    assert_eq!(risks::get(doc, id(90)).unwrap().fields.title, "Secret risk");
}

#[test]
fn two_replicas_converge_on_edits_moves_and_votes() {
    let mut fixture = retro();
    let (alice, bob) = (fixture.alice, fixture.bob);
    let b = board_id();
    fixture
        .doc
        .set_actor(ActorId::from(b"alice-laptop".as_slice()));
    let n = add(&mut fixture.doc, 1, 0, "The partners meet monthly.", alice);
    let m = add(&mut fixture.doc, 2, 1, "Slow invoicing", alice);
    voting::open(&mut fixture.doc, b, id(70), 3, alice, T0).unwrap();
    let mut alice_doc = fixture.doc;
    let mut bob_doc = alice_doc.fork();
    bob_doc.set_actor(ActorId::from(b"bob-phone".as_slice()));

    // Offline, both type in the same note and drag the same note apart.
    edit_note(
        &mut alice_doc,
        b,
        n,
        "The partners meet monthly, in person.",
        alice,
    )
    .unwrap();
    edit_note(&mut bob_doc, b, n, "The two partners meet monthly.", bob).unwrap();
    move_note(&mut alice_doc, b, m, col(2), 0, alice).unwrap();
    move_note(&mut bob_doc, b, m, col(3), 0, bob).unwrap();
    add(&mut bob_doc, 3, 1, "Added offline", bob);
    set_colour(&mut alice_doc, b, n, Colour::Blue, alice).unwrap();
    group_notes(&mut bob_doc, b, &[n], id(40), bob).unwrap();
    voting::cast(
        &mut alice_doc,
        b,
        id(70),
        alice,
        &dots(&[(n, 2), (m, 1)]),
        &key(1),
        [1; 12],
        T0,
    )
    .unwrap();
    voting::cast(
        &mut bob_doc,
        b,
        id(70),
        bob,
        &dots(&[(n, 1)]),
        &key(2),
        [2; 12],
        T0,
    )
    .unwrap();

    alice_doc.merge(&mut bob_doc).unwrap();
    bob_doc.merge(&mut alice_doc).unwrap();
    let (a, bb) = (get(&alice_doc, b).unwrap(), get(&bob_doc, b).unwrap());
    assert_eq!(a, bb);
    let note = a.notes.iter().find(|x| x.id == n).unwrap();
    assert_eq!(note.text, "The two partners meet monthly, in person.");
    assert_eq!((note.colour, note.group), (Colour::Blue, Some(id(40))));
    let moved = a.notes.iter().find(|x| x.id == m).unwrap();
    assert!(moved.column == col(2) || moved.column == col(3));
    assert_eq!(a.notes.len(), 3);

    voting::reveal(&mut alice_doc, b, id(70), alice, T0 + 1).unwrap();
    voting::publish_key(&mut alice_doc, b, id(70), alice, &key(1)).unwrap();
    bob_doc.merge(&mut alice_doc).unwrap();
    assert!(voting::should_publish(&bob_doc, b, id(70), bob));
    voting::publish_key(&mut bob_doc, b, id(70), bob, &key(2)).unwrap();
    alice_doc.merge(&mut bob_doc).unwrap();
    let results = voting::get(&alice_doc, b, id(70)).unwrap().results.unwrap();
    assert!(results.complete);
    assert_eq!(results.ranking[0], (n, 3));
    assert_eq!(
        voting::get(&bob_doc, b, id(70)).unwrap(),
        voting::get(&alice_doc, b, id(70)).unwrap()
    );
}

#[test]
fn concurrent_moves_of_one_note_settle_on_one_placement() {
    // Whichever actor wins, column and order come from the same move.
    for (first, second) in [(b"aa".as_slice(), b"zz".as_slice()), (b"zz", b"aa")] {
        let mut fixture = retro();
        let (alice, bob) = (fixture.alice, fixture.bob);
        let b = board_id();
        let n = add(&mut fixture.doc, 1, 0, "Drag me", alice);
        add(&mut fixture.doc, 2, 2, "c2 first", alice);
        add(&mut fixture.doc, 3, 3, "c3 first", alice);
        let mut one = fixture.doc.fork();
        one.set_actor(ActorId::from(first));
        let mut two = fixture.doc.fork();
        two.set_actor(ActorId::from(second));
        move_note(&mut one, b, n, col(2), 0, alice).unwrap();
        move_note(&mut two, b, n, col(3), 9, bob).unwrap();
        one.merge(&mut two).unwrap();
        two.merge(&mut one).unwrap();
        let (x, y) = (get(&one, b).unwrap(), get(&two, b).unwrap());
        assert_eq!(x, y);
        let expected = if texts(&one, 2)[0] == "Drag me" {
            (vec!["Drag me", "c2 first"], vec!["c3 first"])
        } else {
            (vec!["c2 first"], vec!["c3 first", "Drag me"])
        };
        assert_eq!(texts(&one, 2), expected.0);
        assert_eq!(texts(&one, 3), expected.1);
    }
}

#[test]
fn three_participants_one_offline_converge_with_correct_totals() {
    // Alice (Acme, facilitator) and Carol (Acme) stay online through the
    // relay's copy; Bob (Globex) drops out mid-session and comes back.
    let mut fixture = retro();
    let (alice, bob, acme) = (fixture.alice, fixture.bob, fixture.acme);
    let carol = add_carol(&mut fixture.doc, acme);
    let b = board_id();
    let mut relay = fixture.doc;
    let mut replicas: Vec<AutoCommit> = (0..3)
        .map(|n| {
            let mut doc = relay.fork();
            doc.set_actor(ActorId::from(vec![0xd0 + n]));
            doc
        })
        .collect();
    let [a_doc, b_doc, c_doc] = replicas.as_mut_slice() else {
        unreachable!()
    };
    let secret = |m: MemberId| m.key().into_bytes();
    let ballot_key = |m: MemberId| SealKey::derive(&secret(m), b, id(70), m);

    add(a_doc, 1, 0, "Shared pipeline", alice);
    add(b_doc, 2, 1, "Slow invoicing", bob);
    add(c_doc, 3, 2, "Joint webinar", carol);
    for doc in [&mut *a_doc, &mut *b_doc, &mut *c_doc] {
        sync_pair(doc, &mut relay);
    }
    for doc in [&mut *a_doc, &mut *b_doc, &mut *c_doc] {
        sync_pair(doc, &mut relay);
    }
    assert_eq!(get(b_doc, b).unwrap().notes.len(), 3);

    // Bob goes offline. Alice opens a vote; Carol votes. Bob keeps working.
    voting::open(a_doc, b, id(70), 3, alice, T0 + 10).unwrap();
    sync_pair(a_doc, &mut relay);
    sync_pair(c_doc, &mut relay);
    voting::cast(
        c_doc,
        b,
        id(70),
        carol,
        &dots(&[(id(3), 3)]),
        &ballot_key(carol),
        [3; 12],
        T0 + 11,
    )
    .unwrap();
    voting::cast(
        a_doc,
        b,
        id(70),
        alice,
        &dots(&[(id(1), 1), (id(3), 2)]),
        &ballot_key(alice),
        [1; 12],
        T0 + 11,
    )
    .unwrap();
    edit_note(b_doc, b, id(2), "Slow invoicing from both sides", bob).unwrap();
    add(b_doc, 4, 3, "Monthly finance sync", bob);
    sync_pair(a_doc, &mut relay);
    sync_pair(c_doc, &mut relay);

    // Bob reconnects, sees the open vote, votes on his offline note.
    sync_pair(b_doc, &mut relay);
    assert!(voting::get(b_doc, b, id(70)).unwrap().is_open());
    voting::cast(
        b_doc,
        b,
        id(70),
        bob,
        &dots(&[(id(4), 2), (id(3), 1)]),
        &ballot_key(bob),
        [2; 12],
        T0 + 20,
    )
    .unwrap();
    sync_pair(b_doc, &mut relay);
    sync_pair(a_doc, &mut relay);
    assert_eq!(voting::get(a_doc, b, id(70)).unwrap().voters.len(), 3);
    assert!(voting::get(a_doc, b, id(70)).unwrap().results.is_none());
    voting::reveal(a_doc, b, id(70), alice, T0 + 30).unwrap();
    sync_pair(a_doc, &mut relay);

    // Every device publishes its own key once it sees the reveal.
    for _ in 0..2 {
        for (doc, member) in [
            (&mut *a_doc, alice),
            (&mut *b_doc, bob),
            (&mut *c_doc, carol),
        ] {
            sync_pair(doc, &mut relay);
            if voting::should_publish(doc, b, id(70), member) {
                voting::publish_key(doc, b, id(70), member, &ballot_key(member)).unwrap();
            }
            sync_pair(doc, &mut relay);
        }
    }
    let boards: Vec<Board> = replicas.iter().map(|d| get(d, b).unwrap()).collect();
    assert!(boards.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(boards[0].notes.len(), 4);
    let results: Vec<voting::Results> = replicas
        .iter()
        .map(|d| voting::get(d, b, id(70)).unwrap().results.unwrap())
        .collect();
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    assert!(results[0].complete);
    assert_eq!(
        results[0].ranking,
        [(id(3), 6), (id(4), 2), (id(1), 1), (id(2), 0)]
    );
}
