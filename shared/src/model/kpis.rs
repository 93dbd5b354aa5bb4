//! Key performance indicators and their measurement log.
//!
//! ```text
//! kpis: { id → { name, objective (objective id)?, kind ("quantitative" | "qualitative"),
//!                unit, baseline, target, direction ("up" | "down"), scale,
//!                cadence (days), created_at, order, deleted_at?,
//!                measurements: { id → { value, note (Text), at, by (member id), deleted_at? } } } }
//! ```
//!
//! A quantitative KPI has a unit, a baseline, a target and a direction
//! (higher or lower is better); a qualitative one is a rating on a scale
//! `1..=scale` with a target rating. See [`health`] for how on track / at
//! risk / off track is derived.

use automerge::{ObjId, ObjType, ReadDoc};

use super::editable::editable_fields;
use super::error::{OpError, OpResult};
use super::fields::{
    DAY_MS, Tx, check_date, check_finite, check_range, child_map, get_f64, get_parsed, get_str,
    get_string, get_text, get_u32, get_u64, new_text, non_empty, patch_non_empty, patch_put,
    patch_put_opt, patch_text, put, put_opt,
};
use super::ids::{ItemId, MemberId};
use super::items::{self, Collection};
use super::refs;

const MEASUREMENTS: &str = "measurements";

/// Largest rating scale for a qualitative KPI.
pub const MAX_SCALE: u8 = 10;
/// Longest measurement cadence, in days.
pub const MAX_CADENCE_DAYS: u32 = 366;

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Higher values are better (revenue, leads).
    Up,
    /// Lower values are better (churn, response time).
    Down,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
        }
    }
}

/// What a KPI measures and what counts as success.
#[derive(Debug, Clone, PartialEq)]
pub enum KpiKind {
    /// A number with a unit.
    Quantitative {
        /// Unit, for example `"%"`, `"EUR"`, `"leads"` (required).
        unit: String,
        /// Where it started.
        baseline: f64,
        /// Where it should get to.
        target: f64,
        /// Which way is better.
        direction: Direction,
    },
    /// A rating on a scale `1..=scale`.
    Qualitative {
        /// The top of the scale (2–10).
        scale: u8,
        /// The rating that counts as success (1..=scale).
        target: u8,
    },
}

/// On track / at risk / off track; see [`health`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Health {
    /// No measurement yet.
    NoData,
    /// Far from target or moving away from it.
    OffTrack,
    /// Partway there.
    AtRisk,
    /// Target met or nearly met.
    OnTrack,
}

/// One entry of a KPI's log.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Its id.
    pub id: ItemId,
    /// The value measured (a rating for qualitative KPIs).
    pub value: f64,
    /// Context (prose).
    pub note: String,
    /// When it was measured (UTC ms).
    pub at: u64,
    /// Who measured it.
    pub by: Option<MemberId>,
}

/// A KPI as shown on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Kpi {
    /// Its id.
    pub id: ItemId,
    /// What it measures and how often.
    pub fields: KpiFields,
    /// The log, oldest first (by `at`, then id).
    pub measurements: Vec<Measurement>,
    /// Derived from the latest measurements.
    pub health: Health,
    /// When the next measurement is due: the latest one (or creation) plus
    /// the cadence (UTC ms).
    pub next_due: Option<u64>,
    /// When it was created (UTC ms).
    pub created_at: Option<u64>,
}

editable_fields! {
    /// The editable fields of a KPI.
    #[derive(Debug, Clone, PartialEq)]
    pub struct KpiFields {
        /// Its name (required, not blank).
        pub name: String,
        /// The objective it tracks, if any (it must exist; a patch unlinks
        /// it with `Some(None)`).
        pub objective: Option<ItemId>,
        /// What it measures and its target: kind, unit, baseline, target,
        /// direction or scale. Of a patched kind, only the values that
        /// differ from the stored ones are written.
        pub kind: KpiKind,
        /// Days between measurements (1–366).
        pub cadence_days: u32,
    }

    /// Changes to a KPI.
    pub struct KpiPatch;
}

/// What [`add`] takes: the fields of a new KPI.
pub type NewKpi = KpiFields;

/// A new measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMeasurement {
    /// The value (qualitative: a whole rating within the scale).
    pub value: f64,
    /// Context.
    pub note: String,
    /// When it was measured.
    pub at: u64,
    /// Who measured it (a current member).
    pub by: MemberId,
}

/// Changes to a measurement; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeasurementPatch {
    /// New value.
    pub value: Option<f64>,
    /// New note.
    pub note: Option<String>,
    /// New date.
    pub at: Option<u64>,
}

/// How far `value` has come from the baseline toward the target (1.0 =
/// target reached; ≤ 0 = no better than baseline), and whether the target
/// is met.
fn progress(kind: &KpiKind, value: f64) -> (f64, bool) {
    let (baseline, target, up) = match kind {
        KpiKind::Quantitative {
            baseline,
            target,
            direction,
            ..
        } => (*baseline, *target, *direction == Direction::Up),
        KpiKind::Qualitative { target, .. } => (1.0, f64::from(*target), true),
    };
    let met = if up { value >= target } else { value <= target };
    if met {
        (1.0, true)
    } else if target == baseline {
        (0.0, false)
    } else {
        ((value - baseline) / (target - baseline), false)
    }
}

/// Health from the measurements (in log order), by this rule:
///
/// 1. No measurement: [`Health::NoData`].
/// 2. Take the latest measurement (by `at`, then id). Its *progress* is how
///    far it has come from the baseline toward the target (for a
///    qualitative KPI the baseline is rating 1), as a fraction.
/// 3. Target met (at or beyond it, in the KPI's direction), or progress
///    ≥ 75 %: [`Health::OnTrack`]; progress ≥ 25 %: [`Health::AtRisk`];
///    otherwise (including at or worse than the baseline):
///    [`Health::OffTrack`].
/// 4. If the target is not met and the latest value is worse than the one
///    before it (moving away from the target), the health drops one level
///    (on track → at risk → off track).
pub fn health(kind: &KpiKind, measurements: &[Measurement]) -> Health {
    let Some(latest) = measurements.last() else {
        return Health::NoData;
    };
    let (p, met) = progress(kind, latest.value);
    let level = if met || p >= 0.75 {
        Health::OnTrack
    } else if p >= 0.25 {
        Health::AtRisk
    } else {
        Health::OffTrack
    };
    let previous = measurements.len().checked_sub(2).map(|i| &measurements[i]);
    let worsening = previous.is_some_and(|prev| p < progress(kind, prev.value).0);
    match (met, worsening, level) {
        (false, true, Health::OnTrack) => Health::AtRisk,
        (false, true, _) => Health::OffTrack,
        _ => level,
    }
}

fn check_cadence(days: u32) -> OpResult<u32> {
    check_range("cadence (days)", days.into(), 1, MAX_CADENCE_DAYS.into()).map(|_| days)
}

fn check_kind(kind: &KpiKind) -> OpResult<KpiKind> {
    match kind {
        KpiKind::Quantitative {
            unit,
            baseline,
            target,
            direction,
        } => {
            let unit = unit.trim();
            if unit.is_empty() {
                return Err(OpError::MissingUnit);
            }
            let baseline = check_finite("baseline", *baseline)?;
            let target = check_finite("target", *target)?;
            match direction {
                Direction::Up if target < baseline => Err(OpError::Invalid {
                    field: "target",
                    reason: "it is below the baseline, but higher is better",
                }),
                Direction::Down if target > baseline => Err(OpError::Invalid {
                    field: "target",
                    reason: "it is above the baseline, but lower is better",
                }),
                _ => Ok(KpiKind::Quantitative {
                    unit: unit.to_owned(),
                    baseline,
                    target,
                    direction: *direction,
                }),
            }
        }
        KpiKind::Qualitative { scale, target } => {
            check_range("scale", (*scale).into(), 2, MAX_SCALE.into())?;
            check_range("target rating", (*target).into(), 1, (*scale).into())?;
            Ok(kind.clone())
        }
    }
}

fn check_value(kind: &KpiKind, value: f64) -> OpResult<f64> {
    let value = check_finite("value", value)?;
    if let KpiKind::Qualitative { scale, .. } = kind {
        let max = f64::from(*scale);
        if value.fract() != 0.0 || !(1.0..=max).contains(&value) {
            return Err(OpError::OutOfRange {
                field: "rating",
                min: 1.0,
                max,
                value,
            });
        }
    }
    Ok(value)
}

fn read_kind<R: ReadDoc>(doc: &R, obj: &ObjId) -> KpiKind {
    let target = get_f64(doc, obj, "target").unwrap_or(0.0);
    if get_str(doc, obj, "kind").as_deref() == Some("qualitative") {
        let scale = get_u64(doc, obj, "scale")
            .and_then(|s| u8::try_from(s).ok())
            .filter(|s| (2..=MAX_SCALE).contains(s))
            .unwrap_or(5);
        KpiKind::Qualitative {
            scale,
            target: (target.round().clamp(1.0, f64::from(scale))) as u8,
        }
    } else {
        KpiKind::Quantitative {
            unit: get_string(doc, obj, "unit"),
            baseline: get_f64(doc, obj, "baseline").unwrap_or(0.0),
            target,
            direction: if get_str(doc, obj, "direction").as_deref() == Some("down") {
                Direction::Down
            } else {
                Direction::Up
            },
        }
    }
}

fn write_kind<T: Tx>(tx: &mut T, obj: &ObjId, kind: &KpiKind) -> OpResult {
    match kind {
        KpiKind::Quantitative {
            unit,
            baseline,
            target,
            direction,
        } => {
            put(tx, obj, "kind", "quantitative")?;
            put(tx, obj, "unit", unit.as_str())?;
            put(tx, obj, "baseline", *baseline)?;
            put(tx, obj, "target", *target)?;
            put(tx, obj, "direction", direction.as_str())
        }
        KpiKind::Qualitative { scale, target } => {
            put(tx, obj, "kind", "qualitative")?;
            put(tx, obj, "scale", u64::from(*scale))?;
            put(tx, obj, "target", f64::from(*target))
        }
    }
}

fn read_measurements<R: ReadDoc>(doc: &R, kpi: &ObjId) -> Vec<Measurement> {
    let Some(map) = child_map(doc, kpi, MEASUREMENTS) else {
        return Vec::new();
    };
    let mut found: Vec<Measurement> = items::entries(doc, &map)
        .into_iter()
        .filter_map(|(id, obj)| {
            Some(Measurement {
                id,
                value: get_f64(doc, &obj, "value")?,
                note: get_text(doc, &obj, "note"),
                at: get_u64(doc, &obj, "at")?,
                by: get_parsed(doc, &obj, "by"),
            })
        })
        .collect();
    found.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
    found
}

fn read_one<R: ReadDoc>(doc: &R, id: ItemId, obj: &ObjId) -> Kpi {
    let kind = read_kind(doc, obj);
    let measurements = read_measurements(doc, obj);
    let cadence_days = get_u32(doc, obj, "cadence").unwrap_or(30);
    let created_at = get_u64(doc, obj, "created_at");
    let next_due = measurements
        .last()
        .map(|m| m.at)
        .or(created_at)
        .map(|from| from.saturating_add(u64::from(cadence_days) * DAY_MS));
    let objective = get_parsed(doc, obj, "objective")
        .filter(|&o| items::require(doc, Collection::Objectives, o).is_ok());
    Kpi {
        id,
        health: health(&kind, &measurements),
        fields: KpiFields {
            name: get_string(doc, obj, "name"),
            objective,
            kind,
            cadence_days,
        },
        measurements,
        next_due,
        created_at,
    }
}

/// The KPIs, in display order.
pub fn list<R: ReadDoc>(doc: &R) -> Vec<Kpi> {
    items::read_all(doc, Collection::Kpis, |id, obj| read_one(doc, id, obj))
}

/// One KPI, or [`OpError::NotFound`].
pub fn get<R: ReadDoc>(doc: &R, id: ItemId) -> OpResult<Kpi> {
    items::read_one(doc, Collection::Kpis, id, |id, obj| read_one(doc, id, obj))
}

/// Adds a KPI.
pub fn add<T: Tx>(tx: &mut T, id: ItemId, new: &NewKpi, now: u64) -> OpResult {
    let name = non_empty("name", &new.name)?;
    let kind = check_kind(&new.kind)?;
    let cadence = check_cadence(new.cadence_days)?;
    let now = check_date("time", now)?;
    if let Some(objective) = new.objective {
        items::require(tx, Collection::Objectives, objective)?;
    }
    let obj = items::create_item(tx, Collection::Kpis, id)?;
    tx.put(&obj, "name", name)?;
    put_opt(tx, &obj, "objective", new.objective)?;
    write_kind(tx, &obj, &kind)?;
    tx.put(&obj, "cadence", u64::from(cadence))?;
    tx.put(&obj, "created_at", now)?;
    tx.put_object(&obj, MEASUREMENTS, ObjType::Map)?;
    Ok(())
}

/// Edits a KPI, field by field.
pub fn update<T: Tx>(tx: &mut T, id: ItemId, patch: &KpiPatch) -> OpResult {
    let name = patch_non_empty("name", patch.name.as_deref())?;
    let kind = patch.kind.as_ref().map(check_kind).transpose()?;
    let cadence = patch.cadence_days.map(check_cadence).transpose()?;
    if let Some(Some(objective)) = patch.objective {
        items::require(tx, Collection::Objectives, objective)?;
    }
    let obj = items::require(tx, Collection::Kpis, id)?;
    patch_put(tx, &obj, "name", name)?;
    patch_put_opt(tx, &obj, "objective", patch.objective)?;
    if let Some(kind) = kind {
        write_kind(tx, &obj, &kind)?;
    }
    patch_put(tx, &obj, "cadence", cadence.map(u64::from))?;
    Ok(())
}

/// Logs a measurement.
pub fn record<T: Tx>(tx: &mut T, kpi: ItemId, id: ItemId, new: &NewMeasurement) -> OpResult {
    let obj = items::require(tx, Collection::Kpis, kpi)?;
    let value = check_value(&read_kind(tx, &obj), new.value)?;
    let at = check_date("date", new.at)?;
    refs::require_member(tx, new.by)?;
    let map = Collection::Measurements { kpi }.locate(tx)?;
    let entry = items::create(tx, &map, "measurement", id)?;
    tx.put(&entry, "value", value)?;
    new_text(tx, &entry, "note", &new.note)?;
    tx.put(&entry, "at", at)?;
    tx.put(&entry, "by", new.by.key())?;
    Ok(())
}

/// Corrects a measurement, field by field.
pub fn update_measurement<T: Tx>(
    tx: &mut T,
    kpi: ItemId,
    id: ItemId,
    patch: &MeasurementPatch,
) -> OpResult {
    let obj = items::require(tx, Collection::Kpis, kpi)?;
    let value = patch
        .value
        .map(|v| check_value(&read_kind(tx, &obj), v))
        .transpose()?;
    let at = patch.at.map(|at| check_date("date", at)).transpose()?;
    let entry = items::require(tx, Collection::Measurements { kpi }, id)?;
    patch_put(tx, &entry, "value", value)?;
    patch_text(tx, &entry, "note", patch.note.as_deref())?;
    patch_put(tx, &entry, "at", at)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::objectives::{self, NewObjective};
    use crate::model::test_support::{T0, id, partnership};

    fn quantitative(unit: &str, baseline: f64, target: f64, direction: Direction) -> KpiKind {
        KpiKind::Quantitative {
            unit: unit.into(),
            baseline,
            target,
            direction,
        }
    }

    fn revenue() -> KpiKind {
        quantitative("kEUR", 0.0, 100.0, Direction::Up)
    }

    fn log(values: &[f64]) -> Vec<Measurement> {
        values
            .iter()
            .enumerate()
            .map(|(i, &value)| Measurement {
                id: id(u8::try_from(i).unwrap()),
                value,
                note: String::new(),
                at: T0 + i as u64,
                by: None,
            })
            .collect()
    }

    #[test]
    fn health_rule() {
        let up = revenue();
        assert_eq!(health(&up, &[]), Health::NoData);
        assert_eq!(health(&up, &log(&[100.0])), Health::OnTrack);
        assert_eq!(health(&up, &log(&[130.0])), Health::OnTrack);
        assert_eq!(health(&up, &log(&[80.0])), Health::OnTrack);
        assert_eq!(health(&up, &log(&[50.0])), Health::AtRisk);
        assert_eq!(health(&up, &log(&[10.0])), Health::OffTrack);
        assert_eq!(health(&up, &log(&[-5.0])), Health::OffTrack);
        // Moving away from the target drops a level…
        assert_eq!(health(&up, &log(&[90.0, 80.0])), Health::AtRisk);
        assert_eq!(health(&up, &log(&[60.0, 50.0])), Health::OffTrack);
        // …unless the target is still met.
        assert_eq!(health(&up, &log(&[150.0, 120.0])), Health::OnTrack);
        assert_eq!(health(&up, &log(&[40.0, 80.0])), Health::OnTrack);

        let churn = quantitative("%", 10.0, 5.0, Direction::Down);
        assert_eq!(health(&churn, &log(&[4.0])), Health::OnTrack);
        assert_eq!(health(&churn, &log(&[8.0])), Health::AtRisk);
        assert_eq!(health(&churn, &log(&[12.0])), Health::OffTrack);
        assert_eq!(health(&churn, &log(&[6.0, 7.0])), Health::OffTrack);

        let flat = quantitative("x", 3.0, 3.0, Direction::Up);
        assert_eq!(health(&flat, &log(&[3.0])), Health::OnTrack);
        assert_eq!(health(&flat, &log(&[2.9])), Health::OffTrack);

        let rating = KpiKind::Qualitative {
            scale: 5,
            target: 4,
        };
        assert_eq!(health(&rating, &log(&[4.0])), Health::OnTrack);
        assert_eq!(health(&rating, &log(&[3.0])), Health::AtRisk);
        assert_eq!(health(&rating, &log(&[1.0])), Health::OffTrack);
        assert_eq!(health(&rating, &log(&[1.0, 3.0])), Health::AtRisk);
        let easy = KpiKind::Qualitative {
            scale: 5,
            target: 1,
        };
        assert_eq!(health(&easy, &log(&[1.0])), Health::OnTrack);
    }

    #[test]
    fn add_validates_kind_cadence_and_links() {
        let mut doc = partnership().doc;
        let new = |kind: KpiKind| NewKpi {
            name: "Revenue".into(),
            objective: None,
            kind,
            cadence_days: 30,
        };
        assert!(matches!(
            add(
                &mut doc,
                id(60),
                &new(quantitative(" ", 0.0, 1.0, Direction::Up)),
                T0
            ),
            Err(OpError::MissingUnit)
        ));
        assert!(matches!(
            add(
                &mut doc,
                id(60),
                &new(quantitative("x", f64::NAN, 1.0, Direction::Up)),
                T0
            ),
            Err(OpError::NotANumber { field: "baseline" })
        ));
        assert!(matches!(
            add(
                &mut doc,
                id(60),
                &new(quantitative("x", 0.0, f64::INFINITY, Direction::Up)),
                T0
            ),
            Err(OpError::NotANumber { field: "target" })
        ));
        assert!(matches!(
            add(
                &mut doc,
                id(60),
                &new(quantitative("x", 5.0, 1.0, Direction::Up)),
                T0
            ),
            Err(OpError::Invalid {
                field: "target",
                ..
            })
        ));
        assert!(
            add(
                &mut doc,
                id(60),
                &new(quantitative("x", 1.0, 5.0, Direction::Down)),
                T0
            )
            .is_err()
        );
        assert!(matches!(
            add(
                &mut doc,
                id(60),
                &new(KpiKind::Qualitative {
                    scale: 1,
                    target: 1
                }),
                T0
            ),
            Err(OpError::OutOfRange { field: "scale", .. })
        ));
        assert!(matches!(
            add(
                &mut doc,
                id(60),
                &new(KpiKind::Qualitative {
                    scale: 5,
                    target: 6
                }),
                T0
            ),
            Err(OpError::OutOfRange {
                field: "target rating",
                ..
            })
        ));
        assert!(matches!(
            add(
                &mut doc,
                id(60),
                &NewKpi {
                    cadence_days: 0,
                    ..new(revenue())
                },
                T0
            ),
            Err(OpError::OutOfRange {
                field: "cadence (days)",
                ..
            })
        ));
        assert!(matches!(
            add(
                &mut doc,
                id(60),
                &NewKpi {
                    name: "".into(),
                    ..new(revenue())
                },
                T0
            ),
            Err(OpError::Empty { .. })
        ));
        assert!(matches!(
            add(
                &mut doc,
                id(60),
                &NewKpi {
                    objective: Some(id(1)),
                    ..new(revenue())
                },
                T0
            ),
            Err(OpError::NotFound {
                kind: "objective",
                ..
            })
        ));
        assert!(matches!(
            add(&mut doc, id(60), &new(revenue()), 0),
            Err(OpError::InvalidDate { .. })
        ));
        assert!(list(&doc).is_empty());
    }

    #[test]
    fn add_update_and_measure() {
        let mut fixture = partnership();
        let (alice, bob) = (fixture.alice, fixture.bob);
        let doc = &mut fixture.doc;
        objectives::add(
            doc,
            id(40),
            &NewObjective {
                title: "Grow".into(),
                ..NewObjective::default()
            },
            T0,
        )
        .unwrap();
        let new = NewKpi {
            name: "Joint revenue".into(),
            objective: Some(id(40)),
            kind: revenue(),
            cadence_days: 30,
        };
        add(doc, id(60), &new, T0).unwrap();
        let kpi = get(doc, id(60)).unwrap();
        assert_eq!(kpi.fields.objective, Some(id(40)));
        assert_eq!(kpi.health, Health::NoData);
        assert_eq!(kpi.next_due, Some(T0 + 30 * DAY_MS));

        let measure = |value: f64, at: u64, by| NewMeasurement {
            value,
            note: "Q1".into(),
            at,
            by,
        };
        assert!(matches!(
            record(doc, id(60), id(70), &measure(f64::NAN, T0, alice)),
            Err(OpError::NotANumber { .. })
        ));
        assert!(matches!(
            record(doc, id(60), id(70), &measure(1.0, 0, alice)),
            Err(OpError::InvalidDate { .. })
        ));
        assert!(matches!(
            record(
                doc,
                id(60),
                id(70),
                &measure(1.0, T0, MemberId::from_bytes([1; 16]))
            ),
            Err(OpError::NotFound { kind: "member", .. })
        ));
        assert!(matches!(
            record(doc, id(61), id(70), &measure(1.0, T0, alice)),
            Err(OpError::NotFound { kind: "KPI", .. })
        ));
        record(doc, id(60), id(71), &measure(90.0, T0 + 2 * DAY_MS, bob)).unwrap();
        record(doc, id(60), id(70), &measure(40.0, T0 + DAY_MS, alice)).unwrap();
        let kpi = get(doc, id(60)).unwrap();
        assert_eq!(kpi.measurements.len(), 2);
        assert_eq!(kpi.measurements[0].value, 40.0);
        assert_eq!(kpi.measurements[1].by, Some(bob));
        assert_eq!(kpi.measurements[1].note, "Q1");
        assert_eq!(kpi.health, Health::OnTrack);
        assert_eq!(kpi.next_due, Some(T0 + 32 * DAY_MS));

        update_measurement(
            doc,
            id(60),
            id(71),
            &MeasurementPatch {
                value: Some(30.0),
                note: Some("Q1, corrected".into()),
                at: None,
            },
        )
        .unwrap();
        assert!(
            update_measurement(
                doc,
                id(60),
                id(71),
                &MeasurementPatch {
                    at: Some(1),
                    ..MeasurementPatch::default()
                }
            )
            .is_err()
        );
        assert!(matches!(
            update_measurement(doc, id(60), id(79), &MeasurementPatch::default()),
            Err(OpError::NotFound {
                kind: "measurement",
                ..
            })
        ));
        let kpi = get(doc, id(60)).unwrap();
        assert_eq!(kpi.measurements[1].note, "Q1, corrected");
        assert_eq!(kpi.health, Health::OffTrack);

        items::delete(doc, Collection::Measurements { kpi: id(60) }, id(71), T0).unwrap();
        assert_eq!(get(doc, id(60)).unwrap().health, Health::AtRisk);

        // Switching to a qualitative rating validates later measurements.
        assert!(matches!(
            update(
                doc,
                id(60),
                &KpiPatch {
                    kind: Some(KpiKind::Quantitative {
                        unit: "".into(),
                        baseline: 0.0,
                        target: 1.0,
                        direction: Direction::Up
                    }),
                    ..KpiPatch::default()
                }
            ),
            Err(OpError::MissingUnit)
        ));
        update(
            doc,
            id(60),
            &KpiPatch {
                name: Some("Partner satisfaction".into()),
                objective: Some(None),
                kind: Some(KpiKind::Qualitative {
                    scale: 5,
                    target: 4,
                }),
                cadence_days: Some(90),
            },
        )
        .unwrap();
        assert!(matches!(
            record(doc, id(60), id(72), &measure(3.5, T0, alice)),
            Err(OpError::OutOfRange {
                field: "rating",
                ..
            })
        ));
        assert!(record(doc, id(60), id(72), &measure(6.0, T0, alice)).is_err());
        record(doc, id(60), id(72), &measure(4.0, T0 + 3 * DAY_MS, alice)).unwrap();
        let kpi = get(doc, id(60)).unwrap();
        assert_eq!(kpi.fields.name, "Partner satisfaction");
        assert_eq!(kpi.fields.objective, None);
        assert_eq!(
            kpi.fields.kind,
            KpiKind::Qualitative {
                scale: 5,
                target: 4
            }
        );
        assert_eq!(kpi.fields.cadence_days, 90);
        assert_eq!(kpi.health, Health::OnTrack);
        assert!(matches!(
            update(
                doc,
                id(60),
                &KpiPatch {
                    cadence_days: Some(400),
                    ..KpiPatch::default()
                }
            ),
            Err(OpError::OutOfRange { .. })
        ));
    }

    #[test]
    fn a_deleted_objective_unlinks_its_kpis() {
        let mut doc = partnership().doc;
        let title = NewObjective {
            title: "Grow".into(),
            ..NewObjective::default()
        };
        objectives::add(&mut doc, id(40), &title, T0).unwrap();
        let new = NewKpi {
            name: "Revenue".into(),
            objective: Some(id(40)),
            kind: revenue(),
            cadence_days: 30,
        };
        add(&mut doc, id(60), &new, T0).unwrap();
        items::delete(&mut doc, Collection::Objectives, id(40), T0).unwrap();
        assert_eq!(get(&doc, id(60)).unwrap().fields.objective, None);
        items::restore(&mut doc, Collection::Objectives, id(40)).unwrap();
        assert_eq!(get(&doc, id(60)).unwrap().fields.objective, Some(id(40)));
    }
}
