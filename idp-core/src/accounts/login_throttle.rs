//! The rules of repeated login failures, in one place (the policy, with its reasons, is in
//! docs/security.md). No rule locks an account: a stranger elsewhere must not be able to keep
//! its owner out (OWASP ASVS 2.2.1, NIST SP 800-63B §5.2.2).
//!
//! Every attempt is *reserved* before any work: the counters of the identifier typed, of the
//! client address and of the pair rise at once, and the attempt is judged by the counts before
//! it. So N parallel attempts count as N and see N different counts: only the first ones
//! below a threshold get past it. A successful login gives its reservation back, and so does
//! an attempt refused at the captcha (for the identifier, not for the address).
//!
//! - After [`FAILURES_BEFORE_CAPTCHA`] failures of the identifier (from anywhere) or of the
//!   address (for any identifier), a password login needs an image captcha, checked before
//!   the password.
//! - After `login.delay_after_failures` failures of one identifier *from one address*, the
//!   next attempt of that pair must wait `login.first_delay_secs` (1 s), then twice as long
//!   after each further failure, up to `login.max_delay_secs`;
//!   an attempt before its time is refused without looking at the password. The owner at
//!   another address is not delayed.
//! - After `login.slowdown_after_failures_per_address` failures from one address, every
//!   password attempt from it is held back before the password work, growing up to
//!   `login.max_slowdown_ms`: slower, never refused, so an office behind one address keeps
//!   logging in.
//!
//! | key | value | expiry |
//! |---|---|---|
//! | `fail:acct:{sha256 of the login key}` | failures | `window_secs` from the first |
//! | `fail:ip:{address bucket}` | failures | same |
//! | `fail:pair:{digest}:{address bucket}` | failures | same |
//! | `wait:pair:{digest}:{address bucket}` | next attempt allowed at (Unix s, `state.clock`) | the delay |

use std::{net::IpAddr, time::Duration};

use crate::{
    accounts::sms_code::address_bucket,
    audit::{self, AuditEntry, AuditEvent},
    crypto,
    pii::PiiField,
    services::Services,
    store::{self, accounts::Account},
};

/// Failed logins (for the identifier or for the client address) after which a password login
/// needs a captcha.
pub const FAILURES_BEFORE_CAPTCHA: i64 = 3;

/// The store keys of one identifier typed (a login name, mobile, email, ID number or USCC)
/// from one address.
struct Keys {
    account: String,
    address: String,
    pair: String,
    wait: String,
}

fn keys(identifier: &str, ip: IpAddr) -> Keys {
    // Keys carry a digest, never the identifier itself: the store is not a place for personal
    // data.
    let d = crypto::sha256_hex(store::accounts::login_key(identifier).as_bytes());
    let a = address_bucket(ip);
    Keys {
        account: format!("fail:acct:{d}"),
        address: format!("fail:ip:{a}"),
        pair: format!("fail:pair:{d}:{a}"),
        wait: format!("wait:pair:{d}:{a}"),
    }
}

/// Recent failed logins, as counted for the captcha and the delays (the counts expire with
/// their window and a successful login gives back what it reserved).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailureCounts {
    /// For the identifier given, from anywhere (0 when none was given).
    pub account: i64,
    /// For the client address, any identifier.
    pub address: i64,
    /// For the identifier from this address.
    pub pair: i64,
}

impl FailureCounts {
    /// Whether a password login with these counts must carry a captcha.
    pub fn captcha_required(self) -> bool {
        self.account.max(self.address) >= FAILURES_BEFORE_CAPTCHA
    }
}

/// How long the pair must wait after `failures` failures, if at all: `first` seconds at the
/// threshold, doubling with each further failure, up to `max_secs`.
pub fn pair_delay_secs(failures: i64, after: i64, first: i64, max_secs: i64) -> i64 {
    if failures < after {
        return 0;
    }
    let doublings = (failures - after).min(20) as u32;
    first.saturating_mul(1i64 << doublings).min(max_secs)
}

/// How long an attempt from an address with `failures` failures is held back: 125 ms at the
/// threshold, doubling with every further ten failures, up to `max_ms`.
pub fn address_slowdown(failures: i64, after: i64, max_ms: u64) -> Duration {
    if failures < after {
        return Duration::ZERO;
    }
    let doublings = ((failures - after) / 10).min(20) as u32;
    Duration::from_millis((125u64 << doublings).min(max_ms))
}

/// Reads the counts without changing them (for the login form, to know whether to show a
/// captcha).
pub async fn recent_failures(
    state: &Services,
    identifier: Option<&str>,
    ip: IpAddr,
) -> Result<FailureCounts, redis::RedisError> {
    let count = |v: Option<String>| v.and_then(|s| s.parse().ok()).unwrap_or(0);
    let k = keys(identifier.unwrap_or(""), ip);
    let address = count(state.store.get(&k.address).await?);
    let (account, pair) = match identifier {
        Some(_) => (
            count(state.store.get(&k.account).await?),
            count(state.store.get(&k.pair).await?),
        ),
        None => (0, 0),
    };
    Ok(FailureCounts {
        account,
        address,
        pair,
    })
}

/// Whether a password login for `identifier` (if one was typed) from `ip` must carry a
/// captcha now.
pub async fn captcha_required(
    state: &Services,
    identifier: Option<&str>,
    ip: IpAddr,
) -> Result<bool, redis::RedisError> {
    Ok(recent_failures(state, identifier, ip)
        .await?
        .captcha_required())
}

/// One attempt, counted as a failure until it succeeds.
pub struct Reservation {
    keys: Keys,
    /// The counts before this attempt.
    pub before: FailureCounts,
}

/// Reserves an attempt for `identifier` from `ip`, auditing each escalation step exactly once
/// (only one attempt sees a threshold's count).
pub async fn reserve(
    state: &Services,
    account: Option<&Account>,
    identifier: &str,
    ip: IpAddr,
) -> Result<Reservation, redis::RedisError> {
    let k = keys(identifier, ip);
    let cfg = &state.config.login;
    let counts = state
        .store
        .incr_all(&[&k.account, &k.address, &k.pair], cfg.window_secs)
        .await?;
    let before = FailureCounts {
        account: counts[0] - 1,
        address: counts[1] - 1,
        pair: counts[2] - 1,
    };
    let steps = [
        (
            before.account == FAILURES_BEFORE_CAPTCHA,
            &k.account,
            "account",
            "captcha",
        ),
        (
            before.address == FAILURES_BEFORE_CAPTCHA,
            &k.address,
            "address",
            "captcha",
        ),
        (
            before.pair == cfg.delay_after_failures,
            &k.pair,
            "account_at_address",
            "delay",
        ),
        (
            before.address == cfg.slowdown_after_failures_per_address,
            &k.address,
            "address",
            "slowdown",
        ),
    ];
    for (reached, counter, scope, step) in steps {
        // A refund can bring a count back to its threshold; each step is logged once per
        // window of its counter all the same.
        if !reached {
            continue;
        }
        let once = format!("step:{step}:{counter}");
        if state
            .store
            .put_if_absent(&once, "1", cfg.window_secs)
            .await?
        {
            tracing::warn!(scope, step, "login throttle escalated");
            let entry = name_account(
                state,
                AuditEntry::new(AuditEvent::LoginThrottled),
                account,
                identifier,
            )
            .ip(ip)
            .detail("scope", scope)
            .detail("step", step);
            audit::record(state, entry).await;
        }
    }
    Ok(Reservation { keys: k, before })
}

impl Reservation {
    pub fn captcha_required(&self) -> bool {
        self.before.captcha_required()
    }

    /// Seconds this attempt must still wait (the pair's delay), or `None` when it may go on.
    /// Of parallel attempts only one takes each slot.
    pub async fn wait(&self, state: &Services) -> Result<Option<i64>, redis::RedisError> {
        let cfg = &state.config.login;
        let delay = pair_delay_secs(
            self.before.pair,
            cfg.delay_after_failures,
            cfg.first_delay_secs,
            cfg.max_delay_secs,
        );
        if delay == 0 {
            return Ok(None);
        }
        let now = state.clock.now();
        let next = (now + delay).to_string();
        if state
            .store
            .put_if_absent(&self.keys.wait, &next, delay)
            .await?
        {
            return Ok(None);
        }
        // The key's own expiry runs on real time; the stored time is what a moved clock ends.
        match state
            .store
            .get(&self.keys.wait)
            .await?
            .and_then(|v| v.parse::<i64>().ok())
        {
            Some(at) if at > now => Ok(Some(at - now)),
            _ => {
                state.store.put(&self.keys.wait, &next, delay).await?;
                Ok(None)
            }
        }
    }

    /// How long to hold this attempt back for its address before the password work.
    pub fn slowdown(&self, state: &Services) -> Duration {
        let cfg = &state.config.login;
        address_slowdown(
            self.before.address,
            cfg.slowdown_after_failures_per_address,
            cfg.max_slowdown_ms,
        )
    }

    /// The attempt was refused at the captcha, before any password work: it gives back what
    /// it reserved for the identifier and the pair (a mistyped captcha is not a password
    /// failure), and keeps it for the address, which escalates a bot that cannot read them.
    /// The count never falls below the captcha threshold this way, since only attempts that
    /// saw it reached come here.
    pub async fn refused_at_captcha(self, state: &Services) -> Result<(), redis::RedisError> {
        let window = state.config.login.window_secs;
        state.store.decr(&self.keys.account, window).await?;
        state.store.decr(&self.keys.pair, window).await
    }

    /// The attempt succeeded: the identifier's failures are forgotten, and the address gets
    /// its reservation back (it keeps what it tried against other accounts).
    pub async fn succeeded(self, state: &Services) -> Result<(), redis::RedisError> {
        state.store.delete(&self.keys.account).await?;
        state.store.delete(&self.keys.pair).await?;
        state.store.delete(&self.keys.wait).await?;
        state
            .store
            .decr(&self.keys.address, state.config.login.window_secs)
            .await
    }
}

/// Names the account an entry is about: by id when it exists; otherwise by the keyed hash of
/// the identifier that was typed, which may be someone's mobile or a mistyped password and so
/// is never stored as it is.
pub(super) fn name_account(
    state: &Services,
    entry: AuditEntry,
    account: Option<&Account>,
    identifier: &str,
) -> AuditEntry {
    match account {
        Some(a) => entry.subject(&a.id),
        None => entry.detail(
            "login_name_key",
            state.pii.lookup_key(PiiField::LoginName, identifier),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_captcha_comes_with_the_third_failure_of_either_count() {
        let at = |account, address| {
            FailureCounts {
                account,
                address,
                pair: 0,
            }
            .captcha_required()
        };
        assert!(!at(0, 0));
        assert!(!at(2, 2));
        assert!(at(3, 0));
        assert!(at(0, 3));
        assert!(at(7, 1));
    }

    #[test]
    fn pair_delays_double_up_to_their_cap() {
        let d = |n| pair_delay_secs(n, 5, 1, 300);
        assert_eq!(
            [d(0), d(4), d(5), d(6), d(7), d(13), d(14)],
            [0, 0, 1, 2, 4, 256, 300]
        );
        assert_eq!(d(i64::MAX), 300);
        assert_eq!(pair_delay_secs(7, 5, 60, 3600), 240);
    }

    #[test]
    fn address_slowdowns_grow_slowly_and_stay_bounded() {
        let s = |n| address_slowdown(n, 30, 2000).as_millis();
        assert_eq!(
            [s(29), s(30), s(39), s(40), s(60), s(1_000_000)],
            [0, 125, 125, 250, 1000, 2000]
        );
    }
}
