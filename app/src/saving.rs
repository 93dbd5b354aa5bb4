//! What this tab must write to IndexedDB, decided without doing any I/O.
//!
//! The browser keeps each partnership as a series of chunks (see
//! [`crate::storage`]). Several tabs of one browser write the same chunks, so
//! every rule here is about never losing another tab's work:
//!
//! - [`Saver`] remembers, per document, the heads this tab knows are durable on
//!   the device. A batch carries everything past them; they advance only when
//!   the batch's transaction commits, so a failed write is retried whole.
//! - [`load_chunks`] reads every chunk on its own: an unreadable chunk or a
//!   change waiting for changes that are not here is reported, never dropped.
//! - [`compact_chunks`] builds a snapshot from exactly the chunks it was given
//!   (plus this tab's increment) and refuses when that would drop anything, so
//!   the storage layer may delete exactly those chunks in the same transaction.
//! - Loading every stored chunk again is what makes that slow on a big
//!   partnership (a third of a second for 10,000 changes), and it holds the
//!   page while it runs. So the saver remembers which stored chunks this
//!   tab's document already holds (by a digest of their bytes: the ones it
//!   loaded, wrote, or merged from another tab), and a compacting write
//!   carries a snapshot of the document in memory ([`InMemory`]). The
//!   storage layer writes that snapshot only when every chunk it read is one
//!   the document holds; otherwise it falls back to [`compact_chunks`].

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

use accord_shared::automerge::{
    Automerge, AutomergeError, ChangeHash, LoadOptions, OnPartialLoad, ReadDoc,
};
use accord_shared::ids::DocumentId;

/// Write a snapshot in place of the stored chunks once this many batches
/// were appended to a document since its last compaction.
pub const COMPACT_EVERY: u32 = 64;

/// A document read back from its chunks.
#[derive(Debug)]
pub struct Loaded {
    /// Everything that could be applied.
    pub doc: Automerge,
    /// Positions (0-based) of chunks that could not be parsed.
    pub unreadable: Vec<usize>,
    /// Changes that stored changes build on but that are not on this device
    /// (those stored changes are held back until they arrive).
    pub missing: usize,
}

impl Loaded {
    /// True when every stored change was applied.
    pub fn is_complete(&self) -> bool {
        self.unreadable.is_empty() && self.missing == 0
    }
}

/// Loads a document from its stored chunks, one chunk at a time, so a bad
/// chunk costs only itself. Changes whose dependencies are missing stay queued
/// inside the returned document (Automerge applies them if the missing changes
/// arrive later, e.g. from the relay) and are counted in [`Loaded::missing`].
pub fn load_chunks(chunks: &[Vec<u8>]) -> Loaded {
    let mut doc = Automerge::new();
    let mut unreadable = Vec::new();
    for (index, chunk) in chunks.iter().enumerate() {
        // Automerge skips what it cannot parse without saying so; a strict
        // load of the chunk on its own tells a bad chunk from one that only
        // builds on changes in other chunks.
        match Automerge::load_with_options(chunk, strict()) {
            Ok(alone) if doc.is_empty() => doc = alone,
            Ok(_) | Err(AutomergeError::MissingDeps) => {
                if doc.load_incremental(chunk).is_err() {
                    unreadable.push(index);
                }
            }
            Err(_) => unreadable.push(index),
        }
    }
    let missing = missing_changes(&doc);
    Loaded {
        doc,
        unreadable,
        missing,
    }
}

fn strict() -> LoadOptions<'static> {
    LoadOptions::new().on_partial_load(OnPartialLoad::Error)
}

/// Number of changes that changes held by `doc` build on but that are not
/// in `doc`: while it is not zero, some stored changes cannot be applied.
pub fn missing_changes(doc: &Automerge) -> usize {
    doc.get_missing_deps(&[]).len()
}

/// A snapshot that replaces `stored` (every chunk read in the compacting
/// transaction) and `increment` (this tab's changes not yet stored), or
/// `None` when compacting would lose something: a chunk that does not parse,
/// or a change waiting for a dependency (a snapshot holds applied changes only).
pub fn compact_chunks(stored: &[Vec<u8>], increment: &[u8]) -> Option<Vec<u8>> {
    let mut loaded = load_chunks(stored);
    if !loaded.unreadable.is_empty() {
        return None;
    }
    if !increment.is_empty() && loaded.doc.load_incremental(increment).is_err() {
        return None;
    }
    if !loaded.doc.get_missing_deps(&[]).is_empty() {
        return None;
    }
    Some(loaded.doc.save())
}

/// Which bytes a stored chunk holds (SHA-256 of them).
pub type ChunkDigest = [u8; 32];

/// The digest of a chunk's bytes.
pub fn chunk_digest(bytes: &[u8]) -> ChunkDigest {
    Sha256::digest(bytes).into()
}

/// A snapshot of this tab's document, and the stored chunks it is known to
/// hold (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InMemory {
    /// The document in memory, saved whole.
    pub snapshot: Vec<u8>,
    /// Digests of the stored chunks whose changes it holds.
    pub holds: HashSet<ChunkDigest>,
}

impl InMemory {
    /// True when the snapshot holds every change of every one of `stored`,
    /// so it may replace them without losing anything.
    pub fn covers(&self, stored: &[Vec<u8>]) -> bool {
        stored
            .iter()
            .all(|chunk| self.holds.contains(&chunk_digest(chunk)))
    }
}

/// One document's part of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingWrite {
    /// The document.
    pub document: DocumentId,
    /// Every change past the durable heads (Automerge's incremental format).
    pub bytes: Vec<u8>,
    /// The document's heads when the bytes were taken.
    pub heads: Vec<ChangeHash>,
    /// Replace the stored chunks with a snapshot, if nothing would be lost.
    pub compact: bool,
    /// For a compacting write, the snapshot of the document in memory (when
    /// it holds no change waiting for a missing one).
    pub in_memory: Option<InMemory>,
}

#[derive(Debug, Default)]
struct Tracked {
    durable: Vec<ChangeHash>,
    appended: u32,
    in_flight: bool,
    /// Digests of stored chunks whose changes the document in memory holds.
    held: HashSet<ChunkDigest>,
}

/// Per-document durable heads and compaction counters. See the module docs.
#[derive(Debug)]
pub struct Saver {
    docs: HashMap<DocumentId, Tracked>,
    compact_every: u32,
    failures: u32,
}

impl Default for Saver {
    fn default() -> Self {
        Self::new(COMPACT_EVERY)
    }
}

impl Saver {
    /// A saver that compacts after `compact_every` appended batches.
    pub fn new(compact_every: u32) -> Self {
        Self {
            docs: HashMap::new(),
            compact_every: compact_every.max(1),
            failures: 0,
        }
    }

    /// Starts tracking a document whose changes up to `durable` are stored.
    pub fn track(&mut self, document: DocumentId, durable: Vec<ChangeHash>) {
        self.docs.entry(document).or_default().durable = durable;
    }

    /// The document in memory holds every change of the stored chunk
    /// `bytes` (it loaded it, or merged it from the tab that stored it).
    pub fn holds(&mut self, document: DocumentId, bytes: &[u8]) {
        self.docs
            .entry(document)
            .or_default()
            .held
            .insert(chunk_digest(bytes));
    }

    /// Stops tracking a document (removed from this device).
    pub fn forget(&mut self, document: &DocumentId) {
        self.docs.remove(document);
    }

    /// True when some tracked document has changes that are not durable.
    pub fn has_work(&self, doc: impl Fn(&DocumentId) -> Option<Vec<ChangeHash>>) -> bool {
        self.docs
            .iter()
            .any(|(id, t)| !t.in_flight && doc(id).is_some_and(|heads| heads != t.durable))
    }

    /// Takes what must be written now: for every tracked document whose heads
    /// moved past its durable heads (and has no write in flight), the changes
    /// since then. The documents stay marked in flight until
    /// [`Self::committed`] or [`Self::failed`].
    ///
    /// Compaction stalls the page for as long as it takes on a big
    /// partnership, so it is asked for only with `compact_now` (the tab is
    /// idle or hidden; see [`crate::compaction_timing`]): then a document due
    /// for it gets a compacting write even with nothing new to store.
    pub fn take<'a>(
        &mut self,
        compact_now: bool,
        doc: impl Fn(&DocumentId) -> Option<&'a Automerge>,
    ) -> Vec<PendingWrite> {
        let mut writes = Vec::new();
        for (id, tracked) in &mut self.docs {
            if tracked.in_flight {
                continue;
            }
            let Some(doc) = doc(id) else {
                continue;
            };
            let heads = doc.get_heads();
            let due = tracked.appended + 1 >= self.compact_every;
            let bytes = if heads == tracked.durable {
                if !(compact_now && due) {
                    continue;
                }
                Vec::new()
            } else {
                doc.save_after(&tracked.durable)
            };
            tracked.in_flight = true;
            let compact = compact_now && due;
            let in_memory = (compact && missing_changes(doc) == 0).then(|| InMemory {
                snapshot: doc.save(),
                holds: tracked.held.clone(),
            });
            writes.push(PendingWrite {
                document: *id,
                bytes,
                heads,
                compact,
                in_memory,
            });
        }
        writes.sort_by_key(|w| w.document.to_string());
        writes
    }

    /// True when some document waits for an idle moment to be compacted.
    pub fn compaction_due(&self) -> bool {
        self.docs
            .values()
            .any(|t| !t.in_flight && t.appended + 1 >= self.compact_every)
    }

    /// The batch's transaction committed: its heads are durable.
    pub fn committed(&mut self, writes: &[PendingWrite]) {
        self.failures = 0;
        for write in writes {
            if let Some(tracked) = self.docs.get_mut(&write.document) {
                tracked.in_flight = false;
                tracked.durable.clone_from(&write.heads);
                // Whichever of these the transaction stored, the document
                // in memory holds it (both were made from it).
                if !write.bytes.is_empty() {
                    tracked.held.insert(chunk_digest(&write.bytes));
                }
                if let Some(in_memory) = &write.in_memory {
                    tracked.held.insert(chunk_digest(&in_memory.snapshot));
                }
                // A refused compaction waits as long as a successful one did.
                tracked.appended = if write.compact {
                    0
                } else {
                    tracked.appended + u32::from(!write.bytes.is_empty())
                };
            }
        }
    }

    /// The batch's transaction failed: nothing it held is durable; the next
    /// [`Self::take`] carries it again with whatever was added meanwhile.
    pub fn failed(&mut self, writes: &[PendingWrite]) {
        self.failures = self.failures.saturating_add(1);
        for write in writes {
            if let Some(tracked) = self.docs.get_mut(&write.document) {
                tracked.in_flight = false;
            }
        }
    }

    /// Consecutive failed batches (0 once one commits).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Another tab stored changes and this tab merged them: if this tab had
    /// nothing unsaved before (`before` was durable), the merged heads are
    /// durable too, so they are not written a second time.
    pub fn merged_stored(
        &mut self,
        document: &DocumentId,
        before: &[ChangeHash],
        after: Vec<ChangeHash>,
    ) {
        if let Some(tracked) = self.docs.get_mut(document)
            && !tracked.in_flight
            && tracked.durable == before
        {
            tracked.durable = after;
        }
    }

    /// True when every change of `doc` is durable on this device (cheap:
    /// compares heads).
    pub fn is_durable(&self, document: &DocumentId, doc: &Automerge) -> bool {
        self.docs
            .get(document)
            .is_none_or(|tracked| doc.get_heads() == tracked.durable)
    }

    /// Number of changes of `doc` that are not durable on this device.
    pub fn unsaved(&self, document: &DocumentId, doc: &Automerge) -> usize {
        match self.docs.get(document) {
            Some(tracked) if doc.get_heads() == tracked.durable => 0,
            Some(tracked) => doc.get_changes_meta(&tracked.durable).len(),
            None => 0,
        }
    }

    /// Total changes, over every tracked document, not durable on this device.
    pub fn unsaved_total<'a>(&self, doc: impl Fn(&DocumentId) -> Option<&'a Automerge>) -> usize {
        self.docs
            .keys()
            .filter_map(|id| doc(id).map(|d| self.unsaved(id, d)))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use accord_shared::automerge::transaction::Transactable;
    use accord_shared::automerge::{ActorId, ObjType, ROOT};

    use super::*;

    fn id(n: u8) -> DocumentId {
        DocumentId::from_bytes([n; 16])
    }

    fn typed(doc: &mut Automerge, text: &str) {
        let mut tx = doc.transaction();
        let notes = match tx.get(ROOT, "notes").unwrap() {
            Some((_, obj)) => obj,
            None => tx.put_object(ROOT, "notes", ObjType::Text).unwrap(),
        };
        let at = tx.length(&notes);
        tx.splice_text(&notes, at, 0, text).unwrap();
        tx.commit();
    }

    fn notes(doc: &Automerge) -> String {
        match doc.get(ROOT, "notes").unwrap() {
            Some((_, obj)) => doc.text(&obj).unwrap(),
            None => String::new(),
        }
    }

    /// A simulated device store: chunks in key order, as IndexedDB holds them.
    #[derive(Default)]
    struct Device {
        chunks: Vec<Vec<u8>>,
        /// Compactions that wrote the document in memory (no rebuild).
        from_memory: usize,
    }

    impl Device {
        /// What one tab's writer does with a batch, within one transaction
        /// (as `Storage::commit` does).
        fn commit(&mut self, writes: &[PendingWrite]) {
            for write in writes {
                if write.compact {
                    let snapshot = match &write.in_memory {
                        Some(in_memory) if in_memory.covers(&self.chunks) => {
                            self.from_memory += 1;
                            Some(in_memory.snapshot.clone())
                        }
                        _ => compact_chunks(&self.chunks, &write.bytes),
                    };
                    if let Some(snapshot) = snapshot {
                        self.chunks = vec![snapshot];
                        continue;
                    }
                }
                self.chunks.push(write.bytes.clone());
            }
        }
    }

    #[test]
    fn compaction_writes_the_document_in_memory_only_when_it_holds_every_stored_chunk() {
        let mut saver = Saver::new(2);
        let mut device = Device::default();
        let mut doc = Automerge::new();
        saver.track(id(1), doc.get_heads());
        fn write(
            saver: &mut Saver,
            doc: &Automerge,
            device: &mut Device,
            quiet: bool,
        ) -> Vec<PendingWrite> {
            let writes = saver.take(quiet, |_| Some(doc));
            device.commit(&writes);
            saver.committed(&writes);
            writes
        }
        typed(&mut doc, "one");
        write(&mut saver, &doc, &mut device, false);
        let writes = write(&mut saver, &doc, &mut device, true);
        assert!(writes[0].compact && writes[0].in_memory.is_some());
        assert_eq!((device.from_memory, device.chunks.len()), (1, 1));
        assert_eq!(notes(&load_chunks(&device.chunks).doc), "one");

        // Another tab stores a change this tab has not merged: the document
        // in memory does not hold it, so the snapshot is rebuilt from the
        // chunks and keeps it.
        let mut other = doc.fork().with_actor(ActorId::random());
        typed(&mut other, " two");
        device.chunks.push(other.save_after(&doc.get_heads()));
        typed(&mut doc, " three");
        write(&mut saver, &doc, &mut device, false);
        let writes = write(&mut saver, &doc, &mut device, true);
        assert!(writes[0].compact);
        assert_eq!((device.from_memory, device.chunks.len()), (1, 1));
        let stored = notes(&load_chunks(&device.chunks).doc);
        assert!(
            stored.contains("two") && stored.contains("three"),
            "{stored}"
        );

        // Once merged (as from the tabs channel), it is held again.
        let merged = device.chunks[0].clone();
        doc.load_incremental(&merged).unwrap();
        saver.holds(id(1), &merged);
        typed(&mut doc, " four");
        write(&mut saver, &doc, &mut device, false);
        write(&mut saver, &doc, &mut device, true);
        assert_eq!(device.from_memory, 2);
        let stored = notes(&load_chunks(&device.chunks).doc);
        assert!(
            stored.contains("two") && stored.ends_with("four"),
            "{stored}"
        );
    }

    #[test]
    fn heads_advance_only_when_the_batch_commits() {
        let mut doc = Automerge::new();
        let mut saver = Saver::new(64);
        saver.track(id(1), doc.get_heads());
        typed(&mut doc, "hello");
        let first = saver.take(true, |_| Some(&doc));
        assert_eq!(first.len(), 1);
        assert!(saver.take(true, |_| Some(&doc)).is_empty(), "in flight");
        saver.failed(&first);
        assert_eq!(saver.unsaved(&id(1), &doc), 1);
        typed(&mut doc, " world");
        // The retry carries the failed change and the new one.
        let retry = saver.take(true, |_| Some(&doc));
        let mut replica = Automerge::new();
        replica.load_incremental(&retry[0].bytes).unwrap();
        assert_eq!(notes(&replica), "hello world");
        saver.committed(&retry);
        assert_eq!(saver.unsaved(&id(1), &doc), 0);
        assert!(saver.take(true, |_| Some(&doc)).is_empty());
        assert_eq!(saver.failures(), 0);
    }

    #[test]
    fn two_tabs_compacting_never_lose_each_others_changes() {
        // The same document open in two tabs; each has its own saver and
        // writes into one device store; neither has merged the other's edits.
        let mut device = Device::default();
        let mut base = Automerge::new().with_actor(ActorId::from(vec![1]));
        typed(&mut base, "base ");
        device.chunks.push(base.save());
        let mut a = base.fork().with_actor(ActorId::from(vec![0xa]));
        let mut b = base.fork().with_actor(ActorId::from(vec![0xb]));
        let mut saver_a = Saver::new(3);
        let mut saver_b = Saver::new(3);
        saver_a.track(id(1), a.get_heads());
        saver_b.track(id(1), b.get_heads());
        for i in 0..10 {
            typed(&mut a, &format!("a{i} "));
            let writes = saver_a.take(true, |_| Some(&a));
            device.commit(&writes);
            saver_a.committed(&writes);
            typed(&mut b, &format!("b{i} "));
            let writes = saver_b.take(true, |_| Some(&b));
            device.commit(&writes);
            saver_b.committed(&writes);
        }
        let reopened = load_chunks(&device.chunks);
        assert!(reopened.is_complete());
        let text = notes(&reopened.doc);
        for i in 0..10 {
            assert!(text.contains(&format!("a{i} ")), "{text}");
            assert!(text.contains(&format!("b{i} ")), "{text}");
        }
        assert!(
            device.chunks.len() < 20,
            "compaction ran: {}",
            device.chunks.len()
        );
    }

    #[test]
    fn compaction_waits_for_a_quiet_moment_then_runs_with_nothing_new() {
        let mut doc = Automerge::new();
        let mut saver = Saver::new(3);
        saver.track(id(1), doc.get_heads());
        for i in 0..5 {
            typed(&mut doc, &format!("{i}"));
            let writes = saver.take(false, |_| Some(&doc));
            assert!(!writes[0].compact, "never while typing");
            saver.committed(&writes);
        }
        assert!(saver.compaction_due());
        assert!(saver.take(false, |_| Some(&doc)).is_empty());
        let writes = saver.take(true, |_| Some(&doc));
        assert_eq!(writes.len(), 1);
        assert!(writes[0].compact && writes[0].bytes.is_empty());
        saver.committed(&writes);
        assert!(!saver.compaction_due());
        assert!(saver.take(true, |_| Some(&doc)).is_empty());
    }

    #[test]
    fn a_change_missing_its_dependency_is_reported_and_never_compacted_away() {
        let mut doc = Automerge::new();
        typed(&mut doc, "one ");
        let snapshot = doc.save();
        let heads = doc.get_heads();
        typed(&mut doc, "two ");
        let lost = doc.save_after(&heads);
        let after_lost = doc.get_heads();
        typed(&mut doc, "three");
        let orphan = doc.save_after(&after_lost);
        let stored = vec![snapshot, orphan];

        let loaded = load_chunks(&stored);
        assert_eq!(loaded.missing, 1);
        assert!(!loaded.is_complete());
        assert_eq!(notes(&loaded.doc), "one ");
        assert_eq!(compact_chunks(&stored, &[]), None);

        // The missing change arrives (from the relay): everything applies.
        let mut recovered = loaded.doc;
        recovered.load_incremental(&lost).unwrap();
        assert_eq!(notes(&recovered), "one two three");
        assert_eq!(missing_changes(&recovered), 0);
    }

    #[test]
    fn an_unreadable_chunk_costs_only_itself_and_blocks_compaction() {
        let mut doc = Automerge::new();
        typed(&mut doc, "kept");
        let stored = vec![doc.save(), b"not automerge".to_vec()];
        let loaded = load_chunks(&stored);
        assert_eq!(loaded.unreadable, vec![1]);
        assert_eq!(notes(&loaded.doc), "kept");
        assert_eq!(compact_chunks(&stored, &[]), None);
    }

    #[test]
    fn changes_merged_from_another_tab_are_not_written_twice() {
        let mut doc = Automerge::new();
        let mut saver = Saver::new(64);
        saver.track(id(1), doc.get_heads());
        let mut other = doc.fork();
        typed(&mut other, "from the other tab");
        let before = doc.get_heads();
        doc.load_incremental(&other.save_after(&before)).unwrap();
        saver.merged_stored(&id(1), &before, doc.get_heads());
        assert!(saver.take(true, |_| Some(&doc)).is_empty());
        // With unsaved local work, the merge cannot be assumed durable.
        typed(&mut doc, "mine");
        let before = doc.get_heads();
        typed(&mut other, " more");
        doc.load_incremental(&other.save()).unwrap();
        saver.merged_stored(&id(1), &before, doc.get_heads());
        assert_eq!(saver.take(true, |_| Some(&doc)).len(), 1);
    }
}
