//! Time: Unix seconds, shown on pages in Asia/Shanghai (UTC+8, no daylight saving).

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `YYYY-MM-DD HH:MM` in Asia/Shanghai.
pub fn shanghai(unix: i64) -> String {
    tongyi_shared::shanghai::minutes(unix)
}

#[cfg(test)]
mod tests {
    #[test]
    fn shanghai_time() {
        assert_eq!(super::shanghai(0), "1970-01-01 08:00");
        // 2026-12-01 12:00 UTC.
        assert_eq!(super::shanghai(1_796_126_400), "2026-12-01 20:00");
        assert_eq!(super::shanghai(951_782_400 - 8 * 3600), "2000-02-29 00:00");
    }
}
