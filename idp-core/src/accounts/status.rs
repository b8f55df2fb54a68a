//! Disabling and enabling accounts (unit admins through the members API, operators through
//! the CLI). A disabled account cannot log in, and disabling ends its sessions everywhere
//! with their refresh and access tokens.

use crate::{
    audit::{self, AuditEntry, AuditEvent},
    failure::FailureResult,
    services::Services,
    store::{self, states::AccountStatus},
};

/// Disables `account_id`; false when there is no such account. `actor` is the account that
/// did it (`None` for the CLI).
pub async fn disable(
    state: &Services,
    actor: Option<&str>,
    account_id: &str,
) -> FailureResult<bool> {
    let now = state.clock.now();
    if !store::accounts::set_status(&state.db, account_id, AccountStatus::Disabled, now).await? {
        return Ok(false);
    }
    crate::accounts::sessions::end_all(state, account_id, None, "account_disabled").await?;
    audit::record(state, entry(AuditEvent::AccountDisabled, actor, account_id)).await;
    Ok(true)
}

/// Enables `account_id` again; false when there is no such account. Tokens revoked by the
/// disable stay revoked.
pub async fn enable(
    state: &Services,
    actor: Option<&str>,
    account_id: &str,
) -> FailureResult<bool> {
    let now = state.clock.now();
    if !store::accounts::set_status(&state.db, account_id, AccountStatus::Active, now).await? {
        return Ok(false);
    }
    audit::record(state, entry(AuditEvent::AccountEnabled, actor, account_id)).await;
    Ok(true)
}

fn entry(event: AuditEvent, actor: Option<&str>, account_id: &str) -> AuditEntry {
    let e = AuditEntry::new(event).subject(account_id);
    match actor {
        Some(a) => e.actor(a).detail("via", "api"),
        None => e.detail("via", "cli"),
    }
}
