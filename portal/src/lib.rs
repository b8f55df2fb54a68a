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
use tongyi_shared::rp::{self, Rp};

pub use config::Config;
pub use error::Error;
pub use state::AppState;

/// Discovers the IdP (retrying while it starts) and builds the router: the home page, and
/// what every relying party serves (login, logout, health check, stylesheet).
pub async fn build_app(config: Config) -> Result<Router, Error> {
    config.validate()?;
    let rp = Rp::start(config.rp.clone()).await?;
    let pages = Router::new().route("/", get(home::home));
    Ok(rp::app_router::<_, Error>(config, rp, pages))
}
