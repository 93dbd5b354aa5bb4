use automerge::AutoCommit;

use super::*;
use crate::model::agreement::{ClauseStatus, clause, edit_clause_body, set_clause_status};
use crate::model::test_support::{
    TERM, actor, id, splice, sync_pair, sync_to, two_devices, with_clause,
};

fn runs(doc: &AutoCommit) -> Vec<Run> {
    clause_runs(doc, id(1)).unwrap()
}

fn run(text: &str, bold: bool, italic: bool) -> Run {
    Run {
        text: text.into(),
        bold,
        italic,
    }
}

/// The text with bold as `*…*` and italic as `_…_`, to compare at a glance.
fn shown(doc: &AutoCommit) -> String {
    runs(doc)
        .iter()
        .map(|r| match (r.bold, r.italic) {
            (true, true) => format!("*_{}_*", r.text),
            (true, false) => format!("*{}*", r.text),
            (false, true) => format!("_{}_", r.text),
            (false, false) => r.text.clone(),
        })
        .collect()
}

#[test]
fn styles_round_trip_through_save_and_load() {
    let mut fixture = with_clause(TERM);
    let doc = &mut fixture.doc;
    set_style(doc, id(1), (12, 20), Style::Bold, true, None).unwrap();
    set_style(doc, id(1), (16, 25), Style::Italic, true, None).unwrap();
    insert_runs(
        doc,
        id(1),
        0,
        0,
        &[run("Note: ", false, true), run("firm", true, false)],
        None,
    )
    .unwrap();
    let expected = "_Note: _*firm*The term is *one **_year_*_ from_ signature.";
    assert_eq!(shown(doc), expected);
    let loaded = AutoCommit::load(&doc.save()).unwrap();
    assert_eq!(shown(&loaded), expected);
    assert_eq!(
        plain_text(&runs(&loaded)),
        clause(&loaded, id(1)).unwrap().body
    );
    // Clearing a style removes exactly that style from exactly those words.
    set_style(doc, id(1), (22, 26), Style::Bold, false, None).unwrap();
    assert_eq!(
        shown(doc),
        "_Note: _*firm*The term is one *_year_*_ from_ signature."
    );
}

#[test]
fn typing_after_styled_words_continues_the_style_and_before_them_does_not() {
    let mut fixture = with_clause("one year");
    let doc = &mut fixture.doc;
    set_style(doc, id(1), (0, 3), Style::Bold, true, None).unwrap();
    // A plain splice, as a client that knows nothing of marks would make.
    edit_clause_body(doc, id(1), &splice(3, 0, "!"), None).unwrap();
    edit_clause_body(doc, id(1), &splice(0, 0, ">"), None).unwrap();
    assert_eq!(shown(doc), ">*one!* year");
    // Typing with bold turned off right after bold words stays plain.
    insert_runs(doc, id(1), 5, 0, &[Run::plain("?")], None).unwrap();
    assert_eq!(shown(doc), ">*one!*? year");
    assert!(has_style(&runs(doc), 5, 5, Style::Bold));
    assert!(!has_style(&runs(doc), 6, 6, Style::Bold));
    assert!(!has_style(&runs(doc), 0, 0, Style::Bold));
    assert!(!has_style(&runs(doc), 0, 3, Style::Bold));
}

#[test]
fn styles_survive_concurrent_edits_on_two_replicas() {
    let fixture = with_clause(TERM);
    let (mut a, mut b) = two_devices(&fixture.doc);
    // A bolds "one year" while B types inside and before it, and italicises
    // "signature".
    set_style(&mut a, id(1), (12, 20), Style::Bold, true, None).unwrap();
    edit_clause_body(&mut b, id(1), &splice(16, 0, "full "), None).unwrap();
    edit_clause_body(&mut b, id(1), &splice(0, 0, "Agreed: "), None).unwrap();
    set_style(&mut b, id(1), (39, 48), Style::Italic, true, None).unwrap();
    a.commit();
    b.commit();
    let expected = "Agreed: The term is *one full year* from _signature_.";
    sync_to((&mut a, &mut b), shown, &expected.to_owned());
}

#[test]
fn concurrent_set_and_clear_of_one_style_converge() {
    let fixture = with_clause(TERM);
    let (mut a, mut b) = two_devices(&fixture.doc);
    set_style(&mut a, id(1), (0, 20), Style::Bold, true, None).unwrap();
    set_style(&mut b, id(1), (12, 36), Style::Bold, false, None).unwrap();
    set_style(&mut b, id(1), (4, 8), Style::Italic, true, None).unwrap();
    a.commit();
    b.commit();
    sync_pair(&mut a, &mut b);
    assert_eq!(runs(&a), runs(&b));
    assert_eq!(plain_text(&runs(&a)), TERM);
    assert!(has_style(&runs(&a), 0, 4, Style::Bold));
    assert!(has_style(&runs(&a), 4, 8, Style::Italic));
}

#[test]
fn a_plain_v1_body_stays_valid_and_styles_do_not_change_the_signed_text() {
    let mut fixture = with_clause(TERM);
    let doc = &mut fixture.doc;
    assert_eq!(runs(doc), vec![Run::plain(TERM)]);
    let before = clause(doc, id(1)).unwrap();
    let hash = crate::model::signoff::content_hash(&before.title, &before.body);
    set_style(doc, id(1), (0, 8), Style::Bold, true, None).unwrap();
    let after = clause(doc, id(1)).unwrap();
    assert_eq!(after.body, TERM);
    assert_eq!(
        crate::model::signoff::content_hash(&after.title, &after.body),
        hash
    );
    // An empty body has no runs.
    let mut empty = with_clause("");
    assert_eq!(runs(&empty.doc), Vec::<Run>::new());
    insert_runs(&mut empty.doc, id(1), 0, 0, &[], None).unwrap();
    assert_eq!(runs(&empty.doc), Vec::<Run>::new());
}

#[test]
fn a_v1_client_and_an_upgraded_one_keep_each_others_work() {
    // The v1 client edits by plain splices only; the upgraded one styles.
    let fixture = with_clause(TERM);
    let mut old = actor(&fixture.doc, "old-client");
    let mut new = actor(&fixture.doc, "new-client");
    edit_clause_body(&mut old, id(1), &splice(36, 0, " Renewal is yearly."), None).unwrap();
    set_style(&mut new, id(1), (0, 8), Style::Italic, true, None).unwrap();
    insert_runs(&mut new, id(1), 12, 3, &[run("two", true, false)], None).unwrap();
    old.commit();
    new.commit();
    sync_pair(&mut old, &mut new);
    let text = "The term is two year from signature. Renewal is yearly.";
    assert_eq!(clause(&old, id(1)).unwrap().body, text);
    assert_eq!(plain_text(&runs(&new)), text);
    assert_eq!(shown(&old), shown(&new));
    assert_eq!(
        shown(&new),
        "_The term_ is *two* year from signature. Renewal is yearly."
    );
}

#[test]
fn bad_ranges_and_suggest_only_clauses_are_refused_and_change_nothing() {
    let mut fixture = with_clause(TERM);
    let (acme, bob, alice) = (fixture.acme, fixture.bob, fixture.alice);
    let doc = &mut fixture.doc;
    let heads = doc.get_heads();
    for range in [(5, 99), (9, 3)] {
        let error = set_style(doc, id(1), range, Style::Bold, true, None).unwrap_err();
        assert!(matches!(error, OpError::Invalid { .. }), "{error}");
    }
    assert!(matches!(
        toggle_list(doc, id(1), (0, 99), ListKind::Bulleted, None),
        Err(OpError::Invalid { .. })
    ));
    assert!(matches!(
        insert_runs(doc, id(1), 99, 0, &[Run::plain("x")], None),
        Err(OpError::Text(_))
    ));
    assert!(matches!(
        set_style(doc, id(9), (0, 1), Style::Bold, true, None),
        Err(OpError::NotFound { .. })
    ));
    doc.commit();
    assert_eq!(doc.get_heads(), heads);
    // Proposed by Acme: Bob (Globex) may only suggest.
    set_clause_status(doc, id(1), ClauseStatus::Proposed, Some(alice)).unwrap();
    assert_eq!(clause(doc, id(1)).unwrap().proposed_by, Some(acme));
    for refused in [
        set_style(doc, id(1), (0, 3), Style::Bold, true, Some(bob)),
        insert_runs(doc, id(1), 0, 0, &[Run::plain("x")], Some(bob)),
        toggle_list(doc, id(1), (0, 0), ListKind::Numbered, Some(bob)),
    ] {
        assert!(matches!(refused, Err(OpError::SuggestOnly)));
    }
    set_style(doc, id(1), (0, 3), Style::Bold, true, Some(alice)).unwrap();
}

#[test]
fn lists_toggle_on_the_touched_lines_and_count_on() {
    let mut fixture = with_clause("Scope:\nsales\nsupport\nmarketing\nEnd.");
    let doc = &mut fixture.doc;
    let body = |doc: &AutoCommit| clause(doc, id(1)).unwrap().body;
    // A selection from inside "sales" to inside "support".
    toggle_list(doc, id(1), (8, 16), ListKind::Bulleted, None).unwrap();
    assert_eq!(body(doc), "Scope:\n- sales\n- support\nmarketing\nEnd.");
    // Again: they all are bulleted, so they become plain.
    toggle_list(doc, id(1), (9, 17), ListKind::Bulleted, None).unwrap();
    assert_eq!(body(doc), "Scope:\nsales\nsupport\nmarketing\nEnd.");
    toggle_list(doc, id(1), (7, 7), ListKind::Numbered, None).unwrap();
    assert_eq!(body(doc), "Scope:\n1. sales\nsupport\nmarketing\nEnd.");
    // The caret on "support" and "marketing": numbering counts on from 1.
    toggle_list(doc, id(1), (17, 27), ListKind::Numbered, None).unwrap();
    assert_eq!(
        body(doc),
        "Scope:\n1. sales\n2. support\n3. marketing\nEnd."
    );
    // Bulleting a numbered line replaces its prefix.
    toggle_list(doc, id(1), (0, 0), ListKind::Bulleted, None).unwrap();
    assert_eq!(
        body(doc),
        "- Scope:\n1. sales\n2. support\n3. marketing\nEnd."
    );
}

#[test]
fn enter_continues_or_ends_a_list() {
    assert_eq!(new_line("plain words"), NewLine::Plain);
    assert_eq!(new_line("- sales"), NewLine::Continue("- ".into()));
    assert_eq!(new_line("9. sales"), NewLine::Continue("10. ".into()));
    assert_eq!(new_line("- "), NewLine::EndList(2));
    assert_eq!(new_line("12. "), NewLine::EndList(4));
    assert_eq!(new_line("12.x"), NewLine::Plain);
    assert_eq!(new_line("12345. too long"), NewLine::Plain);
    assert_eq!(new_line("-no space"), NewLine::Plain);
}

#[test]
fn markdown_keeps_styles_inside_lines_and_spaces_outside_markers() {
    let runs = vec![
        Run::plain("- the "),
        run("first ", true, false),
        run("item\n- second", false, true),
        run(" both", true, true),
        Run::plain("\n\nend"),
    ];
    assert_eq!(
        markdown(&runs),
        "- the **first** *item*\n- *second* ***both***\n\nend"
    );
    assert_eq!(markdown(&[run("  ", true, false)]), "  ");
}

#[test]
fn a_change_undone_and_redone_restores_text_and_styles() {
    let mut fixture = with_clause(TERM);
    let doc = &mut fixture.doc;
    let start = runs(doc);
    set_style(doc, id(1), (12, 20), Style::Bold, true, None).unwrap();
    let styled = runs(doc);
    let bolding = change_between(&start, &styled).unwrap();
    assert_eq!(bolding.at, 12);
    assert_eq!(bolding.before, vec![Run::plain("one year")]);
    insert_runs(doc, id(1), 4, 4, &[run("length", false, true)], None).unwrap();
    let typed = runs(doc);
    let typing = change_between(&styled, &typed).unwrap();
    assert_eq!(typing.at, 4);
    assert_eq!(typing.before, vec![Run::plain("term")]);
    assert_eq!(typing.after, vec![run("length", false, true)]);
    // Undo both, newest first, then redo the first.
    apply_change(doc, id(1), &typing.inverse(), None).unwrap();
    assert_eq!(runs(doc), styled);
    apply_change(doc, id(1), &bolding.inverse(), None).unwrap();
    assert_eq!(runs(doc), start);
    apply_change(doc, id(1), &bolding, None).unwrap();
    assert_eq!(runs(doc), styled);
    // Undoing words a partner has since changed is refused, nothing lost.
    edit_clause_body(doc, id(1), &splice(13, 1, "ONE"), None).unwrap();
    let before = clause(doc, id(1)).unwrap().body;
    assert!(matches!(
        apply_change(doc, id(1), &bolding.inverse(), None),
        Err(OpError::Invalid { field: "undo", .. })
    ));
    assert_eq!(clause(doc, id(1)).unwrap().body, before);
    assert_eq!(change_between(&start, &start), None);
    assert_eq!(
        slice(&styled, 10, 14),
        vec![Run::plain("s "), run("on", true, false)]
    );
}
