//! Changes a signed-in user makes to their own account in the account console: the reserved
//! email (proved, when the instance sends email, by a code sent to it), the reserved mobile (proved by an SMS code to the new number and the current
//! password) and, once, a login name in place of a generated one. Each change is written to
//! the 信息更新记录 (masked) and to the audit log (without the values).
//!
//! Real name and ID number are not changed here: they change only through re-verification.

use tongyi_shared::{
    mask,
    validate::{LoginName, Mobile},
};

use super::{
    email_code::{self, EmailPurpose},
    password,
    sms_code::{self, SmsCodeError, SmsPurpose},
};
use crate::{
    audit::{self, AuditEntry, AuditEvent},
    failure::Failure,
    services::Services,
    store::{
        self,
        accounts::Account,
        identities::{self, CreateError},
        info_updates::InfoUpdate,
    },
};

/// Wrong current passwords accepted per account in [`PASSWORD_WINDOW_SECS`] before the
/// console stops checking them.
const MAX_PASSWORD_FAILURES: i64 = 5;
const PASSWORD_WINDOW_SECS: i64 = 900;

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A field was rejected: (field name, Chinese message).
    #[error("invalid field {0}")]
    Field(&'static str, String),
    #[error(transparent)]
    App(Failure),
}

/// Every failure of ours (storage, the short-lived store) is a [`Failure`].
impl<E: Into<Failure>> From<E> for ProfileError {
    fn from(e: E) -> Self {
        ProfileError::App(e.into())
    }
}

fn field(name: &'static str, message: &str) -> ProfileError {
    ProfileError::Field(name, message.to_owned())
}

/// An email address as the console accepts it: one `@`, a non-empty local part, a dotted
/// domain, no spaces, at most 254 characters. Returned lower-cased in its domain.
pub fn parse_email(input: &str) -> Option<String> {
    let s = input.trim();
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = s.split_once('@')?;
    let labels_ok = domain
        .split('.')
        .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'));
    let ok = !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && labels_ok;
    ok.then(|| format!("{local}@{}", domain.to_lowercase()))
}

/// An email masked for pages and the update record: `a***@example.com`.
pub use tongyi_shared::mask::mask_email;

async fn record_update(
    state: &Services,
    account: &Account,
    field: &str,
    old: String,
    new: String,
) -> Result<(), crate::store::StoreError> {
    store::info_updates::record(
        &state.db,
        &InfoUpdate {
            account_id: Some(account.id.clone()),
            org_id: None,
            actor_account_id: Some(account.id.clone()),
            field: field.to_owned(),
            old_value: old,
            new_value: new,
            at: state.clock.now(),
        },
    )
    .await
}

/// Replaces the reserved email (no re-verification, SPEC §4).
pub async fn change_email(
    state: &Services,
    account: &Account,
    input: &str,
) -> Result<(), ProfileError> {
    let email = parse_email(input).ok_or_else(|| field("email", "请输入正确的邮箱地址"))?;
    let (_, old) = identities::contact_of(&state.pii, account);
    if old.as_deref() == Some(email.as_str()) {
        return Err(field("email", "新邮箱与当前邮箱相同"));
    }
    match identities::set_email(
        &state.db,
        &state.pii,
        &account.id,
        Some(&email),
        state.clock.now(),
    )
    .await
    {
        Ok(()) => {}
        Err(CreateError::Taken(_)) => return Err(field("email", "该邮箱已被其他账号使用")),
        Err(CreateError::Db(e)) => return Err(e.into()),
    }
    record_update(
        state,
        account,
        "email",
        old.as_deref().map(mask_email).unwrap_or_default(),
        mask_email(&email),
    )
    .await?;
    audit::record(
        state,
        AuditEntry::new(AuditEvent::ContactChanged)
            .by_subject(&account.id)
            .detail("field", "email"),
    )
    .await;
    Ok(())
}

/// Sends a code to the account's reserved email, to prove it is the holder's. Returns the
/// masked address.
pub async fn send_email_code(
    state: &Services,
    account: &Account,
    ip: std::net::IpAddr,
) -> Result<String, ProfileError> {
    let (_, email) = identities::contact_of(&state.pii, account);
    let Some(email) = email else {
        return Err(field("email_code", "请先保存邮箱"));
    };
    if account.email_verified {
        return Err(field("email_code", "邮箱已验证"));
    }
    match email_code::send_code(state, EmailPurpose::VerifyEmail, &email, ip).await {
        Ok(receipt) => Ok(receipt.masked_email),
        Err(e @ SmsCodeError::Internal(_)) => {
            Err(ProfileError::App(Failure::Internal(e.to_string())))
        }
        Err(e) => Err(ProfileError::Field("email_code", e.user_message())),
    }
}

/// Proves the reserved email with the code sent to it: `email_verified` from then on, until
/// the email is changed.
pub async fn verify_email(
    state: &Services,
    account: &Account,
    code: &str,
) -> Result<(), ProfileError> {
    let (_, email) = identities::contact_of(&state.pii, account);
    let Some(email) = email else {
        return Err(field("email_code", "请先保存邮箱"));
    };
    if code.trim().is_empty() {
        return Err(field("email_code", "请输入邮件中的验证码"));
    }
    match email_code::verify_code(state, EmailPurpose::VerifyEmail, &email, code.trim()).await {
        Ok(()) => {}
        Err(e @ SmsCodeError::Internal(_)) => {
            return Err(ProfileError::App(Failure::Internal(e.to_string())))
        }
        Err(e) => return Err(ProfileError::Field("email_code", e.user_message())),
    }
    if !identities::mark_email_verified(
        &state.db,
        &state.pii,
        &account.id,
        &email,
        state.clock.now(),
    )
    .await?
    {
        // Changed meanwhile in another tab: the code proved the old address only.
        return Err(field("email_code", "邮箱已更改，请重新获取验证码"));
    }
    audit::record(
        state,
        AuditEntry::new(AuditEvent::ContactChanged)
            .by_subject(&account.id)
            .detail("field", "email_verified"),
    )
    .await;
    Ok(())
}

/// Sends the code that proves the new mobile.
pub async fn send_mobile_code(
    state: &Services,
    input: &str,
    ip: std::net::IpAddr,
) -> Result<String, ProfileError> {
    let mobile = Mobile::parse(input).map_err(|e| field("mobile", e.message()))?;
    match sms_code::send_code(state, SmsPurpose::ChangeMobile, mobile.as_str(), ip).await {
        Ok(receipt) => Ok(receipt.masked_mobile),
        Err(e) => Err(ProfileError::Field("sms_code", e.user_message())),
    }
}

/// Replaces the reserved mobile: the current password and the code sent to the new mobile
/// must both be right. The password is checked first, so a wrong password spends no code.
pub async fn change_mobile(
    state: &Services,
    account: &Account,
    input: &str,
    code: &str,
    current_password: &str,
) -> Result<(), ProfileError> {
    let mobile = Mobile::parse(input).map_err(|e| field("mobile", e.message()))?;
    let (old, _) = identities::contact_of(&state.pii, account);
    if old.as_deref() == Some(mobile.as_str()) {
        return Err(field("mobile", "新手机号与当前手机号相同"));
    }
    if code.trim().is_empty() {
        return Err(field("sms_code", "请输入短信验证码"));
    }
    if current_password.is_empty() {
        return Err(field("password", "请输入当前密码"));
    }
    let key = format!("console:pwd:{}", account.id);
    let failures = state
        .store
        .get(&key)
        .await?
        .and_then(|v| v.parse::<i64>().ok());
    if failures.unwrap_or(0) >= MAX_PASSWORD_FAILURES {
        return Err(field("password", "密码错误次数过多，请稍后再试"));
    }
    if !password::verify(
        state,
        current_password.to_owned(),
        Some(account.password_hash.clone()),
    )
    .await
    {
        state.store.incr(&key, PASSWORD_WINDOW_SECS).await?;
        return Err(field("password", "当前密码错误"));
    }
    match sms_code::verify_code(
        state,
        SmsPurpose::ChangeMobile,
        mobile.as_str(),
        code.trim(),
    )
    .await
    {
        Ok(()) => {}
        Err(e @ SmsCodeError::Internal(_)) => {
            return Err(ProfileError::App(Failure::Internal(e.to_string())))
        }
        Err(e) => return Err(ProfileError::Field("sms_code", e.user_message())),
    }
    match identities::set_mobile(
        &state.db,
        &state.pii,
        &account.id,
        mobile.as_str(),
        state.clock.now(),
    )
    .await
    {
        Ok(()) => {}
        Err(CreateError::Taken(_)) => return Err(field("mobile", "该手机号已被其他账号预留")),
        Err(CreateError::Db(e)) => return Err(e.into()),
    }
    record_update(
        state,
        account,
        "mobile",
        old.as_deref().map(mask::mask_mobile).unwrap_or_default(),
        mobile.masked(),
    )
    .await?;
    audit::record(
        state,
        AuditEntry::new(AuditEvent::ContactChanged)
            .by_subject(&account.id)
            .detail("field", "mobile"),
    )
    .await;
    Ok(())
}

/// Sets the login name of an account whose name was generated; refused once chosen.
pub async fn choose_login_name(
    state: &Services,
    account: &Account,
    input: &str,
) -> Result<(), ProfileError> {
    if account.login_name_chosen {
        return Err(field("login_name", "登录账号已设置，不能再次修改"));
    }
    let name = LoginName::parse(input).map_err(|e| field("login_name", e.message()))?;
    match store::accounts::choose_login_name(
        &state.db,
        &account.id,
        name.as_str(),
        state.clock.now(),
    )
    .await?
    {
        Some(true) => {}
        Some(false) => return Err(field("login_name", "登录账号已设置，不能再次修改")),
        None => return Err(field("login_name", "该账号名已被使用")),
    }
    record_update(
        state,
        account,
        "login_name",
        account.login_name.clone(),
        name.as_str().to_owned(),
    )
    .await?;
    audit::record(
        state,
        AuditEntry::new(AuditEvent::LoginNameChosen).by_subject(&account.id),
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_masked() {
        assert_eq!(
            parse_email(" Bob@Example.COM ").as_deref(),
            Some("Bob@example.com")
        );
        for bad in [
            "",
            "bob",
            "bob@",
            "@example.com",
            "bob@example",
            "a b@x.cn",
            "a@b@c.cn",
            "a@x..cn",
        ] {
            assert_eq!(parse_email(bad), None, "{bad}");
        }
        assert_eq!(mask_email("alice@example.com"), "a***@example.com");
    }
}
