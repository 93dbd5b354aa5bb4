//! One clause: number, title, status, order, body editor, each party's
//! sign-off of the text as it reads now, and its comment threads.

use std::collections::HashMap;

use accord_shared::automerge::Automerge;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::model::agreement::{self, ClauseStatus};
use accord_shared::model::signoff::{self, InvalidReason, PartyState, Validity};
use accord_shared::model::{ItemId, MemberId, OpError, PartyId, members};
use accord_shared::text::Splice;
use leptos::prelude::*;

use super::comments::{Comments, Selection};
use super::suggesting::{SuggestBox, SuggestionList, suggest_only};
use super::{AgreementContext, attested, member_name, party_name};
use crate::components::form::{InlineError, feedback};
use crate::components::icon::{Glyph, Icon};
use crate::components::live_text::LiveTextArea;
use crate::edit::{self, apply_into};
use crate::store::Store;
use crate::sync_client::client;

/// A clause, and the member this device edits it as.
type ClauseEditor = (ItemId, Option<MemberId>);

fn clause_body(doc: &Automerge, (clause, _): ClauseEditor) -> Option<String> {
    agreement::clause(doc, clause).ok().map(|c| c.body)
}

fn write_clause_body(
    tx: &mut Transaction<'_>,
    (clause, editor): ClauseEditor,
    splice: &Splice,
) -> Result<(), OpError> {
    agreement::edit_clause_body(tx, clause, splice, editor)
}

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

/// Tells the partner where this tab's caret is in the clause text: an
/// Automerge cursor on the character after it, so it stays put while
/// others type.
fn send_caret(
    id: accord_shared::ids::DocumentId,
    clause: ItemId,
    area: &web_sys::HtmlTextAreaElement,
) {
    use accord_shared::automerge::ReadDoc;
    let Some(client) = client() else {
        return;
    };
    let Some(units) = area.selection_end().ok().flatten() else {
        return;
    };
    let value = area.value();
    let mut seen = 0_u32;
    let position = value
        .chars()
        .take_while(|c| {
            seen += c.len_utf16() as u32;
            seen <= units
        })
        .count();
    let caret = client
        .read_doc(&id, |doc| {
            let text = agreement::clause_body_text(doc, clause).ok()?;
            if position >= doc.length(&text) {
                return Some("e".to_owned());
            }
            doc.get_cursor(&text, position, None)
                .ok()
                .map(|c| c.to_string())
        })
        .flatten();
    if let Some(caret) = caret {
        client.set_caret(
            id,
            Some(crate::presence::ClauseSpot {
                clause: clause.key(),
                caret,
            }),
        );
    }
}

/// One partner's caret as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Caret {
    who: String,
    colour: &'static str,
    before: String,
    after: String,
}

/// Where the partners' carets are in the clause text, in their party's
/// colour, while their text box has the focus.
#[component]
fn PartnerCarets(
    /// The clause.
    clause: ItemId,
) -> impl IntoView {
    use accord_shared::automerge::{Cursor, ReadDoc};
    const AROUND: usize = 24;
    let store = expect_context::<Store>();
    let ctx = expect_context::<AgreementContext>();
    let id = ctx.id;
    let key = clause.key();
    let carets = Memo::new(move |_| {
        let spots: Vec<(String, String, String)> = store.presence.with(|peers| {
            peers
                .iter()
                .filter(|p| p.document == id && !p.beacon.leaving)
                .filter_map(|p| {
                    let spot = p.beacon.clause.as_ref().filter(|s| s.clause == key)?;
                    Some((
                        p.beacon.name.clone(),
                        p.beacon.organization.clone(),
                        spot.caret.clone(),
                    ))
                })
                .collect()
        });
        if spots.is_empty() {
            return Vec::new();
        }
        edit::read(store, &id, |doc| {
            let Ok(text) = agreement::clause_body_text(doc, clause) else {
                return Vec::new();
            };
            let chars: Vec<char> = doc.text(&text).unwrap_or_default().chars().collect();
            spots
                .into_iter()
                .filter_map(|(name, organization, caret)| {
                    let position = if caret == "e" {
                        chars.len()
                    } else {
                        let cursor = Cursor::try_from(caret.as_str()).ok()?;
                        doc.get_cursor_position(&text, &cursor, None).ok()?
                    }
                    .min(chars.len());
                    let from = position.saturating_sub(AROUND);
                    let to = (position + AROUND).min(chars.len());
                    let mut before: String = chars[from..position].iter().collect();
                    let mut after: String = chars[position..to].iter().collect();
                    if from > 0 {
                        before.insert(0, '…');
                    }
                    if to < chars.len() {
                        after.push('…');
                    }
                    Some(Caret {
                        colour: crate::sync_client::party_colour(&id, &organization),
                        who: format!("{name} ({organization})"),
                        before,
                        after,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
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
    let store = expect_context::<Store>();
    let ctx = expect_context::<AgreementContext>();
    let order = expect_context::<Memo<Vec<ItemId>>>();
    let changed = expect_context::<Memo<Option<HashMap<ItemId, String>>>>();
    let id = ctx.id;
    let error = feedback();
    let data = Memo::new(move |_| {
        edit::read(store, &id, |doc| agreement::clause(doc, clause).ok()).flatten()
    });
    let number = move || order.with(|o| o.iter().position(|c| *c == clause).map_or(0, |i| i + 1));
    let title = move || data.with(|c| c.as_ref().map(|c| c.title.clone()).unwrap_or_default());
    let status = move || data.with(|c| c.as_ref().map_or(ClauseStatus::Draft, |c| c.status));
    let change_note = move || changed.with(|c| c.as_ref().and_then(|c| c.get(&clause).cloned()));
    // Suggesting: chosen by the person, or forced while the clause is
    // proposed by another organization (they may then only suggest).
    let chosen = RwSignal::new(false);
    let forced = Memo::new(move |_| {
        store.revision.track();
        let me = edit::me(&id);
        edit::read(store, &id, |doc| suggest_only(doc, clause, me)).flatten()
    });
    let suggesting = move || chosen.get() || forced.with(Option::is_some);
    // The words last selected in the clause text (for "comment on words").
    let selection = RwSignal::new(None::<Selection>);
    let remember_selection = move |target: Option<web_sys::EventTarget>| {
        use wasm_bindgen::JsCast;
        let Some(area) = target.and_then(|t| t.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
        else {
            return;
        };
        selection.set(Selection::of(&area));
        if area.get_attribute("data-testid").as_deref() == Some("clause-body") {
            send_caret(id, clause, &area);
        }
    };
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
                    <LiveTextArea id=id item=(clause, edit::me(&id)) read=clause_body write=write_clause_body
                        error=error test_id="clause-body" class="clause-body" label="Clause text"
                        placeholder="The text of this clause"/>
                }>
                    <SuggestBox clause=clause error=error/>
                </Show>
            </div>
            <InlineError message=error test_id="clause-error"/>
            <PartnerCarets clause=clause/>
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
    let store = expect_context::<Store>();
    let ctx = expect_context::<AgreementContext>();
    let id = ctx.id;
    let error = feedback();
    let lines = Memo::new(move |_| {
        let keys = ctx.keys.get();
        let known = keys.is_some();
        edit::read(store, &id, |doc| {
            let summary =
                signoff::clause_summary(doc, &id, clause, &attested(doc, &id, keys.as_deref()))
                    .ok()?;
            let lines = summary
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
                .collect::<Vec<_>>();
            Some(lines)
        })
        .flatten()
        .unwrap_or_default()
    });
    // This device's member and whether their current sign-off counts.
    let mine = Memo::new(move |_| {
        store.revision.track();
        let keys = ctx.keys.get();
        let member = edit::me(&id)?;
        let signed = edit::read(store, &id, |doc| {
            let party = members::get(doc, member).ok()?.party?;
            let statuses = signoff::verify(doc, &id, clause, &attested(doc, &id, keys.as_deref()));
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
                {move || lines.get().into_iter().map(|line| {
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
