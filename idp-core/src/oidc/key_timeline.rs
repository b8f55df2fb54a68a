//! When each signing key signs, is published, and is withdrawn.
//!
//! Keys of one algorithm form a timeline ordered by generation; each has the time it starts
//! signing. A key is published before that time (pre-publication, so that relying parties
//! that cache the JWK Set know it before the first token signed with it reaches them), signs
//! until its successor starts, and stays published afterwards until every token it signed has
//! expired. Every instance derives the same states from the same rows and the clock, so no
//! instance has to write a transition and none can miss one.

/// A key's place in its algorithm's timeline at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not yet signing.
    Pending,
    /// Signing (and published).
    Active,
    /// No longer signing; published until the last token it signed has expired.
    Previous,
    /// Withdrawn from the JWK Set.
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Pending => "pending",
            KeyState::Active => "active",
            KeyState::Previous => "previous",
            KeyState::Retired => "retired",
        }
    }

    /// Whether the JWK Set carries the key and tokens signed by it verify.
    pub fn is_published(self) -> bool {
        !matches!(self, KeyState::Retired)
    }
}

/// What the timeline needs to know of a key.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    pub generation: i64,
    pub activates_at: i64,
}

/// The state of each slot (same order as given) at `now`, and the next time any of them
/// changes (`i64::MAX` when none will). `retention_secs` is how long a key stays published
/// after it stopped signing.
pub fn states(slots: &[Slot], now: i64, retention_secs: i64) -> (Vec<KeyState>, i64) {
    let mut next_change = i64::MAX;
    let states = slots
        .iter()
        .map(|slot| {
            // Rotation only appends keys that start no earlier than the newest one, so the
            // successor is the earliest-starting key of a later generation.
            let superseded_at = slots
                .iter()
                .filter(|o| o.generation > slot.generation && o.activates_at <= now)
                .map(|o| o.activates_at)
                .min();
            if slot.activates_at > now {
                next_change = next_change.min(slot.activates_at);
                return KeyState::Pending;
            }
            match superseded_at {
                None => KeyState::Active,
                Some(at) if now < at.saturating_add(retention_secs) => {
                    next_change = next_change.min(at.saturating_add(retention_secs));
                    KeyState::Previous
                }
                Some(_) => KeyState::Retired,
            }
        })
        .collect();
    (states, next_change)
}

/// How long a key stays published after it stopped signing: the longest lifetime of anything
/// it signs, plus the time another instance may still be signing with it before it reloads
/// the keys (an immediate rotation), plus a minute for clocks that disagree.
pub fn retention_secs(longest_token_secs: i64, key_reload_secs: i64) -> i64 {
    longest_token_secs + key_reload_secs + 60
}

#[cfg(test)]
mod tests {
    use super::*;
    use KeyState::*;

    fn slot(generation: i64, activates_at: i64) -> Slot {
        Slot {
            generation,
            activates_at,
        }
    }

    #[test]
    fn a_lone_key_is_active_forever() {
        assert_eq!(states(&[slot(1, 100)], 100, 50), (vec![Active], i64::MAX));
    }

    #[test]
    fn a_scheduled_key_is_published_before_it_signs() {
        let slots = [slot(1, 0), slot(2, 1000)];
        assert_eq!(states(&slots, 999, 50), (vec![Active, Pending], 1000));
        assert_eq!(states(&slots, 1000, 50), (vec![Previous, Active], 1050));
        assert_eq!(states(&slots, 1049, 50).0, vec![Previous, Active]);
        assert_eq!(states(&slots, 1050, 50), (vec![Retired, Active], i64::MAX));
    }

    #[test]
    fn every_superseded_key_stays_for_its_own_retention_however_often_keys_rotate() {
        // Three rotations within one retention period: all keys stay published.
        let slots = [slot(1, 0), slot(2, 10), slot(3, 20), slot(4, 30)];
        let (s, next) = states(&slots, 30, 100);
        assert_eq!(s, vec![Previous, Previous, Previous, Active]);
        assert_eq!(
            next, 110,
            "the first key goes when its successor has signed 100 s"
        );
        assert_eq!(
            states(&slots, 110, 100).0,
            vec![Retired, Previous, Previous, Active]
        );
        assert_eq!(
            states(&slots, 130, 100).0,
            vec![Retired, Retired, Retired, Active]
        );
    }

    #[test]
    fn an_immediate_rotation_supersedes_at_once() {
        let slots = [slot(1, 0), slot(2, 500)];
        assert_eq!(states(&slots, 500, 50).0, vec![Previous, Active]);
    }

    #[test]
    fn retention_covers_tokens_reload_and_skew() {
        assert_eq!(retention_secs(300, 30), 390);
    }
}
