//! The token endpoint's grants as services: redeeming an authorization code (single use,
//! PKCE, replay revokes what it issued), rotating a refresh token (families, reuse detection)
//! and client credentials. The endpoint parses the request, authenticates the client, calls
//! one function here and renders the [`TokenResponse`] or the [`GrantError`].

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    claims,
    client::{Client, GrantType},
    issue::{self, TokenResponse, UserGrant},
    resource::{self, ResourceError},
    scope,
};
use crate::{
    crypto,
    failure::Failure,
    services::Services,
    store::{self, refresh::RefreshToken},
};

/// Why a grant was refused (RFC 6749 §5.2), or a failure of ours.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// `invalid_grant` with this description.
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    /// `invalid_scope` with this description.
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// `invalid_target` (RFC 8707 §2) with this description.
    #[error("invalid_target: {0}")]
    InvalidTarget(String),
    /// `invalid_dpop_proof`: the refresh token is bound to a DPoP key the request did not
    /// prove (RFC 9449 §5).
    #[error("invalid_dpop_proof: {0}")]
    DpopKey(&'static str),
    #[error(transparent)]
    Failure(Failure),
}

impl<E: Into<Failure>> From<E> for GrantError {
    fn from(e: E) -> Self {
        GrantError::Failure(e.into())
    }
}

impl From<ResourceError> for GrantError {
    fn from(e: ResourceError) -> Self {
        match e {
            ResourceError::Target(t) => GrantError::InvalidTarget(t.to_string()),
            ResourceError::Failure(f) => GrantError::Failure(f),
        }
    }
}

fn invalid_grant(description: &'static str) -> GrantError {
    GrantError::InvalidGrant(description)
}

fn internal(e: impl std::fmt::Display) -> GrantError {
    GrantError::Failure(Failure::internal(e))
}

/// What an authorization code stands for, kept under the code's digest until redeemed.
#[derive(Debug, Serialize, Deserialize)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub account_id: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub sid: String,
    pub expires_at: i64,
    /// The resources (RFC 8707) the authorization request asked for.
    #[serde(default)]
    pub resources: Vec<String>,
    /// RFC 9449 §10: the authorization request's `dpop_jkt`; the code is redeemed only with
    /// a proof of that key.
    #[serde(default)]
    pub dpop_jkt: Option<String>,
}

pub fn code_key(code: &str) -> String {
    format!("code:{}", crypto::sha256_hex(code.as_bytes()))
}

pub fn used_code_key(code: &str) -> String {
    format!("code_used:{}", crypto::sha256_hex(code.as_bytes()))
}

/// What an authorization_code request presents besides the client.
pub struct CodeRedemption<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
    /// The `resource` values of the token request, checked in form (RFC 8707).
    pub resources: Vec<String>,
    /// The key of the request's valid DPoP proof, if it carried one.
    pub dpop_jkt: Option<&'a str>,
}

/// What a redeemed code left behind, so that a replay can revoke what it issued.
#[derive(Serialize, Deserialize)]
struct UsedCode {
    family_id: Option<String>,
    access_jti: String,
    access_exp: i64,
}

/// Redeems an authorization code for `client` (already authenticated): the code is taken
/// from the store (single use), its binding to the client, redirect URI and PKCE challenge
/// checked, and the tokens minted. A code presented twice revokes what it issued.
pub async fn redeem_code(
    state: &Services,
    client: &Client,
    req: &CodeRedemption<'_>,
) -> Result<TokenResponse, GrantError> {
    let code = req.code;
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
    if req.redirect_uri != Some(grant.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&grant.code_challenge, req.code_verifier) {
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
    let resources =
        resource::narrow(&grant.resources, req.resources.clone()).map_err(ResourceError::from)?;
    if let Some(bound) = &grant.dpop_jkt {
        if !req
            .dpop_jkt
            .is_some_and(|jkt| crypto::constant_time_eq(jkt.as_bytes(), bound.as_bytes()))
        {
            return Err(GrantError::DpopKey(
                "the code is bound to another DPoP key (dpop_jkt)",
            ));
        }
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
        resources: &resources,
        dpop_jkt: req.dpop_jkt,
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
                    resources: grant.resources.clone(),
                    dpop_jkt: bind_refresh(client, req.dpop_jkt),
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
        token_type: issue::token_type(req.dpop_jkt),
        expires_in: state.config.tokens.access_ttl_secs,
        refresh_token,
        id_token: minted.id_token,
        scope: grant.scope,
    })
}

/// The key a new refresh token is bound to: a public client's proof key (RFC 9449 §5). A
/// confidential client's refresh token stays unbound, since its own authentication already
/// ties the token to it; its access tokens are bound to each request's proof instead.
fn bind_refresh(client: &Client, dpop_jkt: Option<&str>) -> Option<String> {
    client
        .is_public()
        .then(|| dpop_jkt.map(str::to_owned))
        .flatten()
}

fn family_id_of(used: &UsedCode) -> String {
    used.family_id.clone().unwrap_or_default()
}

async fn revoke_issued(state: &Services, used: UsedCode) -> Result<(), Failure> {
    issue::deny_access_token(state, &used.access_jti, used.access_exp).await?;
    if let Some(family) = used.family_id {
        let now = state.clock.now();
        for (jti, exp) in store::refresh::revoke_family(&state.db, &family, now).await? {
            issue::deny_access_token(state, &jti, exp).await?;
        }
    }
    Ok(())
}

/// Rotates the refresh token `presented` by `client`: the old token is marked used in the
/// transaction that inserts its successor, a token presented twice revokes its family, and
/// `scope` (when sent) may only narrow what was granted.
pub async fn rotate_refresh(
    state: &Services,
    client: &Client,
    presented: &str,
    requested_scope: Option<&str>,
    requested_resources: Vec<String>,
    dpop_jkt: Option<&str>,
) -> Result<TokenResponse, GrantError> {
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
    // Before the reuse check: a stolen bound token is of no use without the key, and must not
    // let its holder revoke the family either.
    if let Some(bound) = &old.dpop_jkt {
        match dpop_jkt {
            None => {
                return Err(GrantError::DpopKey(
                    "the refresh token is DPoP-bound; send a proof",
                ))
            }
            Some(jkt) if !crypto::constant_time_eq(jkt.as_bytes(), bound.as_bytes()) => {
                return Err(GrantError::DpopKey(
                    "the proof is not signed by the key the refresh token is bound to",
                ))
            }
            Some(_) => {}
        }
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
    // RFC 6749 §6: the access token may carry less than was granted, but the next refresh
    // token keeps the scope of the one presented, so a narrowed refresh cannot lose the rest.
    let scope = scope::narrow(&old.scope, requested_scope).map_err(|extra| {
        GrantError::InvalidScope(format!("scope {extra} was not granted originally"))
    })?;
    // Likewise the resources: each access token may be for fewer, the family keeps them all.
    let resources =
        resource::narrow(&old.resources, requested_resources).map_err(ResourceError::from)?;
    let snapshot = state.claims.snapshot(&state.db, &old.account_id).await?;
    let Some(snapshot) = snapshot.filter(|s| s.account.is_active()) else {
        revoke_family(state, &old.family_id, now).await?;
        return Err(invalid_grant("the account is not active"));
    };
    let account = &snapshot.account;
    let user_claims = claims::for_snapshot(&snapshot, &scope);
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
        resources: &resources,
        dpop_jkt,
    };
    let minted = issue::for_user(state, &g, issue::new_jti()).map_err(internal)?;
    let token = crypto::random_token(32);
    let next = RefreshToken {
        token_hash: crypto::sha256_hex(token.as_bytes()),
        family_id: old.family_id.clone(),
        client_id: client.client_id.clone(),
        account_id: account.id.clone(),
        scope: old.scope.clone(),
        sid: old.sid.clone(),
        auth_time: old.auth_time,
        amr: old.amr.clone(),
        issued_at: now,
        expires_at: now + state.config.tokens.refresh_ttl_secs,
        used_at: None,
        revoked_at: None,
        access_jti: minted.access_jti.clone(),
        access_exp: minted.access_exp,
        resources: old.resources.clone(),
        dpop_jkt: old
            .dpop_jkt
            .clone()
            .or_else(|| bind_refresh(client, dpop_jkt)),
    };
    if !store::refresh::rotate(&state.db, &hash, &next, now).await? {
        // Another request redeemed this token between our read and our write: a reuse.
        revoke_family(state, &old.family_id, now).await?;
        return Err(invalid_grant("the refresh token was already used"));
    }
    Ok(TokenResponse {
        access_token: minted.access_token,
        token_type: issue::token_type(dpop_jkt),
        expires_in: state.config.tokens.access_ttl_secs,
        refresh_token: Some(token),
        id_token: minted.id_token,
        scope,
    })
}

/// Revokes every refresh token of `family_id` and denies the access tokens issued with them.
pub async fn revoke_family(state: &Services, family_id: &str, now: i64) -> Result<(), Failure> {
    for (jti, exp) in store::refresh::revoke_family(&state.db, family_id, now).await? {
        issue::deny_access_token(state, &jti, exp).await?;
    }
    Ok(())
}

/// An access token for `client` itself; `scope` (when sent) must be among the client's
/// allowed scopes, and never `openid` (there is no user). The resources asked for must be
/// registered resource servers.
pub async fn client_credentials(
    state: &Services,
    client: &Client,
    requested_scope: Option<&str>,
    resources: &[String],
    dpop_jkt: Option<&str>,
) -> Result<TokenResponse, GrantError> {
    let scope = match requested_scope {
        None => String::new(),
        Some(requested) => {
            for s in requested.split(' ').filter(|s| !s.is_empty()) {
                if s == "openid" || !client.allowed_scopes.iter().any(|a| a == s) {
                    return Err(GrantError::InvalidScope(format!(
                        "scope {s} is not allowed for this client"
                    )));
                }
            }
            requested.to_owned()
        }
    };
    if !resources.is_empty() {
        resource::check_registered(state, resources).await?;
    }
    let (access_token, _, _) = issue::access_token(
        state,
        client,
        &client.client_id,
        &scope,
        None,
        issue::Target {
            resources,
            dpop_jkt,
        },
        issue::new_jti(),
    )
    .map_err(internal)?;
    Ok(TokenResponse {
        access_token,
        token_type: issue::token_type(dpop_jkt),
        expires_in: state.config.tokens.access_ttl_secs,
        refresh_token: None,
        id_token: None,
        scope,
    })
}

/// The stored refresh token `token` (found by its hash), in whatever state: revocation and
/// introspection decide what its state means.
pub async fn find_refresh(state: &Services, token: &str) -> Result<Option<RefreshToken>, Failure> {
    let hash = crypto::sha256_hex(token.as_bytes());
    Ok(store::refresh::find(&state.db, &hash).await?)
}
