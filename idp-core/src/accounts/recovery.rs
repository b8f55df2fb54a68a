//! Setting a new password three ways: the user changes it (knowing the current one), the user
//! recovers it by any identifier the login page takes + the reserved mobile and an SMS code, or
//! the verified email and an email code (找回密码, 验证方式 手机号 / 电子邮箱), or a unit admin resets a
//! member's password to a temporary one sent by email or SMS that the next login must replace.
//! Each ends sessions: a change keeps only the session that made it; a recovery and a reset
//! end them all, with their refresh tokens.

use std::net::IpAddr;

use tongyi_shared::{
    claims::AccountType,
    validate::{Mobile, NewPassword},
};

use crate::{
    accounts::{
        captcha::{self, CaptchaAnswer},
        email_code::{self, EmailPurpose},
        login::{admit_code_request, request_sms_code, SmsSendOutcome},
        password,
        sessions::end_all,
        sms_code::{self, SmsCodeError, SmsPurpose},
    },
    audit::{self, AuditEntry, AuditEvent},
    failure::{Failure, FailureResult},
    providers::{email::EmailMessage, sms::SmsMessage},
    services::Services,
    store::{self, accounts::Account, identities, info_updates::InfoUpdate},
};

/// A form field that was refused, with the Chinese sentence to show next to it.
#[derive(Debug)]
pub enum PasswordError {
    Field {
        field: &'static str,
        message: &'static str,
    },
    /// Recovery: the login name, mobile, unit or code did not match ("信息不匹配或验证码错误").
    Mismatch,
    /// Too many attempts from this address or for this account; try later.
    Limited,
    Internal(Failure),
}

/// Every failure of ours (storage, the short-lived store) is a [`Failure`].
impl<E: Into<Failure>> From<E> for PasswordError {
    fn from(e: E) -> Self {
        PasswordError::Internal(e.into())
    }
}

fn field(field: &'static str, message: &'static str) -> PasswordError {
    PasswordError::Field { field, message }
}

/// Checks a new password against the policy; a mismatched confirmation is the confirmation
/// field's error, everything else the new password's.
fn new_password(new: &str, confirm: &str, login_name: &str) -> Result<NewPassword, PasswordError> {
    NewPassword::parse(new, confirm, Some(login_name)).map_err(|e| {
        let f = if e.code() == "password.confirmation" {
            "confirm_password"
        } else {
            "new_password"
        };
        field(f, e.message())
    })
}

async fn hash(state: &Services, password: &str) -> FailureResult<String> {
    let cfg = state.config.login.clone();
    let pw = password.to_owned();
    tokio::task::spawn_blocking(move || password::hash_blocking(&pw, &cfg))
        .await
        .map_err(|e| Failure::Internal(e.to_string()))?
        .map_err(Failure::Internal)
}

/// Wrong current passwords allowed per account within the login failure window.
const CHANGE_ATTEMPTS: i64 = 5;

/// The signed-in user changes their password. Clears a forced change; every other session of
/// the account ends, with its refresh tokens.
pub async fn change_password(
    state: &Services,
    account: &Account,
    current_sid: &str,
    current: &str,
    new: &str,
    confirm: &str,
    ip: IpAddr,
) -> Result<(), PasswordError> {
    if current.is_empty() {
        return Err(field("current_password", "请输入当前密码"));
    }
    let checked = new_password(new, confirm, &account.login_name)?;
    let attempts_key = format!("pwchange:fail:{}", account.id);
    let attempts = state
        .store
        .get(&attempts_key)
        .await?
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    if attempts >= CHANGE_ATTEMPTS {
        return Err(PasswordError::Limited);
    }
    let ok = password::verify(
        state,
        current.to_owned(),
        Some(account.password_hash.clone()),
    )
    .await;
    if !ok {
        state
            .store
            .incr(&attempts_key, state.config.login.window_secs)
            .await?;
        return Err(field("current_password", "当前密码错误"));
    }
    if checked.expose() == current {
        return Err(field("new_password", "新密码不能与当前密码相同"));
    }
    state.store.delete(&attempts_key).await?;
    let hashed = hash(state, checked.expose()).await?;
    let now = state.clock.now();
    store::accounts::set_password(&state.db, &account.id, &hashed, false, now).await?;
    end_all(state, &account.id, Some(current_sid), "password_changed").await?;
    let entry = AuditEntry::new(AuditEvent::PasswordChanged)
        .by_subject(&account.id)
        .ip(ip)
        .detail("method", "change")
        .detail("forced", account.must_change_password);
    audit::record(state, entry).await;
    Ok(())
}

/// What a recovery names: the account by its type and any identifier the login page's tab of
/// that type takes (login name, reserved mobile or email, ID number for a natural person,
/// USCC for a legal entity), its reserved mobile, and for a legal entity the unit's name and
/// USCC.
pub struct RecoveryClaim<'a> {
    pub account_type: AccountType,
    pub identifier: &'a str,
    pub contact: RecoveryContact<'a>,
    pub unit_name: &'a str,
    pub uscc: &'a str,
}

/// Where the recovery code goes (验证方式): the reserved mobile, or the reserved email once it
/// was proven (an unproven address may be a typo that is someone else's mailbox).
#[derive(Clone, Copy, Debug)]
pub enum RecoveryContact<'a> {
    Mobile(&'a Mobile),
    /// Normalised by [`super::profile::parse_email`].
    Email(&'a str),
}

impl RecoveryContact<'_> {
    /// Whether `account` reserves this contact (for an email: and proved it).
    fn belongs_to(&self, state: &Services, account: &Account) -> bool {
        let (mobile, email) = identities::contact_of(&state.pii, account);
        match self {
            RecoveryContact::Mobile(m) => mobile.as_deref() == Some(m.as_str()),
            RecoveryContact::Email(e) => account.email_verified && email.as_deref() == Some(*e),
        }
    }
}

/// The account a recovery claim names, when every part matches.
async fn claimed_account(
    state: &Services,
    c: &RecoveryClaim<'_>,
) -> FailureResult<Option<Account>> {
    let Some(account) = recovery_account(state, c.account_type, c.identifier).await? else {
        return Ok(None);
    };
    if !account.is_active() || !c.contact.belongs_to(state, &account) {
        return Ok(None);
    }
    if c.account_type == AccountType::LegalEntity {
        let Some(org) = &account.org else {
            return Ok(None);
        };
        let same_name =
            identities::unit_name_key(&org.name) == identities::unit_name_key(c.unit_name);
        let same_uscc = org
            .uscc
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case(c.uscc.trim()));
        if !same_name || !same_uscc {
            return Ok(None);
        }
    }
    Ok(Some(account))
}

/// The account of `account_type` that `identifier` names, resolved exactly as the login page's
/// tab of that type resolves it, so that whatever logs in also recovers (a quick registration's
/// user knows only the mobile, not the generated login name).
async fn recovery_account(
    state: &Services,
    account_type: AccountType,
    identifier: &str,
) -> FailureResult<Option<Account>> {
    Ok(identities::find_by_identifier(&state.db, &state.pii, account_type, identifier).await?)
}

/// The captcha field's message on the recovery form.
const CAPTCHA_WRONG: &str = "图形验证码错误，请重新输入。";

/// Step one of 找回密码: once the image captcha is answered (a wrong or missing answer is the
/// `captcha` field's error, and nothing is looked up or counted), a code goes to the contact
/// only when the identifier (and, for a legal entity, nothing else yet) and the contact match
/// an account; the answer never says.
pub async fn request_recovery_code(
    state: &Services,
    account_type: AccountType,
    identifier: &str,
    contact: RecoveryContact<'_>,
    captcha: CaptchaAnswer<'_>,
    ip: IpAddr,
) -> Result<SmsSendOutcome, PasswordError> {
    if captcha::check_required(&state.store, Some(captcha))
        .await?
        .is_err()
    {
        return Err(field("captcha", CAPTCHA_WRONG));
    }
    let account = recovery_account(state, account_type, identifier)
        .await?
        .filter(|a| contact.belongs_to(state, a));
    match contact {
        RecoveryContact::Mobile(mobile) => Ok(request_sms_code(
            state,
            SmsPurpose::RecoverPassword,
            account.as_ref(),
            mobile,
            ip,
        )
        .await?),
        RecoveryContact::Email(email) => {
            Ok(request_email_code(state, account.as_ref(), email, ip).await?)
        }
    }
}

/// Email recovery codes per address and hour, matching accounts or not.
const EMAIL_REQUESTS_PER_ADDRESS_HOUR: i64 = 20;

/// [`request_sms_code`] for an email: the same limits before anything is looked at, so the
/// answer is the same whether an account matched.
async fn request_email_code(
    state: &Services,
    account: Option<&Account>,
    email: &str,
    ip: IpAddr,
) -> Result<SmsSendOutcome, Failure> {
    let key = state.pii.lookup_key(crate::pii::PiiField::Email, email);
    let digest = crate::crypto::sha256_hex(key.as_bytes());
    let limit = EMAIL_REQUESTS_PER_ADDRESS_HOUR;
    if let Some(refused) = admit_code_request(state, "mailreq:recover", &digest, ip, limit).await? {
        return Ok(refused);
    }
    if let Some(a) = account.filter(|a| a.is_active()) {
        match email_code::send_code(state, EmailPurpose::RecoverPassword, email, ip).await {
            Ok(_) => {}
            Err(SmsCodeError::Internal(e)) => return Err(Failure::Internal(e)),
            Err(e) => tracing::warn!(account_id = %a.id, error = %e, "email code not sent"),
        }
    }
    Ok(SmsSendOutcome::Accepted)
}

/// Recovery attempts per address and hour.
const RECOVERIES_PER_ADDRESS_HOUR: i64 = 10;

/// Step two of 找回密码: the code, a new password and the reason. Every session of the
/// account ends, with its refresh tokens. Returns the account's id.
#[allow(clippy::too_many_arguments)]
pub async fn recover_password(
    state: &Services,
    claim: &RecoveryClaim<'_>,
    code: &str,
    new: &str,
    confirm: &str,
    reason: &str,
    ip: IpAddr,
) -> Result<String, PasswordError> {
    // Against what was typed first, so that a policy error leaves the code usable; the
    // account's own login name (when another identifier was typed) once it is known below.
    let checked = new_password(new, confirm, claim.identifier)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(field("reason", "请填写找回密码的原因"));
    }
    if reason.chars().count() > 200 {
        return Err(field("reason", "原因不能超过200个字"));
    }
    if claim.account_type == AccountType::LegalEntity {
        if claim.unit_name.trim().is_empty() {
            return Err(field("unit_name", "请输入单位名称"));
        }
        if claim.uscc.trim().is_empty() {
            return Err(field("uscc", "请输入统一社会信用代码"));
        }
    }
    if code.trim().is_empty() {
        return Err(field(
            "code",
            match claim.contact {
                RecoveryContact::Mobile(_) => "请输入短信验证码",
                RecoveryContact::Email(_) => "请输入邮件验证码",
            },
        ));
    }
    let by_address = format!("recover:ip:{ip}");
    if state.store.incr(&by_address, 3600).await? > RECOVERIES_PER_ADDRESS_HOUR {
        return Err(PasswordError::Limited);
    }
    // Everything else is compared before the code is used, so that a mistyped unit name or
    // USCC can be corrected and sent again with the same code. A mismatch and a wrong code
    // get the same answer; the code's attempts are counted only against a matching claim.
    let Some(account) = claimed_account(state, claim).await? else {
        let entry = AuditEntry::new(AuditEvent::PasswordChanged)
            .ip(ip)
            .detail("method", "recovery")
            .detail("outcome", "mismatch");
        audit::record(state, entry).await;
        return Err(PasswordError::Mismatch);
    };
    // The account's own login name too, when another identifier was typed, before the code
    // is spent.
    let checked = new_password(checked.expose(), confirm, &account.login_name)?;
    let verified = match claim.contact {
        RecoveryContact::Mobile(mobile) => {
            sms_code::verify_code(
                state,
                SmsPurpose::RecoverPassword,
                mobile.as_str(),
                code.trim(),
            )
            .await
        }
        RecoveryContact::Email(email) => {
            email_code::verify_code(state, EmailPurpose::RecoverPassword, email, code.trim()).await
        }
    };
    match verified {
        Ok(()) => {}
        Err(SmsCodeError::Internal(e)) => return Err(Failure::Internal(e).into()),
        Err(_) => return Err(PasswordError::Mismatch),
    }
    let hashed = hash(state, checked.expose()).await?;
    let now = state.clock.now();
    store::accounts::set_password(&state.db, &account.id, &hashed, false, now).await?;
    end_all(state, &account.id, None, "password_reset").await?;
    store::info_updates::record(
        &state.db,
        &InfoUpdate {
            account_id: Some(account.id.clone()),
            org_id: None,
            actor_account_id: Some(account.id.clone()),
            field: "password".into(),
            old_value: String::new(),
            new_value: format!("找回密码：{reason}"),
            at: now,
        },
    )
    .await?;
    let entry = AuditEntry::new(AuditEvent::PasswordChanged)
        .by_subject(&account.id)
        .ip(ip)
        .detail("method", "recovery");
    audit::record(state, entry).await;
    Ok(account.id)
}

/// Why a unit admin's reset did not happen.
#[derive(Debug)]
pub enum ResetError {
    /// The member has neither a verified email (where email is sent) nor a reserved mobile to
    /// send the temporary password to.
    NoMobile,
    /// The message could not be delivered; the password is unchanged.
    Delivery(ResetChannel),
    Internal(Failure),
}

/// How a temporary password went to the member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetChannel {
    Sms,
    Email,
}

/// Every failure of ours (storage, the short-lived store) is a [`Failure`].
impl<E: Into<Failure>> From<E> for ResetError {
    fn from(e: E) -> Self {
        ResetError::Internal(e.into())
    }
}

/// A random password that meets the policy: 12 characters with all four classes.
pub fn temporary_password() -> String {
    const UPPER: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const DIGIT: &[u8] = b"23456789";
    const SPECIAL: &[u8] = b"#%+=@";
    const ALL: [&[u8]; 4] = [UPPER, LOWER, DIGIT, SPECIAL];
    let mut random = [0u8; 24];
    openssl::rand::rand_bytes(&mut random).expect("the OS random source failed");
    let mut out: Vec<u8> = (0..12)
        .map(|i| {
            let set = ALL[i % 4];
            set[usize::from(random[i]) % set.len()]
        })
        .collect();
    // Shuffle so the classes do not sit at fixed positions.
    for i in (1..out.len()).rev() {
        let j = usize::from(random[12 + i]) % (i + 1);
        out.swap(i, j);
    }
    String::from_utf8(out).unwrap_or_default()
}

/// A unit admin (or platform admin) `actor` resets `member`'s password: a temporary one goes
/// to the member's verified email when this instance sends email (seed 001 sends it by
/// email), else by SMS to the reserved mobile; the next login must replace it, and every
/// session of the member ends. The password is never returned.
pub async fn admin_reset(
    state: &Services,
    actor: &str,
    member: &Account,
) -> Result<ResetChannel, ResetError> {
    let (mobile, email) = identities::contact_of(&state.pii, member);
    let email = email.filter(|_| member.email_verified && state.email.is_on());
    // The verified email first (seed 001 sends it by email), else the reserved mobile.
    let (channel, address) = match (email, mobile) {
        (Some(email), _) => (ResetChannel::Email, email),
        (None, Some(mobile)) => (ResetChannel::Sms, mobile),
        (None, None) => return Err(ResetError::NoMobile),
    };
    let temporary = temporary_password();
    let hashed = hash(state, &temporary).await?;
    let text =
        format!("您的账号密码已由单位管理员重置，临时密码为 {temporary}，请登录后立即修改。");
    // Sent before it is stored: an undelivered password must not replace the working one.
    let sent = match channel {
        ResetChannel::Email => state
            .email
            .send(&EmailMessage {
                to: address,
                subject: "账号密码已重置".into(),
                body: format!(
                    "您好：\n\n{text}\n如有疑问，请联系本单位管理员。\n\n统一身份认证平台"
                ),
            })
            .await
            .map_err(|e| e.to_string()),
        ResetChannel::Sms => state
            .sms
            .send(&SmsMessage {
                mobile: address,
                template: state.config.sms.templates.member_password_reset.clone(),
                params: [("password".to_owned(), temporary.clone())]
                    .into_iter()
                    .collect(),
                text,
            })
            .await
            .map_err(|e| e.to_string()),
    };
    if let Err(error) = sent {
        tracing::warn!(account_id = %member.id, %error, "temporary password not delivered");
        return Err(ResetError::Delivery(channel));
    }
    let now = state.clock.now();
    store::accounts::set_password(&state.db, &member.id, &hashed, true, now).await?;
    end_all(state, &member.id, None, "password_reset").await?;
    let entry = AuditEntry::new(AuditEvent::PasswordChanged)
        .actor(actor)
        .subject(&member.id)
        .detail("method", "admin_reset")
        .detail(
            "sent_by",
            match channel {
                ResetChannel::Sms => "sms",
                ResetChannel::Email => "email",
            },
        );
    audit::record(state, entry).await;
    Ok(channel)
}

#[cfg(test)]
mod tests {
    use super::temporary_password;
    use tongyi_shared::validate::check_new_password;

    #[test]
    fn temporary_passwords_meet_the_policy_and_differ() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 {
            let p = temporary_password();
            assert_eq!(p.len(), 12);
            check_new_password(&p, &p, Some("alice")).unwrap();
            seen.insert(p);
        }
        assert_eq!(seen.len(), 500);
    }
}
