//! The checks of an authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636,
//! RFC 8707, RFC 9126, RFC 9449 §10), from /authorize or pushed to /par, in the two stages of
//! [`authorize`](super::authorize)'s module comment: first the client and its redirect URI,
//! whose problems are never redirected, then everything else, whose problems are.

use std::sync::Arc;

use serde::Deserialize;

use super::{
    authorize::{PendingAuthorization, Source},
    client::{Client, GrantType},
    form::Params,
    keys::TokenKind,
    resource::{self, ResourceError},
    scope,
};
use crate::{accounts::actor, error::AppError, state::AppState};

/// A valid authorization request: its client and what waits in the store while the user logs
/// in and consents.
pub struct Checked {
    pub client: Arc<Client>,
    pub pending: PendingAuthorization,
}

/// Why an authorization request was refused, in the two stages of the module comment.
pub enum Refusal {
    /// The client or its redirect URI is not verified, so nothing may be redirected: a page at
    /// /authorize (`message`), `invalid_request` at /par (`description`).
    Unverified {
        description: &'static str,
        message: &'static str,
    },
    /// An RFC 6749 §4.1.2.1 error: a redirect to the verified URI at /authorize, the same
    /// error code at /par (RFC 9126 §2.3).
    Denied {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
    /// Storage or another failure of ours.
    Failed(AppError),
}

fn unverified(description: &'static str, message: &'static str) -> Refusal {
    Refusal::Unverified {
        description,
        message,
    }
}

fn failed(e: impl Into<AppError>) -> Refusal {
    Refusal::Failed(e.into())
}

/// What stops a request whose redirect URI is verified.
enum Stop {
    /// The error code and description sent back to the client.
    Deny(&'static str, String),
    Fail(AppError),
}

fn deny(error: &'static str, description: impl Into<String>) -> Stop {
    Stop::Deny(error, description.into())
}

/// Checks an authorization request, from /authorize or pushed to /par, and decides what is
/// parked for the login. Nothing is stored here.
pub async fn check(state: &AppState, p: &Params, source: Source) -> Result<Checked, Refusal> {
    let (client, redirect_uri) = verified_client(state, p).await?;
    match pending(state, &client, redirect_uri, p, source).await {
        Ok(pending) => Ok(Checked { client, pending }),
        Err(Stop::Deny(error, description)) => Err(Refusal::Denied {
            redirect_uri: redirect_uri.to_owned(),
            state: p.get("state").map(str::to_owned),
            error,
            description,
        }),
        Err(Stop::Fail(e)) => Err(Refusal::Failed(e)),
    }
}

/// Stage one: a registered client and one of its registered redirect URIs.
async fn verified_client<'p>(
    state: &AppState,
    p: &'p Params,
) -> Result<(Arc<Client>, &'p str), Refusal> {
    let client_id = p
        .get("client_id")
        .ok_or_else(|| unverified("client_id is required", "缺少 client_id 参数。"))?;
    let client = state
        .client(client_id)
        .await
        .map_err(failed)?
        .ok_or_else(|| unverified("unknown client_id", "未注册的应用（client_id 无效）。"))?;
    let redirect_uri = p
        .get("redirect_uri")
        .ok_or_else(|| unverified("redirect_uri is required", "缺少 redirect_uri 参数。"))?;
    if !client.has_redirect_uri(redirect_uri) {
        return Err(unverified(
            "redirect_uri is not registered for this client",
            "回调地址（redirect_uri）未在该应用登记。",
        ));
    }
    Ok((client, redirect_uri))
}

/// Stage two: the rest of the request, as it is parked for the login.
async fn pending(
    state: &AppState,
    client: &Client,
    redirect_uri: &str,
    p: &Params,
    source: Source,
) -> Result<PendingAuthorization, Stop> {
    response_kind(state, client, p, source)?;
    // Unknown and not-allowed scope values are dropped, not refused (OIDC Core §3.1.2.1,
    // RFC 6749 §3.3); the token response says what was granted.
    let scopes = scope::grant_for(client, p.get("scope").unwrap_or(""))
        .map_err(|e| deny("invalid_scope", e.to_string()))?;
    let resources = resources(state, p).await?;
    let code_challenge = code_challenge(client, p)?;
    let dpop_jkt = dpop_jkt(p)?;
    let prompt = Prompt::parse(p.get("prompt").unwrap_or(""))?;
    let max_age = max_age(p)?;
    let hint_sub = match p.get("id_token_hint") {
        None => None,
        Some(token) => Some(hinted_subject(state, client, token).ok_or_else(|| {
            deny(
                "invalid_request",
                "id_token_hint is not an ID token of this issuer for this client",
            )
        })?),
    };
    Ok(PendingAuthorization {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state: p.get("state").map(str::to_owned),
        nonce: p.get("nonce").map(str::to_owned),
        code_challenge,
        prompt_none: prompt.none,
        prompt_login: prompt.login,
        prompt_consent: prompt.consent,
        max_age,
        login_hint: login_hint(state, p, hint_sub.as_deref()).await?,
        hint_sub,
        login_done: false,
        consent_done: false,
        resources,
        dpop_jkt,
    })
}

/// How the request is made and what it asks for: pushed where required, no request objects,
/// `response_type=code` in the query, and a client allowed the code grant.
fn response_kind(
    state: &AppState,
    client: &Client,
    p: &Params,
    source: Source,
) -> Result<(), Stop> {
    // RFC 9126 §5: the server or this client takes only requests pushed to /par.
    let par_required = state.config.par.required || client.require_pushed_authorization_requests;
    if par_required && source == Source::Direct {
        return Err(deny(
            "invalid_request",
            "authorization requests must be pushed to the pushed authorization request endpoint",
        ));
    }
    if p.get("request").is_some() {
        return Err(deny(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    // Only the request_uri of a pushed request is understood (the caller took it); a request
    // object by reference is not fetched.
    if p.get("request_uri").is_some() {
        return Err(deny(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    if p.get("response_mode").is_some_and(|m| m != "query") {
        return Err(deny(
            "invalid_request",
            "only response_mode=query is supported",
        ));
    }
    match p.get("response_type") {
        None => return Err(deny("invalid_request", "response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(deny(
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(deny(
            "unauthorized_client",
            "the client may not use the authorization code grant",
        ));
    }
    Ok(())
}

/// The resource servers asked for (RFC 8707), each registered.
async fn resources(state: &AppState, p: &Params) -> Result<Vec<String>, Stop> {
    let resources =
        resource::parse(p.all("resource")).map_err(|e| deny("invalid_target", e.to_string()))?;
    match resource::check_registered(state, &resources).await {
        Ok(()) => Ok(resources),
        Err(ResourceError::Target(e)) => Err(deny("invalid_target", e.to_string())),
        Err(ResourceError::Failure(f)) => Err(Stop::Fail(f.into())),
    }
}

/// A base64url SHA-256 value: 43 characters of the URL-safe alphabet.
fn is_sha256_b64url(v: &str) -> bool {
    v.len() == 43
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The PKCE challenge (RFC 7636): S256 only, and required of public clients.
fn code_challenge(client: &Client, p: &Params) -> Result<Option<String>, Stop> {
    match (p.get("code_challenge"), p.get("code_challenge_method")) {
        (None, None) if client.is_public() => Err(deny(
            "invalid_request",
            "public clients must use PKCE (S256)",
        )),
        (None, None) => Ok(None),
        (None, Some(_)) => Err(deny("invalid_request", "code_challenge is required")),
        (Some(c), Some("S256")) if is_sha256_b64url(c) => Ok(Some(c.to_owned())),
        (Some(_), Some("S256")) => Err(deny(
            "invalid_request",
            "code_challenge is not a base64url SHA-256 value",
        )),
        (Some(_), _) => Err(deny(
            "invalid_request",
            "code_challenge_method must be S256",
        )),
    }
}

/// RFC 9449 §10 `dpop_jkt`: the thumbprint of the key the code may only be redeemed with.
fn dpop_jkt(p: &Params) -> Result<Option<String>, Stop> {
    match p.get("dpop_jkt") {
        Some(j) if !is_sha256_b64url(j) => Err(deny(
            "invalid_request",
            "dpop_jkt is not a base64url SHA-256 thumbprint",
        )),
        other => Ok(other.map(str::to_owned)),
    }
}

/// The `prompt` values (OIDC Core §3.1.2.1).
#[derive(Default)]
struct Prompt {
    none: bool,
    login: bool,
    consent: bool,
}

impl Prompt {
    fn parse(values: &str) -> Result<Prompt, Stop> {
        let mut prompt = Prompt::default();
        for value in values.split(' ').filter(|v| !v.is_empty()) {
            match value {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                // There is no account chooser; saying so is more honest than a login page the
                // client did not ask for (prompt_values_supported leaves it out).
                "select_account" => {
                    return Err(deny(
                        "account_selection_required",
                        "this server has no account chooser; use prompt=login to sign in as another account",
                    ))
                }
                _ => return Err(deny("invalid_request", "unsupported prompt value")),
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err(deny(
                "invalid_request",
                "prompt=none cannot be combined with other values",
            ));
        }
        Ok(prompt)
    }
}

fn max_age(p: &Params) -> Result<Option<i64>, Stop> {
    match p.get("max_age") {
        None => Ok(None),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Some(n)),
            _ => Err(deny(
                "invalid_request",
                "max_age must be a non-negative integer",
            )),
        },
    }
}

/// `login_hint`, else the login name of the account an `id_token_hint` names: the login form
/// opens on the account the client expects.
async fn login_hint(
    state: &AppState,
    p: &Params,
    hint_sub: Option<&str>,
) -> Result<Option<String>, Stop> {
    match (p.get("login_hint"), hint_sub) {
        (Some(hint), _) => Ok(Some(hint.to_owned())),
        (None, Some(sub)) => actor::login_name(state, sub)
            .await
            .map_err(|e| Stop::Fail(e.into())),
        (None, None) => Ok(None),
    }
}

#[derive(Deserialize)]
struct HintClaims {
    iss: String,
    sub: String,
    aud: serde_json::Value,
}

/// The subject of `token` when it is one of our ID tokens issued to `client` (OIDC Core
/// §3.1.2.1). Its expiry does not matter: a hint names a past session as well as a current one.
fn hinted_subject(state: &AppState, client: &Client, token: &str) -> Option<String> {
    let claims: HintClaims = state.keys.current().verify(token, TokenKind::Id).ok()?;
    let for_client = match &claims.aud {
        serde_json::Value::String(aud) => *aud == client.client_id,
        serde_json::Value::Array(auds) => auds.iter().any(|a| *a == *client.client_id),
        _ => false,
    };
    (claims.iss == state.endpoints.issuer && for_client).then_some(claims.sub)
}
