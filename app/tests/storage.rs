//! IndexedDB storage in a real browser: run with
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p accord-app --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

use accord_app::saving::{Saver, load_chunks};
use accord_app::storage::{Batch, DocRecord, Storage};
use accord_shared::automerge::transaction::Transactable;
use accord_shared::automerge::{Automerge, ObjType, ROOT, ReadDoc};
use accord_shared::ids::DocumentId;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn fresh_id() -> DocumentId {
    let mut bytes = [0u8; 16];
    accord_app::browser::random_bytes(&mut bytes).expect("random bytes");
    DocumentId::from_bytes(bytes)
}

/// The record of `id` titled `title`, added at `added_at`, claimed or not,
/// with no role and no heads from the relay yet.
fn record(id: DocumentId, title: &str, added_at: u64, claimed: bool) -> DocRecord {
    DocRecord {
        id: id.to_string(),
        title: title.into(),
        added_at,
        claimed,
        role: None,
        relay_heads: None,
    }
}

async fn open_fresh() -> (String, Storage) {
    let name = format!("accord-test-{}", fresh_id());
    let storage = Storage::open(&name, "tab-1", 1).await.expect("open");
    (name, storage)
}

fn notes_of(doc: &Automerge) -> String {
    match doc.get(ROOT, "notes").expect("read notes") {
        Some((_, obj)) => doc.text(&obj).expect("notes are text"),
        None => String::new(),
    }
}

fn type_notes(doc: &mut Automerge, text: &str) {
    let mut tx = doc.transaction();
    let notes = match tx.get(ROOT, "notes").expect("read notes") {
        Some((_, obj)) => obj,
        None => tx.put_object(ROOT, "notes", ObjType::Text).expect("notes"),
    };
    let at = tx.length(&notes);
    tx.splice_text(&notes, at, 0, text).expect("type");
    tx.commit();
}

fn set_title(doc: &mut Automerge, title: &str) {
    let mut tx = doc.transaction();
    tx.put(ROOT, "title", title).expect("put title");
    tx.commit();
}

fn title_of(doc: &Automerge) -> String {
    match doc.get(ROOT, "title").expect("read title") {
        Some((value, _)) => value.into_string().expect("title is a string"),
        None => String::new(),
    }
}

/// Takes the saver's batch for one document and commits it.
async fn save(storage: &Storage, saver: &mut Saver, id: DocumentId, doc: &Automerge) {
    let chunks = saver.take(true, |d| (*d == id).then_some(doc));
    storage
        .commit(&Batch {
            chunks: chunks.clone(),
            ..Batch::default()
        })
        .await
        .expect("commit");
    saver.committed(&chunks);
}

#[wasm_bindgen_test]
async fn appended_batches_survive_reopen() {
    let (name, storage) = open_fresh().await;
    let id = fresh_id();
    assert!(storage.chunks(&id).await.unwrap().is_empty());

    let mut doc = Automerge::new();
    let mut saver = Saver::new(64);
    saver.track(id, Vec::new());
    for title in ["Acme × Globex", "Acme × Globex v2", "Acme × Globex v3"] {
        set_title(&mut doc, title);
        save(&storage, &mut saver, id, &doc).await;
    }
    storage.close();

    let reopened = Storage::open(&name, "tab-2", 2).await.unwrap();
    let chunks = reopened.chunks(&id).await.unwrap();
    assert_eq!(chunks.len(), 3);
    let loaded = load_chunks(&chunks);
    assert!(loaded.is_complete());
    assert_eq!(title_of(&loaded.doc), "Acme × Globex v3");
    // Another document's chunks stay separate.
    assert!(reopened.chunks(&fresh_id()).await.unwrap().is_empty());
}

#[wasm_bindgen_test]
async fn two_tabs_compacting_keep_every_change_of_both() {
    // Two tabs of one browser hold the same partnership; neither has seen
    // the other's typing; both compact often.
    let (name, first) = open_fresh().await;
    let second = Storage::open(&name, "tab-2", 1).await.unwrap();
    let id = fresh_id();
    let mut base = Automerge::new();
    type_notes(&mut base, "base ");
    let mut a = base.fork();
    let mut b = base.fork();
    let mut saver_a = Saver::new(4);
    let mut saver_b = Saver::new(4);
    saver_a.track(id, Vec::new());
    saver_b.track(id, Vec::new());
    for i in 0..12 {
        type_notes(&mut a, &format!("a{i} "));
        save(&first, &mut saver_a, id, &a).await;
        type_notes(&mut b, &format!("b{i} "));
        save(&second, &mut saver_b, id, &b).await;
    }
    first.close();
    second.close();

    let reopened = Storage::open(&name, "tab-3", 3).await.unwrap();
    let chunks = reopened.chunks(&id).await.unwrap();
    assert!(chunks.len() < 24, "compaction ran: {} chunks", chunks.len());
    let loaded = load_chunks(&chunks);
    assert!(loaded.is_complete());
    let notes = notes_of(&loaded.doc);
    for i in 0..12 {
        assert!(notes.contains(&format!("a{i} ")), "{notes}");
        assert!(notes.contains(&format!("b{i} ")), "{notes}");
    }
}

#[wasm_bindgen_test]
async fn records_and_meta_round_trip() {
    let (name, storage) = open_fresh().await;
    let a = record(fresh_id(), "A", 2, true);
    let b = record(fresh_id(), "B", 1, false);
    storage.put_record(&a).await.unwrap();
    storage.put_record(&b).await.unwrap();
    let renamed = DocRecord {
        title: "A renamed".into(),
        ..a.clone()
    };
    storage.put_record(&renamed).await.unwrap();
    storage.put_meta("organization", "Acme").await.unwrap();
    storage.close();

    let reopened = Storage::open(&name, "tab-2", 2).await.unwrap();
    assert_eq!(reopened.records().await.unwrap(), vec![b, renamed]);
    assert_eq!(
        reopened.get_meta("organization").await.unwrap().as_deref(),
        Some("Acme")
    );
    assert_eq!(reopened.get_meta("missing").await.unwrap(), None);
}

#[wasm_bindgen_test]
async fn delete_removes_one_document_and_leaves_the_others() {
    let (name, storage) = open_fresh().await;
    let (gone, kept) = (fresh_id(), fresh_id());
    for id in [gone, kept] {
        let mut doc = Automerge::new();
        let mut saver = Saver::new(64);
        saver.track(id, Vec::new());
        set_title(&mut doc, &id.to_string());
        save(&storage, &mut saver, id, &doc).await;
        set_title(&mut doc, "more");
        save(&storage, &mut saver, id, &doc).await;
        storage.put_record(&record(id, "T", 1, true)).await.unwrap();
    }
    for id in [gone, kept] {
        storage
            .put_meta(&format!("party:{id}"), "Acme")
            .await
            .unwrap();
    }
    storage
        .commit(&Batch {
            deletes: vec![(gone, vec![format!("party:{gone}")])],
            ..Batch::default()
        })
        .await
        .unwrap();
    storage.close();

    let reopened = Storage::open(&name, "tab-2", 2).await.unwrap();
    assert!(reopened.chunks(&gone).await.unwrap().is_empty());
    assert_eq!(reopened.chunks(&kept).await.unwrap().len(), 2);
    let ids: Vec<String> = reopened
        .records()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, vec![kept.to_string()]);
    let setting = |id: DocumentId| format!("party:{id}");
    assert_eq!(reopened.get_meta(&setting(gone)).await.unwrap(), None);
    assert_eq!(
        reopened.get_meta(&setting(kept)).await.unwrap().as_deref(),
        Some("Acme")
    );
}
