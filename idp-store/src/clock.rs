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
/// documents expire, daily caps reset and the real-name service opens. The calendar itself is
/// `tongyi_shared::shanghai`, the one all three apps use.
pub use tongyi_shared::shanghai::{DAY_SECS, OFFSET_SECS as SHANGHAI_OFFSET_SECS};

/// The Asia/Shanghai calendar date at Unix time `ts`.
pub fn shanghai_date(ts: i64) -> tongyi_shared::validate::Date {
    tongyi_shared::shanghai::date(ts)
}

/// Minutes after midnight, Asia/Shanghai, at Unix time `ts`.
pub fn shanghai_minute_of_day(ts: i64) -> i64 {
    tongyi_shared::shanghai::minute_of_day(ts)
}

/// The Unix time of the Asia/Shanghai midnight that starts the day of `ts`.
pub fn shanghai_midnight(ts: i64) -> i64 {
    tongyi_shared::shanghai::midnight(ts)
}

/// `YYYY-MM-DD HH:MM` in Asia/Shanghai, as pages show times.
pub fn shanghai_time(ts: i64) -> String {
    tongyi_shared::shanghai::minutes(ts)
}

/// `YYYY-MM-DD HH:MM:SS` in Asia/Shanghai.
pub fn shanghai_time_secs(ts: i64) -> String {
    tongyi_shared::shanghai::seconds(ts)
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
