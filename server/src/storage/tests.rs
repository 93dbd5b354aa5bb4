//! Conformance tests every storage backend passes (see `testing`), and the
//! PostgreSQL-only behaviour: migrations, the storage id, backups.

use accord_shared::engine::Write;
use accord_shared::ids::DocumentId;

use super::records::{Device, Grant, Invite, Role};
use super::testing::{Backend, each_backend, postgres_database, scratch_dir};
use super::{
    AccessStore, DocumentStore, DocumentWrite, PostgresStore, SqliteStore, StorageError,
    StoredDocument,
};

fn append(document: DocumentId, epoch: u64, bytes: &[u8]) -> DocumentWrite {
    DocumentWrite {
        document,
        write: Write::Append(bytes.to_vec()),
        epoch,
    }
}

fn replace(document: DocumentId, epoch: u64, bytes: &[u8]) -> DocumentWrite {
    DocumentWrite {
        document,
        write: Write::Replace(bytes.to_vec()),
        epoch,
    }
}

fn device(id: &str, token: u8) -> Device {
    Device {
        id: id.into(),
        public_key: [token; 32],
        name: format!("{id}'s laptop"),
        token_hash: [token.wrapping_add(100); 32],
        created_at: 1_700_000_000_000,
        account: format!("{id}'s account"),
        last_seen: 1_700_000_100_000,
        revoked_at: 0,
    }
}

fn grant(document: DocumentId, device: &str, role: Role) -> Grant {
    Grant {
        document,
        device: device.into(),
        role,
        party: "Acme".into(),
        created_at: 1_700_000_000_001,
    }
}

fn invite(document: DocumentId, uses_left: u32) -> Invite {
    Invite {
        code_hash: [7; 32],
        document,
        role: Role::Viewer,
        party: "Partner Org".into(),
        expires_at: 1_800_000_000_000,
        uses_left,
        created_by: "operator".into(),
    }
}

fn appends_replace_and_reload(backend: Backend) {
    let store = backend.open();
    let id = DocumentId::from_bytes([1; 16]);
    let other = DocumentId::from_bytes([2; 16]);
    let (e, o) = (store.acquire(&id).unwrap(), store.acquire(&other).unwrap());
    assert_eq!(store.load(&id).unwrap(), None);
    let done = store
        .commit(&[
            append(id, e, &[1, 2]),
            append(other, o, &[5]),
            append(id, e, &[3]),
        ])
        .unwrap();
    assert!(done.fenced.is_empty());
    assert_eq!(store.load(&id).unwrap(), Some(vec![1, 2, 3]));
    store.commit(&[replace(id, e, &[9])]).unwrap();
    store.commit(&[append(id, e, &[10])]).unwrap();
    assert_eq!(store.load(&id).unwrap(), Some(vec![9, 10]));
    assert_eq!(store.load(&other).unwrap(), Some(vec![5]));
    let mut listed = store.list().unwrap();
    listed.sort_by_key(|d| d.document);
    assert_eq!(
        listed,
        vec![
            StoredDocument {
                document: id,
                chunks: 2,
                bytes: 2
            },
            StoredDocument {
                document: other,
                chunks: 1,
                bytes: 1
            }
        ]
    );
}

fn a_replace_and_appends_in_one_batch_keep_their_order(backend: Backend) {
    let store = backend.open();
    let id = DocumentId::from_bytes([3; 16]);
    let e = store.acquire(&id).unwrap();
    store
        .commit(&[append(id, e, b"a"), append(id, e, b"b")])
        .unwrap();
    store
        .commit(&[
            append(id, e, b"c"),
            replace(id, e, b"S"),
            append(id, e, b"d"),
        ])
        .unwrap();
    assert_eq!(store.load(&id).unwrap(), Some(b"Sd".to_vec()));
}

fn a_large_batch_commits_whole(backend: Backend) {
    let store = backend.open();
    let documents: Vec<DocumentId> = (0..40u8).map(|n| DocumentId::from_bytes([n; 16])).collect();
    let epochs: Vec<u64> = documents
        .iter()
        .map(|d| store.acquire(d).unwrap())
        .collect();
    let batch: Vec<DocumentWrite> = (0..1024usize)
        .map(|n| {
            let i = n % documents.len();
            append(documents[i], epochs[i], &[u8::try_from(n % 251).unwrap()])
        })
        .collect();
    store.commit(&batch).unwrap();
    for (index, document) in documents.iter().enumerate() {
        let expected: Vec<u8> = (index..1024)
            .step_by(documents.len())
            .map(|n| u8::try_from(n % 251).unwrap())
            .collect();
        assert_eq!(store.load(document).unwrap(), Some(expected));
    }
}

fn access_records_round_trip(backend: Backend) {
    let store = backend.open();
    let doc = DocumentId::from_bytes([4; 16]);
    let (alice, bob) = (device("alice", 1), device("bob", 2));
    store.put_device(&alice).unwrap();
    store.put_device(&bob).unwrap();
    let renamed = Device {
        name: "renamed".into(),
        ..alice.clone()
    };
    store.put_device(&renamed).unwrap();
    store.claim(&[grant(doc, "alice", Role::Owner)]).unwrap();
    store.put_invite(&invite(doc, 2)).unwrap();
    assert_eq!(store.load_invite(&[7; 32]).unwrap(), Some(invite(doc, 2)));
    assert_eq!(store.load_invite(&[8; 32]).unwrap(), None);
    store
        .redeem(&invite(doc, 1), &[grant(doc, "bob", Role::Viewer)])
        .unwrap();
    store.revoke(&doc, "bob", 5).unwrap();
    store.revoke(&doc, "bob", 6).unwrap();

    let mut snapshot = store.load_access().unwrap();
    snapshot.devices.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(snapshot.devices, vec![renamed, bob]);
    assert_eq!(snapshot.grants, vec![grant(doc, "alice", Role::Owner)]);
    assert_eq!(snapshot.invites, vec![invite(doc, 1)]);
    assert_eq!(snapshot.claimed, vec![doc]);
    assert_eq!(snapshot.revocations, vec![(doc, "bob".to_owned())]);

    store.lift_revocation(&doc, "bob").unwrap();
    assert!(store.load_access().unwrap().revocations.is_empty());
    // A second claim of a claimed document is refused and writes nothing.
    assert!(matches!(
        store.claim(&[grant(doc, "bob", Role::Owner)]),
        Err(StorageError::Conflict(_))
    ));
    let after = store.load_access().unwrap();
    assert_eq!(after.claimed, vec![doc]);
    assert_eq!(after.grants, vec![grant(doc, "alice", Role::Owner)]);
    // A redemption decided on a stale use count is refused and writes nothing.
    assert!(matches!(
        store.redeem(&invite(doc, 1), &[grant(doc, "carol", Role::Viewer)]),
        Err(StorageError::Conflict(_))
    ));
    store
        .redeem(&invite(doc, 0), &[grant(doc, "carol", Role::Viewer)])
        .unwrap();
    assert!(matches!(
        store.redeem(&invite(doc, 0), &[grant(doc, "dave", Role::Viewer)]),
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(store.load_invite(&[7; 32]).unwrap(), Some(invite(doc, 0)));
    assert_eq!(store.load_access().unwrap().grants.len(), 2);
}

fn linked_devices_take_grants_and_a_retired_one_loses_them(backend: Backend) {
    let store = backend.open();
    let (first, second) = (
        DocumentId::from_bytes([4; 16]),
        DocumentId::from_bytes([5; 16]),
    );
    let laptop = device("laptop", 1);
    store.put_device(&laptop).unwrap();
    store.claim(&[grant(first, "laptop", Role::Owner)]).unwrap();
    store
        .claim(&[grant(second, "laptop", Role::Editor)])
        .unwrap();
    let phone = Device {
        account: laptop.account.clone(),
        ..device("phone", 2)
    };
    let taken = [
        grant(first, "phone", Role::Owner),
        grant(second, "phone", Role::Editor),
    ];
    store.link_device(&phone, &taken).unwrap();
    let snapshot = store.load_access().unwrap();
    assert!(
        snapshot.devices.contains(&phone),
        "account and last seen kept"
    );
    assert_eq!(snapshot.grants.len(), 4);

    let retired = Device {
        token_hash: [0; 32],
        revoked_at: 1_700_000_200_000,
        ..phone
    };
    store.retire_device(&retired).unwrap();
    let snapshot = store.load_access().unwrap();
    assert!(snapshot.devices.contains(&retired));
    let mut holders: Vec<&str> = snapshot.grants.iter().map(|g| g.device.as_str()).collect();
    holders.sort_unstable();
    assert_eq!(holders, ["laptop", "laptop"]);
}

each_backend!(
    linked_devices_take_grants_and_a_retired_one_loses_them,
    appends_replace_and_reload,
    a_replace_and_appends_in_one_batch_keep_their_order,
    a_large_batch_commits_whole,
    access_records_round_trip,
);

#[test]
fn postgres_schema_is_migrated_once_and_a_newer_one_is_refused() {
    let url = postgres_database();
    let first = PostgresStore::open(&url).unwrap();
    assert_eq!(
        first.schema_version().unwrap(),
        super::migrations::latest(super::migrations::MIGRATIONS)
    );
    let id = DocumentId::from_bytes([6; 16]);
    let epoch = first.acquire(&id).unwrap();
    first.commit(&[append(id, epoch, b"kept")]).unwrap();
    drop(first);
    // Opening again migrates nothing and keeps the data.
    let second = PostgresStore::open(&url).unwrap();
    assert_eq!(second.load(&id).unwrap(), Some(b"kept".to_vec()));
    let name = url.rsplit('/').next().unwrap();
    accord_testpg::Cluster::shared()
        .psql(
            name,
            "INSERT INTO accord_schema_migrations (version, description) VALUES (999, 'future')",
        )
        .unwrap();
    drop(second);
    let error = PostgresStore::open(&url).unwrap_err();
    assert!(
        matches!(error, StorageError::Schema(_)),
        "unexpected error: {error}"
    );
    assert!(error.to_string().contains("version 999"), "{error}");
}

#[test]
fn postgres_relays_on_one_database_share_the_first_storage_id() {
    let url = postgres_database();
    let a = PostgresStore::open(&url).unwrap();
    let b = PostgresStore::open(&url).unwrap();
    assert_eq!(a.storage_id("accord-first").unwrap(), "accord-first");
    assert_eq!(b.storage_id("accord-second").unwrap(), "accord-first");
}

#[test]
fn postgres_refuses_an_unreachable_server_with_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = PostgresStore::open(&format!("postgres://nobody@127.0.0.1:{port}/none"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("postgres"), "{error}");
    let error = PostgresStore::open("postgres://[bad")
        .unwrap_err()
        .to_string();
    assert!(error.contains("bad connection URL"), "{error}");
}

#[test]
fn a_postgres_backup_is_a_sqlite_database_with_everything() {
    let source = PostgresStore::open(&postgres_database()).unwrap();
    let doc = DocumentId::from_bytes([8; 16]);
    source.put_device(&device("alice", 1)).unwrap();
    source.claim(&[grant(doc, "alice", Role::Owner)]).unwrap();
    source.put_invite(&invite(doc, 3)).unwrap();
    source.revoke(&doc, "bob", 9).unwrap();
    let epoch = source.acquire(&doc).unwrap();
    source
        .commit(&[append(doc, epoch, b"one"), append(doc, epoch, b"two")])
        .unwrap();
    let dir = scratch_dir();
    let target = dir.join("backup.sqlite3");
    source.backup(&target).unwrap();

    let copy = SqliteStore::open(&target).unwrap();
    assert_eq!(copy.load(&doc).unwrap(), Some(b"onetwo".to_vec()));
    assert_eq!(copy.list().unwrap(), source.list().unwrap());
    let (copied, original) = (copy.load_access().unwrap(), source.load_access().unwrap());
    assert_eq!(copied.devices, original.devices);
    assert_eq!(copied.grants, original.grants);
    assert_eq!(copied.invites, original.invites);
    assert_eq!(copied.claimed, original.claimed);
    assert_eq!(copied.revocations, original.revocations);
    drop(copy);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Two relay nodes on one database, as two stores with their own node ids.
fn two_nodes(lease_ttl_ms: u64) -> (PostgresStore, PostgresStore) {
    let url = postgres_database();
    (
        PostgresStore::open(&url)
            .unwrap()
            .with_node("node-a", lease_ttl_ms),
        PostgresStore::open(&url)
            .unwrap()
            .with_node("node-b", lease_ttl_ms),
    )
}

#[test]
fn postgres_one_owner_per_document_until_its_lease_lapses_then_the_old_owner_is_fenced() {
    let (a, b) = two_nodes(400);
    let doc = DocumentId::from_bytes([20; 16]);
    let first = a.acquire(&doc).unwrap();
    assert_eq!(first, 1);
    match b.acquire(&doc) {
        Err(StorageError::OwnedElsewhere { node }) => assert_eq!(node, "node-a"),
        other => panic!("node b took a held document: {other:?}"),
    }
    assert!(
        a.commit(&[append(doc, first, b"a1")])
            .unwrap()
            .fenced
            .is_empty()
    );
    assert_eq!(a.renew(&[(doc, first)]).unwrap(), vec![doc]);

    // Node a stops renewing (paused); once its lease lapses, b takes over.
    std::thread::sleep(std::time::Duration::from_millis(600));
    let second = b.acquire(&doc).unwrap();
    assert_eq!(second, first + 1, "a takeover bumps the epoch");
    assert_eq!(b.load(&doc).unwrap(), Some(b"a1".to_vec()));

    // Node a wakes up and commits under its old epoch: refused, nothing written.
    let other = DocumentId::from_bytes([21; 16]);
    let other_epoch = a.acquire(&other).unwrap();
    let done = a
        .commit(&[
            append(doc, first, b"stale"),
            append(other, other_epoch, b"fine"),
        ])
        .unwrap();
    assert_eq!(done.fenced, vec![(doc, first)]);
    assert_eq!(
        a.load(&other).unwrap(),
        Some(b"fine".to_vec()),
        "the rest commits"
    );
    assert!(
        a.renew(&[(doc, first)]).unwrap().is_empty(),
        "a's lease is gone"
    );
    assert!(
        b.commit(&[append(doc, second, b"b1")])
            .unwrap()
            .fenced
            .is_empty()
    );
    assert_eq!(b.load(&doc).unwrap(), Some(b"a1b1".to_vec()));
}

#[test]
fn postgres_a_released_document_is_taken_at_once_and_a_restarted_node_retakes_its_own() {
    let (a, b) = two_nodes(60_000);
    let doc = DocumentId::from_bytes([22; 16]);
    let first = a.acquire(&doc).unwrap();
    // The same node id (a restart) takes its own document back at once,
    // fencing whatever the previous process still had in flight.
    let again = a.acquire(&doc).unwrap();
    assert_eq!(again, first + 1);
    assert_eq!(
        a.commit(&[append(doc, first, b"old")]).unwrap().fenced,
        vec![(doc, first)]
    );
    assert!(matches!(
        b.acquire(&doc),
        Err(StorageError::OwnedElsewhere { .. })
    ));
    // Releasing an old epoch changes nothing; the current one frees it.
    a.release(&doc, first).unwrap();
    assert!(matches!(
        b.acquire(&doc),
        Err(StorageError::OwnedElsewhere { .. })
    ));
    a.release(&doc, again).unwrap();
    assert_eq!(b.acquire(&doc).unwrap(), again + 1);
}
