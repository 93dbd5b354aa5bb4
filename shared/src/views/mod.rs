//! The read side: views computed from the partnership document, above the
//! model. A view reads through [`crate::model`]'s typed reads (and
//! Automerge's change log); it never writes, and no model module imports a
//! view, so the layers do not cross.
//!
//! - [`attention`]: what needs attention, for the overview's panel;
//! - [`report`]: the partnership report for a period, as Markdown;
//! - [`history`]: the agreement's history, "what changed since", word and
//!   line diffs;
//! - [`redline`]: the agreement compared between two versions;
//! - [`export`]: the agreement as Markdown, with its sign-offs judged;
//! - [`markdown`]: reading those Markdown exports back as blocks to show;
//! - [`ics`]: meetings as iCalendar (RFC 5545) files.

pub mod attention;
pub mod export;
pub mod history;
pub mod ics;
pub mod markdown;
pub mod redline;
pub mod report;
