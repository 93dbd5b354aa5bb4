use std::sync::Arc;

use super::*;
use crate::storage::MemoryStore;

const KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

fn control(registration: Registration) -> (AccessControl, Arc<MemoryStore>) {
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

#[test]
fn register_authenticate_and_survive_reload() {
    let (access, store) = control(Registration::Open);
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
    let (access, _) = control(Registration::Open);
    assert!(matches!(
        access.register("abc", "x", None, 1),
        Err(AccessError::BadPublicKey)
    ));
    assert!(matches!(
        access.register(&"zz".repeat(32), "x", None, 1),
        Err(AccessError::BadPublicKey)
    ));
}

#[test]
fn claim_invite_redeem_and_revoke() {
    let (access, _) = control(Registration::Open);
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
    access.revoke(&doc(), Some(&owner.id), &guest.id).unwrap();
    assert_eq!(access.check(&guest.id, &doc()), DocumentAccess::Denied);
    assert!(matches!(
        access.revoke(&doc(), Some(&owner.id), &guest.id),
        Err(AccessError::NoSuchGrant)
    ));
}

#[test]
fn expired_and_unknown_invites_are_refused_and_attempts_are_limited() {
    let (access, _) = control(Registration::Open);
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

#[test]
fn invite_only_registration_needs_and_redeems_a_code() {
    let (access, _) = control(Registration::Invite);
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
