//! `GET /dev/captcha/{id}`: the answer of a live captcha challenge as plain text, for browser
//! tests that cannot read the picture. It answers only when `dev.captcha_answers` is switched
//! on, which production mode refuses at start-up; otherwise the route is a 404 like any
//! unknown page. Asking does not use the challenge up: the form still checks it once.

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use super::pages;
use crate::{accounts::captcha, error::AppResult, state::AppState};

pub async fn captcha_answer(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    // Production is checked again here so that no configuration path can open the route.
    if !state.config.dev.captcha_answers || state.config.production {
        return Ok(pages::error_page(
            StatusCode::NOT_FOUND,
            "页面不存在",
            "未启用测试辅助功能。",
        ));
    }
    let mut res = match captcha::peek_answer(&state.store, &id).await? {
        Some(answer) => answer.into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
