//! Browser end-to-end for workshop boards (issue 8): three participants
//! from two organizations (Alice of Acme facilitates; Bob and Carol of
//! Globex) on one live board. Notes added on one device appear on the
//! others; a dot vote shows only how many have voted until Alice reveals,
//! then the same ranked totals everywhere; Carol drops off the network,
//! adds, edits and moves notes meanwhile, and once she is back all three
//! boards agree. Then private writing stays sealed until the reveal, the
//! lock and "bring everyone to my view" reach the others, a note becomes a
//! risk, a note dragged to another column and a group reach everyone, the
//! shared timer survives a reload, and a note turned into an objective
//! links to it on the objectives page. On the way: who is here
//! and a pointer.
//!
//! Needs the built app in `ACCORD_WEB_DIST`, Chromium and chromedriver;
//! `ACCORD_SKIP_BROWSER=1` skips.

use serde_json::{Value, json};

use crate::device::{Browser, Device, ELEMENT, join_member, partnership, tid};

/// The `n`-th column (from 1) of the open board.
fn column(n: usize) -> String {
    format!("{}:nth-child({n})", tid("board-column"))
}

/// The note with id `key`.
fn note(key: &str) -> String {
    format!("[data-testid='note'][data-note='{key}']")
}

/// Runs `script` on the device's page with `args`.
fn run(d: &Device, script: &str, args: &Value) -> Value {
    d.script(script, args)
}

/// The texts of the board's readable notes, sorted.
fn note_texts(d: &Device) -> Vec<String> {
    let found = run(
        d,
        "return [...document.querySelectorAll(\"[data-testid='note-text']\")].map(a => a.value);",
        &json!([]),
    );
    let mut texts: Vec<String> = found
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    texts.sort();
    texts
}

/// The id of the note reading `text` on `d` (waits for it).
fn note_key(d: &Device, text: &str) -> String {
    let script = "const t = arguments[0]; \
        for (const li of document.querySelectorAll(\"[data-testid='note']\")) { \
          const a = li.querySelector(\"[data-testid='note-text']\"); \
          if (a && a.value === t) return li.dataset.note; } return null;";
    d.wait(&format!("a note reading {text:?}"), |d| {
        run(d, script, &json!([text])).is_string()
    });
    run(d, script, &json!([text]))
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Adds a note to column `n`.
fn add_note(d: &Device, n: usize, text: &str) {
    d.fill(&format!("{} {}", column(n), tid("new-note")), text);
    d.click(&format!("{} {}", column(n), tid("add-note")));
    d.wait("the new note", |d| note_texts(d).iter().any(|t| t == text));
}

/// Places `dots` dots on the note `key`.
fn place_dots(d: &Device, key: &str, dots: usize) {
    for _ in 0..dots {
        d.click(&format!("{} {}", note(key), tid("dot-add")));
    }
    let mine = format!("{} {}", note(key), tid("dot-mine"));
    d.wait(&format!("{dots} dots on {key}"), |d| {
        d.attr(&mine, "data-count") == Some(dots.to_string())
    });
}

/// Moves the mouse over the board area.
fn point_at_board(d: &Device) {
    let area = d.element(&tid("board-area"));
    d.cmd(
        "POST",
        "/actions",
        Some(&json!({ "actions": [{
            "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" },
            "actions": [
                { "type": "pointerMove", "duration": 0, "origin": { ELEMENT: area }, "x": 5, "y": 5 },
                { "type": "pointerMove", "duration": 200, "origin": { ELEMENT: area }, "x": 40, "y": 20 },
            ],
        }]})),
    );
}

fn notes_live(a: &Device, b: &Device, c: &Device) -> [String; 3] {
    add_note(a, 1, "Shared calendar worked");
    add_note(b, 2, "Too many tools");
    add_note(c, 1, "Weekly sync");
    let all = [
        "Shared calendar worked".to_owned(),
        "Too many tools".to_owned(),
        "Weekly sync".to_owned(),
    ];
    for d in [a, b, c] {
        d.wait("the three notes from three people", |d| {
            note_texts(d) == all
        });
    }
    // Authors are shown with their organization.
    let calendar = note_key(b, "Shared calendar worked");
    b.wait_text(
        &format!("{} {}", note(&calendar), tid("note-author")),
        "Alice Adams · Acme",
    );
    [
        calendar,
        note_key(a, "Too many tools"),
        note_key(a, "Weekly sync"),
    ]
}

fn hidden_vote_then_revealed(a: &Device, b: &Device, c: &Device, keys: &[String; 3]) {
    let [calendar, tools, sync] = keys;
    a.click(&tid("vote-open"));
    for d in [a, b, c] {
        d.wait_text(&tid("vote-status"), "3 dots each · 0 voted");
    }
    place_dots(a, calendar, 2);
    place_dots(a, sync, 1);
    a.click(&tid("vote-cast"));
    place_dots(b, tools, 3);
    b.click(&tid("vote-cast"));
    place_dots(c, calendar, 1);
    place_dots(c, tools, 2);
    // A fourth dot is refused: three each.
    c.click(&format!("{} {}", note(sync), tid("dot-add")));
    c.click(&tid("vote-cast"));
    for d in [a, b, c] {
        d.wait_text(&tid("vote-status"), "3 voted");
        // Sealed: nobody sees a count, only their own dots.
        assert!(d.all(&tid("note-total")).is_empty(), "totals before reveal");
        assert!(
            d.all(&tid("vote-results")).is_empty(),
            "results before reveal"
        );
    }
    assert_eq!(
        b.text(&format!("{} {}", note(calendar), tid("dot-mine"))),
        ""
    );
    assert_eq!(c.text(&format!("{} {}", note(sync), tid("dot-mine"))), "");
    assert!(
        b.all(&tid("vote-reveal")).is_empty(),
        "only the facilitator reveals"
    );

    a.click(&tid("vote-reveal"));
    for d in [a, b, c] {
        d.wait_text(&format!("{} {}", note(tools), tid("note-total")), "5 dots");
        d.wait_text(
            &format!("{} {}", note(calendar), tid("note-total")),
            "3 dots",
        );
        d.wait_text(&format!("{} {}", note(sync), tid("note-total")), "1 dot");
        d.wait("the complete ranking", |d| {
            d.texts(&tid("vote-result"))
                == [
                    "5 · Too many tools",
                    "3 · Shared calendar worked",
                    "1 · Weekly sync",
                ]
        });
        assert!(!d.text(&tid("vote-status")).contains("so far"));
    }
}

fn offline_participant_converges(a: &Device, b: &Device, c: &Device, keys: &[String; 3]) {
    let [calendar, _, sync] = keys;
    c.set_offline(true);
    c.wait_text(&tid("sync-status"), "Offline");
    add_note(c, 3, "Idea from the train");
    c.enter(
        &format!("{} {}", note(sync), tid("note-text")),
        "Weekly sync, but shorter",
    );
    let column2 = run(
        c,
        "return document.querySelector(arguments[0]).dataset.focus;",
        &json!([column(2)]),
    );
    c.choose(
        &format!("{} {}", note(calendar), tid("note-column")),
        column2.as_str().unwrap_or_default(),
    );
    c.element(&format!("{} {}", column(2), note(calendar)));
    // Meanwhile the others carry on, Alice in the very note Carol edits.
    add_note(b, 3, "Bob while Carol is away");
    a.enter(
        &format!("{} {}", note(sync), tid("note-text")),
        "Our weekly sync",
    );
    b.wait("Alice's edit", |d| {
        note_texts(d).iter().any(|t| t == "Our weekly sync")
    });
    a.wait("Bob's note", |d| {
        note_texts(d).iter().any(|t| t == "Bob while Carol is away")
    });
    for d in [a, b] {
        assert!(
            !note_texts(d).iter().any(|t| t == "Idea from the train"),
            "an offline note reached the others"
        );
    }

    c.set_offline(false);
    c.wait_text(&tid("sync-status"), "Saved");
    let all = [
        "Bob while Carol is away",
        "Idea from the train",
        "Our weekly sync, but shorter",
        "Shared calendar worked",
        "Too many tools",
    ];
    for d in [a, b, c] {
        // Both edits of the same note survive, merged.
        d.wait("all five notes as edited", |d| note_texts(d) == all);
        d.element(&format!("{} {}", column(2), note(calendar)));
    }
}

/// Private writing: Bob's note is sealed on the others' devices (they see
/// only that he wrote one) until Alice reveals; then it reads everywhere.
fn private_writing(a: &Device, b: &Device, c: &Device) {
    a.click(&tid("private-start"));
    b.wait_text(&tid("private-writing"), "private writing");
    b.fill(
        &format!("{} {}", column(4), tid("new-note")),
        "Secret worry",
    );
    b.click(&format!("{} {}", column(4), tid("add-note")));
    b.wait_value(&tid("note-sealed-text"), "Secret worry");
    // The author may still reword it: sealed again.
    b.enter(&tid("note-sealed-text"), "Secret worry, reworded");
    for d in [a, c] {
        d.wait_text(&format!("{} {}", column(4), tid("note-sealed")), "sealed");
        assert!(!d.text(&tid("board-area")).contains("Secret worry"));
        assert!(!note_texts(d).iter().any(|t| t == "Secret worry"));
    }
    a.click(&tid("private-reveal"));
    for d in [a, b, c] {
        d.wait("the revealed note as reworded", |d| {
            note_texts(d).iter().any(|t| t == "Secret worry, reworded")
        });
        assert!(d.all(&tid("note-sealed")).is_empty());
    }
}

/// The lock, "bring everyone to my view", and turning a note into a risk.
fn facilitation_and_conversion(a: &Device, b: &Device, c: &Device, keys: &[String; 3]) {
    a.click(&tid("board-lock"));
    c.wait_text(&tid("board-locked"), "locked");
    c.wait("the note form to be disabled", |d| {
        d.prop(&format!("{} {}", column(1), tid("new-note")), "disabled") == Some(Value::Bool(true))
    });
    c.element(&format!("{} {}:disabled", column(1), tid("note-colour")));
    assert!(
        a.all(&format!("{} {}:disabled", column(1), tid("note-colour")))
            .is_empty(),
        "the facilitator can still edit a locked board"
    );
    a.click(&tid("board-unlock"));
    c.wait("the note form to be enabled again", |d| {
        d.prop(&format!("{} {}", column(1), tid("new-note")), "disabled")
            == Some(Value::Bool(false))
    });

    a.click(&format!("{} {}", column(3), tid("focus-column")));
    for d in [b, c] {
        d.wait("the focused column highlighted", |d| {
            d.all(&format!("{}.focused", column(3))).len() == 1
                && d.all(&format!("{}.focused", tid("board-column"))).len() == 1
        });
    }

    let tools = &keys[1];
    b.choose(&format!("{} {}", note(tools), tid("note-convert")), "risk");
    for d in [a, b, c] {
        d.wait_text(
            &format!("{} {}", note(tools), tid("note-link")),
            "→ risk register",
        );
    }
}

/// Drags a note onto another column with HTML5 drag events (WebDriver
/// cannot drive native drag and drop), then groups two notes; both reach
/// everyone.
fn drag_and_group(a: &Device, b: &Device, c: &Device) {
    let bob = note_key(b, "Bob while Carol is away");
    run(
        b,
        "const [from, to] = arguments; const data = new DataTransfer(); \
         const fire = (el, type) => el.dispatchEvent(new DragEvent(type, \
           { bubbles: true, cancelable: true, dataTransfer: data })); \
         fire(document.querySelector(from), 'dragstart'); \
         const target = document.querySelector(to); \
         fire(target, 'dragover'); fire(target, 'drop');",
        &json!([note(&bob), column(1)]),
    );
    for d in [a, b, c] {
        d.element(&format!("{} {}", column(1), note(&bob)));
        assert!(d.all(&format!("{} {}", column(3), note(&bob))).is_empty());
    }

    let idea = note_key(b, "Idea from the train");
    for key in [&bob, &idea] {
        b.click(&format!("{} {}", note(key), tid("note-menu")));
        b.click(&format!("{} {}", note(key), tid("note-pick")));
    }
    b.wait_text(&tid("group-notes"), "Group 2 ticked notes");
    b.click(&tid("group-notes"));
    for d in [a, b, c] {
        for key in [&bob, &idea] {
            d.wait_text(&format!("{} {}", note(key), tid("note-group")), "Group A");
        }
        assert_eq!(d.all(&tid("note-group")).len(), 2);
    }
}

fn timer_survives_reload(a: &Device, c: &Device) {
    a.fill(&tid("timer-minutes"), "5");
    a.click(&tid("timer-start"));
    c.wait_text(&tid("timer-remaining"), "left");
    c.cmd("POST", "/refresh", Some(&json!({})));
    // The tab reopens the board it showed.
    c.wait_text(&tid("board-title"), "Q4 retro");
    // Past the presence expiry, only Carol's new tab can still be listed.
    std::thread::sleep(std::time::Duration::from_millis(6_500));
    a.wait("Carol back on the board after her reload", |d| {
        d.all(&tid("board-here-peer")).len() == 3
            && d.text(&tid("board-here")).contains("Carol Chen")
    });
    c.wait_text(&tid("timer-remaining"), "4:");
    assert!(
        c.all(&tid("timer-start")).is_empty(),
        "only the facilitator runs it"
    );
}

/// Carol turns a note into an objective; Alice follows the note's link to
/// the objectives page and finds it there.
fn objective_from_note(a: &Device, c: &Device, keys: &[String; 3]) {
    let calendar = &keys[0];
    c.choose(
        &format!("{} {}", note(calendar), tid("note-convert")),
        "objective",
    );
    let link = format!("{} {}", note(calendar), tid("note-link"));
    a.wait_text(&link, "→ objective");
    a.click(&link);
    a.element(&tid("page-objectives"));
    a.wait_value(&tid("objective-title"), "Shared calendar worked");
    // The objective says where it came from, and leads back to the board.
    a.wait_text(&tid("from-note"), "Q4 retro");
    a.click(&tid("from-note"));
    a.wait_text(&tid("board-title"), "Q4 retro");
}

/// A removed note is listed on the board and comes back for everyone.
fn removed_note_restored(a: &Device, c: &Device) {
    add_note(c, 1, "Parking lot");
    let key = note_key(c, "Parking lot");
    a.wait("the new note on the facilitator's board", |d| {
        note_texts(d).iter().any(|t| t == "Parking lot")
    });
    c.click(&format!("{} {}", note(&key), tid("note-menu")));
    c.click(&format!("{} {}", note(&key), tid("note-remove")));
    a.wait("the note gone", |d| {
        !note_texts(d).iter().any(|t| t == "Parking lot")
    });
    a.click(&tid("removed-parts"));
    a.wait_text(&tid("removed-part"), "Parking lot");
    a.click(&tid("restore-part"));
    c.wait("the note back", |d| {
        note_texts(d).iter().any(|t| t == "Parking lot")
    });
    c.wait_count(&tid("removed-part"), 0);
}

#[test]
fn boards_live_vote_and_offline_participant() {
    let Some((relay, browser)) = Browser::start("boards end-to-end test") else {
        return;
    };
    let [a, b, c] = browser.open(["acme-alice", "globex-bob", "globex-carol"]);
    let base = partnership(&relay, &a, &b);
    join_member(&relay, &a, &c, "Carol Chen", "Globex");

    a.click(&tid("tab-boards"));
    a.choose(&tid("new-board-template"), "retrospective");
    a.fill(&tid("new-board-title"), "Q4 retro");
    a.click(&tid("create-board"));
    a.wait_text(&tid("board-title"), "Q4 retro");
    for d in [&b, &c] {
        d.goto(&format!("{base}/boards"));
        d.wait_text(&tid("board-open"), "Q4 retro");
        d.click(&tid("board-open"));
        d.wait_count(&tid("board-column"), 4);
    }
    for d in [&a, &b, &c] {
        d.wait("all three on the board", |d| {
            let here = d.text(&tid("board-here"));
            d.all(&tid("board-here-peer")).len() == 3
                && here.contains("Alice Adams")
                && here.contains("Bob Brown")
                && here.contains("Carol Chen")
                && here.contains("Globex")
                && here.contains("Acme")
        });
    }
    point_at_board(&a);
    b.wait_text(&tid("peer-cursor"), "Alice Adams");

    let keys = notes_live(&a, &b, &c);
    hidden_vote_then_revealed(&a, &b, &c, &keys);
    offline_participant_converges(&a, &b, &c, &keys);
    private_writing(&a, &b, &c);
    facilitation_and_conversion(&a, &b, &c, &keys);
    drag_and_group(&a, &b, &c);
    timer_survives_reload(&a, &c);
    objective_from_note(&a, &c, &keys);
    removed_note_restored(&a, &c);
    for d in [&a, &b, &c] {
        d.wait_text(&tid("sync-status"), "Saved");
    }
}
