//! What a user has consented to release to a client, remembered per account and client so that
//! the consent page is shown only for scopes not granted before.

use crate::{failure::FailureResult, services::Services, store};

/// Whether every one of `scopes` was granted to `client_id` by `account_id` before.
pub async fn covers(
    state: &Services,
    account_id: &str,
    client_id: &str,
    scopes: &[String],
) -> FailureResult<bool> {
    let granted = store::consents::granted_scopes(&state.db, account_id, client_id).await?;
    Ok(scopes.iter().all(|s| granted.contains(s)))
}

/// Records the user's consent to `scopes` for `client_id`.
pub async fn grant(
    state: &Services,
    account_id: &str,
    client_id: &str,
    scopes: &[String],
) -> FailureResult<()> {
    let now = state.clock.now();
    Ok(store::consents::save(&state.db, account_id, client_id, scopes, now).await?)
}
