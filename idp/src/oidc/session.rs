//! Login sessions at the IdP: what makes single sign-on work. The browser holds a random
//! cookie; the short-lived store holds the session under the cookie's digest, plus an index
//! from the session id (`sid`, the value RPs see) back to it for logout.

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::{
    crypto,
    error::AppError,
    state::AppState,
    store::{self, sessions::SessionRecord},
    web::cookies,
};

/// Where a session was started from, as the account console shows it.
#[derive(Clone, Debug, Default)]
pub struct ClientMeta {
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
}

impl ClientMeta {
    pub fn from_request(ip: std::net::IpAddr, headers: &HeaderMap) -> ClientMeta {
        let user_agent = headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(200).collect());
        ClientMeta {
            ip: Some(ip),
            user_agent,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoginSession {
    /// Session id shared with relying parties in ID and logout tokens.
    pub sid: String,
    pub account_id: String,
    pub auth_time: i64,
    pub amr: Vec<String>,
    /// Clients that received a code in this session; each gets a back-channel logout.
    pub clients: Vec<String>,
    pub expires_at: i64,
}

/// A session found through the request's cookie.
pub struct CurrentSession {
    pub key: String,
    pub session: LoginSession,
}

fn store_key(cookie_digest: &str) -> String {
    format!("sess:{cookie_digest}")
}

fn sid_key(sid: &str) -> String {
    format!("sid:{sid}")
}

/// Starts a session and returns the cookie value to set.
pub async fn create(
    state: &AppState,
    account_id: &str,
    amr: Vec<String>,
    meta: &ClientMeta,
) -> Result<(String, LoginSession), AppError> {
    let now = state.clock.now();
    let ttl = state.config.tokens.session_ttl_secs;
    let cookie = crypto::random_token(32);
    let digest = crypto::sha256_hex(cookie.as_bytes());
    let session = LoginSession {
        sid: crypto::random_token(16),
        account_id: account_id.to_owned(),
        auth_time: now,
        amr,
        clients: Vec::new(),
        expires_at: now + ttl,
    };
    save(state, &store_key(&digest), &session).await?;
    state
        .store
        .put(&sid_key(&session.sid), &digest, ttl)
        .await?;
    let record = SessionRecord {
        sid: session.sid.clone(),
        account_id: session.account_id.clone(),
        created_at: now,
        expires_at: session.expires_at,
        client_ip: meta.ip.map(|ip| ip.to_string()),
        user_agent: meta.user_agent.clone(),
    };
    store::sessions::record(&state.db, &record).await?;
    Ok((cookie, session))
}

async fn save(state: &AppState, key: &str, session: &LoginSession) -> Result<(), AppError> {
    let json = serde_json::to_string(session).map_err(|e| AppError::Internal(e.to_string()))?;
    let ttl = session.expires_at - state.clock.now();
    state.store.put(key, &json, ttl).await?;
    Ok(())
}

async fn load(state: &AppState, key: &str) -> Result<Option<LoginSession>, AppError> {
    let Some(json) = state.store.get(key).await? else {
        return Ok(None);
    };
    let session: LoginSession =
        serde_json::from_str(&json).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((session.expires_at > state.clock.now()).then_some(session))
}

/// The live session of this browser, if any.
pub async fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<CurrentSession>, AppError> {
    let Some(cookie) = cookies::get(headers, &cookies::session_name(&state.config)) else {
        return Ok(None);
    };
    let key = store_key(&crypto::sha256_hex(cookie.as_bytes()));
    Ok(load(state, &key)
        .await?
        .map(|session| CurrentSession { key, session }))
}

pub async fn find_by_sid(state: &AppState, sid: &str) -> Result<Option<CurrentSession>, AppError> {
    let Some(digest) = state.store.get(&sid_key(sid)).await? else {
        return Ok(None);
    };
    let key = store_key(&digest);
    Ok(load(state, &key)
        .await?
        .map(|session| CurrentSession { key, session }))
}

/// Re-authentication of the same account (e.g. `prompt=login`): the session keeps its `sid`
/// and its clients, so single logout still reaches them, but gets a fresh `auth_time` and a
/// new cookie value (no fixation). Returns the new cookie value.
pub async fn renew(
    state: &AppState,
    current: CurrentSession,
    amr: Vec<String>,
) -> Result<String, AppError> {
    let now = state.clock.now();
    let ttl = state.config.tokens.session_ttl_secs;
    let cookie = crypto::random_token(32);
    let digest = crypto::sha256_hex(cookie.as_bytes());
    let session = LoginSession {
        auth_time: now,
        amr,
        expires_at: now + ttl,
        ..current.session
    };
    save(state, &store_key(&digest), &session).await?;
    state
        .store
        .put(&sid_key(&session.sid), &digest, ttl)
        .await?;
    state.store.delete(&current.key).await?;
    store::sessions::extend(&state.db, &session.sid, session.expires_at).await?;
    Ok(cookie)
}

/// Records that `client_id` took part in the session.
pub async fn add_client(
    state: &AppState,
    current: &mut CurrentSession,
    client_id: &str,
) -> Result<(), AppError> {
    if current.session.clients.iter().any(|c| c == client_id) {
        return Ok(());
    }
    current.session.clients.push(client_id.to_owned());
    save(state, &current.key, &current.session).await
}

/// Forgets that `clients` took part in the session (their part of it was ended by
/// back-channel logout), so that a later logout does not reach them again.
pub async fn remove_clients(
    state: &AppState,
    current: &mut CurrentSession,
    clients: &[String],
) -> Result<(), AppError> {
    current.session.clients.retain(|c| !clients.contains(c));
    save(state, &current.key, &current.session).await
}

pub async fn end(state: &AppState, current: &CurrentSession) -> Result<(), AppError> {
    state.store.delete(&current.key).await?;
    state.store.delete(&sid_key(&current.session.sid)).await?;
    store::sessions::remove(&state.db, &current.session.sid).await?;
    Ok(())
}
