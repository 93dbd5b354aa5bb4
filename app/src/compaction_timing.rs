//! When a due compaction may run, decided without any I/O.
//!
//! Compacting a big partnership holds the page's thread for tens of
//! milliseconds (a snapshot of the document and a transaction that reads
//! and replaces its chunks; see [`crate::saving`]). A key typed meanwhile
//! waits for it, so a due compaction never runs during a burst of typing:
//! only once nobody has edited in this tab for [`QUIET_MS`] *and* the
//! browser then reports an idle moment (the shell asks with
//! `requestIdleCallback`, or a zero timer where there is none), or at once
//! when the tab is hidden (switched away from, minimised, being closed),
//! when nobody can be typing in it. A compaction that stays due for
//! [`PATIENCE_MS`] needs only a [`SHORT_QUIET_MS`] pause, so someone who
//! never stops for two seconds still gets it eventually.
//!
//! Durability does not depend on any of this: every change is stored as an
//! increment as soon as it is made; a compaction only replaces stored
//! chunks with one snapshot holding the same changes.

/// How long nobody must have edited in this tab before a due compaction
/// may run.
pub const QUIET_MS: u64 = 2_000;
/// After being due this long, a compaction needs only [`SHORT_QUIET_MS`].
pub const PATIENCE_MS: u64 = 60_000;
/// The pause that suffices once a compaction waited [`PATIENCE_MS`].
pub const SHORT_QUIET_MS: u64 = 500;

/// What the writer should do about compaction now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenToCompact {
    /// Nothing is due: wait for new work.
    NotDue,
    /// Someone edited recently: look again after this many milliseconds
    /// (or on the next edit).
    After(u64),
    /// Quiet long enough: ask the browser for an idle moment, report it
    /// with [`CompactionTiming::idle`], then look again.
    AskForIdle,
    /// Compact now.
    Now,
}

/// The moments that decide when a due compaction runs (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct CompactionTiming {
    /// This tab's last local edit (ms).
    last_edit: Option<u64>,
    /// The browser's last idle moment reported since that edit (ms).
    idle_at: Option<u64>,
    /// Since when a compaction has been due (ms), while one is.
    due_since: Option<u64>,
    /// The tab is hidden.
    hidden: bool,
}

impl CompactionTiming {
    /// A local edit at `now`: restarts the quiet period.
    pub fn edited(&mut self, now: u64) {
        self.last_edit = Some(now);
        self.idle_at = None;
    }

    /// The browser reported an idle moment at `now`.
    pub fn idle(&mut self, now: u64) {
        self.idle_at = Some(now);
    }

    /// The tab was hidden (`true`) or shown again (`false`).
    pub fn set_hidden(&mut self, hidden: bool) {
        self.hidden = hidden;
    }

    /// What to do at `now`, when some document is `due` for compaction.
    pub fn decide(&mut self, now: u64, due: bool) -> WhenToCompact {
        if !due {
            self.due_since = None;
            return WhenToCompact::NotDue;
        }
        let due_since = *self.due_since.get_or_insert(now);
        if self.hidden {
            return WhenToCompact::Now;
        }
        let quiet = if now.saturating_sub(due_since) >= PATIENCE_MS {
            SHORT_QUIET_MS
        } else {
            QUIET_MS
        };
        let since_edit = self
            .last_edit
            .map_or(u64::MAX, |edit| now.saturating_sub(edit));
        if since_edit < quiet {
            return WhenToCompact::After(quiet - since_edit);
        }
        if self.idle_at.is_some() {
            WhenToCompact::Now
        } else {
            WhenToCompact::AskForIdle
        }
    }

    /// The compaction ran (or was refused): the next one waits for its
    /// own idle moment.
    pub fn compacted(&mut self) {
        self.idle_at = None;
        self.due_since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_typing_defers_a_due_compaction() {
        let mut timing = CompactionTiming::default();
        // A key every 300 ms for 20 s; the browser finds idle moments
        // between keys, which do not count while the typing goes on.
        for key in 0..66 {
            let now = 1_000 + key * 300;
            timing.edited(now);
            timing.idle(now + 100);
            let decision = timing.decide(now + 150, true);
            assert_eq!(decision, WhenToCompact::After(QUIET_MS - 150), "key {key}");
        }
    }

    #[test]
    fn quiet_then_an_idle_moment_lets_it_run() {
        let mut timing = CompactionTiming::default();
        timing.edited(1_000);
        assert_eq!(timing.decide(1_500, true), WhenToCompact::After(1_500));
        assert_eq!(timing.decide(3_000, true), WhenToCompact::AskForIdle);
        // A key typed while the writer waited for the idle moment: the
        // idle moment reported before it does not count.
        timing.idle(3_010);
        timing.edited(3_020);
        assert_eq!(timing.decide(3_030, true), WhenToCompact::After(1_990));
        assert_eq!(timing.decide(5_100, true), WhenToCompact::AskForIdle);
        timing.idle(5_120);
        assert_eq!(timing.decide(5_121, true), WhenToCompact::Now);
        timing.compacted();
        assert_eq!(timing.decide(5_200, false), WhenToCompact::NotDue);
        // The next one waits for its own idle moment.
        assert_eq!(timing.decide(9_000, true), WhenToCompact::AskForIdle);
    }

    #[test]
    fn nothing_due_means_nothing_to_wait_for() {
        let mut timing = CompactionTiming::default();
        timing.set_hidden(true);
        assert_eq!(timing.decide(10, false), WhenToCompact::NotDue);
    }

    #[test]
    fn hiding_the_tab_compacts_at_once_even_right_after_a_key() {
        let mut timing = CompactionTiming::default();
        timing.edited(1_000);
        assert_eq!(timing.decide(1_010, true), WhenToCompact::After(1_990));
        timing.set_hidden(true);
        assert_eq!(timing.decide(1_020, true), WhenToCompact::Now);
        timing.compacted();
        timing.set_hidden(false);
        timing.edited(1_100);
        assert_eq!(timing.decide(1_200, true), WhenToCompact::After(1_900));
    }

    #[test]
    fn a_compaction_due_for_long_needs_only_a_short_pause() {
        let mut timing = CompactionTiming::default();
        timing.edited(0);
        assert_eq!(timing.decide(100, true), WhenToCompact::After(1_900));
        // A minute of typing with a 600 ms pause now and then.
        timing.edited(PATIENCE_MS + 100);
        let later = PATIENCE_MS + 100 + SHORT_QUIET_MS + 100;
        assert_eq!(timing.decide(later, true), WhenToCompact::AskForIdle);
        timing.idle(later);
        assert_eq!(timing.decide(later, true), WhenToCompact::Now);
    }

    #[test]
    fn without_any_edit_a_due_compaction_only_waits_for_idle() {
        // Changes that arrived from the relay or another tab made it due.
        let mut timing = CompactionTiming::default();
        assert_eq!(timing.decide(5, true), WhenToCompact::AskForIdle);
        timing.idle(6);
        assert_eq!(timing.decide(7, true), WhenToCompact::Now);
    }
}
