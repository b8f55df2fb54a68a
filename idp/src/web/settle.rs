//! Read-your-writes for the claims cache: after a request that may have changed an account
//! (any method but GET, HEAD and OPTIONS), the instance reads the claim change log before it
//! answers, so that the next userinfo, introspection or refresh it serves sees the change.
//! The token, introspection, revocation, PAR and userinfo endpoints change no claims and are
//! the hot paths, so they skip it.

use axum::{
    extract::{Request, State},
    http::Method,
    middleware::Next,
    response::Response,
};

use crate::state::AppState;

const CHANGE_NO_CLAIMS: &[&str] = &["/token", "/introspect", "/revoke", "/par", "/userinfo"];

pub async fn settle_claims(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let may_change = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && !CHANGE_NO_CLAIMS.contains(&req.uri().path());
    let res = next.run(req).await;
    if may_change {
        state.claims.settle(&state.db).await;
    }
    res
}
