//! One clause: number, title, status, order, body editor, each party's
//! sign-off of the text as it reads now, and its comment threads.

use accord_shared::model::agreement::{self, ClauseStatus};
use accord_shared::model::signoff::{self, InvalidReason, PartyState, Validity};
use accord_shared::model::{ItemId, PartyId, members, touched};
use leptos::prelude::*;

use super::comments::{Comments, Selection};
use super::editor::{ClauseEditor, PartnerCaret};
use super::per_clause::PerClause;
use super::suggesting::{SuggestBox, SuggestionList, suggest_only};
use super::{AgreementContext, clause_places, member_name, party_name};
use crate::components::form::{InlineError, feedback};
use crate::components::icon::{Glyph, Icon};
use crate::components::rows;
use crate::edit::{self, apply_into};
use crate::store::Store;
use crate::sync_client::client;

/// One party's sign-off of a clause, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PartyLine {
    party: PartyId,
    name: String,
    state: PartyState,
    /// Who signed (for signed and void), or why it is invalid.
    detail: String,
}

fn reason_text(reason: InvalidReason, keys_known: bool) -> &'static str {
    match reason {
        InvalidReason::Malformed => "the sign-off is malformed",
        InvalidReason::KeyNotAttested if keys_known => {
            "the relay does not vouch for the signer's key"
        }
        InvalidReason::KeyNotAttested => "not yet verified with the relay",
        InvalidReason::BadSignature => "the signature does not verify",
        InvalidReason::WrongParty => "the signer is not in that organization",
    }
}

/// Tells the partner where this tab's caret is in the clause text
/// (character `caret`, and the other end of the selection, `anchor`, while
/// words are selected): Automerge cursors on the character after each, so
/// they stay put while others type.
fn send_caret(
    id: accord_shared::ids::DocumentId,
    clause: ItemId,
    caret: usize,
    anchor: Option<usize>,
) {
    use accord_shared::automerge::ReadDoc;
    let Some(client) = client() else {
        return;
    };
    let cursors = client
        .read_doc(&id, |doc| {
            let text = agreement::clause_body_text(doc, clause).ok()?;
            let len = doc.length(&text);
            let cursor = |position: usize| {
                if position >= len {
                    return Some("e".to_owned());
                }
                doc.get_cursor(&text, position, None)
                    .ok()
                    .map(|c| c.to_string())
            };
            Some((cursor(caret)?, anchor.and_then(cursor)))
        })
        .flatten();
    if let Some((caret, anchor)) = cursors {
        client.set_caret(
            id,
            Some(crate::presence::ClauseSpot {
                clause: clause.key(),
                caret,
                anchor,
            }),
        );
    }
}

/// The partners' live carets in `clause` at their places in the text now.
/// Re-read four times a second, so a caret goes once it expires
/// ([`crate::presence::CARET_EXPIRY_MS`]) even when no message says so.
fn partner_carets(clause: ItemId) -> Memo<Vec<PartnerCaret>> {
    use accord_shared::automerge::{Cursor, ReadDoc};
    let store = expect_context::<Store>();
    let ctx = expect_context::<AgreementContext>();
    let id = ctx.id;
    let key = clause.key();
    let place = touched::clause(clause);
    let tick = RwSignal::new(0_u32);
    if let Ok(handle) = set_interval_with_handle(
        move || tick.update(|t| *t = t.wrapping_add(1)),
        std::time::Duration::from_millis(250),
    ) {
        on_cleanup(move || handle.clear());
    }
    Memo::new(move |_| {
        tick.track();
        let now = edit::now();
        let spots: Vec<(String, String, crate::presence::ClauseSpot)> =
            store.presence.with(|peers| {
                peers
                    .iter()
                    .filter(|p| p.document == id)
                    .filter_map(|p| {
                        let spot = p.live_caret(now).filter(|s| s.clause == key)?;
                        Some((
                            p.beacon.name.clone(),
                            p.beacon.organization.clone(),
                            spot.clone(),
                        ))
                    })
                    .collect()
            });
        if spots.is_empty() {
            return Vec::new();
        }
        edit::read_in(&id, &[&place], |doc| {
            let Ok(text) = agreement::clause_body_text(doc, clause) else {
                return Vec::new();
            };
            let len = doc.length(&text);
            let position = |cursor: &str| -> Option<usize> {
                if cursor == "e" {
                    return Some(len);
                }
                let cursor = Cursor::try_from(cursor).ok()?;
                doc.get_cursor_position(&text, &cursor, None)
                    .ok()
                    .map(|p| p.min(len))
            };
            spots
                .into_iter()
                .filter_map(|(name, organization, spot)| {
                    Some(PartnerCaret {
                        colour: crate::sync_client::party_colour(&id, &organization),
                        who: format!("{name} ({organization})"),
                        caret: position(&spot.caret)?,
                        anchor: spot.anchor.as_deref().and_then(position),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
    })
}

/// One partner's caret as listed under the clause.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Caret {
    who: String,
    colour: &'static str,
    before: String,
    after: String,
}

/// Where the partners' carets are, as words around each, under the clause
/// (for screen readers, and while the clause shows the suggesting box).
#[component]
fn PartnerCarets(
    /// The clause.
    clause: ItemId,
    /// Its partners' carets.
    partners: Memo<Vec<PartnerCaret>>,
) -> impl IntoView {
    const AROUND: usize = 24;
    let ctx = expect_context::<AgreementContext>();
    let id = ctx.id;
    let place = touched::clause(clause);
    let carets = Memo::new(move |_| {
        let partners = partners.get();
        if partners.is_empty() {
            return Vec::new();
        }
        let body = edit::read_in(&id, &[&place], |doc| {
            agreement::clause(doc, clause).ok().map(|c| c.body)
        })
        .flatten()
        .unwrap_or_default();
        let chars: Vec<char> = body.chars().collect();
        partners
            .into_iter()
            .map(|p| {
                let position = p.caret.min(chars.len());
                let (before, after) = super::surroundings(&chars, position, position, AROUND);
                Caret {
                    who: p.who,
                    colour: p.colour,
                    before,
                    after,
                }
            })
            .collect()
    });
    view! {
        <Show when=move || carets.with(|c| !c.is_empty())>
            <ul class="plain partner-carets" aria-label="Where partners are typing">
                {move || carets.get().into_iter().map(|c| view! {
                    <li class="partner-caret" data-testid="partner-caret" style=format!("--party: {}", c.colour)>
                        <strong>{c.who}</strong>" is typing here: "
                        <span class="muted">{c.before}</span>
                        <span class="caret-mark" aria-hidden="true"></span>
                        <span class="muted">{c.after}</span>
                    </li>
                }).collect_view()}
            </ul>
        </Show>
    }
}

/// The card of one clause.
#[component]
pub fn ClauseCard(
    /// The clause.
    clause: ItemId,
) -> impl IntoView {
    let ctx = expect_context::<AgreementContext>();
    let order = expect_context::<Memo<Vec<ItemId>>>();
    let per_clause = expect_context::<PerClause>();
    let id = ctx.id;
    let error = feedback();
    // Re-read when a change touches this clause, not when any does.
    let place = touched::clause(clause);
    let data = Memo::new(move |_| {
        edit::read_in(&id, &[&place], |doc| agreement::clause(doc, clause).ok()).flatten()
    });
    let number = move || order.with(|o| o.iter().position(|c| *c == clause).map_or(0, |i| i + 1));
    let title = move || data.with(|c| c.as_ref().map(|c| c.title.clone()).unwrap_or_default());
    let status = move || data.with(|c| c.as_ref().map_or(ClauseStatus::Draft, |c| c.status));
    let note = per_clause.note(clause);
    let change_note = move || note.get();
    // Suggesting: chosen by the person, or forced while the clause is
    // proposed by another organization (they may then only suggest).
    let chosen = RwSignal::new(false);
    let forced_places = clause_places(clause, touched::devices());
    let forced = Memo::new(move |_| {
        let me = edit::me(&id);
        rows::read_at(&id, &forced_places, |doc| suggest_only(doc, clause, me)).flatten()
    });
    let suggesting = move || chosen.get() || forced.with(Option::is_some);
    let partners = partner_carets(clause);
    // The words last selected in the clause text (for "comment on words").
    let selection = RwSignal::new(None::<Selection>);
    // The suggesting box is a text area: its selection is read on mouse-up
    // and key-up. The clause editor reports its own.
    let remember_selection = move |target: Option<web_sys::EventTarget>| {
        use wasm_bindgen::JsCast;
        let Some(area) = target.and_then(|t| t.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
        else {
            return;
        };
        selection.set(Selection::of(&area));
    };
    let editor_selection = Callback::new(move |range: Option<(usize, usize, usize)>| {
        let Some((start, end, caret)) = range else {
            selection.set(None);
            return;
        };
        let text = data.with_untracked(|c| c.as_ref().map(|c| c.body.clone()).unwrap_or_default());
        selection.set((start < end).then(|| Selection {
            start,
            end,
            text: text.chars().skip(start).take(end - start).collect(),
        }));
        let anchor = (start < end).then_some(if caret == end { start } else { end });
        send_caret(id, clause, caret, anchor);
    });
    let clear_caret = move |_| {
        if let Some(client) = client() {
            client.set_caret(id, None);
        }
    };
    let shift = move |by: isize| {
        let Some(index) = order.with_untracked(|o| o.iter().position(|c| *c == clause)) else {
            return;
        };
        let Some(target) = index.checked_add_signed(by) else {
            return;
        };
        apply_into(error, &id, |tx| agreement::move_clause(tx, clause, target));
    };
    view! {
        <li class="card clause" class:changed=move || change_note().is_some()
            data-testid="clause" data-clause=clause.key()>
            <div class="row">
                <span class="clause-number">{move || format!("{}.", number())}</span>
                <input type="text" class="grow clause-title" data-testid="clause-title" aria-label="Clause title"
                    prop:value=title
                    on:change=move |ev| {
                        let text = event_target_value(&ev);
                        apply_into(error, &id, |tx| agreement::set_clause_title(tx, clause, &text));
                    }/>
                <select data-testid="clause-status" aria-label="Clause status"
                    prop:value=move || status().as_str()
                    on:change=move |ev| {
                        match event_target_value(&ev).parse::<ClauseStatus>() {
                            Ok(s) => {
                                // Read who this is before the edit opens the document.
                                let me = edit::me(&id);
                                apply_into(error, &id, |tx| agreement::set_clause_status(tx, clause, s, me));
                            }
                            Err(e) => error.set(Some(e.to_string())),
                        }
                    }>
                    {ClauseStatus::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str()>{s.as_str()}</option>
                    }).collect_view()}
                </select>
                <button class="link" title="Move up" aria-label="Move up" data-testid="clause-up"
                    on:click=move |_| shift(-1)><Glyph icon=Icon::ArrowUp/></button>
                <button class="link" title="Move down" aria-label="Move down" data-testid="clause-down"
                    on:click=move |_| shift(1)><Glyph icon=Icon::ArrowDown/></button>
                <button class="link danger" data-testid="clause-remove"
                    on:click=move |_| { apply_into(error, &id, |tx| accord_shared::model::items::delete(tx, accord_shared::model::Collection::Clauses, clause, edit::now())); }>
                    "Remove"
                </button>
            </div>
            {move || change_note().map(|note| view! {
                <p class="badge changed" data-testid="clause-changed">{note}</p>
            })}
            <div class="row clause-mode">
                <label class="toggle">
                    <input type="checkbox" data-testid="suggesting-toggle"
                        prop:checked=suggesting
                        prop:disabled=move || forced.with(Option::is_some)
                        on:change=move |ev| chosen.set(event_target_checked(&ev))/>
                    " Suggesting"
                </label>
                {move || forced.get().map(|why| view! {
                    <span class="muted" data-testid="suggest-only">{why}</span>
                })}
            </div>
            <div class="clause-text" on:mouseup=move |ev| remember_selection(ev.target())
                on:keyup=move |ev| remember_selection(ev.target())
                on:focusout=clear_caret>
                <Show when=suggesting fallback=move || view! {
                    <ClauseEditor clause=clause error=error on_select=editor_selection partners=partners/>
                }>
                    <SuggestBox clause=clause error=error/>
                </Show>
            </div>
            <InlineError message=error test_id="clause-error"/>
            <PartnerCarets clause=clause partners=partners/>
            <SuggestionList clause=clause/>
            <SignoffRow clause=clause/>
            <Comments clause=clause selection=selection/>
        </li>
    }
}

/// Each party's sign-off of the clause as it reads now, and this member's
/// sign or withdraw button.
#[component]
fn SignoffRow(
    /// The clause.
    clause: ItemId,
) -> impl IntoView {
    let ctx = expect_context::<AgreementContext>();
    let per_clause = expect_context::<PerClause>();
    let id = ctx.id;
    let error = feedback();
    let signoffs = per_clause.signoffs(clause);
    let places = [touched::members(), touched::devices(), touched::parties()];
    let lines = Memo::new(move |_| {
        let known = ctx.keys.with(Option::is_some);
        let summary = signoffs.get()?;
        let paths: Vec<&[String]> = places.iter().map(Vec::as_slice).collect();
        edit::read_in(&id, &paths, |doc| {
            summary
                .parties
                .iter()
                .map(|p| {
                    let names: Vec<String> =
                        p.members.iter().map(|m| member_name(doc, *m)).collect();
                    let detail = match p.state {
                        PartyState::Signed => format!("signed by {}", names.join(", ")),
                        PartyState::Void => {
                            format!("void: the text changed after {} signed", names.join(", "))
                        }
                        PartyState::Invalid => summary
                            .statuses
                            .iter()
                            .find_map(|s| match s.validity {
                                Validity::Invalid(reason) if s.party == Some(p.party) => {
                                    Some(format!("invalid: {}", reason_text(reason, known)))
                                }
                                _ => None,
                            })
                            .unwrap_or_else(|| "invalid".to_owned()),
                        PartyState::Unsigned => "not signed".to_owned(),
                    };
                    PartyLine {
                        party: p.party,
                        name: party_name(doc, p.party),
                        state: p.state,
                        detail,
                    }
                })
                .collect::<Vec<_>>()
        })
    });
    let lines = move || lines.get().unwrap_or_default();
    // This device's member and whether their current sign-off counts.
    let places = [touched::members(), touched::devices(), touched::parties()];
    let mine = Memo::new(move |_| {
        let statuses = signoffs.with(|s| s.as_ref().map(|s| s.statuses.clone()))?;
        let paths: Vec<&[String]> = places.iter().map(Vec::as_slice).collect();
        edit::watch(&id, &paths);
        let member = edit::me(&id)?;
        let signed = edit::read_in(&id, &paths, |doc| {
            let party = members::get(doc, member).ok()?.party?;
            let valid = statuses
                .iter()
                .any(|s| s.member == Some(member) && s.validity == Validity::Valid);
            let any = statuses.iter().any(|s| s.member == Some(member));
            Some((party_name(doc, party), valid, any))
        })
        .flatten()?;
        Some((member, signed))
    });
    let sign = move |_| {
        let Some((member, _)) = mine.get_untracked() else {
            error.set(Some(
                "this device has not joined the partnership as a member yet".into(),
            ));
            return;
        };
        match client() {
            Some(client) => leptos::task::spawn_local(async move {
                match client.sign_clause(&id, clause, member, edit::now()).await {
                    Ok(()) => error.set(None),
                    Err(e) => error.set(Some(e.to_string())),
                }
            }),
            None => error.set(Some("the app is still starting".into())),
        }
    };
    let withdraw = move |_| {
        if let Some((member, _)) = mine.get_untracked() {
            apply_into(error, &id, |tx| signoff::withdraw(tx, clause, member));
        }
    };
    view! {
        <div class="signoffs">
            <ul class="plain signoff-list">
                {move || lines().into_iter().map(|line| {
                    let class = match line.state {
                        PartyState::Signed => "signoff signed",
                        PartyState::Void => "signoff void",
                        PartyState::Invalid => "signoff invalid",
                        PartyState::Unsigned => "signoff unsigned",
                    };
                    let mark = match line.state {
                        PartyState::Signed => Icon::Check,
                        PartyState::Void => Icon::Warning,
                        PartyState::Invalid => Icon::Cross,
                        PartyState::Unsigned => Icon::Circle,
                    };
                    let state = match line.state {
                        PartyState::Signed => "signed",
                        PartyState::Void => "void",
                        PartyState::Invalid => "invalid",
                        PartyState::Unsigned => "unsigned",
                    };
                    view! {
                        <li class=class data-testid="signoff-state" data-party=line.party.key() data-state=state>
                            <Glyph icon=mark/>
                            {format!(" {}: {}", line.name, line.detail)}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {move || mine.get().map(|(_, (party, valid, any))| {
                if valid {
                    view! {
                        <button class="link danger" data-testid="clause-withdraw" on:click=withdraw>
                            "Withdraw my sign-off"
                        </button>
                    }.into_any()
                } else {
                    let label = if any {
                        format!("Sign off again for {party}")
                    } else {
                        format!("Sign off for {party}")
                    };
                    view! { <button data-testid="clause-sign" on:click=sign>{label}</button> }.into_any()
                }
            })}
            <InlineError message=error test_id="signoff-error"/>
        </div>
    }
}
