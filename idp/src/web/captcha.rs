//! The captcha picture. Pages that ask for a captcha create the challenge themselves and put
//! its id in a hidden field `captcha_id` and in this URL; the answer is checked by the form's
//! handler through `accounts::captcha::verify`.

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use crate::{accounts::captcha, error::AppResult, state::AppState};

/// `GET /captcha/{id}`: the PNG of a live challenge; 404 once it is used or expired.
pub async fn captcha_image(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let mut res = match captcha::image(&state.store, &id).await? {
        Some(png) => {
            let mut res = png.into_response();
            res.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
            res
        }
        None => StatusCode::NOT_FOUND.into_response(),
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Only our own pages may show it.
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    Ok(res)
}
