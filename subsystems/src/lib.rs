//! A Tongyi subsystem as a library: [`build_app`] turns a [`Config`] into a router. One
//! process serves one subsystem (incubator or makerspace), chosen by its config file.
//!
//! A subsystem is an OpenID Connect relying party that admits an account only when its
//! `grants` claim carries the subsystem's code, or when it holds the subsystem's reviewer role
//! (SPEC §6). Admitted declarants fill in, save, export, sign and submit the subsystem's
//! declaration; reviewers approve or return it (SPEC §4, seed 002).
//!
//! ```text
//! declaration/  domain: the form as data, values and their check, the workflow
//! docx.rs       the Word export
//! files.rs      streamed uploads, the file store (local directory)
//! store/        sqlx repositories (SQLite and PostgreSQL)
//! web/          pages and forms
//! ```

pub mod clock;
pub mod config;
pub mod declaration;
pub mod docx;
pub mod error;
pub mod files;
pub mod state;
pub mod store;
pub mod web;

use std::sync::Arc;

use tongyi_shared::rp::{self, Rp};

pub use config::Config;
pub use error::Error;
pub use state::{AppState, Subsystem};

/// Opens the database and the file store, discovers the IdP (retrying while it starts) and
/// builds the router: the declaration pages, and what every relying party serves (login,
/// logout, health check, stylesheet).
pub async fn build_app(config: Config) -> Result<axum::Router, Error> {
    config.validate()?;
    let form = declaration::form::builtin(&config.code).ok_or_else(|| {
        rp::RpError::config(
            "code",
            "no declaration form for this code (incubator, makerspace)",
        )
    })??;
    let db = store::Db::connect(&config.database_url()).await?;
    let files = Arc::new(files::LocalDir::open(config.files_dir())?);
    let rp = Rp::start(config.rp_config()).await?;
    let subsystem = Subsystem {
        config,
        form,
        db,
        files,
    };
    Ok(rp::app_router::<_, Error>(subsystem, rp, web::router()))
}
