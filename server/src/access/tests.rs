use std::sync::Arc;

use super::*;
use crate::storage::testing::{Backend, ScratchStore, each_backend};
use crate::storage::{MemoryStore, StorageError};

const KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

/// Access control on a fresh store of `backend`, and that store (to reload from).
fn control(backend: Backend, registration: Registration) -> (AccessControl, Arc<ScratchStore>) {
    let store = backend.open();
    (
        AccessControl::load(store.clone(), registration).unwrap(),
        store,
    )
}

fn memory_control(registration: Registration) -> (AccessControl, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    (
        AccessControl::load(store.clone(), registration).unwrap(),
        store,
    )
}

fn doc() -> DocumentId {
    DocumentId::from_bytes([5; 16])
}

fn spec(role: Role, expires_in_ms: u64, uses: u32) -> InviteSpec {
    InviteSpec {
        role,
        party: "Partner Org".into(),
        expires_in_ms,
        uses,
    }
}

fn register_authenticate_and_survive_reload(backend: Backend) {
    let (access, store) = control(backend, Registration::Open);
    let (device, token) = access.register(KEY, "laptop", None, 1).unwrap();
    assert_eq!(access.authenticate(&token).unwrap(), device.id);
    assert!(matches!(
        access.authenticate("wrong"),
        Err(AccessError::BadToken)
    ));
    let reloaded = AccessControl::load(store, Registration::Open).unwrap();
    assert_eq!(reloaded.authenticate(&token).unwrap(), device.id);
}

#[test]
fn bad_public_keys_are_refused() {
    let (access, _) = memory_control(Registration::Open);
    assert!(matches!(
        access.register("abc", "x", None, 1),
        Err(AccessError::BadPublicKey)
    ));
    assert!(matches!(
        access.register(&"zz".repeat(32), "x", None, 1),
        Err(AccessError::BadPublicKey)
    ));
}

fn claim_invite_redeem_and_revoke(backend: Backend) {
    let (access, _) = control(backend, Registration::Open);
    let (owner, _) = access.register(KEY, "owner", None, 1).unwrap();
    let (guest, _) = access.register(KEY, "guest", None, 1).unwrap();
    assert_eq!(access.check(&owner.id, &doc()), DocumentAccess::Unclaimed);
    access.claim(doc(), &owner.id, "Acme", 2).unwrap();
    assert_eq!(access.check(&guest.id, &doc()), DocumentAccess::Denied);
    assert!(matches!(
        access.claim(doc(), &guest.id, "Other", 3),
        Err(AccessError::AlreadyOwned)
    ));
    assert!(matches!(
        access.create_invite(doc(), Some(&guest.id), &spec(Role::Editor, 1000, 1), 3),
        Err(AccessError::NotOwner)
    ));
    let (code, _) = access
        .create_invite(doc(), Some(&owner.id), &spec(Role::Viewer, 1000, 1), 3)
        .unwrap();
    let grant = access.redeem(&guest.id, &code, 4).unwrap();
    assert_eq!(
        (grant.role, grant.party.as_str()),
        (Role::Viewer, "Partner Org")
    );
    assert_eq!(grant.role.sync_access(), Access::Read);
    let (third, _) = access.register(KEY, "third", None, 1).unwrap();
    assert!(matches!(
        access.redeem(&third.id, &code, 5),
        Err(AccessError::InviteUsedUp)
    ));
    access
        .revoke(&doc(), Some(&owner.id), &guest.id, 6)
        .unwrap();
    assert_eq!(access.check(&guest.id, &doc()), DocumentAccess::Denied);
    assert!(matches!(
        access.revoke(&doc(), Some(&owner.id), &guest.id, 7),
        Err(AccessError::NoSuchGrant)
    ));
}

fn expired_and_unknown_invites_are_refused_and_attempts_are_limited(backend: Backend) {
    let (access, _) = control(backend, Registration::Open);
    let (owner, _) = access.register(KEY, "owner", None, 1).unwrap();
    access.claim(doc(), &owner.id, "Acme", 2).unwrap();
    let (code, _) = access
        .create_invite(doc(), Some(&owner.id), &spec(Role::Editor, 10, 5), 100)
        .unwrap();
    let (guest, _) = access.register(KEY, "guest", None, 1).unwrap();
    assert!(matches!(
        access.redeem(&guest.id, &code, 110),
        Err(AccessError::InviteExpired)
    ));
    for _ in 0..9 {
        assert!(matches!(
            access.redeem(&guest.id, "guess", 111),
            Err(AccessError::InviteNotFound)
        ));
    }
    assert!(matches!(
        access.redeem(&guest.id, "guess", 112),
        Err(AccessError::RateLimited)
    ));
}

fn invite_only_registration_needs_and_redeems_a_code(backend: Backend) {
    let (access, _) = control(backend, Registration::Invite);
    assert!(matches!(
        access.register(KEY, "x", None, 1),
        Err(AccessError::InviteRequired)
    ));
    let (code, _) = access
        .create_invite(doc(), None, &spec(Role::Editor, 1000, 1), 1)
        .unwrap();
    let (device, _) = access.register(KEY, "x", Some(&code), 2).unwrap();
    assert!(
        matches!(access.check(&device.id, &doc()), DocumentAccess::Granted(g) if g.role == Role::Editor)
    );
}

fn a_document_stays_claimed_after_its_last_grant_is_revoked_even_across_a_reload(backend: Backend) {
    let (access, store) = control(backend, Registration::Open);
    let (owner, _) = access.register(KEY, "owner", None, 1).unwrap();
    let (stranger, _) = access.register(KEY, "stranger", None, 1).unwrap();
    access.claim(doc(), &owner.id, "Acme", 2).unwrap();
    access
        .revoke(&doc(), Some(&owner.id), &owner.id, 3)
        .unwrap();
    assert_eq!(access.check(&stranger.id, &doc()), DocumentAccess::Denied);
    assert!(matches!(
        access.claim(doc(), &stranger.id, "", 4),
        Err(AccessError::AlreadyOwned)
    ));
    let reloaded = AccessControl::load(store, Registration::Open).unwrap();
    assert_eq!(reloaded.check(&stranger.id, &doc()), DocumentAccess::Denied);
}

fn a_revoked_device_cannot_redeem_again_until_an_owner_lifts_it(backend: Backend) {
    let (access, store) = control(backend, Registration::Open);
    let (owner, _) = access.register(KEY, "owner", None, 1).unwrap();
    let (guest, _) = access.register(KEY, "guest", None, 1).unwrap();
    access.claim(doc(), &owner.id, "Acme", 2).unwrap();
    let (code, _) = access
        .create_invite(doc(), Some(&owner.id), &spec(Role::Editor, 10_000, 5), 3)
        .unwrap();
    access.redeem(&guest.id, &code, 4).unwrap();
    access
        .revoke(&doc(), Some(&owner.id), &guest.id, 5)
        .unwrap();
    assert!(matches!(
        access.redeem(&guest.id, &code, 6),
        Err(AccessError::Revoked)
    ));
    let reloaded = AccessControl::load(store, Registration::Open).unwrap();
    assert!(matches!(
        reloaded.redeem(&guest.id, &code, 7),
        Err(AccessError::Revoked)
    ));
    assert!(matches!(
        reloaded.lift_revocation(&doc(), &guest.id, &guest.id),
        Err(AccessError::NotOwner)
    ));
    reloaded
        .lift_revocation(&doc(), &owner.id, &guest.id)
        .unwrap();
    assert!(matches!(
        reloaded.check(&guest.id, &doc()),
        DocumentAccess::Denied
    ));
    reloaded.redeem(&guest.id, &code, 8).unwrap();
}

fn one_device_spends_one_use_of_an_invite(backend: Backend) {
    let (access, _) = control(backend, Registration::Open);
    let (owner, _) = access.register(KEY, "owner", None, 1).unwrap();
    let (guest, _) = access.register(KEY, "guest", None, 1).unwrap();
    let (other, _) = access.register(KEY, "other", None, 1).unwrap();
    access.claim(doc(), &owner.id, "Acme", 2).unwrap();
    let (code, _) = access
        .create_invite(doc(), Some(&owner.id), &spec(Role::Viewer, 10_000, 2), 3)
        .unwrap();
    for now in 4..8 {
        access.redeem(&guest.id, &code, now).unwrap();
    }
    let grant = access.redeem(&other.id, &code, 9).unwrap();
    assert_eq!(grant.role, Role::Viewer, "a second use was left");
}

#[test]
fn a_wrong_invite_code_does_not_reload_the_access_tables() {
    let (access, store) = memory_control(Registration::Invite);
    let loads = store.access_loads();
    for _ in 0..5 {
        assert!(matches!(
            access.register(KEY, "x", Some("made-up"), 1),
            Err(AccessError::InviteNotFound)
        ));
    }
    assert_eq!(store.access_loads(), loads);
    // An invite another process (the operator CLI) wrote is still found.
    let operator = AccessControl::load(store.clone(), Registration::Open).unwrap();
    let (code, _) = operator
        .create_invite(doc(), None, &spec(Role::Editor, 1000, 1), 1)
        .unwrap();
    access.register(KEY, "x", Some(&code), 2).unwrap();
}

/// Two relay nodes on one store: what one changes, the other sees after a refresh.
fn refresh_sees_what_another_node_changed(backend: Backend) {
    let (a, store) = control(backend, Registration::Open);
    let b = AccessControl::load(store, Registration::Open).unwrap();
    let (owner, owner_token) = a.register(KEY, "owner", None, 1).unwrap();
    let (guest, guest_token) = a.register(KEY, "guest", None, 1).unwrap();
    assert!(b.authenticate(&owner_token).is_err(), "not yet seen by b");
    a.claim(doc(), &owner.id, "Acme", 2).unwrap();
    let (code, _) = a
        .create_invite(doc(), Some(&owner.id), &spec(Role::Editor, 10_000, 1), 3)
        .unwrap();
    a.redeem(&guest.id, &code, 4).unwrap();
    assert_eq!(b.refresh().unwrap(), AccessChanges::default());
    assert_eq!(b.authenticate(&guest_token).unwrap(), guest.id);
    assert!(
        matches!(b.check(&guest.id, &doc()), DocumentAccess::Granted(g) if g.role == Role::Editor)
    );
    // The single-use invite is spent for b too.
    let (late, _) = b.register(KEY, "late", None, 5).unwrap();
    assert!(matches!(
        b.redeem(&late.id, &code, 6),
        Err(AccessError::InviteUsedUp)
    ));

    a.revoke(&doc(), Some(&owner.id), &guest.id, 7).unwrap();
    a.sign_out(&owner.id, &owner.id).unwrap();
    let changes = b.refresh().unwrap();
    assert_eq!(changes.revoked, vec![(guest.id.clone(), doc())]);
    assert_eq!(changes.signed_out, vec![owner.id.clone()]);
    assert_eq!(b.check(&guest.id, &doc()), DocumentAccess::Denied);
    assert!(b.authenticate(&owner_token).is_err());
    assert_eq!(
        b.refresh().unwrap(),
        AccessChanges::default(),
        "nothing new"
    );
}

/// Two relay nodes on one store, neither aware of the other's writes:
/// concurrent claims of one document and redemptions of a single-use invite
/// each have exactly one winner, decided by the store.
fn claims_and_single_use_invites_have_one_winner_across_nodes(backend: Backend) {
    let (a, store) = control(backend, Registration::Open);
    let b = AccessControl::load(store, Registration::Open).unwrap();
    let (owner_a, _) = a.register(KEY, "owner a", None, 1).unwrap();
    let (owner_b, _) = a.register(KEY, "owner b", None, 1).unwrap();
    let (guest_a, _) = a.register(KEY, "guest a", None, 1).unwrap();
    let (guest_b, _) = a.register(KEY, "guest b", None, 1).unwrap();
    b.refresh().unwrap();
    let (a, b) = (Arc::new(a), Arc::new(b));
    let race = |left: Box<dyn FnOnce() -> bool + Send>, right: Box<dyn FnOnce() -> bool + Send>| {
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let threads: Vec<_> = [left, right]
            .into_iter()
            .map(|attempt| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    attempt()
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|won| *won)
            .count()
    };

    let claim = |node: &Arc<AccessControl>, device: &str| -> Box<dyn FnOnce() -> bool + Send> {
        let (node, device) = (node.clone(), device.to_owned());
        Box::new(move || match node.claim(doc(), &device, "Acme", 2) {
            Ok(_) => true,
            Err(AccessError::AlreadyOwned) => false,
            Err(other) => panic!("unexpected claim error: {other}"),
        })
    };
    assert_eq!(race(claim(&a, &owner_a.id), claim(&b, &owner_b.id)), 1);
    a.refresh().unwrap();
    b.refresh().unwrap();
    let granted = |node: &AccessControl, devices: [&str; 2]| -> Vec<String> {
        devices
            .into_iter()
            .filter(|d| matches!(node.check(d, &doc()), DocumentAccess::Granted(_)))
            .map(str::to_owned)
            .collect()
    };
    let owners = granted(&a, [&owner_a.id, &owner_b.id]);
    assert_eq!(owners.len(), 1, "one owner: {owners:?}");
    assert_eq!(granted(&b, [&owner_a.id, &owner_b.id]), owners);
    let owner = owners[0].clone();

    let (code, _) = a
        .create_invite(doc(), Some(&owner), &spec(Role::Editor, 10_000, 1), 3)
        .unwrap();
    b.refresh().unwrap();
    let redeem =
        |node: &Arc<AccessControl>, device: &str, code: &str| -> Box<dyn FnOnce() -> bool + Send> {
            let (node, device, code) = (node.clone(), device.to_owned(), code.to_owned());
            Box::new(move || match node.redeem(&device, &code, 4) {
                Ok(_) => true,
                Err(AccessError::InviteUsedUp) => false,
                Err(other) => panic!("unexpected redeem error: {other}"),
            })
        };
    assert_eq!(
        race(
            redeem(&a, &guest_a.id, &code),
            redeem(&b, &guest_b.id, &code)
        ),
        1
    );
    a.refresh().unwrap();
    assert_eq!(
        granted(&a, [&guest_a.id, &guest_b.id]).len(),
        1,
        "one redemption landed"
    );
}

each_backend!(
    claims_and_single_use_invites_have_one_winner_across_nodes,
    refresh_sees_what_another_node_changed,
    register_authenticate_and_survive_reload,
    claim_invite_redeem_and_revoke,
    expired_and_unknown_invites_are_refused_and_attempts_are_limited,
    invite_only_registration_needs_and_redeems_a_code,
    a_document_stays_claimed_after_its_last_grant_is_revoked_even_across_a_reload,
    a_revoked_device_cannot_redeem_again_until_an_owner_lifts_it,
    one_device_spends_one_use_of_an_invite,
);

/// A store whose claim blocks until released, standing in for a slow fsync.
struct SlowStore {
    inner: MemoryStore,
    entered: std::sync::mpsc::SyncSender<()>,
    release: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl AccessStore for SlowStore {
    fn load_access(&self) -> Result<crate::storage::AccessSnapshot, StorageError> {
        self.inner.load_access()
    }
    fn put_device(&self, device: &Device) -> Result<(), StorageError> {
        self.inner.put_device(device)
    }
    fn claim(&self, grant: &Grant) -> Result<(), StorageError> {
        let _ = self.entered.send(());
        let _ = self.release.lock().unwrap().recv();
        self.inner.claim(grant)
    }
    fn revoke(&self, document: &DocumentId, device: &str, now: u64) -> Result<(), StorageError> {
        self.inner.revoke(document, device, now)
    }
    fn lift_revocation(&self, document: &DocumentId, device: &str) -> Result<(), StorageError> {
        self.inner.lift_revocation(document, device)
    }
    fn load_invite(&self, code_hash: &[u8; 32]) -> Result<Option<Invite>, StorageError> {
        self.inner.load_invite(code_hash)
    }
    fn put_invite(&self, invite: &Invite) -> Result<(), StorageError> {
        self.inner.put_invite(invite)
    }
    fn redeem(&self, invite: &Invite, grant: &Grant) -> Result<(), StorageError> {
        self.inner.redeem(invite, grant)
    }
}

#[test]
fn access_checks_do_not_wait_for_a_write_in_progress() {
    let (entered_tx, entered) = std::sync::mpsc::sync_channel(1);
    let (release, release_rx) = std::sync::mpsc::channel();
    let store = Arc::new(SlowStore {
        inner: MemoryStore::new(),
        entered: entered_tx,
        release: Mutex::new(release_rx),
    });
    let access = Arc::new(AccessControl::load(store, Registration::Open).unwrap());
    let (owner, token) = access.register(KEY, "owner", None, 1).unwrap();
    let claimer = {
        let access = access.clone();
        let owner = owner.id.clone();
        std::thread::spawn(move || access.claim(doc(), &owner, "Acme", 2))
    };
    entered
        .recv_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    // The claim is inside its storage write. Checks and authentication on
    // other threads answer meanwhile instead of queueing behind it.
    let (answered_tx, answered) = std::sync::mpsc::channel();
    {
        let access = access.clone();
        let owner = owner.id.clone();
        std::thread::spawn(move || {
            let check = access.check(&owner, &DocumentId::from_bytes([9; 16]));
            let who = access.authenticate(&token).map_err(|e| e.to_string());
            let _ = answered_tx.send((check, who));
        });
    }
    let answer = answered.recv_timeout(std::time::Duration::from_secs(30));
    let _ = release.send(());
    let (check, who) = answer.expect("the access check waited for the storage write");
    assert_eq!(check, DocumentAccess::Unclaimed);
    assert_eq!(who.unwrap(), owner.id);
    claimer.join().unwrap().unwrap();
}
