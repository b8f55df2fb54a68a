//! What the JSON APIs for the portal share: the caller named by a user's Bearer access token
//! (verified like at UserInfo), and errors as `{"error", "error_description"}` with
//! `Cache-Control: no-store` (and a Bearer challenge on 401).

use axum::{
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use crate::{
    error::AppError,
    oidc::userinfo::{bearer_from_header, verify_access_token},
    state::AppState,
    store::{self, accounts::Account},
};

/// An API error response.
pub fn json_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut res = (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"tongyi\", error=\"invalid_token\""),
        );
    }
    res
}

/// A 200 JSON answer that no cache keeps.
pub fn ok_json(value: serde_json::Value) -> Response {
    let mut res = Json(value).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub fn internal(e: AppError) -> Response {
    AppError::ProtocolInternal(e.to_string()).into_response()
}

/// The active account behind the request's user access token, with its roles; 401
/// `invalid_token` otherwise (no, bad, expired or revoked token, a machine token, or a
/// disabled account).
pub async fn caller(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Account, Vec<String>), Response> {
    let claims = match bearer_from_header(headers) {
        Some(token) => verify_access_token(state, &token).await,
        None => None,
    };
    let unauthorized = || {
        json_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is invalid, expired or revoked",
        )
    };
    let Some(claims) = claims.filter(|c| c.acct == Some(true)) else {
        return Err(unauthorized());
    };
    let account = store::accounts::find_by_id(&state.db, &claims.sub)
        .await
        .map_err(|e| internal(e.into()))?;
    let Some(account) = account.filter(Account::is_active) else {
        return Err(unauthorized());
    };
    let roles = store::accounts::roles(&state.db, &account.id)
        .await
        .map_err(|e| internal(e.into()))?;
    Ok((account, roles))
}
