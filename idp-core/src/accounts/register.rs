//! Registration of legal entities, natural persons and quick (mobile-only) natural persons.
//!
//! Every form is checked as a whole: each failing field gets its own message at once. The SMS
//! code is verified last, because verifying consumes it: a typo elsewhere must not cost the
//! user a new code. The account (with its unit or identity document) is then written in one
//! transaction; a conflict that appears only then (a concurrent registration) is reported at
//! its field like the earlier checks.

use std::net::IpAddr;

use tongyi_shared::{
    claims::{AccountType, RealnameStatus},
    mask,
    org::{OrgRole, UnitStatus},
    validate::{
        Date, FieldError, IdDocument, IdDocumentType, IdValidity, LoginName, Mobile, NewPassword,
        ResidentCardTerm, Uscc,
    },
};

use super::{
    captcha, realname,
    sms_code::{self, SendReceipt, SmsPurpose},
};
use crate::{
    audit::{self, AuditEntry, AuditEvent},
    crypto,
    failure::Failure,
    fields::FieldErrors,
    services::Services,
    store::{
        accounts::{NewAccount, NewOrg},
        identities::{self, CreateError, NewLegalEntity, OrgPerson, PersonIdentity, Taken},
    },
};

/// Availability checks and SMS sends per client address and window.
pub const CHECKS_PER_WINDOW: i64 = 30;
pub const CHECK_WINDOW_SECS: i64 = 600;
/// Registration submissions per client address and window.
pub const SUBMITS_PER_WINDOW: i64 = 60;
pub const TOO_MANY: &str = "操作过于频繁，请稍后再试";
const CAPTCHA_WRONG: &str = "图形验证码错误，请重新输入";
const AGREEMENT: &str = "请阅读并同意用户服务协议";
const TAKEN_LOGIN_NAME: &str = "该账号已被注册";
const TAKEN_MOBILE: &str = "该手机号已被注册";
const TAKEN_ID: &str = "该证件号码已被注册";
const TAKEN_UNIT: &str = "该单位名称已被注册";
const TAKEN_USCC: &str = "该统一社会信用代码已被注册";

#[derive(Debug)]
pub enum RegisterError {
    /// Shown next to the fields; nothing was written.
    Invalid(FieldErrors),
    TooMany,
    Internal(Failure),
}

impl<E: Into<Failure>> From<E> for RegisterError {
    fn from(e: E) -> Self {
        RegisterError::Internal(e.into())
    }
}

/// `企业 / 机关事业单位 / 社会组织 / 其他`.
pub const ENTITY_TYPES: [(&str, &str); 4] = [
    ("enterprise", "企业"),
    ("institution", "机关事业单位"),
    ("social_org", "社会组织"),
    ("other", "其他"),
];
/// `境内 / 港澳台 / 境外`.
pub const UNIT_REGIONS: [(&str, &str); 3] = [
    ("domestic", "境内"),
    ("hk_macao_taiwan", "港澳台"),
    ("overseas", "境外"),
];
/// `中国大陆 / 港澳台 / 其他`.
pub const IDENTITY_REGIONS: [(&str, &str); 3] = [
    ("mainland", "中国大陆"),
    ("hk_macao_taiwan", "港澳台"),
    ("other", "其他"),
];
/// The terms of a resident ID card, as form values.
pub const TERMS: [(&str, ResidentCardTerm); 4] = [
    ("5", ResidentCardTerm::Years5),
    ("10", ResidentCardTerm::Years10),
    ("20", ResidentCardTerm::Years20),
    ("long_term", ResidentCardTerm::LongTerm),
];

/// A document as typed: type code, number and validity fields.
#[derive(Clone, Debug, Default)]
pub struct DocumentInput {
    pub id_type: String,
    pub id_number: String,
    pub valid_from: String,
    /// A [`TERMS`] value; used for resident ID cards.
    pub term: String,
    pub valid_to: String,
}

/// Names of the form fields of one document, so that errors land at the right field.
#[derive(Clone, Copy)]
pub struct DocumentFields {
    pub id_type: &'static str,
    pub id_number: &'static str,
    pub valid_from: &'static str,
    pub term: &'static str,
    pub valid_to: &'static str,
}

#[derive(Clone, Debug, Default)]
pub struct PersonInput {
    pub login_name: String,
    pub password: String,
    pub password_confirm: String,
    pub real_name: String,
    pub identity_region: String,
    pub document: DocumentInput,
    pub id_country: String,
    pub mobile: String,
    pub sms_code: String,
    pub captcha_id: String,
    pub captcha: String,
    pub agreed: bool,
}

#[derive(Clone, Debug, Default)]
pub struct RepresentativeInput {
    pub name: String,
    pub document: DocumentInput,
    pub mobile: String,
}

#[derive(Clone, Debug, Default)]
pub struct LegalEntityInput {
    pub login_name: String,
    pub password: String,
    pub password_confirm: String,
    pub entity_type: String,
    pub registration_region: String,
    pub unit_name: String,
    pub uscc: String,
    pub legal_rep: RepresentativeInput,
    /// The agent's mobile receives the SMS code.
    pub agent: RepresentativeInput,
    pub sms_code: String,
    pub captcha_id: String,
    pub captcha: String,
    pub agreed: bool,
}

#[derive(Clone, Debug, Default)]
pub struct QuickInput {
    pub mobile: String,
    pub password: String,
    pub password_confirm: String,
    pub sms_code: String,
    pub captcha_id: String,
    pub captcha: String,
    pub agreed: bool,
}

/// A new account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registered {
    pub account_id: String,
    pub login_name: String,
    /// Where real-name verification stands right after registration (persons with an
    /// identity document): verified or failed at once inside service hours, queued outside.
    pub realname: Option<realname::Standing>,
}

/// What an availability check can be about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checkable {
    LoginName,
    UnitName,
    Uscc,
}

impl Checkable {
    pub fn parse(field: &str) -> Option<Checkable> {
        match field {
            "login_name" => Some(Checkable::LoginName),
            "unit_name" => Some(Checkable::UnitName),
            "uscc" => Some(Checkable::Uscc),
            _ => None,
        }
    }
}

/// The answer to an availability check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Availability {
    Available,
    Taken,
    /// The value is not well-formed; the message says why.
    Invalid(&'static str),
}

impl Availability {
    pub fn message(&self) -> &'static str {
        match self {
            Availability::Available => "可以使用",
            Availability::Taken => "已被注册",
            Availability::Invalid(m) => m,
        }
    }
}

/// Today in Asia/Shanghai, where documents are issued and expire.
pub fn today(state: &Services) -> Date {
    crate::clock::shanghai_date(state.clock.now())
}

/// Counts one action of `kind` from `ip`; false once the window's budget is spent.
async fn within_limit(
    state: &Services,
    kind: &str,
    ip: IpAddr,
    limit: i64,
) -> Result<bool, Failure> {
    let key = format!("register:{kind}:{}", ip.to_canonical());
    Ok(state.store.incr(&key, CHECK_WINDOW_SECS).await? <= limit)
}

/// Whether a login name, unit name or USCC can still be registered; rate-limited per address.
pub async fn check_available(
    state: &Services,
    what: Checkable,
    value: &str,
    ip: IpAddr,
) -> Result<Availability, RegisterError> {
    if !within_limit(state, "check", ip, CHECKS_PER_WINDOW).await? {
        return Err(RegisterError::TooMany);
    }
    let taken = match what {
        Checkable::LoginName => match LoginName::parse(value) {
            Ok(n) => identities::login_name_taken(&state.db, n.as_str()).await?,
            Err(e) => return Ok(Availability::Invalid(e.message())),
        },
        Checkable::UnitName => match unit_name(value) {
            Ok(n) => identities::unit_name_taken(&state.db, &n).await?,
            Err(m) => return Ok(Availability::Invalid(m)),
        },
        Checkable::Uscc => match Uscc::parse(value) {
            Ok(u) => identities::uscc_taken(&state.db, u.as_str()).await?,
            Err(e) => return Ok(Availability::Invalid(e.message())),
        },
    };
    Ok(if taken {
        Availability::Taken
    } else {
        Availability::Available
    })
}

/// Sends a registration code to `mobile` once the captcha is answered; errors name the field
/// (`mobile_field`, `captcha` or `sms_code`).
pub async fn send_register_code(
    state: &Services,
    mobile_field: &'static str,
    mobile: &str,
    captcha_id: &str,
    captcha_answer: &str,
    ip: IpAddr,
) -> Result<SendReceipt, RegisterError> {
    let mobile = Mobile::parse(mobile)
        .map_err(|e| RegisterError::Invalid(FieldErrors::one(mobile_field, e.message())))?;
    if !captcha::verify(&state.store, captcha_id, captcha_answer).await? {
        return Err(RegisterError::Invalid(FieldErrors::one(
            "captcha",
            CAPTCHA_WRONG,
        )));
    }
    sms_code::send_code(state, SmsPurpose::Register, mobile.as_str(), ip)
        .await
        .map_err(|e| match e {
            sms_code::SmsCodeError::Internal(m) => RegisterError::Internal(Failure::Internal(m)),
            e => RegisterError::Invalid(FieldErrors::one("sms_code", e.user_message())),
        })
}

/// Collects field errors while the parsed values are kept.
#[derive(Default)]
struct Errors(FieldErrors);

impl Errors {
    fn take<T>(&mut self, field: &'static str, r: Result<T, FieldError>) -> Option<T> {
        self.take_msg(field, r.map_err(|e| e.message()))
    }

    /// A new password: a mismatched confirmation is the confirmation field's error (it
    /// stands under 确认密码), everything else the password's.
    fn take_password(&mut self, r: Result<NewPassword, FieldError>) -> Option<NewPassword> {
        let field = match &r {
            Err(e) if e.code() == "password.confirmation" => "password_confirm",
            _ => "password",
        };
        self.take(field, r)
    }

    fn take_msg<T>(&mut self, field: &'static str, r: Result<T, &'static str>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(m) => {
                self.add(field, m);
                None
            }
        }
    }

    fn add(&mut self, field: &'static str, message: &str) {
        self.0.insert(field, message.to_owned());
    }

    fn has(&self, field: &'static str) -> bool {
        self.0.contains(field)
    }
}

fn required_choice<'a>(
    value: &str,
    choices: &'a [(&'static str, &'static str)],
    missing: &'static str,
) -> Result<&'a str, &'static str> {
    choices
        .iter()
        .find(|(code, _)| *code == value)
        .map(|(code, _)| *code)
        .ok_or(missing)
}

fn person_name(value: &str, missing: &'static str) -> Result<String, &'static str> {
    let v = value.trim();
    if v.is_empty() {
        return Err(missing);
    }
    if v.chars().count() > 50 || v.chars().any(char::is_control) {
        return Err("姓名不能超过50个字符");
    }
    Ok(v.to_owned())
}

fn unit_name(value: &str) -> Result<String, &'static str> {
    let v = value.trim();
    if v.is_empty() {
        return Err("请输入单位名称");
    }
    if v.chars().count() > 100 || v.chars().any(char::is_control) {
        return Err("单位名称不能超过100个字符");
    }
    Ok(v.to_owned())
}

/// A document's type, number and validity, with errors at the fields of `f`.
struct Document {
    doc: IdDocument,
    validity: Option<IdValidity>,
}

fn check_document(
    errors: &mut Errors,
    f: DocumentFields,
    d: &DocumentInput,
    today: Date,
) -> Option<Document> {
    let kind = errors.take_msg(
        f.id_type,
        IdDocumentType::from_code(d.id_type.trim()).ok_or("请选择证件类型"),
    )?;
    let doc = errors.take(f.id_number, IdDocument::parse(kind, &d.id_number));
    let validity = match kind {
        IdDocumentType::ResidentIdCard => {
            let term = TERMS
                .iter()
                .find(|(v, _)| *v == d.term.trim())
                .map(|(_, t)| *t);
            let start = errors.take(f.valid_from, required_date(&d.valid_from));
            let term = errors.take_msg(f.term, term.ok_or("请选择身份证有效期限"));
            match (start, term) {
                (Some(s), Some(t)) => errors
                    .take(f.valid_from, IdValidity::resident_card(s, t, today))
                    .map(Some),
                _ => None,
            }
        }
        // Documents without a printed validity (household register, birth certificate…):
        // dates are optional, but checked when given.
        IdDocumentType::HouseholdRegister
        | IdDocumentType::BirthCertificate
        | IdDocumentType::MilitaryOfficerCard
        | IdDocumentType::ArmedPoliceOfficerCard
        | IdDocumentType::Other
            if d.valid_from.trim().is_empty() && d.valid_to.trim().is_empty() =>
        {
            Some(None)
        }
        _ => errors
            .take(
                f.valid_to,
                IdValidity::parse_range(&d.valid_from, &d.valid_to, today),
            )
            .map(Some),
    };
    Some(Document {
        doc: doc?,
        validity: validity?,
    })
}

fn required_date(s: &str) -> Result<Date, FieldError> {
    if s.trim().is_empty() {
        return Err(FieldError::new(
            "id_validity.start_required",
            "请选择证件有效期开始日期",
        ));
    }
    Date::parse(s)
}

fn validity_strings(v: Option<IdValidity>) -> (Option<String>, Option<String>) {
    match v {
        Some(v) => (Some(v.start().to_string()), v.end().map(|e| e.to_string())),
        None => (None, None),
    }
}

pub const PERSON_DOC: DocumentFields = DocumentFields {
    id_type: "id_type",
    id_number: "id_number",
    valid_from: "id_valid_from",
    term: "id_term",
    valid_to: "id_valid_to",
};
pub const REP_DOC: DocumentFields = DocumentFields {
    id_type: "rep_id_type",
    id_number: "rep_id_number",
    valid_from: "rep_valid_from",
    term: "rep_term",
    valid_to: "rep_valid_to",
};
pub const AGENT_DOC: DocumentFields = DocumentFields {
    id_type: "agent_id_type",
    id_number: "agent_id_number",
    valid_from: "agent_valid_from",
    term: "agent_term",
    valid_to: "agent_valid_to",
};

async fn hash_password(state: &Services, password: &NewPassword) -> Result<String, Failure> {
    let _slot = state
        .password_slots
        .acquire()
        .await
        .map_err(|e| Failure::Internal(format!("password slots: {e}")))?;
    let cfg = state.config.login.clone();
    let password = password.expose().to_owned();
    tokio::task::spawn_blocking(move || super::password::hash_blocking(&password, &cfg))
        .await
        .map_err(|e| Failure::Internal(format!("hashing task: {e}")))?
        .map_err(Failure::Internal)
}

/// The captcha, the agreement and the submission budget, common to every form.
async fn check_common(
    state: &Services,
    errors: &mut Errors,
    captcha_id: &str,
    captcha_answer: &str,
    agreed: bool,
    ip: IpAddr,
) -> Result<(), RegisterError> {
    if !within_limit(state, "submit", ip, SUBMITS_PER_WINDOW).await? {
        return Err(RegisterError::TooMany);
    }
    if !agreed {
        errors.add("agree", AGREEMENT);
    }
    // Checking uses the challenge up, right or wrong; the form comes back with a new one.
    if !captcha::verify(&state.store, captcha_id, captcha_answer).await? {
        errors.add("captcha", CAPTCHA_WRONG);
    }
    Ok(())
}

async fn verify_sms(state: &Services, mobile: &str, code: &str) -> Result<(), RegisterError> {
    if code.trim().is_empty() {
        return Err(RegisterError::Invalid(FieldErrors::one(
            "sms_code",
            "请输入短信验证码",
        )));
    }
    sms_code::verify_code(state, SmsPurpose::Register, mobile, code.trim())
        .await
        .map_err(|e| match e {
            sms_code::SmsCodeError::Internal(m) => RegisterError::Internal(Failure::Internal(m)),
            e => RegisterError::Invalid(FieldErrors::one("sms_code", e.user_message())),
        })
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", crypto::random_token(16))
}

fn conflict(e: CreateError, fields: &[(Taken, &'static str, &'static str)]) -> RegisterError {
    match e {
        CreateError::Taken(t) => match fields.iter().find(|(k, _, _)| *k == t) {
            Some((_, field, msg)) => RegisterError::Invalid(FieldErrors::one(field, *msg)),
            None => {
                RegisterError::Internal(Failure::Internal(format!("unexpected conflict {t:?}")))
            }
        },
        CreateError::Db(e) => RegisterError::Internal(e.into()),
    }
}

async fn record(state: &Services, account_id: &str, kind: &'static str, ip: IpAddr) {
    audit::record(
        state,
        AuditEntry::new(AuditEvent::AccountRegistered)
            .by_subject(account_id)
            .ip(ip)
            .detail("kind", kind),
    )
    .await;
}

/// 自然人注册. Returns the new account, with real-name verification started (see
/// [`Registered::realname`]).
pub async fn register_person(
    state: &Services,
    input: &PersonInput,
    ip: IpAddr,
) -> Result<Registered, RegisterError> {
    let today = today(state);
    let mut e = Errors::default();
    let login = e.take("login_name", LoginName::parse(&input.login_name));
    let password = e.take_password(NewPassword::parse(
        &input.password,
        &input.password_confirm,
        Some(&input.login_name),
    ));
    let real_name = e.take_msg("real_name", person_name(&input.real_name, "请输入真实姓名"));
    let region = e.take_msg(
        "identity_region",
        required_choice(&input.identity_region, &IDENTITY_REGIONS, "请选择身份类型"),
    );
    let document = check_document(&mut e, PERSON_DOC, &input.document, today);
    let country = input.id_country.trim();
    // Asked for whatever else is wrong with the document, so that all messages come at once.
    let kind = IdDocumentType::from_code(input.document.id_type.trim());
    if kind.is_some_and(IdDocumentType::requires_country) && country.is_empty() {
        e.add("id_country", "请输入证件签发国家或地区");
    }
    if country.chars().count() > 50 || country.chars().any(char::is_control) {
        e.add("id_country", "国家或地区不能超过50个字符");
    }
    let mobile = e.take("mobile", Mobile::parse(&input.mobile));
    if let Some(n) = &login {
        if identities::login_name_taken(&state.db, n.as_str()).await? {
            e.add("login_name", TAKEN_LOGIN_NAME);
        }
    }
    if let Some(m) = &mobile {
        if identities::mobile_taken(
            &state.db,
            &state.pii,
            AccountType::NaturalPerson,
            m.as_str(),
        )
        .await?
        {
            e.add("mobile", TAKEN_MOBILE);
        }
    }
    if let Some(d) = &document {
        if identities::id_number_taken(&state.db, &state.pii, d.doc.kind().code(), d.doc.number())
            .await?
        {
            e.add("id_number", TAKEN_ID);
        }
    }
    check_common(
        state,
        &mut e,
        &input.captcha_id,
        &input.captcha,
        input.agreed,
        ip,
    )
    .await?;
    let (Some(login), Some(password), Some(real_name), Some(region), Some(document), Some(mobile)) =
        (login, password, real_name, region, document, mobile)
    else {
        return Err(RegisterError::Invalid(e.0));
    };
    if !e.0.is_empty() {
        return Err(RegisterError::Invalid(e.0));
    }
    // Hashed before the code is used up, so that a failure here does not cost the code.
    let password_hash = hash_password(state, &password).await?;
    verify_sms(state, mobile.as_str(), &input.sms_code).await?;
    let (valid_from, valid_to) = validity_strings(document.validity);
    let identity = PersonIdentity {
        real_name: real_name.clone(),
        identity_region: region.to_owned(),
        id_type: document.doc.kind().code().to_owned(),
        id_number: document.doc.number().to_owned(),
        id_valid_from: valid_from,
        id_valid_to: valid_to,
        id_country: document
            .doc
            .kind()
            .requires_country()
            .then(|| country.to_owned()),
        // This form does not ask them (the seed asks them at the real-name step, which is
        // the identity form of the real-name page): not given.
        gender: None,
        ethnicity: None,
    };
    let account = NewAccount {
        id: new_id("acct"),
        login_name: login.as_str().to_owned(),
        password_hash,
        account_type: AccountType::NaturalPerson,
        display_name: real_name,
        realname_status: RealnameStatus::Unverified,
        org_id: None,
        org_role: None,
        grants: vec![],
        roles: vec![],
        login_name_chosen: true,
    };
    identities::create_person(
        &state.db,
        &state.pii,
        &account,
        Some(mobile.as_str()),
        None,
        Some(&identity),
        state.clock.now(),
    )
    .await
    .map_err(|err| {
        conflict(
            err,
            &[
                (Taken::LoginName, "login_name", TAKEN_LOGIN_NAME),
                (Taken::Mobile, "mobile", TAKEN_MOBILE),
                (Taken::IdNumber, "id_number", TAKEN_ID),
            ],
        )
    })?;
    record(state, &account.id, "natural_person", ip).await;
    crate::legacy::history::link_registration(
        state,
        &account.id,
        crate::legacy::history::RegisteredBy::Document {
            id_type: &identity.id_type,
            id_number: &identity.id_number,
        },
    )
    .await;
    // The account exists whatever the upstream does: a failure here leaves it unverified,
    // and the user can start the check again from the real-name page.
    let realname = match realname::start(state, &account.id).await {
        Ok(_) => realname::standing(state, &account.id).await.ok(),
        Err(e) => {
            tracing::warn!(error = %e, "real-name check after registration failed");
            None
        }
    };
    Ok(Registered {
        account_id: account.id,
        login_name: account.login_name,
        realname,
    })
}

/// 快速注册: a natural person with only a mobile and a password; the login name is generated
/// and may be chosen later, the identity document comes with real-name verification later.
pub async fn register_quick(
    state: &Services,
    input: &QuickInput,
    ip: IpAddr,
) -> Result<Registered, RegisterError> {
    let mut e = Errors::default();
    let mobile = e.take("mobile", Mobile::parse(&input.mobile));
    let password = e.take_password(NewPassword::parse(
        &input.password,
        &input.password_confirm,
        None,
    ));
    if let Some(m) = &mobile {
        if identities::mobile_taken(
            &state.db,
            &state.pii,
            AccountType::NaturalPerson,
            m.as_str(),
        )
        .await?
        {
            e.add("mobile", TAKEN_MOBILE);
        }
    }
    check_common(
        state,
        &mut e,
        &input.captcha_id,
        &input.captcha,
        input.agreed,
        ip,
    )
    .await?;
    let (Some(mobile), Some(password)) = (mobile, password) else {
        return Err(RegisterError::Invalid(e.0));
    };
    if !e.0.is_empty() {
        return Err(RegisterError::Invalid(e.0));
    }
    let password_hash = hash_password(state, &password).await?;
    verify_sms(state, mobile.as_str(), &input.sms_code).await?;
    // A generated name can collide (36^10 names, so only in theory): try a few.
    let mut last = None;
    for _ in 0..3 {
        let account = NewAccount {
            id: new_id("acct"),
            login_name: generated_login_name(),
            password_hash: password_hash.clone(),
            account_type: AccountType::NaturalPerson,
            display_name: mask::mask_mobile(mobile.as_str()),
            realname_status: RealnameStatus::Unverified,
            org_id: None,
            org_role: None,
            grants: vec![],
            roles: vec![],
            login_name_chosen: false,
        };
        match identities::create_person(
            &state.db,
            &state.pii,
            &account,
            Some(mobile.as_str()),
            None,
            None,
            state.clock.now(),
        )
        .await
        {
            Ok(()) => {
                record(state, &account.id, "quick", ip).await;
                return Ok(Registered {
                    account_id: account.id,
                    login_name: account.login_name,
                    realname: None,
                });
            }
            Err(CreateError::Taken(Taken::LoginName)) => last = Some(Taken::LoginName),
            Err(err) => {
                return Err(conflict(err, &[(Taken::Mobile, "mobile", TAKEN_MOBILE)]));
            }
        }
    }
    Err(RegisterError::Internal(Failure::Internal(format!(
        "no free generated login name: {last:?}"
    ))))
}

/// `m` + 10 random lowercase letters or digits.
pub fn generated_login_name() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = [0u8; 10];
    openssl::rand::rand_bytes(&mut bytes).expect("the OS random source failed");
    let mut name = String::from("m");
    // 256 % 36 != 0: rejecting the top of the range would be exact, but a bias of under 1%
    // per character does not matter for a name that is not a secret.
    name.extend(
        bytes
            .iter()
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char),
    );
    name
}

fn check_representative(
    e: &mut Errors,
    r: &RepresentativeInput,
    names: (&'static str, &'static str, &'static str),
    doc_fields: DocumentFields,
    today: Date,
) -> Option<OrgPerson> {
    let (name_field, mobile_field, missing) = names;
    let name = e.take_msg(name_field, person_name(&r.name, missing));
    let doc = check_document(e, doc_fields, &r.document, today);
    let mobile = e.take(mobile_field, Mobile::parse(&r.mobile));
    let (name, doc, mobile) = (name?, doc?, mobile?);
    let (from, to) = validity_strings(doc.validity);
    Some(OrgPerson {
        name,
        id_type: doc.doc.kind().code().to_owned(),
        id_number: doc.doc.number().to_owned(),
        id_valid_from: from,
        id_valid_to: to,
        mobile: mobile.as_str().to_owned(),
    })
}

/// 法人注册: the unit (status `registered`) and its own account as the unit's admin.
pub async fn register_legal_entity(
    state: &Services,
    input: &LegalEntityInput,
    ip: IpAddr,
) -> Result<Registered, RegisterError> {
    let today = today(state);
    let mut e = Errors::default();
    let login = e.take("login_name", LoginName::parse(&input.login_name));
    let password = e.take_password(NewPassword::parse(
        &input.password,
        &input.password_confirm,
        Some(&input.login_name),
    ));
    let entity_type = e.take_msg(
        "entity_type",
        required_choice(&input.entity_type, &ENTITY_TYPES, "请选择法人类型"),
    );
    let region = e.take_msg(
        "registration_region",
        required_choice(
            &input.registration_region,
            &UNIT_REGIONS,
            "请选择单位注册地",
        ),
    );
    let name = e.take_msg("unit_name", unit_name(&input.unit_name));
    let uscc = e.take("uscc", Uscc::parse(&input.uscc));
    let rep = check_representative(
        &mut e,
        &input.legal_rep,
        ("rep_name", "rep_mobile", "请输入法定代表人姓名"),
        REP_DOC,
        today,
    );
    let agent = check_representative(
        &mut e,
        &input.agent,
        ("agent_name", "agent_mobile", "请输入主代办人姓名"),
        AGENT_DOC,
        today,
    );
    if let Some(n) = &login {
        if identities::login_name_taken(&state.db, n.as_str()).await? {
            e.add("login_name", TAKEN_LOGIN_NAME);
        }
    }
    if let Some(n) = &name {
        if identities::unit_name_taken(&state.db, n).await? {
            e.add("unit_name", TAKEN_UNIT);
        }
    }
    if let Some(u) = &uscc {
        if identities::uscc_taken(&state.db, u.as_str()).await? {
            e.add("uscc", TAKEN_USCC);
        }
    }
    if let Some(a) = &agent {
        if !e.has("agent_mobile")
            && identities::mobile_taken(&state.db, &state.pii, AccountType::LegalEntity, &a.mobile)
                .await?
        {
            e.add("agent_mobile", TAKEN_MOBILE);
        }
    }
    check_common(
        state,
        &mut e,
        &input.captcha_id,
        &input.captcha,
        input.agreed,
        ip,
    )
    .await?;
    let (
        Some(login),
        Some(password),
        Some(entity_type),
        Some(region),
        Some(name),
        Some(uscc),
        Some(rep),
        Some(agent),
    ) = (login, password, entity_type, region, name, uscc, rep, agent)
    else {
        return Err(RegisterError::Invalid(e.0));
    };
    if !e.0.is_empty() {
        return Err(RegisterError::Invalid(e.0));
    }
    let password_hash = hash_password(state, &password).await?;
    verify_sms(state, &agent.mobile, &input.sms_code).await?;
    let org_id = new_id("org");
    let account = NewAccount {
        id: new_id("acct"),
        login_name: login.as_str().to_owned(),
        password_hash,
        account_type: AccountType::LegalEntity,
        display_name: name.clone(),
        realname_status: RealnameStatus::Unverified,
        org_id: Some(org_id.clone()),
        org_role: Some(OrgRole::Admin),
        grants: vec![],
        roles: vec![],
        login_name_chosen: true,
    };
    let agent_mobile = agent.mobile.clone();
    let unit = NewLegalEntity {
        org: NewOrg {
            id: org_id,
            name,
            uscc: Some(uscc.as_str().to_owned()),
            status: UnitStatus::Registered,
        },
        entity_type: entity_type.to_owned(),
        registration_region: region.to_owned(),
        legal_rep: rep,
        agent,
    };
    identities::create_legal_entity(
        &state.db,
        &state.pii,
        &account,
        Some(&agent_mobile),
        None,
        &unit,
        state.clock.now(),
    )
    .await
    .map_err(|err| {
        conflict(
            err,
            &[
                (Taken::LoginName, "login_name", TAKEN_LOGIN_NAME),
                (Taken::Mobile, "agent_mobile", TAKEN_MOBILE),
                (Taken::UnitName, "unit_name", TAKEN_UNIT),
                (Taken::Uscc, "uscc", TAKEN_USCC),
            ],
        )
    })?;
    record(state, &account.id, "legal_entity", ip).await;
    if let Some(uscc) = &unit.org.uscc {
        crate::legacy::history::link_registration(
            state,
            &account.id,
            crate::legacy::history::RegisteredBy::Uscc(uscc),
        )
        .await;
    }
    Ok(Registered {
        account_id: account.id,
        login_name: account.login_name,
        realname: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_shanghai() {
        assert_eq!(crate::clock::shanghai_date(0).to_string(), "1970-01-01");
        // 2026-12-01 00:30 in Shanghai is still 30 November in UTC.
        assert_eq!(
            crate::clock::shanghai_date(1_796_056_200).to_string(),
            "2026-12-01"
        );
        assert_eq!(
            crate::clock::shanghai_date(951_782_400).to_string(),
            "2000-02-29"
        );
    }

    #[test]
    fn generated_names_are_login_names() {
        for _ in 0..50 {
            let n = generated_login_name();
            assert_eq!(n.len(), 11);
            assert!(n.starts_with('m'));
            assert!(LoginName::parse(&n).is_ok());
        }
    }
}
