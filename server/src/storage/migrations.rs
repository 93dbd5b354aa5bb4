//! The PostgreSQL schema as numbered migrations, and the decision which of
//! them a database still needs (sans-IO; `postgres.rs` runs the SQL).
//!
//! The relay migrates its own schema at start: the table
//! `accord_schema_migrations` holds one row per applied version. A database
//! whose newest version is above the newest this build knows was migrated
//! by a newer relay; starting on it could misread or damage data, so the
//! relay refuses with [`SchemaError::TooNew`].

/// One step of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Its number; versions start at 1 and have no gaps.
    pub version: i32,
    /// What it does (stored with the version).
    pub description: &'static str,
    /// The SQL, run in the same transaction as its version row.
    pub sql: &'static str,
}

/// The table that records applied versions (created before anything else).
pub const MIGRATIONS_TABLE: &str = "
CREATE TABLE IF NOT EXISTS accord_schema_migrations (
    version integer PRIMARY KEY,
    description text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

/// Every migration this build knows, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "documents, access records and cluster metadata",
        sql: "
CREATE TABLE cluster_meta (
    key text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE chunks (
    document text NOT NULL,
    seq bigint NOT NULL,
    bytes bytea NOT NULL,
    PRIMARY KEY (document, seq)
);
CREATE TABLE devices (
    id text PRIMARY KEY,
    public_key bytea NOT NULL,
    name text NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    created_at bigint NOT NULL
);
CREATE TABLE grants (
    document text NOT NULL,
    device text NOT NULL,
    role text NOT NULL,
    party text NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (document, device)
);
CREATE TABLE invites (
    code_hash bytea PRIMARY KEY,
    document text NOT NULL,
    role text NOT NULL,
    party text NOT NULL,
    expires_at bigint NOT NULL,
    uses_left bigint NOT NULL,
    created_by text NOT NULL
);
CREATE TABLE claims (
    document text PRIMARY KEY,
    claimed_at bigint NOT NULL
);
CREATE TABLE revocations (
    document text NOT NULL,
    device text NOT NULL,
    revoked_at bigint NOT NULL,
    PRIMARY KEY (document, device)
);
",
    },
    Migration {
        version: 2,
        description: "document ownership: one node per document, with an epoch and a lease",
        sql: "
CREATE TABLE document_owner (
    document text PRIMARY KEY,
    node_id text NOT NULL,
    epoch bigint NOT NULL,
    lease_until timestamptz NOT NULL
);
CREATE INDEX document_owner_node ON document_owner (node_id);
",
    },
    Migration {
        version: 3,
        description: "linked devices: each device's account, last use and revocation",
        sql: "
ALTER TABLE devices ADD COLUMN account text NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN last_seen bigint NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN revoked_at bigint NOT NULL DEFAULT 0;
",
    },
    Migration {
        version: 4,
        description: "relay nodes: link URLs, heartbeats, the access version each node applied; sync tickets any node redeems",
        sql: "
CREATE TABLE nodes (
    node_id text PRIMARY KEY,
    link_url text,
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    access_seen bigint NOT NULL DEFAULT 0
);
CREATE SEQUENCE access_version;
CREATE TABLE sync_tickets (
    ticket_hash bytea PRIMARY KEY,
    device text NOT NULL,
    token_hash bytea NOT NULL,
    issued_at bigint NOT NULL
);
CREATE INDEX sync_tickets_device ON sync_tickets (device, issued_at);
",
    },
];

/// Why a database's schema cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// A newer relay migrated this database.
    #[error(
        "the database schema is at version {found}, but this relay knows versions up to {known}: \
         it was migrated by a newer relay; run that version (or newer) against it"
    )]
    TooNew {
        /// The newest version recorded in the database.
        found: i32,
        /// The newest version this build knows.
        known: i32,
    },
}

/// The newest version this build knows.
pub fn latest(known: &[Migration]) -> i32 {
    known.last().map_or(0, |m| m.version)
}

/// The migrations a database at `applied` (its newest recorded version,
/// `None` when it has none) still needs, in order.
pub fn pending(applied: Option<i32>, known: &[Migration]) -> Result<&[Migration], SchemaError> {
    let applied = applied.unwrap_or(0);
    let newest = latest(known);
    if applied > newest {
        return Err(SchemaError::TooNew {
            found: applied,
            known: newest,
        });
    }
    let start = known.partition_point(|m| m.version <= applied);
    Ok(&known[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[Migration] = &[
        Migration {
            version: 1,
            description: "one",
            sql: "",
        },
        Migration {
            version: 2,
            description: "two",
            sql: "",
        },
    ];

    #[test]
    fn a_fresh_database_needs_every_migration() {
        assert_eq!(pending(None, KNOWN).unwrap(), KNOWN);
    }

    #[test]
    fn only_newer_migrations_run() {
        assert_eq!(pending(Some(1), KNOWN).unwrap(), &KNOWN[1..]);
        assert!(pending(Some(2), KNOWN).unwrap().is_empty());
    }

    #[test]
    fn a_schema_from_a_newer_relay_is_refused() {
        let error = pending(Some(3), KNOWN).unwrap_err();
        assert_eq!(error, SchemaError::TooNew { found: 3, known: 2 });
        assert!(error.to_string().contains("newer relay"));
    }

    #[test]
    fn the_known_migrations_are_numbered_from_one_without_gaps() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, i32::try_from(index).unwrap() + 1);
        }
    }
}
