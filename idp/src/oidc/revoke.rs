//! Token revocation (RFC 7009). Revoking a refresh token revokes its whole family and the
//! access tokens issued with it; revoking an access token denies it until it expires. The
//! answer is 200 whether or not the token was valid, so it reveals nothing.

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use super::{
    client_auth, cors, form::Params, grant, issue, token::revoke_family,
    userinfo::verify_access_token,
};
use crate::{error::AppError, state::AppState};

pub async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let res = answer(&state, &headers, &body).await;
    cors::allow(&state, &headers, res).await
}

async fn answer(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Response {
    match handle(state, headers, body).await {
        Ok(()) => {
            let mut res = StatusCode::OK.into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => e.in_protocol().into_response(),
    }
}

async fn handle(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), AppError> {
    let params = Params::from_body(headers, body)?;
    let client = client_auth::authenticate(state, headers, &params).await?;
    let token = params.require("token")?;
    let now = state.clock.now();
    if let Some(row) = grant::find_refresh(state, token).await? {
        if row.client_id == client.client_id {
            revoke_family(state, &row.family_id, now).await?;
        }
        return Ok(());
    }
    if let Some(claims) = verify_access_token(state, token).await? {
        if claims.client_id == client.client_id {
            issue::deny_access_token(state, &claims.jti, claims.exp).await?;
        }
    }
    Ok(())
}
