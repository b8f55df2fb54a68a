//! Time as the IdP sees it. Tests move a shared offset forward to expire codes and tokens
//! without sleeping; production uses the system clock with a zero offset.

use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    /// Seconds since the Unix epoch.
    pub fn now(&self) -> i64 {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        real + self.offset_secs.load(Ordering::Relaxed)
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }
}

/// Asia/Shanghai is UTC+8 all year (no daylight saving): the platform's local time, in which
/// documents expire, daily caps reset and the real-name service opens.
pub const SHANGHAI_OFFSET_SECS: i64 = 8 * 3600;
pub const DAY_SECS: i64 = 86_400;

/// Year, month and day of a day count since 1970-01-01 (proleptic Gregorian calendar,
/// H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The Asia/Shanghai calendar date at Unix time `ts`.
pub fn shanghai_date(ts: i64) -> tongyi_shared::validate::Date {
    use tongyi_shared::validate::Date;
    let (y, m, d) = civil_from_days((ts + SHANGHAI_OFFSET_SECS).div_euclid(DAY_SECS));
    // Years outside u16 are not Unix times this platform meets.
    Date::new(y.clamp(1, 9999) as u16, m as u8, d as u8)
        .unwrap_or(Date::new(1970, 1, 1).expect("a valid date"))
}

/// Minutes after midnight, Asia/Shanghai, at Unix time `ts`.
pub fn shanghai_minute_of_day(ts: i64) -> i64 {
    (ts + SHANGHAI_OFFSET_SECS).rem_euclid(DAY_SECS) / 60
}

/// The Unix time of the Asia/Shanghai midnight that starts the day of `ts`.
pub fn shanghai_midnight(ts: i64) -> i64 {
    let local = ts + SHANGHAI_OFFSET_SECS;
    local - local.rem_euclid(DAY_SECS) - SHANGHAI_OFFSET_SECS
}

/// `YYYY-MM-DD HH:MM` in Asia/Shanghai, as pages show times.
pub fn shanghai_time(ts: i64) -> String {
    let secs = (ts + SHANGHAI_OFFSET_SECS).rem_euclid(DAY_SECS);
    format!(
        "{} {:02}:{:02}",
        shanghai_date(ts),
        secs / 3600,
        secs / 60 % 60
    )
}

/// `YYYY-MM-DD HH:MM:SS` in Asia/Shanghai.
pub fn shanghai_time_secs(ts: i64) -> String {
    format!("{}:{:02}", shanghai_time(ts), ts.rem_euclid(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shanghai_calendar() {
        assert_eq!(shanghai_time(0), "1970-01-01 08:00");
        assert_eq!(shanghai_time_secs(0), "1970-01-01 08:00:00");
        // 2026-12-01T02:30:05Z
        assert_eq!(shanghai_time_secs(1_796_092_205), "2026-12-01 10:30:05");
        // 2024-02-29T16:00:00Z is already 1 March in Shanghai; 2000-02-29 was a leap day.
        assert_eq!(shanghai_date(1_709_222_400).to_string(), "2024-03-01");
        assert_eq!(shanghai_date(951_782_400).to_string(), "2000-02-29");
        assert_eq!(shanghai_date(1_709_222_399).to_string(), "2024-02-29");
        assert_eq!(shanghai_minute_of_day(1_709_222_400), 0);
        assert_eq!(shanghai_midnight(1_709_222_400 + 3_600), 1_709_222_400);
        assert_eq!(shanghai_midnight(1_709_222_399), 1_709_222_400 - DAY_SECS);
    }
}
