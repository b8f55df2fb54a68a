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
    Failure, FieldErrors,
};

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage<'a> {
    csrf: &'a str,
    forced: bool,
    req: &'a str,
    next: &'a str,
    /// For the whole form (too many attempts).
    error: Option<&'a str>,
    /// By field: `current_password`, `new_password`, `confirm_password`.
    errors: FieldErrors,
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

/// What the form is shown again with.
#[derive(Default)]
struct Refusal {
    error: Option<&'static str>,
    errors: FieldErrors,
}

impl Refusal {
    fn field(field: &'static str, message: &'static str) -> Refusal {
        Refusal {
            error: None,
            errors: FieldErrors::one(field, message),
        }
    }

    fn of(e: PasswordError) -> Result<Refusal, Failure> {
        Ok(match e {
            PasswordError::Field { field, message } => {
                let field = match field {
                    "current_password" | "confirm_password" => field,
                    _ => "new_password",
                };
                Refusal::field(field, message)
            }
            PasswordError::Limited => Refusal {
                error: Some("尝试次数过多，请稍后再试。"),
                errors: FieldErrors::new(),
            },
            PasswordError::Mismatch => Refusal::field("current_password", "当前密码错误"),
            PasswordError::Internal(e) => return Err(e),
        })
    }
}

fn render(
    state: &AppState,
    headers: &HeaderMap,
    forced: bool,
    req: &str,
    next: &str,
    refusal: Refusal,
) -> AppResult<Response> {
    let (token, cookie) = csrf::token(state, headers);
    let status = if refusal.error.is_some() || !refusal.errors.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = PasswordPage {
        csrf: &token,
        forced,
        req,
        next,
        error: refusal.error,
        errors: refusal.errors,
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
    render(&state, &headers, forced, &q.req, next, Refusal::default())
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
    match result {
        Ok(()) => changed(forced, req, next),
        Err(e) => render(&state, &headers, forced, req, next, Refusal::of(e)?),
    }
}

/// After a change: on to where a login was going, or a page saying so.
fn changed(forced: bool, req: &str, next: &str) -> AppResult<Response> {
    if forced || !req.is_empty() || !next.is_empty() {
        let target = super::login::continue_path(req, next);
        return Ok(Redirect::to(&target).into_response());
    }
    super::recover::done(
        "密码已修改",
        "您的密码已修改，其他设备上的登录已退出。",
        true,
    )
}
