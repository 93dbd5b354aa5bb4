//! The tab's one IndexedDB writer: group commit, retries, and sharing what it
//! stored with the other tabs of this browser.
//!
//! Edits only mark work (see [`Client::kick`]); this loop writes at most one
//! transaction per [`GROUP_MS`], each carrying every document's changes since
//! its durable heads (see [`crate::saving::Saver`]). A failed transaction
//! moves nothing forward: the next one carries the same changes and more,
//! after a growing pause, until one commits. Each committed increment is
//! posted on a `BroadcastChannel`, so the other tabs apply it at once, offline
//! too, without writing it again.

use std::rc::Rc;

use accord_shared::ids::DocumentId;
use futures_channel::mpsc::UnboundedReceiver;
use futures_util::StreamExt;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

use super::{Client, ClientError};
use crate::browser::{self, BrowserError, now_ms};
use crate::compaction_timing::WhenToCompact;
use crate::storage::{Batch, DocRecord, SNAPSHOT_MEASURE};

/// Shortest time between two write transactions: keystrokes in between are
/// grouped into one.
pub const GROUP_MS: u64 = 50;
/// The longest wait for the browser's idle moment once it has been quiet
/// long enough to compact (see [`crate::compaction_timing`]).
const IDLE_TIMEOUT_MS: u32 = 1_000;
/// Pause after a failed write, doubling up to [`RETRY_MAX_MS`].
const RETRY_MIN_MS: u32 = 250;
const RETRY_MAX_MS: u32 = 8_000;
/// The channel the tabs of one browser share stored changes on.
const TABS_CHANNEL: &str = "accord-stored-changes";

/// A write that is not a document's changes, carried out in order.
#[derive(Debug, Clone)]
pub(super) enum Job {
    /// Put a list entry.
    Record(DocRecord),
    /// Remove a document from this device, with its per-document settings.
    Delete(DocumentId, Vec<String>),
}

impl Client {
    /// What to do about compaction now (see [`crate::compaction_timing`]).
    fn when_to_compact(&self) -> WhenToCompact {
        let due = self.saver.borrow().compaction_due();
        self.compaction.borrow_mut().decide(now_ms(), due)
    }

    /// Notes that there is something to write; the writer picks it up.
    pub(super) fn kick(&self) {
        let _ = self.kick.unbounded_send(());
    }

    /// Queues a list entry or a removal behind the writes before it.
    pub(super) fn enqueue(&self, job: Job) {
        self.jobs.borrow_mut().push(job);
        self.kick();
    }

    /// True when something is waiting to be written (or failed to be).
    pub fn has_unwritten(&self) -> bool {
        if !self.jobs.borrow().is_empty() {
            return true;
        }
        let engine = self.engine.borrow();
        self.saver
            .borrow()
            .has_work(|id| engine.document(id).map(|d| d.get_heads()))
            || self.writing.get()
    }

    /// Changes in this tab that are not yet durable on the device.
    pub fn unsaved_changes(&self) -> usize {
        let engine = self.engine.borrow();
        self.saver.borrow().unsaved_total(|id| engine.document(id))
    }

    fn next_batch(&self) -> Batch {
        let started = browser::performance_now();
        let chunks = {
            let engine = self.engine.borrow();
            let compact = self.when_to_compact() == WhenToCompact::Now;
            self.saver
                .borrow_mut()
                .take(compact, |id| engine.document(id))
        };
        if let Some(started) = started
            && chunks.iter().any(|w| w.in_memory.is_some())
        {
            browser::record_duration(SNAPSHOT_MEASURE, started);
        }
        let mut records = Vec::new();
        let mut deletes = Vec::new();
        for job in self.jobs.borrow_mut().drain(..) {
            match job {
                Job::Record(record) => {
                    records.retain(|r: &DocRecord| r.id != record.id);
                    records.push(record);
                }
                Job::Delete(id, settings) => {
                    let text = id.to_string();
                    records.retain(|r: &DocRecord| r.id != text);
                    deletes.push((id, settings));
                }
            }
        }
        Batch {
            chunks,
            records,
            deletes,
        }
    }

    /// The writer loop (see the module docs). Runs for the page's life.
    pub(super) async fn run_writer(self: Rc<Self>, mut kicks: UnboundedReceiver<()>) {
        let mut last_start = 0_u64;
        let mut retry = RETRY_MIN_MS;
        loop {
            if !self.has_unwritten() {
                // Wake for new work, or for the moment a due compaction may
                // run: never while someone types in this tab.
                let open = match self.when_to_compact() {
                    WhenToCompact::NotDue => kicks.next().await.is_some(),
                    WhenToCompact::After(ms) => {
                        let pause = browser::sleep(u32::try_from(ms).unwrap_or(u32::MAX));
                        woken_or(&mut kicks, pause).await
                    }
                    WhenToCompact::AskForIdle => {
                        let client = Rc::clone(&self);
                        let idle = async move {
                            browser::idle(IDLE_TIMEOUT_MS).await;
                            client.compaction.borrow_mut().idle(now_ms());
                        };
                        woken_or(&mut kicks, idle).await
                    }
                    WhenToCompact::Now => true,
                };
                if !open {
                    return;
                }
            }
            while kicks.try_recv().is_ok() {}
            let since = now_ms().saturating_sub(last_start);
            if since < GROUP_MS {
                browser::sleep(u32::try_from(GROUP_MS - since).unwrap_or(0)).await;
            }
            last_start = now_ms();
            let batch = self.next_batch();
            if batch.is_empty() {
                continue;
            }
            self.writing.set(true);
            let result = self.storage.commit(&batch).await;
            self.writing.set(false);
            match result {
                Ok(()) => {
                    self.saver.borrow_mut().committed(&batch.chunks);
                    if batch.chunks.iter().any(|w| w.compact) {
                        self.compaction.borrow_mut().compacted();
                    }
                    retry = RETRY_MIN_MS;
                    if self.write_failure_shown.replace(false) {
                        self.store.clear_report_about(STORAGE_FAILURE);
                    }
                    self.share_with_tabs(&batch);
                    self.refresh_status();
                }
                Err(error) => {
                    self.saver.borrow_mut().failed(&batch.chunks);
                    // Jobs go back in front of anything queued meanwhile.
                    let mut jobs: Vec<Job> = batch
                        .deletes
                        .into_iter()
                        .map(|(id, settings)| Job::Delete(id, settings))
                        .collect();
                    jobs.splice(0..0, batch.records.into_iter().map(Job::Record));
                    jobs.append(&mut self.jobs.borrow_mut());
                    *self.jobs.borrow_mut() = jobs;
                    self.write_failure_shown.set(true);
                    self.store.report(format!("{STORAGE_FAILURE}: {error}"));
                    self.refresh_status();
                    browser::sleep(retry).await;
                    retry = (retry * 2).min(RETRY_MAX_MS);
                }
            }
        }
    }

    fn share_with_tabs(&self, batch: &Batch) {
        let Some(channel) = self.tabs.as_ref() else {
            return;
        };
        for write in &batch.chunks {
            if write.bytes.is_empty() {
                continue;
            }
            let message = js_sys::Array::of2(
                &JsValue::from_str(&write.document.to_string()),
                &js_sys::Uint8Array::from(write.bytes.as_slice()),
            );
            if let Err(error) = channel.post_message(&message) {
                browser::log(&format!(
                    "accord: could not share changes with other tabs: {}",
                    browser::describe(&error)
                ));
            }
        }
    }

    /// Another tab stored changes to `id`: apply them here (and send them to
    /// the relay like our own) without storing them again.
    fn merge_from_tab(&self, id: DocumentId, bytes: &[u8]) {
        let merged = {
            let mut engine = self.engine.borrow_mut();
            let Some(doc) = engine.document_mut(&id) else {
                return;
            };
            let before = doc.get_heads();
            if let Err(error) = doc.load_incremental(bytes) {
                browser::log(&format!(
                    "accord: changes from another tab do not load: {error}"
                ));
                return;
            }
            let after = doc.get_heads();
            (before != after).then_some((before, after))
        };
        // The other tab stored exactly these bytes, and they are in memory now.
        self.saver.borrow_mut().holds(id, bytes);
        let Some((before, after)) = merged else {
            return;
        };
        self.saver.borrow_mut().merged_stored(&id, &before, after);
        self.changed_elsewhere(id);
    }
}

/// Waits for a kick or for `other`, whichever comes first; false when the
/// kicks' sender is gone (the page is ending).
async fn woken_or(kicks: &mut UnboundedReceiver<()>, other: impl Future<Output = ()>) -> bool {
    let kicked = kicks.next();
    futures_util::pin_mut!(kicked, other);
    !matches!(
        futures_util::future::select(kicked, other).await,
        futures_util::future::Either::Left((None, _))
    )
}

/// The start of the message shown while writes fail.
const STORAGE_FAILURE: &str = "Could not save to this device; retrying";

/// Opens the channel the tabs of this browser share stored changes on and
/// routes what other tabs post to [`Client::merge_from_tab`]. `None` where
/// the browser has no `BroadcastChannel` (each tab then still stores its own
/// changes safely; they meet through the relay or on the next load).
pub(super) fn open_tabs_channel() -> Option<BroadcastChannel> {
    BroadcastChannel::new(TABS_CHANNEL).ok()
}

/// Starts listening on the tabs channel. The listener lives as long as the page.
pub(super) fn listen_to_tabs(client: &Rc<Client>) -> Result<(), ClientError> {
    let Some(channel) = client.tabs.as_ref() else {
        return Ok(());
    };
    let weak = Rc::downgrade(client);
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(client) = weak.upgrade() else {
            return;
        };
        let Ok(parts) = event.data().dyn_into::<js_sys::Array>() else {
            return;
        };
        let (Some(id), Ok(bytes)) = (
            parts
                .get(0)
                .as_string()
                .and_then(|s| DocumentId::parse_url_or_id(&s).ok()),
            parts.get(1).dyn_into::<js_sys::Uint8Array>(),
        ) else {
            return;
        };
        client.merge_from_tab(id, &bytes.to_vec());
    });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    Ok(())
}

/// Asks before the tab closes while changes exist only in its memory.
pub(super) fn guard_unload(client: &Rc<Client>) -> Result<(), ClientError> {
    let weak = Rc::downgrade(client);
    let on_unload = Closure::<dyn FnMut(web_sys::BeforeUnloadEvent)>::new(
        move |event: web_sys::BeforeUnloadEvent| {
            if weak.upgrade().is_some_and(|c| c.unsaved_changes() > 0) {
                event.prevent_default();
                event.set_return_value("Some changes are not saved on this device yet.");
            }
        },
    );
    browser::window()?
        .add_event_listener_with_callback("beforeunload", on_unload.as_ref().unchecked_ref())
        .map_err(BrowserError::from)?;
    on_unload.forget();
    Ok(())
}

/// Tells the compaction timing whether the tab is hidden, and wakes the
/// writer when it is: a hidden tab (switched away from, minimised, being
/// closed) has nobody typing in it, so a due compaction runs at once.
pub(super) fn watch_visibility(client: &Rc<Client>) -> Result<(), ClientError> {
    let document = browser::window()?
        .document()
        .ok_or(BrowserError::NoWindow)?;
    let weak = Rc::downgrade(client);
    let page = document.clone();
    let on_change = Closure::<dyn FnMut()>::new(move || {
        let Some(client) = weak.upgrade() else {
            return;
        };
        let hidden = page.hidden();
        client.compaction.borrow_mut().set_hidden(hidden);
        if hidden {
            client.kick();
        }
    });
    document
        .add_event_listener_with_callback("visibilitychange", on_change.as_ref().unchecked_ref())
        .map_err(BrowserError::from)?;
    on_change.forget();
    client.compaction.borrow_mut().set_hidden(document.hidden());
    Ok(())
}
