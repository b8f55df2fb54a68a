//! `/recover` (找回密码): tabs 自然人 / 法人. Step one: any identifier the login page's tab
//! takes (login name, mobile, email, and ID number or USCC) + 验证方式 (the reserved mobile, or
//! the verified email when this instance sends email) + image captcha → `action=send_code`
//! sends a code only when they match an account, with the same answer either way. Step two: code + new password + confirmation + reason (+ unit name and
//! USCC for a legal entity) → the password is set and every session of the account ends.
//! Any mismatch gets one message: "信息不匹配或验证码错误".

use std::net::IpAddr;

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
    Failure, FieldErrors,
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

/// What the form is shown again with: a message for the whole form, a notice, or messages by
/// field.
#[derive(Default)]
struct Answer {
    error: Option<&'static str>,
    notice: Option<&'static str>,
    errors: FieldErrors,
}

impl Answer {
    fn field(field: &'static str, message: &'static str) -> Answer {
        Answer {
            errors: FieldErrors::one(field, message),
            ..Answer::default()
        }
    }

    fn error(message: &'static str) -> Answer {
        Answer {
            error: Some(message),
            ..Answer::default()
        }
    }

    fn of(e: PasswordError) -> Result<Answer, Failure> {
        Ok(match e {
            PasswordError::Field { field, message } => Answer::field(field, message),
            PasswordError::Mismatch => Answer::error(MISMATCH),
            PasswordError::Limited => Answer::error(LIMITED),
            PasswordError::Internal(e) => return Err(e),
        })
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

impl<'a> Kept<'a> {
    fn read(form: &'a FormFields, email_on: bool) -> Kept<'a> {
        let get = |name: &str| form.get(name).unwrap_or("").trim();
        Kept {
            account_type: AccountType::parse(get("account_type"))
                .unwrap_or(AccountType::NaturalPerson),
            login_name: get("login_name"),
            mobile: get("mobile"),
            email: get("email"),
            // Only where email is offered: a forged field cannot pick a channel that is off.
            by_email: get("method") == "email" && email_on,
            unit_name: get("unit_name"),
            uscc: get("uscc"),
            reason: get("reason"),
        }
    }
}

/// The contact the code goes to, validated and normalised before anything is looked up.
enum Contact {
    Mobile(Mobile),
    Email(String),
}

impl Contact {
    /// The identifier and the contact of the first step, or what is wrong with them.
    fn parse(kept: &Kept<'_>) -> Result<Contact, Answer> {
        if kept.login_name.is_empty() {
            let missing = match kept.account_type {
                AccountType::LegalEntity => IDENTIFIER_MISSING_UNIT,
                AccountType::NaturalPerson => IDENTIFIER_MISSING_PERSON,
            };
            return Err(Answer::field("login_name", missing));
        }
        if kept.by_email {
            parse_email(kept.email)
                .map(Contact::Email)
                .ok_or_else(|| Answer::field("email", "请输入正确的邮箱地址"))
        } else {
            Mobile::parse(kept.mobile)
                .map(Contact::Mobile)
                .map_err(|e| Answer::field("mobile", e.message()))
        }
    }

    fn as_recovery(&self) -> RecoveryContact<'_> {
        match self {
            Contact::Mobile(m) => RecoveryContact::Mobile(m),
            Contact::Email(e) => RecoveryContact::Email(e),
        }
    }
}

async fn render(
    state: &AppState,
    headers: &HeaderMap,
    kept: &Kept<'_>,
    answer: Answer,
) -> AppResult<Response> {
    let (token, cookie) = csrf::token(state, headers);
    let status = if answer.error.is_some() || !answer.errors.is_empty() {
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
        error: answer.error,
        notice: answer.notice,
        errors: answer.errors,
    };
    Ok(pages::with_cookie(pages::render(status, &page)?, cookie))
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
    render(&state, &headers, &kept, Answer::default()).await
}

pub async fn recover_submit(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<FormFields>,
) -> AppResult<Response> {
    let mut kept = Kept::read(&form, state.email.is_on());
    let contact = match Contact::parse(&kept) {
        Ok(c) => c,
        Err(answer) => return render(&state, &headers, &kept, answer).await,
    };
    match &contact {
        Contact::Mobile(m) => kept.mobile = m.as_str(),
        Contact::Email(e) => kept.email = e,
    }
    let answer = if form.get("action") == Some("send_code") {
        send_code(&state, &form, &kept, &contact, peer.ip()).await?
    } else {
        match reset(&state, &form, &kept, &contact, peer.ip()).await? {
            Some(answer) => answer,
            None => {
                return done(
                    "密码已重置",
                    "您的密码已重置，所有设备上的登录均已退出，请使用新密码登录。",
                    false,
                )
            }
        }
    };
    render(&state, &headers, &kept, answer).await
}

/// Step one: a code to the contact, when it matches the account.
async fn send_code(
    state: &AppState,
    form: &FormFields,
    kept: &Kept<'_>,
    contact: &Contact,
    ip: IpAddr,
) -> Result<Answer, Failure> {
    let captcha = CaptchaAnswer {
        id: form.get("captcha_id").unwrap_or("").trim(),
        answer: form.get("captcha").unwrap_or("").trim(),
    };
    let outcome = request_recovery_code(
        state,
        kept.account_type,
        kept.login_name,
        contact.as_recovery(),
        captcha,
        ip,
    )
    .await;
    let contact_field = if kept.by_email { "email" } else { "mobile" };
    match outcome {
        Ok(SmsSendOutcome::Accepted) => Ok(Answer {
            notice: Some(if kept.by_email { SENT_EMAIL } else { SENT }),
            ..Answer::default()
        }),
        Ok(SmsSendOutcome::TooSoon) => Ok(Answer::field(contact_field, TOO_SOON)),
        Ok(SmsSendOutcome::Limited) => Ok(Answer::error(LIMITED)),
        Err(e) => Answer::of(e),
    }
}

/// Step two: the code and the new password; `None` once the password is set.
async fn reset(
    state: &AppState,
    form: &FormFields,
    kept: &Kept<'_>,
    contact: &Contact,
    ip: IpAddr,
) -> Result<Option<Answer>, Failure> {
    let claim = RecoveryClaim {
        account_type: kept.account_type,
        identifier: kept.login_name,
        contact: contact.as_recovery(),
        unit_name: kept.unit_name,
        uscc: kept.uscc,
    };
    let result = recover_password(
        state,
        &claim,
        form.get("code").unwrap_or("").trim(),
        form.get("new_password").unwrap_or(""),
        form.get("confirm_password").unwrap_or(""),
        kept.reason,
        ip,
    )
    .await;
    match result {
        Ok(_) => Ok(None),
        Err(e) => Answer::of(e).map(Some),
    }
}
