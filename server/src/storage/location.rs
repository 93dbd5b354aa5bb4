//! Where a relay keeps its data, chosen with `--store` / `ACCORD_STORE`:
//! SQLite in the data directory (the default) or a PostgreSQL database.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{PostgresStore, SqliteStore, Storage, StorageError};

/// The SQLite file's name inside the data directory.
pub const SQLITE_FILE: &str = "accord.sqlite3";

/// Where the relay's data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (it may hold a password: never logged).
    Postgres(String),
}

impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

/// A `--store` value that is not a PostgreSQL URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--store takes a PostgreSQL URL (postgres://user:password@host:port/database); \
     without it the relay keeps SQLite in --data-dir"
)]
pub struct UnknownStore;

impl StoreLocation {
    /// `store` (from `--store`), or SQLite in `data_dir` when it is absent or empty.
    pub fn choose(store: Option<&str>, data_dir: &Path) -> Result<Self, UnknownStore> {
        match store.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(Self::Sqlite(data_dir.join(SQLITE_FILE))),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Self::Postgres(url.to_owned()))
            }
            Some(_) => Err(UnknownStore),
        }
    }

    /// What to call it in logs (no credentials).
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite {}", path.display()),
            Self::Postgres(_) => "postgres".to_owned(),
        }
    }
}

/// An opened store of either kind.
pub enum AnyStore {
    /// SQLite.
    Sqlite(SqliteStore),
    /// PostgreSQL.
    Postgres(PostgresStore),
}

impl AnyStore {
    /// Opens (creating or migrating) the store at `location`.
    pub fn open(location: &StoreLocation) -> Result<Self, StorageError> {
        Ok(match location {
            StoreLocation::Sqlite(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                Self::Sqlite(SqliteStore::open(path)?)
            }
            StoreLocation::Postgres(url) => Self::Postgres(PostgresStore::open(url)?),
        })
    }

    /// Writes a consistent copy to a new SQLite database file at `target`.
    pub fn backup(&self, target: &Path) -> Result<(), StorageError> {
        match self {
            Self::Sqlite(store) => store.backup(target),
            Self::Postgres(store) => store.backup(target),
        }
    }

    /// As a shared storage backend for the relay.
    pub fn into_storage(self) -> Arc<dyn Storage> {
        match self {
            Self::Sqlite(store) => Arc::new(store),
            Self::Postgres(store) => Arc::new(store),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_unless_a_postgres_url_is_given() {
        let dir = Path::new("/data");
        assert_eq!(
            StoreLocation::choose(None, dir).unwrap(),
            StoreLocation::Sqlite(dir.join(SQLITE_FILE))
        );
        assert_eq!(
            StoreLocation::choose(Some(" "), dir).unwrap(),
            StoreLocation::Sqlite(dir.join(SQLITE_FILE))
        );
        for url in ["postgres://a@h/db", "postgresql://a:secret@h:5432/db"] {
            let location = StoreLocation::choose(Some(url), dir).unwrap();
            assert_eq!(location, StoreLocation::Postgres(url.into()));
            assert!(!format!("{location:?} {}", location.describe()).contains("secret"));
        }
        assert_eq!(
            StoreLocation::choose(Some("mysql://x"), dir),
            Err(UnknownStore)
        );
    }
}
