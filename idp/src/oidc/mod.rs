//! The OpenID Connect protocol: discovery, JWKS, authorization, pushed authorization requests,
//! token, userinfo, introspection, revocation and logout endpoints.

pub mod authorize;
mod authorize_request;
pub mod client_auth;
pub mod cors;
pub mod discovery;
pub mod dpop;
pub mod form;
pub mod introspect;
pub mod logout;
pub mod par;
pub mod revoke;
pub mod session;
pub mod token;
pub mod userinfo;

/// The protocol services (keys, claims, clients, minting, back-channel delivery) live in
/// `tongyi_idp_core::oidc`; kept under these paths so the endpoints read as before.
pub use tongyi_idp_core::oidc::{
    backchannel, claims, client, consent, grant, issue, keys, registration, resource, scope,
    Endpoints,
};

use axum::{
    routing::{get, post},
    Router,
};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration).options(cors::preflight),
        )
        .route("/jwks", get(discovery::jwks).options(cors::preflight))
        .route(
            "/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/authorize/resume", get(authorize::resume))
        .route("/par", post(par::par).options(cors::preflight))
        .route("/token", post(token::token).options(cors::preflight))
        .route(
            "/userinfo",
            get(userinfo::userinfo_get)
                .post(userinfo::userinfo_post)
                .options(cors::preflight),
        )
        .route("/introspect", post(introspect::introspect))
        .route("/revoke", post(revoke::revoke).options(cors::preflight))
        .route("/logout", get(logout::logout_get).post(logout::logout_post))
        .route("/logout/confirm", post(logout::logout_confirm))
}
