//! CSRF protection for every form: a random token in an HttpOnly, SameSite=Strict cookie that
//! each form must echo in a hidden field (double submit). A cross-site page can neither read
//! the cookie nor make the browser send it along with a forged POST.

use axum::http::{HeaderMap, HeaderValue, StatusCode};

use super::cookies;
use crate::{crypto, error::AppError, state::AppState};

/// The token to embed in a form, and a `Set-Cookie` when the browser has none yet.
pub fn token(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    let name = cookies::csrf_name(&state.config);
    match cookies::get(headers, &name).filter(|v| v.len() == 43) {
        Some(existing) => (existing, None),
        None => {
            let fresh = crypto::random_token(32);
            let cookie = cookies::set(
                &state.config,
                &name,
                &fresh,
                cookies::SameSite::Strict,
                None,
            );
            (fresh, Some(cookie))
        }
    }
}

pub fn check(
    state: &AppState,
    headers: &HeaderMap,
    submitted: Option<&str>,
) -> Result<(), AppError> {
    let cookie = cookies::get(headers, &cookies::csrf_name(&state.config));
    match (cookie, submitted) {
        (Some(c), Some(s)) if crypto::constant_time_eq(c.as_bytes(), s.as_bytes()) => Ok(()),
        _ => Err(AppError::page(
            StatusCode::FORBIDDEN,
            "页面已失效",
            "表单已过期或来源无法确认，请返回上一页刷新后重试。",
        )),
    }
}
