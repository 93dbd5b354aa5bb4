//! The partner organizations: `parties{id → {name, role, strengths (Text),
//! wiifm (Text), colour?, order}}`.
//!
//! `colour` is one of [`PartyColour`]'s stored names, picked when the party
//! is added (the first colour of the palette no other party shows). Two
//! parties added at once on two replicas may pick the same colour, and
//! documents written before colours were stored have none: [`colours`]
//! resolves both at read time, the same way on every replica (see there),
//! so two parties of one partnership never show the same colour while the
//! palette lasts.
//!
//! `wiifm` is "what's in it for them": the value this party expects, the
//! first thing to get right when recruiting a partner.

use automerge::{ObjId, ReadDoc};

use super::editable::editable_fields;
use super::error::{OpError, OpResult};
use super::fields::{
    Tx, get_str, get_string, get_text, new_text, non_empty, patch_non_empty, patch_put, patch_text,
    put,
};
use super::ids::PartyId;
use super::items::{self, Collection};
use super::refs;
use super::stored_names::stored_names;
use crate::text::Splice;

const NAME: &str = "name";
const ROLE: &str = "role";
const STRENGTHS: &str = "strengths";
const WIIFM: &str = "wiifm";
const COLOUR: &str = "colour";

stored_names! {
    /// The colour that marks a party's people (avatars, pointers, note
    /// authors). Every colour takes white text at WCAG AA contrast (at least
    /// 4.5:1; checked by a test).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum PartyColour {
        /// Blue.
        Blue => "blue",
        /// Orange (dark enough for white text).
        Orange => "orange",
        /// Green.
        Green => "green",
        /// Purple.
        Purple => "purple",
        /// Red.
        Red => "red",
        /// Teal.
        Teal => "teal",
        /// Magenta.
        Magenta => "magenta",
        /// Slate grey.
        Slate => "slate",
    }

    /// The palette, in the order new parties take colours.
    ALL;
}

impl PartyColour {
    /// The CSS colour (`#rrggbb`).
    pub fn hex(self) -> &'static str {
        match self {
            Self::Blue => "#1d4ed8",
            Self::Orange => "#b45309",
            Self::Green => "#15803d",
            Self::Purple => "#7e22ce",
            Self::Red => "#b91c1c",
            Self::Teal => "#0f766e",
            Self::Magenta => "#be185d",
            Self::Slate => "#475569",
        }
    }
}

/// A partner organization.
#[derive(Debug, Clone, PartialEq)]
pub struct Party {
    /// Its id.
    pub id: PartyId,
    /// What was written about it.
    pub fields: PartyFields,
    /// The colour it shows in, as resolved by [`colours`].
    pub colour: PartyColour,
}

editable_fields! {
    /// The editable fields of a party.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct PartyFields {
        /// The organization's name (required, not blank).
        pub name: String,
        /// Its role in the partnership (for example "technology partner").
        pub role: String,
        /// What it brings (prose).
        pub strengths: String,
        /// What's in it for it (prose).
        pub wiifm: String,
    }

    /// Changes to a party.
    pub struct PartyPatch;
}

/// What [`add`] takes: the fields of a new party.
pub type NewParty = PartyFields;

fn read_one<R: ReadDoc>(doc: &R, id: PartyId, obj: &ObjId, colour: PartyColour) -> Party {
    Party {
        id,
        fields: PartyFields {
            name: get_string(doc, obj, NAME),
            role: get_string(doc, obj, ROLE),
            strengths: get_text(doc, obj, STRENGTHS),
            wiifm: get_text(doc, obj, WIIFM),
        },
        colour,
    }
}

/// The live parties in display order with their stored colours.
fn stored_colours<R: ReadDoc>(doc: &R) -> Vec<(PartyId, ObjId, Option<PartyColour>)> {
    let Ok(items) = Collection::Parties.locate(doc) else {
        return Vec::new();
    };
    items::entries(doc, &items)
        .into_iter()
        .map(|(id, obj)| {
            let stored = get_str(doc, &obj, COLOUR).and_then(|c| PartyColour::from_stored(&c));
            (id.into(), obj, stored)
        })
        .collect()
}

/// Resolves which colour each live party shows, identically on every
/// replica, so no two parties share one while the palette lasts:
///
/// 1. in party id order, each party keeps its stored colour unless a party
///    with a smaller id already holds it (two parties added concurrently
///    that picked the same colour: the larger id gives way);
/// 2. then, in display order, each party left without a colour (given way,
///    or from a document older than stored colours) takes the first palette
///    colour nobody holds; past eight parties colours repeat in palette
///    order.
///
/// Returns `(party, colour)` in display order.
pub fn colours<R: ReadDoc>(doc: &R) -> Vec<(PartyId, PartyColour)> {
    resolve(&stored_colours(doc))
}

fn resolve(parties: &[(PartyId, ObjId, Option<PartyColour>)]) -> Vec<(PartyId, PartyColour)> {
    let mut by_id: Vec<(PartyId, PartyColour)> = parties
        .iter()
        .filter_map(|(id, _, stored)| stored.map(|c| (*id, c)))
        .collect();
    by_id.sort();
    let mut held: Vec<(PartyId, PartyColour)> = Vec::new();
    for (id, colour) in by_id {
        if !held.iter().any(|(_, c)| *c == colour) {
            held.push((id, colour));
        }
    }
    let mut spare = 0;
    parties
        .iter()
        .map(|(id, _, _)| {
            if let Some((_, colour)) = held.iter().find(|(holder, _)| holder == id) {
                return (*id, *colour);
            }
            let colour = PartyColour::ALL
                .into_iter()
                .find(|c| !held.iter().any(|(_, h)| h == c))
                .unwrap_or_else(|| {
                    spare += 1;
                    PartyColour::ALL[(spare - 1) % PartyColour::ALL.len()]
                });
            held.push((*id, colour));
            (*id, colour)
        })
        .collect()
}

/// The parties, in display order (empty if the document has none).
pub fn list<R: ReadDoc>(doc: &R) -> Vec<Party> {
    let stored = stored_colours(doc);
    let colours = resolve(&stored);
    stored
        .into_iter()
        .zip(colours)
        .map(|((id, obj, _), (_, colour))| read_one(doc, id, &obj, colour))
        .collect()
}

/// One party, or [`OpError::NotFound`].
pub fn get<R: ReadDoc>(doc: &R, id: PartyId) -> OpResult<Party> {
    refs::require_party(doc, id)?;
    list(doc)
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| OpError::not_found("party", &id))
}

/// Adds a party (and its empty vetting scores), in the first palette
/// colour no other party shows.
pub fn add<T: Tx>(tx: &mut T, id: PartyId, new: &NewParty) -> OpResult {
    let name = non_empty("name", &new.name)?;
    let items = Collection::Parties.locate(tx)?;
    refs::scores_map(tx)?;
    let shown = colours(tx);
    let colour = PartyColour::ALL
        .into_iter()
        .find(|c| !shown.iter().any(|(_, s)| s == c))
        .unwrap_or(PartyColour::ALL[shown.len() % PartyColour::ALL.len()]);
    let obj = items::create(tx, &items, "party", id.into())?;
    tx.put(&obj, COLOUR, colour.as_str())?;
    tx.put(&obj, NAME, name)?;
    tx.put(&obj, ROLE, new.role.trim())?;
    new_text(tx, &obj, STRENGTHS, &new.strengths)?;
    new_text(tx, &obj, WIIFM, &new.wiifm)?;
    refs::create_party_scores(tx, id)?;
    Ok(())
}

/// The party named `name` (ignoring case and surrounding blanks), added
/// under `id` when there is none, so a person joining by their
/// organization's name lands in the party that is already there.
pub fn named_or_add<T: Tx>(tx: &mut T, name: &str, id: PartyId) -> Result<PartyId, OpError> {
    if let Some(found) = list(tx)
        .into_iter()
        .find(|p| p.fields.name.trim().eq_ignore_ascii_case(name.trim()))
    {
        return Ok(found.id);
    }
    let new = NewParty {
        name: name.to_owned(),
        ..NewParty::default()
    };
    add(tx, id, &new)?;
    Ok(id)
}

/// Edits a party, field by field.
pub fn update<T: Tx>(tx: &mut T, id: PartyId, patch: &PartyPatch) -> OpResult {
    let name = patch_non_empty("name", patch.name.as_deref())?;
    let obj = refs::require_party(tx, id)?;
    patch_put(tx, &obj, NAME, name)?;
    if let Some(role) = &patch.role {
        put(tx, &obj, ROLE, role.trim())?;
    }
    patch_text(tx, &obj, STRENGTHS, patch.strengths.as_deref())?;
    patch_text(tx, &obj, WIIFM, patch.wiifm.as_deref())?;
    Ok(())
}

stored_names! {
    /// A party's prose field, typed into live.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Prose {
        /// What it brings.
        Strengths => "strengths",
        /// What's in it for it.
        Wiifm => "wiifm",
    }

    /// Every prose field, in the order shown.
    ALL;
}

/// Applies one splice to a party's prose (what its editor reports as
/// someone types), so both organizations writing it at once keep their
/// words.
pub fn edit_prose<T: Tx>(tx: &mut T, id: PartyId, field: Prose, edit: &Splice) -> OpResult {
    items::splice_field(tx, Collection::Parties, id.into(), field.as_str(), edit)
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;

    use super::*;
    use crate::model::test_support::{insert, partnership, sync_pair};

    #[test]
    fn a_party_is_found_by_its_name_or_added() {
        let mut fixture = partnership();
        let doc = &mut fixture.doc;
        let fresh = PartyId::from_bytes([0xc1; 16]);
        assert_eq!(
            named_or_add(doc, " globex ", fresh).unwrap(),
            fixture.globex
        );
        assert_eq!(list(doc).len(), 2);
        assert_eq!(named_or_add(doc, "Initech", fresh).unwrap(), fresh);
        assert_eq!(get(doc, fresh).unwrap().fields.name, "Initech");
        assert!(named_or_add(doc, " ", PartyId::from_bytes([0xd1; 16])).is_err());
        assert_eq!(list(doc).len(), 3);
    }

    #[test]
    fn both_organizations_writing_a_party_profile_keep_their_words() {
        let mut fixture = partnership();
        let globex = fixture.globex;
        let doc = &mut fixture.doc;
        let mut partner = doc.fork();
        // "Access to Acme's products." is 26 characters.
        edit_prose(doc, globex, Prose::Wiifm, &insert(0, "Revenue. ")).unwrap();
        edit_prose(
            &mut partner,
            globex,
            Prose::Wiifm,
            &insert(26, " Training."),
        )
        .unwrap();
        edit_prose(&mut partner, globex, Prose::Strengths, &insert(0, "Reach.")).unwrap();
        sync_pair(doc, &mut partner);
        for replica in [&*doc, &partner] {
            let party = get(replica, globex).unwrap();
            assert_eq!(
                party.fields.wiifm,
                "Revenue. Access to Acme's products. Training."
            );
            assert!(party.fields.strengths.starts_with("Reach."));
        }
        assert!(matches!(
            edit_prose(doc, globex, Prose::Wiifm, &insert(99, "x")),
            Err(OpError::Text(_))
        ));
        let nobody = PartyId::from_bytes([77; 16]);
        assert!(edit_prose(doc, nobody, Prose::Wiifm, &insert(0, "x")).is_err());
    }

    #[test]
    fn add_and_read_parties() {
        let fixture = partnership();
        let parties = list(&fixture.doc);
        assert_eq!(parties.len(), 2);
        assert_eq!(parties[0].id, fixture.acme);
        assert_eq!(parties[0].fields.name, "Acme");
        assert_eq!(parties[1].fields.name, "Globex");
        assert_eq!(parties[1].fields.role, "distribution partner");
        assert_eq!(parties[1].fields.wiifm, "Access to Acme's products.");
    }

    fn named(name: &str) -> NewParty {
        NewParty {
            name: name.into(),
            ..NewParty::default()
        }
    }

    #[test]
    fn each_new_party_takes_the_first_colour_nobody_shows() {
        let doc = &mut partnership().doc;
        let shown = |doc: &automerge::AutoCommit| -> Vec<PartyColour> {
            list(doc).iter().map(|p| p.colour).collect()
        };
        assert_eq!(shown(doc), [PartyColour::Blue, PartyColour::Orange]);
        let initech = PartyId::from_bytes([0xc1; 16]);
        add(doc, initech, &named("Initech")).unwrap();
        assert_eq!(get(doc, initech).unwrap().colour, PartyColour::Green);
        // A removed party's colour is free again.
        items::delete(
            doc,
            Collection::Parties,
            initech.into(),
            crate::model::test_support::T0,
        )
        .unwrap();
        let umbrella = PartyId::from_bytes([0xd1; 16]);
        add(doc, umbrella, &named("Umbrella")).unwrap();
        assert_eq!(get(doc, umbrella).unwrap().colour, PartyColour::Green);
        // Past the palette, colours repeat rather than fail.
        for n in 0..8 {
            add(doc, PartyId::from_bytes([0xe0 + n; 16]), &named("More")).unwrap();
        }
        assert_eq!(list(doc).len(), 11);
    }

    #[test]
    fn parties_added_at_once_on_two_replicas_show_different_colours() {
        let doc = &mut partnership().doc;
        let mut other = doc.fork();
        let (small, large) = (
            PartyId::from_bytes([0x10; 16]),
            PartyId::from_bytes([0xf0; 16]),
        );
        add(doc, large, &named("Large")).unwrap();
        add(&mut other, small, &named("Small")).unwrap();
        // Each replica picked green for its new party.
        assert_eq!(get(doc, large).unwrap().colour, PartyColour::Green);
        assert_eq!(get(&other, small).unwrap().colour, PartyColour::Green);
        sync_pair(doc, &mut other);
        for replica in [&*doc, &other] {
            assert_eq!(get(replica, small).unwrap().colour, PartyColour::Green);
            assert_eq!(get(replica, large).unwrap().colour, PartyColour::Purple);
            let mut all: Vec<PartyColour> = list(replica).iter().map(|p| p.colour).collect();
            all.sort();
            all.dedup();
            assert_eq!(all.len(), 4, "every party shows its own colour");
        }
        assert_eq!(colours(doc), colours(&other));
    }

    #[test]
    fn documents_without_stored_colours_still_show_distinct_ones() {
        let mut fixture = partnership();
        let doc = &mut fixture.doc;
        let items = Collection::Parties.locate(doc).unwrap();
        for party in [fixture.acme, fixture.globex] {
            let obj = super::super::fields::child_map(doc, &items, &party.key()).unwrap();
            doc.delete(&obj, COLOUR).unwrap();
        }
        assert_eq!(
            colours(doc),
            [
                (fixture.acme, PartyColour::Blue),
                (fixture.globex, PartyColour::Orange)
            ]
        );
        // A party added to such a document takes a colour neither shows.
        let initech = PartyId::from_bytes([0x01; 16]);
        add(doc, initech, &named("Initech")).unwrap();
        assert_eq!(get(doc, initech).unwrap().colour, PartyColour::Green);
        assert_eq!(get(doc, fixture.acme).unwrap().colour, PartyColour::Blue);
    }

    #[test]
    fn white_text_on_every_party_colour_meets_wcag_aa() {
        fn channel(hex: &str) -> f64 {
            let value = f64::from(u8::from_str_radix(hex, 16).unwrap()) / 255.0;
            if value <= 0.040_45 {
                value / 12.92
            } else {
                ((value + 0.055) / 1.055).powf(2.4)
            }
        }
        for colour in PartyColour::ALL {
            let hex = &colour.hex()[1..];
            let luminance = 0.2126 * channel(&hex[0..2])
                + 0.7152 * channel(&hex[2..4])
                + 0.0722 * channel(&hex[4..6]);
            let contrast = 1.05 / (luminance + 0.05);
            assert!(contrast >= 4.5, "{colour:?}: {contrast:.2}");
            assert_eq!(PartyColour::from_stored(colour.as_str()), Some(colour));
        }
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
        assert_eq!(get(&fixture.doc, acme).unwrap().fields.role, "lead");
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
        assert_eq!(party.fields.name, "Acme");
        assert_eq!(party.fields.strengths, "Engineering depth.");
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
