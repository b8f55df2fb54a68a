//! RP-Initiated Logout 1.0: the end-session endpoint. With an `id_token_hint` for the current
//! session the user is logged out at once; otherwise the user confirms first, so that a
//! third-party page cannot log people out. `post_logout_redirect_uri` must be registered
//! exactly for the client the hint (or `client_id`) names.

use std::net::IpAddr;

use axum::{
    extract::{RawForm, RawQuery, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{form::Params, keys::TokenKind, session};
use crate::{
    audit::{self, AuditEntry, AuditEvent},
    error::{AppError, AppResult},
    state::AppState,
    web::{cookies, csrf, extract::ClientAddr, pages},
};

#[derive(Deserialize)]
struct HintClaims {
    iss: String,
    sub: String,
    aud: serde_json::Value,
    sid: Option<String>,
}

/// A validated logout request.
struct LogoutRequest {
    hint: Option<HintClaims>,
    /// The relying party that sent the user here (named or hinted), for the audit log.
    client_id: Option<String>,
    redirect: Option<String>,
    state: Option<String>,
}

fn bad(message: &str) -> AppError {
    AppError::page(StatusCode::BAD_REQUEST, "无法退出登录", message)
}

pub async fn logout_get(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let params =
        Params::parse(query.unwrap_or_default().as_bytes()).map_err(|_| bad("请求参数重复。"))?;
    handle(&state, &headers, params, peer.ip()).await
}

pub async fn logout_post(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let params = Params::parse(&body).map_err(|_| bad("请求参数重复。"))?;
    handle(&state, &headers, params, peer.ip()).await
}

async fn validate(state: &AppState, p: &Params) -> AppResult<LogoutRequest> {
    let hint = p
        .get("id_token_hint")
        .map(|t| hint_claims(state, t))
        .transpose()?;
    let hinted_client = hint.as_ref().and_then(|h| match &h.aud {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(a) => a.first().and_then(|v| v.as_str()).map(str::to_owned),
        _ => None,
    });
    let client_id = match (p.get("client_id"), hinted_client) {
        (Some(a), Some(b)) if a != b => return Err(bad("client_id 与 id_token_hint 不一致。")),
        (Some(a), _) => Some(a.to_owned()),
        (None, b) => b,
    };
    let redirect = match p.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => Some(registered_redirect(state, client_id.as_deref(), uri).await?),
    };
    Ok(LogoutRequest {
        hint,
        client_id,
        redirect,
        state: p.get("state").map(str::to_owned),
    })
}

/// The claims of an `id_token_hint` of ours. An expired ID token is still a fine hint
/// (RP-Initiated Logout §2).
fn hint_claims(state: &AppState, token: &str) -> AppResult<HintClaims> {
    let claims: HintClaims = state
        .keys
        .current()
        .verify(token, TokenKind::Id)
        .map_err(|_| bad("id_token_hint 无效。"))?;
    if claims.iss != state.endpoints.issuer {
        return Err(bad("id_token_hint 不是本平台签发的。"));
    }
    Ok(claims)
}

/// `post_logout_redirect_uri`, registered for the client the request names.
async fn registered_redirect(
    state: &AppState,
    client_id: Option<&str>,
    uri: &str,
) -> AppResult<String> {
    let client_id = client_id
        .ok_or_else(|| bad("指定退出后跳转地址时必须提供 id_token_hint 或 client_id。"))?;
    let client = state
        .client(client_id)
        .await?
        .ok_or_else(|| bad("未注册的应用。"))?;
    if !client.has_post_logout_uri(uri) {
        return Err(bad(
            "退出后跳转地址（post_logout_redirect_uri）未在该应用登记。",
        ));
    }
    Ok(uri.to_owned())
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    p: Params,
    ip: IpAddr,
) -> AppResult<Response> {
    let req = validate(state, &p).await?;
    let current = session::current(state, headers).await?;
    let hinted = match (&req.hint, &current) {
        (Some(h), Some(c)) => {
            h.sid.as_deref() == Some(c.session.sid.as_str()) || h.sub == c.session.account_id
        }
        _ => false,
    };
    if let Some(c) = current {
        if !hinted {
            return pages::logout_confirm(state, headers, &p);
        }
        end_logout(state, &c, req.client_id.as_deref(), ip, "id_token_hint").await?;
    } else if let Some(sid) = req.hint.as_ref().and_then(|h| h.sid.as_deref()) {
        // The browser lost its cookie, but the RP proved the session with its ID token.
        if let Some(c) = session::find_by_sid(state, sid).await? {
            end_logout(state, &c, req.client_id.as_deref(), ip, "id_token_hint_sid").await?;
        }
    }
    Ok(finish(state, req))
}

/// The confirmation form posts back here with the original parameters.
pub async fn logout_confirm(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let p = Params::parse(&body).map_err(|_| bad("请求参数重复。"))?;
    csrf::check(&state, &headers, p.get("csrf"))?;
    let req = validate(&state, &p).await?;
    if let Some(c) = session::current(&state, &headers).await? {
        end_logout(&state, &c, req.client_id.as_deref(), peer.ip(), "confirmed").await?;
    }
    Ok(finish(&state, req))
}

/// Ends the session everywhere (see [`end_session`]) because the user logged out, and records
/// it as `logged_out`. `how` says what proved the user's intent, for the audit log.
async fn end_logout(
    state: &AppState,
    current: &session::CurrentSession,
    client_id: Option<&str>,
    ip: IpAddr,
    how: &'static str,
) -> AppResult<()> {
    end_session(state, current).await?;
    let entry = AuditEntry::new(AuditEvent::LoggedOut)
        .by_subject(&current.session.account_id)
        .client_opt(client_id)
        .ip(ip)
        .detail("sid", current.session.sid.as_str())
        .detail("clients", current.session.clients.clone())
        .detail("via", how);
    audit::record(state, entry).await;
    Ok(())
}

use tongyi_idp_core::oidc::session::end_everywhere as end_session;
/// Ending a session everywhere is a protocol service of the core; `end` and `end_because`
/// keep their paths here for the web layer.
pub use tongyi_idp_core::oidc::session::{end_because, end_replaced as end};

fn finish(state: &AppState, req: LogoutRequest) -> Response {
    let clear = cookies::clear(&state.config, &cookies::session_name(&state.config));
    let mut res = match req.redirect {
        Some(uri) => {
            let mut url = match url::Url::parse(&uri) {
                Ok(u) => u,
                Err(_) => return bad("退出后跳转地址无效。").into_response(),
            };
            if let Some(s) = &req.state {
                url.query_pairs_mut().append_pair("state", s);
            }
            Redirect::to(url.as_str()).into_response()
        }
        None => pages::logged_out(),
    };
    res.headers_mut().append(header::SET_COOKIE, clear);
    res
}
