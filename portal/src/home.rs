//! The home page: a login link for visitors; for a signed-in account a dashboard of its
//! identity as the IdP vouches for it, what it must do next, and where it may go.

use askama::Template;
use axum::{extract::State, response::Response};
use tongyi_shared::{claims::OrgClaim, rp::Landing};

use crate::{
    error::Error,
    next_step::NextStep,
    signed_in::{Account as Roles, Nav},
    state::AppState,
};

/// The signed-in account, in the words of its claims.
struct Account<'a> {
    name: &'a str,
    login_name: &'a str,
    /// `natural_person` / `legal_entity` / empty when not released.
    account_type: &'static str,
    /// `unverified` / `pending_review` / `verified` / `failed` / empty.
    realname_status: &'static str,
    org: Option<&'a OrgClaim>,
    next: &'static str,
    /// The department's reason, when the unit stands returned.
    return_reason: Option<String>,
    granted: Vec<&'a str>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    nav: Option<Nav>,
    account: Option<Account<'a>>,
    logged_out: bool,
}

pub async fn home(
    State(state): State<AppState>,
    landing: Landing<Error>,
) -> Result<Response, Error> {
    let mut session = landing.session.clone();
    if let Some(s) = &session {
        // Waiting on someone else (the department, the unit's admin): their decision changes
        // the claims, so look now rather than when the ID token runs out.
        if matches!(
            NextStep::of(&s.claims),
            NextStep::UnitPendingReview | NextStep::PersonPendingAuthorization
        ) {
            session = state.rp.refresh_session(s).await.ok();
        }
    }
    let session = session.as_ref();
    let mut account = None;
    if let Some(s) = session {
        let next = NextStep::of(&s.claims);
        let return_reason = match (next, Roles::of(s).admin_of()) {
            (NextStep::UnitReturned, Some(org)) => state
                .config
                .directory
                .as_user(&state.rp, s)
                .unit(&org.id)
                .await
                .ok()
                .and_then(|d| crate::directory::return_reason(&d).map(str::to_owned)),
            _ => None,
        };
        let granted = state
            .config
            .config
            .subsystems
            .iter()
            .filter(|sub| s.claims.grants_subsystem(&sub.code))
            .map(|sub| sub.name.as_str())
            .collect();
        account = Some(Account {
            name: s.name.as_deref().unwrap_or(""),
            login_name: s.login_name.as_deref().unwrap_or(""),
            account_type: s.claims.account_type.map(|t| t.as_str()).unwrap_or(""),
            realname_status: s.claims.realname_status.map(|r| r.as_str()).unwrap_or(""),
            org: s.claims.org.as_ref(),
            next: next.as_str(),
            return_reason,
            granted,
        });
    }
    let page = HomePage {
        nav: session.map(|s| Nav::for_session(s, "/")),
        account,
        logged_out: landing.logged_out(),
    };
    let body = page.render()?;
    Ok(landing.page(&state.rp, body))
}
