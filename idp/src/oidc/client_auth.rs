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
    if let Some((id, secret)) = basic_credentials(headers)? {
        if params.get("client_secret").is_some() || params.get("client_assertion").is_some() {
            return Err(AppError::oauth(
                "invalid_request",
                "use exactly one client authentication method",
            ));
        }
        if params.get("client_id").is_some_and(|p| p != id) {
            return Err(AppError::oauth(
                "invalid_request",
                "client_id does not match the Authorization header",
            ));
        }
        let client = known(state, &id, true).await?;
        if client.auth_method != AuthMethod::ClientSecretBasic || !client.secret_matches(&secret) {
            return Err(AppError::invalid_client(
                "client authentication failed",
                true,
            ));
        }
        return Ok(client);
    }
    if let Some(assertion) = params.get("client_assertion") {
        if params.get("client_assertion_type") != Some(JWT_BEARER_ASSERTION) {
            return Err(AppError::oauth(
                "invalid_request",
                "client_assertion_type must be the JWT bearer type",
            ));
        }
        if params.get("client_secret").is_some() {
            return Err(AppError::oauth(
                "invalid_request",
                "use exactly one client authentication method",
            ));
        }
        return private_key_jwt(state, params.get("client_id"), assertion).await;
    }
    let client_id = params
        .get("client_id")
        .ok_or_else(|| AppError::invalid_client("client authentication is required", false))?;
    let client = known(state, client_id, false).await?;
    match params.get("client_secret") {
        Some(secret) => {
            if client.auth_method != AuthMethod::ClientSecretPost || !client.secret_matches(secret)
            {
                return Err(AppError::invalid_client(
                    "client authentication failed",
                    false,
                ));
            }
        }
        None => {
            if client.auth_method != AuthMethod::None {
                return Err(AppError::invalid_client(
                    "this client must authenticate",
                    false,
                ));
            }
        }
    }
    Ok(client)
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

async fn private_key_jwt(
    state: &AppState,
    client_id_param: Option<&str>,
    assertion: &str,
) -> Result<Arc<Client>, AppError> {
    let fail = |why: &str| AppError::invalid_client(format!("client assertion: {why}"), false);
    let mut parts = assertion.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(fail("not a compact JWS"));
    };
    let header: AssertionHeader = crypto::b64url_decode(h)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| fail("bad header"))?;
    let claims: AssertionClaims = crypto::b64url_decode(p)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| fail("bad claims"))?;
    if claims.iss != claims.sub || client_id_param.is_some_and(|c| c != claims.iss) {
        return Err(fail("iss, sub and client_id must be the client id"));
    }
    let client = known(state, &claims.iss, false).await?;
    if client.auth_method != AuthMethod::PrivateKeyJwt {
        return Err(fail("this client does not use private_key_jwt"));
    }
    let e = &state.endpoints;
    // RFC 9126 §2: an assertion for the pushed authorization request endpoint may name it.
    if !claims.aud.0.iter().any(|a| {
        *a == e.issuer
            || *a == e.token
            || *a == e.introspection
            || *a == e.revocation
            || *a == e.pushed_authorization_request
    }) {
        return Err(fail("aud must name this server"));
    }
    let now = state.clock.now();
    if claims.exp <= now || claims.exp > now + MAX_ASSERTION_LIFETIME {
        return Err(fail("expired or too long-lived"));
    }
    let jwks = client.jwks.as_deref().unwrap_or("{\"keys\":[]}");
    let set = JwkSet::from_bytes(jwks.as_bytes()).map_err(|_| fail("registered keys unusable"))?;
    let jwk: &Jwk = match &header.kid {
        Some(kid) => set.get(kid).first().copied(),
        None if set.keys().len() == 1 => set.keys().first().copied(),
        None => None,
    }
    .ok_or_else(|| fail("no registered key matches"))?;
    let verifier: Box<dyn JwsVerifier> = match header.alg.as_str() {
        "RS256" => Box::new(
            RS256
                .verifier_from_jwk(jwk)
                .map_err(|_| fail("key/alg mismatch"))?,
        ),
        "PS256" => Box::new(
            PS256
                .verifier_from_jwk(jwk)
                .map_err(|_| fail("key/alg mismatch"))?,
        ),
        "ES256" => Box::new(
            ES256
                .verifier_from_jwk(jwk)
                .map_err(|_| fail("key/alg mismatch"))?,
        ),
        "EdDSA" => Box::new(
            EdDSA
                .verifier_from_jwk(jwk)
                .map_err(|_| fail("key/alg mismatch"))?,
        ),
        _ => return Err(fail("unsupported alg")),
    };
    let sig = crypto::b64url_decode(s).ok_or_else(|| fail("bad signature encoding"))?;
    verifier
        .verify(&assertion.as_bytes()[..h.len() + 1 + p.len()], &sig)
        .map_err(|_| fail("bad signature"))?;
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
