//! One signal per place in a partnership that a view reads (a clause, the
//! sign-offs, the members; see [`accord_shared::model::touched`]), so a
//! change re-runs only the views of what it wrote: a key typed into one
//! clause re-reads that clause, not every clause on the page.
//!
//! Views call [`track`] (through [`crate::edit::read_in`]) with the paths
//! they read, and a list of a collection's rows calls [`track_order`] with
//! the collection's path, so it re-reads when a record comes, goes or
//! moves and not when one is typed into; the sync client calls [`notify`] with what each applied
//! change touched, and [`notify_all`] when anything may have changed (a
//! document opened, the app started).

use std::cell::RefCell;
use std::collections::HashMap;

use accord_shared::ids::DocumentId;
use accord_shared::model::touched::Touched;
use leptos::prelude::{ArcTrigger, Notify, Track};

/// What a view reads at a watched place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reads {
    /// Everything below it ([`Touched::concerns`]).
    Within,
    /// Which records a collection holds, in order ([`Touched::reorders`]).
    Order,
}

impl Reads {
    fn due(self, touched: &Touched, path: &[String]) -> bool {
        match self {
            Self::Within => touched.concerns(path),
            Self::Order => touched.reorders(path),
        }
    }
}

/// A watched place and its signal.
struct Watched {
    path: Vec<String>,
    reads: Reads,
    trigger: ArcTrigger,
    /// How many times it was notified (for tests and diagnosis).
    notified: u64,
}

thread_local! {
    static WATCHED: RefCell<HashMap<DocumentId, Vec<Watched>>> = RefCell::new(HashMap::new());
}

/// Subscribes the running reactive computation to changes of `path` in
/// document `id`.
pub fn track(id: &DocumentId, path: &[String]) {
    track_as(id, path, Reads::Within);
}

/// Subscribes the running reactive computation to the records of the
/// collection at `path` in document `id` coming, going or moving (see
/// [`Touched::reorders`]), not to their fields.
pub fn track_order(id: &DocumentId, path: &[String]) {
    track_as(id, path, Reads::Order);
}

fn track_as(id: &DocumentId, path: &[String], reads: Reads) {
    let trigger = WATCHED.with(|watched| {
        let mut watched = watched.borrow_mut();
        let places = watched.entry(*id).or_default();
        match places.iter().find(|w| w.path == path && w.reads == reads) {
            Some(found) => found.trigger.clone(),
            None => {
                let trigger = ArcTrigger::new();
                places.push(Watched {
                    path: path.to_vec(),
                    reads,
                    trigger: trigger.clone(),
                    notified: 0,
                });
                trigger
            }
        }
    });
    trigger.track();
}

/// Tells the views of every place in `id` that `touched` concerns.
pub fn notify(id: &DocumentId, touched: &Touched) {
    let due: Vec<ArcTrigger> = WATCHED.with(|watched| {
        let mut watched = watched.borrow_mut();
        let Some(places) = watched.get_mut(id) else {
            return Vec::new();
        };
        places
            .iter_mut()
            .filter(|w| w.reads.due(touched, &w.path))
            .map(|w| {
                w.notified += 1;
                w.trigger.clone()
            })
            .collect()
    });
    // Outside the borrow: a view re-running now may track a new place.
    for trigger in due {
        trigger.notify();
    }
}

/// Tells every view of every document (the app started, a document opened
/// or was replaced).
pub fn notify_all() {
    let documents: Vec<DocumentId> =
        WATCHED.with(|watched| watched.borrow().keys().copied().collect());
    for id in documents {
        notify(&id, &Touched::Everything);
    }
}

/// How many times the views of `path` in `id` were told of a change.
pub fn notified(id: &DocumentId, path: &[String]) -> u64 {
    notified_as(id, path, Reads::Within)
}

/// How many times the lists of the collection at `path` in `id` were told
/// its records came, went or moved.
pub fn notified_order(id: &DocumentId, path: &[String]) -> u64 {
    notified_as(id, path, Reads::Order)
}

fn notified_as(id: &DocumentId, path: &[String], reads: Reads) -> u64 {
    WATCHED.with(|watched| {
        watched
            .borrow()
            .get(id)
            .and_then(|places| places.iter().find(|w| w.path == path && w.reads == reads))
            .map_or(0, |w| w.notified)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_shared::automerge::transaction::Transactable;
    use accord_shared::automerge::{Automerge, ReadDoc};
    use accord_shared::model::agreement::{self, NewClause};
    use accord_shared::model::{ItemId, schema, touched};

    #[test]
    fn typing_in_one_clause_notifies_that_clause_and_not_the_others() {
        let owner = leptos::prelude::Owner::new();
        owner.set();
        let id = DocumentId::from_bytes([5; 16]);
        let (a, b) = (ItemId::from_bytes([1; 16]), ItemId::from_bytes([2; 16]));
        let mut doc = Automerge::new();
        doc.transact(|tx| {
            schema::init(tx, "Acme and Globex", 1_700_000_000_000)?;
            for clause in [a, b] {
                let new = NewClause {
                    title: "Term".into(),
                    body: "The parties agree.".into(),
                };
                agreement::add_clause(tx, clause, &new, 1_700_000_000_000)?;
            }
            Ok::<_, accord_shared::model::OpError>(())
        })
        .unwrap();
        for path in [touched::clause(a), touched::clause(b), touched::signoffs()] {
            track(&id, &path);
        }
        let before = doc.get_heads();
        doc.transact(|tx| {
            let body = agreement::clause_body_text(tx, a).unwrap();
            let end = tx.length(&body);
            tx.splice_text(&body, end, 0, "x")
        })
        .unwrap();
        notify(&id, &touched::since(&doc, &before));
        assert_eq!(notified(&id, &touched::clause(a)), 1);
        assert_eq!(notified(&id, &touched::clause(b)), 0);
        assert_eq!(notified(&id, &touched::signoffs()), 0);
        notify_all();
        assert_eq!(notified(&id, &touched::clause(b)), 1);
    }
}
