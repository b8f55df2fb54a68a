//! Minting tokens: RFC 9068 access tokens, ID tokens, refresh tokens, and the response body of
//! the token endpoint.

use serde::{Deserialize, Serialize};

use super::{
    claims::UserClaims,
    client::Client,
    dpop::Confirmation,
    keys::{KeyError, TokenKind},
    resource::Audience,
};
use crate::{crypto, services::Services};

/// The claims of our access tokens (RFC 9068 §2.2).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    /// The resource servers asked for (RFC 8707), else the client itself.
    pub aud: Audience,
    pub client_id: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Whether the subject is a user (absent for client_credentials, where sub is the client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acct: Option<bool>,
    /// The key a DPoP-bound token is bound to (RFC 9449 §6.1); absent for a Bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

impl AccessClaims {
    /// The thumbprint the token is bound to, if it is DPoP-bound.
    pub fn jkt(&self) -> Option<&str> {
        self.cnf.as_ref().map(|c| c.jkt.as_str())
    }
}

/// What is signed: the access-token claims plus, for user tokens, the user claims, so that
/// resource servers verifying locally see grants and roles.
#[derive(Serialize)]
struct AccessBody<'a> {
    #[serde(flatten)]
    base: &'a AccessClaims,
    #[serde(flatten)]
    user: Option<&'a UserClaims>,
}

#[derive(Serialize)]
struct IdClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    azp: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    amr: &'a [String],
    at_hash: String,
    sid: &'a str,
    #[serde(flatten)]
    user: &'a UserClaims,
}

/// Everything a user-bound token response is made of.
pub struct UserGrant<'a> {
    pub client: &'a Client,
    pub account_id: &'a str,
    pub scope: &'a str,
    pub auth_time: i64,
    pub amr: &'a [String],
    pub sid: &'a str,
    pub nonce: Option<&'a str>,
    pub claims: &'a UserClaims,
    /// The resources this access token is for (RFC 8707); empty: the client's own audience.
    pub resources: &'a [String],
    /// The DPoP key the access token is bound to, when the request carried a proof.
    pub dpop_jkt: Option<&'a str>,
}

pub struct Minted {
    pub access_token: String,
    pub access_jti: String,
    pub access_exp: i64,
    pub id_token: Option<String>,
}

/// Whom an access token is for and whom it is bound to.
#[derive(Clone, Copy, Default)]
pub struct Target<'a> {
    /// The resources asked for (RFC 8707); empty: the client's own audience.
    pub resources: &'a [String],
    /// The DPoP key of the request's proof (RFC 9449), which the token is bound to.
    pub dpop_jkt: Option<&'a str>,
}

pub fn access_token(
    state: &Services,
    client: &Client,
    sub: &str,
    scope: &str,
    user: Option<&UserGrant<'_>>,
    target: Target<'_>,
    jti: String,
) -> Result<(String, String, i64), KeyError> {
    let Target {
        resources,
        dpop_jkt,
    } = target;
    let now = state.clock.now();
    let exp = now + state.config.tokens.access_ttl_secs;
    let claims = AccessClaims {
        iss: state.endpoints.issuer.clone(),
        sub: sub.to_owned(),
        aud: Audience::of(&client.client_id, resources),
        client_id: client.client_id.clone(),
        exp,
        iat: now,
        jti,
        scope: scope.to_owned(),
        auth_time: user.map(|g| g.auth_time),
        sid: user.map(|g| g.sid.to_owned()),
        acct: user.map(|_| true),
        cnf: dpop_jkt.map(|jkt| Confirmation {
            jkt: jkt.to_owned(),
        }),
    };
    let body = AccessBody {
        base: &claims,
        user: user.map(|g| g.claims),
    };
    let token = state
        .keys
        .current()
        .sign(client.signing_alg, TokenKind::Access, &body)?;
    Ok((token, claims.jti, exp))
}

/// A fresh access-token id; callers that must record it before minting draw it first.
pub fn new_jti() -> String {
    crypto::random_token(16)
}

/// An access token with id `jti` and, when `openid` was granted, an ID token bound to it by
/// `at_hash`.
pub fn for_user(state: &Services, g: &UserGrant<'_>, jti: String) -> Result<Minted, KeyError> {
    let (access_token, access_jti, access_exp) = access_token(
        state,
        g.client,
        g.account_id,
        g.scope,
        Some(g),
        Target {
            resources: g.resources,
            dpop_jkt: g.dpop_jkt,
        },
        jti,
    )?;
    let id_token = if super::claims::has_scope(g.scope, "openid") {
        let now = state.clock.now();
        let claims = IdClaims {
            iss: &state.endpoints.issuer,
            sub: g.account_id,
            aud: &g.client.client_id,
            azp: &g.client.client_id,
            exp: now + state.config.tokens.id_ttl_secs,
            iat: now,
            auth_time: g.auth_time,
            nonce: g.nonce,
            amr: g.amr,
            at_hash: g.client.signing_alg.at_hash(&access_token),
            sid: g.sid,
            user: g.claims,
        };
        Some(
            state
                .keys
                .current()
                .sign(g.client.signing_alg, TokenKind::Id, &claims)?,
        )
    } else {
        None
    };
    Ok(Minted {
        access_token,
        access_jti,
        access_exp,
        id_token,
    })
}

/// `token_type` of a token bound to `dpop_jkt` (RFC 9449 §5: `DPoP`) or of a Bearer token.
pub fn token_type(dpop_jkt: Option<&str>) -> &'static str {
    if dpop_jkt.is_some() {
        "DPoP"
    } else {
        "Bearer"
    }
}

/// The token endpoint's success body (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

/// Marks an access token as revoked until it would have expired anyway.
pub async fn deny_access_token(
    state: &Services,
    jti: &str,
    exp: i64,
) -> Result<(), redis::RedisError> {
    let ttl = exp - state.clock.now() + 1;
    if ttl > 0 {
        state.store.put(&format!("revoked:{jti}"), "1", ttl).await?;
    }
    Ok(())
}

pub async fn is_access_token_revoked(
    state: &Services,
    jti: &str,
) -> Result<bool, redis::RedisError> {
    state.store.exists(&format!("revoked:{jti}")).await
}
