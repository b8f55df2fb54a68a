//! 老用户绑定 (seed 003): a signed-in natural person chooses the user type (申报用户 /
//! 专家用户) and enters the mobile the legacy system knew; an SMS code to that mobile proves
//! it, and the legacy record without an account is bound, with its subsystems granted. The
//! manual's errors are kept word for word; a record is bound once, and an account binds one
//! record (another record needs another account, as the manual says).

use std::net::IpAddr;

use tongyi_shared::{claims::AccountType, validate::Mobile};

use super::rows::UserType;
use crate::{
    accounts::sms_code::{self, SendReceipt, SmsCodeError, SmsPurpose},
    audit::{self, AuditEntry, AuditEvent},
    failure::Failure,
    pii::PiiField,
    services::Services,
    store::{
        self,
        accounts::Account,
        legacy::{BindRefusal, RecordView},
    },
};

pub const MISMATCH: &str = "请检查手机号或用户类型是否正确";
pub const EXPERT_FIRST: &str = "检测到你有专家账户尚未绑定，请先绑定专家账户";
pub const ALREADY_BOUND: &str = "您的账号已绑定原有账户，不能重复绑定";
pub const NOT_PERSON: &str = "老用户绑定仅适用于自然人账号";
pub const LIMITED: &str = "操作过于频繁，请稍后再试";

/// Code requests and binding attempts per account and hour: the errors tell whether a mobile
/// has a legacy record, so they are counted.
const ATTEMPTS_PER_ACCOUNT_HOUR: i64 = 10;

#[derive(Debug)]
pub enum BindError {
    /// A message of this module shown at the form.
    Refused(&'static str),
    /// The SMS code step failed (its own message).
    Code(String),
    Internal(Failure),
}

/// Every failure of ours (storage, the short-lived store) is a [`Failure`].
impl<E: Into<Failure>> From<E> for BindError {
    fn from(e: E) -> Self {
        BindError::Internal(e.into())
    }
}

async fn refuse(
    state: &Services,
    account: &Account,
    reason: &'static str,
    message: &'static str,
) -> BindError {
    let entry = AuditEntry::new(AuditEvent::LegacyBound)
        .by_subject(&account.id)
        .detail("result", "refused")
        .detail("reason", reason);
    audit::record(state, entry).await;
    BindError::Refused(message)
}

/// The record that `user_type` + `mobile` bind for `account`, or the manual's refusal.
async fn target(
    state: &Services,
    account: &Account,
    user_type: UserType,
    mobile: &Mobile,
) -> Result<RecordView, BindError> {
    if account.account_type != AccountType::NaturalPerson {
        return Err(BindError::Refused(NOT_PERSON));
    }
    let key = format!("legacybind:acct:{}", account.id);
    if state.store.incr(&key, 3600).await? > ATTEMPTS_PER_ACCOUNT_HOUR {
        return Err(BindError::Refused(LIMITED));
    }
    let own = store::legacy::records_of_account(&state.db, &account.id).await?;
    if own
        .iter()
        .any(|r| r.linked_via.as_deref() == Some("binding"))
    {
        return Err(refuse(state, account, "account_bound", ALREADY_BOUND).await);
    }
    let mobile_key = state.pii.lookup_key(PiiField::Mobile, mobile.as_str());
    let unbound: Vec<RecordView> = store::legacy::persons_by_mobile(&state.db, &mobile_key)
        .await?
        .into_iter()
        .filter(|r| r.account_id.is_none() && r.outcome == "record_only")
        .collect();
    let Some(found) = unbound
        .iter()
        .find(|r| r.user_type.as_deref() == Some(user_type.as_str()))
        .cloned()
    else {
        return Err(refuse(state, account, "no_record", MISMATCH).await);
    };
    if user_type == UserType::Declarant {
        let mut expert = unbound
            .iter()
            .any(|r| r.user_type.as_deref() == Some("expert"));
        if !expert {
            if let Some(doc) = &found.id_number_key {
                expert = store::legacy::unbound_by_document(&state.db, doc)
                    .await?
                    .iter()
                    .any(|r| r.user_type.as_deref() == Some("expert"));
            }
        }
        if expert {
            return Err(refuse(state, account, "expert_first", EXPERT_FIRST).await);
        }
    }
    Ok(found)
}

/// 发送验证码: checks the type and mobile, then sends a code to the mobile.
pub async fn request_code(
    state: &Services,
    account: &Account,
    user_type: UserType,
    mobile: &Mobile,
    ip: IpAddr,
) -> Result<SendReceipt, BindError> {
    target(state, account, user_type, mobile).await?;
    sms_code::send_code(state, SmsPurpose::BindLegacy, mobile.as_str(), ip)
        .await
        .map_err(code_error)
}

fn code_error(e: SmsCodeError) -> BindError {
    match e {
        SmsCodeError::Internal(m) => BindError::Internal(Failure::Internal(m)),
        e => BindError::Code(e.user_message()),
    }
}

/// 绑定: the same checks, the code, then the binding in one transaction.
pub async fn bind(
    state: &Services,
    account: &Account,
    user_type: UserType,
    mobile: &Mobile,
    code: &str,
    ip: IpAddr,
) -> Result<RecordView, BindError> {
    let record = target(state, account, user_type, mobile).await?;
    sms_code::verify_code(state, SmsPurpose::BindLegacy, mobile.as_str(), code)
        .await
        .map_err(code_error)?;
    let now = state.clock.now();
    match store::legacy::bind(&state.db, &record.id, &account.id, &record.subsystems, now).await? {
        Ok(()) => {}
        Err(BindRefusal::AccountHasOne) => {
            return Err(refuse(state, account, "account_bound", ALREADY_BOUND).await)
        }
        Err(BindRefusal::RecordTaken) => {
            return Err(refuse(state, account, "record_bound", MISMATCH).await)
        }
    }
    let entry = AuditEntry::new(AuditEvent::LegacyBound)
        .by_subject(&account.id)
        .ip(ip)
        .detail("result", "bound")
        .detail("record", record.id.clone())
        .detail("user_type", user_type.as_str());
    audit::record(state, entry).await;
    Ok(record)
}
