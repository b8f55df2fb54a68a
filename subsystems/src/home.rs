//! The home page: the welcome for an admitted account, or the way to log in.

use askama::Template;
use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::Response,
};
use serde::Deserialize;
use tongyi_shared::rp::RpSession;

use crate::{error::Error, state::AppState};

#[derive(Debug, Default, Deserialize)]
pub struct HomeQuery {
    /// Present when the IdP sends the browser back after logout.
    state: Option<String>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    system_name: &'a str,
    portal_url: &'a str,
    session: Option<&'a RpSession>,
    logged_out: bool,
}

pub async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HomeQuery>, QueryRejection>,
) -> Result<Response, Error> {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    // Sessions exist only for admitted accounts: the grant was checked at login, and the
    // session ends with the ID token or at once through back-channel logout.
    let session = state.rp.session(&headers);
    let notice = state.rp.logout_notice(&headers, q.state.as_deref());
    let page = HomePage {
        system_name: &state.config.name,
        portal_url: &state.config.portal_url,
        session: session.as_ref(),
        logged_out: session.is_none() && notice.is_some(),
    };
    let mut res = state.rp.html(StatusCode::OK, page.render()?);
    if let Some(clear) = notice {
        res.headers_mut().append(header::SET_COOKIE, clear);
    }
    Ok(res)
}
