//! Time as a relying party sees it: Unix seconds, with an offset that tests move forward to
//! expire access tokens and ID-token claims without sleeping. Production never touches the
//! offset, so it reads the system clock.

use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};

/// The RP's clock. Clones share one offset, so a test that keeps a clone of the clock an app
/// was built with moves that app's time.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    /// Seconds since the Unix epoch.
    pub fn now(&self) -> i64 {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        real.saturating_add(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every clone of it) forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }

    /// The same instant for the ID-token verifier of the `openidconnect` crate.
    pub(crate) fn now_utc(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(self.now(), 0).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;

    #[test]
    fn clones_share_the_offset() {
        let clock = Clock::default();
        let other = clock.clone();
        let before = clock.now();
        other.advance(3_600);
        let after = clock.now();
        // The real clock may tick between the two readings.
        assert!(
            (3_600..=3_602).contains(&(after - before)),
            "{before} {after}"
        );
        assert_eq!(clock.now_utc().timestamp(), clock.now());
    }
}
