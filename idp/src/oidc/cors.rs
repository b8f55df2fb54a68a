//! CORS for browser applications (single-page apps registered as public clients) at the
//! endpoints they call from script: discovery, JWKS, pushed authorization requests, token,
//! userinfo and revocation.
//!
//! Only the web origins of registered public clients are answered, derived from their redirect
//! URIs (`Services::web_origins`); a request from any other origin gets no CORS header, so the
//! browser keeps the answer from the page. No credentials are allowed: these endpoints take
//! client ids and Bearer tokens, never the IdP's cookies.

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use crate::state::AppState;

/// How long a browser may reuse a preflight answer; short, so that removing a client takes
/// effect soon.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The request's `Origin` when it is one of a registered public client's web origins. A
/// failure to read the clients is logged and answered as "not registered": CORS never turns
/// an answer into an error.
async fn allowed_origin(state: &AppState, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    match state.web_origins().await {
        Ok(origins) => origins.contains(text).then(|| origin.clone()),
        Err(e) => {
            tracing::warn!(error = %e, "the client origins could not be read");
            None
        }
    }
}

/// Adds `Access-Control-Allow-Origin` to an endpoint's answer for a registered origin, and
/// `Vary: Origin` always, because the answer depends on it.
pub async fn allow(state: &AppState, headers: &HeaderMap, mut res: Response) -> Response {
    let allowed = allowed_origin(state, headers).await;
    let h = res.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = allowed {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        // RFC 6750 errors live in this header, RFC 9449 server nonces in DPoP-Nonce; a script
        // cannot read them otherwise.
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("www-authenticate, dpop-nonce"),
        );
    }
    res
}

/// The answer to a preflight (`OPTIONS`) at one of the CORS endpoints: 204, with the allowed
/// methods and headers only for a registered origin.
pub async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    let allowed = allowed_origin(&state, &headers).await;
    let h = res.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = allowed {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type, dpop"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE),
        );
    }
    res
}
