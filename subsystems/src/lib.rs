//! A Tongyi subsystem as a library: [`build_app`] turns a [`Config`] into a router. One
//! process serves one subsystem (incubator or makerspace), chosen by its config file.
//!
//! A subsystem is an OpenID Connect relying party that admits an account only when its
//! `grants` claim carries the subsystem's code (SPEC §6). The declaration workflow (SPEC §4)
//! is not built yet; the home page says so.

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
    let rp = Rp::start(config.rp_config()).await?;
    let pages = Router::new().route("/", get(home::home));
    Ok(rp::app_router::<_, Error>(config, rp, pages))
}
