use std::sync::Arc;

use super::*;
use crate::storage::MemoryStore;
use crate::storage::testing::{Backend, ScratchStore, each_backend};

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

/// An owner (registered at 1) who claimed [`doc`] at 2, a guest (registered
/// at 1), and the code of an invite the owner created at 3 for `role` with
/// `uses` uses, valid for 10 s.
fn owner_guest_and_invite(
    access: &AccessControl,
    role: Role,
    uses: u32,
) -> (Device, Device, String) {
    let (owner, _) = access.register(KEY, "owner", None, 1).unwrap();
    let (guest, _) = access.register(KEY, "guest", None, 1).unwrap();
    access.claim(doc(), &owner.id, "Acme", 2).unwrap();
    let (code, _) = access
        .create_invite(doc(), Some(&owner.id), &spec(role, 10_000, uses), 3)
        .unwrap();
    (owner, guest, code)
}

fn a_revoked_device_cannot_redeem_again_until_an_owner_lifts_it(backend: Backend) {
    let (access, store) = control(backend, Registration::Open);
    let (owner, guest, code) = owner_guest_and_invite(&access, Role::Editor, 5);
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
    let (_, guest, code) = owner_guest_and_invite(&access, Role::Viewer, 2);
    let (other, _) = access.register(KEY, "other", None, 1).unwrap();
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
    a_linked_device_joins_the_account_with_the_same_grants,
    a_link_code_works_once_even_when_two_devices_race,
    expired_reused_and_unknown_link_codes_are_refused,
    link_codes_are_limited_per_account,
    revoking_a_device_cuts_its_token_and_grants_but_only_within_the_account,
    last_seen_is_exact_in_memory_and_stored_every_few_minutes,
    what_one_device_gains_later_all_devices_of_the_account_gain,
);

#[test]
fn access_checks_do_not_wait_for_a_write_in_progress() {
    let (entered_tx, entered) = std::sync::mpsc::sync_channel(1);
    let (release, release_rx) = std::sync::mpsc::channel();
    // Claims block until released, standing in for a slow fsync.
    let release_rx = Mutex::new(release_rx);
    let store = Arc::new(ScratchStore::memory_claiming_after(move || {
        let _ = entered_tx.send(());
        let _ = release_rx.lock().unwrap().recv();
    }));
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

const KEY_B: &str = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";

fn a_linked_device_joins_the_account_with_the_same_grants(backend: Backend) {
    let (access, store) = control(backend, Registration::Invite);
    let operator = AccessControl::load(store.clone(), Registration::Invite).unwrap();
    let (code, _) = operator
        .create_invite(doc(), None, &spec(Role::Editor, 1000, 1), 1)
        .unwrap();
    let (laptop, _) = access.register(KEY, "laptop", Some(&code), 2).unwrap();
    let other = DocumentId::from_bytes([6; 16]);
    access.claim(other, &laptop.id, "Acme", 3).unwrap();
    let (code, link) = access.create_link(&laptop.id, None, 10).unwrap();
    assert_eq!(link.expires_at, 10 + links::DEFAULT_LINK_TTL_MS);
    // Registration is invite-only, but a link code is enough.
    let phone = access
        .register_linked(KEY_B, "phone", &links::display(&code), 20)
        .unwrap();
    assert_eq!(phone.device.account, laptop.id);
    assert_eq!(phone.linked_by_key, KEY);
    assert_eq!(access.authenticate(&phone.token).unwrap(), phone.device.id);
    let roles = |device: &str| {
        let mut grants: Vec<(DocumentId, Role, String)> = access
            .grants_of(device)
            .into_iter()
            .map(|g| (g.document, g.role, g.party))
            .collect();
        grants.sort_by_key(|g| g.0.to_string());
        grants
    };
    assert_eq!(roles(&phone.device.id), roles(&laptop.id));
    assert_eq!(roles(&phone.device.id).len(), 2);
    let listed = access.account_devices(&phone.device.id).unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|d| (d.name.as_str(), d.this_device))
            .collect::<Vec<_>>(),
        [("laptop", false), ("phone", true)]
    );
    assert_eq!(listed[1].public_key, KEY_B);
    // The phone's key is attested on both partnerships.
    let keys = access.keys_on(&other, &laptop.id).unwrap();
    assert!(keys.iter().any(|k| k.public_key == KEY_B));
    // Everything survives a restart.
    let reloaded = AccessControl::load(store, Registration::Invite).unwrap();
    assert_eq!(reloaded.account_devices(&laptop.id).unwrap().len(), 2);
    assert_eq!(reloaded.grants_of(&phone.device.id).len(), 2);
}

fn a_link_code_works_once_even_when_two_devices_race(backend: Backend) {
    let (access, _) = control(backend, Registration::Open);
    let access = Arc::new(access);
    let (laptop, _) = access.register(KEY, "laptop", None, 1).unwrap();
    access.claim(doc(), &laptop.id, "Acme", 2).unwrap();
    for round in 0..20u64 {
        let (code, _) = access.create_link(&laptop.id, None, 100 + round).unwrap();
        let start = Arc::new(std::sync::Barrier::new(2));
        let racers: Vec<_> = (0..2)
            .map(|i| {
                let (access, start, code) = (access.clone(), start.clone(), code.clone());
                std::thread::spawn(move || {
                    start.wait();
                    access.register_linked(KEY_B, &format!("phone {i}"), &code, 200 + round)
                })
            })
            .collect();
        let results: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        let winners = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1, "round {round}: {results:?}");
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(AccessError::Link(links::LinkRefusal::Used))))
        );
        // Stay under the per-account limit.
        *access.link_limiter.lock().unwrap() =
            RateLimiter::new(links::LINKS_PER_ACCOUNT, links::LINK_WINDOW_MS);
    }
    // One device per round joined.
    assert_eq!(access.account_devices(&laptop.id).unwrap().len(), 21);
}

fn expired_reused_and_unknown_link_codes_are_refused(backend: Backend) {
    let (access, _) = control(backend, Registration::Open);
    let (laptop, _) = access.register(KEY, "laptop", None, 1).unwrap();
    let (code, _) = access.create_link(&laptop.id, Some(1000), 10).unwrap();
    assert!(matches!(
        access.register_linked(KEY_B, "phone", &code, 1010),
        Err(AccessError::Link(links::LinkRefusal::Expired))
    ));
    let (code, _) = access.create_link(&laptop.id, Some(1000), 10).unwrap();
    access.register_linked(KEY_B, "phone", &code, 20).unwrap();
    assert!(matches!(
        access.register_linked(KEY_B, "again", &code, 21),
        Err(AccessError::Link(links::LinkRefusal::Used))
    ));
    assert!(matches!(
        access.register_linked(KEY_B, "x", "ABCD-EFGH-JKMN", 21),
        Err(AccessError::Link(links::LinkRefusal::Unknown))
    ));
    assert!(matches!(
        access.register_linked("nonsense", "x", &code, 21),
        Err(AccessError::BadPublicKey)
    ));
    for bad in [0, 999, links::MAX_LINK_TTL_MS + 1] {
        assert!(matches!(
            access.create_link(&laptop.id, Some(bad), 30),
            Err(AccessError::Invalid(_))
        ));
    }
    // Failed attempts above spent nothing: 3 codes made so far.
    assert_eq!(access.account_devices(&laptop.id).unwrap().len(), 2);
}

fn link_codes_are_limited_per_account(backend: Backend) {
    let (access, _) = control(backend, Registration::Open);
    let (laptop, _) = access.register(KEY, "laptop", None, 1).unwrap();
    let (code, _) = access.create_link(&laptop.id, None, 1).unwrap();
    let phone = access.register_linked(KEY_B, "phone", &code, 2).unwrap();
    // The phone shares its account's allowance.
    for _ in 1..links::LINKS_PER_ACCOUNT {
        access.create_link(&phone.device.id, None, 3).unwrap();
    }
    assert!(matches!(
        access.create_link(&laptop.id, None, 4),
        Err(AccessError::RateLimited)
    ));
    access
        .create_link(&laptop.id, None, 1 + links::LINK_WINDOW_MS)
        .unwrap();
    let (stranger, _) = access.register(KEY, "stranger", None, 5).unwrap();
    access.create_link(&stranger.id, None, 6).unwrap();
}

fn revoking_a_device_cuts_its_token_and_grants_but_only_within_the_account(backend: Backend) {
    let (access, store) = control(backend, Registration::Open);
    let (laptop, laptop_token) = access.register(KEY, "laptop", None, 1).unwrap();
    access.claim(doc(), &laptop.id, "Acme", 2).unwrap();
    let (code, _) = access.create_link(&laptop.id, None, 3).unwrap();
    let phone = access.register_linked(KEY_B, "phone", &code, 4).unwrap();
    let (stranger, _) = access.register(KEY, "stranger", None, 5).unwrap();
    assert!(matches!(
        access.revoke_device(&stranger.id, &phone.device.id, 6),
        Err(AccessError::NotYourDevice)
    ));
    assert!(matches!(
        access.revoke_device(&laptop.id, &laptop.id, 6),
        Err(AccessError::Invalid(_))
    ));
    access
        .revoke_device(&laptop.id, &phone.device.id, 7)
        .unwrap();
    assert!(matches!(
        access.authenticate(&phone.token),
        Err(AccessError::BadToken)
    ));
    assert!(access.grants_of(&phone.device.id).is_empty());
    assert_eq!(
        access.check(&phone.device.id, &doc()),
        DocumentAccess::Denied
    );
    assert!(
        !access
            .keys_on(&doc(), &laptop.id)
            .unwrap()
            .iter()
            .any(|k| k.device == phone.device.id)
    );
    assert_eq!(access.account_devices(&laptop.id).unwrap().len(), 1);
    assert!(matches!(
        access.revoke_device(&laptop.id, &phone.device.id, 8),
        Err(AccessError::NotYourDevice)
    ));
    assert_eq!(access.authenticate(&laptop_token).unwrap(), laptop.id);
    let reloaded = AccessControl::load(store, Registration::Open).unwrap();
    assert!(reloaded.authenticate(&phone.token).is_err());
    assert!(reloaded.grants_of(&phone.device.id).is_empty());
    assert_eq!(reloaded.account_devices(&laptop.id).unwrap().len(), 1);
}

fn last_seen_is_exact_in_memory_and_stored_every_few_minutes(backend: Backend) {
    let (access, store) = control(backend, Registration::Open);
    let (laptop, _) = access.register(KEY, "laptop", None, 1000).unwrap();
    assert!(access.saw(&laptop.id, 2000).is_none(), "stored recently");
    assert_eq!(
        access.account_devices(&laptop.id).unwrap()[0].last_seen,
        2000
    );
    let later = 1000 + accounts::LAST_SEEN_PRECISION_MS + 1;
    assert!(access.saw(&laptop.id, later).is_some());
    access.store_last_seen(&laptop.id, later).unwrap();
    let reloaded = AccessControl::load(store, Registration::Open).unwrap();
    assert_eq!(
        reloaded.account_devices(&laptop.id).unwrap()[0].last_seen,
        later
    );
}

fn what_one_device_gains_later_all_devices_of_the_account_gain(backend: Backend) {
    let (access, store) = control(backend, Registration::Open);
    let (laptop, _) = access.register(KEY, "laptop", None, 1).unwrap();
    let (code, _) = access.create_link(&laptop.id, None, 2).unwrap();
    let phone = access.register_linked(KEY_B, "phone", &code, 3).unwrap();
    let (code, _) = access.create_link(&laptop.id, None, 4).unwrap();
    let tablet = access.register_linked(KEY_B, "tablet", &code, 5).unwrap();
    access
        .revoke_device(&laptop.id, &tablet.device.id, 6)
        .unwrap();
    // The phone creates a partnership: the laptop owns it too.
    access.claim(doc(), &phone.device.id, "Acme", 7).unwrap();
    assert_eq!(
        access.check(&laptop.id, &doc()),
        DocumentAccess::Granted(Grant {
            document: doc(),
            device: laptop.id.clone(),
            role: Role::Owner,
            party: "Acme".into(),
            created_at: 7,
        })
    );
    // The laptop joins a partner's partnership: the phone joins it too,
    // the revoked tablet does not.
    let (partner, _) = access.register(KEY, "partner", None, 8).unwrap();
    let theirs = DocumentId::from_bytes([8; 16]);
    access.claim(theirs, &partner.id, "Globex", 9).unwrap();
    assert!(
        !matches!(
            access.check(&laptop.id, &theirs),
            DocumentAccess::Granted(_)
        ),
        "another account's claim grants nothing here"
    );
    let (invite, _) = access
        .create_invite(theirs, Some(&partner.id), &spec(Role::Editor, 1000, 1), 10)
        .unwrap();
    access.redeem(&laptop.id, &invite, 11).unwrap();
    for device in [&laptop.id, &phone.device.id] {
        assert!(matches!(
            access.check(device, &theirs),
            DocumentAccess::Granted(Grant {
                role: Role::Editor,
                ..
            })
        ));
    }
    assert_eq!(
        access.check(&tablet.device.id, &theirs),
        DocumentAccess::Denied
    );
    // An owner revokes the phone there: a later upgrade of the laptop does
    // not bring it back.
    access
        .revoke(&theirs, Some(&partner.id), &phone.device.id, 12)
        .unwrap();
    let (upgrade, _) = access
        .create_invite(theirs, Some(&partner.id), &spec(Role::Owner, 1000, 1), 13)
        .unwrap();
    access.redeem(&laptop.id, &upgrade, 14).unwrap();
    assert_eq!(
        access.check(&phone.device.id, &theirs),
        DocumentAccess::Denied
    );
    let reloaded = AccessControl::load(store, Registration::Open).unwrap();
    assert_eq!(reloaded.grants_of(&phone.device.id).len(), 1);
    assert_eq!(reloaded.grants_of(&laptop.id).len(), 2);
}
