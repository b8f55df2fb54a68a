//! The consent page for clients that are not first-party.

use askama::Template;
use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};

use super::extract::{CsrfForm, FormFields};
use super::{csrf, pages};
use crate::{
    error::{AppError, AppResult},
    oidc::{
        authorize::{
            error_redirect, load_pending, pending_key, proceed, save_pending, PendingAuthorization,
        },
        client::Client,
        consent, session,
    },
    state::AppState,
};

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    csrf: &'a str,
    req: &'a str,
    client_name: &'a str,
    scopes: Vec<&'static str>,
}

/// What each scope releases, in the user's words.
fn describe(scope: &str) -> &'static str {
    match scope {
        "openid" => "您的账号标识",
        "profile" => "姓名和登录账号",
        "account" => "账号类型和实名认证状态",
        "org" => "所属单位",
        "grants" => "已获授权的业务系统和角色",
        "email" => "邮箱地址",
        "phone" => "手机号码",
        _ => "其他信息",
    }
}

pub fn consent_page(
    state: &AppState,
    headers: &HeaderMap,
    client: &Client,
    req: &str,
    pending: &PendingAuthorization,
) -> AppResult<Response> {
    let (token, cookie) = csrf::token(state, headers);
    let page = ConsentPage {
        csrf: &token,
        req,
        client_name: &client.name,
        scopes: pending.scopes.iter().map(|s| describe(s)).collect(),
    };
    Ok(pages::with_cookie(
        pages::render(StatusCode::OK, &page)?,
        cookie,
    ))
}

pub async fn consent_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<FormFields>,
) -> AppResult<Response> {
    let req = form.get("req").unwrap_or("");
    let mut pending = load_pending(&state, req).await?;
    let client = state.client(&pending.client_id).await?.ok_or_else(|| {
        AppError::page(StatusCode::BAD_REQUEST, "无效的登录请求", "未注册的应用。")
    })?;
    if form.get("decision") != Some("allow") {
        state.store.delete(&pending_key(req)).await?;
        return Ok(error_redirect(
            &state,
            &pending.redirect_uri,
            pending.state.as_deref(),
            "access_denied",
            "the user denied the request",
        ));
    }
    let Some(current) = session::current(&state, &headers).await? else {
        return proceed(&state, &headers, &client, req, pending).await;
    };
    let account_id = &current.session.account_id;
    consent::grant(&state, account_id, &client.client_id, &pending.scopes).await?;
    pending.consent_done = true;
    save_pending(&state, req, &pending).await?;
    proceed(&state, &headers, &client, req, pending).await
}
