//! The platform's calendar: Asia/Shanghai, the local time in which pages show times, documents
//! expire, daily caps reset and the real-name service opens.
//!
//! Asia/Shanghai has been UTC+8 all year since 1991 (no daylight saving), so a fixed offset is
//! the whole time zone for every Unix time this platform meets; no tz database is needed. The
//! calendar arithmetic is the `time` crate's.

use time::{OffsetDateTime, Time, UtcOffset};

use crate::validate::Date;

/// Asia/Shanghai's offset from UTC, in seconds.
pub const OFFSET_SECS: i64 = 8 * 3600;
/// Seconds in a calendar day (no leap seconds in Unix time).
pub const DAY_SECS: i64 = 86_400;

/// The offset as the `time` crate's type.
fn offset() -> UtcOffset {
    // 8 hours is inside the ±25 hours the type allows.
    UtcOffset::from_whole_seconds(OFFSET_SECS as i32).unwrap_or(UtcOffset::UTC)
}

/// Unix time `ts` on a Shanghai wall clock. Times the `time` crate cannot represent (beyond
/// ±9999 years) are not times this platform meets; they read as the Unix epoch.
fn local(ts: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.checked_to_offset(offset()))
        .unwrap_or_else(|| OffsetDateTime::UNIX_EPOCH.to_offset(offset()))
}

/// The calendar date in Asia/Shanghai at Unix time `ts`.
pub fn date(ts: i64) -> Date {
    let t = local(ts);
    // Years before 1 (which `Date` refuses) are not Unix times this platform meets either.
    u16::try_from(t.year())
        .ok()
        .and_then(|y| Date::new(y, u8::from(t.month()), t.day()))
        .or(Date::new(1970, 1, 1))
        .expect("1970-01-01 is a valid date")
}

/// Days since 1970-01-01 of the Asia/Shanghai date at `ts` (a day's number, e.g. in keys of
/// daily counters).
pub fn day_number(ts: i64) -> i64 {
    let epoch_day = OffsetDateTime::UNIX_EPOCH.to_julian_day();
    i64::from(local(ts).to_julian_day() - epoch_day)
}

/// Minutes after midnight, Asia/Shanghai, at `ts`.
pub fn minute_of_day(ts: i64) -> i64 {
    let t = local(ts);
    i64::from(t.hour()) * 60 + i64::from(t.minute())
}

/// The Unix time of the Asia/Shanghai midnight that starts the day of `ts`.
pub fn midnight(ts: i64) -> i64 {
    local(ts).replace_time(Time::MIDNIGHT).unix_timestamp()
}

/// The Unix time of the next Asia/Shanghai midnight after `ts` (`ts` itself excluded).
pub fn next_midnight(ts: i64) -> i64 {
    midnight(ts) + DAY_SECS
}

/// `YYYY-MM-DD HH:MM` in Asia/Shanghai, as pages show times.
pub fn minutes(ts: i64) -> String {
    let t = local(ts);
    format!("{} {:02}:{:02}", date(ts), t.hour(), t.minute())
}

/// `YYYY-MM-DD HH:MM:SS` in Asia/Shanghai.
pub fn seconds(ts: i64) -> String {
    format!("{}:{:02}", minutes(ts), local(ts).second())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01T00:00:00+08:00, i.e. 2025-12-31T16:00:00Z.
    const NEW_YEAR_2026: i64 = 1_767_196_800;

    #[test]
    fn the_epoch_is_eight_in_the_morning() {
        assert_eq!(minutes(0), "1970-01-01 08:00");
        assert_eq!(seconds(0), "1970-01-01 08:00:00");
        assert_eq!(day_number(0), 0);
        assert_eq!(minute_of_day(0), 8 * 60);
        assert_eq!(midnight(0), -OFFSET_SECS);
    }

    #[test]
    fn midnight_turns_the_day() {
        assert_eq!(seconds(NEW_YEAR_2026 - 1), "2025-12-31 23:59:59");
        assert_eq!(seconds(NEW_YEAR_2026), "2026-01-01 00:00:00");
        assert_eq!(date(NEW_YEAR_2026 - 1).to_string(), "2025-12-31");
        assert_eq!(date(NEW_YEAR_2026).to_string(), "2026-01-01");
        assert_eq!(day_number(NEW_YEAR_2026 - 1) + 1, day_number(NEW_YEAR_2026));
        assert_eq!(minute_of_day(NEW_YEAR_2026), 0);
        assert_eq!(minute_of_day(NEW_YEAR_2026 - 1), 24 * 60 - 1);
        assert_eq!(midnight(NEW_YEAR_2026), NEW_YEAR_2026);
        assert_eq!(midnight(NEW_YEAR_2026 - 1), NEW_YEAR_2026 - DAY_SECS);
        assert_eq!(midnight(NEW_YEAR_2026 + DAY_SECS - 1), NEW_YEAR_2026);
        assert_eq!(next_midnight(NEW_YEAR_2026), NEW_YEAR_2026 + DAY_SECS);
        assert_eq!(next_midnight(NEW_YEAR_2026 - 10), NEW_YEAR_2026);
    }

    #[test]
    fn month_ends_and_leap_days() {
        // 2024-02-29T16:00:00Z is already 1 March in Shanghai.
        assert_eq!(date(1_709_222_399).to_string(), "2024-02-29");
        assert_eq!(date(1_709_222_400).to_string(), "2024-03-01");
        // 2000 was a leap year (divisible by 400), 2100 will not be.
        assert_eq!(date(951_782_400).to_string(), "2000-02-29");
        assert_eq!(minutes(951_782_400 - OFFSET_SECS), "2000-02-29 00:00");
        // 2100-02-28T16:00:00Z: the day after 28 February 2100 in Shanghai is 1 March.
        assert_eq!(date(4_107_513_600).to_string(), "2100-03-01");
        // 2026-11-30T16:00:00Z: 30 November ends, December starts.
        assert_eq!(date(1_796_054_399).to_string(), "2026-11-30");
        assert_eq!(date(1_796_054_400).to_string(), "2026-12-01");
        // 2026-12-01T02:30:05Z and 12:00Z.
        assert_eq!(seconds(1_796_092_205), "2026-12-01 10:30:05");
        assert_eq!(minutes(1_796_126_400), "2026-12-01 20:00");
    }

    #[test]
    fn before_the_epoch_and_out_of_range() {
        // 1969-12-31T16:00:00Z is Shanghai's 1970-01-01 00:00; one second earlier is 1969.
        assert_eq!(seconds(-OFFSET_SECS), "1970-01-01 00:00:00");
        assert_eq!(seconds(-OFFSET_SECS - 1), "1969-12-31 23:59:59");
        assert_eq!(day_number(-OFFSET_SECS - 1), -1);
        assert_eq!(date(i64::MAX).to_string(), "1970-01-01");
        assert_eq!(date(i64::MIN).to_string(), "1970-01-01");
    }
}
