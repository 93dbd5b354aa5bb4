//! Memos for lists shown as keyed `<For>` rows: the page keeps one memo of
//! the ids in order, and each row its own memo of its item and place, so a
//! change to one item re-renders only that row and the others keep their
//! focus and whatever is being typed in them.

use accord_shared::ids::DocumentId;
use accord_shared::model::ItemId;
use leptos::prelude::*;

use crate::components::form::{Feedback, InlineError};

/// An item of a list with where it stands in it (for move up/down).
#[derive(Debug, Clone, PartialEq)]
pub struct Placed<T> {
    /// The item.
    pub item: T,
    /// Its index in the list.
    pub index: usize,
    /// How many items the list holds.
    pub count: usize,
}

impl<T> Placed<T> {
    /// The item, its index and the list's length.
    pub fn parts(self) -> (T, usize, usize) {
        (self.item, self.index, self.count)
    }
}

/// What every row of one list shares: the partnership, the page's data
/// and where a row explains a refusal.
pub struct ListContext<D: Send + Sync + 'static> {
    /// The partnership.
    pub id: DocumentId,
    /// The page's data.
    pub data: Memo<Option<D>>,
    /// Where a row explains a refusal.
    pub error: Feedback,
}

impl<D: Send + Sync + 'static> ListContext<D> {
    /// The context of a list of `data` in the partnership `id`.
    pub fn new(id: DocumentId, data: Memo<Option<D>>, error: Feedback) -> Self {
        Self { id, data, error }
    }
}

impl<D: Send + Sync + 'static> Clone for ListContext<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: Send + Sync + 'static> Copy for ListContext<D> {}

/// The ids of the items `list` picks from the page's data, in order (item
/// ids, or any other key such as a party's id).
pub fn ids<D, T, K>(data: Memo<Option<D>>, list: fn(&D) -> &[T], id: fn(&T) -> K) -> Memo<Vec<K>>
where
    D: Send + Sync + 'static,
    T: 'static,
    K: PartialEq + Send + Sync + 'static,
{
    Memo::new(move |_| {
        data.with(|d| {
            d.as_ref()
                .map(|d| list(d).iter().map(id).collect())
                .unwrap_or_default()
        })
    })
}

/// The item `item` of the list `list` picks, with its place; `None` once
/// it is gone from the list.
pub fn placed<D, T>(
    data: Memo<Option<D>>,
    list: fn(&D) -> &[T],
    id: fn(&T) -> ItemId,
    item: ItemId,
) -> Memo<Option<Placed<T>>>
where
    D: Send + Sync + 'static,
    T: Clone + PartialEq + Send + Sync + 'static,
{
    Memo::new(move |_| {
        data.with(|d| {
            let items = list(d.as_ref()?);
            let index = items.iter().position(|t| id(t) == item)?;
            Some(Placed {
                item: items[index].clone(),
                index,
                count: items.len(),
            })
        })
    })
}

/// The item `item` of the list `list` picks, as `shown` presents it (for
/// example without the prose its text areas show themselves); `None` once
/// it is gone from the list.
pub fn found<D, T, S>(
    data: Memo<Option<D>>,
    list: fn(&D) -> &[T],
    id: fn(&T) -> ItemId,
    item: ItemId,
    shown: fn(&T) -> S,
) -> Memo<Option<S>>
where
    D: Send + Sync + 'static,
    T: 'static,
    S: PartialEq + Send + Sync + 'static,
{
    Memo::new(move |_| data.with(|d| list(d.as_ref()?).iter().find(|t| id(t) == item).map(shown)))
}

/// One part of the page's data (its members, its parties) as its own memo,
/// empty while the data is not there.
pub fn part<D, T>(data: Memo<Option<D>>, part: fn(&D) -> &T) -> Memo<T>
where
    D: Send + Sync + 'static,
    T: Clone + Default + PartialEq + Send + Sync + 'static,
{
    Memo::new(move |_| data.with(|d| d.as_ref().map(|d| part(d).clone()).unwrap_or_default()))
}

/// A list (of cards, by default), one `row` per id in `ids` (keyed, so each card stays
/// while the document changes), with the rows' shared message under it.
#[component]
pub fn CardList<K, R, V>(
    /// The items' ids (or other keys), in order.
    ids: Memo<Vec<K>>,
    /// The card of one item.
    row: R,
    /// Where the rows explain a refusal.
    error: Feedback,
    /// The message's `data-testid`.
    error_id: &'static str,
    /// The list's CSS class.
    #[prop(default = "cards")]
    class: &'static str,
) -> impl IntoView
where
    K: Copy + Eq + std::hash::Hash + Send + Sync + 'static,
    R: Fn(K) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <ul class=class>
            <For each=move || ids.get() key=|item| *item children=row/>
        </ul>
        <InlineError message=error test_id=error_id/>
    }
}
