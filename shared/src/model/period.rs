//! A span of time with both ends included: what a review looks back on and
//! what a report covers.

/// From `from` to `to`, both included, in UTC ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Period {
    /// First instant.
    pub from: u64,
    /// Last instant.
    pub to: u64,
}

impl Period {
    /// Whether `at` falls within it.
    pub fn contains(self, at: u64) -> bool {
        (self.from..=self.to).contains(&at)
    }

    /// Whether it shares at least one instant with `other`.
    pub fn overlaps(self, other: Period) -> bool {
        self.from <= other.to && self.to >= other.from
    }
}
