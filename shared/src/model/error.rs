//! Why an operation on the partnership document was refused.
//!
//! Every operation validates its input before it writes anything, so an
//! error always means the document is unchanged. The messages are written to
//! be shown inline next to the field the user was editing.

use automerge::AutomergeError;

use crate::text::TextEditError;

/// What an operation returns: its value, or why it was refused (having
/// written nothing).
pub type OpResult<T = ()> = Result<T, OpError>;

/// Why an operation was refused. The document is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// A title or name that must not be blank was blank.
    #[error("{field} must not be empty")]
    Empty {
        /// Which field (for example `"title"`).
        field: &'static str,
    },
    /// The item the operation refers to does not exist (or was deleted).
    #[error("no such {kind}: {id}")]
    NotFound {
        /// What kind of item (for example `"objective"`).
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// An item with this id already exists (ids must be fresh random bytes).
    #[error("a {kind} with id {id} already exists")]
    Duplicate {
        /// What kind of item.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// A number outside its allowed range.
    #[error("{field} must be between {min} and {max} (got {value})")]
    OutOfRange {
        /// Which field.
        field: &'static str,
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
        /// The value given.
        value: f64,
    },
    /// A number that is not finite (NaN or infinite).
    #[error("{field} must be a number")]
    NotANumber {
        /// Which field.
        field: &'static str,
    },
    /// A date outside the years 2000–2199 (zero, or not a plausible date).
    #[error("{field} must be a date from 1 January 2000 to 31 December 2199")]
    InvalidDate {
        /// Which field.
        field: &'static str,
    },
    /// A quantitative KPI without a unit.
    #[error("a quantitative KPI needs a unit (for example \"%\" or \"EUR\")")]
    MissingUnit,
    /// A text that is not in the expected format.
    #[error("{field} is not valid: {reason}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The item is still referred to and cannot be removed.
    #[error("this {kind} cannot be removed while {reason}")]
    InUse {
        /// What kind of item.
        kind: &'static str,
        /// What still refers to it.
        reason: &'static str,
    },
    /// The document was written by a newer version of Accord.
    #[error(
        "this partnership uses schema version {found}; this app understands up to {supported} — please update"
    )]
    UnsupportedSchema {
        /// The version in the document.
        found: u64,
        /// The newest version this code understands.
        supported: u64,
    },
    /// The document has not been initialised as a partnership (see [`super::migrate`]).
    #[error("this document is not a partnership (missing {0})")]
    NotInitialized(&'static str),
    /// The clause is proposed by another party: this member may only
    /// suggest changes to it (see `agreement::may_edit`).
    #[error(
        "this clause was proposed by the other organization: suggest your changes instead of editing"
    )]
    SuggestOnly,
    /// A suggestion cannot be accepted because the words it changes were
    /// edited or removed since it was made (it can still be rejected).
    #[error(
        "the words this suggestion changes were edited since it was made; it can only be rejected"
    )]
    NotApplicable,
    /// A suggestion was already accepted or rejected.
    #[error("this suggestion was already {0}")]
    AlreadyDecided(&'static str),
    /// A text edit was refused.
    #[error(transparent)]
    Text(#[from] TextEditError),
    /// Automerge refused the change.
    #[error(transparent)]
    Automerge(Box<AutomergeError>),
}

/// Boxed: Automerge's error is large, and every op returns `OpError`, so
/// keeping it inline made each `Result` over a hundred bytes.
impl From<AutomergeError> for OpError {
    fn from(error: AutomergeError) -> Self {
        Self::Automerge(Box::new(error))
    }
}

impl OpError {
    pub(crate) fn not_found(kind: &'static str, id: &dyn std::fmt::Display) -> Self {
        Self::NotFound {
            kind,
            id: id.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_small_enough_to_return_by_value() {
        assert!(
            std::mem::size_of::<OpError>() <= 64,
            "{}",
            std::mem::size_of::<OpError>()
        );
    }

    #[test]
    fn messages_read_well_inline() {
        let error = OpError::OutOfRange {
            field: "score",
            min: 1.0,
            max: 5.0,
            value: 7.0,
        };
        assert_eq!(error.to_string(), "score must be between 1 and 5 (got 7)");
        assert_eq!(
            OpError::Empty { field: "title" }.to_string(),
            "title must not be empty"
        );
        assert_eq!(
            OpError::not_found("objective", &"ab").to_string(),
            "no such objective: ab"
        );
    }
}
