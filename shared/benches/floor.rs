//! The floor of relay cost per change: only what any automerge-repo relay has
//! to do for one typed change, with raw Automerge and nothing else (no
//! network, no framing, no access checks, no database).
//!
//! `cargo bench -p accord-shared --bench floor`
//!
//! A relay document with `peers` connected peers, each a full Automerge replica
//! with its own sync state, all in step after a history of `history` changes
//! of the same shape as `accord-load`'s typing (a one-character splice at a
//! random place in a text, plus `stamps["tI"] = seq`). For each new change, one
//! typist (in turn) makes it and encodes its sync message; then, timed:
//!
//! * **floor** — the relay decodes and applies that message, saves the
//!   increment (`save_after` the previous heads), and generates and encodes a
//!   sync message for each *other* peer;
//! * **floor + replies** — the same plus what the protocol then costs the
//!   relay: the message that tells the typist its change is held, and
//!   receiving every peer's reply (each says it now has the change);
//! * **durable floor** — the floor plus what a relay that may only pass on
//!   what is on disk minimally adds: the increment appended to a file and
//!   synced (`fdatasync`) before the messages to the other peers are made.
//!   The file is in `ACCORD_FLOOR_DIR`, default the temporary directory
//!   (where `accord-load` puts a relay's data); the CPU the kernel spends in
//!   this thread for the write and the sync counts, waiting for the disk does
//!   not.
//!
//! Peers apply what the relay sent them and write their replies untimed.
//! Time is this thread's CPU time (see [`Clock`]), so a busy machine slows
//! the run and inflates the figures far less than wall time would.
//! `accord-load compare` reports Accord's relay CPU per delivered change at
//! the same shapes (4 peers per change on 50 documents; 40 on one document):
//! its µs/change over this floor is the relay's overhead.

use std::fs::File;
use std::hint::black_box;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use accord_shared::automerge::sync::{self, SyncDoc};
use accord_shared::automerge::transaction::Transactable;
use accord_shared::automerge::{ActorId, Automerge, ChangeHash, ObjId, ObjType, ROOT, ReadDoc};
use criterion::{Criterion, criterion_group, criterion_main};
use rustix::time::{ClockId, clock_gettime};

/// A clock of the CPU time this thread has run (`CLOCK_THREAD_CPUTIME_ID`),
/// so that other processes on a busy machine do not count as relay work.
#[derive(Clone, Copy)]
struct Clock;

/// A reading of [`Clock`].
#[derive(Clone, Copy)]
struct Reading(Duration);

impl Clock {
    fn now(self) -> Reading {
        let t = clock_gettime(ClockId::ThreadCPUTime);
        Reading(Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
    }
}

impl Reading {
    fn elapsed(self, clock: Clock) -> Duration {
        clock.now().0.saturating_sub(self.0)
    }
}

/// One peer: its replica and the two sides' sync states of its connection.
#[derive(Clone)]
struct Peer {
    doc: Automerge,
    /// The peer's state about the relay.
    theirs: sync::State,
    /// The relay's state about this peer.
    ours: sync::State,
}

/// A relay document with its peers, all in step.
#[derive(Clone)]
struct Room {
    relay: Automerge,
    peers: Vec<Peer>,
    text: ObjId,
    stamps: ObjId,
    /// Heads the relay last saved (the start of the next increment).
    saved: Vec<ChangeHash>,
    seq: u64,
    /// A cheap deterministic generator for splice positions.
    rng: u64,
}

/// One encoded sync message, or none.
type Wire = Option<Vec<u8>>;

fn relay_to(relay: &Automerge, state: &mut sync::State) -> Wire {
    relay
        .generate_sync_message(state)
        .map(sync::Message::encode)
}

fn apply(doc: &mut Automerge, state: &mut sync::State, wire: &[u8]) {
    let message = sync::Message::decode(wire).expect("a sync message decodes");
    doc.receive_sync_message(state, message)
        .expect("a sync message applies");
}

impl Room {
    /// `peers` replicas in step with a relay document of `history` changes.
    fn new(peers: usize, history: usize) -> Self {
        let mut origin = Automerge::new();
        let (text, stamps) = origin
            .transact(|tx| {
                let text = tx.put_object(ROOT, "text", ObjType::Text)?;
                let stamps = tx.put_object(ROOT, "stamps", ObjType::Map)?;
                Ok::<_, accord_shared::automerge::AutomergeError>((text, stamps))
            })
            .map(|s| s.result)
            .map_err(|f| f.error)
            .expect("the initial change");
        let mut room = Self {
            relay: origin.clone(),
            peers: (0..peers)
                .map(|_| Peer {
                    // Its own actor, as every real replica has.
                    doc: origin.clone().with_actor(ActorId::random()),
                    theirs: sync::State::new(),
                    ours: sync::State::new(),
                })
                .collect(),
            text,
            stamps,
            saved: origin.get_heads(),
            seq: 0,
            rng: 0x9e37_79b9_7f4a_7c15,
        };
        // Exchange until quiet so every sync state knows every other side.
        room.settle();
        for _ in 0..history {
            room.round(Clock, false, None);
        }
        room
    }

    /// Messages back and forth until nobody has anything to say.
    fn settle(&mut self) {
        loop {
            let mut quiet = true;
            for peer in &mut self.peers {
                if let Some(wire) = relay_to(&self.relay, &mut peer.ours) {
                    quiet = false;
                    apply(&mut peer.doc, &mut peer.theirs, &wire);
                }
                if let Some(m) = peer.doc.generate_sync_message(&mut peer.theirs) {
                    quiet = false;
                    apply(&mut self.relay, &mut peer.ours, &m.encode());
                }
            }
            if quiet {
                break;
            }
        }
    }

    /// The next typist makes a change and encodes it for the relay.
    fn type_one(&mut self) -> (usize, Vec<u8>) {
        self.seq += 1;
        let typist = (self.seq as usize) % self.peers.len();
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let (text, stamps, seq, seed) = (&self.text, &self.stamps, self.seq, self.rng);
        let peer = &mut self.peers[typist];
        peer.doc
            .transact(|tx| {
                let len = tx.length(text);
                tx.splice_text(text, (seed % (len as u64 + 1)) as usize, 0, "x")?;
                tx.put(stamps, format!("t{typist}"), seq)
            })
            .map_err(|f| f.error)
            .expect("a typed change");
        let wire = peer
            .doc
            .generate_sync_message(&mut peer.theirs)
            .expect("a new change is sent")
            .encode();
        (typist, wire)
    }

    /// One change through the relay; returns the time spent in relay work
    /// (only in the floor part unless `with_replies`). With a `journal`, the
    /// increment is appended to it and synced before anything is sent.
    fn round(&mut self, clock: Clock, with_replies: bool, journal: Option<&mut File>) -> Duration {
        let (typist, wire) = self.type_one();
        let mut relay_time = Duration::ZERO;

        let started = clock.now();
        apply(&mut self.relay, &mut self.peers[typist].ours, &wire);
        let increment = self.relay.save_after(&self.saved);
        if let Some(journal) = journal {
            journal
                .write_all(&increment)
                .expect("appending the increment");
            journal.sync_data().expect("syncing the increment");
        }
        black_box(&increment);
        self.saved = self.relay.get_heads();
        let mut outgoing: Vec<(usize, Wire)> = Vec::with_capacity(self.peers.len());
        for (i, peer) in self.peers.iter_mut().enumerate() {
            if i != typist {
                outgoing.push((i, relay_to(&self.relay, &mut peer.ours)));
            }
        }
        relay_time += started.elapsed(clock);

        if with_replies {
            let started = clock.now();
            let ack = relay_to(&self.relay, &mut self.peers[typist].ours);
            relay_time += started.elapsed(clock);
            outgoing.push((typist, ack));
        }
        // The peers, untimed: apply and answer.
        let mut replies: Vec<(usize, Vec<u8>)> = Vec::with_capacity(outgoing.len());
        for (i, wire) in outgoing {
            let peer = &mut self.peers[i];
            if let Some(wire) = wire {
                apply(&mut peer.doc, &mut peer.theirs, &wire);
            }
            if let Some(reply) = peer.doc.generate_sync_message(&mut peer.theirs) {
                replies.push((i, reply.encode()));
            }
        }
        let started = clock.now();
        let mut answers = Vec::new();
        for (i, reply) in &replies {
            apply(&mut self.relay, &mut self.peers[*i].ours, reply);
            // Whatever the relay would answer to that reply (normally nothing).
            answers.push((*i, relay_to(&self.relay, &mut self.peers[*i].ours)));
        }
        if with_replies {
            relay_time += started.elapsed(clock);
        }
        // Untimed: deliver those answers and let every state come to rest
        // before the next change.
        for (i, answer) in answers {
            if let Some(wire) = answer {
                let peer = &mut self.peers[i];
                apply(&mut peer.doc, &mut peer.theirs, &wire);
            }
        }
        self.settle();
        relay_time
    }
}

/// What one timed round includes.
#[derive(Clone, Copy)]
enum Variant {
    Floor,
    FloorAndReplies,
    DurableFloor,
}

impl Variant {
    const ALL: [Variant; 3] = [
        Variant::Floor,
        Variant::FloorAndReplies,
        Variant::DurableFloor,
    ];

    fn name(self) -> &'static str {
        match self {
            Variant::Floor => "per change",
            Variant::FloorAndReplies => "per change + replies",
            Variant::DurableFloor => "per change, durable",
        }
    }
}

/// A new, empty file for the durable floor's increments.
fn journal(peers: usize) -> (PathBuf, File) {
    let dir = std::env::var_os("ACCORD_FLOOR_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let path = dir.join(format!("accord-floor-{}-{peers}.log", std::process::id()));
    let file = File::options()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .expect("creating the durable floor's file");
    // Its directory entry is on disk before the first timed sync, as a
    // relay's database file is.
    file.sync_all().expect("syncing the new file");
    (path, file)
}

fn floor(c: &mut Criterion) {
    let clock = Clock;
    // (peers on the document, history before measuring): the loads of
    // `accord-load compare --cost-only` (4, 10 and 40 other peers per change),
    // at about the middle of their 20 s runs.
    for (peers, history) in [(5, 200), (11, 500), (41, 2_000)] {
        let template = Room::new(peers, history);
        let mut group = c.benchmark_group(format!("floor/{} peers", peers));
        group.sample_size(20);
        group.measurement_time(Duration::from_secs(8));
        for variant in Variant::ALL {
            group.bench_function(variant.name(), |b| {
                b.iter_custom(|iters| {
                    let mut room = template.clone();
                    let with_replies = matches!(variant, Variant::FloorAndReplies);
                    let mut file = matches!(variant, Variant::DurableFloor).then(|| journal(peers));
                    let spent = (0..iters)
                        .map(|_| room.round(clock, with_replies, file.as_mut().map(|(_, f)| f)))
                        .sum();
                    if let Some((path, file)) = file {
                        drop(file);
                        std::fs::remove_file(path).expect("removing the durable floor's file");
                    }
                    spent
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, floor);
criterion_main!(benches);
