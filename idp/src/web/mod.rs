//! Pages: login, consent, logout confirmation, the IdP's home page, captcha pictures, and
//! health checks.
//! Templates live in `idp/templates/` (askama, Chinese UI).

pub mod account;
pub mod admin_api;
pub mod api_auth;
pub mod appeal;
pub mod auth;
pub mod captcha;
pub mod consent;
pub mod cookies;
pub mod csrf;
pub mod dev_captcha;
pub mod dev_outbox;
pub mod directory_api;
pub mod extract;
pub mod health;
pub mod legacy;
pub mod login;
pub mod members_api;
pub mod multipart;
pub mod openapi;
pub mod pages;
pub mod paging;
pub mod password;
pub mod people_api;
pub mod realname;
pub mod recover;
pub mod register;
pub mod settle;

use axum::{
    routing::{get, post},
    Router,
};

use crate::state::AppState;

pub use settle::settle_claims;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(login::login_page).post(login::login_submit))
        .route("/captcha/{id}", get(captcha::captcha_image))
        .route("/consent", post(consent::consent_submit))
        .route("/static/style.css", get(pages::stylesheet))
        .route("/dev/sms-outbox", get(dev_outbox::outbox_page))
        .route("/dev/email-outbox", get(dev_outbox::email_outbox_page))
        .route("/dev/captcha/{id}", get(dev_captcha::captcha_answer))
        .merge(login::router())
        .merge(account::router())
        .merge(appeal::router())
        .merge(realname::router())
        .merge(register::router())
        .merge(legacy::router())
}
