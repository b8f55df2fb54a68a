//! `/account/password`: the signed-in user changes their password. With `forced=1` it is the
//! step a login with a temporary password (a unit admin's reset) must take before anything
//! else; `req` / `next` carry on to where the login was going.

use askama::Template;
use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::extract::{ClientAddr, CsrfForm, FormFields, SignedIn};
use super::{auth, csrf, pages};
use crate::{
    accounts::recovery::{change_password, PasswordError},
    error::AppResult,
    state::AppState,
};

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage<'a> {
    csrf: &'a str,
    forced: bool,
    req: &'a str,
    next: &'a str,
    error: Option<&'a str>,
    current_error: Option<&'a str>,
    new_error: Option<&'a str>,
    confirm_error: Option<&'a str>,
}

/// Where a login with a temporary password is sent first.
pub fn forced_path(req: &str, next: &str) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("forced", "1");
    if !req.is_empty() {
        q.append_pair("req", req);
    }
    if !next.is_empty() {
        q.append_pair("next", next);
    }
    format!("/account/password?{}", q.finish())
}

#[derive(Deserialize)]
pub struct PasswordQuery {
    #[serde(default)]
    forced: String,
    #[serde(default)]
    req: String,
    #[serde(default)]
    next: String,
}

pub const HERE: &str = "/account/password";

#[derive(Default)]
struct Errors {
    error: Option<&'static str>,
    current: Option<&'static str>,
    new: Option<&'static str>,
    confirm: Option<&'static str>,
}

fn render(
    state: &AppState,
    headers: &HeaderMap,
    forced: bool,
    req: &str,
    next: &str,
    errors: Errors,
) -> AppResult<Response> {
    let (token, cookie) = csrf::token(state, headers);
    let page = PasswordPage {
        csrf: &token,
        forced,
        req,
        next,
        error: errors.error,
        current_error: errors.current,
        new_error: errors.new,
        confirm_error: errors.confirm,
    };
    let status = if errors.error.is_some()
        || errors.current.is_some()
        || errors.new.is_some()
        || errors.confirm.is_some()
    {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(pages::with_cookie(pages::render(status, &page)?, cookie))
}

pub async fn password_page(
    State(state): State<AppState>,
    user: SignedIn,
    headers: HeaderMap,
    Query(q): Query<PasswordQuery>,
) -> AppResult<Response> {
    let next = auth::local_path(&q.next).unwrap_or("");
    let forced = q.forced == "1" || user.account.must_change_password;
    render(&state, &headers, forced, &q.req, next, Errors::default())
}

pub async fn password_submit(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<FormFields>,
) -> AppResult<Response> {
    // By hand, after the CSRF check: a forged post is refused before anyone is asked to log in.
    let user = auth::require(&state, &headers, HERE).await?;
    let req = form.get("req").unwrap_or("");
    let next = auth::local_path(form.get("next").unwrap_or("")).unwrap_or("");
    let forced = user.account.must_change_password;
    let result = change_password(
        &state,
        &user.account,
        &user.session.session.sid,
        form.get("current_password").unwrap_or(""),
        form.get("new_password").unwrap_or(""),
        form.get("confirm_password").unwrap_or(""),
        peer.ip(),
    )
    .await;
    let errors = match result {
        Ok(()) => {
            let target = super::login::continue_path(req, next);
            if forced || !req.is_empty() || !next.is_empty() {
                return Ok(Redirect::to(&target).into_response());
            }
            return super::recover::done(
                "密码已修改",
                "您的密码已修改，其他设备上的登录已退出。",
                true,
            );
        }
        Err(PasswordError::Field { field, message }) => match field {
            "current_password" => Errors {
                current: Some(message),
                ..Errors::default()
            },
            "confirm_password" => Errors {
                confirm: Some(message),
                ..Errors::default()
            },
            _ => Errors {
                new: Some(message),
                ..Errors::default()
            },
        },
        Err(PasswordError::Limited) => Errors {
            error: Some("尝试次数过多，请稍后再试。"),
            ..Errors::default()
        },
        Err(PasswordError::Mismatch) => Errors {
            current: Some("当前密码错误"),
            ..Errors::default()
        },
        Err(PasswordError::Internal(e)) => return Err(e.into()),
    };
    render(&state, &headers, forced, req, next, errors)
}
