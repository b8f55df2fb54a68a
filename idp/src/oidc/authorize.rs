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

use axum::{
    extract::{Query, RawForm, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};

use super::{client::Client, form::Params, par, session};
use crate::{
    accounts::actor,
    crypto,
    error::{AppError, AppResult},
    state::AppState,
    store::accounts::Account,
    web::{self, login},
};
use tongyi_idp_core::oidc::consent;

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

/// The checks of a request, from /authorize or pushed to /par.
pub use super::authorize_request::{check, Checked, Refusal};

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

/// What an authorization request still needs before its code is issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Login,
    /// A temporary password (a unit admin's reset) must be replaced before any code is issued.
    PasswordChange,
    Consent,
    Code,
}

impl Step {
    /// The error `prompt=none` answers instead of the step (OIDC Core §3.1.2.6).
    fn without_interaction(self) -> (&'static str, &'static str) {
        match self {
            Step::Login | Step::Code => ("login_required", "the user is not logged in"),
            Step::PasswordChange => ("interaction_required", "the user must change the password"),
            Step::Consent => ("consent_required", "the user has not consented"),
        }
    }
}

/// Decides what the request still needs (login, consent) and issues the code once it has it.
pub async fn proceed(
    state: &AppState,
    headers: &HeaderMap,
    client: &Client,
    id: &str,
    pending: PendingAuthorization,
) -> AppResult<Response> {
    let mut current = session::current(state, headers).await?;
    let account = match &current {
        Some(c) => actor::active(state, &c.session.account_id).await?,
        None => None,
    };
    let step = next_step(state, client, &pending, current.as_ref(), account.as_ref()).await?;
    let (account, current) = match (step, account, current.as_mut()) {
        (Step::Code, Some(account), Some(current)) => (account, current),
        (step, ..) if pending.prompt_none => {
            let (error, description) = step.without_interaction();
            let (uri, client_state) = (&pending.redirect_uri, pending.state.as_deref());
            return Ok(error_redirect(state, uri, client_state, error, description));
        }
        (Step::Consent, ..) => {
            return web::consent::consent_page(state, headers, client, id, &pending)
        }
        (Step::PasswordChange, ..) => {
            let to = crate::web::password::forced_path(id, "");
            return Ok(Redirect::to(&to).into_response());
        }
        _ => return Ok(login::redirect_to_login(id)),
    };
    let code = issue_code(state, client, &pending, &account, current).await?;
    state.store.delete(&pending_key(id)).await?;
    code_redirect(state, &pending, &code)
}

async fn next_step(
    state: &AppState,
    client: &Client,
    pending: &PendingAuthorization,
    current: Option<&session::CurrentSession>,
    account: Option<&Account>,
) -> AppResult<Step> {
    let (Some(current), Some(account)) = (current, account) else {
        return Ok(Step::Login);
    };
    // OIDC Core §3.1.2.1: max_age=0 is prompt=login, even within the second of a login.
    let too_old = pending
        .max_age
        .is_some_and(|max| max == 0 || state.clock.now() - current.session.auth_time > max);
    // OIDC Core §3.1.2.2: a session of another account than the hint names is not the one
    // the client asked about; once the user has logged in for this request, it is.
    let other_subject = pending.hint_sub.as_ref().is_some_and(|h| *h != account.id);
    if !pending.login_done && (pending.prompt_login || too_old || other_subject) {
        return Ok(Step::Login);
    }
    if account.must_change_password {
        return Ok(Step::PasswordChange);
    }
    let needs_consent = if pending.consent_done {
        false
    } else if pending.prompt_consent {
        true
    } else if client.first_party {
        false
    } else {
        !consent::covers(state, &account.id, &client.client_id, &pending.scopes).await?
    };
    Ok(if needs_consent {
        Step::Consent
    } else {
        Step::Code
    })
}

/// Parks the code's grant in the short-lived store and records the client on the session.
async fn issue_code(
    state: &AppState,
    client: &Client,
    pending: &PendingAuthorization,
    account: &Account,
    current: &mut session::CurrentSession,
) -> AppResult<String> {
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
        expires_at: state.clock.now() + state.config.tokens.code_ttl_secs,
        resources: pending.resources.clone(),
        dpop_jkt: pending.dpop_jkt.clone(),
    };
    let json = serde_json::to_string(&grant).map_err(|e| AppError::Internal(e.to_string()))?;
    state
        .store
        .put(&code_key(&code), &json, state.config.tokens.code_ttl_secs)
        .await?;
    session::add_client(state, current, &client.client_id).await?;
    Ok(code)
}

/// The successful authorization response (RFC 6749 §4.1.2, RFC 9207 `iss`).
fn code_redirect(
    state: &AppState,
    pending: &PendingAuthorization,
    code: &str,
) -> AppResult<Response> {
    let mut url =
        url::Url::parse(&pending.redirect_uri).map_err(|_| bad_request("回调地址无效。"))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("code", code);
        if let Some(s) = &pending.state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", &state.endpoints.issuer);
    }
    Ok(Redirect::to(url.as_str()).into_response())
}
