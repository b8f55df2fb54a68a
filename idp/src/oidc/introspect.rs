//! Token introspection (RFC 7662). Only authenticated confidential clients may ask. An access
//! token is described to the client it was issued to and to the resource servers in its
//! audience (RFC 8707); a refresh token only to the client it was issued to. Any other caller
//! learns `{"active": false}` and nothing else (RFC 7662 §4: the server must not reveal a
//! token's contents to a caller it was not meant for).

use axum::{
    body::Bytes,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use serde::Serialize;

use super::{
    client::Client, client_auth, form::Params, grant, resource::Audience, token::no_store_json,
    userinfo::verify_access_token,
};
use crate::{accounts::actor, error::AppError, state::AppState};
use tongyi_idp_core::oidc::dpop::Confirmation;

#[derive(Serialize, Default)]
struct Introspection {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<Audience>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    /// The DPoP key the token is bound to (RFC 9449 §6.2), so that a resource server can
    /// check the proof that came with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<Confirmation>,
}

pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&state, &headers, &body).await {
        Ok(res) => res,
        Err(e) => e.in_protocol().into_response(),
    }
}

async fn handle(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Response, AppError> {
    let params = Params::from_body(headers, body)?;
    let client = client_auth::authenticate(state, headers, &params).await?;
    if client.is_public() {
        return Err(AppError::invalid_client(
            "public clients may not introspect tokens",
            false,
        ));
    }
    let token = params.require("token")?;
    // The hint only decides which kind is looked up first (RFC 7662 §2.1).
    let found = if params.get("token_type_hint") == Some("refresh_token") {
        match as_refresh(state, &client, token).await? {
            Some(i) => Some(i),
            None => as_access(state, &client, token).await?,
        }
    } else {
        match as_access(state, &client, token).await? {
            Some(i) => Some(i),
            None => as_refresh(state, &client, token).await?,
        }
    };
    Ok(no_store_json(&found.unwrap_or_default()))
}

/// An access token issued to this client, or for the resource server it is.
async fn as_access(
    state: &AppState,
    client: &Client,
    token: &str,
) -> Result<Option<Introspection>, AppError> {
    let claims = verify_access_token(state, token).await?.filter(|c| {
        c.client_id == client.client_id
            || client
                .resource_uri
                .as_deref()
                .is_some_and(|r| c.aud.contains(r))
    });
    // A user's token dies with the account: resource servers that introspect learn of a
    // disable at once instead of at expiry.
    let claims = match claims {
        Some(c) if c.acct == Some(true) => actor::active_snapshot(state, &c.sub).await?.map(|_| c),
        other => other,
    };
    Ok(claims.map(|c| Introspection {
        active: true,
        token_type: Some(if c.cnf.is_some() { "DPoP" } else { "Bearer" }),
        cnf: c.cnf,
        scope: Some(c.scope),
        client_id: Some(c.client_id),
        exp: Some(c.exp),
        iat: Some(c.iat),
        sub: Some(c.sub),
        aud: Some(c.aud),
        iss: Some(c.iss),
        jti: Some(c.jti),
    }))
}

/// A live refresh token of this client.
async fn as_refresh(
    state: &AppState,
    client: &Client,
    token: &str,
) -> Result<Option<Introspection>, AppError> {
    let now = state.clock.now();
    let row = grant::find_refresh(state, token).await?;
    Ok(row
        .filter(|r| {
            r.client_id == client.client_id
                && r.used_at.is_none()
                && r.revoked_at.is_none()
                && r.expires_at > now
        })
        .map(|r| Introspection {
            active: true,
            scope: Some(r.scope),
            client_id: Some(r.client_id),
            token_type: Some("refresh_token"),
            exp: Some(r.expires_at),
            iat: Some(r.issued_at),
            sub: Some(r.account_id),
            iss: Some(state.endpoints.issuer.clone()),
            cnf: r.dpop_jkt.map(|jkt| Confirmation { jkt }),
            ..Default::default()
        }))
}
