//! The browser side of sync: drives the shared engine, talks to the relay over
//! a WebSocket (binary automerge-repo v1 frames), writes persist effects to
//! IndexedDB in order, and reconnects with exponential backoff and jitter.
//!
//! Everything runs on the page's single thread; the client is reached through
//! [`client`] once [`boot`] has finished.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use accord_shared::automerge::transaction::{CommitOptions, Transactable, Transaction};
use accord_shared::automerge::{ActorId, Automerge, ChangeHash};
use accord_shared::engine::{Access, Effect, Engine, EngineConfig, Event, Notification};
use accord_shared::ids::{DocumentId, PeerId};
use accord_shared::model::members::{self, NewMember};
use accord_shared::model::parties::{self, NewParty};
use accord_shared::model::{self, MemberId, OpError, PartyId, overview};
use accord_shared::protocol::{
    EphemeralMessage, Message, PROTOCOL_VERSION, PeerMetadata, decode, encode,
};
use futures_channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures_util::StreamExt;
use leptos::prelude::{
    GetUntracked, Notify, Set, Track, Update, UpdateUntracked, WithUntracked, use_context,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use self::writer::Job;
use crate::api::{self, ApiError};
use crate::browser::{self, BrowserError, describe, now_ms};
use crate::identity::{Identity, IdentityError, Profile};
use crate::presence::{self, Beacon, HEARTBEAT_MS};
use crate::saving::{self, Saver};
use crate::storage::{DB_NAME, DocRecord, Storage, StorageError};
use crate::store::{DocSummary, Store, root_string};

/// Meta key of the organization name kept by earlier versions (read once, into the profile).
const ORGANIZATION_KEY: &str = "organization";
/// Meta key prefix of the party this device acts for in one partnership
/// (set when joining through an invite; otherwise the profile's organization).
const PARTY_KEY_PREFIX: &str = "party:";

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
/// What a device whose token the relay no longer accepts (revoked from
/// another device of the account, or signed out) tells its person.
const REFUSED_TOKEN: &str = "The relay no longer accepts this device: it was revoked from another of your devices. Changes made here stay on this device but are not synced.";
/// How long joining waits for the relay to send the partnership.
const JOIN_WAIT_MS: u64 = 20_000;
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
    /// When this tab last made a local edit (ms since the epoch).
    last_edit: Cell<u64>,
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
    let mut profile = Profile::load(&storage).await?;
    if profile.organization.is_empty()
        && let Some(organization) = storage.get_meta(ORGANIZATION_KEY).await?
    {
        profile.organization = organization;
    }
    store.profile.set(profile);
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
            Some(Box::new(loaded.doc.with_actor(actor.clone())))
        };
        saver.track(
            id,
            doc.as_deref().map(Automerge::get_heads).unwrap_or_default(),
        );
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
        last_edit: Cell::new(0),
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
    });
    CLIENT.with(|c| *c.borrow_mut() = Some(Rc::clone(&client)));
    // Bring documents written by older versions up to the current schema.
    for id in opened {
        if let Err(error) = client.edit(&id, |tx| model::migrate(tx, now_ms()).map(|_| ())) {
            store.report(format!("partnership {id} could not be upgraded: {error}"));
        }
    }
    store.docs.set(summaries);
    // The badge counts what is kept on the device before any connection
    // attempt has ended (offline, none may ever end).
    client.refresh_status();
    store.ready.set(true);
    store.bump();
    writer::listen_to_tabs(&client)?;
    writer::guard_unload(&client)?;
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

    /// Reads a field of the overview (`title` or `purpose`, whichever Automerge
    /// type it is stored as) or another string at the root of an open document.
    pub fn field(&self, id: &DocumentId, key: &str) -> Option<String> {
        self.engine.borrow().document(id).map(|doc| match key {
            "title" => overview::title(doc),
            "purpose" => overview::purpose(doc),
            _ => root_string(doc, key),
        })
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

    /// Each party's name with the names of its current members.
    pub fn parties(&self, id: &DocumentId) -> Vec<(String, Vec<String>)> {
        let engine = self.engine.borrow();
        let Some(doc) = engine.document(id) else {
            return Vec::new();
        };
        let members = members::list(doc);
        parties::list(doc)
            .into_iter()
            .map(|party| {
                let names = members
                    .iter()
                    .filter(|m| m.party == Some(party.id) && m.left_at.is_none())
                    .map(|m| m.name.clone())
                    .collect();
                (party.name, names)
            })
            .collect()
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

    /// The organization this device acts for in `id` (for display).
    pub fn party_name(&self, id: &DocumentId) -> String {
        self.party_for(id)
    }

    /// The party this device acts for in `id`.
    fn party_for(&self, id: &DocumentId) -> String {
        self.parties
            .borrow()
            .get(id)
            .cloned()
            .unwrap_or_else(|| self.store.profile.get_untracked().party_name())
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

    /// Stores the member profile used for new partnerships and presence,
    /// and renames this person's member record in every partnership held
    /// here (where they can edit), so partners see the new name and title.
    pub async fn set_profile(&self, profile: Profile) -> Result<(), ClientError> {
        // The signal takes the new profile before anything is awaited, so
        // calls made in quick succession (one per field left) land in call
        // order and an earlier call finishing late never puts back a stale
        // profile over fields typed since.
        self.store.profile.set(profile.clone());
        profile.save(&self.storage).await?;
        let held: Vec<DocumentId> = self.engine.borrow().documents().copied().collect();
        for id in held {
            if self.is_viewer(&id) {
                continue;
            }
            if let Err(error) = self.rename_self(&id) {
                browser::log(&format!("accord: could not rename in {id}: {error}"));
            }
        }
        Ok(())
    }

    /// Brings this device's member record in `id` in line with the profile
    /// (name and title), as one change; nothing when they match, when the
    /// profile has no name yet or when this person is not a member.
    fn rename_self(&self, id: &DocumentId) -> Result<(), ClientError> {
        let profile = self.store.profile.get_untracked();
        let name = profile.name.trim().to_owned();
        if name.is_empty() {
            return Ok(());
        }
        let title = profile.title.trim().to_owned();
        let member = self.read_doc(id, |doc| self.my_member(doc, id));
        let Some(Some(member)) = member else {
            return Ok(());
        };
        if member.name == name && member.title == title {
            return Ok(());
        }
        self.edit(id, |tx| members::rename(tx, member.id, &name, &title))
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

    /// Sets the title or purpose of the overview as one local change. A blank
    /// title (mid-typing) is not saved: a partnership always has a name.
    pub fn set_field(&self, id: &DocumentId, key: &str, value: &str) -> Result<(), ClientError> {
        match key {
            "title" if value.trim().is_empty() => Ok(()),
            "title" => self.edit(id, |tx| overview::set_title(tx, value)),
            "purpose" => self.edit(id, |tx| overview::set_purpose(tx, value)),
            _ => Err(ClientError::Model(format!(
                "{key} is not an overview field"
            ))),
        }
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
        self.store.bump();
        if let Some(title) = self.field(id, "title") {
            self.title_changed(id, &title);
        }
        Ok(())
    }

    /// Makes sure this device's person is a member of `party` in the document
    /// (adding the party and the member if missing) and, with `device`, that
    /// this session's actor is registered to that member, so every change it
    /// makes is attributable. Does nothing on a document without a schema.
    fn attribute(
        &self,
        tx: &mut Transaction<'_>,
        id: &DocumentId,
        party: &str,
        device: bool,
    ) -> Result<(), ClientError> {
        if model::schema::version(tx).is_none() {
            return Ok(());
        }
        let public_key = self.identity.borrow().public_key_hex();
        let existing = self.my_member(&*tx, id);
        let member = match existing {
            Some(member) => {
                // Catch up with a profile changed while this partnership
                // was not open here.
                let profile = self.store.profile.get_untracked();
                let (name, title) = (profile.name.trim(), profile.title.trim());
                if !name.is_empty() && (member.name != name || member.title != title) {
                    members::rename(tx, member.id, name, title)?;
                }
                member.id
            }
            None => {
                let party_id = match parties::list(tx)
                    .into_iter()
                    .find(|p| p.name.trim().eq_ignore_ascii_case(party.trim()))
                {
                    Some(found) => found.id,
                    None => {
                        let id = PartyId::from_bytes(random_id()?);
                        let new = NewParty {
                            name: party.to_owned(),
                            ..NewParty::default()
                        };
                        parties::add(tx, id, &new)?;
                        id
                    }
                };
                let profile = self.store.profile.get_untracked();
                let id = MemberId::from_bytes(random_id()?);
                let new = NewMember {
                    name: profile.display_name(),
                    party: party_id,
                    title: profile.title.trim().to_owned(),
                    public_key: Some(public_key),
                };
                members::add(tx, id, &new)?;
                id
            }
        };
        if device && members::attribute(tx, &self.actor).is_none() {
            members::register_device(tx, &self.actor, member)?;
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
        self.store.bump();
        if let Some(title) = self.field(&id, "title") {
            self.title_changed(&id, &title);
        }
        self.refresh_status();
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
            self.last_edit.set(now_ms());
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
                self.store.bump();
                self.kick();
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

    async fn run_sync(self: Rc<Self>) {
        let mut attempt: u32 = 0;
        loop {
            let ticket = match self.token().await {
                Ok(token) => api::sync_ticket(&self.origin, &token)
                    .await
                    .map_err(ClientError::from),
                Err(error) => Err(error),
            };
            match ticket {
                Ok(ticket) => match self.connect_once(&ticket).await {
                    Ok(true) => attempt = 0,
                    Ok(false) => {}
                    Err(error) => browser::log(&format!("accord: connection ended: {error}")),
                },
                Err(error) if is_offline(&error) => {}
                Err(ClientError::Api(ApiError::Status { status: 401, .. })) => {
                    self.store.report(REFUSED_TOKEN);
                }
                Err(error) => self
                    .store
                    .report(format!("cannot connect to the relay: {error}")),
            }
            let delay = backoff_ms(attempt, browser::random_unit());
            attempt = attempt.saturating_add(1);
            // Wait out the backoff, but retry at once when the browser says
            // the network is back.
            let mut waited = 0;
            while waited < delay && !self.wake.replace(false) {
                let step = delay.saturating_sub(waited).min(250);
                browser::sleep(step).await;
                waited += step;
            }
        }
    }

    /// One connection: handshake, then frames until the socket closes.
    /// Returns whether the handshake completed.
    async fn connect_once(self: &Rc<Self>, ticket: &str) -> Result<bool, ClientError> {
        let socket =
            WebSocket::new(&browser::sync_url(&self.origin, ticket)).map_err(BrowserError::from)?;
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
                            self.catching_up.set(true);
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

/// Invites, joining and presence.
impl Client {
    /// Each party of `id` by name with the colour it shows in (empty while
    /// the partnership is not open on this device).
    pub fn party_colours(&self, id: &DocumentId) -> Vec<(String, parties::PartyColour)> {
        self.read_doc(id, |doc| {
            parties::list(doc)
                .into_iter()
                .map(|p| (p.name, p.colour))
                .collect()
        })
        .unwrap_or_default()
    }

    /// Creates an invite link for the partner organization on a partnership
    /// this device owns: `<origin>/#/join/<document id>/<code>`.
    pub async fn invite(
        &self,
        id: &DocumentId,
        invite: &api::NewInvite,
    ) -> Result<String, ClientError> {
        let token = self.token().await?;
        let created = api::create_invite(&self.origin, &token, &id.to_string(), invite).await?;
        Ok(format!("{}/#/join/{id}/{}", self.origin, created.code))
    }

    /// Redeems an invite for `id`, fetches the partnership from the relay and
    /// adds this device's person as a member of the invited party. Joining a
    /// partnership already on this device only redeems the code.
    pub async fn join(self: &Rc<Self>, id: DocumentId, code: &str) -> Result<(), ClientError> {
        let grant = self.redeem(id, code).await?;
        self.enter(id, grant).await
    }

    /// Redeems an invite for `id` (the first half of [`Self::join`]): the
    /// device may now open the partnership, acting for the grant's party,
    /// which also becomes the profile's organization if it had none.
    pub async fn redeem(&self, id: DocumentId, code: &str) -> Result<api::Grant, ClientError> {
        let token = self.token().await?;
        let grant = api::redeem_invite(&self.origin, &token, code).await?;
        self.storage.put_meta(&party_key(&id), &grant.party).await?;
        let mut profile = self.store.profile.get_untracked();
        if profile.organization.trim().is_empty() {
            // Someone whose first step is an invite belongs to the invited
            // organization: their profile says so from now on.
            profile.organization.clone_from(&grant.party);
            profile.save(&self.storage).await?;
            self.store.profile.set(profile);
        }
        self.parties.borrow_mut().insert(id, grant.party.clone());
        Ok(grant)
    }

    /// Fetches a partnership whose invite was redeemed (see [`Self::redeem`])
    /// and adds this device's person as a member of the invited party.
    pub async fn enter(
        self: &Rc<Self>,
        id: DocumentId,
        grant: api::Grant,
    ) -> Result<(), ClientError> {
        let held = self.engine.borrow().document(&id).is_some();
        if held {
            // Already here: keep the record's role in step with the new grant.
            let text = id.to_string();
            let updated = self
                .records
                .borrow()
                .iter()
                .find(|r| r.id == text && r.role != Some(grant.role))
                .cloned();
            if let Some(mut record) = updated {
                record.role = Some(grant.role);
                self.save_record(record);
            }
        } else {
            let record = DocRecord {
                id: id.to_string(),
                title: String::new(),
                added_at: now_ms(),
                claimed: true,
                role: Some(grant.role),
                relay_heads: None,
            };
            self.storage.put_record(&record).await?;
            self.records.borrow_mut().push(record);
            self.store.docs.update(|docs| {
                docs.push(DocSummary {
                    id,
                    title: String::new(),
                });
            });
            self.saver.borrow_mut().track(id, Vec::new());
            self.handle(Event::Open {
                document: id,
                doc: None,
            });
        }
        let deadline = now_ms() + JOIN_WAIT_MS;
        while !self.has_content(&id) {
            if now_ms() > deadline {
                return Err(ClientError::NotReceived);
            }
            browser::sleep(100).await;
        }
        if grant.role == api::Role::Viewer {
            // A viewer's changes are not applied by the relay; record nothing,
            // but let the pages re-read the role and turn editing off.
            self.store.bump();
            return Ok(());
        }
        let party = self.party_for(&id);
        self.change_member(&id, &party)
    }

    /// Adds this person (and their party) to the document if missing, as its own change.
    fn change_member(&self, id: &DocumentId, party: &str) -> Result<(), ClientError> {
        let wrote = {
            let mut engine = self.engine.borrow_mut();
            let doc = engine.document_mut(id).ok_or(ClientError::NotOpen(*id))?;
            if doc.get_actor() != &self.actor {
                doc.set_actor(self.actor.clone());
            }
            let mut tx = doc.transaction();
            if let Err(error) = self.attribute(&mut tx, id, party, true) {
                tx.rollback();
                return Err(error);
            }
            let wrote = tx.pending_ops() > 0;
            tx.commit_with(commit_options());
            wrote
        };
        self.attributed.borrow_mut().insert(*id);
        if wrote {
            self.handle(Event::LocalChange { document: *id });
            self.store.bump();
        }
        Ok(())
    }

    /// Moves the partnership's lifecycle stage, recorded as done by this person.
    pub fn move_stage(&self, id: &DocumentId, to: overview::Stage) -> Result<(), ClientError> {
        let party = self.party_for(id);
        self.change_member(id, &party)?;
        let by = self
            .read_doc(id, |doc| self.my_member(doc, id))
            .flatten()
            .map(|m| m.id)
            .ok_or(ClientError::NotOpen(*id))?;
        let entry = random_id()?;
        self.edit(id, |tx| {
            overview::move_stage(tx, model::ItemId::from_bytes(entry), to, by, now_ms())
        })
    }

    /// Reacts to the browser's `online`/`offline` events.
    fn network_changed(&self, online: bool) {
        browser::log(&format!(
            "accord: network {}",
            if online { "back" } else { "lost" }
        ));
        if online {
            self.wake.set(true);
        } else if let Some(link) = self.link.borrow().as_ref() {
            let _ = link.socket.close();
        }
    }

    /// Sends this tab's presence for the page it shows (or a `leaving` one).
    pub fn announce(&self, leaving: bool) {
        let Some(here) = self.store.here.get_untracked() else {
            return;
        };
        self.beacon(&here.document, &here.page, leaving);
    }

    /// Sends one presence beacon about `document` to the relay.
    pub fn beacon(&self, document: &DocumentId, page: &str, leaving: bool) {
        let relay = match self.link.borrow().as_ref() {
            Some(link) => link.relay.clone(),
            None => return,
        };
        let profile = self.store.profile.get_untracked();
        let beacon = Beacon {
            session: self.session.clone(),
            name: profile.display_name(),
            organization: self.party_for(document),
            page: page.to_owned(),
            leaving,
            board: boards::spot(document).filter(|_| !leaving),
            clause: carets::caret(document).filter(|_| !leaving),
        };
        let count = self.ephemeral_count.get();
        self.ephemeral_count.set(count + 1);
        let message = Message::Ephemeral(EphemeralMessage {
            sender_id: self.engine.borrow().peer_id().clone(),
            target_id: relay.clone(),
            count,
            session_id: self.session.clone(),
            document_id: *document,
            data: beacon.encode(),
        });
        self.send(&relay, &message);
    }

    fn heard(&self, message: &EphemeralMessage) {
        let Some(beacon) = Beacon::decode(&message.data) else {
            return;
        };
        if beacon.session == self.session {
            return;
        }
        let now = now_ms();
        // Heartbeats only refresh `last_seen`: re-render only on a visible change.
        let changed = self
            .store
            .presence
            .try_update_untracked(|peers| {
                presence::receive(peers, message.document_id, beacon, now)
            })
            .unwrap_or(false);
        if changed {
            self.store.presence.notify();
        }
    }

    async fn run_presence(self: Rc<Self>) {
        loop {
            browser::sleep(HEARTBEAT_MS).await;
            self.announce(false);
            let now = now_ms();
            let stale = self.store.presence.with_untracked(|peers| {
                peers
                    .iter()
                    .any(|p| now.saturating_sub(p.last_seen) >= presence::EXPIRY_MS)
            });
            if stale {
                self.store.presence.update(|peers| {
                    presence::expire(peers, now);
                });
            }
        }
    }
}

fn party_key(id: &DocumentId) -> String {
    format!("{PARTY_KEY_PREFIX}{id}")
}

fn random_id() -> Result<[u8; 16], ClientError> {
    let mut bytes = [0u8; 16];
    browser::random_bytes(&mut bytes)?;
    Ok(bytes)
}

fn commit_options() -> CommitOptions {
    CommitOptions::default().with_time(i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX))
}

fn is_offline(error: &ClientError) -> bool {
    error.is_offline()
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
mod boards;
mod carets;
mod devices;
mod status;
mod writer;

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
