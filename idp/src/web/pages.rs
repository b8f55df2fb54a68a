//! Rendering pages, with the headers every page carries.

use askama::Template;
use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use super::csrf;
use crate::{accounts::actor, error::AppResult, oidc::form::Params, state::AppState};

/// An HTML response that is never cached, never framed and loads nothing from elsewhere.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

pub fn render<T: Template>(status: StatusCode, page: &T) -> AppResult<Response> {
    Ok(html(status, page.render()?))
}

/// Adds a `Set-Cookie` (e.g. a fresh CSRF cookie) to a response.
pub fn with_cookie(mut res: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    match (ErrorPage { title, message }).render() {
        Ok(body) => html(status, body),
        Err(_) => (status, message.to_owned()).into_response(),
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
    logged_in: bool,
}

pub fn logged_out() -> Response {
    let page = MessagePage {
        title: "已退出登录",
        message: "您已退出统一身份认证平台。",
        logged_in: false,
    };
    render(StatusCode::OK, &page).unwrap_or_else(IntoResponse::into_response)
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    display_name: Option<String>,
    admin: bool,
    dev_outbox: bool,
    dev_email_outbox: bool,
}

pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    let user = super::auth::signed_in(&state, &headers).await?;
    let admin = match &user {
        Some(u) => actor::is_platform_admin(&state, &u.account.id).await?,
        None => false,
    };
    render(
        StatusCode::OK,
        &HomePage {
            display_name: user.map(|u| u.account.display_name),
            admin,
            dev_outbox: state.sms.outbox().is_some(),
            dev_email_outbox: state.email.outbox().is_some(),
        },
    )
}

#[derive(Template)]
#[template(path = "logout_confirm.html")]
struct LogoutConfirm<'a> {
    csrf: &'a str,
    params: Vec<(&'static str, String)>,
}

/// Asks the user before logging out on behalf of a request that did not prove the session.
pub fn logout_confirm(state: &AppState, headers: &HeaderMap, p: &Params) -> AppResult<Response> {
    let (token, cookie) = csrf::token(state, headers);
    let params = [
        "id_token_hint",
        "client_id",
        "post_logout_redirect_uri",
        "state",
    ]
    .into_iter()
    .filter_map(|k| p.get(k).map(|v| (k, v.to_owned())))
    .collect();
    let res = render(
        StatusCode::OK,
        &LogoutConfirm {
            csrf: &token,
            params,
        },
    )?;
    Ok(with_cookie(res, cookie))
}

pub async fn stylesheet() -> Response {
    let mut res = include_str!("../../templates/style.css").into_response();
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
