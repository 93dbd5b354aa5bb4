//! The partner organizations: `parties{id → {name, role, strengths (Text),
//! wiifm (Text), order}}`.
//!
//! `wiifm` is "what's in it for them": the value this party expects, the
//! first thing to get right when recruiting a partner.

use automerge::transaction::Transactable;
use automerge::{ObjId, ReadDoc};

use super::error::OpError;
use super::fields::{get_string, get_text, new_text, non_empty, put, set_text, splice_text_field};
use super::ids::PartyId;
use super::items::{self, Collection};
use super::vetting;
use crate::text::Splice;

const NAME: &str = "name";
const ROLE: &str = "role";
const STRENGTHS: &str = "strengths";
const WIIFM: &str = "wiifm";

/// A partner organization.
#[derive(Debug, Clone, PartialEq)]
pub struct Party {
    /// Its id.
    pub id: PartyId,
    /// The organization's name.
    pub name: String,
    /// Its role in the partnership (for example "technology partner").
    pub role: String,
    /// What it brings (prose).
    pub strengths: String,
    /// What's in it for it (prose).
    pub wiifm: String,
}

/// The fields of a new party.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewParty {
    /// The organization's name (required).
    pub name: String,
    /// Its role.
    pub role: String,
    /// What it brings.
    pub strengths: String,
    /// What's in it for it.
    pub wiifm: String,
}

/// Changes to a party; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartyPatch {
    /// New name (must not be blank).
    pub name: Option<String>,
    /// New role.
    pub role: Option<String>,
    /// New strengths text.
    pub strengths: Option<String>,
    /// New what's-in-it-for-them text.
    pub wiifm: Option<String>,
}

fn read_one<R: ReadDoc>(doc: &R, id: PartyId, obj: &ObjId) -> Party {
    Party {
        id,
        name: get_string(doc, obj, NAME),
        role: get_string(doc, obj, ROLE),
        strengths: get_text(doc, obj, STRENGTHS),
        wiifm: get_text(doc, obj, WIIFM),
    }
}

/// The parties, in display order (empty if the document has none).
pub fn list<R: ReadDoc>(doc: &R) -> Vec<Party> {
    let Ok(items) = Collection::Parties.locate(doc) else {
        return Vec::new();
    };
    items::entries(doc, &items)
        .into_iter()
        .map(|(id, obj)| read_one(doc, id.into(), &obj))
        .collect()
}

/// One party, or [`OpError::NotFound`].
pub fn get<R: ReadDoc>(doc: &R, id: PartyId) -> Result<Party, OpError> {
    let obj = require(doc, id)?;
    Ok(read_one(doc, id, &obj))
}

/// The live party's map, or [`OpError::NotFound`].
pub(crate) fn require<R: ReadDoc>(doc: &R, id: PartyId) -> Result<ObjId, OpError> {
    items::require(doc, Collection::Parties, id.into())
}

/// Adds a party (and its empty vetting scores).
pub fn add<T: Transactable + ReadDoc>(
    tx: &mut T,
    id: PartyId,
    new: &NewParty,
) -> Result<(), OpError> {
    let name = non_empty("name", &new.name)?;
    let items = Collection::Parties.locate(tx)?;
    vetting::scores_map(tx)?;
    let obj = items::create(tx, &items, "party", id.into())?;
    tx.put(&obj, NAME, name)?;
    tx.put(&obj, ROLE, new.role.trim())?;
    new_text(tx, &obj, STRENGTHS, &new.strengths)?;
    new_text(tx, &obj, WIIFM, &new.wiifm)?;
    vetting::create_party_scores(tx, id)?;
    Ok(())
}

/// Edits a party, field by field.
pub fn update<T: Transactable + ReadDoc>(
    tx: &mut T,
    id: PartyId,
    patch: &PartyPatch,
) -> Result<(), OpError> {
    let name = patch
        .name
        .as_deref()
        .map(|n| non_empty("name", n))
        .transpose()?;
    let obj = require(tx, id)?;
    if let Some(name) = name {
        put(tx, &obj, NAME, name)?;
    }
    if let Some(role) = &patch.role {
        put(tx, &obj, ROLE, role.trim())?;
    }
    if let Some(strengths) = &patch.strengths {
        set_text(tx, &obj, STRENGTHS, strengths)?;
    }
    if let Some(wiifm) = &patch.wiifm {
        set_text(tx, &obj, WIIFM, wiifm)?;
    }
    Ok(())
}

/// A party's prose field, typed into live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prose {
    /// What it brings.
    Strengths,
    /// What's in it for it.
    Wiifm,
}

impl Prose {
    fn key(self) -> &'static str {
        match self {
            Self::Strengths => STRENGTHS,
            Self::Wiifm => WIIFM,
        }
    }
}

/// Applies one splice to a party's prose (what its editor reports as
/// someone types), so both organizations writing it at once keep their
/// words.
pub fn edit_prose<T: Transactable + ReadDoc>(
    tx: &mut T,
    id: PartyId,
    field: Prose,
    edit: &Splice,
) -> Result<(), OpError> {
    let obj = require(tx, id)?;
    splice_text_field(tx, &obj, field.key(), edit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_support::{partnership, sync_pair};

    #[test]
    fn both_organizations_writing_a_party_profile_keep_their_words() {
        let mut fixture = partnership();
        let globex = fixture.globex;
        let doc = &mut fixture.doc;
        let mut partner = doc.fork();
        let at = |position, insert: &str| Splice {
            position,
            delete: 0,
            insert: insert.into(),
        };
        // "Access to Acme's products." is 26 characters.
        edit_prose(doc, globex, Prose::Wiifm, &at(0, "Revenue. ")).unwrap();
        edit_prose(&mut partner, globex, Prose::Wiifm, &at(26, " Training.")).unwrap();
        edit_prose(&mut partner, globex, Prose::Strengths, &at(0, "Reach.")).unwrap();
        sync_pair(doc, &mut partner);
        for replica in [&*doc, &partner] {
            let party = get(replica, globex).unwrap();
            assert_eq!(party.wiifm, "Revenue. Access to Acme's products. Training.");
            assert!(party.strengths.starts_with("Reach."));
        }
        assert!(matches!(
            edit_prose(doc, globex, Prose::Wiifm, &at(99, "x")),
            Err(OpError::Text(_))
        ));
        let nobody = PartyId::from_bytes([77; 16]);
        assert!(edit_prose(doc, nobody, Prose::Wiifm, &at(0, "x")).is_err());
    }

    #[test]
    fn add_and_read_parties() {
        let fixture = partnership();
        let parties = list(&fixture.doc);
        assert_eq!(parties.len(), 2);
        assert_eq!(parties[0].id, fixture.acme);
        assert_eq!(parties[0].name, "Acme");
        assert_eq!(parties[1].name, "Globex");
        assert_eq!(parties[1].role, "distribution partner");
        assert_eq!(parties[1].wiifm, "Access to Acme's products.");
    }

    #[test]
    fn add_validates() {
        let mut fixture = partnership();
        let new = NewParty {
            name: " ".into(),
            ..NewParty::default()
        };
        let id = PartyId::from_bytes([77; 16]);
        assert!(matches!(
            add(&mut fixture.doc, id, &new),
            Err(OpError::Empty { field: "name" })
        ));
        let dup = NewParty {
            name: "Again".into(),
            ..NewParty::default()
        };
        assert!(matches!(
            add(&mut fixture.doc, fixture.acme, &dup),
            Err(OpError::Duplicate { .. })
        ));
        assert_eq!(list(&fixture.doc).len(), 2);
    }

    #[test]
    fn update_edits_only_given_fields() {
        let mut fixture = partnership();
        let acme = fixture.acme;
        assert!(matches!(
            update(
                &mut fixture.doc,
                acme,
                &PartyPatch {
                    name: Some(String::new()),
                    role: Some("x".into()),
                    ..PartyPatch::default()
                }
            ),
            Err(OpError::Empty { .. })
        ));
        assert_eq!(get(&fixture.doc, acme).unwrap().role, "lead");
        update(
            &mut fixture.doc,
            acme,
            &PartyPatch {
                strengths: Some("Engineering depth.".into()),
                ..PartyPatch::default()
            },
        )
        .unwrap();
        let party = get(&fixture.doc, acme).unwrap();
        assert_eq!(party.name, "Acme");
        assert_eq!(party.strengths, "Engineering depth.");
        let missing = PartyId::from_bytes([1; 16]);
        assert!(matches!(
            update(&mut fixture.doc, missing, &PartyPatch::default()),
            Err(OpError::NotFound { kind: "party", .. })
        ));
        assert!(matches!(
            get(&fixture.doc, missing),
            Err(OpError::NotFound { .. })
        ));
    }
}
