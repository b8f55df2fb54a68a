//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a login session ends,
//! every client that took part in it and registered a `backchannel_logout_uri` receives a
//! signed logout token naming the session (`sid`) and the user (`sub`).

use serde::Serialize;
use serde_json::json;

use super::{keys::TokenKind, session::LoginSession};
use crate::{crypto, services::Services};

/// How long a logout token is good for; signing keys stay published at least this long.
pub const LOGOUT_TOKEN_TTL_SECS: i64 = 120;

#[derive(Serialize)]
struct LogoutClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
    sub: &'a str,
    sid: &'a str,
    events: serde_json::Value,
}

/// Delivers logout tokens to the session's clients concurrently and waits for all of them
/// (each bounded by the HTTP client's timeout), so the user's next page sees every RP
/// logged out. Failures are logged and do not stop the logout.
pub async fn notify(state: &Services, session: &LoginSession) {
    notify_clients(state, session, &session.clients).await
}

/// Like [`notify`], for only some clients of the session (those of a revoked subsystem
/// grant): the session goes on elsewhere.
pub async fn notify_clients(state: &Services, session: &LoginSession, clients: &[String]) {
    let mut deliveries = tokio::task::JoinSet::new();
    for client_id in clients {
        let client = match state.client(client_id).await {
            Ok(Some(c)) => c,
            _ => continue,
        };
        let Some(uri) = client.backchannel_logout_uri.clone() else {
            continue;
        };
        let now = state.clock.now();
        let claims = LogoutClaims {
            iss: &state.endpoints.issuer,
            aud: &client.client_id,
            iat: now,
            exp: now + LOGOUT_TOKEN_TTL_SECS,
            jti: crypto::random_token(16),
            sub: &session.account_id,
            sid: &session.sid,
            events: json!({ "http://schemas.openid.net/event/backchannel-logout": {} }),
        };
        let token = match state
            .keys
            .current()
            .sign(client.signing_alg, TokenKind::Logout, &claims)
        {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "cannot sign a logout token");
                continue;
            }
        };
        let http = state.http.clone();
        let client_id = client.client_id.clone();
        let metrics = state.metrics.clone();
        deliveries.spawn(async move {
            let res = http
                .post(&uri)
                .form(&[("logout_token", token.as_str())])
                .send()
                .await;
            match res {
                Ok(r) if r.status().is_success() => {
                    tracing::info!(%client_id, "back-channel logout delivered")
                }
                Ok(r) => {
                    metrics.backchannel_failed();
                    tracing::warn!(%client_id, status = %r.status(), "back-channel logout refused")
                }
                Err(e) => {
                    metrics.backchannel_failed();
                    tracing::warn!(%client_id, error = %e, "back-channel logout not delivered")
                }
            }
        });
    }
    while deliveries.join_next().await.is_some() {}
}
