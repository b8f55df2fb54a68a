//! The token endpoint (RFC 6749 §3.2): authorization_code with PKCE, refresh_token with
//! rotation and reuse detection, client_credentials.

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    authorize::{code_key, used_code_key, CodeGrant},
    claims::{self, has_scope},
    client::{Client, GrantType},
    client_auth,
    form::Params,
    issue::{self, TokenResponse, UserGrant},
};
use crate::{
    crypto,
    error::{AppError, AppResult},
    state::AppState,
    store::{self, refresh::RefreshToken},
};

pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match handle(&state, &headers, &body).await {
        Ok(res) => res,
        Err(e) => e.in_protocol().into_response(),
    }
}

async fn handle(state: &AppState, headers: &HeaderMap, body: &[u8]) -> AppResult<Response> {
    let params = Params::from_body(headers, body)?;
    let client = client_auth::authenticate(state, headers, &params).await?;
    let grant_type = params.require("grant_type")?;
    let grant = GrantType::parse(grant_type).ok_or_else(|| {
        AppError::oauth(
            "unsupported_grant_type",
            format!("{grant_type} is not supported"),
        )
    })?;
    if !client.allows_grant(grant) {
        return Err(AppError::oauth(
            "unauthorized_client",
            format!("the client may not use {grant_type}"),
        ));
    }
    let response = match grant {
        GrantType::AuthorizationCode => authorization_code(state, &client, &params).await?,
        GrantType::RefreshToken => refresh_token(state, &client, &params).await?,
        GrantType::ClientCredentials => client_credentials(state, &client, &params)?,
    };
    Ok(no_store_json(&response))
}

pub fn no_store_json<T: Serialize>(body: &T) -> Response {
    let mut res = Json(body).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

fn invalid_grant(description: &str) -> AppError {
    AppError::oauth("invalid_grant", description)
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::ProtocolInternal(e.to_string())
}

/// What a redeemed code left behind, so that a replay can revoke what it issued.
#[derive(Serialize, Deserialize)]
struct UsedCode {
    family_id: Option<String>,
    access_jti: String,
    access_exp: i64,
}

async fn authorization_code(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> AppResult<TokenResponse> {
    let code = params.require("code")?;
    let now = state.clock.now();
    let Some(json) = state.store.take(&code_key(code)).await? else {
        // RFC 6749 §4.1.2: a code used twice revokes the tokens issued for it.
        if let Some(used) = state.store.take(&used_code_key(code)).await? {
            if let Ok(used) = serde_json::from_str::<UsedCode>(&used) {
                revoke_issued(state, used).await?;
                tracing::warn!(client_id = %client.client_id, "authorization code replayed; its tokens were revoked");
            }
        }
        return Err(invalid_grant(
            "the code is invalid, expired or already used",
        ));
    };
    let grant: CodeGrant = serde_json::from_str(&json).map_err(internal)?;
    // Record what this code will issue before anything else: a replay racing this request
    // must find the marker and revoke it.
    let family_id = client
        .allows_grant(GrantType::RefreshToken)
        .then(|| crypto::random_token(16));
    let access_jti = issue::new_jti();
    let used = UsedCode {
        family_id: family_id.clone(),
        access_jti: access_jti.clone(),
        access_exp: now + state.config.tokens.access_ttl_secs,
    };
    state
        .store
        .put(
            &used_code_key(code),
            &serde_json::to_string(&used).map_err(internal)?,
            state.config.tokens.access_ttl_secs + state.config.tokens.code_ttl_secs,
        )
        .await?;
    if grant.client_id != client.client_id {
        return Err(invalid_grant("the code was issued to another client"));
    }
    if grant.expires_at <= now {
        return Err(invalid_grant("the code has expired"));
    }
    if params.get("redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&grant.code_challenge, params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            let valid_form = (43..=128).contains(&verifier.len())
                && verifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
            let computed = crypto::b64url(&Sha256::digest(verifier.as_bytes()));
            if !valid_form || !crypto::constant_time_eq(computed.as_bytes(), challenge.as_bytes()) {
                return Err(invalid_grant("PKCE verification failed"));
            }
        }
        (Some(_), None) => return Err(invalid_grant("code_verifier is required")),
        // RFC 9700 §4.8.2: a verifier without a challenge signals a downgrade attempt.
        (None, Some(_)) => return Err(invalid_grant("no code_challenge was sent for this code")),
        (None, None) => {}
    }
    let account = store::accounts::find_by_id(&state.db, &grant.account_id)
        .await?
        .filter(|a| a.is_active())
        .ok_or_else(|| invalid_grant("the account is not active"))?;
    let user_claims = claims::for_account(&state.db, &account, &grant.scope).await?;
    let g = UserGrant {
        client,
        account_id: &account.id,
        scope: &grant.scope,
        auth_time: grant.auth_time,
        amr: &grant.amr,
        sid: &grant.sid,
        nonce: grant.nonce.as_deref(),
        claims: &user_claims,
    };
    let minted = issue::for_user(state, &g, access_jti).map_err(internal)?;
    let refresh_token = match family_id {
        Some(family_id) => {
            let token = crypto::random_token(32);
            store::refresh::insert(
                &state.db,
                &RefreshToken {
                    token_hash: crypto::sha256_hex(token.as_bytes()),
                    family_id,
                    client_id: client.client_id.clone(),
                    account_id: account.id.clone(),
                    scope: grant.scope.clone(),
                    sid: grant.sid.clone(),
                    auth_time: grant.auth_time,
                    amr: grant.amr.join(" "),
                    issued_at: now,
                    expires_at: now + state.config.tokens.refresh_ttl_secs,
                    used_at: None,
                    revoked_at: None,
                    access_jti: minted.access_jti.clone(),
                    access_exp: minted.access_exp,
                },
            )
            .await?;
            // A replay that consumed the marker before this row existed could not revoke
            // it; the marker's absence says so, and the family is revoked here instead.
            if !state.store.exists(&used_code_key(code)).await? {
                revoke_family(state, &family_id_of(&used), now).await?;
                return Err(invalid_grant("the code was used twice"));
            }
            Some(token)
        }
        None => None,
    };
    Ok(TokenResponse {
        access_token: minted.access_token,
        token_type: "Bearer",
        expires_in: state.config.tokens.access_ttl_secs,
        refresh_token,
        id_token: minted.id_token,
        scope: grant.scope,
    })
}

fn family_id_of(used: &UsedCode) -> String {
    used.family_id.clone().unwrap_or_default()
}

async fn revoke_issued(state: &AppState, used: UsedCode) -> AppResult<()> {
    issue::deny_access_token(state, &used.access_jti, used.access_exp).await?;
    if let Some(family) = used.family_id {
        let now = state.clock.now();
        for (jti, exp) in store::refresh::revoke_family(&state.db, &family, now).await? {
            issue::deny_access_token(state, &jti, exp).await?;
        }
    }
    Ok(())
}

async fn refresh_token(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> AppResult<TokenResponse> {
    let presented = params.require("refresh_token")?;
    let now = state.clock.now();
    let hash = crypto::sha256_hex(presented.as_bytes());
    let old = store::refresh::find(&state.db, &hash)
        .await?
        .ok_or_else(|| invalid_grant("the refresh token is invalid"))?;
    if old.client_id != client.client_id {
        return Err(invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if old.revoked_at.is_some() {
        return Err(invalid_grant("the refresh token has been revoked"));
    }
    if old.used_at.is_some() {
        revoke_family(state, &old.family_id, now).await?;
        tracing::warn!(client_id = %client.client_id, "refresh token reused; its family was revoked");
        return Err(invalid_grant("the refresh token was already used"));
    }
    if old.expires_at <= now {
        return Err(invalid_grant("the refresh token has expired"));
    }
    let scope = match params.get("scope") {
        None => old.scope.clone(),
        Some(requested) => {
            if let Some(extra) = requested
                .split(' ')
                .find(|s| !s.is_empty() && !has_scope(&old.scope, s))
            {
                return Err(AppError::oauth(
                    "invalid_scope",
                    format!("scope {extra} was not granted originally"),
                ));
            }
            requested.to_owned()
        }
    };
    let account = store::accounts::find_by_id(&state.db, &old.account_id)
        .await?
        .filter(|a| a.is_active());
    let Some(account) = account else {
        revoke_family(state, &old.family_id, now).await?;
        return Err(invalid_grant("the account is not active"));
    };
    let user_claims = claims::for_account(&state.db, &account, &scope).await?;
    let amr: Vec<String> = old
        .amr
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let g = UserGrant {
        client,
        account_id: &account.id,
        scope: &scope,
        auth_time: old.auth_time,
        amr: &amr,
        sid: &old.sid,
        nonce: None,
        claims: &user_claims,
    };
    let minted = issue::for_user(state, &g, issue::new_jti()).map_err(internal)?;
    let token = crypto::random_token(32);
    let next = RefreshToken {
        token_hash: crypto::sha256_hex(token.as_bytes()),
        family_id: old.family_id.clone(),
        client_id: client.client_id.clone(),
        account_id: account.id.clone(),
        scope: scope.clone(),
        sid: old.sid.clone(),
        auth_time: old.auth_time,
        amr: old.amr.clone(),
        issued_at: now,
        expires_at: now + state.config.tokens.refresh_ttl_secs,
        used_at: None,
        revoked_at: None,
        access_jti: minted.access_jti.clone(),
        access_exp: minted.access_exp,
    };
    if !store::refresh::rotate(&state.db, &hash, &next, now).await? {
        // Another request redeemed this token between our read and our write: a reuse.
        revoke_family(state, &old.family_id, now).await?;
        return Err(invalid_grant("the refresh token was already used"));
    }
    Ok(TokenResponse {
        access_token: minted.access_token,
        token_type: "Bearer",
        expires_in: state.config.tokens.access_ttl_secs,
        refresh_token: Some(token),
        id_token: minted.id_token,
        scope,
    })
}

pub async fn revoke_family(state: &AppState, family_id: &str, now: i64) -> AppResult<()> {
    for (jti, exp) in store::refresh::revoke_family(&state.db, family_id, now).await? {
        issue::deny_access_token(state, &jti, exp).await?;
    }
    Ok(())
}

fn client_credentials(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> AppResult<TokenResponse> {
    let scope = match params.get("scope") {
        None => String::new(),
        Some(requested) => {
            for s in requested.split(' ').filter(|s| !s.is_empty()) {
                if s == "openid" || !client.allowed_scopes.iter().any(|a| a == s) {
                    return Err(AppError::oauth(
                        "invalid_scope",
                        format!("scope {s} is not allowed for this client"),
                    ));
                }
            }
            requested.to_owned()
        }
    };
    let (access_token, _, _) = issue::access_token(
        state,
        client,
        &client.client_id,
        &scope,
        None,
        issue::new_jti(),
    )
    .map_err(internal)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.config.tokens.access_ttl_secs,
        refresh_token: None,
        id_token: None,
        scope,
    })
}
