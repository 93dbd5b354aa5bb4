//! Memos for lists shown as keyed `<For>` rows: the page keeps one memo of
//! the ids in order, and each row its own memo of its item and place, so a
//! change to one item re-renders only that row and the others keep their
//! focus and whatever is being typed in them.
//!
//! A list of a collection ([`ListContext::of`]) reads nothing on a change
//! that does not concern it (see [`crate::record_signals`]): its ids in
//! order ([`order`]) re-read only when a record comes, goes or moves, each
//! row ([`ListContext::record`], [`ListContext::placed`]) only when its own
//! record is written, and a figure over every record ([`ListContext::each`])
//! re-reads only the record that changed. The page's other data (members,
//! parties) is read by [`watched`], only when what it names changes.

use std::collections::HashMap;

use accord_shared::automerge::Automerge;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::ids::DocumentId;
use accord_shared::model::touched::{self, Path};
use accord_shared::model::{Collection, ItemId, OpError};
use leptos::prelude::*;

use crate::components::form::{Feedback, InlineError};
use crate::components::items::RemovedItems;
use crate::edit;
use crate::record_signals;

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
/// and where a row explains a refusal; for a list of a collection's
/// records ([`Self::of`]), also which collection and its ids in order.
pub struct ListContext<D: Send + Sync + 'static> {
    /// The partnership.
    pub id: DocumentId,
    /// The page's data.
    pub data: Memo<Option<D>>,
    /// Where a row explains a refusal.
    pub error: Feedback,
    /// The collection the rows show and its ids in order, when the rows
    /// are its records ([`Self::of`]).
    records: Option<(Collection, Memo<Vec<ItemId>>)>,
}

impl<D: Send + Sync + 'static> ListContext<D> {
    /// The context of a list of `data` in the partnership `id`.
    pub fn new(id: DocumentId, data: Memo<Option<D>>, error: Feedback) -> Self {
        Self {
            id,
            data,
            error,
            records: None,
        }
    }

    /// The context of a list of the live records of `collection`, beside
    /// the page's other `data`: made once per list (it holds the list's
    /// [`order`]), then copied into each row.
    pub fn of(
        id: DocumentId,
        collection: Collection,
        data: Memo<Option<D>>,
        error: Feedback,
    ) -> Self {
        Self {
            id,
            data,
            error,
            records: Some((collection, order(id, collection))),
        }
    }

    /// Runs `op` on the record `item` with what it is given (a patch), as
    /// one local change; a refusal shows in the list's message.
    pub fn updater<P>(
        self,
        item: ItemId,
        op: fn(&mut Transaction<'_>, ItemId, &P) -> Result<(), OpError>,
    ) -> impl Fn(P) + Copy + Send + Sync + 'static
    where
        P: 'static,
    {
        let (id, error) = (self.id, self.error);
        move |patch: P| {
            edit::apply_into(error, &id, |tx| op(tx, item, &patch));
        }
    }

    /// The collection and its ids in order.
    fn records(&self) -> (Collection, Memo<Vec<ItemId>>) {
        self.records
            .expect("records are read from a list made by ListContext::of")
    }

    /// The ids of the list's records in order (see [`order`]).
    pub fn order(&self) -> Memo<Vec<ItemId>> {
        self.records().1
    }

    /// The record `item` as `read` gives it, re-read only when a change
    /// writes that record; `None` once it is gone.
    pub fn record<T>(
        &self,
        item: ItemId,
        read: fn(&Automerge, ItemId) -> Option<T>,
    ) -> Memo<Option<T>>
    where
        T: PartialEq + Send + Sync + 'static,
    {
        record(self.id, self.records().0, item, read)
    }

    /// [`Self::record`] with where the record stands in the list.
    pub fn placed<T>(
        &self,
        item: ItemId,
        read: fn(&Automerge, ItemId) -> Option<T>,
    ) -> Memo<Option<Placed<T>>>
    where
        T: Clone + PartialEq + Send + Sync + 'static,
    {
        let record = self.record(item, read);
        let order = self.order();
        Memo::new(move |_| {
            let item_now = record.get()?;
            order.with(|ids| {
                let index = ids.iter().position(|i| *i == item)?;
                Some(Placed {
                    item: item_now,
                    index,
                    count: ids.len(),
                })
            })
        })
    }

    /// Every record of the list as `read` gives it, in order, for a figure
    /// over all of them (a heat map, a total). Each record is read by a
    /// memo of its own, so a change to one re-reads that one only.
    pub fn each<T>(&self, read: fn(&Automerge, ItemId) -> Option<T>) -> Memo<Vec<T>>
    where
        T: Clone + PartialEq + Send + Sync + 'static,
    {
        let (id, (collection, order)) = (self.id, self.records());
        // The records' memos belong to the page, not to this memo's run.
        let owner = Owner::current().unwrap_or_default();
        let memos = StoredValue::new(HashMap::<ItemId, Memo<Option<T>>>::new());
        Memo::new(move |_| {
            let ids = order.get();
            memos.update_value(|memos| {
                memos.retain(|item, _| ids.contains(item));
                for item in &ids {
                    memos
                        .entry(*item)
                        .or_insert_with(|| owner.with(|| record(id, collection, *item, read)));
                }
            });
            memos.with_value(|memos| {
                ids.iter()
                    .filter_map(|item| memos.get(item).and_then(|m| m.get()))
                    .collect()
            })
        })
    }
}

/// Reads the open document `id` (through the running client), tracking
/// nothing: the callers track the places they read.
#[cfg(not(test))]
fn read_doc<R>(id: &DocumentId, read: impl FnOnce(&Automerge) -> R) -> Option<R> {
    edit::read_in(id, &[], read)
}

#[cfg(test)]
use tests::read_doc;

/// The ids of the live records of `collection` in display order, re-read
/// only when a record comes, goes or moves (not when one is edited).
pub fn order(id: DocumentId, collection: Collection) -> Memo<Vec<ItemId>> {
    let place = touched::collection(collection);
    Memo::new(move |_| {
        record_signals::track_order(&id, &place);
        read_doc(&id, |doc| touched::ids(doc, collection)).unwrap_or_default()
    })
}

/// The record `item` of `collection` as `read` gives it, re-read only when
/// a change writes that record; `None` once it is gone.
pub fn record<T>(
    id: DocumentId,
    collection: Collection,
    item: ItemId,
    read: fn(&Automerge, ItemId) -> Option<T>,
) -> Memo<Option<T>>
where
    T: PartialEq + Send + Sync + 'static,
{
    record_also(id, collection, item, Vec::new(), read)
}

/// [`record`] for a read that also looks elsewhere (a review lists the
/// milestones achieved in its period): re-read when a change writes the
/// record or one of `also`.
pub fn record_also<T>(
    id: DocumentId,
    collection: Collection,
    item: ItemId,
    also: Vec<Path>,
    read: fn(&Automerge, ItemId) -> Option<T>,
) -> Memo<Option<T>>
where
    T: PartialEq + Send + Sync + 'static,
{
    let mut places = also;
    places.push(touched::record(collection, &item.key()));
    Memo::new(move |_| {
        let places: Vec<&[String]> = places.iter().map(Vec::as_slice).collect();
        edit::watch(&id, &places);
        read_doc(&id, |doc| read(doc, item)).flatten()
    })
}

/// Reads the open document `id` with `read`, making the running view re-run
/// when a change writes one of `places` (see [`edit::read_in`]).
pub fn read_at<R>(
    id: &DocumentId,
    places: &[Path],
    read: impl FnOnce(&Automerge) -> R,
) -> Option<R> {
    let places: Vec<&[String]> = places.iter().map(Vec::as_slice).collect();
    edit::read_in(id, &places, read)
}

/// What `read` gives of the partnership `id`, re-read only when a change
/// writes one of `places` (see [`touched`] for the places); `None` while
/// the document is not open.
pub fn watched<R>(id: DocumentId, places: Vec<Path>, read: fn(&Automerge) -> R) -> Memo<Option<R>>
where
    R: PartialEq + Send + Sync + 'static,
{
    Memo::new(move |_| {
        let places: Vec<&[String]> = places.iter().map(Vec::as_slice).collect();
        edit::watch(&id, &places);
        read_doc(&id, read)
    })
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

/// The records of a list made by [`ListContext::of`], one `row` each
/// (keyed), then the rows' shared message, what is given as children (the
/// form that adds one) and the records removed from the collection, each
/// with a Restore button.
#[component]
pub fn RecordList<D, R, V>(
    /// The list.
    list: ListContext<D>,
    /// The view of one record.
    row: R,
    /// The `data-testid` of the rows' shared message, when they share one
    /// (the list's `error`; rows with a message of their own have none).
    #[prop(optional)]
    error_id: Option<&'static str>,
    /// The list's CSS class.
    #[prop(default = "cards")]
    class: &'static str,
    /// Whether the last record comes first (the newest, for records added
    /// in time order).
    #[prop(optional)]
    newest_first: bool,
    /// Shown between the list and the removed records.
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView
where
    D: Send + Sync + 'static,
    R: Fn(ItemId) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let (collection, order) = list.records();
    let shown = move || {
        let mut ids = order.get();
        if newest_first {
            ids.reverse();
        }
        ids
    };
    view! {
        <ul class=class>
            <For each=shown key=|item| *item children=row/>
        </ul>
        {error_id.map(|test_id| view! { <InlineError message=list.error test_id=test_id/> })}
        {children.map(|children| children())}
        <RemovedItems id=list.id collection=collection/>
    }
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

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use accord_shared::automerge::Automerge;
    use accord_shared::model::risks::{self, NewRisk, Prose, Risk};
    use accord_shared::model::{OpResult, items, members, schema};
    use accord_shared::text::Splice;

    use super::*;
    use crate::components::form::feedback;

    thread_local! {
        /// The document the running client would hold.
        static DOC: RefCell<Automerge> = RefCell::new(Automerge::new());
        /// Which records were read, in order (`None`: the list's ids).
        static READS: RefCell<Vec<Option<ItemId>>> = const { RefCell::new(Vec::new()) };
    }

    /// The test's stand-in for the client's document map: one document.
    pub(super) fn read_doc<R>(_: &DocumentId, read: impl FnOnce(&Automerge) -> R) -> Option<R> {
        Some(DOC.with(|doc| read(&doc.borrow())))
    }

    /// Writes one change, then tells the views what it touched, as the
    /// client does after applying a change.
    fn change(id: &DocumentId, op: impl FnOnce(&mut Transaction<'_>) -> OpResult) {
        let touched = DOC.with(|doc| {
            let mut doc = doc.borrow_mut();
            let before = doc.get_heads();
            doc.transact(|tx| op(tx)).unwrap();
            touched::since(&doc, &before)
        });
        record_signals::notify(id, &touched);
    }

    use accord_shared::automerge::transaction::Transaction;

    fn counted(doc: &Automerge, item: ItemId) -> Option<Risk> {
        READS.with(|r| r.borrow_mut().push(Some(item)));
        risks::get(doc, item).ok()
    }

    fn reads() -> Vec<Option<ItemId>> {
        READS.with(|r| r.borrow_mut().drain(..).collect())
    }

    fn new_risk(title: &str) -> NewRisk {
        NewRisk {
            title: title.into(),
            likelihood: 3,
            impact: 3,
            owner: None,
            mitigation: String::new(),
            contingency: String::new(),
        }
    }

    #[test]
    fn typing_into_one_record_re_reads_that_record_only() {
        let owner = Owner::new();
        owner.set();
        let id = DocumentId::from_bytes([9; 16]);
        let [a, b, c, d] = [1, 2, 3, 4].map(|n| ItemId::from_bytes([n; 16]));
        change(&id, |tx| {
            schema::init(tx, "Acme and Globex", 1_700_000_000_000)?;
            for (item, title) in [
                (a, "Supplier fails"),
                (b, "Key person leaves"),
                (c, "Budget cut"),
            ] {
                risks::add(tx, item, &new_risk(title), 1_700_000_000_000)?;
            }
            Ok(())
        });
        let data = watched(id, vec![touched::members()], members::list);
        let list = ListContext::of(id, Collection::Risks, data, feedback());
        let order = list.order();
        let rows = [a, b, c].map(|item| (item, list.placed(item, counted)));
        let all = list.each(counted);
        // What the page shows: every memo read, as its view would.
        let show = || {
            order.with(|_| ());
            data.with(|_| ());
            for (_, row) in &rows {
                row.with(|_| ());
            }
            all.with(Vec::len)
        };
        assert_eq!(show(), 3);
        assert_eq!(
            reads().len(),
            6,
            "each row and the figure read each record once"
        );

        // A keystroke in A's mitigation: A's row and A in the figure, nothing else.
        let typed = Splice {
            position: 0,
            delete: 0,
            insert: "x".into(),
        };
        change(&id, |tx| {
            risks::edit_prose(tx, a, Prose::Mitigation, &typed)
        });
        assert_eq!(show(), 3);
        assert_eq!(reads(), vec![Some(a), Some(a)]);
        assert_eq!(rows[0].1.get().unwrap().item.fields.mitigation, "x");
        assert_eq!(
            record_signals::notified_order(&id, &touched::collection(Collection::Risks)),
            0
        );
        assert_eq!(record_signals::notified(&id, &touched::members()), 0);

        // Moving C first re-reads the order, and no record.
        change(&id, |tx| items::move_to(tx, Collection::Risks, c, 0));
        assert_eq!(show(), 3);
        assert_eq!(order.get(), vec![c, a, b]);
        assert_eq!(rows[2].1.get().map(|p| p.index), Some(0));
        assert!(
            reads().iter().all(|r| *r == Some(c)),
            "only the moved record"
        );

        // A new record is read by the figure; removing one drops it.
        change(&id, |tx| {
            risks::add(tx, d, &new_risk("Regulation"), 1_700_000_000_000)
        });
        assert_eq!(show(), 4);
        assert_eq!(reads(), vec![Some(d)]);
        change(&id, |tx| {
            items::delete(tx, Collection::Risks, b, 1_700_000_000_000)
        });
        assert_eq!(show(), 3);
        assert_eq!(rows[1].1.get(), None);
        assert!(reads().iter().all(|r| *r == Some(b)));
    }
}
