//! Login by password (login name, or on a type's tab any identifier of that type) and by SMS
//! code, with throttling per identifier typed, per client address and per pair (the rules are
//! in [`login_throttle`]), and for passwords the captcha those rules call for. Unknown accounts, wrong
//! passwords or codes, and accounts of the other type fail the same way, after the same work,
//! so that the answer reveals nothing. Only the right password of a disabled account is told
//! that it is disabled and whom to ask (a member: its unit's admin; anyone else: the
//! platform's), since whoever knows the password learns nothing new. Every outcome is recorded in the
//! audit log, where the reasons are told apart; an identifier that matches no account appears
//! there only as its keyed lookup hash.

use std::net::IpAddr;

use tongyi_shared::{claims::AccountType, validate::Mobile};

use super::login_throttle::{self, name_account};
use crate::{
    accounts::{
        captcha::{self, CaptchaAnswer, CaptchaRefusal},
        sms_code::{self, SmsCodeError, SmsPurpose},
    },
    audit::{self, AuditEntry, AuditEvent},
    crypto,
    failure::Failure,
    pii::PiiField,
    services::Services,
    store::{self, accounts::Account},
};

#[derive(Debug)]
pub enum LoginFailure {
    /// Unknown account or wrong password (or code): one message for all.
    Invalid,
    /// The password was right but the account is disabled. Only someone who knows the password
    /// learns this, and they need to know whom to ask: the admin of `unit` when the account is
    /// a member of one, else the platform's administrators.
    Disabled {
        unit: Option<String>,
    },
    /// Too many failures of this identifier from this address: the next attempt may come in
    /// this many seconds. No password was checked.
    Throttled {
        retry_after_secs: i64,
    },
    /// Recent failures call for a captcha and none was answered; no password was checked.
    CaptchaMissing,
    /// Recent failures call for a captcha and its answer was wrong; no password was checked.
    CaptchaWrong,
    Internal(Failure),
}

/// Every failure of ours (storage, the short-lived store) is a [`Failure`].
impl<E: Into<Failure>> From<E> for LoginFailure {
    fn from(e: E) -> Self {
        LoginFailure::Internal(e.into())
    }
}

/// A password login attempt.
#[derive(Clone, Copy, Debug)]
pub struct PasswordLogin<'a> {
    /// The tab the form was sent from: the identifier may then be the login name, the
    /// reserved mobile or email, or the ID number (natural persons) / USCC (legal entities),
    /// and an account of the other type fails exactly like an unknown one. `None` (the form
    /// without a type, and tools that name an account by its login name): the login name of
    /// an account of either type.
    pub account_type: Option<AccountType>,
    pub identifier: &'a str,
    pub password: &'a str,
    /// The captcha the form carried; looked at only when recent failures call for one
    /// ([`login_throttle::captcha_required`]).
    pub captcha: Option<CaptchaAnswer<'a>>,
    pub ip: IpAddr,
}

impl<'a> PasswordLogin<'a> {
    /// By login name, whatever the account's type, without a captcha.
    pub fn by_login_name(login_name: &'a str, password: &'a str, ip: IpAddr) -> Self {
        PasswordLogin {
            account_type: None,
            identifier: login_name,
            password,
            captcha: None,
            ip,
        }
    }

    /// On the tab of `account_type`, by any identifier of that type, without a captcha.
    pub fn on_tab(
        account_type: AccountType,
        identifier: &'a str,
        password: &'a str,
        ip: IpAddr,
    ) -> Self {
        PasswordLogin {
            account_type: Some(account_type),
            ..Self::by_login_name(identifier, password, ip)
        }
    }

    /// The same attempt carrying a captcha answer.
    pub fn with_captcha(self, captcha: CaptchaAnswer<'a>) -> Self {
        PasswordLogin {
            captcha: Some(captcha),
            ..self
        }
    }
}

/// Password login. In this order, so that nothing costs argon2 work before it must: the
/// attempt is reserved (counted as a failure until it succeeds); an attempt within its pair's
/// delay is refused; once recent failures call for a captcha, a missing or wrong answer is
/// refused (using the challenge up); an address with many failures is held back; then the
/// password is checked.
pub async fn password_login(
    state: &Services,
    attempt: &PasswordLogin<'_>,
) -> Result<Account, LoginFailure> {
    let PasswordLogin {
        account_type,
        identifier,
        password,
        captcha,
        ip,
    } = *attempt;
    let account = match account_type {
        Some(t) => store::identities::find_by_identifier(&state.db, &state.pii, t, identifier)
            .await
            .map_err(Failure::from)?,
        None => store::accounts::find_by_login(&state.db, identifier)
            .await
            .map_err(Failure::from)?,
    };
    let reservation = login_throttle::reserve(state, account.as_ref(), identifier, ip).await?;
    if let Some(retry_after_secs) = reservation.wait(state).await? {
        let entry = failure_entry(state, account.as_ref(), identifier, ip, "throttled")
            .detail("retry_after_secs", retry_after_secs);
        audit::record(state, entry).await;
        state.metrics.login("password", "throttled");
        return Err(LoginFailure::Throttled { retry_after_secs });
    }
    if reservation.captcha_required() {
        let refusal = match captcha::check_required(&state.store, captcha).await? {
            Ok(()) => None,
            Err(CaptchaRefusal::Missing) => Some(LoginFailure::CaptchaMissing),
            Err(CaptchaRefusal::Wrong) => Some(LoginFailure::CaptchaWrong),
        };
        if let Some(failure) = refusal {
            // Not a password failure, and not logged: a bot without a reader would only fill
            // the log. Its address still counts.
            reservation.refused_at_captcha(state).await?;
            state.metrics.login("password", "captcha_refused");
            return Err(failure);
        }
    }
    tokio::time::sleep(reservation.slowdown(state)).await;
    let ok = crate::accounts::password::verify(
        state,
        password.to_owned(),
        account.as_ref().map(|a| a.password_hash.clone()),
    )
    .await;
    match account {
        Some(a) if ok && a.is_active() => {
            reservation.succeeded(state).await?;
            let entry = AuditEntry::new(AuditEvent::LoginSucceeded)
                .by_subject(&a.id)
                .ip(ip)
                .detail("method", "password");
            audit::record(state, entry).await;
            state.metrics.login("password", "ok");
            crate::legacy::credentials::upgrade_after_login(state, &a, password).await;
            Ok(a)
        }
        Some(a) if ok => {
            // The password was right: the attempt does not count against the pair.
            reservation.succeeded(state).await?;
            let entry = failure_entry(state, Some(&a), identifier, ip, "account_disabled");
            audit::record(state, entry).await;
            state.metrics.login("password", "disabled");
            Err(LoginFailure::Disabled {
                unit: disabling_unit(&a),
            })
        }
        account => {
            let reason = match &account {
                None => "unknown_account",
                Some(_) => "wrong_password",
            };
            let entry = failure_entry(state, account.as_ref(), identifier, ip, reason);
            audit::record(state, entry).await;
            state.metrics.login("password", "invalid");
            Err(LoginFailure::Invalid)
        }
    }
}

/// The unit whose admin can enable `account` again: its unit, when it is a member; a unit's
/// own admin (and anyone outside a unit) is enabled by the platform's administrators.
fn disabling_unit(account: &Account) -> Option<String> {
    account
        .org
        .as_ref()
        .filter(|o| o.role != tongyi_shared::org::OrgRole::Admin)
        .map(|o| o.name.clone())
}

/// A refused login, for the audit log.
fn failure_entry(
    state: &Services,
    account: Option<&Account>,
    login_name: &str,
    ip: IpAddr,
    reason: &'static str,
) -> AuditEntry {
    name_account(
        state,
        AuditEntry::new(AuditEvent::LoginFailed),
        account,
        login_name,
    )
    .ip(ip)
    .detail("method", "password")
    .detail("reason", reason)
}

/// What asking for an SMS login code may tell the user.
#[derive(Debug)]
pub enum SmsSendOutcome {
    /// "如该手机号已注册，将收到验证码…": said whether or not an account has the mobile.
    Accepted,
    /// Asked again within the resend interval (counted for any mobile, registered or not).
    TooSoon,
    /// Too many requests from this address today.
    Limited,
}

/// The shortest time between two SMS login code requests for one mobile.
const SMS_REQUEST_INTERVAL_SECS: i64 = 60;
/// Code requests per address and hour, registered mobiles or not.
const SMS_REQUESTS_PER_ADDRESS_HOUR: i64 = 20;

/// Sends a code for `purpose` to `mobile` only when the flow found an active
/// `account` for what was typed. The answer is the same either way: the interval and the
/// address limit are counted before the account is looked up, and a delivery problem for a
/// registered mobile is logged, not shown.
pub async fn request_sms_code(
    state: &Services,
    purpose: SmsPurpose,
    account: Option<&Account>,
    mobile: &Mobile,
    ip: IpAddr,
) -> Result<SmsSendOutcome, Failure> {
    let mobile = mobile.as_str();
    let digest = crypto::sha256_hex(state.pii.lookup_key(PiiField::Mobile, mobile).as_bytes());
    let scope = format!("smsreq:{}", purpose.as_str());
    if let Some(refused) =
        admit_code_request(state, &scope, &digest, ip, SMS_REQUESTS_PER_ADDRESS_HOUR).await?
    {
        return Ok(refused);
    }
    if let Some(a) = account.filter(|a| a.is_active()) {
        match sms_code::send_code(state, purpose, mobile, ip).await {
            Ok(_) => {}
            Err(SmsCodeError::Internal(e)) => return Err(Failure::Internal(e)),
            Err(e) => {
                tracing::warn!(account_id = %a.id, error = %e, "SMS code not sent");
            }
        }
    }
    Ok(SmsSendOutcome::Accepted)
}

/// 获取验证码 on the SMS login form: the image captcha first (every request needs one), then
/// [`request_sms_code`] for the active account of `account_type` that has `mobile`, if any.
/// Handlers cannot skip the captcha: this is the only way to a login code.
pub async fn request_login_code(
    state: &Services,
    account_type: AccountType,
    mobile: &Mobile,
    captcha: CaptchaAnswer<'_>,
    ip: IpAddr,
) -> Result<SmsSendOutcome, LoginFailure> {
    if !captcha::verify(&state.store, captcha.id, captcha.answer).await? {
        return Err(LoginFailure::CaptchaWrong);
    }
    let account =
        store::identities::find_by_mobile(&state.db, &state.pii, account_type, mobile.as_str())
            .await?;
    Ok(request_sms_code(state, SmsPurpose::Login, account.as_ref(), mobile, ip).await?)
}

/// The limits every code request passes before any account is looked at, so that they answer
/// the same for a registered destination and an unknown one: `per_hour` requests per client
/// address, and one request per destination (`digest`, a keyed hash) per
/// [`SMS_REQUEST_INTERVAL_SECS`]. `Some` is the refusal to answer with.
pub(crate) async fn admit_code_request(
    state: &Services,
    scope: &str,
    digest: &str,
    ip: IpAddr,
    per_hour: i64,
) -> Result<Option<SmsSendOutcome>, Failure> {
    let by_address = format!("{scope}:ip:{ip}");
    if state.store.incr(&by_address, 3600).await? > per_hour {
        return Ok(Some(SmsSendOutcome::Limited));
    }
    let wait = format!("{scope}:m:{digest}");
    let now = state.clock.now();
    if !state
        .store
        .put_if_absent(&wait, &now.to_string(), SMS_REQUEST_INTERVAL_SECS)
        .await?
    {
        let last = state
            .store
            .get(&wait)
            .await?
            .and_then(|v| v.parse::<i64>().ok());
        if last.is_some_and(|t| now - t < SMS_REQUEST_INTERVAL_SECS) {
            return Ok(Some(SmsSendOutcome::TooSoon));
        }
        state
            .store
            .put(&wait, &now.to_string(), SMS_REQUEST_INTERVAL_SECS)
            .await?;
    }
    Ok(None)
}

/// SMS-code login: the code sent to `mobile` logs in the active account of
/// `account_type` that reserves it. Attempts are reserved and delayed like password logins
/// (the code request itself carried the captcha).
pub async fn sms_login(
    state: &Services,
    account_type: AccountType,
    mobile: &Mobile,
    code: &str,
    ip: IpAddr,
) -> Result<Account, LoginFailure> {
    let mobile = mobile.as_str();
    let account = store::identities::find_by_mobile(&state.db, &state.pii, account_type, mobile)
        .await
        .map_err(Failure::from)?;
    let sms_failure = |reason: &'static str| {
        name_account(
            state,
            AuditEntry::new(AuditEvent::LoginFailed),
            account.as_ref(),
            mobile,
        )
        .ip(ip)
        .detail("method", "sms")
        .detail("reason", reason)
    };
    let reservation = login_throttle::reserve(state, account.as_ref(), mobile, ip).await?;
    if let Some(retry_after_secs) = reservation.wait(state).await? {
        let entry = sms_failure("throttled").detail("retry_after_secs", retry_after_secs);
        audit::record(state, entry).await;
        state.metrics.login("sms", "throttled");
        return Err(LoginFailure::Throttled { retry_after_secs });
    }
    tokio::time::sleep(reservation.slowdown(state)).await;
    let verified = match sms_code::verify_code(state, SmsPurpose::Login, mobile, code).await {
        Ok(()) => true,
        Err(SmsCodeError::Internal(e)) => return Err(LoginFailure::Internal(Failure::Internal(e))),
        Err(_) => false,
    };
    match account {
        Some(a) if verified && a.is_active() => {
            reservation.succeeded(state).await?;
            let entry = AuditEntry::new(AuditEvent::LoginSucceeded)
                .by_subject(&a.id)
                .ip(ip)
                .detail("method", "sms");
            audit::record(state, entry).await;
            state.metrics.login("sms", "ok");
            Ok(a)
        }
        ref account => {
            let reason = match account {
                None => "unknown_account",
                Some(a) if !a.is_active() => "account_disabled",
                Some(_) => "wrong_code",
            };
            audit::record(state, sms_failure(reason)).await;
            state.metrics.login("sms", "invalid");
            Err(LoginFailure::Invalid)
        }
    }
}
