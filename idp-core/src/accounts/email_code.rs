//! One-time email codes per (purpose, address), with the rules of the SMS codes
//! ([`super::sms_code`]): 6 digits, valid 5 minutes, single use, at most 5 wrong attempts, one
//! send per address per 60 s, daily caps per address and per client address (`[email]`), all
//! under keyed digests in the short-lived store (`mail:` keys), never the address itself.
//!
//! Callers pass an address already normalised by [`super::profile::normalize_email`]; whether a
//! code goes to an address no account holds is the calling flow's decision.

use std::net::IpAddr;

use super::sms_code::{
    reserve, verify_at, Channel, Destination, SmsCodeError, CODE_TTL_SECS, RESEND_SECS,
};
use crate::{
    providers::email::{mask_email, EmailMessage},
    services::Services,
};

/// What an email code is for. A code sent for one purpose is not valid for another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EmailPurpose {
    /// Proving that the account's email is the holder's (sets `email_verified`).
    VerifyEmail,
    RecoverPassword,
}

impl EmailPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailPurpose::VerifyEmail => "verify_email",
            EmailPurpose::RecoverPassword => "recover_password",
        }
    }

    fn action(self) -> &'static str {
        match self {
            EmailPurpose::VerifyEmail => "验证电子邮箱",
            EmailPurpose::RecoverPassword => "找回密码",
        }
    }
}

/// What the page may tell the user after a send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailReceipt {
    /// `a***@example.com`.
    pub masked_email: String,
    pub expires_at: i64,
    pub resend_at: i64,
}

fn destination<'a>(state: &Services, purpose: EmailPurpose, email: &'a str) -> Destination<'a> {
    let cfg = &state.config.email;
    Destination {
        channel: Channel::Email,
        purpose: purpose.as_str(),
        address: email,
        daily_per_destination: cfg.daily_per_mailbox,
        daily_per_address: cfg.daily_per_address,
    }
}

/// Sends a new code for `purpose` to `email`, replacing any earlier one for the same pair.
pub async fn send_code(
    state: &Services,
    purpose: EmailPurpose,
    email: &str,
    client_ip: IpAddr,
) -> Result<EmailReceipt, SmsCodeError> {
    let sent = send(state, purpose, email, client_ip).await;
    state.metrics.email(match &sent {
        Ok(_) => "sent",
        Err(SmsCodeError::TooSoon { .. } | SmsCodeError::DailyLimit) => "refused",
        Err(_) => "failed",
    });
    sent
}

async fn send(
    state: &Services,
    purpose: EmailPurpose,
    email: &str,
    client_ip: IpAddr,
) -> Result<EmailReceipt, SmsCodeError> {
    if !state.email.is_on() {
        // Nothing reserved: an instance without mail says so before it counts anything.
        return Err(crate::providers::email::EmailError::Off.into());
    }
    let to = destination(state, purpose, email);
    let reserved = reserve(&state.config, &state.store, &state.clock, &to, client_ip).await?;
    let code = super::sms_code::six_digits();
    let minutes = CODE_TTL_SECS / 60;
    let message = EmailMessage {
        to: email.to_owned(),
        subject: format!("{}验证码", purpose.action()),
        body: format!(
            "您好：\n\n您正在{}，验证码为 {code}，{minutes} 分钟内有效。\n\
             如非本人操作，请忽略本邮件，您的账号不会有任何变化。\n\n统一身份认证平台",
            purpose.action()
        ),
    };
    let delivered = state.email.send(&message).await.map_err(SmsCodeError::from);
    let expires_at = reserved.store_code(&state.store, &code, delivered).await?;
    tracing::info!(
        purpose = purpose.as_str(),
        to = %mask_email(email),
        "email code sent"
    );
    Ok(EmailReceipt {
        masked_email: mask_email(email),
        expires_at,
        resend_at: reserved.now + RESEND_SECS,
    })
}

/// Checks `code` and consumes it on success. Of two concurrent verifications of one code at
/// most one succeeds.
pub async fn verify_code(
    state: &Services,
    purpose: EmailPurpose,
    email: &str,
    code: &str,
) -> Result<(), SmsCodeError> {
    let to = destination(state, purpose, email);
    verify_at(&state.config, &state.store, &state.clock, &to, code).await
}
