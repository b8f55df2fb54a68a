//! `/recover` (找回密码): tabs 自然人 / 法人. Step one: any identifier the login page's tab
//! takes (login name, mobile, email, and ID number or USCC) + 验证方式 (the reserved mobile, or
//! the verified email when this instance sends email) + image captcha → `action=send_code`
//! sends a code only when they match an account, with the same answer either way. Step two: code + new password + confirmation + reason (+ unit name and
//! USCC for a legal entity) → the password is set and every session of the account ends.
//! Any mismatch gets one message: "信息不匹配或验证码错误".

use askama::Template;
use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde::Deserialize;
use tongyi_shared::{claims::AccountType, validate::Mobile};

use super::extract::{ClientAddr, CsrfForm, FormFields};
use super::{csrf, pages};
use crate::{
    accounts::{
        captcha::{self, CaptchaAnswer},
        login::SmsSendOutcome,
        profile::parse_email,
        recovery::{
            recover_password, request_recovery_code, PasswordError, RecoveryClaim, RecoveryContact,
        },
    },
    error::AppResult,
    state::AppState,
};

/// A finished step: the message page, with a link to log in (or out).
#[derive(Template)]
#[template(path = "message.html")]
struct Done<'a> {
    title: &'a str,
    message: &'a str,
    logged_in: bool,
}

pub fn done(title: &str, message: &str, logged_in: bool) -> AppResult<Response> {
    pages::render(
        StatusCode::OK,
        &Done {
            title,
            message,
            logged_in,
        },
    )
}

pub const MISMATCH: &str = "信息不匹配或验证码错误。";
const SENT: &str = "如账号与手机号匹配，验证码已发送。";
const SENT_EMAIL: &str = "如账号与已验证的电子邮箱匹配，验证码已发送，请查收邮件。";
const TOO_SOON: &str = "发送过于频繁，请稍后再试。";
const LIMITED: &str = "请求过于频繁，请稍后再试。";
const IDENTIFIER_MISSING_PERSON: &str = "请输入登录名、手机号、电子邮箱或身份证号";
const IDENTIFIER_MISSING_UNIT: &str = "请输入登录名、手机号、电子邮箱或统一社会信用代码";

#[derive(Template)]
#[template(path = "recover.html")]
struct RecoverPage<'a> {
    csrf: &'a str,
    account_type: &'a str,
    legal: bool,
    login_name: &'a str,
    mobile: &'a str,
    email: &'a str,
    /// 验证方式 is email (else the mobile).
    by_email: bool,
    /// This instance sends email, so 验证方式 offers it.
    email_on: bool,
    unit_name: &'a str,
    uscc: &'a str,
    reason: &'a str,
    captcha_id: String,
    error: Option<&'a str>,
    notice: Option<&'a str>,
    errors: FieldErrors,
}

/// Field-level messages.
#[derive(Default)]
struct FieldErrors {
    login_name: Option<&'static str>,
    mobile: Option<&'static str>,
    email: Option<&'static str>,
    captcha: Option<&'static str>,
    code: Option<&'static str>,
    new_password: Option<&'static str>,
    confirm_password: Option<&'static str>,
    reason: Option<&'static str>,
    unit_name: Option<&'static str>,
    uscc: Option<&'static str>,
}

impl FieldErrors {
    fn set(field: &str, message: &'static str) -> FieldErrors {
        let mut e = FieldErrors::default();
        let slot = match field {
            "login_name" => &mut e.login_name,
            "mobile" => &mut e.mobile,
            "email" => &mut e.email,
            "captcha" => &mut e.captcha,
            "code" => &mut e.code,
            "confirm_password" => &mut e.confirm_password,
            "reason" => &mut e.reason,
            "unit_name" => &mut e.unit_name,
            "uscc" => &mut e.uscc,
            _ => &mut e.new_password,
        };
        *slot = Some(message);
        e
    }
}

/// The values kept when the form is shown again (never the passwords or the code).
struct Kept<'a> {
    account_type: AccountType,
    login_name: &'a str,
    mobile: &'a str,
    email: &'a str,
    by_email: bool,
    unit_name: &'a str,
    uscc: &'a str,
    reason: &'a str,
}

async fn render(
    state: &AppState,
    headers: &HeaderMap,
    kept: &Kept<'_>,
    error: Option<&str>,
    notice: Option<&str>,
    errors: FieldErrors,
) -> AppResult<Response> {
    let (token, cookie) = csrf::token(state, headers);
    let status = if error.is_some() || errors_any(&errors) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = RecoverPage {
        csrf: &token,
        account_type: kept.account_type.as_str(),
        legal: kept.account_type == AccountType::LegalEntity,
        login_name: kept.login_name,
        mobile: kept.mobile,
        email: kept.email,
        by_email: kept.by_email,
        email_on: state.email.is_on(),
        unit_name: kept.unit_name,
        uscc: kept.uscc,
        reason: kept.reason,
        captcha_id: captcha::issue(&state.store).await?,
        error,
        notice,
        errors,
    };
    Ok(pages::with_cookie(pages::render(status, &page)?, cookie))
}

fn errors_any(e: &FieldErrors) -> bool {
    [
        e.login_name,
        e.mobile,
        e.email,
        e.captcha,
        e.code,
        e.new_password,
        e.confirm_password,
        e.reason,
        e.unit_name,
        e.uscc,
    ]
    .iter()
    .any(Option::is_some)
}

#[derive(Deserialize)]
pub struct RecoverQuery {
    #[serde(default, rename = "type")]
    account_type: String,
}

pub async fn recover_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RecoverQuery>,
) -> AppResult<Response> {
    let kept = Kept {
        account_type: AccountType::parse(&q.account_type).unwrap_or(AccountType::NaturalPerson),
        login_name: "",
        mobile: "",
        email: "",
        by_email: false,
        unit_name: "",
        uscc: "",
        reason: "",
    };
    render(&state, &headers, &kept, None, None, FieldErrors::default()).await
}

pub async fn recover_submit(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<FormFields>,
) -> AppResult<Response> {
    let ip = peer.ip();
    let get = |name: &str| form.get(name).unwrap_or("").trim();
    let mut kept = Kept {
        account_type: AccountType::parse(get("account_type")).unwrap_or(AccountType::NaturalPerson),
        login_name: get("login_name"),
        mobile: get("mobile"),
        email: get("email"),
        // Only where email is offered: a forged field cannot pick a channel that is off.
        by_email: get("method") == "email" && state.email.is_on(),
        unit_name: get("unit_name"),
        uscc: get("uscc"),
        reason: get("reason"),
    };
    if kept.login_name.is_empty() {
        let missing = match kept.account_type {
            AccountType::LegalEntity => IDENTIFIER_MISSING_UNIT,
            AccountType::NaturalPerson => IDENTIFIER_MISSING_PERSON,
        };
        let errors = FieldErrors::set("login_name", missing);
        return render(&state, &headers, &kept, None, None, errors).await;
    }
    // The contact the code goes to, validated and normalised before anything is looked up.
    let (mobile, email);
    let contact = if kept.by_email {
        email = match parse_email(kept.email) {
            Some(e) => e,
            None => {
                let errors = FieldErrors::set("email", "请输入正确的邮箱地址");
                return render(&state, &headers, &kept, None, None, errors).await;
            }
        };
        kept.email = &email;
        RecoveryContact::Email(&email)
    } else {
        mobile = match Mobile::parse(kept.mobile) {
            Ok(m) => m,
            Err(e) => {
                let errors = FieldErrors::set("mobile", e.message());
                return render(&state, &headers, &kept, None, None, errors).await;
            }
        };
        kept.mobile = mobile.as_str();
        RecoveryContact::Mobile(&mobile)
    };
    if form.get("action") == Some("send_code") {
        let captcha = CaptchaAnswer {
            id: get("captcha_id"),
            answer: get("captcha"),
        };
        let outcome = request_recovery_code(
            &state,
            kept.account_type,
            kept.login_name,
            contact,
            captcha,
            ip,
        )
        .await;
        let contact_field = if kept.by_email { "email" } else { "mobile" };
        let sent = if kept.by_email { SENT_EMAIL } else { SENT };
        let (error, notice, errors) = match outcome {
            Ok(SmsSendOutcome::Accepted) => (None, Some(sent), FieldErrors::default()),
            Ok(SmsSendOutcome::TooSoon) => (None, None, FieldErrors::set(contact_field, TOO_SOON)),
            Ok(SmsSendOutcome::Limited) => (Some(LIMITED), None, FieldErrors::default()),
            Err(PasswordError::Field { field, message }) => {
                (None, None, FieldErrors::set(field, message))
            }
            Err(PasswordError::Mismatch) => (Some(MISMATCH), None, FieldErrors::default()),
            Err(PasswordError::Limited) => (Some(LIMITED), None, FieldErrors::default()),
            Err(PasswordError::Internal(e)) => return Err(e.into()),
        };
        return render(&state, &headers, &kept, error, notice, errors).await;
    }
    let claim = RecoveryClaim {
        account_type: kept.account_type,
        identifier: kept.login_name,
        contact,
        unit_name: kept.unit_name,
        uscc: kept.uscc,
    };
    let result = recover_password(
        &state,
        &claim,
        get("code"),
        form.get("new_password").unwrap_or(""),
        form.get("confirm_password").unwrap_or(""),
        kept.reason,
        ip,
    )
    .await;
    match result {
        Ok(_) => done(
            "密码已重置",
            "您的密码已重置，所有设备上的登录均已退出，请使用新密码登录。",
            false,
        ),
        Err(PasswordError::Field { field, message }) => {
            let errors = FieldErrors::set(field, message);
            render(&state, &headers, &kept, None, None, errors).await
        }
        Err(PasswordError::Mismatch) => {
            render(
                &state,
                &headers,
                &kept,
                Some(MISMATCH),
                None,
                FieldErrors::default(),
            )
            .await
        }
        Err(PasswordError::Limited) => {
            render(
                &state,
                &headers,
                &kept,
                Some(LIMITED),
                None,
                FieldErrors::default(),
            )
            .await
        }
        Err(PasswordError::Internal(e)) => Err(e.into()),
    }
}
