//! People, their devices and the partnership managers.
//!
//! - `members{id → {name, party, title, public_key, left_at}}`: a member who
//!   leaves keeps their entry (with `left_at`) so past changes stay
//!   attributable.
//! - `devices{actor hex → member id}`: every Automerge actor (one per device)
//!   maps to a member, and so to a party: this is how history says who
//!   changed what.
//! - `governance.managers{member id → true}`: the partnership managers.

use automerge::{ActorId, ObjId, ROOT, ReadDoc};

use super::error::{OpError, OpResult};
use super::fields::{
    Tx, check_date, child_map, get_bool, get_parsed, get_str, get_string, get_u64, non_empty,
    patch_non_empty, patch_put, patch_put_opt, put, put_opt,
};
use super::ids::{ItemId, MemberId, PartyId, from_hex, to_hex};
use super::items;
use super::keys::{DEVICES, GOVERNANCE, MEMBER_LEFT_AT as LEFT_AT, MEMBER_PARTY as PARTY, MEMBERS};
use super::refs;

pub(crate) const MANAGERS: &str = "managers";
const NAME: &str = "name";
const TITLE: &str = "title";
const PUBLIC_KEY: &str = "public_key";

/// A person taking part in the partnership.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Their id.
    pub id: MemberId,
    /// Their name.
    pub name: String,
    /// Their organization.
    pub party: Option<PartyId>,
    /// Their job title.
    pub title: String,
    /// Their Ed25519 public key (64 hex digits), if known.
    pub public_key: Option<String>,
    /// Whether they are a partnership manager.
    pub manager: bool,
    /// When they left the partnership (UTC ms).
    pub left_at: Option<u64>,
}

/// The fields of a new member.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMember {
    /// Their name (required).
    pub name: String,
    /// Their organization (must exist).
    pub party: PartyId,
    /// Their job title.
    pub title: String,
    /// Their Ed25519 public key as 64 hex digits.
    pub public_key: Option<String>,
}

/// Changes to a member; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberPatch {
    /// New name (must not be blank).
    pub name: Option<String>,
    /// New organization (must exist).
    pub party: Option<PartyId>,
    /// New job title.
    pub title: Option<String>,
    /// New public key (`Some(None)` removes it).
    pub public_key: Option<Option<String>>,
}

/// A device and the member it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The device's Automerge actor id, in hex.
    pub actor: String,
    /// Its member.
    pub member: MemberId,
}

fn members_map<R: ReadDoc>(doc: &R) -> OpResult<ObjId> {
    child_map(doc, &ROOT, MEMBERS).ok_or(OpError::NotInitialized(MEMBERS))
}

fn managers_map<R: ReadDoc>(doc: &R) -> OpResult<ObjId> {
    child_map(doc, &ROOT, GOVERNANCE)
        .and_then(|g| child_map(doc, &g, MANAGERS))
        .ok_or(OpError::NotInitialized("governance.managers"))
}

fn read_one<R: ReadDoc>(doc: &R, id: MemberId, obj: &ObjId, managers: Option<&ObjId>) -> Member {
    Member {
        id,
        name: get_string(doc, obj, NAME),
        party: get_parsed(doc, obj, PARTY),
        title: get_string(doc, obj, TITLE),
        public_key: get_str(doc, obj, PUBLIC_KEY),
        manager: managers.is_some_and(|m| get_bool(doc, m, &id.key())),
        left_at: get_u64(doc, obj, LEFT_AT),
    }
}

/// Everyone, including those who left, in the order they were added.
pub fn list<R: ReadDoc>(doc: &R) -> Vec<Member> {
    let Ok(map) = members_map(doc) else {
        return Vec::new();
    };
    let managers = managers_map(doc).ok();
    items::entries(doc, &map)
        .into_iter()
        .map(|(id, obj)| read_one(doc, id.into(), &obj, managers.as_ref()))
        .collect()
}

/// One member, or [`OpError::NotFound`].
pub fn get<R: ReadDoc>(doc: &R, id: MemberId) -> OpResult<Member> {
    let map = members_map(doc)?;
    let obj = items::live(doc, &map, &id.key()).ok_or_else(|| OpError::not_found("member", &id))?;
    Ok(read_one(doc, id, &obj, managers_map(doc).ok().as_ref()))
}

fn check_public_key(key: Option<&str>) -> OpResult<Option<String>> {
    let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    match from_hex(key) {
        Some(bytes) if bytes.len() == 32 => Ok(Some(to_hex(&bytes))),
        _ => Err(OpError::Invalid {
            field: "public key",
            reason: "expected 64 hex digits (an Ed25519 public key)",
        }),
    }
}

/// Adds a member to an existing party.
pub fn add<T: Tx>(tx: &mut T, id: MemberId, new: &NewMember) -> OpResult {
    let name = non_empty("name", &new.name)?;
    let public_key = check_public_key(new.public_key.as_deref())?;
    refs::require_party(tx, new.party)?;
    let map = members_map(tx)?;
    let obj = items::create(tx, &map, "member", ItemId::from(id))?;
    tx.put(&obj, NAME, name)?;
    tx.put(&obj, PARTY, new.party.key())?;
    tx.put(&obj, TITLE, new.title.trim())?;
    put_opt(tx, &obj, PUBLIC_KEY, public_key)?;
    Ok(())
}

/// The longest member name or job title accepted, in characters.
pub const MAX_PROFILE_CHARS: usize = 120;

/// Sets a member's name and job title: what a person does when they edit
/// "who you are". Every view reads names from the member record, so the
/// new name shows on everything they wrote or signed before. The name is
/// required; both are one line of at most [`MAX_PROFILE_CHARS`]
/// characters. A member who left cannot be renamed.
pub fn rename<T: Tx>(tx: &mut T, id: MemberId, name: &str, title: &str) -> OpResult {
    let name = non_empty("name", name)?;
    let title = title.trim();
    for (field, text) in [("name", name.as_str()), ("title", title)] {
        if text.chars().count() > MAX_PROFILE_CHARS || text.contains(['\n', '\r']) {
            return Err(OpError::Invalid {
                field,
                reason: "one line of at most 120 characters",
            });
        }
    }
    let obj = refs::require_member(tx, id)?;
    put(tx, &obj, NAME, name)?;
    put(tx, &obj, TITLE, title)?;
    Ok(())
}

/// Edits a member, field by field.
pub fn update<T: Tx>(tx: &mut T, id: MemberId, patch: &MemberPatch) -> OpResult {
    let name = patch_non_empty("name", patch.name.as_deref())?;
    let public_key = patch
        .public_key
        .as_ref()
        .map(|k| check_public_key(k.as_deref()))
        .transpose()?;
    if let Some(party) = patch.party {
        refs::require_party(tx, party)?;
    }
    let map = members_map(tx)?;
    let obj = items::live(tx, &map, &id.key()).ok_or_else(|| OpError::not_found("member", &id))?;
    patch_put(tx, &obj, NAME, name)?;
    patch_put(tx, &obj, PARTY, patch.party)?;
    if let Some(title) = &patch.title {
        put(tx, &obj, TITLE, title.trim())?;
    }
    patch_put_opt(tx, &obj, PUBLIC_KEY, public_key)?;
    Ok(())
}

/// Records that a member left (they stay listed, so history still names
/// them) and drops them from the managers.
pub fn leave<T: Tx>(tx: &mut T, id: MemberId, now: u64) -> OpResult {
    let now = check_date("date", now)?;
    let obj = refs::require_member(tx, id)?;
    tx.put(&obj, LEFT_AT, now)?;
    set_manager(tx, id, false).or_else(|e| match e {
        OpError::NotInitialized(_) => Ok(()),
        e => Err(e),
    })?;
    Ok(())
}

/// Undoes [`leave`].
pub fn rejoin<T: Tx>(tx: &mut T, id: MemberId) -> OpResult {
    let map = members_map(tx)?;
    let obj = items::live(tx, &map, &id.key()).ok_or_else(|| OpError::not_found("member", &id))?;
    put_opt::<_, u64>(tx, &obj, LEFT_AT, None)
}

/// Makes a member a partnership manager, or not.
pub fn set_manager<T: Tx>(tx: &mut T, id: MemberId, manager: bool) -> OpResult {
    let managers = managers_map(tx)?;
    if manager {
        refs::require_member(tx, id)?;
        put(tx, &managers, &id.key(), true)
    } else {
        put_opt::<_, bool>(tx, &managers, &id.key(), None)
    }
}

/// The partnership managers who have not left.
pub fn managers<R: ReadDoc>(doc: &R) -> Vec<Member> {
    list(doc)
        .into_iter()
        .filter(|m| m.manager && m.left_at.is_none())
        .collect()
}

/// Ties a device (its Automerge actor) to a member. A device already tied to
/// another member is refused: one device speaks for one person.
pub fn register_device<T: Tx>(tx: &mut T, actor: &ActorId, member: MemberId) -> OpResult {
    refs::require_member(tx, member)?;
    let devices = child_map(tx, &ROOT, DEVICES).ok_or(OpError::NotInitialized(DEVICES))?;
    let key = actor.to_hex_string();
    if get_str(tx, &devices, &key).is_some_and(|m| m != member.key()) {
        return Err(OpError::Invalid {
            field: "device",
            reason: "it already belongs to another member",
        });
    }
    put(tx, &devices, &key, member.key())
}

/// Every registered device.
pub fn devices<R: ReadDoc>(doc: &R) -> Vec<Device> {
    let Some(map) = child_map(doc, &ROOT, DEVICES) else {
        return Vec::new();
    };
    let mut found: Vec<Device> = doc
        .keys(&map)
        .filter_map(|actor| {
            let member = get_str(doc, &map, &actor)?.parse().ok()?;
            Some(Device { actor, member })
        })
        .collect();
    found.sort_by(|a, b| a.actor.cmp(&b.actor));
    found
}

/// Who a device's person is in a partnership, for [`attribute_device`].
#[derive(Debug, Clone, Copy)]
pub enum DevicePerson<'a> {
    /// Already a member (found by their keys), with their profile's name
    /// and title, which the member record follows (a blank name changes
    /// nothing).
    Member {
        /// The member.
        id: MemberId,
        /// The profile's name.
        name: &'a str,
        /// The profile's job title.
        title: &'a str,
    },
    /// Not a member yet: joins as `new` under `id`.
    Newcomer {
        /// The new member's id.
        id: MemberId,
        /// The new member.
        new: &'a NewMember,
    },
}

/// Makes the changes of a device attributable to its person: a known member
/// catches up with their profile's name and title, a newcomer joins, and
/// `actor` (the device's Automerge actor, when given) is registered to the
/// member unless it already is registered. Returns the member.
pub fn attribute_device<T: Tx>(
    tx: &mut T,
    person: DevicePerson<'_>,
    actor: Option<&ActorId>,
) -> Result<MemberId, OpError> {
    let member = match person {
        DevicePerson::Member { id, name, title } => {
            let current = get(tx, id)?;
            let (name, title) = (name.trim(), title.trim());
            if !name.is_empty() && (current.name != name || current.title != title) {
                rename(tx, id, name, title)?;
            }
            id
        }
        DevicePerson::Newcomer { id, new } => {
            add(tx, id, new)?;
            id
        }
    };
    if let Some(actor) = actor.filter(|a| attribute(tx, a).is_none()) {
        register_device(tx, actor, member)?;
    }
    Ok(member)
}

/// Who made changes with this actor: the member and their party.
pub fn attribute<R: ReadDoc>(doc: &R, actor: &ActorId) -> Option<(MemberId, Option<PartyId>)> {
    let devices = child_map(doc, &ROOT, DEVICES)?;
    let member: MemberId = get_str(doc, &devices, &actor.to_hex_string())?
        .parse()
        .ok()?;
    let party = get(doc, member).ok()?.party;
    Some((member, party))
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;

    use automerge::AutoCommit;

    use super::*;
    use crate::model::test_support::{T0, partnership};

    #[test]
    fn attributing_a_device_renames_or_adds_the_member_and_registers_the_actor_once() {
        let mut fixture = partnership();
        let (doc, bob, globex) = (&mut fixture.doc, fixture.bob, fixture.globex);
        let actor = ActorId::from([7u8; 16].as_slice());
        let known = |name| DevicePerson::Member {
            id: bob,
            name,
            title: "Alliances lead",
        };
        // A blank profile name changes nothing, but the device is registered.
        assert_eq!(
            attribute_device(doc, known(" "), Some(&actor)).unwrap(),
            bob
        );
        assert_ne!(get(doc, bob).unwrap().title, "Alliances lead");
        assert_eq!(attribute(doc, &actor), Some((bob, Some(globex))));
        attribute_device(doc, known("Robert"), Some(&actor)).unwrap();
        let renamed = get(doc, bob).unwrap();
        assert_eq!(
            (renamed.name.as_str(), renamed.title.as_str()),
            ("Robert", "Alliances lead")
        );
        // The same again writes nothing.
        doc.commit();
        attribute_device(doc, known("Robert"), Some(&actor)).unwrap();
        assert_eq!(doc.pending_ops(), 0);

        // A newcomer joins; a device already tied to Bob stays his.
        let carol = MemberId::from_bytes([0xc2; 16]);
        let new = NewMember {
            name: "Carol".into(),
            party: globex,
            title: String::new(),
            public_key: None,
        };
        let newcomer = DevicePerson::Newcomer {
            id: carol,
            new: &new,
        };
        assert_eq!(
            attribute_device(doc, newcomer, Some(&actor)).unwrap(),
            carol
        );
        assert_eq!(get(doc, carol).unwrap().name, "Carol");
        assert_eq!(attribute(doc, &actor), Some((bob, Some(globex))));
        let other = ActorId::from([8u8; 16].as_slice());
        attribute_device(doc, known("Robert"), None).unwrap();
        assert_eq!(attribute(doc, &other), None);
    }

    #[test]
    fn rename_validates_and_changes_only_name_and_title() {
        let mut fixture = partnership();
        let (doc, bob) = (&mut fixture.doc, fixture.bob);
        let long = "x".repeat(MAX_PROFILE_CHARS + 1);
        for (name, title) in [
            (" ", "t"),
            ("Bob\nBrown", ""),
            (long.as_str(), ""),
            ("Bob", long.as_str()),
        ] {
            assert!(
                rename(doc, bob, name, title).is_err(),
                "{name:?} / {title:?}"
            );
        }
        assert!(matches!(
            rename(doc, MemberId::from_bytes([9; 16]), "Nobody", ""),
            Err(OpError::NotFound { kind: "member", .. })
        ));
        assert_eq!(doc.pending_ops(), 0);
        rename(doc, bob, "  Robert Brown ", " Alliances lead ").unwrap();
        let renamed = get(doc, bob).unwrap();
        assert_eq!(renamed.name, "Robert Brown");
        assert_eq!(renamed.title, "Alliances lead");
        assert_eq!(renamed.party, Some(fixture.globex));
    }

    #[test]
    fn a_rename_shows_on_what_the_member_wrote_before_and_meanwhile() {
        use crate::model::agreement::{self, NewClause, NewComment};
        use crate::model::test_support::{id, sync_pair};
        let mut fixture = partnership();
        let (doc, bob) = (&mut fixture.doc, fixture.bob);
        let clause = NewClause {
            title: "Term".into(),
            body: String::new(),
        };
        agreement::add_clause(doc, id(1), &clause, T0).unwrap();
        let mut bobs_laptop = doc.fork();
        // Bob comments offline on one replica while his rename happens on
        // the other; after they meet, his comment carries his new name.
        let comment = NewComment {
            clause: id(1),
            author: bob,
            body: "One year?".into(),
            reply_to: None,
        };
        agreement::add_comment(&mut bobs_laptop, id(2), &comment, T0).unwrap();
        rename(doc, bob, "Robert Brown", "Alliances lead").unwrap();
        sync_pair(doc, &mut bobs_laptop);
        for replica in [&*doc, &bobs_laptop] {
            let author = agreement::comments(replica, id(1))[0].root.author.unwrap();
            assert_eq!(get(replica, author).unwrap().name, "Robert Brown");
        }
    }

    #[test]
    fn add_and_read_members() {
        let fixture = partnership();
        let members = list(&fixture.doc);
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].name, "Alice");
        assert_eq!(members[0].party, Some(fixture.acme));
        assert_eq!(members[0].title, "VP Partnerships");
        assert_eq!(
            members[0].public_key.as_deref(),
            Some("ab".repeat(32).as_str())
        );
        assert_eq!(members[1].party, Some(fixture.globex));
        assert_eq!(members[1].public_key, None);
    }

    #[test]
    fn add_validates() {
        let mut fixture = partnership();
        let new = |name: &str, party, key: Option<&str>| NewMember {
            name: name.into(),
            party,
            title: String::new(),
            public_key: key.map(str::to_owned),
        };
        let id = MemberId::from_bytes([60; 16]);
        let acme = fixture.acme;
        let doc = &mut fixture.doc;
        assert!(matches!(
            add(doc, id, &new("", acme, None)),
            Err(OpError::Empty { .. })
        ));
        assert!(matches!(
            add(doc, id, &new("Carol", acme, Some("abc"))),
            Err(OpError::Invalid {
                field: "public key",
                ..
            })
        ));
        assert!(matches!(
            add(doc, id, &new("Carol", PartyId::from_bytes([1; 16]), None)),
            Err(OpError::NotFound { kind: "party", .. })
        ));
        assert!(matches!(
            add(doc, fixture.alice, &new("Carol", acme, None)),
            Err(OpError::Duplicate { .. })
        ));
        assert_eq!(list(doc).len(), 2);
        add(doc, id, &new("Carol", acme, Some(&"CD".repeat(32)))).unwrap();
        assert_eq!(get(doc, id).unwrap().public_key, Some("cd".repeat(32)));
    }

    #[test]
    fn update_leave_and_rejoin() {
        let mut fixture = partnership();
        let (alice, globex) = (fixture.alice, fixture.globex);
        let doc = &mut fixture.doc;
        assert!(matches!(
            update(
                doc,
                alice,
                &MemberPatch {
                    party: Some(PartyId::from_bytes([1; 16])),
                    ..MemberPatch::default()
                }
            ),
            Err(OpError::NotFound { kind: "party", .. })
        ));
        update(
            doc,
            alice,
            &MemberPatch {
                title: Some("COO".into()),
                public_key: Some(None),
                party: Some(globex),
                ..MemberPatch::default()
            },
        )
        .unwrap();
        let member = get(doc, alice).unwrap();
        assert_eq!(
            (member.title.as_str(), member.public_key, member.party),
            ("COO", None, Some(globex))
        );
        set_manager(doc, alice, true).unwrap();
        assert_eq!(managers(doc).len(), 1);
        assert!(leave(doc, alice, 3).is_err());
        leave(doc, alice, T0).unwrap();
        assert_eq!(get(doc, alice).unwrap().left_at, Some(T0));
        assert!(managers(doc).is_empty());
        assert!(matches!(
            set_manager(doc, alice, true),
            Err(OpError::Invalid {
                field: "member",
                ..
            })
        ));
        assert!(matches!(
            leave(doc, alice, T0),
            Err(OpError::Invalid { .. })
        ));
        rejoin(doc, alice).unwrap();
        set_manager(doc, alice, true).unwrap();
        set_manager(doc, alice, false).unwrap();
        assert!(managers(doc).is_empty());
        assert!(matches!(
            rejoin(doc, MemberId::from_bytes([1; 16])),
            Err(OpError::NotFound { .. })
        ));
    }

    #[test]
    fn devices_attribute_changes_to_members_and_parties() {
        let mut fixture = partnership();
        let (alice, bob) = (fixture.alice, fixture.bob);
        let actor = fixture.doc.get_actor().clone();
        register_device(&mut fixture.doc, &actor, alice).unwrap();
        register_device(&mut fixture.doc, &actor, alice).unwrap();
        assert!(matches!(
            register_device(&mut fixture.doc, &actor, bob),
            Err(OpError::Invalid {
                field: "device",
                ..
            })
        ));
        assert!(matches!(
            register_device(&mut fixture.doc, &actor, MemberId::from_bytes([1; 16])),
            Err(OpError::NotFound { .. })
        ));
        assert_eq!(
            devices(&fixture.doc),
            [Device {
                actor: actor.to_hex_string(),
                member: alice
            }]
        );
        assert_eq!(
            attribute(&fixture.doc, &actor),
            Some((alice, Some(fixture.acme)))
        );
        let stranger = AutoCommit::new();
        assert_eq!(attribute(&fixture.doc, stranger.get_actor()), None);
    }
}
