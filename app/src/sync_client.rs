//! The browser side of sync: drives the shared engine, talks to the relay over
//! a WebSocket (binary automerge-repo v1 frames), writes persist effects to
//! IndexedDB in order, and reconnects with exponential backoff and jitter.
//!
//! Everything runs on the page's single thread; the client is reached through
//! [`client`] once [`boot`] has finished.
//!
//! This file holds the client, booting it, opening and removing
//! partnerships and the one path every local edit takes ([`Client::edit`],
//! [`Client::change`]) into the engine. By concern, the rest:
//! - `connection`: the relay socket, its handshake and reconnecting;
//! - `membership`: this person's party and member record in each
//!   partnership (attribution of changes), invites and joining;
//! - `beacons`: presence beacons sent and heard;
//! - `writer`: the IndexedDB write queue (group commit, tab sharing);
//! - `status`: the sync badge;
//! - `devices`: this person's other devices;
//! - `agreement`, `boards`, `carets`: per-page state kept with the client.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use accord_shared::automerge::transaction::{CommitOptions, Transactable, Transaction};
use accord_shared::automerge::{ActorId, Automerge, ChangeHash};
use accord_shared::engine::{Effect, Engine, EngineConfig, Event, Notification};
use accord_shared::ids::{DocumentId, PeerId};
use accord_shared::model::{self, OpError, overview, touched};
use accord_shared::protocol::PeerMetadata;
use futures_channel::mpsc::{UnboundedSender, unbounded};
use leptos::prelude::{GetUntracked, Set, Track, Update, WithUntracked, use_context};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;

use self::writer::Job;
use crate::api::{self, ApiError};
use crate::browser::{self, BrowserError, now_ms};
use crate::compaction_timing::CompactionTiming;
use crate::identity::{Identity, IdentityError, Profile};
use crate::saving::{self, Saver};
use crate::storage::{DB_NAME, DocRecord, Storage, StorageError};
use crate::store::{DocSummary, Store};

/// The device settings kept for one document, removed with it: the party
/// this device joined as, and (see `agreement`) the attested keys and the
/// last-seen version.
fn document_settings(id: &DocumentId) -> Vec<String> {
    vec![
        format!("{PARTY_KEY_PREFIX}{id}"),
        agreement::keys_key(id),
        agreement::seen_key(id),
    ]
}
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
    /// The document model refused an operation (its message says why).
    #[error("{0}")]
    Model(String),
    /// The partnership did not arrive from the relay in time.
    #[error("the relay did not send the partnership; try again when online")]
    NotReceived,
    /// The relay broke the protocol.
    #[error("relay protocol error: {0}")]
    Protocol(String),
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
    /// Durable heads per document and what to write next (see [`saving`]).
    saver: RefCell<Saver>,
    /// List entries and removals waiting for the writer, in order.
    jobs: RefCell<Vec<Job>>,
    /// Wakes the writer.
    kick: UnboundedSender<()>,
    /// True while a write transaction is open.
    writing: Cell<bool>,
    /// True while the "could not save" message is shown.
    write_failure_shown: Cell<bool>,
    /// The other tabs of this browser (see `writer`).
    tabs: Option<web_sys::BroadcastChannel>,
    /// The heads the relay last confirmed per document (kept in the list
    /// entry, so an offline start still knows what the relay holds).
    relay_heads: RefCell<HashMap<DocumentId, Vec<ChangeHash>>>,
    /// When a due compaction may run (edits, idle moments, visibility).
    compaction: RefCell<CompactionTiming>,
    /// Whether this session already said that offline work is kept.
    told_offline: Cell<bool>,
    /// Connected, and not yet caught up with the relay since.
    catching_up: Cell<bool>,
    /// Documents whose missing changes were already reported as lost.
    reported_missing: RefCell<HashSet<DocumentId>>,
    registering: Cell<bool>,
    /// Set when the browser reports the network back: skip the backoff.
    wake: Cell<bool>,
    /// This page session's Automerge actor (see [`Identity::session_actor`]).
    actor: ActorId,
    /// Random id of this tab, for presence.
    session: String,
    /// Sequence number of the next ephemeral message.
    ephemeral_count: Cell<u64>,
    /// Party per partnership for those joined through an invite.
    parties: RefCell<HashMap<DocumentId, String>>,
    /// Documents in which this session's actor is already tied to our member.
    attributed: RefCell<HashSet<DocumentId>>,
    /// The heads of each document when its views were last told of a
    /// change (see [`Self::document_changed`]).
    shown_heads: RefCell<HashMap<DocumentId, Vec<ChangeHash>>>,
}

/// One local change to a document, as [`Client::edit_with`] takes it.
pub type EditOp<'a> = Box<dyn FnOnce(&mut Transaction<'_>) -> Result<(), OpError> + 'a>;

impl From<OpError> for ClientError {
    fn from(error: OpError) -> Self {
        Self::Model(error.to_string())
    }
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
    let mut session = [0u8; 8];
    browser::random_bytes(&mut session)?;
    let storage = Storage::open(DB_NAME, &browser::hex(&session), now_ms()).await?;
    // Listen to the other tabs before reading storage, so no change they
    // store while this tab loads is missed.
    let tabs = writer::open_tabs_channel();
    let identity = Identity::load_or_create(&storage).await?;
    let profile = Profile::load(&storage).await?;
    // The home screen may have listed the device's partnerships and read
    // the profile before this chunk arrived, and the person may have typed
    // into it since: keep what they typed.
    if !store.listed.get_untracked() {
        store.profile.set(profile);
    }
    let actor = identity.session_actor(&session);

    let mut peer_bytes = [0u8; 8];
    browser::random_bytes(&mut peer_bytes)?;
    let peer_id: PeerId = format!("browser-{}", browser::hex(&peer_bytes))
        .parse()
        .map_err(|e| ClientError::Protocol(format!("{e}")))?;
    // The engine does not write: this tab's writer stores what it holds (see `writer`).
    let mut engine = Engine::new(
        peer_id,
        PeerMetadata::default(),
        EngineConfig::client(false),
    );
    let mut saver = Saver::default();
    let mut relay_heads = HashMap::new();

    let records = storage.records().await?;
    let mut summaries = Vec::with_capacity(records.len());
    let mut party_by_doc = HashMap::new();
    let mut opened = Vec::with_capacity(records.len());
    let now = now_ms();
    for record in &records {
        let Ok(id) = DocumentId::parse_url_or_id(&record.id) else {
            browser::log(&format!(
                "accord: skipping stored record with bad id {}",
                record.id
            ));
            continue;
        };
        if let Some(party) = storage.get_meta(&party_key(&id)).await? {
            party_by_doc.insert(id, party);
        }
        let chunks = storage.chunks(&id).await?;
        let mut unreadable = Vec::new();
        let doc = if chunks.is_empty() {
            None
        } else {
            let loaded = saving::load_chunks(&chunks);
            if !loaded.unreadable.is_empty() {
                store.report(format!(
                    "{} of the {} saved parts of partnership {id} could not be read; they are kept on this device, and the rest is open",
                    loaded.unreadable.len(),
                    chunks.len()
                ));
            }
            if loaded.missing > 0 {
                store.report(format!(
                    "Some changes saved on this device for partnership {id} build on {} changes that are not here; they are kept and will be asked for from the relay",
                    loaded.missing
                ));
            }
            unreadable.clone_from(&loaded.unreadable);
            Some(Box::new(loaded.doc.with_actor(actor.clone())))
        };
        saver.track(
            id,
            doc.as_deref().map(Automerge::get_heads).unwrap_or_default(),
        );
        // What compaction may replace with the document in memory.
        for (index, chunk) in chunks.iter().enumerate() {
            if !unreadable.contains(&index) {
                saver.holds(id, chunk);
            }
        }
        if let Some(heads) = record.relay_heads() {
            relay_heads.insert(id, heads);
        }
        let title = doc
            .as_deref()
            .map(overview::title)
            .unwrap_or_else(|| record.title.clone());
        summaries.push(DocSummary { id, title });
        // Offline at boot: no peers yet, so opening produces no effects.
        if doc.is_some() {
            opened.push(id);
        }
        let _ = engine.handle(now, Event::Open { document: id, doc });
    }

    let (kick, kicks) = unbounded();
    let client = Rc::new(Client {
        store,
        storage,
        origin: browser::origin()?,
        engine: RefCell::new(engine),
        identity: RefCell::new(identity),
        records: RefCell::new(records),
        link: RefCell::new(None),
        saver: RefCell::new(saver),
        jobs: RefCell::new(Vec::new()),
        kick,
        writing: Cell::new(false),
        write_failure_shown: Cell::new(false),
        tabs,
        relay_heads: RefCell::new(relay_heads),
        compaction: RefCell::new(CompactionTiming::default()),
        told_offline: Cell::new(false),
        catching_up: Cell::new(false),
        reported_missing: RefCell::new(HashSet::new()),
        registering: Cell::new(false),
        wake: Cell::new(false),
        actor,
        session: browser::hex(&session),
        ephemeral_count: Cell::new(0),
        parties: RefCell::new(party_by_doc),
        attributed: RefCell::new(HashSet::new()),
        shown_heads: RefCell::new(HashMap::new()),
    });
    CLIENT.with(|c| *c.borrow_mut() = Some(Rc::clone(&client)));
    // Bring documents written by older versions up to the current schema.
    for id in opened {
        if let Err(error) = client.edit(&id, |tx| model::migrate(tx, now_ms()).map(|_| ())) {
            store.report(format!("partnership {id} could not be upgraded: {error}"));
        }
    }
    store.docs.set(summaries);
    store.listed.set(true);
    // The badge counts what is kept on the device before any connection
    // attempt has ended (offline, none may ever end).
    client.refresh_status();
    store.ready.set(true);
    store.bump();
    writer::listen_to_tabs(&client)?;
    writer::guard_unload(&client)?;
    writer::watch_visibility(&client)?;
    spawn_local(Rc::clone(&client).run_writer(kicks));
    spawn_local(Rc::clone(&client).run_sync());
    spawn_local(Rc::clone(&client).run_presence());
    spawn_local(Rc::clone(&client).run_account_watch());
    let linked = !client.identity.borrow().account_keys().is_empty();
    if linked && !client.store.profile.with_untracked(Profile::is_complete) {
        let documents: Vec<DocumentId> = client
            .records
            .borrow()
            .iter()
            .filter_map(|r| DocumentId::parse_url_or_id(&r.id).ok())
            .collect();
        let adopting = Rc::clone(&client);
        spawn_local(async move { adopting.adopt_profile(documents).await });
    }
    let leaving = Rc::clone(&client);
    let on_pagehide = Closure::<dyn FnMut()>::new(move || leaving.announce(true));
    browser::window()?
        .add_event_listener_with_callback("pagehide", on_pagehide.as_ref().unchecked_ref())
        .map_err(BrowserError::from)?;
    // The listener lives as long as the page.
    on_pagehide.forget();
    // The browser knows before a dead socket times out: drop the connection
    // when it goes offline, reconnect as soon as it is back.
    for (name, online) in [("offline", false), ("online", true)] {
        let client = Rc::clone(&client);
        let listener = Closure::<dyn FnMut()>::new(move || client.network_changed(online));
        browser::window()?
            .add_event_listener_with_callback(name, listener.as_ref().unchecked_ref())
            .map_err(BrowserError::from)?;
        listener.forget();
    }
    Ok(client)
}

impl Client {
    /// The reactive state this client updates.
    pub fn store(&self) -> Store {
        self.store
    }

    /// The partnership's title; `None` while it is not open on this device.
    pub fn title(&self, id: &DocumentId) -> Option<String> {
        self.read_doc(id, overview::title)
    }

    /// This device's key for its health-check answer as `member` in `round`
    /// (see [`Identity::health_answer_key`]).
    pub fn health_answer_key(
        &self,
        round: accord_shared::model::ItemId,
        member: accord_shared::model::MemberId,
    ) -> accord_shared::model::health::AnswerKey {
        self.identity.borrow().health_answer_key(round, member)
    }

    /// The partnership's lifecycle stage.
    pub fn stage(&self, id: &DocumentId) -> Option<overview::Stage> {
        self.engine.borrow().document(id).map(overview::stage)
    }

    /// True once the document has content on this device (not just requested).
    pub fn has_content(&self, id: &DocumentId) -> bool {
        self.engine
            .borrow()
            .document(id)
            .is_some_and(|doc| model::schema::version(doc).is_some() || !doc.get_heads().is_empty())
    }

    /// True when this device joined `id` with a viewer invite: the relay
    /// discards its changes, so the UI offers no editing.
    pub fn is_viewer(&self, id: &DocumentId) -> bool {
        let text = id.to_string();
        self.records
            .borrow()
            .iter()
            .any(|r| r.id == text && r.role == Some(api::Role::Viewer))
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

    /// Creates a partnership document, stores it, claims it on the relay
    /// (best effort: offline, the first sync publishes it) and starts syncing it.
    pub async fn create_partnership(
        self: &Rc<Self>,
        title: &str,
    ) -> Result<DocumentId, ClientError> {
        let mut bytes = [0u8; 16];
        browser::random_bytes(&mut bytes)?;
        let id = DocumentId::generate(bytes);
        let mut doc = Automerge::new().with_actor(self.actor.clone());
        let mut tx = doc.transaction();
        let made = model::init(&mut tx, title, now_ms())
            .map_err(ClientError::from)
            .and_then(|()| self.attribute(&mut tx, &id, &self.party_for(&id), true));
        if let Err(error) = made {
            tx.rollback();
            return Err(error);
        }
        tx.commit_with(commit_options());
        self.attributed.borrow_mut().insert(id);
        let mut record = DocRecord {
            id: id.to_string(),
            title: title.to_owned(),
            added_at: now_ms(),
            claimed: false,
            role: Some(api::Role::Owner),
            relay_heads: None,
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
        // Nothing of it is stored yet: the writer's next batch holds it all.
        self.saver.borrow_mut().track(id, Vec::new());
        self.handle(Event::Open {
            document: id,
            doc: Some(Box::new(doc)),
        });
        self.kick();
        Ok(id)
    }

    /// Removes a partnership from this device only: stops syncing it, then
    /// deletes its stored chunks and list entry through the write queue (after
    /// any writes already queued for it). The relay's copy is untouched.
    pub fn remove_partnership(&self, id: &DocumentId) {
        self.handle(Event::Close { document: *id });
        self.saver.borrow_mut().forget(id);
        self.relay_heads.borrow_mut().remove(id);
        let text = id.to_string();
        self.records.borrow_mut().retain(|r| r.id != text);
        self.attributed.borrow_mut().remove(id);
        self.store.docs.update(|docs| docs.retain(|d| d.id != *id));
        if self
            .store
            .here
            .get_untracked()
            .is_some_and(|here| here.document == *id)
        {
            self.store.here.set(None);
        }
        self.enqueue(Job::Delete(*id, document_settings(id)));
        self.refresh_status();
    }

    async fn claim(&self, id: &DocumentId) -> Result<(), ClientError> {
        let token = self.token().await?;
        let party = self.party_for(id);
        api::claim_document(&self.origin, &token, &id.to_string(), &party).await?;
        Ok(())
    }

    /// Reads an open document; `None` when it is not open on this device.
    pub fn read_doc<R>(&self, id: &DocumentId, read: impl FnOnce(&Automerge) -> R) -> Option<R> {
        self.engine.borrow().document(id).map(read)
    }

    /// Applies `edit` to an open document as one local change, then syncs
    /// and persists it like [`Self::edit`]. When `edit` fails, or
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
        self.document_changed(id);
        if let Some(title) = self.title(id) {
            self.title_changed(id, &title);
        }
        Ok(value)
    }

    /// Runs `op` on an open document as one local change, attributed to this
    /// device's member; commits, persists and syncs it. When `op` fails or
    /// writes nothing, the transaction is rolled back.
    ///
    /// Only this wrapper is generic (one small copy per call site); the
    /// transaction, commit and save are [`Self::edit_with`], compiled once.
    pub fn edit(
        &self,
        id: &DocumentId,
        op: impl FnOnce(&mut Transaction<'_>) -> Result<(), OpError>,
    ) -> Result<(), ClientError> {
        self.edit_with(id, Box::new(op))
    }

    /// [`Self::edit`] with the op behind a pointer: the one copy of the
    /// transaction, attribution, commit and save logic.
    pub fn edit_with(&self, id: &DocumentId, op: EditOp<'_>) -> Result<(), ClientError> {
        let party = self.party_for(id);
        let first = !self.attributed.borrow().contains(id);
        {
            let mut engine = self.engine.borrow_mut();
            let doc = engine.document_mut(id).ok_or(ClientError::NotOpen(*id))?;
            if doc.get_actor() != &self.actor {
                doc.set_actor(self.actor.clone());
            }
            let mut tx = doc.transaction();
            let result = op(&mut tx).map_err(ClientError::from).and_then(|()| {
                let wrote = tx.pending_ops() > 0;
                if wrote && first {
                    self.attribute(&mut tx, id, &party, true)
                } else {
                    Ok(())
                }
            });
            match result {
                Ok(()) if tx.pending_ops() > 0 => {
                    tx.commit_with(commit_options());
                }
                Ok(()) => {
                    tx.rollback();
                    return Ok(());
                }
                Err(error) => {
                    tx.rollback();
                    return Err(error);
                }
            }
        }
        if first {
            self.attributed.borrow_mut().insert(*id);
        }
        self.handle(Event::LocalChange { document: *id });
        self.document_changed(id);
        if let Some(title) = self.title(id) {
            self.title_changed(id, &title);
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
        self.enqueue(Job::Record(record));
    }

    /// The relay confirmed it holds `heads` of `id`: remember them in the
    /// list entry, so the count of changes kept only on this device is right
    /// after an offline start too.
    fn relay_confirmed(&self, id: &DocumentId, heads: Vec<ChangeHash>) {
        let text = id.to_string();
        let record = self.records.borrow().iter().find(|r| r.id == text).cloned();
        if let Some(mut record) = record {
            record.set_relay_heads(&heads);
            self.save_record(record);
        }
        self.relay_heads.borrow_mut().insert(*id, heads);
    }

    /// Once the relay holds everything it can give, changes that stored
    /// changes build on and that are still missing are lost for good: say so
    /// once per document.
    fn report_unrecoverable(&self, facts: &HashMap<DocumentId, status::DocFacts>, connected: bool) {
        if !connected {
            return;
        }
        let relay = self.link.borrow().as_ref().map(|l| l.relay.clone());
        let Some(relay) = relay else {
            return;
        };
        for (id, facts) in facts {
            if facts.missing == 0
                || facts.not_on_relay != 0
                || !self.engine.borrow().is_synced_with(id, &relay)
                || !self.reported_missing.borrow_mut().insert(*id)
            {
                continue;
            }
            self.store.report(format!(
                "Partnership {id}: {} changes that changes saved on this device build on are neither here nor on the relay; those changes are kept on this device but cannot be shown",
                facts.missing
            ));
        }
    }

    /// A document changed other than by this tab's own edit (another tab):
    /// send it on and re-render, as for a change from the relay.
    fn changed_elsewhere(&self, id: DocumentId) {
        let effects = self
            .engine
            .borrow_mut()
            .handle(now_ms(), Event::LocalChange { document: id });
        for effect in effects {
            self.apply(effect);
        }
        self.document_changed(&id);
        if let Some(title) = self.title(&id) {
            self.title_changed(&id, &title);
        }
        self.refresh_status();
    }

    /// Tells the views of `id` what changed since they were last told: the
    /// places the new changes wrote (see [`crate::record_signals`]), or
    /// everything the first time.
    pub(crate) fn document_changed(&self, id: &DocumentId) {
        let touched = {
            let engine = self.engine.borrow();
            let Some(doc) = engine.document(id) else {
                drop(engine);
                self.store.bump();
                return;
            };
            let heads = doc.get_heads();
            match self.shown_heads.borrow_mut().insert(*id, heads) {
                Some(before) => touched::since(doc, &before),
                None => touched::Touched::Everything,
            }
        };
        self.store.changed(id, &touched);
    }

    /// Feeds one event to the engine and carries out its effects. After the
    /// first local change to a document in this session (whoever made it, e.g.
    /// [`Self::change`]), this tab's actor is tied to our member there.
    fn handle(&self, event: Event) {
        let local = match &event {
            Event::LocalChange { document } => Some(*document),
            _ => None,
        };
        let effects = self.engine.borrow_mut().handle(now_ms(), event);
        for effect in effects {
            self.apply(effect);
        }
        if local.is_some() {
            self.compaction.borrow_mut().edited(now_ms());
            self.kick();
        }
        self.refresh_status();
        if let Some(id) = local.filter(|id| !self.attributed.borrow().contains(id)) {
            let party = self.party_for(&id);
            if let Err(error) = self.change_member(&id, &party) {
                browser::log(&format!(
                    "accord: cannot record this device in {id}: {error}"
                ));
            }
        }
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
            Effect::Persist { document, .. } => {
                // Not produced: the engine runs without persistence here.
                browser::log(&format!(
                    "accord: unexpected persist request for {document}"
                ));
            }
            Effect::Load { document } => {
                browser::log(&format!("accord: unexpected load request for {document}"));
            }
            Effect::Unloaded { .. } | Effect::Notify(Notification::PeerHeadsChanged(..)) => {}
            Effect::Notify(Notification::Ephemeral(message)) => self.heard(&message),
            Effect::Notify(Notification::Changed(id)) => {
                // A document first received from the relay has a random actor:
                // make local edits use this tab's actor, which is attributable.
                if let Some(doc) = self.engine.borrow_mut().document_mut(&id)
                    && doc.get_actor() != &self.actor
                {
                    doc.set_actor(self.actor.clone());
                }
                self.document_changed(&id);
                self.kick();
                if let Some(title) = self.title(&id) {
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
}

/// What `held` keeps for `document` (this tab's place on a board, its
/// caret in a clause), if it keeps anything for that partnership.
fn held_for<T: Clone>(
    held: &std::cell::RefCell<Option<(DocumentId, T)>>,
    document: &DocumentId,
) -> Option<T> {
    held.borrow()
        .as_ref()
        .filter(|(d, _)| d == document)
        .map(|(_, kept)| kept.clone())
}

fn random_id() -> Result<[u8; 16], ClientError> {
    let mut bytes = [0u8; 16];
    browser::random_bytes(&mut bytes)?;
    Ok(bytes)
}

fn commit_options() -> CommitOptions {
    CommitOptions::default().with_time(i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX))
}

impl ClientError {
    /// True when the relay was simply unreachable (retry later).
    pub fn is_offline(&self) -> bool {
        match self {
            Self::Api(e) | Self::Identity(IdentityError::Api(e)) => e.is_network(),
            _ => false,
        }
    }
}

mod agreement;
mod beacons;
mod boards;
mod carets;
mod connection;
mod devices;
mod membership;
mod status;
mod writer;

pub use self::connection::backoff_ms;
use self::connection::{Link, is_offline};
use self::membership::{JOIN_WAIT_MS, PARTY_KEY_PREFIX, party_key};

/// The CSS colour of `organization` in partnership `id`: the colour stored
/// for its party, or one derived from the name while it has none here.
/// Inside a reactive closure it re-runs when the document changes (a party
/// arriving by sync, say).
pub fn party_colour(id: &DocumentId, organization: &str) -> &'static str {
    if let Some(store) = use_context::<Store>() {
        store.revision.track();
    }
    let parties = client().map(|c| c.party_colours(id)).unwrap_or_default();
    crate::presence::party_colour(&parties, organization)
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
