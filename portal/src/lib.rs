//! The Tongyi portal (统一门户) as a library: [`build_app`] turns a [`Config`] into a router.
//! `main.rs` and the cross-app tests both start the portal through it.
//!
//! The portal is an OpenID Connect relying party of the IdP. Every page about identity data
//! calls the IdP's directory API (docs/directory-api.json) with the signed-in user's access
//! token ([`directory`]); the IdP decides what this user may see and change, and the portal
//! keeps nothing of it beyond the page it renders. Pages: the dashboard (`/`), completion
//! (`/complete…`: unit, person, unit registration by a person, expert), department review
//! (`/reviews…`), the unit admin's member console (`/members…`), the launcher (`/launcher`)
//! and the platform admin's pages (`/admin…`).

pub mod admin;
pub mod catalog;
pub mod complete;
pub mod config;
pub mod directory;
pub mod error;
pub mod forms;
pub mod home;
pub mod launcher;
pub mod members;
pub mod next_step;
pub mod pages;
pub mod person;
pub mod review;
pub mod signed_in;
pub mod state;
pub mod unit;
pub mod upload;

use axum::{
    extract::DefaultBodyLimit,
    routing::{get, post},
    Router,
};
use tongyi_shared::rp::{self, page, Rp};

pub use config::Config;
pub use error::Error;
pub use state::AppState;

/// The largest multipart upload request: several files of at most 10 MB each. Files are passed
/// on as they arrive, so this bounds the request, not memory.
const UPLOAD_REQUEST_LIMIT: usize = 64 * 1024 * 1024;

/// Discovers the IdP (retrying while it starts) and builds the router: the portal's pages, and
/// what every relying party serves (login, logout, health check, stylesheet).
pub async fn build_app(config: Config) -> Result<Router, Error> {
    config.validate()?;
    let rp = Rp::start(config.rp.clone()).await?;
    let directory = directory::Directory::new(&config.rp.issuer)?;
    let pages = Router::new()
        .route("/", get(home::home))
        .route("/static/portal.css", get(portal_css))
        .route("/launcher", get(launcher::launcher))
        .route("/complete", get(complete::chooser))
        .route("/complete/unit", get(unit::show).post(unit::save))
        .route(
            "/complete/unit/attachments/{slot}",
            post(unit::upload).layer(DefaultBodyLimit::max(UPLOAD_REQUEST_LIMIT)),
        )
        .route(
            "/complete/unit/attachments/{id}/delete",
            post(unit::delete_attachment),
        )
        .route(
            "/complete/unit/risk-commitment-template",
            get(unit::template),
        )
        .route("/units/{org_id}/attachments/{id}", get(review::attachment))
        .route("/complete/person", get(person::show).post(person::save))
        .route("/complete/person/unit", post(person::pick_unit))
        .route(
            "/complete/unit-registration",
            get(complete::registration_form).post(complete::register_unit),
        )
        .route(
            "/complete/expert",
            get(complete::expert_form).post(complete::submit_expert),
        )
        .route("/reviews", get(review::list))
        .route("/reviews/{org_id}", get(review::detail))
        .route("/reviews/{org_id}/approve", post(review::approve))
        .route("/reviews/{org_id}/return", post(review::return_unit))
        .route("/members", get(members::list))
        .route("/members/{account_id}/approve", post(members::approve))
        .route("/members/{account_id}/grants", post(members::grants))
        .route("/members/{account_id}/{action}", post(members::action))
        .route("/admin", get(admin::hub))
        .route(
            "/admin/experts/{account_id}/{decision}",
            post(admin::decide_expert),
        )
        .route("/admin/departments", post(admin::create_department))
        .route(
            "/admin/departments/{department_id}/reviewers",
            post(admin::add_reviewer),
        )
        .route(
            "/admin/departments/{department_id}/reviewers/{account_id}/delete",
            post(admin::remove_reviewer),
        )
        .route("/admin/clients", post(admin::create_client))
        .route(
            "/admin/clients/{client_id}/uris",
            post(admin::update_client),
        )
        .route(
            "/admin/clients/{client_id}/{action}",
            post(admin::client_action),
        );
    let portal = state::Portal { config, directory };
    Ok(rp::app_router::<_, Error>(portal, rp, pages))
}

async fn portal_css() -> axum::response::Response {
    page::stylesheet(include_str!("../templates/portal.css"))
}
