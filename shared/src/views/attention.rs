//! What needs attention: the overview's panel, computed from the document,
//! the time, who is looking and what they last saw. Pure: no clock, no I/O.
//!
//! - overdue action items (meetings and reviews; `now > due`, not done);
//! - KPIs off track ([`kpis::health`]);
//! - the next check-in: the earliest check-in or quarterly review scheduled
//!   and not yet held, else the one due by the review cadence; overdue when
//!   its time has passed;
//! - high risks (likelihood × impact ≥ 15, not closed);
//! - open conflicts past their escalation deadline at their level;
//! - clauses awaiting sign-off: signed by the viewer's party and not yet by
//!   the other party (awaiting the partner), and the reverse (awaiting us) —
//!   when the caller passes the sign-off context (document id and the keys
//!   the relay attests), since a sign-off only counts once verified;
//! - what the partner changed since the viewer last looked (their heads
//!   then): the clauses the other party changed ([`history::changed_since`])
//!   and, for every area, how many changes each partner member made.
//! - health-check rounds where the viewer's party has not submitted yet.

use automerge::{Automerge, ChangeHash, ReadDoc};
use ed25519_dalek::VerifyingKey;

use crate::ids::DocumentId;
use crate::model::actions::{ActionRef, ActionSource};
use crate::model::conflicts::{self, Conflict};
use crate::model::ids::{ItemId, MemberId, PartyId};
use crate::model::kpis::{self, Health, Kpi};
use crate::model::meetings;
use crate::model::risks::{self, Risk};
use crate::model::signoff::{self, PartyState};
use crate::model::{agreement, health, members, overview};
use crate::views::history::{self, ClauseChange};

/// Who is looking, when, and what they saw last.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    /// The time (UTC ms).
    pub now: u64,
    /// The viewer's party (`None`: not a member, nothing is "partner").
    pub party: Option<PartyId>,
    /// The heads the viewer had when they last looked (`None`: skip "what
    /// changed").
    pub last_seen: Option<&'a [ChangeHash]>,
}

/// What sign-off verification needs from outside the document.
pub struct SignoffContext<'a> {
    /// The partnership document's id (part of every signed statement).
    pub document: &'a DocumentId,
    /// The keys the relay attests for each member.
    pub attested_keys: &'a dyn Fn(MemberId) -> Vec<VerifyingKey>,
}

/// The next check-in.
#[derive(Debug, Clone, PartialEq)]
pub struct NextCheckIn {
    /// When (UTC ms).
    pub at: u64,
    /// The scheduled meeting, if one is: its id and title.
    pub meeting: Option<(ItemId, String)>,
    /// Its time has passed and it was not held.
    pub overdue: bool,
}

/// A clause waiting for a party's sign-off.
#[derive(Debug, Clone, PartialEq)]
pub struct AwaitingSignoff {
    /// The clause.
    pub clause: ItemId,
    /// Its title.
    pub title: String,
    /// The parties that have signed its current text.
    pub signed_by: Vec<PartyId>,
    /// The parties that have not.
    pub waiting_for: Vec<PartyId>,
}

/// How much one partner member changed since the viewer last looked.
#[derive(Debug, Clone, PartialEq)]
pub struct PartnerActivity {
    /// The member.
    pub member: MemberId,
    /// Their party.
    pub party: Option<PartyId>,
    /// How many changes.
    pub changes: usize,
    /// When the latest was made (UTC ms), if recorded.
    pub last_at: Option<u64>,
}

/// The attention panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Attention {
    /// Overdue action items, most overdue first.
    pub overdue_actions: Vec<ActionRef>,
    /// KPIs off track.
    pub kpis_off_track: Vec<Kpi>,
    /// The next check-in.
    pub next_check_in: Option<NextCheckIn>,
    /// High risks, highest score first.
    pub high_risks: Vec<Risk>,
    /// Conflicts past their escalation deadline, most overdue first.
    pub overdue_conflicts: Vec<Conflict>,
    /// Clauses the viewer's party signed that wait for the partner.
    pub awaiting_partner_signoff: Vec<AwaitingSignoff>,
    /// Clauses the partner signed that wait for the viewer's party.
    pub awaiting_our_signoff: Vec<AwaitingSignoff>,
    /// Clauses the partner changed since the viewer last looked.
    pub partner_clause_changes: Vec<ClauseChange>,
    /// Everything the partner's members changed since then, per member.
    pub partner_activity: Vec<PartnerActivity>,
    /// Health-check rounds where the viewer's party has not submitted.
    pub health_rounds_waiting: Vec<ItemId>,
}

impl Attention {
    /// Whether there is nothing to show (the next check-in aside, unless
    /// overdue).
    pub fn is_empty(&self) -> bool {
        self.overdue_actions.is_empty()
            && self.kpis_off_track.is_empty()
            && !self.next_check_in.as_ref().is_some_and(|n| n.overdue)
            && self.high_risks.is_empty()
            && self.overdue_conflicts.is_empty()
            && self.awaiting_partner_signoff.is_empty()
            && self.awaiting_our_signoff.is_empty()
            && self.partner_clause_changes.is_empty()
            && self.partner_activity.is_empty()
            && self.health_rounds_waiting.is_empty()
    }
}

/// The next check-in (see the module docs).
pub fn next_check_in(doc: &Automerge, now: u64) -> Option<NextCheckIn> {
    let scheduled = meetings::list(doc)
        .into_iter()
        .filter(|m| m.fields.kind.is_check_in() && m.held_at.is_none())
        .min_by(|a, b| a.fields.at.cmp(&b.fields.at).then(a.id.cmp(&b.id)));
    match scheduled {
        Some(m) => Some(NextCheckIn {
            at: m.fields.at,
            overdue: m.fields.at < now,
            meeting: Some((m.id, m.fields.title)),
        }),
        None => overview::read(doc).next_check_in.map(|at| NextCheckIn {
            at,
            meeting: None,
            overdue: at < now,
        }),
    }
}

fn signoffs(doc: &Automerge, mine: PartyId, ctx: &SignoffContext<'_>) -> [Vec<AwaitingSignoff>; 2] {
    let summary = signoff::summary(doc, ctx.document, ctx.attested_keys);
    let titles = agreement::clauses(doc);
    let (mut partner, mut ours) = (Vec::new(), Vec::new());
    for clause in summary.clauses {
        let signed_by = clause.signed_by();
        let waiting_for: Vec<PartyId> = clause
            .parties
            .iter()
            .filter(|p| p.state != PartyState::Signed)
            .map(|p| p.party)
            .collect();
        if signed_by.is_empty() || waiting_for.is_empty() {
            continue;
        }
        let entry = AwaitingSignoff {
            clause: clause.clause,
            title: titles
                .iter()
                .find(|c| c.id == clause.clause)
                .map(|c| c.title.clone())
                .unwrap_or_default(),
            signed_by: signed_by.clone(),
            waiting_for: waiting_for.clone(),
        };
        if waiting_for.contains(&mine) {
            ours.push(entry);
        } else {
            partner.push(entry);
        }
    }
    [partner, ours]
}

fn partner_activity(doc: &Automerge, mine: PartyId, seen: &[ChangeHash]) -> Vec<PartnerActivity> {
    let mut found: Vec<PartnerActivity> = Vec::new();
    for change in doc.get_changes(seen) {
        let Some((member, party)) = members::attribute(doc, change.actor_id()) else {
            continue;
        };
        if party == Some(mine) {
            continue;
        }
        let at = u64::try_from(change.timestamp())
            .ok()
            .filter(|&t| t > 0)
            .map(|t| t.saturating_mul(1000));
        match found.iter_mut().find(|a| a.member == member) {
            Some(entry) => {
                entry.changes += 1;
                entry.last_at = entry.last_at.max(at);
            }
            None => found.push(PartnerActivity {
                member,
                party,
                changes: 1,
                last_at: at,
            }),
        }
    }
    found.sort_by(|a, b| b.changes.cmp(&a.changes).then(a.member.cmp(&b.member)));
    found
}

/// Everything that needs the viewer's attention. `signoffs` is needed for
/// the sign-off lists (left empty without it); `viewer.last_seen` for the
/// partner's changes.
pub fn attention(
    doc: &Automerge,
    viewer: &Viewer<'_>,
    signoff_context: Option<&SignoffContext<'_>>,
) -> Attention {
    let now = viewer.now;
    let [awaiting_partner_signoff, awaiting_our_signoff] = match (viewer.party, signoff_context) {
        (Some(mine), Some(ctx)) => signoffs(doc, mine, ctx),
        _ => [Vec::new(), Vec::new()],
    };
    let (partner_clause_changes, partner_activity) = match (viewer.party, viewer.last_seen) {
        (Some(mine), Some(seen)) => (
            history::changed_since(doc, seen)
                .map(|changes| {
                    changes
                        .into_iter()
                        .filter(|c| c.parties.iter().any(|p| *p != mine))
                        .collect()
                })
                .unwrap_or_default(),
            partner_activity(doc, mine, seen),
        ),
        _ => (Vec::new(), Vec::new()),
    };
    let health_rounds_waiting = match viewer.party {
        Some(mine) => health::list(doc)
            .into_iter()
            .filter(|r| {
                r.status
                    .parties
                    .iter()
                    .any(|p| p.party == mine && !p.submitted)
            })
            .map(|r| r.id)
            .collect(),
        None => Vec::new(),
    };
    Attention {
        overdue_actions: overdue_actions(doc, now),
        kpis_off_track: kpis::list(doc)
            .into_iter()
            .filter(|k| k.health == Health::OffTrack)
            .collect(),
        next_check_in: next_check_in(doc, now),
        high_risks: risks::high(doc),
        overdue_conflicts: conflicts::overdue(doc, now),
        awaiting_partner_signoff,
        awaiting_our_signoff,
        partner_clause_changes,
        partner_activity,
        health_rounds_waiting,
    }
}

/// Every action item of every meeting and review: meetings first (by time),
/// then reviews (by period).
pub fn all_actions<R: ReadDoc>(doc: &R) -> Vec<ActionRef> {
    let meetings = meetings::list(doc).into_iter().flat_map(|m| {
        let (id, title) = (m.id, m.fields.title);
        m.actions.into_iter().map(move |action| ActionRef {
            source: ActionSource::Meeting(id),
            source_title: title.clone(),
            action,
        })
    });
    let reviews = crate::model::reviews::list(doc).into_iter().flat_map(|r| {
        let (id, title) = (r.id, r.fields.title);
        r.actions.into_iter().map(move |action| ActionRef {
            source: ActionSource::Review(id),
            source_title: title.clone(),
            action,
        })
    });
    meetings.chain(reviews).collect()
}

/// The open action items past their due date, most overdue first.
pub fn overdue_actions<R: ReadDoc>(doc: &R, now: u64) -> Vec<ActionRef> {
    let mut found: Vec<ActionRef> = all_actions(doc)
        .into_iter()
        .filter(|a| a.action.is_overdue(now))
        .collect();
    found.sort_by(|a, b| {
        a.action
            .fields
            .due
            .cmp(&b.action.fields.due)
            .then(a.action.id.cmp(&b.action.id))
    });
    found
}

#[cfg(test)]
mod tests {
    use automerge::transaction::CommitOptions;
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::model::DAY_MS;
    use crate::model::actions::{self, NewAction};
    use crate::model::conflicts::{ConflictFields, NewConflict, Severity};
    use crate::model::kpis::NewMeasurement;
    use crate::model::meetings::{MeetingKind, NewMeeting};
    use crate::model::risks::NewRisk;
    use crate::model::test_support::{T0, id, partnership, put_clause, revenue_kpi};
    use crate::model::{governance, members};

    #[test]
    fn the_panel_collects_what_needs_attention() {
        let mut fixture = partnership();
        let (alice, bob, acme, globex) = (fixture.alice, fixture.bob, fixture.acme, fixture.globex);
        let doc = &mut fixture.doc;
        let now = T0 + 30 * DAY_MS;
        // The panel at `now`, as Acme sees it.
        let acme_view = |doc: &mut automerge::AutoCommit| {
            let viewer = Viewer {
                now,
                party: Some(acme),
                last_seen: None,
            };
            attention(doc.document(), &viewer, None)
        };

        // Nothing yet, but the cadence's check-in.
        let quiet = acme_view(doc);
        assert!(quiet.is_empty());
        assert_eq!(
            quiet.next_check_in,
            Some(NextCheckIn {
                at: T0 + 91 * DAY_MS,
                meeting: None,
                overdue: false
            })
        );

        meetings::schedule(
            doc,
            id(1),
            &NewMeeting {
                kind: MeetingKind::CheckIn,
                title: "Monthly".into(),
                at: Some(T0 + 20 * DAY_MS),
                duration_minutes: 30,
                location: String::new(),
            },
            T0,
        )
        .unwrap();
        actions::add(
            doc,
            ActionSource::Meeting(id(1)),
            id(2),
            &NewAction {
                title: "Send forecast".into(),
                owner: Some(bob),
                due: Some(T0 + 25 * DAY_MS),
            },
        )
        .unwrap();
        actions::add(
            doc,
            ActionSource::Meeting(id(1)),
            id(3),
            &NewAction {
                title: "Later".into(),
                owner: None,
                due: Some(now + DAY_MS),
            },
        )
        .unwrap();
        kpis::add(doc, id(4), &revenue_kpi(None), T0).unwrap();
        kpis::record(
            doc,
            id(4),
            id(5),
            &NewMeasurement {
                value: 10.0,
                note: String::new(),
                at: T0 + DAY_MS,
                by: alice,
            },
        )
        .unwrap();
        risks::add(
            doc,
            id(6),
            &NewRisk {
                title: "Key engineer leaves".into(),
                likelihood: 3,
                impact: 5,
                ..NewRisk::default()
            },
            T0,
        )
        .unwrap();
        risks::add(
            doc,
            id(7),
            &NewRisk {
                title: "Minor".into(),
                likelihood: 2,
                impact: 2,
                ..NewRisk::default()
            },
            T0,
        )
        .unwrap();
        governance::add_level(doc, id(8), "Managers", "Alice and Bob", 7).unwrap();
        conflicts::raise(
            doc,
            id(9),
            &NewConflict {
                fields: ConflictFields {
                    title: "Pricing".into(),
                    description: String::new(),
                    severity: Severity::Medium,
                },
                raised_by: bob,
            },
            T0,
        )
        .unwrap();
        health::open_round(doc, id(10), "Q1", alice, T0).unwrap();

        let panel = acme_view(doc);
        let overdue: Vec<ItemId> = panel.overdue_actions.iter().map(|a| a.action.id).collect();
        assert_eq!(overdue, [id(2)]);
        assert_eq!(panel.kpis_off_track.len(), 1);
        assert_eq!(panel.kpis_off_track[0].fields.name, "Joint revenue");
        assert_eq!(
            panel.next_check_in,
            Some(NextCheckIn {
                at: T0 + 20 * DAY_MS,
                meeting: Some((id(1), "Monthly".into())),
                overdue: true
            })
        );
        assert_eq!(
            panel.high_risks.iter().map(|r| r.id).collect::<Vec<_>>(),
            [id(6)]
        );
        assert_eq!(panel.overdue_conflicts.len(), 1);
        assert_eq!(panel.health_rounds_waiting, [id(10)]);
        assert!(!panel.is_empty());
        // The conflict is not overdue exactly at its deadline.
        let at_deadline = attention(
            doc.document(),
            &Viewer {
                now: T0 + 7 * DAY_MS,
                party: None,
                last_seen: None,
            },
            None,
        );
        assert!(at_deadline.overdue_conflicts.is_empty());
        assert!(at_deadline.health_rounds_waiting.is_empty());
        let _ = globex;
    }

    #[test]
    fn signoffs_and_partner_changes_since_last_seen() {
        let mut fixture = partnership();
        let (alice, bob, acme, globex) = (fixture.alice, fixture.bob, fixture.acme, fixture.globex);
        let document = DocumentId::from_bytes([0xd0; 16]);
        let alice_actor = fixture.doc.get_actor().clone();
        members::register_device(&mut fixture.doc, &alice_actor, alice).unwrap();
        put_clause(&mut fixture.doc, 1, "Term", "Two years.");
        put_clause(&mut fixture.doc, 2, "Exclusivity", "None.");
        fixture
            .doc
            .commit_with(CommitOptions::default().with_time(1_700_000_000));
        let seen = fixture.doc.get_heads();

        // Bob, on his own device, edits a clause and signs it for Globex.
        let mut bob_doc = fixture
            .doc
            .fork()
            .with_actor(automerge::ActorId::from([0xbb; 16]));
        let bob_actor = bob_doc.get_actor().clone();
        members::register_device(&mut bob_doc, &bob_actor, bob).unwrap();
        agreement::set_clause_body(&mut bob_doc, id(2), "None, except Benelux.", None).unwrap();
        bob_doc.commit_with(CommitOptions::default().with_time(1_700_000_100));
        let bob_key = SigningKey::from_bytes(&[7; 32]);
        signoff::sign(&mut bob_doc, &document, id(2), bob, &bob_key, T0 + 1).unwrap();
        bob_doc.commit_with(CommitOptions::default().with_time(1_700_000_200));
        fixture.doc.merge(&mut bob_doc).unwrap();

        let keys = move |m: MemberId| {
            (m == bob)
                .then(|| bob_key.verifying_key())
                .into_iter()
                .collect::<Vec<_>>()
        };
        let ctx = SignoffContext {
            document: &document,
            attested_keys: &keys,
        };
        // The panel a day later, as `party` sees it.
        let mut seen_by = |party| {
            let viewer = Viewer {
                now: T0 + DAY_MS,
                party: Some(party),
                last_seen: Some(&seen),
            };
            attention(fixture.doc.document(), &viewer, Some(&ctx))
        };
        let panel = seen_by(acme);
        assert!(panel.awaiting_partner_signoff.is_empty());
        assert_eq!(panel.awaiting_our_signoff.len(), 1);
        let waiting = &panel.awaiting_our_signoff[0];
        assert_eq!(
            (waiting.clause, waiting.title.as_str()),
            (id(2), "Exclusivity")
        );
        assert_eq!(
            (waiting.signed_by.clone(), waiting.waiting_for.clone()),
            (vec![globex], vec![acme])
        );
        let changed: Vec<ItemId> = panel
            .partner_clause_changes
            .iter()
            .map(|c| c.clause)
            .collect();
        assert_eq!(changed, [id(2)]);
        assert_eq!(
            panel.partner_activity,
            [PartnerActivity {
                member: bob,
                party: Some(globex),
                changes: 2,
                last_at: Some(1_700_000_200_000)
            }]
        );

        // Seen from Globex: Term awaits nobody, Exclusivity awaits Acme.
        let theirs = seen_by(globex);
        assert_eq!(theirs.awaiting_partner_signoff.len(), 1);
        assert!(theirs.awaiting_our_signoff.is_empty());
        assert!(
            theirs.partner_activity.is_empty(),
            "Globex's own changes are not the partner's"
        );
    }
}
