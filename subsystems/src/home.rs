//! The home page: the welcome for an admitted account, or the way to log in.

use askama::Template;
use axum::{extract::State, response::Response};
use tongyi_shared::rp::{Landing, RpSession};

use crate::{error::Error, state::AppState};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    system_name: &'a str,
    portal_url: &'a str,
    session: Option<&'a RpSession>,
    logged_out: bool,
}

pub async fn home(State(state): State<AppState>, landing: Landing) -> Result<Response, Error> {
    // Sessions exist only for admitted accounts: the grant was checked at login, and the
    // session ends with the ID token or at once through back-channel logout.
    let page = HomePage {
        system_name: &state.config.name,
        portal_url: &state.config.portal_url,
        session: landing.session.as_ref(),
        logged_out: landing.logged_out(),
    };
    let body = page.render()?;
    Ok(landing.page(&state.rp, body))
}
