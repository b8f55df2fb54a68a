//! The pushed authorization request endpoint (RFC 9126).
//!
//! A client sends the parameters of its authorization request straight to /par, authenticated
//! as at the token endpoint, and gets a `request_uri` that stands for them. /authorize then
//! takes that `request_uri` with the `client_id` instead of the parameters: they never pass
//! through the browser, where they could be read or changed.
//!
//! What was pushed is checked by the same [`authorize::check`] as a request sent to
//! /authorize, stored as it came (without the client's credentials) in the short-lived store,
//! so that every instance sharing it can take it, and checked again when /authorize takes it.
//! A `request_uri` can be taken once and only before it expires.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

use super::{
    authorize::{self, Refusal, Source},
    client_auth, cors,
    form::Params,
    token::no_store_json,
};
use crate::{
    crypto,
    error::{AppError, AppResult},
    state::AppState,
};

/// RFC 9126 §2.2: the `request_uri` of a pushed request is this URN and a random reference.
const URN_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// The parameters of a client's credentials, which are not part of the authorization request
/// and are not kept with it.
const CREDENTIALS: [&str; 3] = ["client_secret", "client_assertion", "client_assertion_type"];

/// A pushed request as stored. Its expiry is also checked against the IdP's clock, which the
/// store's own expiry does not follow.
#[derive(Serialize, Deserialize)]
struct Pushed {
    client_id: String,
    params: Params,
    expires_at: i64,
}

#[derive(Serialize)]
struct Created {
    request_uri: String,
    expires_in: i64,
}

/// The store key of a reference: like codes, a digest, so that a dump of the store names no
/// usable `request_uri`.
fn key(reference: &str) -> String {
    format!("par:{}", crypto::sha256_hex(reference.as_bytes()))
}

/// Whether `request_uri` names a pushed request (rather than a request object by reference,
/// which this server does not fetch).
pub fn is_pushed(request_uri: &str) -> bool {
    request_uri.starts_with(URN_PREFIX)
}

pub async fn par(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let res = match push(&state, &headers, &body).await {
        Ok(res) => res,
        Err(e) => e.in_protocol().into_response(),
    };
    // A single-page app (a public client) may push from script and must read the answer.
    cors::allow(&state, &headers, res).await
}

async fn push(state: &AppState, headers: &HeaderMap, body: &[u8]) -> AppResult<Response> {
    let mut params = Params::from_body(headers, body)?;
    // A client_id in the body that names another client than the credentials is refused
    // here (RFC 9126 §2.1).
    let client = client_auth::authenticate(state, headers, &params).await?;
    if params.get("request_uri").is_some() {
        return Err(AppError::oauth(
            "invalid_request",
            "request_uri cannot be pushed (RFC 9126 §2.1)",
        ));
    }
    for name in CREDENTIALS {
        params.remove(name);
    }
    // With HTTP Basic the body may leave client_id out; the request is the client's anyway.
    params.set("client_id", &client.client_id);
    authorize::check(state, &params, Source::Pushed)
        .await
        .map_err(refusal)?;

    let ttl = state.config.par.request_uri_ttl_secs;
    let reference = crypto::random_token(32);
    let pushed = Pushed {
        client_id: client.client_id.clone(),
        params,
        expires_at: state.clock.now() + ttl,
    };
    let json = serde_json::to_string(&pushed).map_err(|e| AppError::Internal(e.to_string()))?;
    state.store.put(&key(&reference), &json, ttl).await?;
    let mut res = no_store_json(&Created {
        request_uri: format!("{URN_PREFIX}{reference}"),
        expires_in: ttl,
    });
    *res.status_mut() = StatusCode::CREATED;
    Ok(res)
}

/// A refused pushed request as its RFC 9126 §2.3 error: what /authorize would have redirected
/// is the same error code here; an unverified redirect URI is `invalid_request`.
fn refusal(r: Refusal) -> AppError {
    match r {
        Refusal::Unverified { description, .. } => AppError::oauth("invalid_request", description),
        Refusal::Denied {
            error, description, ..
        } => AppError::oauth(error, description),
        Refusal::Failed(e) => e,
    }
}

/// Takes the pushed request `request_uri` for /authorize (once: of two concurrent takers only
/// one gets it). Unknown, used, expired or pushed by another client than `client_id`: an error
/// page, because the redirect URI to send an error to is among the parameters we do not have
/// (the one in the query is ignored, RFC 9126 §4) and RFC 6749 §4.1.2.1 forbids redirecting to
/// an unverified one. A request_uri sent with the wrong client_id is used up all the same: a
/// second try with it would not be the client's.
pub async fn take(
    state: &AppState,
    request_uri: &str,
    client_id: Option<&str>,
) -> AppResult<Params> {
    let invalid = || {
        AppError::page(
            StatusCode::BAD_REQUEST,
            "登录请求已失效",
            "登录请求已使用、已过期或无效（invalid_request_uri），请返回应用重新登录。",
        )
    };
    let client_id = client_id.ok_or_else(|| {
        AppError::page(
            StatusCode::BAD_REQUEST,
            "无效的登录请求",
            "缺少 client_id 参数。",
        )
    })?;
    let reference = request_uri.strip_prefix(URN_PREFIX).unwrap_or(request_uri);
    let json = state
        .store
        .take(&key(reference))
        .await?
        .ok_or_else(invalid)?;
    let pushed: Pushed = serde_json::from_str(&json).map_err(|_| invalid())?;
    if pushed.client_id != client_id || pushed.expires_at <= state.clock.now() {
        return Err(invalid());
    }
    Ok(pushed.params)
}
