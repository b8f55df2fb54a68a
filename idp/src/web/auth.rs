//! Who is signed in at the IdP's own pages (account console, admin pages): the login session
//! of the browser and its account.

use axum::http::{HeaderMap, StatusCode};

use crate::{
    accounts::actor,
    error::{AppError, AppResult},
    oidc::session::{self, CurrentSession},
    state::AppState,
    store::accounts::Account,
};

/// The role that opens the admin pages (manual reviews, appeals).
pub use tongyi_shared::roles::PLATFORM_ADMIN;

pub struct SignedIn {
    pub session: CurrentSession,
    pub account: Account,
}

/// The signed-in, active account of this browser, if any.
pub async fn signed_in(state: &AppState, headers: &HeaderMap) -> AppResult<Option<SignedIn>> {
    let Some(session) = session::current(state, headers).await? else {
        return Ok(None);
    };
    let account = actor::active(state, &session.session.account_id).await?;
    Ok(account.map(|account| SignedIn { session, account }))
}

/// The signed-in account, or a redirect to the login page that returns to `here` (a local
/// path such as `/account`). An account with a temporary password is sent to change it first.
pub async fn require(state: &AppState, headers: &HeaderMap, here: &str) -> AppResult<SignedIn> {
    let user = signed_in(state, headers)
        .await?
        .ok_or_else(|| AppError::LoginRequired(here.to_owned()))?;
    if user.account.must_change_password && !here.starts_with(super::password::HERE) {
        return Err(AppError::Redirect(super::password::forced_path("", here)));
    }
    Ok(user)
}

/// Like [`require`], and the account must be a platform admin (403 otherwise).
pub async fn require_admin(
    state: &AppState,
    headers: &HeaderMap,
    here: &str,
) -> AppResult<SignedIn> {
    let user = require(state, headers, here).await?;
    if actor::is_platform_admin(state, &user.account.id).await? {
        Ok(user)
    } else {
        Err(AppError::page(
            StatusCode::FORBIDDEN,
            "无权访问",
            "此页面仅供平台管理员使用。",
        ))
    }
}

/// `next` when it is a path on this site (so the login page cannot become an open redirect).
pub fn local_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control());
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/account"), Some("/account"));
        assert_eq!(
            local_path("/admin/reviews?page=2"),
            Some("/admin/reviews?page=2")
        );
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil",
            "account",
            "",
        ] {
            assert_eq!(local_path(bad), None, "{bad}");
        }
    }
}
