//! The home page: a login link for visitors; for a logged-in account its identity as the IdP
//! vouches for it, and the subsystems it may enter.

use askama::Template;
use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::Response,
};
use serde::Deserialize;
use tongyi_shared::{claims::OrgClaim, rp::RpSession};

use crate::{error::Error, state::AppState};

#[derive(Debug, Default, Deserialize)]
pub struct HomeQuery {
    /// Present when the IdP sends the browser back after logout.
    state: Option<String>,
}

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

pub async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HomeQuery>, QueryRejection>,
) -> Result<Response, Error> {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let session: Option<RpSession> = state.rp.session(&headers);
    let notice = state.rp.logout_notice(&headers, q.state.as_deref());
    let account = session.as_ref().map(|s| Account {
        name: s.name.as_deref().unwrap_or(""),
        login_name: s.login_name.as_deref().unwrap_or(""),
        account_type: s.claims.account_type.map(|t| t.as_str()).unwrap_or(""),
        realname_status: s.claims.realname_status.map(|r| r.as_str()).unwrap_or(""),
        org: s.claims.org.as_ref(),
        csrf: &s.csrf,
    });
    let subsystems = match &session {
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
        logged_out: account.is_none() && notice.is_some(),
        account,
        subsystems,
    };
    let mut res = state.rp.html(StatusCode::OK, page.render()?);
    if let Some(clear) = notice {
        res.headers_mut().append(header::SET_COOKIE, clear);
    }
    Ok(res)
}
