//! Shows the Markdown that Accord's exports write as formatted elements
//! (headings, lists, tables), built from [`markdown::blocks`]: text stays
//! text, so nothing in a document can become markup.

use accord_shared::views::markdown::{self, Block, Span};
use leptos::prelude::*;

fn spans(spans: Vec<Span>) -> impl IntoView {
    spans
        .into_iter()
        .map(|span| match span {
            Span::Plain(text) => view! { <span>{text}</span> }.into_any(),
            Span::Strong(text) => view! { <strong>{text}</strong> }.into_any(),
        })
        .collect_view()
}

fn block(block: Block) -> AnyView {
    match block {
        Block::Heading { level: 1, text } => view! { <h2>{spans(text)}</h2> }.into_any(),
        Block::Heading { level: 2, text } => view! { <h3>{spans(text)}</h3> }.into_any(),
        Block::Heading { text, .. } => view! { <h4>{spans(text)}</h4> }.into_any(),
        Block::Paragraph(text) => view! { <p>{spans(text)}</p> }.into_any(),
        Block::List(items) => view! {
            <ul>{items.into_iter().map(|item| view! { <li>{spans(item)}</li> }).collect_view()}</ul>
        }
        .into_any(),
        Block::Table { header, rows } => view! {
            <table class="log">
                <thead><tr>{header.into_iter().map(|c| view! { <th scope="col">{spans(c)}</th> }).collect_view()}</tr></thead>
                <tbody>
                    {rows.into_iter().map(|row| view! {
                        <tr>{row.into_iter().map(|c| view! { <td>{spans(c)}</td> }).collect_view()}</tr>
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any(),
    }
}

/// `text` (Markdown written by an export) as formatted elements.
#[allow(clippy::needless_pass_by_value)] // component props are owned
#[component]
pub fn MarkdownView(
    /// The Markdown.
    text: String,
) -> impl IntoView {
    markdown::blocks(&text)
        .into_iter()
        .map(block)
        .collect_view()
}
