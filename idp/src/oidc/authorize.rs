//! The authorization endpoint (RFC 6749 §4.1, OIDC Core §3.1.2).
//!
//! A request is checked in two stages. Until the client and its redirect URI are known to be
//! registered, every problem is shown on an error page: redirecting to an unverified URI would
//! make us an open redirector. After that, problems go back to the client as RFC 6749 error
//! redirects carrying `state` and `iss` (RFC 9207).
//!
//! A valid request is parked in the short-lived store under a random id while the user logs
//! in or consents, and resumed from there.
//!
//! The parameters come from the query or form, or from a pushed authorization request
//! (RFC 9126, par.rs) named by its `request_uri`; [`check`] is the same for both, and /par
//! runs it on what is pushed before accepting it.

use std::sync::Arc;

use axum::{
    extract::{Query, RawForm, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};

use super::{
    client::{Client, GrantType},
    form::Params,
    keys::TokenKind,
    par,
    resource::{self, ResourceError},
    scope, session,
};
use crate::{
    crypto,
    error::{AppError, AppResult},
    state::AppState,
    store,
    web::{consent, login},
};

/// How long a user may take to log in or consent before the request must be started again.
const PENDING_TTL: i64 = 900;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingAuthorization {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub prompt_consent: bool,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The subject of a valid `id_token_hint`: a session of another account must log in again.
    #[serde(default)]
    pub hint_sub: Option<String>,
    /// The user logged in for this request (satisfies prompt=login and max_age).
    pub login_done: bool,
    pub consent_done: bool,
    /// The resource servers the client asked for (RFC 8707), granted with the scopes.
    #[serde(default)]
    pub resources: Vec<String>,
    /// RFC 9449 §10 `dpop_jkt`: the DPoP key the code may only be redeemed with.
    #[serde(default)]
    pub dpop_jkt: Option<String>,
}

impl PendingAuthorization {
    pub fn scope(&self) -> String {
        self.scopes.join(" ")
    }
}

/// Codes are redeemed by the core's grant service, which owns their record and store keys.
pub use tongyi_idp_core::oidc::grant::{code_key, used_code_key, CodeGrant};

pub fn pending_key(id: &str) -> String {
    format!("authreq:{id}")
}

pub async fn authorize_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let params = Params::parse(query.unwrap_or_default().as_bytes())
        .map_err(|_| bad_request("请求参数重复。"))?;
    authorize(&state, &headers, params).await
}

pub async fn authorize_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let params = Params::parse(&body).map_err(|_| bad_request("请求参数重复。"))?;
    authorize(&state, &headers, params).await
}

/// Where the parameters of an authorization request came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The query or form sent to /authorize.
    Direct,
    /// A pushed authorization request (RFC 9126), sent by the authenticated client itself.
    Pushed,
}

/// An authorization request with the `request_uri` of a pushed request is the request that
/// was pushed: the other parameters sent to /authorize are ignored (RFC 9126 §4). Both kinds
/// then go through the same checks, so a parameter /authorize understands works pushed too.
async fn authorize(state: &AppState, headers: &HeaderMap, p: Params) -> AppResult<Response> {
    match p.get("request_uri").filter(|uri| par::is_pushed(uri)) {
        Some(request_uri) => {
            let pushed = par::take(state, request_uri, p.get("client_id")).await?;
            begin(state, headers, pushed, Source::Pushed).await
        }
        None => begin(state, headers, p, Source::Direct).await,
    }
}

fn bad_request(message: &str) -> AppError {
    AppError::page(StatusCode::BAD_REQUEST, "无效的登录请求", message)
}

/// An RFC 6749 §4.1.2.1 error response, sent to the verified redirect URI.
pub fn error_redirect(
    state: &AppState,
    redirect_uri: &str,
    client_state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return bad_request("回调地址无效。").into_response(),
    };
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("error", error);
        q.append_pair("error_description", description);
        if let Some(s) = client_state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", &state.endpoints.issuer);
    }
    Redirect::to(url.as_str()).into_response()
}

async fn begin(
    state: &AppState,
    headers: &HeaderMap,
    p: Params,
    source: Source,
) -> AppResult<Response> {
    let Checked { client, pending } = match check(state, &p, source).await {
        Ok(checked) => checked,
        Err(Refusal::Unverified { message, .. }) => return Err(bad_request(message)),
        Err(Refusal::Denied {
            redirect_uri,
            state: client_state,
            error,
            description,
        }) => {
            return Ok(error_redirect(
                state,
                &redirect_uri,
                client_state.as_deref(),
                error,
                &description,
            ))
        }
        Err(Refusal::Failed(e)) => return Err(e),
    };
    let id = crypto::random_token(24);
    save_pending(state, &id, &pending).await?;
    proceed(state, headers, &client, &id, pending).await
}

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

/// Checks an authorization request, from /authorize or pushed to /par, and decides what is
/// parked for the login. Nothing is stored here.
pub async fn check(state: &AppState, p: &Params, source: Source) -> Result<Checked, Refusal> {
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
    let client_state = p.get("state");
    let fail = |error: &'static str, description: &str| -> Result<Checked, Refusal> {
        Err(Refusal::Denied {
            redirect_uri: redirect_uri.to_owned(),
            state: client_state.map(str::to_owned),
            error,
            description: description.to_owned(),
        })
    };

    // RFC 9126 §5: the server or this client takes only requests pushed to /par.
    let par_required = state.config.par.required || client.require_pushed_authorization_requests;
    if par_required && source == Source::Direct {
        return fail(
            "invalid_request",
            "authorization requests must be pushed to the pushed authorization request endpoint",
        );
    }
    if p.get("request").is_some() {
        return fail("request_not_supported", "request objects are not supported");
    }
    // Only the request_uri of a pushed request is understood (the caller took it); a request
    // object by reference is not fetched.
    if p.get("request_uri").is_some() {
        return fail("request_uri_not_supported", "request_uri is not supported");
    }
    if p.get("response_mode").is_some_and(|m| m != "query") {
        return fail("invalid_request", "only response_mode=query is supported");
    }
    match p.get("response_type") {
        None => return fail("invalid_request", "response_type is required"),
        Some("code") => {}
        Some(_) => {
            return fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            )
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return fail(
            "unauthorized_client",
            "the client may not use the authorization code grant",
        );
    }
    // Unknown and not-allowed scope values are dropped, not refused (OIDC Core §3.1.2.1,
    // RFC 6749 §3.3); the token response says what was granted.
    let scopes = match scope::grant_for(&client, p.get("scope").unwrap_or("")) {
        Ok(scopes) => scopes,
        Err(e) => return fail("invalid_scope", &e.to_string()),
    };
    let resources = match resource::parse(p.all("resource")) {
        Ok(r) => r,
        Err(e) => return fail("invalid_target", &e.to_string()),
    };
    match resource::check_registered(state, &resources).await {
        Ok(()) => {}
        Err(ResourceError::Target(e)) => return fail("invalid_target", &e.to_string()),
        Err(ResourceError::Failure(f)) => return Err(failed(f)),
    }
    let code_challenge = match (p.get("code_challenge"), p.get("code_challenge_method")) {
        (None, None) if client.is_public() => {
            return fail("invalid_request", "public clients must use PKCE (S256)")
        }
        (None, None) => None,
        (None, Some(_)) => return fail("invalid_request", "code_challenge is required"),
        (Some(_), None | Some("plain")) => {
            return fail("invalid_request", "code_challenge_method must be S256")
        }
        (Some(c), Some("S256")) => {
            let ok = c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return fail(
                    "invalid_request",
                    "code_challenge is not a base64url SHA-256 value",
                );
            }
            Some(c.to_owned())
        }
        (Some(_), Some(_)) => return fail("invalid_request", "code_challenge_method must be S256"),
    };
    let dpop_jkt = match p.get("dpop_jkt") {
        Some(j)
            if j.len() != 43
                || !j
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            return fail(
                "invalid_request",
                "dpop_jkt is not a base64url SHA-256 thumbprint",
            )
        }
        other => other.map(str::to_owned),
    };
    let (mut prompt_none, mut prompt_login, mut prompt_consent) = (false, false, false);
    for value in p
        .get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|v| !v.is_empty())
    {
        match value {
            "none" => prompt_none = true,
            "login" => prompt_login = true,
            "consent" => prompt_consent = true,
            // There is no account chooser; saying so is more honest than a login page the
            // client did not ask for (prompt_values_supported leaves it out).
            "select_account" => {
                return fail(
                    "account_selection_required",
                    "this server has no account chooser; use prompt=login to sign in as another account",
                )
            }
            _ => return fail("invalid_request", "unsupported prompt value"),
        }
    }
    if prompt_none && (prompt_login || prompt_consent) {
        return fail(
            "invalid_request",
            "prompt=none cannot be combined with other values",
        );
    }
    let max_age = match p.get("max_age") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => return fail("invalid_request", "max_age must be a non-negative integer"),
        },
    };
    let hint_sub = match p.get("id_token_hint") {
        None => None,
        Some(token) => match hinted_subject(state, &client, token) {
            Some(sub) => Some(sub),
            None => {
                return fail(
                    "invalid_request",
                    "id_token_hint is not an ID token of this issuer for this client",
                )
            }
        },
    };
    let mut login_hint = p.get("login_hint").map(str::to_owned);
    if let (None, Some(sub)) = (&login_hint, &hint_sub) {
        // The login form opens on the account the client expects.
        login_hint = store::accounts::find_by_id(&state.db, sub)
            .await
            .map_err(failed)?
            .map(|a| a.login_name);
    }
    let pending = PendingAuthorization {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state: client_state.map(str::to_owned),
        nonce: p.get("nonce").map(str::to_owned),
        code_challenge,
        prompt_none,
        prompt_login,
        prompt_consent,
        max_age,
        login_hint,
        hint_sub,
        login_done: false,
        consent_done: false,
        resources,
        dpop_jkt,
    };
    Ok(Checked { client, pending })
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

pub async fn save_pending(
    state: &AppState,
    id: &str,
    pending: &PendingAuthorization,
) -> Result<(), AppError> {
    let json = serde_json::to_string(pending).map_err(|e| AppError::Internal(e.to_string()))?;
    state
        .store
        .put(&pending_key(id), &json, PENDING_TTL)
        .await?;
    Ok(())
}

pub async fn load_pending(state: &AppState, id: &str) -> Result<PendingAuthorization, AppError> {
    let expired = || {
        AppError::page(
            StatusCode::BAD_REQUEST,
            "登录请求已过期",
            "登录请求已过期或无效，请返回应用重新登录。",
        )
    };
    let json = state
        .store
        .get(&pending_key(id))
        .await?
        .ok_or_else(expired)?;
    serde_json::from_str(&json).map_err(|_| expired())
}

#[derive(Deserialize)]
pub struct ResumeQuery {
    req: String,
}

/// Where login and consent send the browser back to.
pub async fn resume(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<ResumeQuery>,
) -> AppResult<Response> {
    let pending = load_pending(&state, &q.req).await?;
    let client = state
        .client(&pending.client_id)
        .await?
        .ok_or_else(|| bad_request("未注册的应用（client_id 无效）。"))?;
    proceed(&state, &headers, &client, &q.req, pending).await
}

/// Decides what the request still needs (login, consent) and issues the code once it has it.
pub async fn proceed(
    state: &AppState,
    headers: &HeaderMap,
    client: &Client,
    id: &str,
    pending: PendingAuthorization,
) -> AppResult<Response> {
    let fail = |error: &str, description: &str| {
        Ok(error_redirect(
            state,
            &pending.redirect_uri,
            pending.state.as_deref(),
            error,
            description,
        ))
    };
    let now = state.clock.now();
    let mut current = session::current(state, headers).await?;
    let account = match &current {
        Some(c) => store::accounts::find_by_id(&state.db, &c.session.account_id)
            .await?
            .filter(|a| a.is_active()),
        None => None,
    };
    let too_old = match (&current, pending.max_age) {
        // OIDC Core §3.1.2.1: max_age=0 is prompt=login, even within the second of a login.
        (Some(c), Some(max)) => max == 0 || now - c.session.auth_time > max,
        _ => false,
    };
    // OIDC Core §3.1.2.2: a session of another account than the hint names is not the one
    // the client asked about; once the user has logged in for this request, it is.
    let other_subject = match (&pending.hint_sub, &account) {
        (Some(hinted), Some(a)) => *hinted != a.id,
        _ => false,
    };
    let needs_login = account.is_none()
        || (!pending.login_done && (pending.prompt_login || too_old || other_subject));
    if needs_login {
        if pending.prompt_none {
            return fail("login_required", "the user is not logged in");
        }
        return Ok(login::redirect_to_login(id));
    }
    let (Some(account), Some(current)) = (account, current.as_mut()) else {
        return fail("login_required", "the user is not logged in");
    };
    // A temporary password (a unit admin's reset) must be replaced before any code is issued.
    if account.must_change_password {
        if pending.prompt_none {
            return fail("interaction_required", "the user must change the password");
        }
        return Ok(Redirect::to(&crate::web::password::forced_path(id, "")).into_response());
    }

    let needs_consent = if pending.consent_done {
        false
    } else if pending.prompt_consent {
        true
    } else if client.first_party {
        false
    } else {
        let granted =
            store::consents::granted_scopes(&state.db, &account.id, &client.client_id).await?;
        !pending.scopes.iter().all(|s| granted.contains(s))
    };
    if needs_consent {
        if pending.prompt_none {
            return fail("consent_required", "the user has not consented");
        }
        return consent::consent_page(state, headers, client, id, &pending);
    }

    let code = crypto::random_token(32);
    let grant = CodeGrant {
        client_id: client.client_id.clone(),
        redirect_uri: pending.redirect_uri.clone(),
        account_id: account.id.clone(),
        scope: pending.scope(),
        nonce: pending.nonce.clone(),
        code_challenge: pending.code_challenge.clone(),
        auth_time: current.session.auth_time,
        amr: current.session.amr.clone(),
        sid: current.session.sid.clone(),
        expires_at: now + state.config.tokens.code_ttl_secs,
        resources: pending.resources.clone(),
        dpop_jkt: pending.dpop_jkt.clone(),
    };
    let json = serde_json::to_string(&grant).map_err(|e| AppError::Internal(e.to_string()))?;
    state
        .store
        .put(&code_key(&code), &json, state.config.tokens.code_ttl_secs)
        .await?;
    session::add_client(state, current, &client.client_id).await?;
    state.store.delete(&pending_key(id)).await?;

    let mut url =
        url::Url::parse(&pending.redirect_uri).map_err(|_| bad_request("回调地址无效。"))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("code", &code);
        if let Some(s) = &pending.state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", &state.endpoints.issuer);
    }
    Ok(Redirect::to(url.as_str()).into_response())
}
