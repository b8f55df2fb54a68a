//! Login sessions at the IdP: what makes single sign-on work. The browser holds a random
//! cookie; the short-lived store holds the session under the cookie's digest, plus an index
//! from the session id (`sid`, the value RPs see) back to it for logout.

use serde::{Deserialize, Serialize};

use super::{backchannel, issue};
use crate::{
    audit::{self, AuditEntry, AuditEvent},
    crypto,
    failure::Failure,
    services::Services,
    store::{self, sessions::SessionRecord},
};

/// Where a session was started from, as the account console shows it.
#[derive(Clone, Debug, Default)]
pub struct ClientMeta {
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
}

impl ClientMeta {
    /// `user_agent` as the request sent it, cut to 200 characters for the console.
    pub fn new(ip: std::net::IpAddr, user_agent: Option<&str>) -> ClientMeta {
        ClientMeta {
            ip: Some(ip),
            user_agent: user_agent.map(|s| s.chars().take(200).collect()),
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
    state: &Services,
    account_id: &str,
    amr: Vec<String>,
    meta: &ClientMeta,
) -> Result<(String, LoginSession), Failure> {
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

async fn save(state: &Services, key: &str, session: &LoginSession) -> Result<(), Failure> {
    let json = serde_json::to_string(session).map_err(Failure::internal)?;
    let ttl = session.expires_at - state.clock.now();
    state.store.put(key, &json, ttl).await?;
    Ok(())
}

async fn load(state: &Services, key: &str) -> Result<Option<LoginSession>, Failure> {
    let Some(json) = state.store.get(key).await? else {
        return Ok(None);
    };
    let session: LoginSession = serde_json::from_str(&json).map_err(Failure::internal)?;
    Ok((session.expires_at > state.clock.now()).then_some(session))
}

/// The live session whose cookie value is `cookie`, if any (the web layer reads the cookie
/// from the request).
pub async fn find_by_cookie(
    state: &Services,
    cookie: &str,
) -> Result<Option<CurrentSession>, Failure> {
    let key = store_key(&crypto::sha256_hex(cookie.as_bytes()));
    Ok(load(state, &key)
        .await?
        .map(|session| CurrentSession { key, session }))
}

pub async fn find_by_sid(state: &Services, sid: &str) -> Result<Option<CurrentSession>, Failure> {
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
    state: &Services,
    current: CurrentSession,
    amr: Vec<String>,
) -> Result<String, Failure> {
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
    state: &Services,
    current: &mut CurrentSession,
    client_id: &str,
) -> Result<(), Failure> {
    if current.session.clients.iter().any(|c| c == client_id) {
        return Ok(());
    }
    current.session.clients.push(client_id.to_owned());
    save(state, &current.key, &current.session).await
}

/// Forgets that `clients` took part in the session (their part of it was ended by
/// back-channel logout), so that a later logout does not reach them again.
pub async fn remove_clients(
    state: &Services,
    current: &mut CurrentSession,
    clients: &[String],
) -> Result<(), Failure> {
    current.session.clients.retain(|c| !clients.contains(c));
    save(state, &current.key, &current.session).await
}

pub async fn end(state: &Services, current: &CurrentSession) -> Result<(), Failure> {
    state.store.delete(&current.key).await?;
    state.store.delete(&sid_key(&current.session.sid)).await?;
    store::sessions::remove(&state.db, &current.session.sid).await?;
    Ok(())
}

/// Ends the session everywhere without a logout by the user (another account logging in in
/// the same browser), and records it as `session_ended`.
pub async fn end_replaced(state: &Services, current: &CurrentSession) -> Result<(), Failure> {
    end_because(state, current, "replaced_by_login").await
}

/// Ends the session everywhere (store, refresh tokens, back-channel logout to each RP) and
/// records it as `session_ended` with `reason` (e.g. `password_changed`, `account_disabled`).
pub async fn end_because(
    state: &Services,
    current: &CurrentSession,
    reason: &'static str,
) -> Result<(), Failure> {
    end_everywhere(state, current).await?;
    let entry = AuditEntry::new(AuditEvent::SessionEnded)
        .subject(&current.session.account_id)
        .detail("sid", current.session.sid.as_str())
        .detail("clients", current.session.clients.clone())
        .detail("reason", reason);
    audit::record(state, entry).await;
    Ok(())
}

/// Ends the session everywhere: the store, the refresh tokens bound to it, and each RP.
pub async fn end_everywhere(state: &Services, current: &CurrentSession) -> Result<(), Failure> {
    end(state, current).await?;
    let now = state.clock.now();
    for (jti, exp) in store::refresh::revoke_session(&state.db, &current.session.sid, now).await? {
        issue::deny_access_token(state, &jti, exp).await?;
    }
    backchannel::notify(state, &current.session).await;
    Ok(())
}
