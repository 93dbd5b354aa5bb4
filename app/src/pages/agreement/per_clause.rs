//! What the agreement page computes per clause, shared by its parts and
//! re-computed only when a change touches that clause (or what the value
//! also reads, such as the sign-offs or the members): each clause's
//! sign-off state (its content hash is the costly part) and its "changed
//! since you last looked" note. The page-wide figures (the sign-off totals,
//! the count of changed clauses) add these up instead of reading every
//! clause again.

use std::collections::HashMap;

use accord_shared::model::ItemId;
use accord_shared::model::device_keys;
use accord_shared::model::signoff::{self, ClauseSignoffs};
use accord_shared::model::touched;
use accord_shared::views::history::{Baseline, ClauseWatch};
use leptos::prelude::*;

use super::{AgreementContext, change_note, clause_places};
use crate::components::rows;

/// The per-clause values of one agreement page (see the module docs).
#[derive(Debug, Clone, Copy)]
pub(super) struct PerClause {
    ctx: AgreementContext,
    /// The page's owner: the memos live as long as the page, not as long as
    /// the view that first asked for them.
    owner: StoredValue<Owner>,
    /// The clauses as they were when this device last looked.
    baseline: Memo<Option<Baseline>>,
    /// This device's member.
    me: Memo<Option<accord_shared::model::MemberId>>,
    signoffs: StoredValue<HashMap<ItemId, Memo<Option<ClauseSignoffs>>>>,
    notes: StoredValue<HashMap<ItemId, Memo<Option<String>>>>,
}

impl PerClause {
    /// Per-clause values for the page of `ctx` (call in the page's owner).
    pub(super) fn new(
        ctx: AgreementContext,
        me: Memo<Option<accord_shared::model::MemberId>>,
    ) -> Self {
        let id = ctx.id;
        // Reading text at past heads is slow: once per last-seen version,
        // not once per change.
        let baseline = Memo::new(move |_| {
            let seen = ctx.seen.get()?;
            crate::sync_client::client()?
                .read_doc(&id, |doc| Baseline::at(doc, &seen).ok())
                .flatten()
        });
        Self {
            ctx,
            owner: StoredValue::new(Owner::current().unwrap_or_default()),
            baseline,
            me,
            signoffs: StoredValue::new(HashMap::new()),
            notes: StoredValue::new(HashMap::new()),
        }
    }

    /// The clause's sign-offs judged against its text now.
    pub(super) fn signoffs(self, clause: ItemId) -> Memo<Option<ClauseSignoffs>> {
        let ctx = self.ctx;
        self.memo(self.signoffs, clause, move || {
            let places = clause_places(clause, touched::signoffs());
            Memo::new(move |_| {
                let keys = ctx.keys.get();
                rows::read_at(&ctx.id, &places, |doc| {
                    signoff::clause_summary(
                        doc,
                        &ctx.id,
                        clause,
                        &device_keys::relay_attested(doc, &ctx.id, keys.as_deref()),
                    )
                    .ok()
                })
                .flatten()
            })
        })
    }

    /// Who changed the clause since this device last looked, if someone
    /// other than this device's member did.
    pub(super) fn note(self, clause: ItemId) -> Memo<Option<String>> {
        let (ctx, baseline, me) = (self.ctx, self.baseline, self.me);
        self.memo(self.notes, clause, move || {
            let places = clause_places(clause, touched::devices());
            // Each re-run reads only the changes since the last one.
            let watch = StoredValue::new(ClauseWatch::new(clause));
            Memo::new(move |_| {
                let me = me.get();
                baseline.with(|baseline| {
                    let baseline = baseline.as_ref()?;
                    rows::read_at(&ctx.id, &places, |doc| {
                        watch.try_update_value(|watch| change_note(doc, baseline, watch, me))
                    })
                    .flatten()
                    .flatten()
                })
            })
        })
    }

    /// Every clause there was when this device last looked (removed ones
    /// too), for counting the changed ones.
    pub(super) fn seen_clauses(self) -> Vec<ItemId> {
        self.baseline.with(|b| {
            b.as_ref()
                .map(|b| b.clause_ids().to_vec())
                .unwrap_or_default()
        })
    }

    fn memo<T: Send + Sync + 'static>(
        self,
        memos: StoredValue<HashMap<ItemId, Memo<T>>>,
        clause: ItemId,
        make: impl FnOnce() -> Memo<T>,
    ) -> Memo<T> {
        if let Some(found) = memos.with_value(|m| m.get(&clause).copied()) {
            return found;
        }
        let owner = self.owner.get_value();
        let made = owner.with(make);
        memos.update_value(|m| {
            m.insert(clause, made);
        });
        made
    }
}
