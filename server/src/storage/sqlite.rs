//! SQLite storage in WAL mode with `synchronous=FULL`: a commit returns only
//! once it is on disk, so the relay may advertise what it committed.

use std::path::Path;
use std::sync::Mutex;

use accord_shared::engine::Write;
use accord_shared::ids::DocumentId;
use rusqlite::{Connection, params};

use super::columns::{hash32, millis, parse_document, parse_role, signed};
use super::records::{Device, Grant, Invite};
use super::{
    AccessSnapshot, AccessStore, BackupRow, Committed, DocumentStore, DocumentWrite, StorageError,
    StoredDocument,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS chunks (
    document TEXT NOT NULL,
    seq INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (document, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY,
    public_key BLOB NOT NULL,
    name TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS grants (
    document TEXT NOT NULL,
    device TEXT NOT NULL,
    role TEXT NOT NULL,
    party TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (document, device)
);
CREATE TABLE IF NOT EXISTS invites (
    code_hash BLOB PRIMARY KEY,
    document TEXT NOT NULL,
    role TEXT NOT NULL,
    party TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    uses_left INTEGER NOT NULL,
    created_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    document TEXT PRIMARY KEY,
    claimed_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS revocations (
    document TEXT NOT NULL,
    device TEXT NOT NULL,
    revoked_at INTEGER NOT NULL,
    PRIMARY KEY (document, device)
);
-- Documents granted or stored before claims were recorded stay claimed.
INSERT OR IGNORE INTO claims (document, claimed_at)
    SELECT document, MIN(created_at) FROM grants GROUP BY document;
INSERT OR IGNORE INTO claims (document, claimed_at)
    SELECT DISTINCT document, 0 FROM chunks;
";

/// SQLite-backed storage: one file, separate connections for writing and reading.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let mut writer = Connection::open(path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        writer.pragma_update(None, "synchronous", "FULL")?;
        writer.busy_timeout(std::time::Duration::from_secs(5))?;
        writer.execute_batch(SCHEMA)?;
        chunks_without_rowid(&mut writer)?;
        add_device_columns(&writer)?;
        let reader = Connection::open(path)?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Self {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    /// Writes a consistent copy of the database to `target` (`VACUUM INTO`).
    pub fn backup(&self, target: &Path) -> Result<(), StorageError> {
        let target = target
            .to_str()
            .ok_or_else(|| StorageError::Corrupt("backup path is not UTF-8".into()))?;
        self.reader
            .lock()
            .map_err(poisoned)?
            .execute("VACUUM INTO ?1", params![target])?;
        Ok(())
    }
}

impl SqliteStore {
    /// Writes every row of a backup in one transaction (into a new
    /// database: rows already present are replaced). The first error,
    /// from `rows` or from SQLite, rolls everything back.
    pub fn import(
        &self,
        rows: impl Iterator<Item = Result<BackupRow, StorageError>>,
    ) -> Result<(), StorageError> {
        let mut conn = self.writer.lock().map_err(poisoned)?;
        let tx = conn.transaction()?;
        for row in rows {
            match row? {
                BackupRow::Device(device) => insert_device(&tx, &device)?,
                BackupRow::Grant(grant) => insert_grant(&tx, &grant)?,
                BackupRow::Invite(invite) => insert_invite(&tx, &invite)?,
                BackupRow::Claim(document, at) => tx.execute(
                    "INSERT OR REPLACE INTO claims (document, claimed_at) VALUES (?1, ?2)",
                    params![document.to_string(), signed(at)],
                ).map(drop)?,
                BackupRow::Revocation(document, device, at) => tx.execute(
                    "INSERT OR REPLACE INTO revocations (document, device, revoked_at) VALUES (?1, ?2, ?3)",
                    params![document.to_string(), device, signed(at)],
                ).map(drop)?,
                BackupRow::Chunk { document, seq, bytes } => tx.execute(
                    "INSERT OR REPLACE INTO chunks (document, seq, bytes) VALUES (?1, ?2, ?3)",
                    params![document.to_string(), seq, bytes],
                ).map(drop)?,
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// Rebuilds a `chunks` table made before it was `WITHOUT ROWID` (a table
/// and a separate primary-key index, so every appended chunk wrote two
/// B-trees) as one clustered on `(document, seq)`: a group commit then
/// writes one page less to the WAL. One transaction: a crash midway leaves
/// the old table as it was, and the next start migrates again.
fn chunks_without_rowid(conn: &mut Connection) -> Result<(), StorageError> {
    let clustered: bool = conn.query_row(
        "SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = 'chunks'",
        [],
        |row| row.get(0),
    )?;
    if clustered {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE chunks_clustered (
             document TEXT NOT NULL,
             seq INTEGER NOT NULL,
             bytes BLOB NOT NULL,
             PRIMARY KEY (document, seq)
         ) WITHOUT ROWID;
         INSERT INTO chunks_clustered (document, seq, bytes)
             SELECT document, seq, bytes FROM chunks;
         DROP TABLE chunks;
         ALTER TABLE chunks_clustered RENAME TO chunks;",
    )?;
    tx.commit()?;
    Ok(())
}

/// Adds the account, last-seen and revoked-at columns to a `devices` table made before
/// linked devices existed (a device with no account is its own account).
fn add_device_columns(conn: &Connection) -> Result<(), StorageError> {
    let mut statement = conn.prepare("SELECT name FROM pragma_table_info('devices')")?;
    let columns: Vec<String> = statement
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    if !columns.iter().any(|c| c == "account") {
        conn.execute_batch("ALTER TABLE devices ADD COLUMN account TEXT NOT NULL DEFAULT ''")?;
    }
    if !columns.iter().any(|c| c == "last_seen") {
        conn.execute_batch("ALTER TABLE devices ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0")?;
    }
    if !columns.iter().any(|c| c == "revoked_at") {
        conn.execute_batch("ALTER TABLE devices ADD COLUMN revoked_at INTEGER NOT NULL DEFAULT 0")?;
    }
    Ok(())
}

fn poisoned<T>(_: T) -> StorageError {
    StorageError::Unavailable("a previous storage operation panicked".into())
}

impl DocumentStore for SqliteStore {
    fn load(&self, document: &DocumentId) -> Result<Option<Vec<u8>>, StorageError> {
        let conn = self.reader.lock().map_err(poisoned)?;
        let mut statement =
            conn.prepare_cached("SELECT bytes FROM chunks WHERE document = ?1 ORDER BY seq")?;
        let mut rows = statement.query(params![document.to_string()])?;
        let mut out: Option<Vec<u8>> = None;
        while let Some(row) = rows.next()? {
            let bytes: Vec<u8> = row.get(0)?;
            out.get_or_insert_with(Vec::new).extend_from_slice(&bytes);
        }
        Ok(out)
    }

    fn commit(&self, batch: &[DocumentWrite]) -> Result<Committed, StorageError> {
        let mut conn = self.writer.lock().map_err(poisoned)?;
        let tx = conn.transaction()?;
        for DocumentWrite {
            document, write, ..
        } in batch
        {
            let id = document.to_string();
            match write {
                Write::Append(bytes) => {
                    // Cached statements: parsing SQL on every commit was a
                    // visible share of the commit thread under light load.
                    tx.prepare_cached(
                        "INSERT INTO chunks (document, seq, bytes)
                         VALUES (?1, COALESCE((SELECT MAX(seq) FROM chunks WHERE document = ?1), 0) + 1, ?2)",
                    )?
                    .execute(params![id, bytes])?;
                }
                Write::Replace(bytes) => {
                    let next: i64 = tx
                        .prepare_cached(
                            "SELECT COALESCE(MAX(seq), 0) + 1 FROM chunks WHERE document = ?1",
                        )?
                        .query_row(params![id], |row| row.get(0))?;
                    tx.prepare_cached("DELETE FROM chunks WHERE document = ?1")?
                        .execute(params![id])?;
                    tx.prepare_cached(
                        "INSERT INTO chunks (document, seq, bytes) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![id, next, bytes])?;
                }
            }
        }
        tx.commit()?;
        Ok(Committed::default())
    }

    fn list(&self) -> Result<Vec<StoredDocument>, StorageError> {
        let conn = self.reader.lock().map_err(poisoned)?;
        let mut statement = conn.prepare(
            "SELECT document, COUNT(*), SUM(LENGTH(bytes)) FROM chunks GROUP BY document ORDER BY document",
        )?;
        let rows = statement.query_map([], |row| <(String, i64, i64)>::try_from(row))?;
        rows.map(|row| {
            let (id, chunks, bytes) = row?;
            Ok(StoredDocument {
                document: parse_document(&id)?,
                chunks: millis(chunks),
                bytes: millis(bytes),
            })
        })
        .collect()
    }
}

impl AccessStore for SqliteStore {
    fn load_access(&self) -> Result<AccessSnapshot, StorageError> {
        let conn = self.reader.lock().map_err(poisoned)?;
        let mut snapshot = AccessSnapshot::default();
        let mut statement =
            conn.prepare("SELECT id, public_key, name, token_hash, created_at, account, last_seen, revoked_at FROM devices")?;
        let rows = statement.query_map([], |row| {
            <(String, Vec<u8>, String, Vec<u8>, i64, String, i64, i64)>::try_from(row)
        })?;
        for row in rows {
            let (id, public_key, name, token_hash, created_at, account, last_seen, revoked_at) =
                row?;
            snapshot.devices.push(Device {
                account: Device::stored_account(&id, account),
                id,
                public_key: hash32(public_key)?,
                name,
                token_hash: hash32(token_hash)?,
                created_at: millis(created_at),
                last_seen: millis(last_seen),
                revoked_at: millis(revoked_at),
            });
        }
        let mut statement =
            conn.prepare("SELECT document, device, role, party, created_at FROM grants")?;
        let rows = statement.query_map([], |row| {
            <(String, String, String, String, i64)>::try_from(row)
        })?;
        for row in rows {
            let (document, device, role, party, created_at) = row?;
            snapshot.grants.push(Grant {
                document: parse_document(&document)?,
                device,
                role: parse_role(&role)?,
                party,
                created_at: millis(created_at),
            });
        }
        let mut statement =
            conn.prepare("SELECT code_hash, document, role, party, expires_at, uses_left, created_by FROM invites")?;
        let rows = statement.query_map([], invite_row)?;
        for row in rows {
            snapshot.invites.push(invite_from(row?)?);
        }
        let mut statement = conn.prepare("SELECT document FROM claims")?;
        let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
        for row in rows {
            snapshot.claimed.push(parse_document(&row?)?);
        }
        let mut statement = conn.prepare("SELECT document, device FROM revocations")?;
        let rows = statement.query_map([], |row| <(String, String)>::try_from(row))?;
        for row in rows {
            let (document, device) = row?;
            snapshot
                .revocations
                .push((parse_document(&document)?, device));
        }
        Ok(snapshot)
    }

    fn put_device(&self, device: &Device) -> Result<(), StorageError> {
        insert_device(&*self.writer.lock().map_err(poisoned)?, device)
    }

    fn link_device(&self, device: &Device, grants: &[Grant]) -> Result<(), StorageError> {
        let mut conn = self.writer.lock().map_err(poisoned)?;
        let tx = conn.transaction()?;
        insert_device(&tx, device)?;
        for grant in grants {
            insert_grant(&tx, grant)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn retire_device(&self, device: &Device) -> Result<(), StorageError> {
        let mut conn = self.writer.lock().map_err(poisoned)?;
        let tx = conn.transaction()?;
        insert_device(&tx, device)?;
        tx.execute("DELETE FROM grants WHERE device = ?1", params![device.id])?;
        tx.commit()?;
        Ok(())
    }

    fn claim(&self, grants: &[Grant]) -> Result<(), StorageError> {
        let Some(first) = grants.first() else {
            return Ok(());
        };
        let mut conn = self.writer.lock().map_err(poisoned)?;
        let tx = conn.transaction()?;
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO claims (document, claimed_at) VALUES (?1, ?2)",
            params![first.document.to_string(), signed(first.created_at)],
        )?;
        if inserted == 0 {
            return Err(StorageError::Conflict(format!(
                "document {} is claimed already",
                first.document
            )));
        }
        for grant in grants {
            insert_grant(&tx, grant)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn revoke(&self, document: &DocumentId, device: &str, now: u64) -> Result<(), StorageError> {
        let mut conn = self.writer.lock().map_err(poisoned)?;
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM grants WHERE document = ?1 AND device = ?2",
            params![document.to_string(), device],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO revocations (document, device, revoked_at) VALUES (?1, ?2, ?3)",
            params![document.to_string(), device, signed(now)],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn lift_revocation(&self, document: &DocumentId, device: &str) -> Result<(), StorageError> {
        self.writer.lock().map_err(poisoned)?.execute(
            "DELETE FROM revocations WHERE document = ?1 AND device = ?2",
            params![document.to_string(), device],
        )?;
        Ok(())
    }

    fn load_invite(&self, code_hash: &[u8; 32]) -> Result<Option<Invite>, StorageError> {
        let conn = self.reader.lock().map_err(poisoned)?;
        let mut statement = conn.prepare_cached(
            "SELECT code_hash, document, role, party, expires_at, uses_left, created_by FROM invites WHERE code_hash = ?1",
        )?;
        let mut rows = statement.query_map(params![&code_hash[..]], invite_row)?;
        rows.next().transpose()?.map(invite_from).transpose()
    }

    fn put_invite(&self, invite: &Invite) -> Result<(), StorageError> {
        insert_invite(&*self.writer.lock().map_err(poisoned)?, invite)
    }

    fn redeem(&self, invite: &Invite, grants: &[Grant]) -> Result<(), StorageError> {
        let mut conn = self.writer.lock().map_err(poisoned)?;
        let tx = conn.transaction()?;
        let spent = tx.execute(
            "UPDATE invites SET uses_left = ?2 WHERE code_hash = ?1 AND uses_left = ?2 + 1",
            params![&invite.code_hash[..], i64::from(invite.uses_left)],
        )?;
        if spent == 0 {
            return Err(StorageError::Conflict(
                "the invite was used meanwhile".into(),
            ));
        }
        for grant in grants {
            insert_grant(&tx, grant)?;
        }
        tx.commit()?;
        Ok(())
    }
}

type InviteRow = (Vec<u8>, String, String, String, i64, i64, String);

fn invite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<InviteRow> {
    InviteRow::try_from(row)
}

fn invite_from(row: InviteRow) -> Result<Invite, StorageError> {
    let (code_hash, document, role, party, expires_at, uses_left, created_by) = row;
    Ok(Invite {
        code_hash: hash32(code_hash)?,
        document: parse_document(&document)?,
        role: parse_role(&role)?,
        party,
        expires_at: millis(expires_at),
        uses_left: u32::try_from(uses_left).unwrap_or(0),
        created_by,
    })
}

fn insert_device(conn: &Connection, device: &Device) -> Result<(), StorageError> {
    conn.execute(
        "INSERT OR REPLACE INTO devices (id, public_key, name, token_hash, created_at, account, last_seen, revoked_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            device.id,
            &device.public_key[..],
            device.name,
            &device.token_hash[..],
            signed(device.created_at),
            device.account,
            signed(device.last_seen),
            signed(device.revoked_at)
        ],
    )?;
    Ok(())
}

fn insert_grant(conn: &Connection, grant: &Grant) -> Result<(), StorageError> {
    conn.execute(
        "INSERT OR REPLACE INTO grants (document, device, role, party, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![grant.document.to_string(), grant.device, grant.role.as_str(), grant.party, signed(grant.created_at)],
    )?;
    Ok(())
}

fn insert_invite(conn: &Connection, invite: &Invite) -> Result<(), StorageError> {
    conn.execute(
        "INSERT OR REPLACE INTO invites (code_hash, document, role, party, expires_at, uses_left, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            &invite.code_hash[..],
            invite.document.to_string(),
            invite.role.as_str(),
            invite.party,
            signed(invite.expires_at),
            i64::from(invite.uses_left),
            invite.created_by
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::records::Role;

    #[test]
    fn devices_from_before_accounts_become_their_own_account() {
        let dir = std::env::temp_dir().join(format!("accord-sqlite-old-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.sqlite3");
        {
            let old = Connection::open(&path).unwrap();
            old.execute_batch(
                "CREATE TABLE devices (id TEXT PRIMARY KEY, public_key BLOB NOT NULL,
                 name TEXT NOT NULL, token_hash BLOB NOT NULL UNIQUE, created_at INTEGER NOT NULL);",
            )
            .unwrap();
            old.execute(
                "INSERT INTO devices VALUES ('dev_old', ?1, 'laptop', ?2, 5)",
                params![&[7u8; 32][..], &[8u8; 32][..]],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let devices = store.load_access().unwrap().devices;
        assert_eq!(devices.len(), 1);
        assert_eq!(
            (
                devices[0].account.as_str(),
                devices[0].last_seen,
                devices[0].revoked_at
            ),
            ("dev_old", 0, 0)
        );
        let linked = Device {
            id: "dev_new".into(),
            account: "dev_old".into(),
            token_hash: [9; 32],
            last_seen: 6,
            ..devices[0].clone()
        };
        let grant = Grant {
            document: DocumentId::from_bytes([1; 16]),
            device: "dev_new".into(),
            role: Role::Editor,
            party: "Acme".into(),
            created_at: 6,
        };
        store.link_device(&linked, &[grant]).unwrap();
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        let snapshot = store.load_access().unwrap();
        assert_eq!(snapshot.grants.len(), 1);
        let reread = snapshot.devices.iter().find(|d| d.id == "dev_new").unwrap();
        assert_eq!(reread, &linked);
        store
            .retire_device(&Device {
                revoked_at: 9,
                ..linked
            })
            .unwrap();
        let snapshot = store.load_access().unwrap();
        assert!(snapshot.grants.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A database whose `chunks` table was made before it was `WITHOUT
    /// ROWID` (the schema of the relays before this one) is rebuilt at open
    /// with every chunk, in order, and stays writable; opening it again
    /// changes nothing.
    #[test]
    fn chunks_from_the_rowid_schema_migrate_with_every_chunk() {
        let dir = std::env::temp_dir().join(format!("accord-sqlite-rowid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.sqlite3");
        let (first, second) = (
            DocumentId::from_bytes([1; 16]),
            DocumentId::from_bytes([2; 16]),
        );
        {
            let old = Connection::open(&path).unwrap();
            old.execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE chunks (document TEXT NOT NULL, seq INTEGER NOT NULL,
                     bytes BLOB NOT NULL, PRIMARY KEY (document, seq));",
            )
            .unwrap();
            // Out of order on purpose, and a gap where a replace removed chunks.
            for (document, seq, bytes) in [
                (first, 3, &b"cc"[..]),
                (second, 1, b"x"),
                (first, 1, b"a"),
                (first, 5, b"d"),
            ] {
                old.execute(
                    "INSERT INTO chunks (document, seq, bytes) VALUES (?1, ?2, ?3)",
                    params![document.to_string(), seq, bytes],
                )
                .unwrap();
            }
        }
        let clustered = |store: &SqliteStore| -> bool {
            store
                .writer
                .lock()
                .unwrap()
                .query_row(
                    "SELECT wr FROM pragma_table_list WHERE name = 'chunks'",
                    [],
                    |row| row.get(0),
                )
                .unwrap()
        };
        let store = SqliteStore::open(&path).unwrap();
        assert!(clustered(&store));
        assert_eq!(store.load(&first).unwrap().as_deref(), Some(&b"accd"[..]));
        assert_eq!(store.load(&second).unwrap().as_deref(), Some(&b"x"[..]));
        // The claims the old rows imply are recorded as before.
        assert_eq!(store.load_access().unwrap().claimed.len(), 2);
        store
            .commit(&[DocumentWrite {
                document: first,
                write: Write::Append(b"e".to_vec()),
                epoch: 0,
            }])
            .unwrap();
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        assert!(clustered(&store));
        assert_eq!(store.load(&first).unwrap().as_deref(), Some(&b"accde"[..]));
        let mut listed: Vec<_> = store
            .list()
            .unwrap()
            .iter()
            .map(|d| (d.document, d.chunks, d.bytes))
            .collect();
        listed.sort_by_key(|(document, ..)| *document.as_bytes());
        assert_eq!(listed, [(first, 4, 5), (second, 1, 1)]);
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
