//! The UserInfo endpoint (OIDC Core §5.3) as an RFC 6750 protected resource: GET or POST with
//! a Bearer access token (header, or form body on POST), or with a DPoP-bound one as
//! `Authorization: DPoP` and a proof of its key (RFC 9449 §7.1).

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use super::{
    claims::{self, has_scope, ContactClaims, UserClaims},
    cors, dpop,
    form::Params,
    issue::{self, AccessClaims},
    keys::TokenKind,
    token::no_store_json,
};
use crate::{
    accounts::actor,
    error::{AppError, AppResult},
    state::AppState,
};

#[derive(Serialize)]
struct UserInfo {
    sub: String,
    #[serde(flatten)]
    claims: UserClaims,
    #[serde(flatten)]
    contact: ContactClaims,
}

/// How the access token came: as a Bearer token (RFC 6750) or with the DPoP scheme (RFC 9449
/// §7.1), which must come with a proof.
enum Presented {
    Bearer(String),
    Dpop(String),
}

impl Presented {
    fn token(&self) -> &str {
        match self {
            Presented::Bearer(t) | Presented::Dpop(t) => t,
        }
    }
}

/// The token of an `Authorization: Bearer` or `Authorization: DPoP` header.
fn presented_in_header(headers: &HeaderMap) -> Option<Presented> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim().to_owned();
    if scheme.eq_ignore_ascii_case("bearer") {
        Some(Presented::Bearer(token))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some(Presented::Dpop(token))
    } else {
        None
    }
}

pub async fn userinfo_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let res = respond(&state, &headers, "GET", presented_in_header(&headers)).await;
    cors::allow(&state, &headers, res).await
}

pub async fn userinfo_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let from_header = presented_in_header(&headers);
    let from_body = Params::parse(&body).ok().and_then(|p| {
        p.get("access_token")
            .map(|t| Presented::Bearer(t.to_owned()))
    });
    let token = match (from_header, from_body) {
        // RFC 6750 §2: a client must not use more than one method per request.
        (Some(_), Some(_)) => {
            let res = AppError::Bearer {
                status: axum::http::StatusCode::BAD_REQUEST,
                error: "invalid_request",
                description: "the token was sent more than once".into(),
            }
            .into_response();
            return cors::allow(&state, &headers, res).await;
        }
        (a, b) => a.or(b),
    };
    let res = respond(&state, &headers, "POST", token).await;
    cors::allow(&state, &headers, res).await
}

/// The token of an `Authorization: Bearer` header.
pub fn bearer_from_header(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

async fn respond(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    token: Option<Presented>,
) -> Response {
    match userinfo(state, headers, method, token).await {
        Ok(res) => dpop::with_nonce(state, res),
        Err(e) => e.into_response(),
    }
}

/// Verifies one of our access tokens: signature, type, issuer, expiry and revocation.
/// `Ok(None)` for a token that is not (or no longer) good; `Err` when the revocation list
/// cannot be read, which is an outage to answer with 503, not a reason to call the token bad.
pub async fn verify_access_token(
    state: &AppState,
    token: &str,
) -> Result<Option<AccessClaims>, AppError> {
    let Ok(claims) = state
        .keys
        .current()
        .verify::<AccessClaims>(token, TokenKind::Access)
    else {
        return Ok(None);
    };
    if claims.iss != state.endpoints.issuer || claims.exp <= state.clock.now() {
        return Ok(None);
    }
    let revoked = issue::is_access_token_revoked(state, &claims.jti).await?;
    Ok((!revoked).then_some(claims))
}

/// RFC 6750 §3.1: no error code when the request carried no token at all; a challenge for each
/// scheme we take (RFC 9449 §7.2).
fn no_token() -> Response {
    let mut res = axum::http::StatusCode::UNAUTHORIZED.into_response();
    let h = res.headers_mut();
    h.insert(
        header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer realm=\"tongyi\""),
    );
    if let Ok(v) =
        axum::http::HeaderValue::from_str(&format!("DPoP algs=\"{}\"", dpop::challenge_algs()))
    {
        h.append(header::WWW_AUTHENTICATE, v);
    }
    res
}

/// The scheme matches the token: a bound token only with the DPoP scheme and a proof of its
/// key (RFC 9449 §7.1), an unbound one only as a Bearer token.
async fn check_binding(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    presented: &Presented,
    claims: &AccessClaims,
) -> AppResult<()> {
    let refused = |description: &str| AppError::Dpop {
        at_resource: true,
        error: "invalid_token",
        description: description.into(),
        nonce: None,
    };
    match (presented, claims.jkt()) {
        (Presented::Bearer(_), None) => Ok(()),
        (Presented::Bearer(_), Some(_)) => Err(refused(
            "the token is DPoP-bound; present it with the DPoP scheme and a proof",
        )),
        (Presented::Dpop(_), None) => Err(refused(
            "the token is not DPoP-bound; present it as a Bearer token",
        )),
        (Presented::Dpop(token), Some(jkt)) => {
            let uri = &state.endpoints.userinfo;
            dpop::resource_request(state, headers, method, uri, token, jkt).await?;
            Ok(())
        }
    }
}

async fn userinfo(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    presented: Option<Presented>,
) -> AppResult<Response> {
    let Some(presented) = presented else {
        return Ok(no_token());
    };
    let claims = verify_access_token(state, presented.token())
        .await
        .map_err(AppError::in_protocol)?
        .ok_or_else(|| {
            AppError::invalid_token("the access token is invalid, expired or revoked")
        })?;
    check_binding(state, headers, method, &presented, &claims).await?;
    if claims.acct != Some(true) {
        return Err(AppError::invalid_token(
            "the token does not belong to a user",
        ));
    }
    if !has_scope(&claims.scope, "openid") {
        return Err(AppError::Bearer {
            status: axum::http::StatusCode::FORBIDDEN,
            error: "insufficient_scope",
            description: "the openid scope is required".into(),
        });
    }
    let snapshot = actor::active_snapshot(state, &claims.sub)
        .await?
        .ok_or_else(|| AppError::invalid_token("the account is not active"))?;
    let user = claims::for_snapshot(&snapshot, &claims.scope);
    let contact = claims::contact_for_account(&state.pii, &snapshot.account, &claims.scope);
    Ok(no_store_json(&UserInfo {
        sub: claims.sub,
        claims: user,
        contact,
    }))
}
