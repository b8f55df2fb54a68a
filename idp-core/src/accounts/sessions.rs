//! Ending an account's sessions everywhere: after a password change (all but the session that
//! made it), a disable, or a sign-out from the account console. Each ended session revokes its
//! refresh tokens and the access tokens issued with them, and reaches its relying parties by
//! back-channel logout.

use crate::{
    failure::FailureResult,
    oidc::{issue, session},
    services::Services,
    store,
};

/// Ends every session of `account_id` except `keep_sid`, and revokes the account's refresh
/// tokens (except those of `keep_sid`), including tokens of sessions that already expired.
/// Returns how many live sessions were ended.
pub async fn end_all(
    state: &Services,
    account_id: &str,
    keep_sid: Option<&str>,
    reason: &'static str,
) -> FailureResult<usize> {
    let now = state.clock.now();
    let mut ended = 0;
    for record in store::sessions::list_for_account(&state.db, account_id, now).await? {
        if Some(record.sid.as_str()) == keep_sid {
            continue;
        }
        match session::find_by_sid(state, &record.sid).await? {
            Some(current) if current.session.account_id == account_id => {
                session::end_because(state, &current, reason).await?;
                ended += 1;
            }
            _ => store::sessions::remove(&state.db, &record.sid).await?,
        }
    }
    let denied = match keep_sid {
        Some(sid) => {
            store::refresh::revoke_account_except_session(&state.db, account_id, sid, now).await?
        }
        None => store::refresh::revoke_account(&state.db, account_id, now).await?,
    };
    for (jti, exp) in denied {
        issue::deny_access_token(state, &jti, exp).await?;
    }
    Ok(ended)
}

/// Ends one session of `account_id` by its `sid` (the console's 退出 button); false when it
/// is not a live session of that account.
pub async fn end_one(
    state: &Services,
    account_id: &str,
    sid: &str,
    reason: &'static str,
) -> FailureResult<bool> {
    match session::find_by_sid(state, sid).await? {
        Some(current) if current.session.account_id == account_id => {
            session::end_because(state, &current, reason).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}
