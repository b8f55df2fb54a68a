//! Client authentication at the token, pushed authorization request, introspection and
//! revocation endpoints: HTTP Basic, form-posted secret, `private_key_jwt` (RFC 7523) and
//! `none` for public clients. A client must use the method it registered; anything else is
//! `invalid_client`.

use std::sync::Arc;

use axum::http::{header, HeaderMap};
use base64::{engine::general_purpose::STANDARD, Engine};
use josekit::{
    jwk::{Jwk, JwkSet},
    jws::{EdDSA, JwsVerifier, ES256, PS256, RS256},
};
use serde::Deserialize;

use super::{
    client::{AuthMethod, Client},
    form::Params,
    resource::Audience,
};
use crate::{crypto, error::AppError, state::AppState};

pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest an assertion may live; a longer one would widen the replay window we must track.
const MAX_ASSERTION_LIFETIME: i64 = 600;

pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Arc<Client>, AppError> {
    let one_method_only = || {
        AppError::oauth(
            "invalid_request",
            "use exactly one client authentication method",
        )
    };
    if let Some((id, secret)) = basic_credentials(headers)? {
        if params.get("client_secret").is_some() || params.get("client_assertion").is_some() {
            return Err(one_method_only());
        }
        return basic(state, params, &id, &secret).await;
    }
    if let Some(assertion) = params.get("client_assertion") {
        if params.get("client_assertion_type") != Some(JWT_BEARER_ASSERTION) {
            return Err(AppError::oauth(
                "invalid_request",
                "client_assertion_type must be the JWT bearer type",
            ));
        }
        if params.get("client_secret").is_some() {
            return Err(one_method_only());
        }
        return private_key_jwt(state, params.get("client_id"), assertion).await;
    }
    posted(state, params).await
}

/// `client_secret_basic`.
async fn basic(
    state: &AppState,
    params: &Params,
    id: &str,
    secret: &str,
) -> Result<Arc<Client>, AppError> {
    if params.get("client_id").is_some_and(|p| p != id) {
        return Err(AppError::oauth(
            "invalid_request",
            "client_id does not match the Authorization header",
        ));
    }
    let client = known(state, id, true).await?;
    if client.auth_method != AuthMethod::ClientSecretBasic || !client.secret_matches(secret) {
        return Err(AppError::invalid_client(
            "client authentication failed",
            true,
        ));
    }
    Ok(client)
}

/// `client_secret_post`, or `none` for a public client that names itself.
async fn posted(state: &AppState, params: &Params) -> Result<Arc<Client>, AppError> {
    let client_id = params
        .get("client_id")
        .ok_or_else(|| AppError::invalid_client("client authentication is required", false))?;
    let client = known(state, client_id, false).await?;
    let refused = match params.get("client_secret") {
        Some(secret) => (client.auth_method != AuthMethod::ClientSecretPost
            || !client.secret_matches(secret))
        .then_some("client authentication failed"),
        None => (client.auth_method != AuthMethod::None).then_some("this client must authenticate"),
    };
    match refused {
        Some(why) => Err(AppError::invalid_client(why, false)),
        None => Ok(client),
    }
}

async fn known(state: &AppState, client_id: &str, basic: bool) -> Result<Arc<Client>, AppError> {
    state
        .client(client_id)
        .await
        .map_err(|e| AppError::from(e).in_protocol())?
        .ok_or_else(|| AppError::invalid_client("client authentication failed", basic))
}

/// `Authorization: Basic` with the RFC 6749 §2.3.1 form-encoding of id and secret.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or("");
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return Ok(None);
    };
    let bad = || AppError::invalid_client("malformed Basic credentials", true);
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

#[derive(Deserialize)]
struct AssertionHeader {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    /// One audience or several (RFC 7523 §3), read as access tokens' `aud` is.
    aud: Audience,
    exp: i64,
    jti: String,
}

/// A client assertion split into its parts and decoded, not yet verified.
struct Assertion<'a> {
    header: AssertionHeader,
    claims: AssertionClaims,
    /// What the signature covers: `header.payload` as sent.
    signing_input: &'a [u8],
    signature: Vec<u8>,
}

impl<'a> Assertion<'a> {
    fn parse(assertion: &'a str) -> Result<Assertion<'a>, &'static str> {
        let mut parts = assertion.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not a compact JWS");
        };
        let header = crypto::b64url_decode(h)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("bad header")?;
        let claims = crypto::b64url_decode(p)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("bad claims")?;
        let signature = crypto::b64url_decode(s).ok_or("bad signature encoding")?;
        Ok(Assertion {
            header,
            claims,
            signing_input: &assertion.as_bytes()[..h.len() + 1 + p.len()],
            signature,
        })
    }
}

/// `private_key_jwt` (RFC 7523 §3): an assertion signed by one of the client's registered
/// keys, for this server, short-lived and used once.
async fn private_key_jwt(
    state: &AppState,
    client_id_param: Option<&str>,
    assertion: &str,
) -> Result<Arc<Client>, AppError> {
    let fail = |why: &str| AppError::invalid_client(format!("client assertion: {why}"), false);
    let a = Assertion::parse(assertion).map_err(fail)?;
    let claims = &a.claims;
    if claims.iss != claims.sub || client_id_param.is_some_and(|c| c != claims.iss) {
        return Err(fail("iss, sub and client_id must be the client id"));
    }
    let client = known(state, &claims.iss, false).await?;
    if client.auth_method != AuthMethod::PrivateKeyJwt {
        return Err(fail("this client does not use private_key_jwt"));
    }
    let now = state.clock.now();
    for_this_server(state, claims, now).map_err(fail)?;
    verify_signature(&client, &a).map_err(fail)?;
    // RFC 7523 §3: an assertion is single use.
    let key = format!(
        "assertion:{}:{}",
        client.client_id,
        crypto::sha256_hex(claims.jti.as_bytes())
    );
    let first = state
        .store
        .put_if_absent(&key, "1", claims.exp - now + 1)
        .await
        .map_err(|e| AppError::from(e).in_protocol())?;
    if !first {
        return Err(fail("jti already used"));
    }
    Ok(client)
}

/// The assertion names this server and lives at most [`MAX_ASSERTION_LIFETIME`].
fn for_this_server(
    state: &AppState,
    claims: &AssertionClaims,
    now: i64,
) -> Result<(), &'static str> {
    let e = &state.endpoints;
    // RFC 9126 §2: an assertion for the pushed authorization request endpoint may name it.
    let ours = [
        &e.issuer,
        &e.token,
        &e.introspection,
        &e.revocation,
        &e.pushed_authorization_request,
    ];
    if !claims.aud.0.iter().any(|a| ours.iter().any(|o| **o == *a)) {
        return Err("aud must name this server");
    }
    if claims.exp <= now || claims.exp > now + MAX_ASSERTION_LIFETIME {
        return Err("expired or too long-lived");
    }
    Ok(())
}

/// The signature, by the registered key the header names (or the only one).
fn verify_signature(client: &Client, a: &Assertion<'_>) -> Result<(), &'static str> {
    let jwks = client.jwks.as_deref().unwrap_or("{\"keys\":[]}");
    let set = JwkSet::from_bytes(jwks.as_bytes()).map_err(|_| "registered keys unusable")?;
    let jwk: &Jwk = match &a.header.kid {
        Some(kid) => set.get(kid).first().copied(),
        None if set.keys().len() == 1 => set.keys().first().copied(),
        None => None,
    }
    .ok_or("no registered key matches")?;
    let mismatch = |_| "key/alg mismatch";
    let verifier: Box<dyn JwsVerifier> = match a.header.alg.as_str() {
        "RS256" => Box::new(RS256.verifier_from_jwk(jwk).map_err(mismatch)?),
        "PS256" => Box::new(PS256.verifier_from_jwk(jwk).map_err(mismatch)?),
        "ES256" => Box::new(ES256.verifier_from_jwk(jwk).map_err(mismatch)?),
        "EdDSA" => Box::new(EdDSA.verifier_from_jwk(jwk).map_err(mismatch)?),
        _ => return Err("unsupported alg"),
    };
    verifier
        .verify(a.signing_input, &a.signature)
        .map_err(|_| "bad signature")
}
