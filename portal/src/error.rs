//! The portal's one error type, mapped to responses here and nowhere else. Pages name the
//! kind of problem; their Chinese wording lives in `templates/error.html`.

use askama::Template;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use tongyi_shared::rp::{page, RpError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("config value `{field}` is invalid: {reason}")]
    Config { field: &'static str, reason: String },
    #[error(transparent)]
    Rp(#[from] RpError),
    #[error("template: {0}")]
    Template(#[from] askama::Error),
}

impl Error {
    pub fn config(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Config {
            field,
            reason: reason.into(),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    /// One of: expired, denied, csrf, busy, idp, internal.
    kind: &'static str,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, kind) = match &self {
            Error::Rp(RpError::LoginExpired) => (StatusCode::BAD_REQUEST, "expired"),
            Error::Rp(RpError::Provider(_)) => (StatusCode::BAD_REQUEST, "denied"),
            Error::Rp(RpError::Csrf) => (StatusCode::FORBIDDEN, "csrf"),
            Error::Rp(RpError::Busy) => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            Error::Rp(
                RpError::Callback(_)
                | RpError::Exchange(_)
                | RpError::IdToken(_)
                | RpError::Discovery(_),
            ) => (StatusCode::BAD_GATEWAY, "idp"),
            // The portal requires no grant, so a refusal is a bug like the rest.
            Error::Rp(RpError::NotGranted(_) | RpError::Config { .. })
            | Error::Config { .. }
            | Error::Template(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::info!(error = %self, "request refused");
        }
        match (ErrorPage { kind }).render() {
            Ok(body) => page::html(status, body),
            Err(_) => (status, "error").into_response(),
        }
    }
}
