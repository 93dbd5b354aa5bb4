//! UTC calendar arithmetic on the proleptic Gregorian calendar: the one
//! place that turns millisecond times into dates and back, for the app's
//! date inputs, the exports and the calendar file.
//!
//! The day-count conversions shift the epoch to 0000-03-01, so that a leap
//! day falls at the end of its year, and count 400-year eras of 146,097
//! days; they are exact for every year an `i64` day count can reach.
//!
//! Kept by hand rather than on `jiff` or `time`: Accord needs only these
//! conversions at UTC (no time zones, parsing or formatting rules), they
//! are tested against known dates below, and neither crate is otherwise
//! in the web build.

/// Milliseconds in a day.
const DAY_MS: u64 = 86_400_000;
/// Days from 0000-03-01 to 1970-01-01.
const EPOCH_SHIFT: i64 = 719_468;
/// Days in a 400-year era.
const ERA_DAYS: i64 = 146_097;

/// Days since 1970-01-01 of the date `year`-`month`-`day` (month 1–12).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * ERA_DAYS + doe - EPOCH_SHIFT
}

/// The date `days` after 1970-01-01, as (year, month 1–12, day 1–31).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + EPOCH_SHIFT;
    let era = z.div_euclid(ERA_DAYS);
    let doe = z.rem_euclid(ERA_DAYS);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are small and positive by construction (1–12 and 1–31).
    let small = |n: i64| u32::try_from(n).unwrap_or(1);
    (year, small(month), small(day))
}

/// How many days `month` of `year` has.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    let next = if month == 12 {
        days_from_civil(year + 1, 1, 1)
    } else {
        days_from_civil(year, month + 1, 1)
    };
    u32::try_from(next - days_from_civil(year, month, 1)).unwrap_or(0)
}

/// A UTC calendar date and time, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UtcDateTime {
    /// Year (for example 2024).
    pub year: i64,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, 1–31.
    pub day: u32,
    /// Hour, 0–23.
    pub hour: u32,
    /// Minute, 0–59.
    pub minute: u32,
    /// Second, 0–59.
    pub second: u32,
}

impl UtcDateTime {
    /// The date and time of `ms` milliseconds after 1970-01-01T00:00:00Z.
    pub fn from_millis(ms: u64) -> Self {
        let days = i64::try_from(ms / DAY_MS).unwrap_or(i64::MAX / 2);
        let (year, month, day) = civil_from_days(days);
        let secs = ms % DAY_MS / 1000;
        // Below 86,400, so every part fits.
        let small = |n: u64| u32::try_from(n).unwrap_or(0);
        Self {
            year,
            month,
            day,
            hour: small(secs / 3600),
            minute: small(secs % 3600 / 60),
            second: small(secs % 60),
        }
    }

    /// iCalendar UTC form: `20240131T093000Z`.
    pub fn ical(&self) -> String {
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// ISO date: `2024-01-31`.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// ISO date and time to the minute, UTC: `2024-01-31 09:30 UTC`.
    pub fn date_time(&self) -> String {
        format!("{} {:02}:{:02} UTC", self.date(), self.hour, self.minute)
    }
}

/// `YYYY-MM-DD` (UTC) of a millisecond time.
pub fn date(ms: u64) -> String {
    UtcDateTime::from_millis(ms).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_counts_and_dates_are_inverse_across_leap_rules() {
        // 1600 and 2000 are leap years, 1900 and 2100 are not.
        for days in (-150_000..150_000).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2023, 12), 31);
        assert_eq!(days_in_month(2023, 4), 30);
    }

    #[test]
    fn millisecond_times_read_as_utc_dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400_000), "2000-02-29");
        assert_eq!(date(4_107_542_400_000), "2100-03-01");
        assert_eq!(date(1_704_067_199_999), "2023-12-31");
        for (ms, expected) in [
            (0, "19700101T000000Z"),
            (951_782_400_000, "20000229T000000Z"),
            (1_700_000_000_000, "20231114T221320Z"),
            (1_709_164_799_000, "20240228T235959Z"),
            (1_709_251_200_000, "20240301T000000Z"),
            (4_102_444_800_000, "21000101T000000Z"),
        ] {
            assert_eq!(UtcDateTime::from_millis(ms).ical(), expected, "{ms}");
        }
        let t = UtcDateTime::from_millis(1_700_000_000_000);
        assert_eq!(t.date_time(), "2023-11-14 22:13 UTC");
    }
}
