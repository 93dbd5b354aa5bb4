//! Threaded comments on a clause: start a thread (about the whole clause,
//! or about the words selected in its text), reply, resolve and reopen.

use accord_shared::automerge::Automerge;
use accord_shared::model::agreement::{self, Comment, CommentAnchor, NewComment};
use accord_shared::model::{ItemId, touched};
use leptos::prelude::*;

use super::{AgreementContext, member_name};
use crate::components::diff::keep_open_in;
use crate::components::form::{Feedback, InlineError, feedback};
use crate::edit::{self, apply_into};

/// Words selected in a clause's text box, in characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// First character.
    pub start: usize,
    /// End (exclusive).
    pub end: usize,
    /// The words.
    pub text: String,
}

impl Selection {
    /// The selection of a text area (`None` when nothing is selected).
    /// The browser counts UTF-16 units; the document counts characters.
    pub fn of(area: &web_sys::HtmlTextAreaElement) -> Option<Self> {
        let value = area.value();
        let start = area.selection_start().ok()??;
        let end = area.selection_end().ok()??;
        let to_chars = |units: u32| {
            let mut seen = 0_u32;
            value
                .chars()
                .take_while(|c| {
                    seen += c.len_utf16() as u32;
                    seen <= units
                })
                .count()
        };
        let (start, end) = (to_chars(start), to_chars(end));
        (start < end).then(|| Self {
            start,
            end,
            text: value.chars().skip(start).take(end - start).collect(),
        })
    }
}

/// What a thread is about, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
enum About {
    /// The whole clause.
    Clause,
    /// These words, still in the text.
    Words(String),
    /// These words, since removed.
    Removed(String),
}

/// A comment as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    id: ItemId,
    author: String,
    when: String,
    body: String,
}

/// A thread as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ShownThread {
    root: Shown,
    replies: Vec<Shown>,
    resolved: Option<String>,
    about: About,
}

fn shown(doc: &Automerge, comment: &Comment) -> Shown {
    Shown {
        id: comment.id,
        author: comment
            .author
            .map_or_else(|| "someone".to_owned(), |m| member_name(doc, m)),
        when: edit::format_opt_date(comment.created_at),
        body: comment.body.clone(),
    }
}

/// Adds a comment (a new thread, or a reply to `reply_to`) by this
/// device's member; a new thread with `words` is about those words.
fn post(
    error: Feedback,
    ctx: AgreementContext,
    clause: ItemId,
    body: String,
    reply_to: Option<ItemId>,
    words: Option<&Selection>,
) -> bool {
    let Some(comment) = edit::new_id(error) else {
        return false;
    };
    let author = match edit::me_or_error(&ctx.id) {
        Ok(author) => author,
        Err(e) => {
            error.set(Some(e.to_string()));
            return false;
        }
    };
    let new = NewComment {
        clause,
        author,
        body,
        reply_to,
    };
    apply_into(error, &ctx.id, |tx| match words {
        Some(words) => {
            let body = agreement::clause(tx, clause)?.body;
            let current: String = body
                .chars()
                .skip(words.start)
                .take(words.end - words.start)
                .collect();
            if current != words.text {
                return Err(accord_shared::model::OpError::Invalid {
                    field: "selection",
                    reason: "the selected words changed; select them again in the clause text",
                });
            }
            agreement::add_anchored_comment(tx, comment, &new, words.start..words.end, edit::now())
        }
        None => agreement::add_comment(tx, comment, &new, edit::now()),
    })
}

/// The comment threads of one clause.
#[component]
pub fn Comments(
    /// The clause.
    clause: ItemId,
    /// The words last selected in the clause text.
    selection: RwSignal<Option<Selection>>,
) -> impl IntoView {
    let ctx = expect_context::<AgreementContext>();
    let error = feedback();
    let places = [
        touched::clause(clause),
        touched::comments(),
        touched::members(),
    ];
    let threads = Memo::new(move |_| {
        let paths: Vec<&[String]> = places.iter().map(Vec::as_slice).collect();
        edit::read_in(&ctx.id, &paths, |doc| {
            agreement::comments(doc, clause)
                .iter()
                .map(|t| ShownThread {
                    root: shown(doc, &t.root),
                    replies: t.replies.iter().map(|r| shown(doc, r)).collect(),
                    resolved: t.root.resolved.then(|| {
                        t.root
                            .resolved_by
                            .map_or_else(|| "someone".to_owned(), |m| member_name(doc, m))
                    }),
                    about: match (&t.root.quote, &t.root.anchor) {
                        (Some(_), Some(CommentAnchor::Range { text, .. })) => {
                            About::Words(text.clone())
                        }
                        (Some(quote), _) => About::Removed(quote.clone()),
                        (None, _) => About::Clause,
                    },
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
    });
    let open = move || threads.with(|t| t.iter().filter(|t| t.resolved.is_none()).count());
    let draft = RwSignal::new(String::new());
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if post(
            error,
            ctx,
            clause,
            draft.get_untracked(),
            None,
            selection.get_untracked().as_ref(),
        ) {
            draft.set(String::new());
            selection.set(None);
        }
    };
    // Selecting words in the text opens the comments, ready to comment.
    let expanded = RwSignal::new(false);
    Effect::new(move |_| {
        if selection.with(Option::is_some) {
            expanded.set(true);
        }
    });
    view! {
        <details class="comments" data-testid="comments" prop:open=move || expanded.get()
            on:toggle=keep_open_in(expanded)>
            <summary data-testid="comments-summary">
                {move || match (threads.with(Vec::len), open()) {
                    (0, _) => "Comments".to_owned(),
                    (n, 0) => format!("Comments ({n}, all resolved)"),
                    (n, o) => format!("Comments ({n}, {o} open)"),
                }}
            </summary>
            <ul class="plain threads">
                <For each=move || threads.with(|t| t.iter().map(|t| t.root.id).collect::<Vec<_>>())
                    key=|root| *root let:root>
                    <ThreadView threads=threads root=root clause=clause error=error selection=selection/>
                </For>
            </ul>
            {move || selection.get().map(|words| view! {
                <p class="comment-about" data-testid="comment-selection">
                    "About the selected words: "
                    <q class="quote">{words.text}</q>" "
                    <button class="link" type="button" data-testid="comment-selection-clear"
                        on:click=move |_| selection.set(None)>"Comment on the whole clause instead"</button>
                </p>
            })}
            <form class="inline-form" on:submit=start>
                <input type="text" class="grow" data-testid="new-comment"
                    placeholder=move || if selection.with(Option::is_some) { "Comment on the selected words" } else { "Comment on this clause (select words in the text to comment on them)" }
                    aria-label="New comment" bind:value=draft/>
                <button type="submit" data-testid="add-comment">"Comment"</button>
            </form>
            <InlineError message=error test_id="comment-error"/>
        </details>
    }
}

/// One thread. It stays in the page while others change, so a reply being
/// typed survives the partner's comments elsewhere on the clause.
#[component]
fn ThreadView(
    threads: Memo<Vec<ShownThread>>,
    root: ItemId,
    clause: ItemId,
    error: Feedback,
    selection: RwSignal<Option<Selection>>,
) -> impl IntoView {
    let ctx = expect_context::<AgreementContext>();
    let thread =
        Memo::new(move |_| threads.with(|t| t.iter().find(|t| t.root.id == root).cloned()));
    let resolved = move || thread.with(|t| t.as_ref().is_some_and(|t| t.resolved.is_some()));
    // A clause-level thread can be moved onto the words now selected.
    let attachable = move || {
        selection.with(Option::is_some)
            && thread.with(|t| t.as_ref().is_some_and(|t| matches!(t.about, About::Clause)))
    };
    let attach = move |_| {
        let Some(words) = selection.get_untracked() else {
            return;
        };
        if apply_into(error, &ctx.id, |tx| {
            agreement::attach_to_words(tx, root, words.start..words.end, &words.text)
        }) {
            selection.set(None);
        }
    };
    let reply = RwSignal::new(String::new());
    let send_reply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if post(error, ctx, clause, reply.get_untracked(), Some(root), None) {
            reply.set(String::new());
        }
    };
    let set_resolved = move |to: bool| {
        let by = match edit::me_or_error(&ctx.id) {
            Ok(by) => by,
            Err(e) => {
                error.set(Some(e.to_string()));
                return;
            }
        };
        apply_into(error, &ctx.id, |tx| {
            agreement::resolve_thread(tx, root, to, by, edit::now())
        });
    };
    let line = |c: &Shown| {
        view! {
            <p class="comment" data-testid="comment">
                <strong>{c.author.clone()}</strong>
                <span class="muted">{format!(" {} ", c.when)}</span>
                <span data-testid="comment-body">{c.body.clone()}</span>
            </p>
        }
    };
    let lines = move || {
        thread.with(|t| {
            t.as_ref().map(|t| {
                let mut shown = vec![line(&t.root)];
                shown.extend(t.replies.iter().map(line));
                shown.collect_view()
            })
        })
    };
    let resolved_by = move || {
        thread
            .with(|t| t.as_ref().and_then(|t| t.resolved.clone()))
            .map(|by| format!("Resolved by {by}. "))
    };
    let about = move || {
        thread.with(|t| match t.as_ref().map(|t| &t.about) {
            Some(About::Words(words)) => Some(view! {
                <p class="comment-about" data-testid="comment-quote"><q class="quote">{words.clone()}</q></p>
            }.into_any()),
            Some(About::Removed(words)) => Some(view! {
                <p class="comment-about muted" data-testid="comment-quote-removed">
                    "Text removed: " <q class="quote removed">{words.clone()}</q>
                </p>
            }.into_any()),
            _ => None,
        })
    };
    view! {
        <li class="thread" class:resolved=resolved data-testid="thread">
            {about}
            {lines}
            <Show when=attachable>
                <button type="button" class="link" data-testid="attach-words" on:click=attach>
                    "Attach to the selected words"
                </button>
            </Show>
            <Show when=move || !resolved() fallback=move || view! {
                <p class="muted">
                    {resolved_by}
                    <button class="link" data-testid="reopen-thread" on:click=move |_| set_resolved(false)>"Reopen"</button>
                </p>
            }>
                <form class="inline-form reply" on:submit=send_reply>
                    <input type="text" class="grow" data-testid="reply" placeholder="Reply" aria-label="Reply" bind:value=reply/>
                    <div class="row thread-actions">
                        <button type="submit" data-testid="send-reply">"Reply"</button>
                        <button type="button" class="link" data-testid="resolve-thread" on:click=move |_| set_resolved(true)>"Resolve"</button>
                    </div>
                </form>
            </Show>
        </li>
    }
}
