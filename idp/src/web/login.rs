//! The password login page. On success it starts a login session and sends the browser back
//! to the authorization request it came from.

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
    accounts::login::{password_login, LoginFailure},
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
    login_name: &'a str,
    client_name: Option<String>,
    error: Option<&'a str>,
}

pub fn redirect_to_login(request_id: &str) -> Response {
    Redirect::to(&format!("/login?req={request_id}")).into_response()
}

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    req: String,
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
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> AppResult<Response> {
    let (token, cookie) = csrf::token(&state, &headers);
    let hint = if q.req.is_empty() {
        None
    } else {
        Some(load_pending(&state, &q.req).await?)
    };
    let page = LoginPage {
        csrf: &token,
        req: &q.req,
        login_name: hint
            .as_ref()
            .and_then(|p| p.login_hint.as_deref())
            .unwrap_or(""),
        client_name: client_name(&state, &q.req).await,
        error: None,
    };
    Ok(pages::with_cookie(
        pages::render(StatusCode::OK, &page)?,
        cookie,
    ))
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
    let login_name = form.get("login_name").unwrap_or("").trim();
    let password = form.get("password").unwrap_or("");
    let (state_ref, headers_ref) = (&state, &headers);
    let failure = |message: &'static str| async move {
        let (token, cookie) = csrf::token(state_ref, headers_ref);
        let page = LoginPage {
            csrf: &token,
            req,
            login_name,
            client_name: client_name(state_ref, req).await,
            error: Some(message),
        };
        Ok::<_, crate::error::AppError>(pages::with_cookie(
            pages::render(StatusCode::OK, &page)?,
            cookie,
        ))
    };
    if login_name.is_empty() || password.is_empty() {
        return failure("请输入账号和密码。").await;
    }
    let account = match password_login(&state, login_name, password, peer.ip()).await {
        Ok(a) => a,
        Err(LoginFailure::Invalid) => return failure("账号或密码错误。").await,
        Err(LoginFailure::Locked) => {
            return failure("登录失败次数过多，请稍后再试。").await;
        }
        Err(LoginFailure::Internal(e)) => return Err(e),
    };
    tracing::info!(account_id = %account.id, "password login");
    // Every login hands out a new cookie value (no fixation). The same account keeps its
    // session and sid; another account's session is ended everywhere first.
    let amr = vec!["pwd".to_owned()];
    let cookie_value = match session::current(&state, &headers).await? {
        Some(old) if old.session.account_id == account.id => {
            session::renew(&state, old, amr).await?
        }
        Some(old) => {
            logout::end(&state, &old).await?;
            session::create(&state, &account.id, amr).await?.0
        }
        None => session::create(&state, &account.id, amr).await?.0,
    };
    let target = if req.is_empty() {
        "/".to_owned()
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
