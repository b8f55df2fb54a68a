//! The portal's one error type, mapped to responses here and nowhere else. Pages name the
//! kind of problem; the shared RP glue words it, and `templates/error.html` frames it.

use askama::Template;
use axum::response::{IntoResponse, Response};
use tongyi_shared::rp::{error_page, ErrorKind, ErrorMessage, RpError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Login failures, and invalid configuration values (the portal's own ones included).
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

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let kind = match &self {
            // The portal requires no grant, so a refusal is a bug like the rest.
            Error::Rp(e) => e.kind(),
            Error::Template(_) => ErrorKind::Internal,
        };
        error_page(&self, kind, |message| ErrorPage { message })
    }
}
