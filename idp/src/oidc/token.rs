//! The token endpoint (RFC 6749 §3.2): authorization_code with PKCE, refresh_token with
//! rotation and reuse detection, client_credentials; tokens bound to the key of a DPoP proof
//! when the request carries one (RFC 9449).

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

use super::{
    client::{Client, GrantType},
    client_auth, cors, dpop,
    form::Params,
    resource,
};
use crate::{
    error::{AppError, AppResult},
    state::AppState,
};
use tongyi_idp_core::oidc::grant::{self, CodeRedemption, GrantError};

/// Revoking a refresh-token family is a core service; the revocation endpoint finds it here.
pub use tongyi_idp_core::oidc::grant::revoke_family;

pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let res = match handle(&state, &headers, &body).await {
        Ok(res) => dpop::with_nonce(&state, res),
        Err(e) => e.in_protocol().into_response(),
    };
    // Errors too: a single-page app must be able to read why its request was refused.
    cors::allow(&state, &headers, res).await
}

async fn handle(state: &AppState, headers: &HeaderMap, body: &[u8]) -> AppResult<Response> {
    let params = Params::from_body(headers, body)?;
    let client = client_auth::authenticate(state, headers, &params).await?;
    let grant = allowed_grant(&client, &params)?;
    let resources = resource::parse(params.all("resource"))
        .map_err(|e| AppError::oauth("invalid_target", e.to_string()))?;
    let dpop_jkt = dpop::token_request(state, headers, &client).await?;
    let dpop_jkt = dpop_jkt.as_deref();
    let response = match grant {
        GrantType::AuthorizationCode => {
            let req = CodeRedemption {
                code: params.require("code")?,
                redirect_uri: params.get("redirect_uri"),
                code_verifier: params.get("code_verifier"),
                resources,
                dpop_jkt,
            };
            grant::redeem_code(state, &client, &req).await
        }
        GrantType::RefreshToken => {
            let presented = params.require("refresh_token")?;
            grant::rotate_refresh(
                state,
                &client,
                presented,
                params.get("scope"),
                resources,
                dpop_jkt,
            )
            .await
        }
        GrantType::ClientCredentials => {
            grant::client_credentials(state, &client, params.get("scope"), &resources, dpop_jkt)
                .await
        }
    }
    .map_err(grant_error)?;
    state.metrics.token_issued(grant.as_str());
    Ok(no_store_json(&response))
}

/// The grant type asked for, known and allowed to the client.
fn allowed_grant(client: &Client, params: &Params) -> AppResult<GrantType> {
    let grant_type = params.require("grant_type")?;
    let grant = GrantType::parse(grant_type).ok_or_else(|| {
        AppError::oauth(
            "unsupported_grant_type",
            format!("{grant_type} is not supported"),
        )
    })?;
    if !client.allows_grant(grant) {
        return Err(AppError::oauth(
            "unauthorized_client",
            format!("the client may not use {grant_type}"),
        ));
    }
    Ok(grant)
}

pub fn no_store_json<T: Serialize>(body: &T) -> Response {
    let mut res = Json(body).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// A refused grant as its RFC 6749 §5.2 error; failures of ours become `server_error`.
fn grant_error(e: GrantError) -> AppError {
    match e {
        GrantError::InvalidGrant(description) => AppError::oauth("invalid_grant", description),
        GrantError::InvalidScope(description) => AppError::oauth("invalid_scope", description),
        GrantError::InvalidTarget(description) => AppError::oauth("invalid_target", description),
        GrantError::DpopKey(description) => AppError::Dpop {
            at_resource: false,
            error: "invalid_dpop_proof",
            description: description.into(),
            nonce: None,
        },
        GrantError::Failure(f) => AppError::from(f).in_protocol(),
    }
}
