//! PostgreSQL storage (`accord serve --store postgres://…`), with
//! `tokio-postgres` and a `deadpool-postgres` pool; plain SQL, no ORM.
//!
//! # Durability
//! Every connection runs with `synchronous_commit = on`, and the relay
//! refuses to start when the server runs with `fsync = off`: a commit
//! returns only once PostgreSQL has flushed its WAL, so, as with SQLite's
//! `synchronous=FULL`, the relay advertises heads only after they are
//! durable. (A standby makes them survive the primary's loss only with
//! `synchronous_standby_names`; see the README.)
//!
//! # Bridging the synchronous storage traits
//! [`DocumentStore`] and [`AccessStore`] stay synchronous. Their callers are
//! the group-commit writer (a dedicated OS thread that must block until a
//! transaction is durable before it reports), document loads (already on
//! `spawn_blocking`), operator commands (no runtime at all), and the access
//! rules, which decide under a `std::sync::Mutex` and write through the
//! store before they answer, exactly as with SQLite's blocking fsync.
//! Making the traits async would turn that mutex into an async one held
//! across awaits and change every caller for no gain in what is awaited.
//!
//! So the store owns a small tokio runtime of its own (two threads named
//! `accord-pg`) that runs the connections and their futures; a trait method
//! spawns its query there and waits for the answer on a std channel. This
//! works from any thread, inside or outside the relay's runtime, unlike
//! `Handle::block_on`, which panics inside an async context. A caller on the
//! relay's runtime blocks its worker for the round trip, as it blocks today
//! for SQLite's fsync.
//!
//! # Schema
//! The relay creates and migrates it at start ([`super::migrations`]), in
//! one transaction under an advisory lock so that several relays starting
//! at once on one database migrate it once.

use std::future::Future;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use accord_shared::engine::Write;
use accord_shared::ids::DocumentId;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::TryStreamExt;
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

use super::columns::{hash32, millis, parse_document, parse_role, signed};
use super::migrations::{self, MIGRATIONS, MIGRATIONS_TABLE};
use super::records::{Device, Grant, Invite};
use super::{
    AccessSignal, AccessSnapshot, AccessStore, BackupRow, Committed, DocumentStore, DocumentWrite,
    Route, SqliteStore, StorageError, StoredDocument, SyncTicket,
};

/// Most pooled connections per relay process.
const POOL_SIZE: usize = 16;

/// How long a caller waits for a pooled connection or a new one.
const POOL_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a statement may run unless the URL's `options` set
/// `statement_timeout` themselves.
const STATEMENT_TIMEOUT_MS: u64 = 30_000;

/// Key of the advisory lock that serialises schema migrations.
const MIGRATION_LOCK: i64 = 0x6163_636f_7264_0001;

/// Rows in flight between the backup reader and the SQLite writer.
const BACKUP_QUEUE: usize = 256;

/// The default ownership lease: how long a node that stopped renewing
/// (crashed, paused, partitioned) keeps other nodes from its documents.
pub const DEFAULT_LEASE_TTL_MS: u64 = 10_000;

/// Storage in a PostgreSQL database.
pub struct PostgresStore {
    pool: Pool,
    /// For the dedicated `LISTEN` connection (outside the pool).
    config: tokio_postgres::Config,
    runtime: Option<tokio::runtime::Runtime>,
    node_id: String,
    lease_ttl_ms: u64,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

impl From<tokio_postgres::Error> for StorageError {
    fn from(error: tokio_postgres::Error) -> Self {
        // The driver's Display hides the server's message; its source has it.
        let detail = error
            .as_db_error()
            .map(|db| format!("{}: {}", db.severity(), db.message()));
        Self::Postgres(match detail {
            Some(detail) => detail,
            None => match std::error::Error::source(&error) {
                Some(source) => format!("{error}: {source}"),
                None => error.to_string(),
            },
        })
    }
}

fn pg(error: tokio_postgres::Error) -> StorageError {
    StorageError::from(error)
}

/// Owned query parameters, moved with their statement onto the store's runtime.
type Params = Vec<Box<dyn ToSql + Send + Sync>>;

/// The parameters as the driver takes them.
fn borrowed(params: &Params) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|param| param.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

fn pool_error(error: deadpool_postgres::PoolError) -> StorageError {
    match error {
        deadpool_postgres::PoolError::Backend(error) => pg(error),
        other => StorageError::Postgres(format!("connection pool: {other}")),
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`),
    /// checks the server's durability settings, and creates or migrates the
    /// schema.
    pub fn open(url: &str) -> Result<Self, StorageError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StorageError::Postgres(format!("bad connection URL: {e}")))?;
        let mut options = config.get_options().unwrap_or_default().to_owned();
        options.push_str(" -c synchronous_commit=on");
        // A stalled server must not hang the commit thread for ever: the
        // statement fails, the document's peers reconnect and resync.
        if !options.contains("statement_timeout") {
            options.push_str(&format!(" -c statement_timeout={STATEMENT_TIMEOUT_MS}"));
        }
        config.options(options.trim());
        if config.get_application_name().is_none() {
            config.application_name("accord");
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("accord-pg")
            .enable_all()
            .build()?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = {
            let _entered = runtime.enter();
            Pool::builder(manager)
                .max_size(POOL_SIZE)
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(POOL_TIMEOUT))
                .create_timeout(Some(POOL_TIMEOUT))
                .recycle_timeout(Some(POOL_TIMEOUT))
                .build()
                .map_err(|e| StorageError::Postgres(format!("connection pool: {e}")))?
        };
        let store = Self {
            pool,
            config,
            runtime: Some(runtime),
            node_id: format!("node-{}", crate::access::secret::random_hex(8)),
            lease_ttl_ms: DEFAULT_LEASE_TTL_MS,
        };
        store.check_durability()?;
        store.migrate()?;
        Ok(store)
    }

    /// Names this relay node (documents it owns are recorded under this id)
    /// and sets its ownership lease length.
    pub fn with_node(mut self, node_id: &str, lease_ttl_ms: u64) -> Self {
        node_id.clone_into(&mut self.node_id);
        self.lease_ttl_ms = lease_ttl_ms.max(1);
        self
    }

    /// This relay node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Runs `work` with a pooled connection on the store's runtime and
    /// waits for its result.
    fn connected<T, F>(
        &self,
        work: impl FnOnce(deadpool_postgres::Client) -> F + Send + 'static,
    ) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, StorageError>> + Send + 'static,
    {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| StorageError::Unavailable("the store is shut down".into()))?;
        let (reply, answer) = mpsc::sync_channel(1);
        let pool = self.pool.clone();
        runtime.spawn(async move {
            let result = match pool.get().await {
                Ok(client) => work(client).await,
                Err(error) => Err(pool_error(error)),
            };
            let _ = reply.send(result);
        });
        answer
            .recv()
            .map_err(|_| StorageError::Unavailable("a storage task panicked".into()))?
    }

    /// Runs one statement with owned parameters on a pooled connection.
    fn execute(&self, sql: &'static str, params: Params) -> Result<(), StorageError> {
        self.connected(move |client| async move {
            statement(&client, sql, &borrowed(&params)).await?;
            Ok(())
        })
    }

    /// Runs one query whose answer is a single count or sequence value.
    fn query_number(&self, sql: &'static str, params: Params) -> Result<u64, StorageError> {
        self.connected(move |client| async move {
            Ok(millis(single(&client, sql, &borrowed(&params)).await?))
        })
    }

    fn check_durability(&self) -> Result<(), StorageError> {
        let (fsync, synchronous_commit) = self.connected(move |client| async move {
            let fsync: String = single(&client, "SHOW fsync", &[]).await?;
            let commit: String = single(&client, "SHOW synchronous_commit", &[]).await?;
            Ok((fsync, commit))
        })?;
        if fsync != "on" {
            return Err(StorageError::Unavailable(
                "PostgreSQL runs with fsync=off, so its commits are not durable; the relay \
                 acknowledges changes only after a durable commit: turn fsync on"
                    .into(),
            ));
        }
        // Set on every connection, but a pooler in between may drop
        // connection options; anything weaker than "on" is refused.
        if synchronous_commit != "on" && synchronous_commit != "remote_apply" {
            return Err(StorageError::Unavailable(format!(
                "synchronous_commit is {synchronous_commit} on the relay's connections, \
                 so a commit may return before it is durable; it must be on"
            )));
        }
        Ok(())
    }

    /// Creates the schema or applies the migrations it lacks; refuses a
    /// schema newer than this build knows.
    fn migrate(&self) -> Result<(), StorageError> {
        let applied =
            self.connected(move |mut client| async move {
                let tx = client.transaction().await.map_err(pg)?;
                statement(&tx, "SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
                tx.batch_execute(MIGRATIONS_TABLE).await.map_err(pg)?;
                let current: Option<i32> = single(
                    &tx,
                    "SELECT MAX(version) FROM accord_schema_migrations",
                    &[],
                )
                .await?;
                let pending = migrations::pending(current, MIGRATIONS)?;
                for migration in pending {
                    tx.batch_execute(migration.sql).await.map_err(pg)?;
                    statement(
&tx,
                    "INSERT INTO accord_schema_migrations (version, description) VALUES ($1, $2)",
                    &[&migration.version, &migration.description]).await?;
                }
                tx.commit().await.map_err(pg)?;
                Ok(pending.iter().map(|m| m.version).collect::<Vec<_>>())
            })?;
        if !applied.is_empty() {
            tracing::info!(versions = ?applied, "migrated the PostgreSQL schema");
        }
        Ok(())
    }

    /// The newest schema version recorded in the database.
    pub fn schema_version(&self) -> Result<i32, StorageError> {
        self.connected(move |client| async move {
            let sql = "SELECT COALESCE(MAX(version), 0) FROM accord_schema_migrations";
            single(&client, sql, &[]).await
        })
    }

    /// The storage id every relay on this database advertises, created by
    /// the first one (`candidate`) and kept from then on.
    pub fn storage_id(&self, candidate: &str) -> Result<String, StorageError> {
        let candidate = candidate.to_owned();
        self.connected(move |client| async move {
            statement(
                &client,
                "INSERT INTO cluster_meta (key, value) VALUES ('storage_id', $1)
                     ON CONFLICT (key) DO NOTHING",
                &[&candidate],
            )
            .await?;
            single(
                &client,
                "SELECT value FROM cluster_meta WHERE key = 'storage_id'",
                &[],
            )
            .await
        })
    }

    /// Writes a consistent copy of the whole database (one repeatable-read
    /// snapshot) to a new SQLite database at `target`, which `accord serve
    /// --data-dir` can serve as its `accord.sqlite3`.
    pub fn backup(&self, target: &Path) -> Result<(), StorageError> {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| StorageError::Unavailable("the store is shut down".into()))?;
        let copy = SqliteStore::open(target)?;
        let (rows, mut received) = tokio::sync::mpsc::channel(BACKUP_QUEUE);
        let pool = self.pool.clone();
        let reader = runtime.spawn(async move {
            let result = read_everything(&pool, &rows).await;
            if let Err(error) = result {
                let _ = rows.send(Err(error)).await;
            }
        });
        let written = copy.import(std::iter::from_fn(|| received.blocking_recv()));
        reader.abort();
        written
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside another runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

type RowSender = tokio::sync::mpsc::Sender<Result<BackupRow, StorageError>>;

/// Streams every row in one read-only snapshot into `rows`.
/// Keeps a `LISTEN accord_access` connection open, passing announced
/// access versions on, and reconnecting (with [`AccessSignal::Resumed`])
/// after it breaks; ends when nobody listens any more.
async fn listen_loop(
    config: tokio_postgres::Config,
    signals: tokio::sync::mpsc::UnboundedSender<AccessSignal>,
) {
    let mut first = true;
    loop {
        if signals.is_closed() {
            return;
        }
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (messages, mut incoming) = tokio::sync::mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut stream =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = futures_util::StreamExt::next(&mut stream).await {
                        match message {
                            Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                                if messages.send(n.payload().to_owned()).is_err() {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(_) => return,
                        }
                    }
                });
                if client.batch_execute("LISTEN accord_access").await.is_ok() {
                    if !first && signals.send(AccessSignal::Resumed).is_err() {
                        return;
                    }
                    while let Some(payload) = incoming.recv().await {
                        if let Ok(version) = payload.parse::<u64>()
                            && signals.send(AccessSignal::Changed(version)).is_err()
                        {
                            driver.abort();
                            return;
                        }
                    }
                    tracing::warn!("the access-change listener lost PostgreSQL; reconnecting");
                }
                driver.abort();
            }
            Err(error) => {
                tracing::warn!(error = %StorageError::from(error), "listening for access changes failed; retrying");
            }
        }
        first = false;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn read_everything(pool: &Pool, rows: &RowSender) -> Result<(), StorageError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg)?;
    let send = |row| async {
        rows.send(Ok(row))
            .await
            .map_err(|_| StorageError::Unavailable("backup writer stopped".into()))
    };
    let access = load_access_from(&tx).await?;
    for device in access.devices {
        send(BackupRow::Device(device)).await?;
    }
    for grant in access.grants {
        send(BackupRow::Grant(grant)).await?;
    }
    for invite in access.invites {
        send(BackupRow::Invite(invite)).await?;
    }
    for row in all_rows(&tx, "SELECT document, claimed_at FROM claims").await? {
        send(BackupRow::Claim(
            parse_document(row.get(0))?,
            millis(row.get(1)),
        ))
        .await?;
    }
    for row in all_rows(&tx, "SELECT document, device, revoked_at FROM revocations").await? {
        send(BackupRow::Revocation(
            parse_document(row.get(0))?,
            row.get(1),
            millis(row.get(2)),
        ))
        .await?;
    }
    let stream = tx
        .query_raw(
            "SELECT document, seq, bytes FROM chunks ORDER BY document, seq",
            std::iter::empty::<&(dyn ToSql + Sync)>(),
        )
        .await
        .map_err(pg)?;
    futures_util::pin_mut!(stream);
    while let Some(row) = stream.try_next().await.map_err(pg)? {
        send(BackupRow::Chunk {
            document: parse_document(row.get(0))?,
            seq: row.get(1),
            bytes: row.get(2),
        })
        .await?;
    }
    tx.commit().await.map_err(pg)?;
    Ok(())
}

/// The (document, epoch) pairs of a batch this node still owns, locked
/// until the commit ends.
const FENCE: &str = "SELECT o.document, o.epoch FROM document_owner o
     JOIN unnest($2::text[], $3::bigint[]) AS w(document, epoch)
       ON o.document = w.document AND o.epoch = w.epoch
     WHERE o.node_id = $1
     FOR SHARE OF o";

/// Takes a document that nobody owns, whose lease lapsed, or that this
/// node owns already (a restart under the same node id), with a new epoch.
const ACQUIRE: &str = "INSERT INTO document_owner (document, node_id, epoch, lease_until)
     VALUES ($1, $2, 1, now() + $3::bigint * interval '1 millisecond')
     ON CONFLICT (document) DO UPDATE SET
         node_id = EXCLUDED.node_id,
         epoch = document_owner.epoch + 1,
         lease_until = EXCLUDED.lease_until
     WHERE document_owner.node_id = EXCLUDED.node_id OR document_owner.lease_until < now()
     RETURNING epoch";

/// Extends the leases this node holds at the given epochs.
const RENEW: &str =
    "UPDATE document_owner o SET lease_until = now() + $4::bigint * interval '1 millisecond'
     FROM unnest($2::text[], $3::bigint[]) AS h(document, epoch)
     WHERE o.document = h.document AND o.epoch = h.epoch AND o.node_id = $1
     RETURNING o.document";

const APPEND: &str = "INSERT INTO chunks (document, seq, bytes)
     SELECT $1::text, COALESCE(MAX(seq), 0) + 1, $2::bytea FROM chunks WHERE document = $1::text";

/// Deletes every chunk and inserts the snapshot after the last one, so
/// sequence numbers keep rising.
const REPLACE: &str = "WITH gone AS (DELETE FROM chunks WHERE document = $1::text RETURNING seq)
     INSERT INTO chunks (document, seq, bytes)
     SELECT $1::text, COALESCE(MAX(seq), 0) + 1, $2::bytea FROM gone";

impl DocumentStore for PostgresStore {
    fn load(&self, document: &DocumentId) -> Result<Option<Vec<u8>>, StorageError> {
        let id = document.to_string();
        self.connected(move |client| async move {
            let statement = client
                .prepare_cached("SELECT bytes FROM chunks WHERE document = $1 ORDER BY seq")
                .await
                .map_err(pg)?;
            let rows = client.query(&statement, &[&id]).await.map_err(pg)?;
            if rows.is_empty() {
                return Ok(None);
            }
            let mut out = Vec::new();
            for row in rows {
                out.extend_from_slice(row.get::<_, &[u8]>(0));
            }
            Ok(Some(out))
        })
    }

    fn commit(&self, batch: &[DocumentWrite]) -> Result<Committed, StorageError> {
        let writes: Vec<(String, i64, bool, Vec<u8>)> = batch
            .iter()
            .map(|w| {
                let (is_replace, bytes) = match &w.write {
                    Write::Append(bytes) => (false, bytes.clone()),
                    Write::Replace(bytes) => (true, bytes.clone()),
                };
                (w.document.to_string(), signed(w.epoch), is_replace, bytes)
            })
            .collect();
        let mut claimed: Vec<(String, i64)> = writes
            .iter()
            .map(|(id, epoch, ..)| (id.clone(), *epoch))
            .collect();
        claimed.sort();
        claimed.dedup();
        let node = self.node_id.clone();
        let owned = self.connected(move |mut client| async move {
            let tx = client.transaction().await.map_err(pg)?;
            // The fence: lock the ownership rows this batch writes under. A
            // takeover that committed first changed (node, epoch), so its
            // rows no longer match and those writes are skipped; one that
            // comes later waits for this transaction, then sees its chunks.
            let (ids, epochs): (Vec<String>, Vec<i64>) = claimed.into_iter().unzip();
            let fence = tx.prepare_cached(FENCE).await.map_err(pg)?;
            let owned: std::collections::HashSet<(String, i64)> = tx
                .query(&fence, &[&node, &ids, &epochs])
                .await
                .map_err(pg)?
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect();
            let append = tx.prepare_cached(APPEND).await.map_err(pg)?;
            let replace = tx.prepare_cached(REPLACE).await.map_err(pg)?;
            let allowed: Vec<&(String, i64, bool, Vec<u8>)> = writes
                .iter()
                .filter(|(id, epoch, ..)| owned.contains(&(id.clone(), *epoch)))
                .collect();
            let params: Vec<[&(dyn ToSql + Sync); 2]> = allowed
                .iter()
                .map(|(id, _, _, bytes)| [id as &(dyn ToSql + Sync), bytes as _])
                .collect();
            // Pipelined: every statement is sent before the first answer is
            // read; one connection runs them in this order.
            let statements = allowed
                .iter()
                .zip(&params)
                .map(|((_, _, is_replace, _), params)| {
                    let statement = if *is_replace { &replace } else { &append };
                    tx.execute(statement, params)
                });
            futures_util::future::try_join_all(statements)
                .await
                .map_err(pg)?;
            tx.commit().await.map_err(pg)?;
            Ok(owned)
        })?;
        let mut fenced: Vec<(DocumentId, u64)> = batch
            .iter()
            .filter(|w| !owned.contains(&(w.document.to_string(), signed(w.epoch))))
            .map(|w| (w.document, w.epoch))
            .collect();
        fenced.sort();
        fenced.dedup();
        Ok(Committed { fenced })
    }

    fn lease_ttl_ms(&self) -> Option<u64> {
        Some(self.lease_ttl_ms)
    }

    fn acquire(&self, document: &DocumentId) -> Result<u64, StorageError> {
        let (id, node, ttl) = (
            document.to_string(),
            self.node_id.clone(),
            signed(self.lease_ttl_ms),
        );
        self.connected(move |client| async move {
            let taken = client
                .query_opt(ACQUIRE, &[&id, &node, &ttl])
                .await
                .map_err(pg)?;
            if let Some(row) = taken {
                return Ok(millis(row.get(0)));
            }
            let owner = client
                .query_opt(
                    "SELECT node_id FROM document_owner WHERE document = $1",
                    &[&id],
                )
                .await
                .map_err(pg)?;
            Err(StorageError::OwnedElsewhere {
                node: owner.map_or_else(|| "(released meanwhile)".to_owned(), |row| row.get(0)),
            })
        })
    }

    fn renew(&self, held: &[(DocumentId, u64)]) -> Result<Vec<DocumentId>, StorageError> {
        let (ids, epochs): (Vec<String>, Vec<i64>) = held
            .iter()
            .map(|(document, epoch)| (document.to_string(), signed(*epoch)))
            .unzip();
        let (node, ttl) = (self.node_id.clone(), signed(self.lease_ttl_ms));
        self.connected(move |client| async move {
            let rows = client
                .query(RENEW, &[&node, &ids, &epochs, &ttl])
                .await
                .map_err(pg)?;
            rows.iter().map(|row| parse_document(row.get(0))).collect()
        })
    }

    fn release(&self, document: &DocumentId, epoch: u64) -> Result<(), StorageError> {
        self.execute(
            "UPDATE document_owner SET lease_until = now() - interval '1 millisecond'
             WHERE document = $1 AND node_id = $2 AND epoch = $3",
            vec![
                Box::new(document.to_string()),
                Box::new(self.node_id.clone()),
                Box::new(signed(epoch)),
            ],
        )
    }

    fn advertise(&self, link_url: &str) -> Result<(), StorageError> {
        self.execute(
            "INSERT INTO nodes (node_id, link_url) VALUES ($1, $2)
             ON CONFLICT (node_id) DO UPDATE
             SET link_url = EXCLUDED.link_url, heartbeat_at = now()",
            vec![
                Box::new(self.node_id.clone()),
                Box::new(link_url.to_owned()),
            ],
        )
    }

    fn route(&self, document: &DocumentId) -> Result<Route, StorageError> {
        let (id, node) = (document.to_string(), self.node_id.clone());
        self.connected(move |client| async move {
            let owner = client
                .query_opt(
                    "SELECT o.node_id, n.link_url FROM document_owner o
                     LEFT JOIN nodes n ON n.node_id = o.node_id
                     WHERE o.document = $1 AND o.node_id <> $2 AND o.lease_until > now()",
                    &[&id, &node],
                )
                .await
                .map_err(pg)?;
            Ok(match owner {
                None => Route::Local,
                Some(row) => Route::Remote {
                    node: row.get(0),
                    link_url: row.get(1),
                },
            })
        })
    }

    fn heartbeat(&self, access_seen: u64) -> Result<(), StorageError> {
        self.execute(
            "INSERT INTO nodes (node_id, access_seen) VALUES ($1, $2)
             ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now(),
                 access_seen = GREATEST(nodes.access_seen, EXCLUDED.access_seen)",
            vec![
                Box::new(self.node_id.clone()),
                Box::new(signed(access_seen)),
            ],
        )
    }

    fn announce_access_change(&self) -> Result<u64, StorageError> {
        self.query_number(
            "SELECT v, pg_notify('accord_access', v::text) FROM nextval('access_version') v",
            Vec::new(),
        )
    }

    fn access_version(&self) -> Result<u64, StorageError> {
        self.query_number(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM access_version",
            Vec::new(),
        )
    }

    fn access_laggards(&self, version: u64) -> Result<u64, StorageError> {
        self.query_number(
            "SELECT count(*) FROM nodes WHERE node_id <> $1 AND access_seen < $2
             AND heartbeat_at > now() - $3::bigint * interval '1 millisecond'",
            vec![
                Box::new(self.node_id.clone()),
                Box::new(signed(version)),
                Box::new(signed(self.lease_ttl_ms)),
            ],
        )
    }

    fn listen_access(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<AccessSignal>> {
        let runtime = self.runtime.as_ref()?;
        let (signals, receiver) = tokio::sync::mpsc::unbounded_channel();
        runtime.spawn(listen_loop(self.config.clone(), signals));
        Some(receiver)
    }

    fn list(&self) -> Result<Vec<StoredDocument>, StorageError> {
        self.connected(move |client| async move {
            let rows = client
                .query(
                    "SELECT document, COUNT(*), SUM(octet_length(bytes))::bigint
                     FROM chunks GROUP BY document ORDER BY document",
                    &[],
                )
                .await
                .map_err(pg)?;
            rows.iter()
                .map(|row| {
                    Ok(StoredDocument {
                        document: parse_document(row.get(0))?,
                        chunks: millis(row.get(1)),
                        bytes: millis(row.get(2)),
                    })
                })
                .collect()
        })
    }
}

/// Reads the access records with `client` (a pooled connection or a
/// transaction's snapshot).
async fn load_access_from(client: &impl GenericClient) -> Result<AccessSnapshot, StorageError> {
    let mut snapshot = AccessSnapshot::default();
    for row in client
        .query(
            "SELECT id, public_key, name, token_hash, created_at, account, last_seen, revoked_at
             FROM devices",
            &[],
        )
        .await
        .map_err(pg)?
    {
        let id: String = row.get(0);
        let account: String = row.get(5);
        snapshot.devices.push(Device {
            account: Device::stored_account(&id, account),
            id,
            public_key: hash32(row.get(1))?,
            name: row.get(2),
            token_hash: hash32(row.get(3))?,
            created_at: millis(row.get(4)),
            last_seen: millis(row.get(6)),
            revoked_at: millis(row.get(7)),
        });
    }
    for row in client
        .query(
            "SELECT document, device, role, party, created_at FROM grants",
            &[],
        )
        .await
        .map_err(pg)?
    {
        snapshot.grants.push(Grant {
            document: parse_document(row.get(0))?,
            device: row.get(1),
            role: parse_role(row.get(2))?,
            party: row.get(3),
            created_at: millis(row.get(4)),
        });
    }
    for row in client.query(SELECT_INVITES, &[]).await.map_err(pg)? {
        snapshot.invites.push(invite_from(&row)?);
    }
    for row in all_rows(client, "SELECT document FROM claims").await? {
        snapshot.claimed.push(parse_document(row.get(0))?);
    }
    for row in all_rows(client, "SELECT document, device FROM revocations").await? {
        snapshot
            .revocations
            .push((parse_document(row.get(0))?, row.get(1)));
    }
    Ok(snapshot)
}

/// Inserts or replaces `device` with `client` (a connection or a
/// transaction).
async fn upsert_device(client: &impl GenericClient, device: &Device) -> Result<(), StorageError> {
    statement(
        client,
        "INSERT INTO devices (id, public_key, name, token_hash, created_at, account, last_seen, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (id) DO UPDATE SET
                 public_key = EXCLUDED.public_key, name = EXCLUDED.name,
                 token_hash = EXCLUDED.token_hash, created_at = EXCLUDED.created_at,
                 account = EXCLUDED.account, last_seen = EXCLUDED.last_seen,
                 revoked_at = EXCLUDED.revoked_at",
            &[
                &device.id,
                &&device.public_key[..],
                &device.name,
                &&device.token_hash[..],
                &signed(device.created_at),
                &device.account,
                &signed(device.last_seen),
                &signed(device.revoked_at),
            ],
    )
    .await?;
    Ok(())
}

const SELECT_INVITES: &str =
    "SELECT code_hash, document, role, party, expires_at, uses_left, created_by FROM invites";

fn invite_from(row: &tokio_postgres::Row) -> Result<Invite, StorageError> {
    Ok(Invite {
        code_hash: hash32(row.get(0))?,
        document: parse_document(row.get(1))?,
        role: parse_role(row.get(2))?,
        party: row.get(3),
        expires_at: millis(row.get(4)),
        uses_left: u32::try_from(row.get::<_, i64>(5)).unwrap_or(0),
        created_by: row.get(6),
    })
}

const UPSERT_GRANT: &str = "INSERT INTO grants (document, device, role, party, created_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (document, device) DO UPDATE SET
         role = EXCLUDED.role, party = EXCLUDED.party, created_at = EXCLUDED.created_at";

const UPSERT_INVITE: &str =
    "INSERT INTO invites (code_hash, document, role, party, expires_at, uses_left, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (code_hash) DO UPDATE SET
         document = EXCLUDED.document, role = EXCLUDED.role, party = EXCLUDED.party,
         expires_at = EXCLUDED.expires_at, uses_left = EXCLUDED.uses_left,
         created_by = EXCLUDED.created_by";

/// Inserts or replaces each of `grants` with `client` (a connection or a
/// transaction).
async fn upsert_grants(client: &impl GenericClient, grants: &[Grant]) -> Result<(), StorageError> {
    for grant in grants {
        let document = grant.document.to_string();
        let at = signed(grant.created_at);
        let role = grant.role.as_str();
        let params: [&(dyn ToSql + Sync); 5] = [&document, &grant.device, &role, &grant.party, &at];
        statement(client, UPSERT_GRANT, &params).await?;
    }
    Ok(())
}

/// Inserts or replaces `invite` with `client` (a connection or a
/// transaction).
async fn upsert_invite(client: &impl GenericClient, invite: &Invite) -> Result<(), StorageError> {
    let (document, role) = (invite.document.to_string(), invite.role.as_str());
    let (expires_at, uses_left) = (signed(invite.expires_at), i64::from(invite.uses_left));
    statement(
        client,
        UPSERT_INVITE,
        &[
            &&invite.code_hash[..],
            &document,
            &role,
            &invite.party,
            &expires_at,
            &uses_left,
            &invite.created_by,
        ],
    )
    .await?;
    Ok(())
}

/// The first column of the one row `sql` answers, with `client` (a
/// connection or a transaction).
async fn single<T>(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<T, StorageError>
where
    T: for<'a> tokio_postgres::types::FromSql<'a>,
{
    Ok(client.query_one(sql, params).await.map_err(pg)?.get(0))
}

/// Every row `sql` (without parameters) answers, with `client` (a
/// connection or a transaction).
async fn all_rows(
    client: &impl GenericClient,
    sql: &str,
) -> Result<Vec<tokio_postgres::Row>, StorageError> {
    client.query(sql, &[]).await.map_err(pg)
}

/// Runs one statement with `client` (a connection or a transaction);
/// returns how many rows it touched.
async fn statement(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StorageError> {
    client.execute(sql, params).await.map_err(pg)
}

impl AccessStore for PostgresStore {
    fn load_access(&self) -> Result<AccessSnapshot, StorageError> {
        self.connected(move |client| async move { load_access_from(&client).await })
    }

    fn put_device(&self, device: &Device) -> Result<(), StorageError> {
        let device = device.clone();
        self.connected(move |client| async move { upsert_device(&client, &device).await })
    }

    fn claim(&self, grants: &[Grant]) -> Result<(), StorageError> {
        let Some(first) = grants.first() else {
            return Ok(());
        };
        let (document, at) = (first.document.to_string(), signed(first.created_at));
        let grants = grants.to_vec();
        self.connected(move |mut client| async move {
            let tx = client.transaction().await.map_err(pg)?;
            let inserted = statement(
                &tx,
                "INSERT INTO claims (document, claimed_at) VALUES ($1, $2)
                     ON CONFLICT (document) DO NOTHING",
                &[&document, &at],
            )
            .await?;
            if inserted == 0 {
                return Err(StorageError::Conflict(format!(
                    "document {document} is claimed already"
                )));
            }
            upsert_grants(&tx, &grants).await?;
            tx.commit().await.map_err(pg)
        })
    }

    fn link_device(&self, device: &Device, grants: &[Grant]) -> Result<(), StorageError> {
        let device = device.clone();
        let grants = grants.to_vec();
        self.connected(move |mut client| async move {
            let tx = client.transaction().await.map_err(pg)?;
            upsert_device(&tx, &device).await?;
            upsert_grants(&tx, &grants).await?;
            tx.commit().await.map_err(pg)
        })
    }

    fn retire_device(&self, device: &Device) -> Result<(), StorageError> {
        let device = device.clone();
        self.connected(move |mut client| async move {
            let tx = client.transaction().await.map_err(pg)?;
            upsert_device(&tx, &device).await?;
            statement(&tx, "DELETE FROM grants WHERE device = $1", &[&device.id]).await?;
            tx.commit().await.map_err(pg)
        })
    }

    fn revoke(&self, document: &DocumentId, device: &str, now: u64) -> Result<(), StorageError> {
        let (document, device, now) = (document.to_string(), device.to_owned(), signed(now));
        self.connected(move |mut client| async move {
            let tx = client.transaction().await.map_err(pg)?;
            statement(
                &tx,
                "DELETE FROM grants WHERE document = $1 AND device = $2",
                &[&document, &device],
            )
            .await?;
            statement(
                &tx,
                "INSERT INTO revocations (document, device, revoked_at) VALUES ($1, $2, $3)
                 ON CONFLICT (document, device) DO UPDATE SET revoked_at = EXCLUDED.revoked_at",
                &[&document, &device, &now],
            )
            .await?;
            tx.commit().await.map_err(pg)
        })
    }

    fn lift_revocation(&self, document: &DocumentId, device: &str) -> Result<(), StorageError> {
        self.execute(
            "DELETE FROM revocations WHERE document = $1 AND device = $2",
            vec![Box::new(document.to_string()), Box::new(device.to_owned())],
        )
    }

    fn keeps_sync_tickets(&self) -> bool {
        true
    }

    fn put_sync_ticket(
        &self,
        ticket: &SyncTicket,
        expired_before: u64,
        keep_per_device: usize,
    ) -> Result<(), StorageError> {
        let (hash, device, token_hash, issued_at) = (
            ticket.ticket_hash.to_vec(),
            ticket.device.clone(),
            ticket.token_hash.to_vec(),
            signed(ticket.issued_at),
        );
        let expired_before = signed(expired_before);
        let keep = i64::try_from(keep_per_device.saturating_sub(1)).unwrap_or(i64::MAX);
        self.connected(move |mut client| async move {
            let tx = client.transaction().await.map_err(pg)?;
            statement(
                &tx,
                "DELETE FROM sync_tickets WHERE issued_at < $1",
                &[&expired_before],
            )
            .await?;
            statement(
                &tx,
                "DELETE FROM sync_tickets WHERE device = $1 AND ticket_hash NOT IN
                 (SELECT ticket_hash FROM sync_tickets WHERE device = $1
                  ORDER BY issued_at DESC LIMIT $2)",
                &[&device, &keep],
            )
            .await?;
            statement(
                &tx,
                "INSERT INTO sync_tickets (ticket_hash, device, token_hash, issued_at)
                 VALUES ($1, $2, $3, $4)",
                &[&hash, &device, &token_hash, &issued_at],
            )
            .await?;
            tx.commit().await.map_err(pg)?;
            Ok(())
        })
    }

    fn take_sync_ticket(&self, ticket_hash: &[u8; 32]) -> Result<Option<SyncTicket>, StorageError> {
        let hash = ticket_hash.to_vec();
        self.connected(move |client| async move {
            let row = client
                .query_opt(
                    "DELETE FROM sync_tickets WHERE ticket_hash = $1
                     RETURNING ticket_hash, device, token_hash, issued_at",
                    &[&hash],
                )
                .await
                .map_err(pg)?;
            row.map(|row| {
                Ok(SyncTicket {
                    ticket_hash: hash32(row.get(0))?,
                    device: row.get(1),
                    token_hash: hash32(row.get(2))?,
                    issued_at: millis(row.get(3)),
                })
            })
            .transpose()
        })
    }

    fn load_invite(&self, code_hash: &[u8; 32]) -> Result<Option<Invite>, StorageError> {
        let code_hash = code_hash.to_vec();
        self.connected(move |client| async move {
            let row = client
                .query_opt(
                    &format!("{SELECT_INVITES} WHERE code_hash = $1"),
                    &[&code_hash],
                )
                .await
                .map_err(pg)?;
            row.as_ref().map(invite_from).transpose()
        })
    }

    fn put_invite(&self, invite: &Invite) -> Result<(), StorageError> {
        let invite = invite.clone();
        self.connected(move |client| async move { upsert_invite(&client, &invite).await })
    }

    fn redeem(&self, invite: &Invite, grants: &[Grant]) -> Result<(), StorageError> {
        let (code_hash, uses_left) = (invite.code_hash.to_vec(), i64::from(invite.uses_left));
        let grants = grants.to_vec();
        self.connected(move |mut client| async move {
            let tx = client.transaction().await.map_err(pg)?;
            // Compare-and-set on the use count: of two nodes spending the
            // last use at once, the second matches no row.
            let spent = statement(
&tx,
                    "UPDATE invites SET uses_left = $2::bigint WHERE code_hash = $1 AND uses_left = $2::bigint + 1",
                    &[&code_hash, &uses_left]).await?;
            if spent == 0 {
                return Err(StorageError::Conflict(
                    "the invite was used meanwhile".into(),
                ));
            }
            upsert_grants(&tx, &grants).await?;
            tx.commit().await.map_err(pg)
        })
    }
}
