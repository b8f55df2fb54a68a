//! The Tongyi portal (统一门户) as a library: [`build_app`] turns a [`Config`] into a router.
//! `main.rs` and the cross-app tests both start the portal through it.
//!
//! The portal is an OpenID Connect relying party of the IdP. Today it shows who is logged in
//! and which subsystems the account may enter; profile completion, unit approval and member
//! authorization (SPEC §4) are not built yet, and the home page says so.

pub mod config;
pub mod error;
pub mod home;
pub mod state;

use axum::{routing::get, Router};
use tongyi_shared::rp::{self, page, Rp};

pub use config::Config;
pub use error::Error;
pub use state::AppState;

/// Discovers the IdP (retrying while it starts) and builds the router.
pub async fn build_app(config: Config) -> Result<Router, Error> {
    config.validate()?;
    let rp = Rp::start(config.rp.clone()).await?;
    let state = AppState::new(config, rp);
    Ok(Router::new()
        .route("/", get(home::home))
        .route("/healthz", get(healthz))
        .route("/static/style.css", get(stylesheet))
        .merge(rp::routes::<AppState, Error>())
        .with_state(state))
}

/// The process is up and serving.
async fn healthz() -> &'static str {
    "ok"
}

async fn stylesheet() -> axum::response::Response {
    page::stylesheet(include_str!("../templates/style.css"))
}
