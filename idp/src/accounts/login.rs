//! Password login with throttling per account and per client address. Unknown accounts and
//! wrong passwords fail the same way, after the same work, so that the answer reveals nothing.
//! Every outcome is recorded in the audit log, where the reasons are told apart; a login name
//! that matches no account appears there only as its keyed lookup hash.

use std::net::IpAddr;

use crate::{
    audit::{self, AuditEntry, AuditEvent},
    crypto,
    error::AppError,
    pii::PiiField,
    state::AppState,
    store::{self, accounts::Account},
};

#[derive(Debug)]
pub enum LoginFailure {
    /// Unknown account, wrong password or disabled account: one message for all.
    Invalid,
    /// Too many failures for this account or this address; try again later.
    Locked,
    Internal(AppError),
}

impl From<AppError> for LoginFailure {
    fn from(e: AppError) -> Self {
        LoginFailure::Internal(e)
    }
}

impl From<redis::RedisError> for LoginFailure {
    fn from(e: redis::RedisError) -> Self {
        LoginFailure::Internal(e.into())
    }
}

fn account_keys(login_name: &str) -> (String, String) {
    // Keys carry a digest, never the login name itself: the store is not a place for personal data.
    let d = crypto::sha256_hex(store::accounts::login_key(login_name).as_bytes());
    (format!("fail:acct:{d}"), format!("lock:acct:{d}"))
}

fn address_keys(ip: IpAddr) -> (String, String) {
    (format!("fail:ip:{ip}"), format!("lock:ip:{ip}"))
}

pub async fn password_login(
    state: &AppState,
    login_name: &str,
    password: &str,
    ip: IpAddr,
) -> Result<Account, LoginFailure> {
    let (acct_fail, acct_lock) = account_keys(login_name);
    let (ip_fail, ip_lock) = address_keys(ip);
    let locked = state.store.exists(&acct_lock).await? || state.store.exists(&ip_lock).await?;
    let account = store::accounts::find_by_login(&state.db, login_name)
        .await
        .map_err(AppError::from)?;
    if locked {
        // No password work while locked; the account was looked up only for the audit log.
        let entry = failure_entry(state, account.as_ref(), login_name, ip, "locked");
        audit::record(state, entry).await;
        return Err(LoginFailure::Locked);
    }
    let ok = crate::accounts::password::verify(
        state,
        password.to_owned(),
        account.as_ref().map(|a| a.password_hash.clone()),
    )
    .await;
    match account {
        Some(a) if ok && a.is_active() => {
            state.store.delete(&acct_fail).await?;
            let entry = AuditEntry::new(AuditEvent::LoginSucceeded)
                .by_subject(&a.id)
                .ip(ip)
                .detail("method", "password");
            audit::record(state, entry).await;
            Ok(a)
        }
        account => {
            let reason = match &account {
                None => "unknown_account",
                Some(a) if !a.is_active() => "account_disabled",
                Some(_) => "wrong_password",
            };
            let entry = failure_entry(state, account.as_ref(), login_name, ip, reason);
            audit::record(state, entry).await;
            let cfg = &state.config.login;
            let window = cfg.lockout_secs;
            let failures = state.store.incr(&acct_fail, window).await?;
            if failures >= cfg.max_failures_per_account {
                state.store.put(&acct_lock, "1", cfg.lockout_secs).await?;
                tracing::warn!("account temporarily locked after repeated login failures");
                let entry = name_account(
                    state,
                    AuditEntry::new(AuditEvent::AccountLocked),
                    account.as_ref(),
                    login_name,
                )
                .ip(ip)
                .detail("failures", failures)
                .detail("lockout_secs", cfg.lockout_secs);
                audit::record(state, entry).await;
            }
            let failures = state.store.incr(&ip_fail, window).await?;
            if failures >= cfg.max_failures_per_address {
                state.store.put(&ip_lock, "1", cfg.lockout_secs).await?;
                tracing::warn!(%ip, "address temporarily locked after repeated login failures");
                let entry = AuditEntry::new(AuditEvent::AddressLocked)
                    .ip(ip)
                    .detail("failures", failures)
                    .detail("lockout_secs", cfg.lockout_secs);
                audit::record(state, entry).await;
            }
            Err(LoginFailure::Invalid)
        }
    }
}

/// A refused login, for the audit log.
fn failure_entry(
    state: &AppState,
    account: Option<&Account>,
    login_name: &str,
    ip: IpAddr,
    reason: &'static str,
) -> AuditEntry {
    name_account(
        state,
        AuditEntry::new(AuditEvent::LoginFailed),
        account,
        login_name,
    )
    .ip(ip)
    .detail("method", "password")
    .detail("reason", reason)
}

/// Names the account an entry is about: by id when it exists; otherwise by the keyed hash of
/// the login name that was typed, which may be someone's mobile or a mistyped password and so
/// is never stored as it is.
fn name_account(
    state: &AppState,
    entry: AuditEntry,
    account: Option<&Account>,
    login_name: &str,
) -> AuditEntry {
    match account {
        Some(a) => entry.subject(&a.id),
        None => entry.detail(
            "login_name_key",
            state.pii.lookup_key(PiiField::LoginName, login_name),
        ),
    }
}

/// Recent failed password logins, as counted for the lockout (the counts expire with its
/// window and a successful login clears the account's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailureCounts {
    /// For the login name given (0 when none was given).
    pub account: i64,
    /// For the client address.
    pub address: i64,
}

/// Reads the failure counters without changing them, e.g. to ask for a captcha before the
/// lockout.
pub async fn recent_failures(
    state: &AppState,
    login_name: Option<&str>,
    ip: IpAddr,
) -> Result<FailureCounts, redis::RedisError> {
    let count = |v: Option<String>| v.and_then(|s| s.parse().ok()).unwrap_or(0);
    let account = match login_name {
        Some(name) => count(state.store.get(&account_keys(name).0).await?),
        None => 0,
    };
    let address = count(state.store.get(&address_keys(ip).0).await?);
    Ok(FailureCounts { account, address })
}
