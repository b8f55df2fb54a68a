//! The rules of repeated login failures, in one place: failures are counted per identifier
//! typed and per client address; after [`FAILURES_BEFORE_CAPTCHA`] of either a password login
//! needs an image captcha, and after `login.max_failures_per_account` (per identifier) or
//! `login.max_failures_per_address` (per address) logins are refused for
//! `login.lockout_secs`.
//!
//! | key | value | expiry |
//! |---|---|---|
//! | `fail:acct:{sha256 of the login key}` | failures | `lockout_secs` |
//! | `fail:ip:{address}` | failures | `lockout_secs` |
//! | `lock:acct:…`, `lock:ip:…` | locked until (Unix seconds, by `state.clock`) | `lockout_secs` |

use std::net::IpAddr;

use crate::{
    audit::{self, AuditEntry, AuditEvent},
    crypto,
    pii::PiiField,
    services::Services,
    store::{self, accounts::Account},
};

/// Failed password logins (for the identifier or for the client address) after which a
/// password login needs a captcha; the lockout comes later (`login.max_failures_per_account`).
pub const FAILURES_BEFORE_CAPTCHA: i64 = 3;

/// The store keys of one identifier typed (a login name, mobile, email, ID number or USCC).
struct AccountKeys {
    failures: String,
    lock: String,
}

fn account_keys(identifier: &str) -> AccountKeys {
    // Keys carry a digest, never the identifier itself: the store is not a place for personal
    // data.
    let d = crypto::sha256_hex(store::accounts::login_key(identifier).as_bytes());
    AccountKeys {
        failures: format!("fail:acct:{d}"),
        lock: format!("lock:acct:{d}"),
    }
}

fn address_failures_key(ip: IpAddr) -> String {
    format!("fail:ip:{ip}")
}

fn address_lock_key(ip: IpAddr) -> String {
    format!("lock:ip:{ip}")
}

/// Recent failed logins, as counted for the captcha and the lockout (the counts expire with
/// the lockout window and a successful login clears the identifier's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailureCounts {
    /// For the identifier given (0 when none was given).
    pub account: i64,
    /// For the client address.
    pub address: i64,
}

impl FailureCounts {
    /// Whether a password login with these counts must carry a captcha.
    pub fn captcha_required(self) -> bool {
        self.account.max(self.address) >= FAILURES_BEFORE_CAPTCHA
    }
}

/// Reads the failure counters without changing them.
pub async fn recent_failures(
    state: &Services,
    identifier: Option<&str>,
    ip: IpAddr,
) -> Result<FailureCounts, redis::RedisError> {
    let count = |v: Option<String>| v.and_then(|s| s.parse().ok()).unwrap_or(0);
    let account = match identifier {
        Some(name) => count(state.store.get(&account_keys(name).failures).await?),
        None => 0,
    };
    let address = count(state.store.get(&address_failures_key(ip)).await?);
    Ok(FailureCounts { account, address })
}

/// Whether a password login for `identifier` (if one was typed) from `ip` must carry a
/// captcha: the login functions decide with this, and the login form asks it to know whether
/// to show one.
pub async fn captcha_required(
    state: &Services,
    identifier: Option<&str>,
    ip: IpAddr,
) -> Result<bool, redis::RedisError> {
    Ok(recent_failures(state, identifier, ip)
        .await?
        .captcha_required())
}

/// Whether logins for `identifier` or from `ip` are locked now.
pub async fn is_locked(
    state: &Services,
    identifier: &str,
    ip: IpAddr,
) -> Result<bool, redis::RedisError> {
    Ok(lock_holds(state, &account_keys(identifier).lock).await?
        || lock_holds(state, &address_lock_key(ip)).await?)
}

/// A lock holds until the clock passes the time stored with it. The key's own expiry runs on
/// real time, so the stored time is what a moved [`Clock`](crate::clock::Clock) ends.
async fn lock_holds(state: &Services, key: &str) -> Result<bool, redis::RedisError> {
    let Some(value) = state.store.get(key).await? else {
        return Ok(false);
    };
    match value.parse::<i64>() {
        Ok(until) if until <= state.clock.now() => {
            state.store.delete(key).await?;
            Ok(false)
        }
        _ => Ok(true),
    }
}

async fn lock(state: &Services, key: &str) -> Result<(), redis::RedisError> {
    let secs = state.config.login.lockout_secs;
    let until = state.clock.now() + secs;
    state.store.put(key, &until.to_string(), secs).await
}

/// Forgets the failures of `identifier` after a successful login (the address keeps its
/// count: one good login must not reset what an address tried against other accounts).
pub async fn clear_failures(state: &Services, identifier: &str) -> Result<(), redis::RedisError> {
    state.store.delete(&account_keys(identifier).failures).await
}

/// Counts a failed login against what was typed and the address, locking either once it has
/// failed too often; each lockout goes to the audit log.
pub async fn count_failure(
    state: &Services,
    account: Option<&Account>,
    identifier: &str,
    ip: IpAddr,
) -> Result<(), redis::RedisError> {
    let keys = account_keys(identifier);
    let cfg = &state.config.login;
    let window = cfg.lockout_secs;
    let failures = state.store.incr(&keys.failures, window).await?;
    if failures >= cfg.max_failures_per_account {
        lock(state, &keys.lock).await?;
        tracing::warn!("account temporarily locked after repeated login failures");
        let entry = name_account(
            state,
            AuditEntry::new(AuditEvent::AccountLocked),
            account,
            identifier,
        )
        .ip(ip)
        .detail("failures", failures)
        .detail("lockout_secs", cfg.lockout_secs);
        audit::record(state, entry).await;
    }
    let failures = state.store.incr(&address_failures_key(ip), window).await?;
    if failures >= cfg.max_failures_per_address {
        lock(state, &address_lock_key(ip)).await?;
        tracing::warn!(%ip, "address temporarily locked after repeated login failures");
        let entry = AuditEntry::new(AuditEvent::AddressLocked)
            .ip(ip)
            .detail("failures", failures)
            .detail("lockout_secs", cfg.lockout_secs);
        audit::record(state, entry).await;
    }
    Ok(())
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
        let at = |account, address| FailureCounts { account, address }.captcha_required();
        assert!(!at(0, 0));
        assert!(!at(2, 2));
        assert!(at(3, 0));
        assert!(at(0, 3));
        assert!(at(7, 1));
    }
}
