//! Engine micro-benchmarks: the wire codec, applying sync messages through the
//! relay engine, and a real editing trace through our text operations.
//!
//! `cargo bench -p accord-shared --bench engine`. Each group measures the raw
//! Automerge call beside ours so the report shows our overhead as a ratio.

use std::hint::black_box;
use std::io::Read;

use accord_shared::automerge::sync::{self, SyncDoc};
use accord_shared::automerge::transaction::Transactable;
use accord_shared::automerge::{AutoCommit, Automerge, ObjId, ObjType, ROOT, ReadDoc};
use accord_shared::engine::{Access, Engine, EngineConfig, Event};
use accord_shared::ids::{DocumentId, PeerId};
use accord_shared::protocol::{self, DocMessage, Message, PeerMetadata};
use accord_shared::text::{self, Splice};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn peer(name: &str) -> PeerId {
    name.parse().expect("valid peer id")
}

/// A document with `changes` changes, and the sync message that carries all of
/// them to an empty peer.
fn doc_and_full_sync(changes: usize) -> (Automerge, Vec<u8>) {
    let mut doc = AutoCommit::new();
    let notes = doc
        .put_object(ROOT, "notes", ObjType::Text)
        .expect("text object");
    for i in 0..changes {
        doc.splice_text(&notes, i, 0, "x").expect("splice");
        doc.commit();
    }
    let mut doc = doc.document().clone();
    // An empty peer first says what it has; the answer carries every change.
    let mut empty_state = sync::State::new();
    let hello = Automerge::new()
        .generate_sync_message(&mut empty_state)
        .expect("first message");
    let mut state = sync::State::new();
    doc.receive_sync_message(&mut state, hello)
        .expect("receive hello");
    let answer = doc.generate_sync_message(&mut state).expect("answer");
    (doc, answer.encode())
}

fn codec(c: &mut Criterion) {
    let (_, data) = doc_and_full_sync(200);
    let message = Message::Sync(DocMessage {
        sender_id: peer("client-1"),
        target_id: peer("relay"),
        document_id: DocumentId::from_bytes([9; 16]),
        data,
    });
    let bytes = protocol::encode(&message);
    let mut group = c.benchmark_group("codec");
    group.bench_function("encode sync message", |b| {
        b.iter(|| protocol::encode(black_box(&message)))
    });
    group.bench_function("decode sync message", |b| {
        b.iter(|| protocol::decode(black_box(&bytes)).expect("decodes"))
    });
    group.finish();
}

fn apply_sync(c: &mut Criterion) {
    let (_, data) = doc_and_full_sync(1_000);
    let id = DocumentId::from_bytes([1; 16]);
    let mut group = c.benchmark_group("apply 1,000-change sync message");
    group.sample_size(20);
    group.bench_function("automerge receive_sync_message", |b| {
        b.iter_batched(
            || sync::Message::decode(&data).expect("decodes"),
            |message| {
                let mut doc = Automerge::new();
                let mut state = sync::State::new();
                doc.receive_sync_message(&mut state, message)
                    .expect("applies");
                doc
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("relay engine (decode, apply, persist effect)", |b| {
        b.iter_batched(
            || {
                let mut engine = Engine::new(
                    peer("relay"),
                    PeerMetadata::default(),
                    EngineConfig::relay(),
                );
                engine.handle(
                    0,
                    Event::PeerConnected {
                        peer: peer("c"),
                        metadata: None,
                    },
                );
                let message = Message::Sync(DocMessage {
                    sender_id: peer("c"),
                    target_id: peer("relay"),
                    document_id: id,
                    data: data.clone(),
                });
                let _ = engine.handle(
                    0,
                    Event::Message {
                        from: peer("c"),
                        message: message.clone(),
                        access: Access::Write,
                    },
                );
                (engine, message)
            },
            |(mut engine, _message)| {
                // The first message above triggered a load; answering it applies the queued sync.
                engine.handle(
                    0,
                    Event::Loaded {
                        document: id,
                        stored: None,
                    },
                )
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

/// One transaction of the trace: `[position, delete, insert]` patches.
type Patch = (usize, usize, String);

fn load_trace() -> Option<(Vec<Vec<Patch>>, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/traces/automerge-paper.json.gz");
    let file = std::fs::File::open(&path).ok()?;
    let mut json = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut json)
        .ok()?;
    let value: serde_json::Value = serde_json::from_str(&json).ok()?;
    let txns = value["txns"].as_array()?;
    let patches = txns
        .iter()
        .map(|txn| {
            txn["patches"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let pos = usize::try_from(p[0].as_u64().unwrap_or(0)).unwrap_or(0);
                    let del = usize::try_from(p[1].as_u64().unwrap_or(0)).unwrap_or(0);
                    (pos, del, p[2].as_str().unwrap_or("").to_owned())
                })
                .collect()
        })
        .collect();
    Some((patches, value["endContent"].as_str()?.to_owned()))
}

/// Replays the trace into a fresh text object, `apply` once per edit.
fn replay(
    txns: &[Vec<Patch>],
    mut apply: impl FnMut(&mut AutoCommit, &ObjId, &Patch),
) -> (AutoCommit, ObjId) {
    let mut doc = AutoCommit::new();
    let body = doc.put_object(ROOT, "body", ObjType::Text).expect("text");
    for patch in txns.iter().flatten() {
        apply(&mut doc, &body, patch);
    }
    (doc, body)
}

fn editing_trace(c: &mut Criterion) {
    let Some((txns, expected)) = load_trace() else {
        eprintln!(
            "automerge-paper trace not found beside the checkout (../shared/data/traces); skipping"
        );
        return;
    };
    let mut group = c.benchmark_group("automerge-paper trace (259,778 edits)");
    group.sample_size(10);
    group.bench_function("automerge splice_text", |b| {
        b.iter(|| {
            let (doc, _) = replay(&txns, |doc, body, (pos, del, insert)| {
                doc.splice_text(body, *pos, isize::try_from(*del).unwrap_or(0), insert)
                    .expect("splice");
            });
            doc
        });
    });
    group.bench_function("accord text::splice (bounds-checked)", |b| {
        b.iter(|| {
            let (doc, body) = replay(&txns, |doc, body, (position, delete, insert)| {
                let edit = Splice {
                    position: *position,
                    delete: *delete,
                    insert: insert.clone(),
                };
                text::splice(doc, body, &edit).expect("splice");
            });
            assert_eq!(doc.text(&body).expect("text").len(), expected.len());
            doc
        });
    });
    group.finish();
}

criterion_group!(benches, codec, apply_sync, editing_trace);
criterion_main!(benches);
