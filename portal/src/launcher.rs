//! 在线办理: the signed-in user's subsystems, each a link that starts an SSO login there; the
//! ones it lacks say how to get them.

use askama::Template;
use axum::{extract::State, http::StatusCode, response::Response};

use crate::{
    catalog::{self, Subsystem},
    error::Error,
    signed_in::{Nav, SignedIn},
    state::AppState,
};

#[derive(Template)]
#[template(path = "launcher.html")]
struct LauncherPage {
    nav: Nav,
    subsystems: Vec<Subsystem>,
    org_name: String,
}

pub async fn launcher(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
) -> Result<Response, Error> {
    let api = state.config.directory.as_user(&state.rp, &session);
    let subsystems = catalog::subsystems(&state.config, &api, &session).await?;
    let page = LauncherPage {
        nav: Nav::for_session(&session, "/launcher"),
        subsystems,
        org_name: session
            .claims
            .org
            .as_ref()
            .map(|o| o.name.clone())
            .unwrap_or_default(),
    };
    Ok(state.rp.html(StatusCode::OK, page.render()?))
}
