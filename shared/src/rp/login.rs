//! The authorization code flow: sending the browser to the IdP, and the callback that turns the
//! code into a verified identity and a local session.

use axum::{
    http::{header, HeaderMap},
    response::{IntoResponse, Redirect, Response},
};
use openidconnect::{
    core::{CoreAuthenticationFlow, CoreJsonWebKey, CoreJsonWebKeySet},
    AccessToken, AccessTokenHash, AuthorizationCode, ClaimsVerificationError, CsrfToken,
    IdTokenVerifier, Nonce, NonceVerifier, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, Scope, SignatureVerificationError, TokenResponse,
};
use serde::Deserialize;

use super::{
    constant_time_eq, cookies,
    provider::TongyiIdToken,
    random_token,
    session::{PendingLogin, RpSession, Tokens},
    Refusal, Rp, RpError,
};
use crate::claims::TongyiClaims;

/// How long a user may take at the IdP before the callback is refused.
const PENDING_TTL: i64 = 600;

/// The query of `/auth/login`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LoginQuery {
    /// A local path to return to after login.
    pub return_to: Option<String>,
}

/// The query the IdP sends back to `/auth/callback` (RFC 6749 §4.1.2, RFC 9207).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// Only a path on this app: anything else would make login an open redirector.
fn local_path(candidate: Option<&str>) -> String {
    match candidate {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && p.len() <= 512
                && p.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Redirects the browser to the IdP's authorization endpoint.
pub(crate) async fn start(
    rp: &Rp,
    headers: &HeaderMap,
    q: LoginQuery,
) -> Result<Response, RpError> {
    let inner = &rp.inner;
    let return_to = local_path(q.return_to.as_deref());
    if rp.session(headers).await?.is_some() {
        return Ok(Redirect::to(&return_to).into_response());
    }
    let now = rp.now();
    // One binding cookie per browser serves several tabs logging in at once.
    let binding = cookies::get(headers, &inner.cookies.login)
        .filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .unwrap_or_else(random_token);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = inner
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            || CsrfToken::new_random_len(32),
            || Nonce::new_random_len(32),
        )
        .set_pkce_challenge(challenge);
    for scope in &inner.config.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, state, nonce) = request.url();
    let pending = PendingLogin {
        binding: binding.clone(),
        nonce: nonce.into_secret(),
        pkce_verifier: verifier.into_secret(),
        return_to,
        expires_at: now + PENDING_TTL,
    };
    if !inner
        .sessions
        .insert_pending(state.secret(), pending, now)
        .await?
    {
        return Err(RpError::Busy);
    }
    let mut res = Redirect::to(url.as_str()).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        inner
            .cookies
            .set(&inner.cookies.login, &binding, PENDING_TTL),
    );
    Ok(res)
}

/// What a verified ID token tells us.
pub(super) struct Identity {
    pub subject: String,
    pub sid: Option<String>,
    pub name: Option<String>,
    pub login_name: Option<String>,
    pub claims: TongyiClaims,
    pub expires_at: i64,
}

pub(super) enum VerifyFailure {
    /// Signed with a key we have not fetched (yet).
    UnknownKey,
    Invalid(String),
}

/// Handles the IdP's redirect back: checks `state` against this browser, exchanges the code,
/// verifies the ID token and starts a local session.
pub(crate) async fn finish(
    rp: &Rp,
    headers: &HeaderMap,
    q: CallbackQuery,
) -> Result<Response, RpError> {
    let inner = &rp.inner;
    let now = rp.now();
    let state = q.state.as_deref().ok_or(RpError::LoginExpired)?;
    let pending = inner
        .sessions
        .take_pending(state, now)
        .await?
        .ok_or(RpError::LoginExpired)?;
    let binding = cookies::get(headers, &inner.cookies.login).unwrap_or_default();
    if !constant_time_eq(&binding, &pending.binding) {
        // Another browser's state: a login CSRF attempt or a link opened elsewhere.
        return Err(RpError::LoginExpired);
    }
    if q.iss
        .as_deref()
        .is_some_and(|iss| iss != inner.provider.metadata.issuer().as_str())
    {
        // RFC 9207: the response comes from another IdP (mix-up attack).
        return Err(RpError::Callback("iss does not name our OpenID provider"));
    }
    if let Some(error) = q.error {
        let code: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        return Err(RpError::Provider(code));
    }
    let code = q.code.ok_or(RpError::Callback("no authorization code"))?;
    let tokens = inner
        .client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| RpError::Exchange(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
        .request_async(&inner.http)
        .await
        .map_err(|e| RpError::Exchange(e.to_string()))?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| RpError::IdToken("the token response has no ID token".into()))?;
    let nonce = Nonce::new(pending.nonce);
    let identity = verify_with_refetch(rp, id_token, tokens.access_token(), &nonce).await?;
    admit(rp, &identity)?;

    // A login always gets a fresh session id, so a planted cookie cannot be promoted.
    if let Some(old) = cookies::get(headers, &inner.cookies.session) {
        inner.sessions.remove(&old).await?;
    }
    let id = random_token();
    let session = RpSession {
        subject: identity.subject,
        sid: identity.sid,
        name: identity.name,
        login_name: identity.login_name,
        claims: identity.claims,
        csrf: random_token(),
        expires_at: identity.expires_at,
        id_token: id_token.to_string(),
        key: id.clone(),
    };
    let ends_at = inner
        .sessions
        .insert(session, Tokens::from_response(&tokens, nonce, now), now)
        .await?;
    let max_age = (ends_at - now).max(0);
    tracing::info!(client_id = %inner.config.client_id, "login completed");
    let mut res = Redirect::to(&pending.return_to).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        inner.cookies.set(&inner.cookies.session, &id, max_age),
    );
    Ok(res)
}

/// Verifies an ID token from the token endpoint, fetching the JWK Set again once when it names
/// a key we have not seen (the IdP rotated its keys).
pub(super) async fn verify_with_refetch<N: NonceVerifier + Copy>(
    rp: &Rp,
    id_token: &TongyiIdToken,
    access_token: &AccessToken,
    nonce: N,
) -> Result<Identity, RpError> {
    let inner = &rp.inner;
    match verify(rp, inner.provider.jwks(), id_token, nonce, access_token) {
        Err(VerifyFailure::UnknownKey) => {
            inner.provider.refetch_jwks(&inner.http).await;
            verify(rp, inner.provider.jwks(), id_token, nonce, access_token)
        }
        other => other,
    }
    .map_err(|e| match e {
        VerifyFailure::UnknownKey => RpError::IdToken("signed with an unknown key".into()),
        VerifyFailure::Invalid(reason) => RpError::IdToken(reason),
    })
}

/// Refuses an identity without the grant this app requires (SPEC §6), at login and at every
/// refresh.
pub(super) fn admit(rp: &Rp, identity: &Identity) -> Result<(), RpError> {
    if let Some(required) = &rp.inner.config.required_grant {
        let by_role = required
            .admitting_role
            .as_ref()
            .is_some_and(|role| identity.claims.has_role(role));
        if !by_role && !identity.claims.grants_subsystem(&required.code) {
            return Err(RpError::NotGranted(Box::new(Refusal {
                required_grant: required.code.clone(),
                system_name: required.system_name.clone(),
                name: identity.name.clone(),
                login_name: identity.login_name.clone(),
                org_name: identity.claims.org.as_ref().map(|o| o.name.clone()),
            })));
        }
    }
    Ok(())
}

/// Verifies the ID token with `keys` (OIDC Core §3.1.3.7) and its `at_hash` (§3.1.3.8).
fn verify<N: NonceVerifier>(
    rp: &Rp,
    keys: CoreJsonWebKeySet,
    id_token: &TongyiIdToken,
    nonce: N,
    access_token: &AccessToken,
) -> Result<Identity, VerifyFailure> {
    let inner = &rp.inner;
    // A public-client verifier never accepts MAC signatures keyed with our client secret:
    // only the IdP's published asymmetric keys can sign our ID tokens.
    let verifier = IdTokenVerifier::<CoreJsonWebKey>::new_public_client(
        inner.client.client_id().clone(),
        inner.provider.metadata.issuer().clone(),
        keys,
    )
    .set_allowed_algs(inner.provider.id_token_algs.clone())
    // `exp` is checked against the RP's own clock, the one every other expiry here uses.
    .set_time_fn({
        let clock = inner.config.clock.clone();
        move || clock.now_utc()
    });
    let claims = match id_token.claims(&verifier, nonce) {
        Ok(c) => c,
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => return Err(VerifyFailure::UnknownKey),
        Err(e) => return Err(VerifyFailure::Invalid(e.to_string())),
    };
    if let Some(expected) = claims.access_token_hash() {
        let invalid = |e: &dyn std::fmt::Display| VerifyFailure::Invalid(format!("at_hash: {e}"));
        let alg = id_token.signing_alg().map_err(|e| invalid(&e))?;
        let key = id_token.signing_key(&verifier).map_err(|e| invalid(&e))?;
        let actual =
            AccessTokenHash::from_token(access_token, alg, key).map_err(|e| invalid(&e))?;
        if actual != *expected {
            return Err(VerifyFailure::Invalid(
                "at_hash does not match the access token".into(),
            ));
        }
    }
    let extra = claims.additional_claims();
    Ok(Identity {
        subject: claims.subject().as_str().to_owned(),
        sid: extra.sid.clone(),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned()),
        login_name: claims.preferred_username().map(|u| u.as_str().to_owned()),
        claims: extra.tongyi.clone(),
        expires_at: claims.expiration().timestamp(),
    })
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn return_to_stays_on_this_app() {
        assert_eq!(local_path(Some("/decl?id=1")), "/decl?id=1");
        for bad in [
            "https://evil.test/",
            "//evil.test/",
            "/\\evil.test",
            "evil",
            "/a b",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_path(None), "/");
    }
}
