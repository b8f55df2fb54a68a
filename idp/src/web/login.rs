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
            password_login, request_login_code, sms_login, LoginFailure, PasswordLogin,
            SmsSendOutcome,
        },
        login_throttle,
    },
    error::AppResult,
    oidc::{
        authorize::{load_pending, save_pending},
        logout, session,
    },
    state::AppState,
    store::accounts::Account,
    Failure,
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

/// Where the form was posted from and goes on to: what showing it again needs.
#[derive(Clone, Copy)]
struct Context<'a> {
    headers: &'a HeaderMap,
    view: View,
    req: &'a str,
    next: &'a str,
}

/// Renders the form; every rendering that shows a captcha creates a new challenge.
async fn render_form(
    state: &AppState,
    ctx: Context<'_>,
    login_name: &str,
    mobile: &str,
    notice: Notice,
) -> AppResult<Response> {
    let (token, cookie) = csrf::token(state, ctx.headers);
    let (view, req, next) = (ctx.view, ctx.req, ctx.next);
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
    let ctx = Context {
        headers: &headers,
        view: View::parse(&q.account_type, &q.mode),
        req: &q.req,
        next: super::auth::local_path(&q.next).unwrap_or(""),
    };
    render_form(&state, ctx, login_name, "", notice).await
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
    let ctx = Context {
        headers: &headers,
        view: View {
            account_type: typed.unwrap_or(AccountType::NaturalPerson),
            sms: form.get("mode") == Some("sms"),
        },
        req,
        next,
    };
    let ip = peer.ip();
    let shown = if ctx.view.sms {
        sms_submit(&state, ctx, &form, ip).await?
    } else {
        password_submit(&state, ctx, &form, typed, ip).await?
    };
    let account = match shown {
        Ok(a) => a,
        Err(page) => return Ok(page),
    };
    let amr = if ctx.view.sms { "sms" } else { "pwd" };
    let cookie_value = start_session(&state, &headers, ip, &account, vec![amr.to_owned()]).await?;
    finish_login(&state, &account, &cookie_value, req, next).await
}

/// The password form: the account, or the page to show again.
async fn password_submit(
    state: &AppState,
    ctx: Context<'_>,
    form: &FormFields,
    typed: Option<AccountType>,
    ip: IpAddr,
) -> AppResult<Result<Account, Response>> {
    let login_name = form.get("login_name").unwrap_or("").trim();
    let password = form.get("password").unwrap_or("");
    let notice = if login_name.is_empty() || password.is_empty() {
        failed(state, MISSING_FIELDS.into(), login_name, ip).await?
    } else {
        // The form's captcha fields go to the login, which decides whether they are needed.
        let captcha_id = form.get("captcha_id").unwrap_or("");
        let captcha_answer = form.get("captcha").unwrap_or("");
        let attempt = PasswordLogin {
            account_type: typed,
            identifier: login_name,
            password,
            captcha: (!captcha_id.is_empty() || !captcha_answer.is_empty()).then_some(
                CaptchaAnswer {
                    id: captcha_id,
                    answer: captcha_answer,
                },
            ),
            ip,
        };
        match password_login(state, &attempt).await {
            Ok(a) => return Ok(Ok(a)),
            Err(f) => password_refused(state, f, login_name, ip).await?,
        }
    };
    render_form(state, ctx, login_name, "", notice)
        .await
        .map(Err)
}

/// A refused password login, shown with a captcha if the counts now call for one.
async fn password_refused(
    state: &AppState,
    failure: LoginFailure,
    login_name: &str,
    ip: IpAddr,
) -> AppResult<Notice> {
    let message = match failure {
        LoginFailure::Invalid => INVALID.into(),
        LoginFailure::Disabled { unit } => disabled(unit.as_deref()).into(),
        LoginFailure::Throttled { retry_after_secs } => throttled(retry_after_secs),
        // A missing answer is not a wrong one: the form may not have shown a captcha yet
        // (the account failed from elsewhere).
        LoginFailure::CaptchaMissing => return Ok(Notice::captcha_refused(CAPTCHA_NEEDED)),
        LoginFailure::CaptchaWrong => return Ok(Notice::captcha_refused(CAPTCHA_WRONG)),
        LoginFailure::Internal(e) => return Err(e.into()),
    };
    failed(state, message, login_name, ip).await
}

/// After a failure the form asks for a captcha if the counts now call for one.
async fn failed(
    state: &AppState,
    message: Cow<'static, str>,
    login_name: &str,
    ip: IpAddr,
) -> AppResult<Notice> {
    Ok(Notice {
        error: Some(message),
        captcha: login_throttle::captcha_required(state, named(login_name), ip).await?,
        ..Notice::default()
    })
}

/// The SMS form: `action=send_code` (with the captcha) sends a code; otherwise mobile + code
/// log in. Returns the account, or the page to show again.
async fn sms_submit(
    state: &AppState,
    ctx: Context<'_>,
    form: &FormFields,
    ip: IpAddr,
) -> AppResult<Result<Account, Response>> {
    let typed = form.get("mobile").unwrap_or("").trim();
    let (shown, notice) = match Mobile::parse(typed) {
        Err(e) => (typed.to_owned(), Notice::mobile_refused(e.message())),
        Ok(mobile) => match sms_step(state, ctx.view, form, &mobile, ip).await? {
            Ok(account) => return Ok(Ok(account)),
            Err(notice) => (mobile.as_str().to_owned(), notice),
        },
    };
    render_form(state, ctx, "", &shown, notice).await.map(Err)
}

/// One step of the SMS form for a well-formed mobile: the account, or what to say.
async fn sms_step(
    state: &AppState,
    view: View,
    form: &FormFields,
    mobile: &Mobile,
    ip: IpAddr,
) -> AppResult<Result<Account, Notice>> {
    if form.get("action") == Some("send_code") {
        let captcha = CaptchaAnswer {
            id: form.get("captcha_id").unwrap_or(""),
            answer: form.get("captcha").unwrap_or(""),
        };
        let notice = match request_login_code(state, view.account_type, mobile, captcha, ip).await {
            Ok(SmsSendOutcome::Accepted) => Notice {
                sms_notice: Some(SMS_SENT),
                ..Notice::default()
            },
            Ok(SmsSendOutcome::TooSoon) => Notice::mobile_refused(SMS_TOO_SOON),
            Ok(SmsSendOutcome::Limited) => Notice::error(SMS_LIMITED.into()),
            Err(f) => Notice::sms_refused(f)?,
        };
        return Ok(Err(notice));
    }
    let code = form.get("code").unwrap_or("").trim();
    if code.is_empty() {
        return Ok(Err(Notice {
            code_error: Some(CODE_MISSING),
            ..Notice::default()
        }));
    }
    match sms_login(state, view.account_type, mobile, code, ip).await {
        Ok(a) => Ok(Ok(a)),
        Err(f) => Ok(Err(Notice::sms_refused(f)?)),
    }
}

impl Notice {
    fn error(message: Cow<'static, str>) -> Notice {
        Notice {
            error: Some(message),
            ..Notice::default()
        }
    }

    fn mobile_refused(message: &'static str) -> Notice {
        Notice {
            mobile_error: Some(message),
            ..Notice::default()
        }
    }

    fn captcha_refused(message: &'static str) -> Notice {
        Notice {
            captcha_error: Some(message),
            captcha: true,
            ..Notice::default()
        }
    }

    /// A refused SMS login or code request.
    fn sms_refused(failure: LoginFailure) -> Result<Notice, Failure> {
        Ok(match failure {
            // Codes are sent to active accounts only, so a disabled one cannot get this far.
            LoginFailure::Invalid | LoginFailure::Disabled { .. } => {
                Notice::error(SMS_INVALID.into())
            }
            LoginFailure::Throttled { retry_after_secs } => {
                Notice::error(throttled(retry_after_secs))
            }
            LoginFailure::CaptchaMissing | LoginFailure::CaptchaWrong => {
                Notice::captcha_refused(CAPTCHA_WRONG)
            }
            LoginFailure::Internal(e) => return Err(e),
        })
    }
}

/// Starts (or renews) the login session; the new cookie value. Every login hands out a new
/// value (no fixation). The same account keeps its session and sid; another account's session
/// is ended everywhere first.
async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    ip: IpAddr,
    account: &Account,
    amr: Vec<String>,
) -> AppResult<String> {
    tracing::info!(account_id = %account.id, amr = ?amr, "login");
    let meta = session::client_meta(ip, headers);
    Ok(match session::current(state, headers).await? {
        Some(old) if old.session.account_id == account.id => {
            session::renew(state, old, amr).await?
        }
        Some(old) => {
            logout::end(state, &old).await?;
            session::create(state, &account.id, amr, &meta).await?.0
        }
        None => session::create(state, &account.id, amr, &meta).await?.0,
    })
}

/// Sends the browser on with the session cookie: to the forced password change first when the
/// account has a temporary password, then back to the authorization request or the local
/// `next` page.
async fn finish_login(
    state: &AppState,
    account: &Account,
    cookie_value: &str,
    req: &str,
    next: &str,
) -> AppResult<Response> {
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
            cookie_value,
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
