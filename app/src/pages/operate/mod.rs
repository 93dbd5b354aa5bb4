//! The operate pages of one partnership (issue 7): meetings, governance,
//! conflicts, risks, the health check and reviews, shown by [`super::view::PlanView`] like the plan pages and
//! written the same way, through [`crate::edit`].
//!
//! Times are shown and entered in UTC, the form the model stores.

pub mod actions;
pub mod attention;
pub mod conflicts;
pub mod governance;
pub mod health;
pub mod meetings;
pub mod reviews;
pub mod risks;

use std::collections::HashMap;

use accord_shared::model::members::Member;
use accord_shared::model::{DAY_MS, MemberId, OpError};
use leptos::prelude::*;

/// Text typed into the forms inside a list's cards, kept per form field
/// for the page's lifetime. Every change to the document (the partner's
/// too) renders the cards afresh; a card's form takes its fields from here,
/// so what the user was typing survives that.
#[derive(Clone, Copy)]
pub struct Drafts(StoredValue<HashMap<String, ArcRwSignal<String>>>);

impl Drafts {
    /// Empty drafts, provided as context for the page's cards.
    pub fn provide() -> Self {
        let drafts = Self(StoredValue::new(HashMap::new()));
        provide_context(drafts);
        drafts
    }

    /// The field `key` (for example `"agenda:<meeting id>"`), starting as
    /// `initial` the first time it is asked for. Outside a page that
    /// provided drafts, a fresh signal.
    pub fn field(key: String, initial: impl FnOnce() -> String) -> RwSignal<String> {
        let Some(drafts) = use_context::<Self>() else {
            return RwSignal::new(initial());
        };
        drafts
            .0
            .try_update_value(|map| {
                map.entry(key)
                    .or_insert_with(|| ArcRwSignal::new(initial()))
                    .clone()
            })
            .map_or_else(|| RwSignal::new(String::new()), RwSignal::from)
    }
}

/// Milliseconds in a minute.
const MINUTE_MS: u64 = 60_000;

/// Parses a time input's `HH:MM` into milliseconds after midnight; empty
/// text is midnight. Anything else is refused as an invalid `field`.
pub fn parse_time(field: &'static str, text: &str) -> Result<u64, OpError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    let invalid = OpError::Invalid {
        field,
        reason: "use HH:MM",
    };
    let Some((hours, minutes)) = text.split_once(':') else {
        return Err(invalid);
    };
    let number = |part: &str, max: u64| {
        (!part.is_empty() && part.len() <= 2 && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u64>().ok())
            .flatten()
            .filter(|v| *v <= max)
    };
    match (number(hours, 23), number(minutes, 59)) {
        (Some(h), Some(m)) => Ok((h * 60 + m) * MINUTE_MS),
        _ => Err(invalid),
    }
}

/// `HH:MM` (UTC) of a millisecond time, the form a time input takes.
pub fn format_time(ms: u64) -> String {
    let minutes = (ms % DAY_MS) / MINUTE_MS;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `YYYY-MM-DD HH:MM UTC` of a millisecond time.
pub fn format_date_time(ms: u64) -> String {
    format!("{} {} UTC", crate::edit::format_date(ms), format_time(ms))
}

/// The name of member `id` among `members`, or a placeholder.
pub fn member_name(members: &[Member], id: Option<MemberId>) -> String {
    id.and_then(|id| members.iter().find(|m| m.id == id))
        .map_or_else(|| "(nobody)".to_owned(), |m| m.name.clone())
}

/// `<option>`s choosing a current member (or nobody), `selected` chosen.
pub fn member_options(members: &[Member], selected: Option<MemberId>) -> impl IntoView + use<> {
    let choices = members
        .iter()
        .filter(|m| m.left_at.is_none() || Some(m.id) == selected)
        .map(|m| (m.id.key(), m.name.clone()))
        .collect();
    crate::components::form::optional_options(
        "(nobody)",
        choices,
        selected.map(|m| m.key()).as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_bad_ones_are_refused() {
        assert_eq!(parse_time("time", "").unwrap(), 0);
        assert_eq!(parse_time("time", "09:30").unwrap(), 570 * MINUTE_MS);
        assert_eq!(format_time(DAY_MS * 3 + 570 * MINUTE_MS), "09:30");
        assert_eq!(format_time(parse_time("time", "23:59").unwrap()), "23:59");
        for bad in ["24:00", "9", "12:60", "ab:cd", "1:2:3", "-1:00"] {
            let error = parse_time("time", bad).unwrap_err();
            assert_eq!(error.to_string(), "time is not valid: use HH:MM", "{bad}");
        }
    }
}
