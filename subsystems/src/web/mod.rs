//! Pages and forms. Handlers parse the request, ask [`crate::declaration`] what may happen,
//! call the store and render; every form carries the session's CSRF token.
//!
//! Who sees what: a declarant sees the declarations of its own account and edits only those;
//! a unit's admin (`org.role = admin` in the token, the unit active) also reads, never edits,
//! every declaration recorded for its unit, whoever filed it, drafts included (seed 002:
//! 登录法人账号后，可以看到本单位全部个人用户的信息) — the unit is the one the declarant
//! belonged to when creating it; reviewers (role `{code}:reviewer`) see every declaration
//! that was submitted, in any later state, never a draft. Anything else is answered as not
//! found.

mod attachments;
mod declarant;
mod review;
mod unit;
mod user;
mod views;

use axum::{
    extract::DefaultBodyLimit,
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};

use crate::state::AppState;

pub use user::User;

/// How much of an upload request is read at most. Far above the 10 MB a file may have: a file
/// over its limit is read to the end and dropped, so that the browser, still sending, receives
/// "文件超过10M" instead of a connection cut off mid-upload.
const UPLOAD_REQUEST_LIMIT: usize = 64 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(declarant::home))
        .route("/static/declarations.css", get(stylesheet))
        .route(
            "/declarations/new",
            get(declarant::new_form).post(declarant::create),
        )
        .route("/declarations/{id}", get(declarant::view))
        .route(
            "/declarations/{id}/edit",
            get(declarant::edit_form).post(declarant::save),
        )
        .route("/declarations/{id}/submit", post(declarant::submit))
        .route("/declarations/{id}/export.docx", get(declarant::export))
        .route(
            "/declarations/{id}/attachments/{slot}",
            post(attachments::upload).layer(DefaultBodyLimit::max(UPLOAD_REQUEST_LIMIT)),
        )
        .route("/attachments/{id}", get(attachments::download))
        .route("/attachments/{id}/delete", post(attachments::remove))
        .route("/review", get(review::list))
        .route("/unit/declarations", get(unit::list))
        .route("/declarations/{id}/approve", post(review::approve))
        .route("/declarations/{id}/return", post(review::send_back))
}

async fn stylesheet() -> Response {
    let mut res = include_str!("../../templates/declarations.css").into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}
