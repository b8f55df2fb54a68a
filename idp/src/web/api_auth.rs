//! What the JSON APIs for the portal share: the caller named by a user's Bearer access token
//! (verified like at UserInfo), and errors as `{"error", "error_description"}` with
//! `Cache-Control: no-store` (and a Bearer challenge on 401).

use std::collections::HashMap;

use axum::{
    body::Bytes,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::{de::DeserializeOwned, Serialize};
use tongyi_shared::api::{error::ErrorBody, Page};

use crate::{
    accounts::actor,
    directory::{attachments::UploadRefusal, Actor, DirectoryError},
    error::AppError,
    oidc::userinfo::{bearer_from_header, verify_access_token},
    state::AppState,
    store::accounts::Account,
};

/// An API error response.
pub fn json_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut res = (status, Json(ErrorBody::new(error, description))).into_response();
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
pub fn ok_json(value: impl Serialize) -> Response {
    let mut res = Json(value).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A failure behind a JSON API: 503 `temporarily_unavailable` for an outage, otherwise 500
/// `server_error`, never an HTML page.
pub fn internal(e: AppError) -> Response {
    match e {
        AppError::Unavailable(m) | AppError::ProtocolUnavailable(m) => {
            AppError::ProtocolUnavailable(m).into_response()
        }
        e => AppError::ProtocolInternal(e.to_string()).into_response(),
    }
}

/// The active account behind the request's user access token, with its roles; 401
/// `invalid_token` otherwise (no, bad, expired or revoked token, a machine token, a
/// DPoP-bound token, or a disabled account).
pub async fn caller(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Account, Vec<String>), Response> {
    let claims = match bearer_from_header(headers) {
        Some(token) => verify_access_token(state, &token).await.map_err(internal)?,
        None => None,
    };
    let unauthorized = || {
        json_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is invalid, expired or revoked",
        )
    };
    // The directory API takes Bearer tokens only: a DPoP-bound token without its proof is
    // refused here as at userinfo (RFC 9449 §7.1).
    let Some(claims) = claims.filter(|c| c.acct == Some(true) && c.cnf.is_none()) else {
        return Err(unauthorized());
    };
    let account = actor::active(state, &claims.sub)
        .await
        .map_err(|e| internal(e.into()))?;
    let Some(account) = account else {
        return Err(unauthorized());
    };
    let roles = actor::roles(state, &account.id)
        .await
        .map_err(|e| internal(e.into()))?;
    Ok((account, roles))
}

/// The value of a `Result<_, Response>`, or return the error response.
macro_rules! answer {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(res) => return res,
        }
    };
}
pub(crate) use answer;

/// The caller as a directory actor, or the 401 response.
pub async fn actor(state: &AppState, headers: &HeaderMap) -> Result<Actor, Response> {
    let (account, roles) = caller(state, headers).await?;
    Ok(Actor { account, roles })
}

/// A directory refusal as its JSON error response (the one mapping of [`DirectoryError`]).
pub fn refused(e: DirectoryError) -> Response {
    let (status, code) = match &e {
        DirectoryError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
        DirectoryError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        DirectoryError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        DirectoryError::Conflict(_) => (StatusCode::CONFLICT, "invalid_transition"),
        DirectoryError::InUse(_) => (StatusCode::CONFLICT, "in_use"),
        DirectoryError::Upload(r) => (
            match r {
                UploadRefusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            },
            r.code(),
        ),
        DirectoryError::Fields(fields) => {
            let body = ErrorBody {
                fields: Some(fields.clone()),
                ..ErrorBody::new("invalid_fields", "some fields are invalid")
            };
            let mut res = (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return res;
        }
        DirectoryError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ""),
    };
    if let DirectoryError::Internal(inner) = e {
        return internal(inner.into());
    }
    json_error(status, code, &e.to_string())
}

pub fn bad_request(description: String) -> Response {
    json_error(StatusCode::BAD_REQUEST, "invalid_request", &description)
}

/// The JSON body, or what is wrong with it (for [`bad_request`]; a plain value, since a
/// `Response` makes a large error variant).
pub fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("the body must be a JSON object: {e}"))
}

/// The 1-based `page` parameter (1 when absent), or what is wrong with it.
pub fn page_of(query: &HashMap<String, String>) -> Result<i64, String> {
    match query
        .get("page")
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
    {
        None => Ok(1),
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| "page must be a positive integer".to_owned()),
    }
}

/// A page of a list as every list answers it.
pub fn page_of_items<T>(items: Vec<T>, total: i64, page: i64) -> Page<T> {
    Page {
        items,
        total,
        page,
        page_size: crate::directory::PAGE_SIZE,
    }
}

/// An answer with no body.
pub fn no_content() -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A JSON answer with another status than 200.
pub fn json_with(status: StatusCode, value: impl Serialize) -> Response {
    let mut res = ok_json(value);
    *res.status_mut() = status;
    res
}
