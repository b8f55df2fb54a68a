//! The login page: tabs for 自然人 and 法人, each with password login (login name, mobile,
//! email, ID number or USCC) and SMS-code login by mobile. On success it starts a login
//! session and sends the browser back to the authorization request it came from, or first to
//! the forced password change. After a few failed password logins for the account or from the
//! address, the password form carries an image captcha, checked before any password work; the
//! SMS form always carries one for sending a code.
//!
//! A form posted without `account_type` (older pages, tools) logs in by login name only, of
//! either type.

use std::{borrow::Cow, net::IpAddr};

use askama::Template;
use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use serde::Deserialize;
use tongyi_shared::{claims::AccountType, validate::Mobile};

use super::extract::{ClientAddr, CsrfForm, FormFields};
use super::{cookies, csrf, pages};
use crate::{
    accounts::{
        captcha::{self, CaptchaAnswer},
        login::{
            password_login, request_sms_code, sms_login, LoginFailure, PasswordLogin,
            SmsSendOutcome,
        },
        login_throttle,
        sms_code::SmsPurpose,
    },
    error::AppResult,
    oidc::{
        authorize::{load_pending, save_pending},
        logout, session,
    },
    state::AppState,
    store::{self, accounts::Account},
};

/// The routes of the login modes area besides `/login` itself: password change, recovery
/// and the members API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/account/password",
            get(super::password::password_page).post(super::password::password_submit),
        )
        .route(
            "/recover",
            get(super::recover::recover_page).post(super::recover::recover_submit),
        )
        .merge(super::members_api::router())
        .merge(super::directory_api::router())
        .merge(super::people_api::router())
        .merge(super::admin_api::router())
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    req: &'a str,
    /// A local page to return to after a login that no authorization request started.
    next: &'a str,
    /// `natural_person` | `legal_entity`
    account_type: &'a str,
    legal: bool,
    sms: bool,
    /// Links to the other tabs and modes, keeping `req` and `next`.
    link_natural: String,
    link_legal: String,
    link_password: String,
    link_sms: String,
    link_new_captcha: String,
    login_name: &'a str,
    mobile: &'a str,
    client_name: Option<String>,
    error: Option<&'a str>,
    mobile_error: Option<&'a str>,
    code_error: Option<&'a str>,
    sms_notice: Option<&'a str>,
    /// The captcha challenge the form carries, when one is required.
    captcha_id: Option<String>,
    captcha_error: Option<&'a str>,
}

const MISSING_FIELDS: &str = "请输入账号和密码。";
const INVALID: &str = "账号或密码错误。";
/// A pair's delay: the seconds it still runs, so the user knows when to try again.
fn throttled(retry_after_secs: i64) -> Cow<'static, str> {
    Cow::Owned(format!("登录失败次数过多，请{retry_after_secs}秒后再试。"))
}
const CAPTCHA_WRONG: &str = "图形验证码错误，请重新输入。";
/// Recent failures call for a captcha the form did not show or the user left empty.
const CAPTCHA_NEEDED: &str = "为保护账号安全，请输入图形验证码。";
/// Said whether or not the mobile is registered, and true either way: a code sent for another
/// purpose (registration, say) in the last minute holds this one back, so the sentence states
/// the interval instead of claiming a send.
const SMS_SENT: &str = "如该手机号已注册，将收到验证码；同一手机号60秒内只能获取一次。";
const _: () = assert!(tongyi_idp_core::accounts::sms_code::RESEND_SECS == 60);
const SMS_TOO_SOON: &str = "发送过于频繁，请稍后再试。";
const SMS_LIMITED: &str = "请求过于频繁，请稍后再试。";
const SMS_INVALID: &str = "手机号或验证码错误。";
const CODE_MISSING: &str = "请输入短信验证码。";

/// After the right password of a disabled account: who can enable it again.
fn disabled(unit: Option<&str>) -> String {
    match unit {
        Some(unit) => format!("该账号已被停用，请联系所属单位“{unit}”的单位管理员。"),
        None => "该账号已被停用，请联系平台管理员。".into(),
    }
}

/// Which tab and mode the page shows.
#[derive(Clone, Copy)]
struct View {
    account_type: AccountType,
    sms: bool,
}

impl View {
    fn parse(account_type: &str, mode: &str) -> View {
        View {
            account_type: AccountType::parse(account_type).unwrap_or(AccountType::NaturalPerson),
            sms: mode == "sms",
        }
    }
}

/// What the form shows besides its fields.
#[derive(Default)]
struct Notice {
    error: Option<Cow<'static, str>>,
    mobile_error: Option<&'static str>,
    code_error: Option<&'static str>,
    sms_notice: Option<&'static str>,
    captcha_error: Option<&'static str>,
    /// Show a fresh captcha.
    captcha: bool,
}

fn link(req: &str, next: &str, account_type: AccountType, sms: bool, captcha: bool) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("type", account_type.as_str());
    if sms {
        q.append_pair("mode", "sms");
    }
    if !req.is_empty() {
        q.append_pair("req", req);
    }
    if !next.is_empty() {
        q.append_pair("next", next);
    }
    if captcha {
        q.append_pair("captcha", "1");
    }
    format!("/login?{}", q.finish())
}

/// Renders the form; every rendering that shows a captcha creates a new challenge.
#[allow(clippy::too_many_arguments)]
async fn render_form(
    state: &AppState,
    headers: &HeaderMap,
    view: View,
    req: &str,
    next: &str,
    login_name: &str,
    mobile: &str,
    notice: Notice,
) -> AppResult<Response> {
    let (token, cookie) = csrf::token(state, headers);
    let captcha_id = if notice.captcha || view.sms {
        Some(captcha::issue(&state.store).await?)
    } else {
        None
    };
    let t = view.account_type;
    let page = LoginPage {
        csrf: &token,
        req,
        next,
        account_type: t.as_str(),
        legal: t == AccountType::LegalEntity,
        sms: view.sms,
        link_natural: link(req, next, AccountType::NaturalPerson, view.sms, false),
        link_legal: link(req, next, AccountType::LegalEntity, view.sms, false),
        link_password: link(req, next, t, false, false),
        link_sms: link(req, next, t, true, false),
        link_new_captcha: link(req, next, t, view.sms, true),
        login_name,
        mobile,
        client_name: client_name(state, req).await,
        error: notice.error.as_deref(),
        mobile_error: notice.mobile_error,
        code_error: notice.code_error,
        sms_notice: notice.sms_notice,
        captcha_id,
        captcha_error: notice.captcha_error,
    };
    Ok(pages::with_cookie(
        pages::render(StatusCode::OK, &page)?,
        cookie,
    ))
}

/// The login name as the failure counters know it; `None` when nothing was typed.
fn named(login_name: &str) -> Option<&str> {
    Some(login_name).filter(|n| !n.is_empty())
}

pub fn redirect_to_login(request_id: &str) -> Response {
    Redirect::to(&format!("/login?req={request_id}")).into_response()
}

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    req: String,
    #[serde(default)]
    next: String,
    /// `natural_person` (default) or `legal_entity`: the tab.
    #[serde(default, rename = "type")]
    account_type: String,
    /// `sms` for SMS-code login.
    #[serde(default)]
    mode: String,
    /// `1` from the "换一张" link: show a new captcha even when the address alone would not
    /// call for one (the account typed before is not known to a plain reload).
    #[serde(default)]
    captcha: String,
}

async fn client_name(state: &AppState, req: &str) -> Option<String> {
    if req.is_empty() {
        return None;
    }
    let pending = load_pending(state, req).await.ok()?;
    state
        .client(&pending.client_id)
        .await
        .ok()
        .flatten()
        .map(|c| c.name.clone())
}

pub async fn login_page(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> AppResult<Response> {
    let hint = if q.req.is_empty() {
        None
    } else {
        Some(load_pending(&state, &q.req).await?)
    };
    let login_name = hint
        .as_ref()
        .and_then(|p| p.login_hint.as_deref())
        .unwrap_or("");
    let notice = Notice {
        captcha: q.captcha == "1"
            || login_throttle::captcha_required(&state, named(login_name), peer.ip()).await?,
        ..Notice::default()
    };
    let next = super::auth::local_path(&q.next).unwrap_or("");
    let view = View::parse(&q.account_type, &q.mode);
    render_form(&state, &headers, view, &q.req, next, login_name, "", notice).await
}

pub async fn login_submit(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<FormFields>,
) -> AppResult<Response> {
    // A form with repeated fields is treated as empty: it then fails the CSRF check.
    let req = form.get("req").unwrap_or("");
    let next = super::auth::local_path(form.get("next").unwrap_or("")).unwrap_or("");
    let typed = form.get("account_type").and_then(AccountType::parse);
    let view = View {
        account_type: typed.unwrap_or(AccountType::NaturalPerson),
        sms: form.get("mode") == Some("sms"),
    };
    let ip = peer.ip();
    let account = if view.sms {
        match sms_submit(&state, &headers, &form, view, req, next, ip).await? {
            Ok(a) => a,
            Err(page) => return Ok(page),
        }
    } else {
        match password_submit(&state, &headers, &form, typed, view, req, next, ip).await? {
            Ok(a) => a,
            Err(page) => return Ok(page),
        }
    };
    let amr = if view.sms { "sms" } else { "pwd" };
    finish_login(
        &state,
        &headers,
        ip,
        &account,
        vec![amr.to_owned()],
        req,
        next,
    )
    .await
}

/// The password form: the account, or the page to show again.
#[allow(clippy::too_many_arguments)]
async fn password_submit(
    state: &AppState,
    headers: &HeaderMap,
    form: &FormFields,
    typed: Option<AccountType>,
    view: View,
    req: &str,
    next: &str,
    ip: IpAddr,
) -> AppResult<Result<Account, Response>> {
    let login_name = form.get("login_name").unwrap_or("").trim();
    let password = form.get("password").unwrap_or("");
    // After a failure the form asks for a captcha if the counts now call for one.
    let failure = |message: Cow<'static, str>| async move {
        let notice = Notice {
            error: Some(message),
            captcha: login_throttle::captcha_required(state, named(login_name), ip).await?,
            ..Notice::default()
        };
        render_form(state, headers, view, req, next, login_name, "", notice)
            .await
            .map(Err)
    };
    if login_name.is_empty() || password.is_empty() {
        return failure(MISSING_FIELDS.into()).await;
    }
    // The form's captcha fields go to the login, which decides whether they are needed.
    let captcha_id = form.get("captcha_id").unwrap_or("");
    let captcha_answer = form.get("captcha").unwrap_or("");
    let attempt = PasswordLogin {
        account_type: typed,
        identifier: login_name,
        password,
        captcha: (!captcha_id.is_empty() || !captcha_answer.is_empty()).then_some(CaptchaAnswer {
            id: captcha_id,
            answer: captcha_answer,
        }),
        ip,
    };
    match password_login(state, &attempt).await {
        Ok(a) => Ok(Ok(a)),
        Err(LoginFailure::Invalid) => failure(INVALID.into()).await,
        Err(LoginFailure::Disabled { unit }) => failure(disabled(unit.as_deref()).into()).await,
        Err(LoginFailure::Throttled { retry_after_secs }) => {
            failure(throttled(retry_after_secs)).await
        }
        // A missing answer is not a wrong one: the form may not have shown a captcha yet
        // (the account failed from elsewhere).
        Err(e @ (LoginFailure::CaptchaMissing | LoginFailure::CaptchaWrong)) => {
            let message = match e {
                LoginFailure::CaptchaMissing => CAPTCHA_NEEDED,
                _ => CAPTCHA_WRONG,
            };
            let notice = Notice {
                captcha_error: Some(message),
                captcha: true,
                ..Notice::default()
            };
            render_form(state, headers, view, req, next, login_name, "", notice)
                .await
                .map(Err)
        }
        Err(LoginFailure::Internal(e)) => Err(e.into()),
    }
}

/// The SMS form: `action=send_code` (with the captcha) sends a code; otherwise mobile + code
/// log in. Returns the account, or the page to show again.
#[allow(clippy::too_many_arguments)]
async fn sms_submit(
    state: &AppState,
    headers: &HeaderMap,
    form: &FormFields,
    view: View,
    req: &str,
    next: &str,
    ip: IpAddr,
) -> AppResult<Result<Account, Response>> {
    let typed_mobile = form.get("mobile").unwrap_or("").trim();
    let again = |mobile: &str, notice: Notice| {
        let mobile = mobile.to_owned();
        async move {
            render_form(state, headers, view, req, next, "", &mobile, notice)
                .await
                .map(Err)
        }
    };
    let mobile = match Mobile::parse(typed_mobile) {
        Ok(m) => m,
        Err(e) => {
            let notice = Notice {
                mobile_error: Some(e.message()),
                ..Notice::default()
            };
            return again(typed_mobile, notice).await;
        }
    };
    let parsed = mobile;
    let mobile = parsed.as_str();
    if form.get("action") == Some("send_code") {
        let answered = captcha::verify(
            &state.store,
            form.get("captcha_id").unwrap_or(""),
            form.get("captcha").unwrap_or(""),
        )
        .await?;
        if !answered {
            let notice = Notice {
                captcha_error: Some(CAPTCHA_WRONG),
                ..Notice::default()
            };
            return again(mobile, notice).await;
        }
        let account =
            store::identities::find_by_mobile(&state.db, &state.pii, view.account_type, mobile)
                .await?;
        let outcome =
            request_sms_code(state, SmsPurpose::Login, account.as_ref(), &parsed, ip).await?;
        let notice = match outcome {
            SmsSendOutcome::Accepted => Notice {
                sms_notice: Some(SMS_SENT),
                ..Notice::default()
            },
            SmsSendOutcome::TooSoon => Notice {
                mobile_error: Some(SMS_TOO_SOON),
                ..Notice::default()
            },
            SmsSendOutcome::Limited => Notice {
                error: Some(SMS_LIMITED.into()),
                ..Notice::default()
            },
        };
        return again(mobile, notice).await;
    }
    let code = form.get("code").unwrap_or("").trim();
    if code.is_empty() {
        let notice = Notice {
            code_error: Some(CODE_MISSING),
            ..Notice::default()
        };
        return again(mobile, notice).await;
    }
    match sms_login(state, view.account_type, &parsed, code, ip).await {
        Ok(a) => Ok(Ok(a)),
        // Codes are sent to active accounts only, so a disabled one cannot get this far.
        Err(LoginFailure::Invalid | LoginFailure::Disabled { .. }) => {
            let notice = Notice {
                error: Some(SMS_INVALID.into()),
                ..Notice::default()
            };
            again(mobile, notice).await
        }
        Err(LoginFailure::Throttled { retry_after_secs }) => {
            let notice = Notice {
                error: Some(throttled(retry_after_secs)),
                ..Notice::default()
            };
            again(mobile, notice).await
        }
        // SMS-code login asks for no captcha today; should it, the field shows the refusal.
        Err(LoginFailure::CaptchaMissing | LoginFailure::CaptchaWrong) => {
            let notice = Notice {
                captcha_error: Some(CAPTCHA_WRONG),
                ..Notice::default()
            };
            again(mobile, notice).await
        }
        Err(LoginFailure::Internal(e)) => Err(e.into()),
    }
}

/// Starts (or renews) the login session and sends the browser on: to the forced password
/// change first when the account has a temporary password, then back to the authorization
/// request or the local `next` page.
async fn finish_login(
    state: &AppState,
    headers: &HeaderMap,
    ip: IpAddr,
    account: &Account,
    amr: Vec<String>,
    req: &str,
    next: &str,
) -> AppResult<Response> {
    tracing::info!(account_id = %account.id, amr = ?amr, "login");
    // Every login hands out a new cookie value (no fixation). The same account keeps its
    // session and sid; another account's session is ended everywhere first.
    let meta = session::client_meta(ip, headers);
    let cookie_value = match session::current(state, headers).await? {
        Some(old) if old.session.account_id == account.id => {
            session::renew(state, old, amr).await?
        }
        Some(old) => {
            logout::end(state, &old).await?;
            session::create(state, &account.id, amr, &meta).await?.0
        }
        None => session::create(state, &account.id, amr, &meta).await?.0,
    };
    if !req.is_empty() {
        let mut pending = load_pending(state, req).await?;
        pending.login_done = true;
        save_pending(state, req, &pending).await?;
    }
    let target = if account.must_change_password {
        super::password::forced_path(req, next)
    } else {
        continue_path(req, next)
    };
    let mut res = Redirect::to(&target).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            &state.config,
            &cookies::session_name(&state.config),
            &cookie_value,
            cookies::SameSite::Lax,
            None,
        ),
    );
    Ok(res)
}

/// Where a finished login goes: the authorization request it came from, else `next`, else
/// the home page.
pub fn continue_path(req: &str, next: &str) -> String {
    if !req.is_empty() {
        format!("/authorize/resume?req={req}")
    } else if !next.is_empty() {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}
