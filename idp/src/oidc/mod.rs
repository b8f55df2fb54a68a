//! The OpenID Connect protocol: discovery, JWKS, authorization, token, userinfo, introspection,
//! revocation and logout endpoints.

pub mod authorize;
pub mod backchannel;
pub mod claims;
pub mod client;
pub mod client_auth;
pub mod discovery;
pub mod form;
pub mod introspect;
pub mod issue;
pub mod keys;
pub mod logout;
pub mod registration;
pub mod revoke;
pub mod session;
pub mod token;
pub mod userinfo;

use axum::{
    routing::{get, post},
    Router,
};

use crate::state::AppState;

/// Endpoint URLs, derived once from the issuer.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub issuer: String,
    pub authorization: String,
    pub token: String,
    pub userinfo: String,
    pub jwks: String,
    pub end_session: String,
    pub revocation: String,
    pub introspection: String,
}

impl Endpoints {
    pub fn new(issuer: &str) -> Self {
        let at = |path: &str| format!("{issuer}{path}");
        Endpoints {
            issuer: issuer.to_owned(),
            authorization: at("/authorize"),
            token: at("/token"),
            userinfo: at("/userinfo"),
            jwks: at("/jwks"),
            end_session: at("/logout"),
            revocation: at("/revoke"),
            introspection: at("/introspect"),
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/jwks", get(discovery::jwks))
        .route(
            "/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/authorize/resume", get(authorize::resume))
        .route("/token", post(token::token))
        .route(
            "/userinfo",
            get(userinfo::userinfo_get).post(userinfo::userinfo_post),
        )
        .route("/introspect", post(introspect::introspect))
        .route("/revoke", post(revoke::revoke))
        .route("/logout", get(logout::logout_get).post(logout::logout_post))
        .route("/logout/confirm", post(logout::logout_confirm))
}
