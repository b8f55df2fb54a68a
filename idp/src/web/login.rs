//! The password login page. On success it starts a login session and sends the browser back
//! to the authorization request it came from. After a few failed logins for the account or
//! from the address, the form carries an image captcha, checked before any password work.

use std::net::SocketAddr;

use askama::Template;
use axum::{
    extract::{ConnectInfo, Query, RawForm, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{cookies, csrf, pages};
use crate::{
    accounts::{
        captcha,
        login::{password_login, LoginFailure},
    },
    error::AppResult,
    oidc::{
        authorize::{load_pending, save_pending},
        form::Params,
        logout, session,
    },
    state::AppState,
};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    req: &'a str,
    /// A local page to return to after a login that no authorization request started.
    next: &'a str,
    login_name: &'a str,
    client_name: Option<String>,
    error: Option<&'a str>,
    /// The captcha challenge the form carries, when one is required.
    captcha_id: Option<String>,
    captcha_error: Option<&'a str>,
}

const MISSING_FIELDS: &str = "请输入账号和密码。";
const INVALID: &str = "账号或密码错误。";
const LOCKED: &str = "登录失败次数过多，请稍后再试。";
const CAPTCHA_WRONG: &str = "图形验证码错误，请重新输入。";

/// What the form shows besides its fields.
#[derive(Default)]
struct Notice {
    error: Option<&'static str>,
    captcha_error: Option<&'static str>,
    /// Show a fresh captcha.
    captcha: bool,
}

/// Renders the form; every rendering that shows a captcha creates a new challenge.
async fn render_form(
    state: &AppState,
    headers: &HeaderMap,
    req: &str,
    next: &str,
    login_name: &str,
    notice: Notice,
) -> AppResult<Response> {
    let (token, cookie) = csrf::token(state, headers);
    let captcha_id = if notice.captcha {
        Some(captcha::issue(&state.store).await?)
    } else {
        None
    };
    let page = LoginPage {
        csrf: &token,
        req,
        next,
        login_name,
        client_name: client_name(state, req).await,
        error: notice.error,
        captcha_id,
        captcha_error: notice.captcha_error,
    };
    Ok(pages::with_cookie(
        pages::render(StatusCode::OK, &page)?,
        cookie,
    ))
}

/// The login name as the failure counters know it; `None` when nothing was typed.
fn named(login_name: &str) -> Option<&str> {
    Some(login_name).filter(|n| !n.is_empty())
}

pub fn redirect_to_login(request_id: &str) -> Response {
    Redirect::to(&format!("/login?req={request_id}")).into_response()
}

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    req: String,
    #[serde(default)]
    next: String,
    /// `1` from the "换一张" link: show a new captcha even when the address alone would not
    /// call for one (the account typed before is not known to a plain reload).
    #[serde(default)]
    captcha: String,
}

async fn client_name(state: &AppState, req: &str) -> Option<String> {
    if req.is_empty() {
        return None;
    }
    let pending = load_pending(state, req).await.ok()?;
    state
        .client(&pending.client_id)
        .await
        .ok()
        .flatten()
        .map(|c| c.name.clone())
}

pub async fn login_page(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> AppResult<Response> {
    let hint = if q.req.is_empty() {
        None
    } else {
        Some(load_pending(&state, &q.req).await?)
    };
    let login_name = hint
        .as_ref()
        .and_then(|p| p.login_hint.as_deref())
        .unwrap_or("");
    let notice = Notice {
        captcha: q.captcha == "1"
            || captcha::required_for_login(&state, named(login_name), peer.ip()).await?,
        ..Notice::default()
    };
    let next = super::auth::local_path(&q.next).unwrap_or("");
    render_form(&state, &headers, &q.req, next, login_name, notice).await
}

pub async fn login_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    // A form with repeated fields is treated as empty: it then fails the CSRF check.
    let form = Params::parse(&body).unwrap_or_else(|_| Params::empty());
    csrf::check(&state, &headers, form.get("csrf"))?;
    let req = form.get("req").unwrap_or("");
    let next = super::auth::local_path(form.get("next").unwrap_or("")).unwrap_or("");
    let login_name = form.get("login_name").unwrap_or("").trim();
    let password = form.get("password").unwrap_or("");
    let ip = peer.ip();
    // After a failure the form asks for a captcha if the counts now call for one.
    let (state_ref, headers_ref) = (&state, &headers);
    let failure = |message: &'static str| async move {
        let notice = Notice {
            error: Some(message),
            captcha: captcha::required_for_login(state_ref, named(login_name), ip).await?,
            ..Notice::default()
        };
        render_form(state_ref, headers_ref, req, next, login_name, notice).await
    };
    if login_name.is_empty() || password.is_empty() {
        return failure(MISSING_FIELDS).await;
    }
    // The captcha comes before the password check: a wrong or missing answer costs no argon2
    // work and does not count as a failed password. Checking uses the challenge up.
    if captcha::required_for_login(&state, Some(login_name), ip).await? {
        let answered = captcha::verify(
            &state.store,
            form.get("captcha_id").unwrap_or(""),
            form.get("captcha").unwrap_or(""),
        )
        .await?;
        if !answered {
            let notice = Notice {
                captcha_error: Some(CAPTCHA_WRONG),
                captcha: true,
                ..Notice::default()
            };
            return render_form(&state, &headers, req, next, login_name, notice).await;
        }
    }
    let account = match password_login(&state, login_name, password, ip).await {
        Ok(a) => a,
        Err(LoginFailure::Invalid) => return failure(INVALID).await,
        Err(LoginFailure::Locked) => return failure(LOCKED).await,
        Err(LoginFailure::Internal(e)) => return Err(e),
    };
    tracing::info!(account_id = %account.id, "password login");
    // Every login hands out a new cookie value (no fixation). The same account keeps its
    // session and sid; another account's session is ended everywhere first.
    let amr = vec!["pwd".to_owned()];
    let meta = session::ClientMeta::from_request(ip, &headers);
    let cookie_value = match session::current(&state, &headers).await? {
        Some(old) if old.session.account_id == account.id => {
            session::renew(&state, old, amr).await?
        }
        Some(old) => {
            logout::end(&state, &old).await?;
            session::create(&state, &account.id, amr, &meta).await?.0
        }
        None => session::create(&state, &account.id, amr, &meta).await?.0,
    };
    let target = if req.is_empty() {
        if next.is_empty() { "/" } else { next }.to_owned()
    } else {
        let mut pending = load_pending(&state, req).await?;
        pending.login_done = true;
        save_pending(&state, req, &pending).await?;
        format!("/authorize/resume?req={req}")
    };
    let mut res = Redirect::to(&target).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            &state.config,
            &cookies::session_name(&state.config),
            &cookie_value,
            "Lax",
            None,
        ),
    );
    Ok(res)
}
