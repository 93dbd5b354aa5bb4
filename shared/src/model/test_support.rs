//! Shared fixtures for the model's unit tests.

use automerge::AutoCommit;

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
    parties::add(
        &mut doc,
        acme,
        &NewParty {
            name: "Acme".into(),
            role: "lead".into(),
            ..NewParty::default()
        },
    )
    .unwrap();
    parties::add(
        &mut doc,
        globex,
        &NewParty {
            name: "Globex".into(),
            role: "distribution partner".into(),
            strengths: "Reach in Benelux.".into(),
            wiifm: "Access to Acme's products.".into(),
        },
    )
    .unwrap();
    let alice = MemberId::from_bytes([0xa2; 16]);
    let bob = MemberId::from_bytes([0xb2; 16]);
    members::add(
        &mut doc,
        alice,
        &NewMember {
            name: "Alice".into(),
            party: acme,
            title: "VP Partnerships".into(),
            public_key: Some("ab".repeat(32)),
        },
    )
    .unwrap();
    members::add(
        &mut doc,
        bob,
        &NewMember {
            name: "Bob".into(),
            party: globex,
            title: "Alliance manager".into(),
            public_key: None,
        },
    )
    .unwrap();
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
