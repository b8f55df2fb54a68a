//! The subsystem's one error type, mapped to responses here and nowhere else. Pages name the
//! kind of problem; the shared RP glue words the common ones, `templates/error.html` frames
//! them, `templates/forbidden.html` is the subsystem's refusal and `templates/problem.html`
//! words the declaration workflow's own refusals.

use askama::Template;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use tongyi_shared::rp::{error_page, page, ErrorKind, ErrorMessage, Refusal, RpError};

use crate::declaration::FormDefError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Login failures, and invalid configuration values (the subsystem's own ones included).
    #[error(transparent)]
    Rp(#[from] RpError),
    /// A page that needs a login; the browser is sent to log in and come back.
    #[error("login required")]
    LoginRequired { return_to: String },
    /// No such declaration or attachment, or not one this account may see (the same answer,
    /// so that ids of others' declarations reveal nothing).
    #[error("not found")]
    NotFound,
    /// The declaration's state does not allow this any more (submitted meanwhile, decided…).
    #[error("the declaration's state does not allow this")]
    Conflict,
    #[error("form definition: {0}")]
    Form(#[from] FormDefError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("files: {0}")]
    Io(#[from] std::io::Error),
    #[error("Word export: {0}")]
    Docx(#[from] zip::result::ZipError),
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

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage {
    /// `not_found` or `conflict`.
    kind: &'static str,
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
            Error::LoginRequired { return_to } => {
                let target = format!("/auth/login?return_to={}", url_encode(return_to));
                return Redirect::to(&target).into_response();
            }
            Error::NotFound | Error::Conflict => {
                let (status, kind) = if matches!(self, Error::NotFound) {
                    (StatusCode::NOT_FOUND, "not_found")
                } else {
                    (StatusCode::CONFLICT, "conflict")
                };
                tracing::info!(error = %self, "request refused");
                return match (ProblemPage { kind }).render() {
                    Ok(body) => page::html(status, body),
                    Err(_) => status.into_response(),
                };
            }
            Error::Rp(e) => e.kind(),
            Error::Db(e) if db_unavailable(e) => ErrorKind::Unavailable,
            Error::Form(_) | Error::Db(_) | Error::Io(_) | Error::Docx(_) | Error::Template(_) => {
                ErrorKind::Internal
            }
        };
        error_page(&self, kind, |message| ErrorPage { message })
    }
}

/// The database could not be reached or gave no connection within the pool's acquire timeout
/// (`shared::db::DEFAULT_ACQUIRE_TIMEOUT`): an outage, answered 503 with `Retry-After` like an
/// unreachable session store, not a fault of ours.
fn db_unavailable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
    )
}

/// Percent-encodes a local path for a query value (only unreserved characters stay).
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(e: Error) -> (StatusCode, Option<String>, String) {
        let res = e.into_response();
        let retry = res
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, retry, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn storage_outages_are_503_with_retry_after() {
        for e in [
            Error::Db(sqlx::Error::PoolTimedOut),
            Error::Rp(RpError::Unavailable("Redis: timed out".into())),
        ] {
            let (status, retry, body) = answer(e).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(retry.as_deref(), Some("5"));
            assert!(body.contains("服务暂时不可用"), "{body}");
        }
        let (status, retry, _) = answer(Error::Db(sqlx::Error::RowNotFound)).await;
        assert_eq!((status, retry), (StatusCode::INTERNAL_SERVER_ERROR, None));
    }
}
