//! The upgrade of an imported password hash at the first successful login: the password
//! just verified is hashed with argon2id (on the blocking pool, like every argon2 hash) and
//! replaces the legacy hash, which is gone from then on.

use crate::{
    accounts::password,
    audit::{self, AuditEntry, AuditEvent},
    services::Services,
    store::{self, accounts::Account},
};

use super::hashes;

/// Called after `account` logged in with `password`. Does nothing for an argon2 account. A
/// failure is logged and the login goes on: the legacy hash then still works next time.
pub async fn upgrade_after_login(state: &Services, account: &Account, password_text: &str) {
    if !hashes::is_legacy(&account.password_hash) {
        return;
    }
    let Ok(_slot) = state.password_slots.acquire().await else {
        return;
    };
    let cfg = state.config.login.clone();
    let pw = password_text.to_owned();
    let hashed = tokio::task::spawn_blocking(move || password::hash_blocking(&pw, &cfg)).await;
    let new_hash = match hashed {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return tracing::warn!(error = %e, "legacy hash upgrade: hashing failed"),
        Err(e) => return tracing::warn!(error = %e, "legacy hash upgrade: task failed"),
    };
    let scheme = account
        .password_hash
        .split(':')
        .nth(1)
        .unwrap_or("unknown")
        .to_owned();
    match store::legacy::replace_legacy_hash(
        &state.db,
        &account.id,
        &account.password_hash,
        &new_hash,
        state.clock.now(),
    )
    .await
    {
        Ok(true) => {
            let entry = AuditEntry::new(AuditEvent::LegacyPasswordUpgraded)
                .by_subject(&account.id)
                .detail("scheme", scheme);
            audit::record(state, entry).await;
        }
        // Another login or a password change got there first.
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "legacy hash upgrade: not stored"),
    }
}
