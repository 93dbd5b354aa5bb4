//! Engine tests over an in-memory network: one relay, several clients, a
//! storage map, and full control over when commits land.

use std::collections::{BTreeMap, VecDeque};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT, ReadDoc};
use proptest::prelude::*;

use super::*;

const RELAY: &str = "relay";

fn pid(name: &str) -> PeerId {
    name.parse().unwrap()
}

/// A relay and clients wired together, delivering messages in FIFO order.
struct Net {
    relay: Engine,
    clients: BTreeMap<String, Engine>,
    storage: HashMap<DocumentId, Vec<u8>>,
    in_flight: VecDeque<(PeerId, PeerId, Message)>,
    pending_commits: Vec<(DocumentId, u64, Write)>,
    hold_commits: bool,
    access: HashMap<String, Access>,
    disconnected: Vec<(PeerId, String)>,
    /// Every committed write in order: whether it replaced, and its size.
    writes: Vec<(bool, usize)>,
    now: Millis,
}

impl Net {
    fn new() -> Self {
        let relay = Engine::new(
            pid(RELAY),
            PeerMetadata {
                storage_id: Some("relay-storage".into()),
                is_ephemeral: false,
            },
            EngineConfig::relay(),
        );
        Self {
            relay,
            clients: BTreeMap::new(),
            storage: HashMap::new(),
            in_flight: VecDeque::new(),
            pending_commits: Vec::new(),
            hold_commits: false,
            access: HashMap::new(),
            disconnected: Vec::new(),
            writes: Vec::new(),
            now: 1_000,
        }
    }

    /// A relay with these clients connected.
    fn with_clients(names: &[&str]) -> Self {
        let mut net = Self::new();
        for name in names {
            net.add_client(name);
        }
        net
    }

    /// A relay with these clients, the first of which has created document
    /// `n` titled `title` and synced it to the relay.
    fn with_document(names: &[&str], n: u8, title: &str) -> (Self, DocumentId) {
        let mut net = Self::with_clients(names);
        let id = doc_id(n);
        net.create(names[0], id, title);
        net.run();
        (net, id)
    }

    /// Connects a new client `name`, opens `id` there and checks it ends up
    /// with the same heads as `other` (what the relay serves is complete).
    fn assert_newcomer_gets_heads_of(&mut self, name: &str, other: &str, id: DocumentId) {
        self.add_client(name);
        self.open(name, id);
        self.run();
        assert_eq!(self.heads(other, &id), self.heads(name, &id));
    }

    fn add_client(&mut self, name: &str) {
        let engine = Engine::new(
            pid(name),
            PeerMetadata::default(),
            EngineConfig::client(false),
        );
        self.clients.insert(name.to_owned(), engine);
        self.connect(name);
    }

    fn connect(&mut self, name: &str) {
        let fx = self.relay.handle(
            self.now,
            Event::PeerConnected {
                peer: pid(name),
                metadata: None,
            },
        );
        self.relay_effects(fx);
        let fx = self.clients.get_mut(name).unwrap().handle(
            self.now,
            Event::PeerConnected {
                peer: pid(RELAY),
                metadata: None,
            },
        );
        self.client_effects(name, fx);
    }

    fn disconnect(&mut self, name: &str) {
        self.in_flight
            .retain(|(from, to, _)| from.as_str() != name && to.as_str() != name);
        let fx = self
            .relay
            .handle(self.now, Event::PeerDisconnected { peer: pid(name) });
        self.relay_effects(fx);
        let fx = self
            .clients
            .get_mut(name)
            .unwrap()
            .handle(self.now, Event::PeerDisconnected { peer: pid(RELAY) });
        self.client_effects(name, fx);
    }

    fn relay_effects(&mut self, fx: Vec<Effect>) {
        for effect in fx {
            match effect {
                Effect::Send { to, message } => self.in_flight.push_back((pid(RELAY), to, message)),
                Effect::Load { document } => {
                    let stored = self.storage.get(&document).cloned();
                    let more = self
                        .relay
                        .handle(self.now, Event::Loaded { document, stored });
                    self.relay_effects(more);
                }
                Effect::Persist {
                    document,
                    seq,
                    write,
                } => {
                    self.pending_commits.push((document, seq, write));
                    if !self.hold_commits {
                        self.commit_all();
                    }
                }
                Effect::Disconnect { peer, reason } => self.disconnected.push((peer, reason)),
                Effect::Unloaded { .. } | Effect::Notify(_) => {}
            }
        }
    }

    fn commit_all(&mut self) {
        for (document, seq, write) in std::mem::take(&mut self.pending_commits) {
            let stored = self.storage.entry(document).or_default();
            match write {
                Write::Append(bytes) => {
                    self.writes.push((false, bytes.len()));
                    stored.extend_from_slice(&bytes);
                }
                Write::Replace(bytes) => {
                    self.writes.push((true, bytes.len()));
                    *stored = bytes;
                }
            }
            let fx = self
                .relay
                .handle(self.now, Event::Persisted { document, seq });
            self.relay_effects(fx);
        }
    }

    fn client_effects(&mut self, _name: &str, fx: Vec<Effect>) {
        for effect in fx {
            if let Effect::Send { to, message } = effect {
                let from = match &message {
                    Message::Request(m) | Message::Sync(m) => m.sender_id.clone(),
                    Message::Ephemeral(m) => m.sender_id.clone(),
                    _ => pid(_name),
                };
                self.in_flight.push_back((from, to, message));
            }
        }
    }

    /// Delivers the oldest message in flight; links stay FIFO, like a WebSocket.
    fn deliver_one(&mut self) -> bool {
        let Some((from, to, message)) = self.in_flight.pop_front() else {
            return false;
        };
        if to.as_str() == RELAY {
            let access = self
                .access
                .get(from.as_str())
                .copied()
                .unwrap_or(Access::Write);
            let fx = self.relay.handle(
                self.now,
                Event::Message {
                    from,
                    message,
                    access,
                },
            );
            self.relay_effects(fx);
        } else if let Some(client) = self.clients.get_mut(to.as_str()) {
            let fx = client.handle(
                self.now,
                Event::Message {
                    from,
                    message,
                    access: Access::Write,
                },
            );
            let name = to.as_str().to_owned();
            self.client_effects(&name, fx);
        }
        true
    }

    /// Delivers messages until the network is quiet (bounded to catch livelock).
    fn run(&mut self) -> usize {
        let mut delivered = 0;
        while self.deliver_one() {
            delivered += 1;
            assert!(delivered < 5_000, "sync did not settle");
        }
        delivered
    }

    fn create(&mut self, name: &str, id: DocumentId, text: &str) {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "title", text).unwrap();
        let fx = self.clients.get_mut(name).unwrap().handle(
            self.now,
            Event::Open {
                document: id,
                doc: Some(Box::new(doc.document().clone())),
            },
        );
        self.client_effects(name, fx);
    }

    fn open(&mut self, name: &str, id: DocumentId) -> Vec<Effect> {
        let fx = self.clients.get_mut(name).unwrap().handle(
            self.now,
            Event::Open {
                document: id,
                doc: None,
            },
        );
        self.client_effects(name, fx.clone());
        fx
    }

    fn edit(&mut self, name: &str, id: DocumentId, key: &str, value: i64) {
        let engine = self.clients.get_mut(name).unwrap();
        engine
            .document_mut(&id)
            .unwrap()
            .transact::<_, _, automerge::AutomergeError>(|tx| {
                tx.put(ROOT, key, value)?;
                Ok(())
            })
            .unwrap();
        let fx = engine.handle(self.now, Event::LocalChange { document: id });
        self.client_effects(name, fx);
    }

    /// [`Net::edit`], then delivers every message it causes.
    fn edit_and_deliver(&mut self, name: &str, id: DocumentId, key: &str, value: i64) {
        self.edit(name, id, key, value);
        self.run();
    }

    fn heads(&self, name: &str, id: &DocumentId) -> Vec<ChangeHash> {
        let mut heads = self.clients[name]
            .document(id)
            .map(Automerge::get_heads)
            .unwrap_or_default();
        heads.sort();
        heads
    }
}

fn doc_id(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}

#[test]
fn two_clients_converge_through_the_relay() {
    let (mut net, id) = Net::with_document(&["a", "b"], 1, "MOU");
    net.open("b", id);
    net.run();
    net.edit("a", id, "x", 1);
    net.edit_and_deliver("b", id, "y", 2);
    assert_eq!(net.heads("a", &id), net.heads("b", &id));
    let b = net.clients["b"].document(&id).unwrap();
    assert_eq!(
        b.get(ROOT, "title")
            .unwrap()
            .unwrap()
            .0
            .into_string()
            .unwrap(),
        "MOU"
    );
    assert!(net.clients["a"].is_synced_with(&id, &pid(RELAY)));
    assert_eq!(net.clients["a"].changes_not_on(&id, &pid(RELAY)), 0);
}

#[test]
fn relay_says_nothing_about_new_heads_until_they_are_committed() {
    let (mut net, id) = Net::with_document(&["a"], 2, "draft");
    net.hold_commits = true;
    net.edit_and_deliver("a", id, "x", 1);
    assert!(
        !net.pending_commits.is_empty(),
        "the relay asked storage to commit"
    );
    assert!(
        !net.clients["a"].is_synced_with(&id, &pid(RELAY)),
        "heads advertised before commit"
    );
    assert_eq!(net.clients["a"].changes_not_on(&id, &pid(RELAY)), 1);
    net.hold_commits = false;
    net.commit_all();
    net.run();
    assert!(net.clients["a"].is_synced_with(&id, &pid(RELAY)));
    let mut stored = Automerge::new();
    stored.load_incremental(&net.storage[&id]).unwrap();
    assert_eq!(
        stored.get_heads(),
        net.clients["a"].document(&id).unwrap().get_heads()
    );
}

#[test]
fn relay_confirms_heads_that_a_queued_echo_already_claimed() {
    // A change and the client's empty echo of its heads can queue together
    // while an earlier commit is in flight; the relay must still tell the
    // client it holds those heads once they are committed.
    let (mut net, id) = Net::with_document(&["a"], 10, "echo");
    net.hold_commits = true;
    net.edit_and_deliver("a", id, "x", 1);
    net.edit_and_deliver("a", id, "x", 2);
    net.commit_all();
    net.edit_and_deliver("a", id, "x", 3);
    net.commit_all();
    net.run();
    net.commit_all();
    net.run();
    assert!(net.pending_commits.is_empty());
    assert!(
        net.clients["a"].is_synced_with(&id, &pid(RELAY)),
        "the relay never confirmed the last change"
    );
}

#[test]
fn a_closed_document_is_not_brought_back_by_late_messages() {
    let (mut net, id) = Net::with_document(&["a", "b"], 11, "shared");
    net.open("b", id);
    net.run();
    let fx = net
        .clients
        .get_mut("b")
        .unwrap()
        .handle(net.now, Event::Close { document: id });
    assert_eq!(fx, vec![Effect::Unloaded { document: id }]);
    net.edit_and_deliver("a", id, "after", 1);
    assert!(
        net.clients["b"].document(&id).is_none(),
        "b removed it and must not hold it again"
    );
    assert!(net.clients["a"].is_synced_with(&id, &pid(RELAY)));
}

#[test]
fn unknown_document_is_unavailable_but_not_while_it_is_arriving() {
    let mut net = Net::with_clients(&["a", "b"]);
    let id = doc_id(3);
    let fx = net.open("b", id);
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Send {
            message: Message::Request(_),
            ..
        }
    )));
    net.run();
    let fx: Vec<Effect> = net.clients.get_mut("b").unwrap().handle(0, Event::Tick);
    assert!(fx.is_empty());
    // b was told the document is unavailable; now a publishes it and b receives it.
    net.create("a", id, "late");
    net.run();
    assert_eq!(net.heads("a", &id), net.heads("b", &id));
}

#[test]
fn request_waits_while_another_peer_is_uploading() {
    let mut net = Net::with_clients(&["a", "b"]);
    let id = doc_id(4);
    net.hold_commits = true;
    net.create("a", id, "uploading");
    net.run();
    assert!(!net.pending_commits.is_empty());
    net.open("b", id);
    net.run();
    assert!(net.heads("b", &id).is_empty());
    net.hold_commits = false;
    net.commit_all();
    net.run();
    assert_eq!(net.heads("a", &id), net.heads("b", &id));
}

#[test]
fn viewer_changes_are_not_applied_but_viewer_receives() {
    let mut net = Net::with_clients(&["owner", "viewer"]);
    net.access.insert("viewer".into(), Access::Read);
    let id = doc_id(5);
    net.create("owner", id, "terms");
    net.run();
    net.open("viewer", id);
    net.run();
    assert_eq!(net.heads("owner", &id), net.heads("viewer", &id));
    net.edit_and_deliver("viewer", id, "sneaky", 1);
    let relay_doc = net.relay.document(&id).unwrap();
    assert!(relay_doc.get(ROOT, "sneaky").unwrap().is_none());
    assert!(
        net.clients["owner"]
            .document(&id)
            .unwrap()
            .get(ROOT, "sneaky")
            .unwrap()
            .is_none()
    );
}

#[test]
fn undecodable_sync_payload_closes_only_that_peer() {
    let (mut net, id) = Net::with_document(&["a", "bad"], 6, "x");
    let message = Message::Sync(DocMessage {
        sender_id: pid("bad"),
        target_id: pid(RELAY),
        document_id: id,
        data: vec![0xde, 0xad],
    });
    let fx = net.relay.handle(
        1,
        Event::Message {
            from: pid("bad"),
            message,
            access: Access::Write,
        },
    );
    assert!(fx.iter().any(
        |e| matches!(e, Effect::Send { to, message: Message::Error { .. } } if to.as_str() == "bad")
    ));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Disconnect { peer, .. } if peer.as_str() == "bad"))
    );
    net.edit_and_deliver("a", id, "still", 1);
    assert!(net.clients["a"].is_synced_with(&id, &pid(RELAY)));
}

#[test]
fn ephemeral_messages_fan_out_to_other_peers_of_the_document() {
    let (mut net, id) = Net::with_document(&["a", "b", "c"], 7, "board");
    net.open("b", id);
    net.open("c", id);
    net.run();
    let message = Message::Ephemeral(EphemeralMessage {
        sender_id: pid("a"),
        target_id: pid(RELAY),
        count: 1,
        session_id: "s".into(),
        document_id: id,
        data: vec![1],
    });
    let fx = net.relay.handle(
        1,
        Event::Message {
            from: pid("a"),
            message,
            access: Access::Write,
        },
    );
    let mut targets: Vec<String> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                to,
                message: Message::Ephemeral(m),
            } if m.sender_id.as_str() == "a" => Some(to.to_string()),
            _ => None,
        })
        .collect();
    targets.sort();
    assert_eq!(targets, ["b", "c"]);
}

#[test]
fn a_large_upload_is_stored_as_a_snapshot_and_small_edits_as_increments() {
    let mut net = Net::with_clients(&["a"]);
    let id = doc_id(9);
    let mut doc = AutoCommit::new();
    for i in 0..3_000_i64 {
        doc.put(ROOT, "n", i).unwrap();
        doc.commit();
    }
    let increment = doc.document().save_after(&[]).len();
    let fx = net.clients.get_mut("a").unwrap().handle(
        net.now,
        Event::Open {
            document: id,
            doc: Some(Box::new(doc.document().clone())),
        },
    );
    net.client_effects("a", fx);
    net.run();
    assert!(
        increment > EngineConfig::relay().snapshot_over_bytes,
        "{increment}"
    );
    let (replaced, size) = net.writes[0];
    assert!(replaced, "{:?}", net.writes);
    assert!(
        size * 4 < increment,
        "snapshot {size} vs increment {increment}"
    );
    net.edit_and_deliver("a", id, "x", 1);
    assert_eq!(
        net.writes.last().map(|w| w.0),
        Some(false),
        "{:?}",
        net.writes
    );
    // What was stored loads back to the same heads.
    net.disconnect("a");
    net.relay.handle(net.now + 60_000, Event::Tick);
    net.assert_newcomer_gets_heads_of("b", "a", id);
}

#[test]
fn idle_documents_unload_and_reload_from_storage() {
    let mut net = Net::with_clients(&["a"]);
    let id = doc_id(8);
    net.create("a", id, "persisted");
    net.edit_and_deliver("a", id, "n", 5);
    net.disconnect("a");
    let fx = net.relay.handle(net.now + 60_000, Event::Tick);
    assert_eq!(fx, vec![Effect::Unloaded { document: id }]);
    assert_eq!(net.relay.loaded_documents(), 0);
    net.assert_newcomer_gets_heads_of("b", "a", id);
}

#[test]
fn storage_failure_drops_peers_of_that_document_and_reports() {
    let mut net = Net::with_clients(&["a"]);
    let id = doc_id(9);
    net.hold_commits = true;
    net.create("a", id, "x");
    net.run();
    let (document, seq, _) = net.pending_commits.pop().unwrap();
    let fx = net.relay.handle(
        1,
        Event::PersistFailed {
            document,
            seq,
            reason: "disk full".into(),
        },
    );
    assert!(fx.iter().any(|e| matches!(e, Effect::Disconnect { .. })));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Notify(Notification::StorageFailed(..))))
    );
    assert_eq!(net.relay.loaded_documents(), 0);
}

#[test]
fn a_moved_document_is_unloaded_and_its_peers_told_to_reconnect() {
    let mut net = Net::with_clients(&["a", "b"]);
    let (moved, kept) = (doc_id(10), doc_id(11));
    net.create("a", moved, "x");
    net.create("b", kept, "y");
    net.run();
    let fx = net
        .relay
        .handle(net.now, Event::DocumentMoved { document: moved });
    let rejected: Vec<&PeerId> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Disconnect { peer, reason } => {
                assert!(reason.contains("moved to another relay node"));
                Some(peer)
            }
            _ => None,
        })
        .collect();
    assert_eq!(rejected, vec![&pid("a")]);
    assert!(fx.contains(&Effect::Unloaded { document: moved }));
    assert_eq!(net.relay.loaded_documents(), 1, "the other document stays");
    // Moving a document that is not loaded does nothing.
    assert!(
        net.relay
            .handle(net.now, Event::DocumentMoved { document: moved })
            .is_empty()
    );
}

#[derive(Debug, Clone)]
enum Step {
    Edit { client: usize, value: i64 },
    Toggle { client: usize },
    Deliver { count: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3usize, any::<i64>()).prop_map(|(client, value)| Step::Edit { client, value }),
        1 => (0..3usize).prop_map(|client| Step::Toggle { client }),
        2 => (1..20usize).prop_map(|count| Step::Deliver { count }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random edits on three replicas with random disconnects and partial
    /// delivery: once everyone is connected and the network drains, all agree.
    #[test]
    fn replicas_converge_after_random_edits_and_disconnects(steps in proptest::collection::vec(step(), 1..60), hold in any::<bool>()) {
        let names = ["a", "b", "c"];
        let mut net = Net::new();
        let id = doc_id(42);
        for name in names {
            net.add_client(name);
        }
        net.create("a", id, "start");
        net.run();
        net.open("b", id);
        net.open("c", id);
        net.run();
        let mut online = [true; 3];
        net.hold_commits = hold;
        for step in steps {
            match step {
                Step::Edit { client, value } => net.edit(names[client], id, names[client], value),
                Step::Toggle { client } => {
                    if online[client] { net.disconnect(names[client]); } else { net.connect(names[client]); }
                    online[client] = !online[client];
                }
                Step::Deliver { count } => {
                    for _ in 0..count {
                        net.deliver_one();
                    }
                    if hold { net.commit_all(); }
                }
            }
        }
        net.hold_commits = false;
        for (i, name) in names.iter().enumerate() {
            if !online[i] { net.connect(name); }
        }
        net.commit_all();
        net.run();
        let reference = net.heads("a", &id);
        prop_assert!(!reference.is_empty());
        for name in names {
            prop_assert_eq!(net.heads(name, &id), reference.clone());
        }
        for name in names {
            prop_assert!(net.clients[name].is_synced_with(&id, &pid(RELAY)), "{} never saw the relay confirm its heads", name);
        }
        let mut relay_heads = net.relay.document(&id).unwrap().get_heads();
        relay_heads.sort();
        prop_assert_eq!(relay_heads, reference);
    }
}
