//! Appeals (申诉) for a forgotten login name or a lost mobile (SPEC §4): what a filing must
//! contain, matching it against the accounts, and an admin's decision with its SMS.
//!
//! Filing never tells whether the identity data matched an account: the appellant gets the
//! same answer either way, and only the admin sees the match.

use std::{collections::BTreeMap, net::IpAddr};

use tongyi_shared::{
    claims::AccountType,
    mask,
    validate::{IdDocument, IdDocumentType, Mobile, Uscc},
};

pub use super::uploads::FileField;
use super::{
    captcha::{self, CaptchaAnswer},
    sms_code::{self, SmsCodeError, SmsPurpose},
    uploads::check_image,
};
use crate::{
    audit::{self, AuditEntry, AuditEvent},
    crypto,
    failure::{Failure, FailureResult},
    providers::sms::SmsMessage,
    services::Services,
    store::{
        self,
        appeals::{Appeal, NewAppeal},
        identities::{self, CreateError, OrgPersonRole},
        info_updates::InfoUpdate,
        states::ReviewState,
        uploads::NewUpload,
    },
};

/// Longest description accepted, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// What an appeal asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppealKind {
    /// 忘记账号
    ForgotLoginName,
    /// 手机号丢失
    ForgotMobile,
}

impl AppealKind {
    pub fn code(self) -> &'static str {
        match self {
            AppealKind::ForgotLoginName => "forgot_login_name",
            AppealKind::ForgotMobile => "forgot_mobile",
        }
    }

    pub fn from_code(code: &str) -> Option<AppealKind> {
        [AppealKind::ForgotLoginName, AppealKind::ForgotMobile]
            .into_iter()
            .find(|k| k.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            AppealKind::ForgotLoginName => "忘记账号",
            AppealKind::ForgotMobile => "手机号丢失",
        }
    }
}

/// The form as typed (text fields only).
#[derive(Clone, Debug, Default)]
pub struct AppealInput {
    pub kind: String,
    pub account_type: String,
    pub real_name: String,
    pub id_type: String,
    pub id_number: String,
    pub unit_name: String,
    pub uscc: String,
    pub agent_name: String,
    pub mobile: String,
    pub description: String,
}

/// The image fields of the form.
#[derive(Clone, Copy, Debug, Default)]
pub struct AppealFiles<'a> {
    pub id_front: FileField<'a>,
    pub id_back: FileField<'a>,
    pub licence: FileField<'a>,
}

/// Field name → Chinese message.
pub use crate::fields::FieldErrors;

/// A filing whose every field is valid.
#[derive(Clone, Debug)]
pub struct ValidAppeal {
    pub kind: AppealKind,
    pub account_type: AccountType,
    pub claimant_name: String,
    pub document: Option<IdDocument>,
    pub unit_name: Option<String>,
    pub uscc: Option<Uscc>,
    pub mobile: Mobile,
    pub description: String,
    /// (purpose: `id_front` | `id_back` | `licence`, content type, bytes)
    pub images: Vec<(&'static str, &'static str, Vec<u8>)>,
}

fn check_name(errors: &mut FieldErrors, field: &'static str, value: &str, empty: &'static str) {
    let n = value.trim().chars().count();
    if n == 0 {
        errors.insert(field, empty);
    } else if n > 50 {
        errors.insert(field, "姓名或名称不能超过50个字");
    }
}

/// Checks every field at once, so the form can show all its errors together.
pub fn validate(input: &AppealInput, files: &AppealFiles<'_>) -> Result<ValidAppeal, FieldErrors> {
    let mut errors = FieldErrors::new();
    let kind = AppealKind::from_code(&input.kind);
    if kind.is_none() {
        errors.insert("kind", "请选择申诉类型");
    }
    let account_type = match input.account_type.as_str() {
        "natural_person" => Some(AccountType::NaturalPerson),
        "legal_entity" => Some(AccountType::LegalEntity),
        _ => {
            errors.insert("account_type", "请选择账号类型");
            None
        }
    };
    let mobile = match Mobile::parse(&input.mobile) {
        Ok(m) => Some(m),
        Err(e) => {
            errors.insert("mobile", e.message());
            None
        }
    };
    let description = input.description.trim().to_owned();
    let chars = description.chars().count();
    if chars == 0 {
        errors.insert("description", "请填写申诉说明");
    } else if chars > MAX_DESCRIPTION_CHARS {
        errors.insert("description", "申诉说明不能超过500个字");
    }
    let mut images = Vec::new();
    let mut image =
        |errors: &mut FieldErrors, field: &'static str, f: &FileField<'_>| match check_image(
            f.data,
            f.too_large,
        ) {
            Ok(ct) => images.push((field, ct, f.data.unwrap_or_default().to_vec())),
            Err(e) => {
                errors.insert(field, e.message());
            }
        };
    let mut document = None;
    let mut unit_name = None;
    let mut uscc = None;
    let claimant_name;
    match account_type {
        Some(AccountType::NaturalPerson) | None => {
            claimant_name = input.real_name.trim().to_owned();
            if account_type.is_some() {
                check_name(&mut errors, "real_name", &claimant_name, "请填写真实姓名");
                match IdDocumentType::from_code(&input.id_type) {
                    None => {
                        errors.insert("id_type", "请选择证件类型");
                    }
                    Some(t) => match IdDocument::parse(t, &input.id_number) {
                        Ok(d) => document = Some(d),
                        Err(e) => {
                            errors.insert("id_number", e.message());
                        }
                    },
                }
                image(&mut errors, "id_front", &files.id_front);
                image(&mut errors, "id_back", &files.id_back);
            }
        }
        Some(AccountType::LegalEntity) => {
            claimant_name = input.agent_name.trim().to_owned();
            let name = input.unit_name.trim().to_owned();
            check_name(&mut errors, "unit_name", &name, "请填写单位名称");
            unit_name = Some(name);
            match Uscc::parse(&input.uscc) {
                Ok(u) => uscc = Some(u),
                Err(e) => {
                    errors.insert("uscc", e.message());
                }
            }
            check_name(
                &mut errors,
                "agent_name",
                &claimant_name,
                "请填写代办人姓名",
            );
            image(&mut errors, "licence", &files.licence);
        }
    }
    match (kind, account_type, mobile) {
        (Some(kind), Some(account_type), Some(mobile)) if errors.is_empty() => Ok(ValidAppeal {
            kind,
            account_type,
            claimant_name,
            document,
            unit_name,
            uscc,
            mobile,
            description,
            images,
        }),
        _ => Err(errors),
    }
}

/// The account the identity data names, if it names one exactly: a person by document and
/// real name, a unit by USCC, unit name and agent name.
async fn find_match(state: &Services, a: &ValidAppeal) -> FailureResult<Option<String>> {
    match (a.account_type, &a.document, &a.uscc) {
        (AccountType::NaturalPerson, Some(doc), _) => {
            let found = store::appeals::person_by_id_number(
                &state.db,
                &state.pii,
                doc.kind().code(),
                doc.number(),
            )
            .await?;
            Ok(found
                .filter(|(_, real_name)| real_name.trim() == a.claimant_name)
                .map(|(id, _)| id))
        }
        (AccountType::LegalEntity, _, Some(uscc)) => {
            let Some((account_id, org_id, org_name)) =
                store::appeals::unit_by_uscc(&state.db, uscc.as_str()).await?
            else {
                return Ok(None);
            };
            let same_unit = a.unit_name.as_deref().is_some_and(|n| {
                identities::unit_name_key(n) == identities::unit_name_key(&org_name)
            });
            let agent =
                identities::org_person(&state.db, &state.pii, &org_id, OrgPersonRole::Agent)
                    .await?;
            let same_agent = agent.is_some_and(|p| p.name.trim() == a.claimant_name);
            Ok((same_unit && same_agent).then_some(account_id))
        }
        _ => Ok(None),
    }
}

/// Filings (and refused attempts) accepted per client address per hour.
pub const FILINGS_PER_HOUR: i64 = 30;

/// A filing as the form sends it.
#[derive(Clone, Copy, Debug)]
pub struct Filing<'a> {
    pub input: &'a AppealInput,
    pub files: AppealFiles<'a>,
    pub captcha: CaptchaAnswer<'a>,
    /// The code sent to the contact mobile.
    pub sms_code: &'a str,
    pub ip: IpAddr,
}

/// Why a filing was not accepted.
#[derive(Debug)]
pub enum FilingRefusal {
    /// More than [`FILINGS_PER_HOUR`] attempts from this address.
    TooFrequent,
    /// Fields refused, each with its message.
    Fields(FieldErrors),
}

const CAPTCHA_WRONG: &str = "图形验证码错误，请重新输入";
const SMS_CODE_MISSING: &str = "请输入短信验证码";

/// Files an appeal. Every attempt from an address counts towards [`FILINGS_PER_HOUR`], valid
/// or not. Every field is checked at once; only an otherwise complete filing has its captcha
/// and then its SMS code checked, so that a typo elsewhere does not use them up. Returns the
/// appeal's id.
pub async fn submit(
    state: &Services,
    f: &Filing<'_>,
) -> FailureResult<Result<String, FilingRefusal>> {
    if state
        .store
        .incr(&format!("appeal:ip:{}", f.ip), 3600)
        .await?
        > FILINGS_PER_HOUR
    {
        return Ok(Err(FilingRefusal::TooFrequent));
    }
    let code = f.sms_code.trim();
    let valid = match (validate(f.input, &f.files), code.is_empty()) {
        (Ok(v), false) => v,
        (result, missing_code) => {
            let mut errors = result.err().unwrap_or_default();
            if missing_code {
                errors.insert("sms_code", SMS_CODE_MISSING);
            }
            return Ok(Err(FilingRefusal::Fields(errors)));
        }
    };
    let refused = |field: &'static str, message: String| {
        Ok(Err(FilingRefusal::Fields(FieldErrors::from([(
            field, message,
        )]))))
    };
    if captcha::check_required(&state.store, Some(f.captcha))
        .await?
        .is_err()
    {
        return refused("captcha", CAPTCHA_WRONG.to_owned());
    }
    match sms_code::verify_code(state, SmsPurpose::Appeal, valid.mobile.as_str(), code).await {
        Ok(()) => {}
        Err(e @ SmsCodeError::Internal(_)) => return Err(Failure::Internal(e.to_string())),
        Err(e) => return refused("sms_code", e.user_message()),
    }
    Ok(Ok(file(state, valid, f.ip).await?))
}

/// Stores a valid appeal with its images (one transaction) and audits it, once its captcha
/// and the SMS code of the contact mobile have passed.
async fn file(state: &Services, a: ValidAppeal, ip: IpAddr) -> FailureResult<String> {
    let now = state.clock.now();
    let matched = find_match(state, &a).await?;
    let id = crypto::random_token(16);
    let files: Vec<NewUpload> = a
        .images
        .into_iter()
        .map(|(purpose, content_type, data)| NewUpload {
            id: crypto::random_token(16),
            owner_account_id: None,
            // The form's field names are the upload purposes.
            purpose: purpose.to_owned(),
            content_type,
            data,
        })
        .collect();
    let appeal = NewAppeal {
        id: id.clone(),
        kind: a.kind.code().to_owned(),
        account_type: a.account_type.as_str().to_owned(),
        claimant_name: a.claimant_name,
        id_type: a.document.as_ref().map(|d| d.kind().code().to_owned()),
        id_number: a.document.as_ref().map(|d| d.number().to_owned()),
        unit_name: a.unit_name,
        uscc: a.uscc.map(|u| u.as_str().to_owned()),
        contact_mobile: a.mobile.as_str().to_owned(),
        description: a.description,
        matched_account_id: matched.clone(),
    };
    store::appeals::insert(&state.db, &state.pii, &appeal, &files, now).await?;
    let mut entry = AuditEntry::new(AuditEvent::AppealFiled)
        .ip(ip)
        .detail("appeal_id", id.clone())
        .detail("kind", a.kind.code())
        .detail("matched", matched.is_some());
    if let Some(m) = &matched {
        entry = entry.subject(m);
    }
    audit::record(state, entry).await;
    Ok(id)
}

/// 获取验证码 on the appeal form: a code to the contact mobile the claimant typed (the appeal
/// proves the claimant reaches it). The masked mobile, or the field's refusal.
pub async fn send_code(
    state: &Services,
    mobile: &str,
    ip: IpAddr,
) -> FailureResult<Result<String, FieldErrors>> {
    let mobile = match Mobile::parse(mobile) {
        Ok(m) => m,
        Err(e) => return Ok(Err(FieldErrors::one("mobile", e.message()))),
    };
    match sms_code::send_code(state, SmsPurpose::Appeal, mobile.as_str(), ip).await {
        Ok(r) => Ok(Ok(r.masked_mobile)),
        Err(SmsCodeError::Internal(e)) => Err(Failure::Internal(e)),
        Err(e) => Ok(Err(FieldErrors::one("sms_code", e.user_message()))),
    }
}

/// A page of the pending appeals, oldest first as the store keeps them, and how many are
/// pending in all.
pub async fn pending(
    state: &Services,
    limit: i64,
    offset: i64,
) -> FailureResult<(Vec<store::appeals::Appeal>, i64)> {
    Ok(store::appeals::pending(&state.db, &state.pii, limit, offset).await?)
}

/// One appeal, opened for the platform admin, with the login name of the account it matched.
pub async fn for_review(
    state: &Services,
    id: &str,
) -> FailureResult<Option<(store::appeals::Appeal, Option<String>)>> {
    let Some(a) = store::appeals::get(&state.db, &state.pii, id).await? else {
        return Ok(None);
    };
    let matched = match &a.matched_account_id {
        Some(m) => super::actor::login_name(state, m).await?,
        None => None,
    };
    Ok(Some((a, matched)))
}

/// One of the appeal's own uploads, opened: (content type, bytes). Any other upload id is
/// `None`, whatever exists under it.
pub async fn upload(
    state: &Services,
    appeal_id: &str,
    upload_id: &str,
) -> FailureResult<Option<(String, Vec<u8>)>> {
    let Some(a) = store::appeals::get(&state.db, &state.pii, appeal_id).await? else {
        return Ok(None);
    };
    if !a.upload_ids.iter().any(|u| u == upload_id) {
        return Ok(None);
    }
    super::uploads::open_for_admin(state, upload_id).await
}

/// Why an approval could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("appeal not found")]
    NotFound,
    #[error("appeal already decided")]
    NotPending,
    #[error("no account matched")]
    NoMatch,
    #[error("the contact mobile is reserved by another account")]
    MobileTaken,
    #[error("a reason is required")]
    ReasonMissing,
    #[error(transparent)]
    App(Failure),
}

/// Every failure of ours (storage, the short-lived store) is a [`Failure`].
impl<E: Into<Failure>> From<E> for DecideError {
    fn from(e: E) -> Self {
        DecideError::App(e.into())
    }
}

impl DecideError {
    /// The sentence shown to the admin.
    pub fn message(&self) -> &'static str {
        match self {
            DecideError::NotFound => "申诉不存在。",
            DecideError::NotPending => "该申诉已被处理。",
            DecideError::NoMatch => "申诉信息未匹配到任何账号，无法通过，请驳回并说明原因。",
            DecideError::MobileTaken => "联系手机号已被其他账号预留，无法更换，请驳回并说明原因。",
            DecideError::ReasonMissing => "请填写驳回原因（不超过200字）。",
            DecideError::App(_) => "系统繁忙，请稍后再试。",
        }
    }
}

async fn load_pending(state: &Services, id: &str) -> Result<Appeal, DecideError> {
    let appeal = store::appeals::get(&state.db, &state.pii, id)
        .await?
        .ok_or(DecideError::NotFound)?;
    if appeal.state != ReviewState::Pending {
        return Err(DecideError::NotPending);
    }
    Ok(appeal)
}

/// Sends the result; a failed delivery does not undo the decision (it is logged, masked).
async fn notify(state: &Services, mobile: &str, result: &str, detail: &str, text: String) -> bool {
    let message = SmsMessage {
        mobile: mobile.to_owned(),
        template: state.config.sms.templates.appeal_result.clone(),
        params: BTreeMap::from([
            ("result".to_owned(), result.to_owned()),
            ("detail".to_owned(), detail.to_owned()),
        ]),
        text,
    };
    match state.sms.send(&message).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, mobile = %mask::mask_mobile(mobile), "appeal result SMS not delivered");
            false
        }
    }
}

/// Approves a pending appeal and carries it out: the login name is sent to the contact
/// mobile, or the contact mobile becomes the account's reserved mobile. Returns whether the
/// SMS went out.
pub async fn approve(state: &Services, id: &str, admin_id: &str) -> Result<bool, DecideError> {
    let appeal = load_pending(state, id).await?;
    let account_id = appeal
        .matched_account_id
        .clone()
        .ok_or(DecideError::NoMatch)?;
    let account = store::accounts::find_by_id(&state.db, &account_id)
        .await?
        .ok_or(DecideError::NoMatch)?;
    let now = state.clock.now();
    // The state change comes first: of two admins deciding at once only one carries it out.
    if !store::appeals::decide(&state.db, id, true, None, admin_id, now).await? {
        return Err(DecideError::NotPending);
    }
    let sent = match AppealKind::from_code(&appeal.kind) {
        Some(AppealKind::ForgotMobile) => {
            let (old, _) = identities::contact_of(&state.pii, &account);
            let changed = identities::set_mobile(
                &state.db,
                &state.pii,
                &account.id,
                &appeal.contact_mobile,
                now,
            )
            .await;
            match changed {
                Ok(()) => {}
                Err(e) => {
                    store::appeals::reopen(&state.db, id).await?;
                    return Err(match e {
                        CreateError::Taken(_) => DecideError::MobileTaken,
                        CreateError::Db(e) => e.into(),
                    });
                }
            }
            store::info_updates::record(
                &state.db,
                &InfoUpdate {
                    account_id: Some(account.id.clone()),
                    org_id: None,
                    actor_account_id: Some(admin_id.to_owned()),
                    field: "mobile".to_owned(),
                    old_value: old.as_deref().map(mask::mask_mobile).unwrap_or_default(),
                    new_value: mask::mask_mobile(&appeal.contact_mobile),
                    at: now,
                },
            )
            .await?;
            notify(
                state,
                &appeal.contact_mobile,
                "approved",
                "",
                "您的申诉已通过，账号预留手机号已更换为本手机号。".to_owned(),
            )
            .await
        }
        _ => {
            notify(
                state,
                &appeal.contact_mobile,
                "approved",
                &account.login_name,
                format!("您的申诉已通过，您的登录账号为：{}", account.login_name),
            )
            .await
        }
    };
    audit::record(
        state,
        AuditEntry::new(AuditEvent::AppealDecided)
            .actor(admin_id)
            .subject(&account.id)
            .detail("appeal_id", id)
            .detail("kind", appeal.kind.clone())
            .detail("decision", "approved"),
    )
    .await;
    Ok(sent)
}

/// Rejects a pending appeal and tells the appellant why. Returns whether the SMS went out.
pub async fn reject(
    state: &Services,
    id: &str,
    admin_id: &str,
    reason: &str,
) -> Result<bool, DecideError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(DecideError::ReasonMissing);
    }
    let appeal = load_pending(state, id).await?;
    let now = state.clock.now();
    if !store::appeals::decide(&state.db, id, false, Some(reason), admin_id, now).await? {
        return Err(DecideError::NotPending);
    }
    let sent = notify(
        state,
        &appeal.contact_mobile,
        "rejected",
        reason,
        format!("您的申诉未通过，原因：{reason}"),
    )
    .await;
    let mut entry = AuditEntry::new(AuditEvent::AppealDecided)
        .actor(admin_id)
        .detail("appeal_id", id)
        .detail("kind", appeal.kind.clone())
        .detail("decision", "rejected");
    if let Some(m) = &appeal.matched_account_id {
        entry = entry.subject(m);
    }
    audit::record(state, entry).await;
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png() -> Vec<u8> {
        let mut p = b"\x89PNG\r\n\x1a\n".to_vec();
        p.extend_from_slice(&[0; 32]);
        p
    }

    fn person() -> AppealInput {
        AppealInput {
            kind: "forgot_login_name".into(),
            account_type: "natural_person".into(),
            real_name: "张三".into(),
            id_type: "resident_id_card".into(),
            id_number: "11010519491231002X".into(),
            mobile: "13800138000".into(),
            description: "忘记了账号".into(),
            ..AppealInput::default()
        }
    }

    #[test]
    fn a_complete_person_appeal_is_valid_and_each_gap_is_named() {
        let img = png();
        let files = AppealFiles {
            id_front: FileField {
                data: Some(&img),
                too_large: false,
            },
            id_back: FileField {
                data: Some(&img),
                too_large: false,
            },
            ..AppealFiles::default()
        };
        let ok = validate(&person(), &files).unwrap();
        assert_eq!(ok.images.len(), 2);
        let mut bad = person();
        bad.id_number = "110105194912310021".into();
        bad.description = "字".repeat(501);
        let errors = validate(&bad, &AppealFiles::default()).unwrap_err();
        for field in ["id_number", "description", "id_front", "id_back"] {
            assert!(errors.contains(field), "{field}: {errors:?}");
        }
        assert!(!errors.contains("real_name"));
    }

    #[test]
    fn a_unit_appeal_names_its_own_gaps() {
        let input = AppealInput {
            kind: "forgot_mobile".into(),
            account_type: "legal_entity".into(),
            uscc: "91120116MA05JJ1X4C".into(),
            mobile: "13800138000".into(),
            description: "原手机号已停用".into(),
            ..AppealInput::default()
        };
        let errors = validate(&input, &AppealFiles::default()).unwrap_err();
        let mut fields: Vec<&str> = errors.iter().map(|(f, _)| f).collect();
        fields.sort_unstable();
        assert_eq!(fields, vec!["agent_name", "licence", "unit_name", "uscc"]);
        let unknown = AppealInput {
            account_type: "robot".into(),
            ..input
        };
        let errors = validate(&unknown, &AppealFiles::default()).unwrap_err();
        assert!(errors.contains("account_type"));
    }
}
