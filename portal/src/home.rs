//! The home page: a login link for visitors; for a logged-in account its identity as the IdP
//! vouches for it, and the subsystems it may enter.

use askama::Template;
use axum::{extract::State, response::Response};
use tongyi_shared::{claims::OrgClaim, rp::Landing};

use crate::{error::Error, state::AppState};

/// The logged-in account, in the words of its claims.
struct Account<'a> {
    name: &'a str,
    login_name: &'a str,
    /// `natural_person` / `legal_entity` / empty when not released.
    account_type: &'static str,
    /// `unverified` / `pending_review` / `verified` / `failed` / empty.
    realname_status: &'static str,
    org: Option<&'a OrgClaim>,
    csrf: &'a str,
}

struct Subsystem<'a> {
    name: &'a str,
    /// Entering starts the subsystem's own login, which the IdP answers without a password
    /// while the user's IdP session lasts.
    enter_url: String,
    granted: bool,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    account: Option<Account<'a>>,
    subsystems: Vec<Subsystem<'a>>,
    logged_out: bool,
}

pub async fn home(State(state): State<AppState>, landing: Landing) -> Result<Response, Error> {
    let session = landing.session.as_ref();
    let account = session.map(|s| Account {
        name: s.name.as_deref().unwrap_or(""),
        login_name: s.login_name.as_deref().unwrap_or(""),
        account_type: s.claims.account_type.map(|t| t.as_str()).unwrap_or(""),
        realname_status: s.claims.realname_status.map(|r| r.as_str()).unwrap_or(""),
        org: s.claims.org.as_ref(),
        csrf: &s.csrf,
    });
    let subsystems = match session {
        Some(s) => state
            .config
            .subsystems
            .iter()
            .map(|sub| Subsystem {
                name: &sub.name,
                enter_url: format!("{}/auth/login", sub.url),
                granted: s.claims.grants_subsystem(&sub.code),
            })
            .collect(),
        None => Vec::new(),
    };
    let page = HomePage {
        account,
        subsystems,
        logged_out: landing.logged_out(),
    };
    let body = page.render()?;
    Ok(landing.page(&state.rp, body))
}
