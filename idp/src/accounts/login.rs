//! Login by password (login name, or on a type's tab any identifier of that type) and by SMS
//! code, with throttling per identifier typed and per client address. Unknown accounts, wrong
//! passwords or codes, disabled accounts and accounts of the other type fail the same way,
//! after the same work, so that the answer reveals nothing. Every outcome is recorded in the
//! audit log, where the reasons are told apart; an identifier that matches no account appears
//! there only as its keyed lookup hash.

use std::net::IpAddr;

use tongyi_shared::{claims::AccountType, validate::Mobile};

use crate::{
    accounts::sms_code::{self, SmsCodeError, SmsPurpose},
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

/// Password login by login name, whatever the account's type (the form without a type, and
/// tools that name an account by its login name).
pub async fn password_login(
    state: &AppState,
    login_name: &str,
    password: &str,
    ip: IpAddr,
) -> Result<Account, LoginFailure> {
    login_with_password(state, None, login_name, password, ip).await
}

/// Password login on the tab of `account_type`: the identifier may be the login name, the
/// reserved mobile or email, or the ID number (natural persons) / USCC (legal entities). An
/// account of the other type fails exactly like an unknown one.
pub async fn identifier_login(
    state: &AppState,
    account_type: AccountType,
    identifier: &str,
    password: &str,
    ip: IpAddr,
) -> Result<Account, LoginFailure> {
    login_with_password(state, Some(account_type), identifier, password, ip).await
}

async fn login_with_password(
    state: &AppState,
    account_type: Option<AccountType>,
    login_name: &str,
    password: &str,
    ip: IpAddr,
) -> Result<Account, LoginFailure> {
    let (acct_fail, acct_lock) = account_keys(login_name);
    let (_, ip_lock) = address_keys(ip);
    let locked = is_locked(state, &acct_lock).await? || is_locked(state, &ip_lock).await?;
    let account = match account_type {
        Some(t) => store::identities::find_by_identifier(&state.db, &state.pii, t, login_name)
            .await
            .map_err(AppError::from)?,
        None => store::accounts::find_by_login(&state.db, login_name)
            .await
            .map_err(AppError::from)?,
    };
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
            crate::legacy::credentials::upgrade_after_login(state, &a, password).await;
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
            count_failure(state, account.as_ref(), login_name, ip).await?;
            Err(LoginFailure::Invalid)
        }
    }
}

/// Locks until the clock passes the lockout window. The time is stored (and compared with
/// [`Clock`](crate::clock::Clock)) besides the key's own expiry, which runs on real time, so
/// a moved clock ends the lockout as well.
async fn lock(state: &AppState, key: &str) -> Result<(), LoginFailure> {
    let secs = state.config.login.lockout_secs;
    let until = state.clock.now() + secs;
    state.store.put(key, &until.to_string(), secs).await?;
    Ok(())
}

async fn is_locked(state: &AppState, key: &str) -> Result<bool, LoginFailure> {
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

/// Counts a failed login against what was typed and the address, locking either once it
/// has failed too often.
async fn count_failure(
    state: &AppState,
    account: Option<&Account>,
    login_name: &str,
    ip: IpAddr,
) -> Result<(), LoginFailure> {
    let (acct_fail, acct_lock) = account_keys(login_name);
    let (ip_fail, ip_lock) = address_keys(ip);
    let cfg = &state.config.login;
    let window = cfg.lockout_secs;
    let failures = state.store.incr(&acct_fail, window).await?;
    if failures >= cfg.max_failures_per_account {
        lock(state, &acct_lock).await?;
        tracing::warn!("account temporarily locked after repeated login failures");
        let entry = name_account(
            state,
            AuditEntry::new(AuditEvent::AccountLocked),
            account,
            login_name,
        )
        .ip(ip)
        .detail("failures", failures)
        .detail("lockout_secs", cfg.lockout_secs);
        audit::record(state, entry).await;
    }
    let failures = state.store.incr(&ip_fail, window).await?;
    if failures >= cfg.max_failures_per_address {
        lock(state, &ip_lock).await?;
        tracing::warn!(%ip, "address temporarily locked after repeated login failures");
        let entry = AuditEntry::new(AuditEvent::AddressLocked)
            .ip(ip)
            .detail("failures", failures)
            .detail("lockout_secs", cfg.lockout_secs);
        audit::record(state, entry).await;
    }
    Ok(())
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

/// What asking for an SMS login code may tell the user.
#[derive(Debug)]
pub enum SmsSendOutcome {
    /// "如该手机号已注册，验证码已发送": said whether or not an account has the mobile.
    Accepted,
    /// Asked again within the resend interval (counted for any mobile, registered or not).
    TooSoon,
    /// Too many requests from this address today.
    Limited,
}

/// The shortest time between two SMS login code requests for one mobile.
const SMS_REQUEST_INTERVAL_SECS: i64 = 60;
/// Code requests per address and hour, registered mobiles or not.
const SMS_REQUESTS_PER_ADDRESS_HOUR: i64 = 20;

/// Sends a code for `purpose` to `mobile` only when the flow found an active
/// `account` for what was typed. The answer is the same either way: the interval and the
/// address limit are counted before the account is looked up, and a delivery problem for a
/// registered mobile is logged, not shown.
pub async fn request_sms_code(
    state: &AppState,
    purpose: SmsPurpose,
    account: Option<&Account>,
    mobile: &Mobile,
    ip: IpAddr,
) -> Result<SmsSendOutcome, AppError> {
    let mobile = mobile.as_str();
    let digest = crypto::sha256_hex(state.pii.lookup_key(PiiField::Mobile, mobile).as_bytes());
    let by_address = format!("smsreq:{}:ip:{ip}", purpose.as_str());
    if state.store.incr(&by_address, 3600).await? > SMS_REQUESTS_PER_ADDRESS_HOUR {
        return Ok(SmsSendOutcome::Limited);
    }
    let wait = format!("smsreq:{}:m:{digest}", purpose.as_str());
    let now = state.clock.now();
    if !state
        .store
        .put_if_absent(&wait, &now.to_string(), SMS_REQUEST_INTERVAL_SECS)
        .await?
    {
        let last = state
            .store
            .get(&wait)
            .await?
            .and_then(|v| v.parse::<i64>().ok());
        if last.is_some_and(|t| now - t < SMS_REQUEST_INTERVAL_SECS) {
            return Ok(SmsSendOutcome::TooSoon);
        }
        state
            .store
            .put(&wait, &now.to_string(), SMS_REQUEST_INTERVAL_SECS)
            .await?;
    }
    if let Some(a) = account.filter(|a| a.is_active()) {
        match sms_code::send_code(state, purpose, mobile, ip).await {
            Ok(_) => {}
            Err(SmsCodeError::Internal(e)) => return Err(AppError::Internal(e)),
            Err(e) => {
                tracing::warn!(account_id = %a.id, error = %e, "SMS code not sent");
            }
        }
    }
    Ok(SmsSendOutcome::Accepted)
}

/// SMS-code login: the code sent to `mobile` logs in the active account of
/// `account_type` that reserves it. Failures count against the mobile and the address like
/// failed password logins, and the same lockout applies.
pub async fn sms_login(
    state: &AppState,
    account_type: AccountType,
    mobile: &Mobile,
    code: &str,
    ip: IpAddr,
) -> Result<Account, LoginFailure> {
    let mobile = mobile.as_str();
    let (acct_fail, acct_lock) = account_keys(mobile);
    let (_, ip_lock) = address_keys(ip);
    let locked = is_locked(state, &acct_lock).await? || is_locked(state, &ip_lock).await?;
    let account = store::identities::find_by_mobile(&state.db, &state.pii, account_type, mobile)
        .await
        .map_err(AppError::from)?;
    let sms_failure = |reason: &'static str| {
        name_account(
            state,
            AuditEntry::new(AuditEvent::LoginFailed),
            account.as_ref(),
            mobile,
        )
        .ip(ip)
        .detail("method", "sms")
        .detail("reason", reason)
    };
    if locked {
        audit::record(state, sms_failure("locked")).await;
        return Err(LoginFailure::Locked);
    }
    let verified = match sms_code::verify_code(state, SmsPurpose::Login, mobile, code).await {
        Ok(()) => true,
        Err(SmsCodeError::Internal(e)) => {
            return Err(LoginFailure::Internal(AppError::Internal(e)))
        }
        Err(_) => false,
    };
    match account {
        Some(a) if verified && a.is_active() => {
            state.store.delete(&acct_fail).await?;
            let entry = AuditEntry::new(AuditEvent::LoginSucceeded)
                .by_subject(&a.id)
                .ip(ip)
                .detail("method", "sms");
            audit::record(state, entry).await;
            Ok(a)
        }
        ref account => {
            let reason = match account {
                None => "unknown_account",
                Some(a) if !a.is_active() => "account_disabled",
                Some(_) => "wrong_code",
            };
            audit::record(state, sms_failure(reason)).await;
            count_failure(state, account.as_ref(), mobile, ip).await?;
            Err(LoginFailure::Invalid)
        }
    }
}
