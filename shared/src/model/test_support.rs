//! Shared fixtures for the model's unit tests.

use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value};

use super::ids::{ItemId, MemberId, PartyId};
use super::members::{self, NewMember};
use super::parties::{self, NewParty};
use super::schema::init;
use crate::text::Splice;

/// A plausible "now": 2023-11-14.
pub(crate) const T0: u64 = 1_700_000_000_000;

/// An item id made of one repeated byte.
pub(crate) fn id(n: u8) -> ItemId {
    ItemId::from_bytes([n; 16])
}

/// The splice a text editor reports when someone types `text` at
/// `position` (in characters).
pub(crate) fn insert(position: usize, text: &str) -> Splice {
    Splice {
        position,
        delete: 0,
        insert: text.into(),
    }
}

/// A v1 partnership with two parties and one member in each.
pub(crate) struct Fixture {
    pub(crate) doc: AutoCommit,
    pub(crate) acme: PartyId,
    pub(crate) globex: PartyId,
    pub(crate) alice: MemberId,
    pub(crate) bob: MemberId,
}

pub(crate) fn partnership() -> Fixture {
    let mut doc = AutoCommit::new();
    init(&mut doc, "Acme × Globex", T0).unwrap();
    let acme = PartyId::from_bytes([0xa1; 16]);
    let globex = PartyId::from_bytes([0xb1; 16]);
    let parties = [
        (
            acme,
            NewParty {
                name: "Acme".into(),
                role: "lead".into(),
                ..NewParty::default()
            },
        ),
        (
            globex,
            NewParty {
                name: "Globex".into(),
                role: "distribution partner".into(),
                strengths: "Reach in Benelux.".into(),
                wiifm: "Access to Acme's products.".into(),
            },
        ),
    ];
    for (id, party) in parties {
        parties::add(&mut doc, id, &party).unwrap();
    }
    let alice = MemberId::from_bytes([0xa2; 16]);
    let bob = MemberId::from_bytes([0xb2; 16]);
    let members = [
        (
            alice,
            "Alice",
            acme,
            "VP Partnerships",
            Some("ab".repeat(32)),
        ),
        (bob, "Bob", globex, "Alliance manager", None),
    ];
    for (id, name, party, title, public_key) in members {
        let member = NewMember {
            name: name.into(),
            party,
            title: title.into(),
            public_key,
        };
        members::add(&mut doc, id, &member).unwrap();
    }
    doc.commit();
    Fixture {
        doc,
        acme,
        globex,
        alice,
        bob,
    }
}

/// Runs the Automerge sync protocol between two replicas until neither has
/// anything more to send.
pub(crate) fn sync_pair(a: &mut AutoCommit, b: &mut AutoCommit) {
    use automerge::sync::{State, SyncDoc};
    let (mut a_state, mut b_state) = (State::new(), State::new());
    for _ in 0..20 {
        let to_b = a.sync().generate_sync_message(&mut a_state);
        let to_a = b.sync().generate_sync_message(&mut b_state);
        if to_b.is_none() && to_a.is_none() {
            return;
        }
        if let Some(message) = to_b {
            b.sync()
                .receive_sync_message(&mut b_state, message)
                .unwrap();
        }
        if let Some(message) = to_a {
            a.sync()
                .receive_sync_message(&mut a_state, message)
                .unwrap();
        }
    }
    panic!("sync did not settle");
}

/// The tests' usual KPI: "Joint revenue", in kEUR from 0 up to 100,
/// measured every 30 days, under `objective` when given.
pub(crate) fn revenue_kpi(objective: Option<ItemId>) -> super::kpis::NewKpi {
    use super::kpis::{Direction, KpiKind, NewKpi};
    NewKpi {
        name: "Joint revenue".into(),
        objective,
        kind: KpiKind::Quantitative {
            unit: "kEUR".into(),
            baseline: 0.0,
            target: 100.0,
            direction: Direction::Up,
        },
        cadence_days: 30,
    }
}

/// Carol, a second member of `party` (Acme in the usual fixture), added to
/// `doc`.
pub(crate) fn add_carol(doc: &mut AutoCommit, party: PartyId) -> MemberId {
    let carol = MemberId::from_bytes([0xc3; 16]);
    members::add(
        doc,
        carol,
        &NewMember {
            name: "Carol".into(),
            party,
            title: String::new(),
            public_key: None,
        },
    )
    .unwrap();
    carol
}

/// Every key, string, text and byte value under `obj` (walking every map),
/// as text: what any reader of the document can see.
pub(crate) fn visible_values(doc: &AutoCommit, obj: &ObjId) -> String {
    fn walk(doc: &AutoCommit, obj: &ObjId, out: &mut String) {
        for key in doc.keys(obj) {
            out.push_str(&key);
            out.push('\n');
            for (value, id) in doc.get_all(obj, &key).unwrap() {
                match value {
                    Value::Object(ObjType::Map) => walk(doc, &id, out),
                    Value::Object(ObjType::Text) => out.push_str(&doc.text(&id).unwrap()),
                    Value::Object(_) => {}
                    Value::Scalar(s) => {
                        out.push_str(&format!("{s:?}\n"));
                        if let ScalarValue::Bytes(b) = s.as_ref() {
                            out.push_str(&String::from_utf8_lossy(b));
                        }
                    }
                }
            }
        }
    }
    let mut out = String::new();
    walk(doc, obj, &mut out);
    out
}

/// [`visible_values`] of the whole document, and its saved bytes.
pub(crate) fn everything_visible(doc: &mut AutoCommit) -> (String, Vec<u8>) {
    (visible_values(doc, &automerge::ROOT), doc.save_nocompress())
}

/// Whether `needle` occurs in `haystack`.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The tests' usual clause text.
pub(crate) const TERM: &str = "The term is one year from signature.";

/// The usual partnership with one clause, "Term", holding `body`, as
/// `id(1)`.
pub(crate) fn with_clause(body: &str) -> Fixture {
    let mut fixture = partnership();
    put_clause(&mut fixture.doc, 1, "Term", body);
    fixture.doc.commit();
    fixture
}

/// Adds the clause `id(n)`, `title` with `body`, at `T0`.
pub(crate) fn put_clause(doc: &mut AutoCommit, n: u8, title: &str, body: &str) {
    let new = super::agreement::NewClause {
        title: title.into(),
        body: body.into(),
    };
    super::agreement::add_clause(doc, id(n), &new, T0).unwrap();
}

/// A copy of `doc` that writes as actor `name` (a second device).
pub(crate) fn actor(doc: &AutoCommit, name: &str) -> AutoCommit {
    doc.clone()
        .with_actor(automerge::ActorId::from(name.as_bytes()))
}

/// A text edit: delete `delete` characters at `position`, insert `insert`.
pub(crate) fn splice(position: usize, delete: usize, insert: &str) -> crate::text::Splice {
    crate::text::Splice {
        position,
        delete,
        insert: insert.into(),
    }
}

/// Alice's and Bob's devices: two forks of `doc` with their own actors.
pub(crate) fn two_devices(doc: &AutoCommit) -> (AutoCommit, AutoCommit) {
    (actor(doc, "alice"), actor(doc, "bob"))
}

/// Syncs `a` and `b`, then checks that both read `expected` through `read`.
pub(crate) fn sync_to<T: PartialEq + std::fmt::Debug>(
    (a, b): (&mut AutoCommit, &mut AutoCommit),
    read: impl Fn(&AutoCommit) -> T,
    expected: &T,
) {
    sync_pair(a, b);
    assert_eq!(&read(a), expected, "first replica");
    assert_eq!(&read(b), expected, "second replica");
}
