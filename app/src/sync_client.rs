//! The browser side of sync: drives the shared engine, talks to the relay over
//! a WebSocket (binary automerge-repo v1 frames), writes persist effects to
//! IndexedDB in order, and reconnects with exponential backoff and jitter.
//!
//! Everything runs on the page's single thread; the client is reached through
//! [`client`] once [`boot`] has finished.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use accord_shared::automerge::transaction::{CommitOptions, Transactable, Transaction};
use accord_shared::automerge::{Automerge, ROOT};
use accord_shared::engine::{Access, Effect, Engine, EngineConfig, Event, Notification, Write};
use accord_shared::ids::{DocumentId, PeerId};
use accord_shared::protocol::{Message, PROTOCOL_VERSION, PeerMetadata, decode, encode};
use futures_channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures_util::StreamExt;
use leptos::prelude::{GetUntracked, Set, Update};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use crate::api::{self, ApiError};
use crate::browser::{self, BrowserError, describe, now_ms};
use crate::identity::{Identity, IdentityError};
use crate::storage::{DB_NAME, DocRecord, Storage, StorageError};
use crate::store::{DocSummary, Store, SyncStatus, root_string};

/// Meta key of the organization name.
const ORGANIZATION_KEY: &str = "organization";
/// Party used when the user has not named their organization.
pub const DEFAULT_ORGANIZATION: &str = "My organization";
/// Shortest and longest wait between reconnect attempts.
const BACKOFF_MIN_MS: u32 = 500;
const BACKOFF_MAX_MS: u32 = 30_000;

/// Why a client operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// IndexedDB failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The device identity could not be loaded or registered.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// A browser API failed.
    #[error(transparent)]
    Browser(#[from] BrowserError),
    /// The relay's HTTP API refused or was unreachable.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The document is not open on this device.
    #[error("partnership {0} is not open on this device")]
    NotOpen(DocumentId),
    /// Automerge refused an edit.
    #[error("edit failed: {0}")]
    Edit(String),
    /// The relay broke the protocol.
    #[error("relay protocol error: {0}")]
    Protocol(String),
}

/// A storage write, carried out strictly in the order queued.
#[derive(Debug)]
enum WriteJob {
    Chunk(DocumentId, Write),
    Record(DocRecord),
}

/// The live connection after a successful handshake.
struct Link {
    socket: WebSocket,
    relay: PeerId,
}

/// What the socket callbacks report to the connection task.
enum SocketEvent {
    Open,
    Frame(Vec<u8>),
    Text,
    Closed { code: u16, reason: String },
}

/// The sync client. See the module docs.
pub struct Client {
    store: Store,
    storage: Storage,
    origin: String,
    engine: RefCell<Engine>,
    identity: RefCell<Identity>,
    records: RefCell<Vec<DocRecord>>,
    link: RefCell<Option<Link>>,
    writes: UnboundedSender<WriteJob>,
    pending_writes: Cell<usize>,
    registering: Cell<bool>,
}

thread_local! {
    static CLIENT: RefCell<Option<Rc<Client>>> = const { RefCell::new(None) };
}

/// The running client, once [`boot`] has finished.
pub fn client() -> Option<Rc<Client>> {
    CLIENT.with(|c| c.borrow().clone())
}

/// Opens storage, loads the identity and every stored partnership, then starts
/// the storage writer and the relay connection loop.
pub async fn boot(store: Store) -> Result<Rc<Client>, ClientError> {
    let storage = Storage::open(DB_NAME).await?;
    let identity = Identity::load_or_create(&storage).await?;
    let organization = storage
        .get_meta(ORGANIZATION_KEY)
        .await?
        .unwrap_or_else(|| DEFAULT_ORGANIZATION.to_owned());
    store.organization.set(organization);

    let mut peer_bytes = [0u8; 8];
    browser::random_bytes(&mut peer_bytes)?;
    let peer_id: PeerId = format!("browser-{}", browser::hex(&peer_bytes))
        .parse()
        .map_err(|e| ClientError::Protocol(format!("{e}")))?;
    let mut engine = Engine::new(peer_id, PeerMetadata::default(), EngineConfig::client(true));

    let records = storage.records().await?;
    let mut summaries = Vec::with_capacity(records.len());
    let now = now_ms();
    for record in &records {
        let Ok(id) = DocumentId::parse_url_or_id(&record.id) else {
            browser::log(&format!(
                "accord: skipping stored record with bad id {}",
                record.id
            ));
            continue;
        };
        let doc = match storage.load(&id).await? {
            Some(bytes) => match Automerge::load(&bytes) {
                Ok(doc) => Some(Box::new(doc)),
                Err(error) => {
                    store.report(format!("stored partnership {id} does not load: {error}"));
                    continue;
                }
            },
            None => None,
        };
        let title = doc
            .as_deref()
            .map(|d| root_string(d, "title"))
            .unwrap_or_else(|| record.title.clone());
        summaries.push(DocSummary { id, title });
        // Offline at boot: no peers yet, so opening produces no effects.
        let _ = engine.handle(now, Event::Open { document: id, doc });
    }

    let (writes, queue) = unbounded();
    let client = Rc::new(Client {
        store,
        storage,
        origin: browser::origin()?,
        engine: RefCell::new(engine),
        identity: RefCell::new(identity),
        records: RefCell::new(records),
        link: RefCell::new(None),
        writes,
        pending_writes: Cell::new(0),
        registering: Cell::new(false),
    });
    CLIENT.with(|c| *c.borrow_mut() = Some(Rc::clone(&client)));
    store.docs.set(summaries);
    store.ready.set(true);
    store.bump();
    spawn_local(Rc::clone(&client).run_writer(queue));
    spawn_local(Rc::clone(&client).run_sync());
    Ok(client)
}

/// Delay before reconnect attempt number `attempt` (0-based): exponential from
/// [`BACKOFF_MIN_MS`] up to [`BACKOFF_MAX_MS`], with "equal jitter" — a random
/// point in the upper half of the window — given `unit` in `[0, 1)`.
pub fn backoff_ms(attempt: u32, unit: f64) -> u32 {
    let window = BACKOFF_MIN_MS
        .saturating_mul(1u32 << attempt.min(16))
        .min(BACKOFF_MAX_MS);
    let half = window / 2;
    let jitter = (f64::from(half) * unit.clamp(0.0, 1.0)) as u32;
    half + jitter.min(half)
}

impl Client {
    /// The reactive state this client updates.
    pub fn store(&self) -> Store {
        self.store
    }

    /// Reads a string field at the root of an open document.
    pub fn field(&self, id: &DocumentId, key: &str) -> Option<String> {
        self.engine
            .borrow()
            .document(id)
            .map(|doc| root_string(doc, key))
    }

    /// The relay's token, registering this device first if needed.
    /// Concurrent callers wait for one registration instead of racing.
    async fn token(&self) -> Result<String, ClientError> {
        while self.registering.get() {
            browser::sleep(50).await;
        }
        if let Some(registration) = self.identity.borrow().registration() {
            return Ok(registration.token.clone());
        }
        self.registering.set(true);
        let mut identity = self.identity.borrow().clone();
        let result = identity
            .ensure_registered(&self.storage, &self.origin)
            .await;
        if result.is_ok() {
            *self.identity.borrow_mut() = identity;
        }
        self.registering.set(false);
        Ok(result?.token)
    }

    /// Sets the organization name used for new partnerships, and stores it.
    pub async fn set_organization(&self, name: &str) -> Result<(), ClientError> {
        self.store.organization.set(name.to_owned());
        self.storage.put_meta(ORGANIZATION_KEY, name).await?;
        Ok(())
    }

    /// Creates a partnership document, stores it, claims it on the relay
    /// (best effort: offline, the first sync publishes it) and starts syncing it.
    pub async fn create_partnership(
        self: &Rc<Self>,
        title: &str,
    ) -> Result<DocumentId, ClientError> {
        let mut bytes = [0u8; 16];
        browser::random_bytes(&mut bytes)?;
        let id = DocumentId::from_bytes(bytes);
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        tx.put(ROOT, "schema", 1_u64)
            .map_err(|e| ClientError::Edit(e.to_string()))?;
        tx.put(ROOT, "title", title)
            .map_err(|e| ClientError::Edit(e.to_string()))?;
        tx.put(ROOT, "purpose", "")
            .map_err(|e| ClientError::Edit(e.to_string()))?;
        tx.commit_with(commit_options());
        self.storage.replace(&id, &doc.save()).await?;
        let mut record = DocRecord {
            id: id.to_string(),
            title: title.to_owned(),
            added_at: now_ms(),
            claimed: false,
        };
        self.storage.put_record(&record).await?;
        self.records.borrow_mut().push(record.clone());
        self.store.docs.update(|docs| {
            docs.push(DocSummary {
                id,
                title: title.to_owned(),
            })
        });

        match self.claim(&id).await {
            Ok(()) => {
                record.claimed = true;
                self.save_record(record);
            }
            Err(error) if is_offline(&error) => {
                browser::log(&format!("accord: claim of {id} deferred: {error}"))
            }
            Err(error) => self.store.report(format!(
                "could not claim the new partnership on the relay: {error}"
            )),
        }
        self.handle(Event::Open {
            document: id,
            doc: Some(Box::new(doc)),
        });
        Ok(id)
    }

    async fn claim(&self, id: &DocumentId) -> Result<(), ClientError> {
        let token = self.token().await?;
        let party = self.store.organization.get_untracked();
        let party = if party.trim().is_empty() {
            DEFAULT_ORGANIZATION.to_owned()
        } else {
            party
        };
        api::claim_document(&self.origin, &token, &id.to_string(), &party).await?;
        Ok(())
    }

    /// Reads an open document; `None` when it is not open on this device.
    pub fn read_doc<R>(&self, id: &DocumentId, read: impl FnOnce(&Automerge) -> R) -> Option<R> {
        self.engine.borrow().document(id).map(read)
    }

    /// Applies `edit` to an open document as one local change, then syncs
    /// and persists it like [`Self::set_field`]. When `edit` fails, or
    /// writes nothing, the transaction is rolled back and nothing is sent.
    pub fn change<R, E: From<ClientError>>(
        &self,
        id: &DocumentId,
        edit: impl FnOnce(&mut Transaction<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        let value = {
            let mut engine = self.engine.borrow_mut();
            let doc = engine.document_mut(id).ok_or(ClientError::NotOpen(*id))?;
            let mut tx = doc.transaction();
            match edit(&mut tx) {
                Ok(value) if tx.pending_ops() > 0 => {
                    tx.commit_with(commit_options());
                    value
                }
                Ok(value) => {
                    tx.rollback();
                    return Ok(value);
                }
                Err(error) => {
                    tx.rollback();
                    return Err(error);
                }
            }
        };
        self.handle(Event::LocalChange { document: *id });
        self.store.bump();
        if let Some(title) = self.field(id, "title") {
            self.title_changed(id, &title);
        }
        Ok(value)
    }

    /// Sets a string field at the document's root as one local change.
    pub fn set_field(&self, id: &DocumentId, key: &str, value: &str) -> Result<(), ClientError> {
        {
            let mut engine = self.engine.borrow_mut();
            let doc = engine.document_mut(id).ok_or(ClientError::NotOpen(*id))?;
            let mut tx = doc.transaction();
            tx.put(ROOT, key, value)
                .map_err(|e| ClientError::Edit(e.to_string()))?;
            tx.commit_with(commit_options());
        }
        self.handle(Event::LocalChange { document: *id });
        self.store.bump();
        if key == "title" {
            self.title_changed(id, value);
        }
        Ok(())
    }

    fn title_changed(&self, id: &DocumentId, title: &str) {
        self.store.set_title(id, title);
        let text = id.to_string();
        let record = {
            let mut records = self.records.borrow_mut();
            let Some(record) = records.iter_mut().find(|r| r.id == text) else {
                return;
            };
            if record.title == title {
                return;
            }
            title.clone_into(&mut record.title);
            record.clone()
        };
        self.save_record(record);
    }

    fn save_record(&self, record: DocRecord) {
        if let Some(slot) = self
            .records
            .borrow_mut()
            .iter_mut()
            .find(|r| r.id == record.id)
        {
            *slot = record.clone();
        }
        self.enqueue(WriteJob::Record(record));
    }

    fn enqueue(&self, job: WriteJob) {
        self.pending_writes.set(self.pending_writes.get() + 1);
        if self.writes.unbounded_send(job).is_err() {
            self.pending_writes
                .set(self.pending_writes.get().saturating_sub(1));
            self.store
                .report("storage writer stopped; changes are no longer saved on this device");
        }
    }

    /// Feeds one event to the engine and carries out its effects.
    fn handle(&self, event: Event) {
        let effects = self.engine.borrow_mut().handle(now_ms(), event);
        for effect in effects {
            self.apply(effect);
        }
        self.refresh_status();
    }

    fn apply(&self, effect: Effect) {
        match effect {
            Effect::Send { to, message } => self.send(&to, &message),
            Effect::Disconnect { peer, reason } => {
                browser::log(&format!("accord: closing connection to {peer}: {reason}"));
                if let Some(link) = self.link.borrow().as_ref().filter(|l| l.relay == peer) {
                    let _ = link.socket.close();
                }
            }
            Effect::Persist {
                document, write, ..
            } => self.enqueue(WriteJob::Chunk(document, write)),
            Effect::Load { document } => {
                browser::log(&format!("accord: unexpected load request for {document}"));
            }
            Effect::Unloaded { .. }
            | Effect::Notify(Notification::PeerHeadsChanged(..) | Notification::Ephemeral(_)) => {}
            Effect::Notify(Notification::Changed(id)) => {
                self.store.bump();
                if let Some(title) = self.field(&id, "title") {
                    self.title_changed(&id, &title);
                }
            }
            Effect::Notify(Notification::Unavailable(id)) => {
                browser::log(&format!("accord: relay does not have {id}"));
            }
            Effect::Notify(Notification::StorageFailed(id, reason)) => {
                self.store
                    .report(format!("storage failed for {id}: {reason}"));
            }
        }
    }

    fn send(&self, to: &PeerId, message: &Message) {
        let link = self.link.borrow();
        let Some(link) = link.as_ref().filter(|l| l.relay == *to) else {
            return;
        };
        if let Err(error) = link.socket.send_with_u8_array(&encode(message)) {
            browser::log(&format!(
                "accord: send of {} failed: {}",
                message.type_name(),
                describe(&error)
            ));
        }
    }

    fn refresh_status(&self) {
        let status = match self.link.borrow().as_ref() {
            None => SyncStatus::Offline,
            Some(link) => {
                let engine = self.engine.borrow();
                let mut all_synced = true;
                let mut unsynced = 0;
                for id in engine.documents() {
                    if !engine.is_synced_with(id, &link.relay) {
                        all_synced = false;
                        unsynced += engine.changes_not_on(id, &link.relay);
                    }
                }
                if all_synced && self.pending_writes.get() == 0 {
                    SyncStatus::Saved
                } else {
                    SyncStatus::Syncing(unsynced.max(usize::from(!all_synced)))
                }
            }
        };
        if self.store.status.get_untracked() != status {
            self.store.status.set(status);
        }
    }

    async fn run_writer(self: Rc<Self>, mut queue: UnboundedReceiver<WriteJob>) {
        while let Some(job) = queue.next().await {
            let result = match &job {
                WriteJob::Chunk(id, write) => self.storage.write(id, write).await,
                WriteJob::Record(record) => self.storage.put_record(record).await,
            };
            if let Err(error) = result {
                self.store
                    .report(format!("could not save to this device: {error}"));
            }
            self.pending_writes
                .set(self.pending_writes.get().saturating_sub(1));
            self.refresh_status();
        }
    }

    async fn run_sync(self: Rc<Self>) {
        let mut attempt: u32 = 0;
        loop {
            match self.token().await {
                Ok(token) => match self.connect_once(&token).await {
                    Ok(true) => attempt = 0,
                    Ok(false) => {}
                    Err(error) => browser::log(&format!("accord: connection ended: {error}")),
                },
                Err(error) if is_offline(&error) => {}
                Err(error) => self.store.report(format!(
                    "cannot register this device with the relay: {error}"
                )),
            }
            let delay = backoff_ms(attempt, browser::random_unit());
            attempt = attempt.saturating_add(1);
            browser::sleep(delay).await;
        }
    }

    /// One connection: handshake, then frames until the socket closes.
    /// Returns whether the handshake completed.
    async fn connect_once(self: &Rc<Self>, token: &str) -> Result<bool, ClientError> {
        let socket =
            WebSocket::new(&browser::sync_url(&self.origin, token)).map_err(BrowserError::from)?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let (events, mut inbox) = unbounded::<SocketEvent>();

        let on_open = Closure::<dyn FnMut()>::new({
            let events = events.clone();
            move || {
                let _ = events.unbounded_send(SocketEvent::Open);
            }
        });
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new({
            let events = events.clone();
            move |event: MessageEvent| {
                let item = match event.data().dyn_into::<js_sys::ArrayBuffer>() {
                    Ok(buffer) => SocketEvent::Frame(js_sys::Uint8Array::new(&buffer).to_vec()),
                    Err(_) => SocketEvent::Text,
                };
                let _ = events.unbounded_send(item);
            }
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            let _ = events.unbounded_send(SocketEvent::Closed {
                code: event.code(),
                reason: event.reason(),
            });
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));

        let result = self.pump(&socket, &mut inbox).await;

        socket.set_onopen(None);
        socket.set_onmessage(None);
        socket.set_onclose(None);
        let _ = socket.close();
        let relay = self.link.borrow_mut().take().map(|l| l.relay);
        if let Some(peer) = relay {
            self.handle(Event::PeerDisconnected { peer });
            result.map(|()| true)
        } else {
            self.refresh_status();
            result.map(|()| false)
        }
    }

    async fn pump(
        self: &Rc<Self>,
        socket: &WebSocket,
        inbox: &mut UnboundedReceiver<SocketEvent>,
    ) -> Result<(), ClientError> {
        let mut relay: Option<PeerId> = None;
        while let Some(event) = inbox.next().await {
            match event {
                SocketEvent::Open => {
                    let join = Message::Join {
                        sender_id: self.engine.borrow().peer_id().clone(),
                        supported_protocol_versions: vec![PROTOCOL_VERSION.to_owned()],
                        metadata: Some(self.engine.borrow().metadata().clone()),
                    };
                    socket
                        .send_with_u8_array(&encode(&join))
                        .map_err(BrowserError::from)?;
                }
                SocketEvent::Text => {
                    return Err(ClientError::Protocol("text frame from relay".into()));
                }
                SocketEvent::Closed { code, reason } => {
                    browser::log(&format!(
                        "accord: relay connection closed ({code}) {reason}"
                    ));
                    return Ok(());
                }
                SocketEvent::Frame(bytes) => {
                    let message =
                        decode(&bytes).map_err(|e| ClientError::Protocol(e.to_string()))?;
                    match (message, &relay) {
                        (
                            Message::Peer {
                                sender_id,
                                metadata,
                                ..
                            },
                            None,
                        ) => {
                            relay = Some(sender_id.clone());
                            *self.link.borrow_mut() = Some(Link {
                                socket: socket.clone(),
                                relay: sender_id.clone(),
                            });
                            self.handle(Event::PeerConnected {
                                peer: sender_id,
                                metadata,
                            });
                        }
                        (Message::Error { message }, _) => {
                            return Err(ClientError::Protocol(message));
                        }
                        (message, Some(from)) => {
                            let from = from.clone();
                            self.handle(Event::Message {
                                from,
                                message,
                                access: Access::Write,
                            });
                        }
                        (message, None) => {
                            return Err(ClientError::Protocol(format!(
                                "{} before the handshake",
                                message.type_name()
                            )));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn commit_options() -> CommitOptions {
    CommitOptions::default().with_time(i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX))
}

fn is_offline(error: &ClientError) -> bool {
    match error {
        ClientError::Api(e) | ClientError::Identity(IdentityError::Api(e)) => e.is_network(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_stays_in_the_upper_half() {
        assert_eq!(backoff_ms(0, 0.0), 250);
        assert_eq!(backoff_ms(0, 0.999), 499);
        assert_eq!(backoff_ms(1, 0.0), 500);
        assert_eq!(backoff_ms(3, 0.5), 3_000);
        for attempt in [10, 20, u32::MAX] {
            let d = backoff_ms(attempt, 1.0);
            assert!((15_000..=30_000).contains(&d), "{d}");
        }
    }
}
