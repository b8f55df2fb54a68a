//! The subsystem's one error type, mapped to responses here and nowhere else. Pages name the
//! kind of problem; the shared RP glue words the common ones, `templates/error.html` frames
//! them, and `templates/forbidden.html` is the subsystem's own refusal.

use askama::Template;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use tongyi_shared::rp::{error_page, page, ErrorKind, ErrorMessage, Refusal, RpError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Login failures, and invalid configuration values (the subsystem's own ones included).
    #[error(transparent)]
    Rp(#[from] RpError),
    #[error("template: {0}")]
    Template(#[from] askama::Error),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    message: ErrorMessage,
}

/// SPEC §6: the refusal says whom to ask — the unit admin, for this account and this system.
#[derive(Template)]
#[template(path = "forbidden.html")]
struct ForbiddenPage<'a> {
    refusal: &'a Refusal,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let kind = match &self {
            Error::Rp(RpError::NotGranted(refusal)) => {
                tracing::info!(code = %refusal.required_grant, "login refused: no grant");
                return match (ForbiddenPage { refusal }).render() {
                    Ok(body) => page::html(StatusCode::FORBIDDEN, body),
                    Err(_) => (StatusCode::FORBIDDEN, "forbidden").into_response(),
                };
            }
            Error::Rp(e) => e.kind(),
            Error::Template(_) => ErrorKind::Internal,
        };
        error_page(&self, kind, |message| ErrorPage { message })
    }
}
