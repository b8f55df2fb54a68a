//! Password login with throttling per account and per client address. Unknown accounts and
//! wrong passwords fail the same way, after the same work, so that the answer reveals nothing.

use std::net::IpAddr;

use crate::{
    crypto,
    error::AppError,
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
    if state.store.exists(&acct_lock).await? || state.store.exists(&ip_lock).await? {
        return Err(LoginFailure::Locked);
    }
    let account = store::accounts::find_by_login(&state.db, login_name)
        .await
        .map_err(AppError::from)?;
    let ok = crate::accounts::password::verify(
        state,
        password.to_owned(),
        account.as_ref().map(|a| a.password_hash.clone()),
    )
    .await;
    match account {
        Some(a) if ok && a.is_active() => {
            state.store.delete(&acct_fail).await?;
            Ok(a)
        }
        _ => {
            let cfg = &state.config.login;
            let window = cfg.lockout_secs;
            if state.store.incr(&acct_fail, window).await? >= cfg.max_failures_per_account {
                state.store.put(&acct_lock, "1", cfg.lockout_secs).await?;
                tracing::warn!("account temporarily locked after repeated login failures");
            }
            if state.store.incr(&ip_fail, window).await? >= cfg.max_failures_per_address {
                state.store.put(&ip_lock, "1", cfg.lockout_secs).await?;
                tracing::warn!(%ip, "address temporarily locked after repeated login failures");
            }
            Err(LoginFailure::Invalid)
        }
    }
}
