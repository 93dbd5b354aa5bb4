//! IndexedDB storage in a real browser: run with
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p accord-app --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

use accord_app::storage::{DocRecord, Storage};
use accord_shared::automerge::transaction::Transactable;
use accord_shared::automerge::{Automerge, ROOT, ReadDoc};
use accord_shared::engine::Write;
use accord_shared::ids::DocumentId;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn fresh_id() -> DocumentId {
    let mut bytes = [0u8; 16];
    accord_app::browser::random_bytes(&mut bytes).expect("random bytes");
    DocumentId::from_bytes(bytes)
}

async fn open_fresh() -> (String, Storage) {
    let name = format!("accord-test-{}", fresh_id());
    let storage = Storage::open(&name).await.expect("open");
    (name, storage)
}

fn title_of(bytes: &[u8]) -> String {
    let doc = Automerge::load(bytes).expect("stored bytes load");
    match doc.get(ROOT, "title").expect("read title") {
        Some((value, _)) => value.into_string().expect("title is a string"),
        None => String::new(),
    }
}

fn set_title(doc: &mut Automerge, title: &str) -> Vec<u8> {
    let before = doc.get_heads();
    let mut tx = doc.transaction();
    tx.put(ROOT, "title", title).expect("put title");
    tx.commit();
    doc.save_after(&before)
}

#[wasm_bindgen_test]
async fn appended_chunks_survive_reopen_and_load_in_order() {
    let (name, storage) = open_fresh().await;
    let id = fresh_id();
    assert_eq!(storage.load(&id).await.unwrap(), None);

    let mut doc = Automerge::new();
    let first = set_title(&mut doc, "Acme × Globex");
    storage.write(&id, &Write::Append(first)).await.unwrap();
    for title in ["Acme × Globex v2", "Acme × Globex v3"] {
        let chunk = set_title(&mut doc, title);
        storage.write(&id, &Write::Append(chunk)).await.unwrap();
    }
    storage.close();

    let reopened = Storage::open(&name).await.unwrap();
    assert_eq!(reopened.chunks(&id).await.unwrap().len(), 3);
    let bytes = reopened.load(&id).await.unwrap().expect("stored");
    assert_eq!(title_of(&bytes), "Acme × Globex v3");
    // Another document's chunks stay separate.
    assert_eq!(reopened.load(&fresh_id()).await.unwrap(), None);
}

#[wasm_bindgen_test]
async fn replace_compacts_to_one_snapshot_and_appends_continue() {
    let (name, storage) = open_fresh().await;
    let id = fresh_id();
    let mut doc = Automerge::new();
    for i in 0..5 {
        let chunk = set_title(&mut doc, &format!("draft {i}"));
        storage.append(&id, &chunk).await.unwrap();
    }
    assert_eq!(storage.chunks(&id).await.unwrap().len(), 5);

    storage
        .write(&id, &Write::Replace(doc.save()))
        .await
        .unwrap();
    assert_eq!(storage.chunks(&id).await.unwrap().len(), 1);

    let after = set_title(&mut doc, "final");
    storage.write(&id, &Write::Append(after)).await.unwrap();
    storage.close();

    let reopened = Storage::open(&name).await.unwrap();
    assert_eq!(reopened.chunks(&id).await.unwrap().len(), 2);
    assert_eq!(
        title_of(&reopened.load(&id).await.unwrap().unwrap()),
        "final"
    );
}

#[wasm_bindgen_test]
async fn records_and_meta_round_trip() {
    let (name, storage) = open_fresh().await;
    let a = DocRecord {
        id: fresh_id().to_string(),
        title: "A".into(),
        added_at: 2,
        claimed: true,
        role: None,
    };
    let b = DocRecord {
        id: fresh_id().to_string(),
        title: "B".into(),
        added_at: 1,
        claimed: false,
        role: None,
    };
    storage.put_record(&a).await.unwrap();
    storage.put_record(&b).await.unwrap();
    let renamed = DocRecord {
        title: "A renamed".into(),
        ..a.clone()
    };
    storage.put_record(&renamed).await.unwrap();
    storage.put_meta("organization", "Acme").await.unwrap();
    storage.close();

    let reopened = Storage::open(&name).await.unwrap();
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
    let mut doc = Automerge::new();
    for id in [gone, kept] {
        let chunk = set_title(&mut doc, &id.to_string());
        storage.write(&id, &Write::Append(chunk)).await.unwrap();
        let more = set_title(&mut doc, "more");
        storage.write(&id, &Write::Append(more)).await.unwrap();
        let record = DocRecord {
            id: id.to_string(),
            title: "T".into(),
            added_at: 1,
            claimed: true,
            role: None,
        };
        storage.put_record(&record).await.unwrap();
    }
    for id in [gone, kept] {
        storage
            .put_meta(&format!("party:{id}"), "Acme")
            .await
            .unwrap();
    }
    storage
        .delete(&gone, &[format!("party:{gone}")])
        .await
        .unwrap();
    storage.close();

    let reopened = Storage::open(&name).await.unwrap();
    assert_eq!(reopened.load(&gone).await.unwrap(), None);
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
