//! Real-name verification of natural persons (SPEC §3) and of legal entities (企业三要素:
//! unit name, USCC and legal representative, seed 004): the automatic check against the
//! configured provider, queued in the database outside the upstream's service hours or after
//! a provider error (so nothing is lost across a restart), and, for persons, the manual
//! review of uploaded ID photos after a failed check.
//!
//! Service hours are Asia/Shanghai wall-clock times (UTC+8 all year, no daylight saving),
//! computed from `state.clock`.

use tongyi_shared::{
    claims::{AccountType, RealnameStatus},
    mask::mask_id_number,
    validate::{
        Date, Ethnicity, FieldError, Gender, IdDocument, IdDocumentType, IdValidity, ResidentId,
    },
};

use super::uploads::FileField;
use crate::{
    audit::{self, AuditEntry, AuditEvent},
    config::RealnameConfig,
    failure::{Failure, FailureResult},
    providers::realname::{EnterpriseQuery, RealnameQuery, Verdict},
    services::Services,
    store::{
        self,
        accounts::Account,
        identities::{CreateError, OrgPersonRole, PersonIdentity, Taken},
        info_updates::InfoUpdate,
        realname::Review,
        uploads::NewUpload,
    },
};

use crate::clock::DAY_SECS as DAY;
/// How long one instance holds a due check while it asks the provider (more than any
/// provider timeout), so that another instance does not ask the same question meanwhile.
const CLAIM_LEASE_SECS: i64 = 120;
/// Due checks handled per background tick; the rest wait for the next tick.
const BATCH: i64 = 50;

pub use crate::clock::{shanghai_date, shanghai_minute_of_day};

fn window(cfg: &RealnameConfig) -> (i64, i64) {
    // Validated at start-up; the fallback is the documented default.
    cfg.service_window().unwrap_or((8 * 60, 18 * 60))
}

/// Whether the upstream is open at `ts`: from the start minute up to, not including, the
/// end minute.
pub fn in_service_hours(cfg: &RealnameConfig, ts: i64) -> bool {
    let (start, end) = window(cfg);
    let m = shanghai_minute_of_day(ts);
    m >= start && m < end
}

/// The first opening time after `ts` (today's when before it, otherwise tomorrow's).
pub fn next_opening(cfg: &RealnameConfig, ts: i64) -> i64 {
    let (start, _) = window(cfg);
    let midnight = crate::clock::shanghai_midnight(ts);
    let today = midnight + start * 60;
    if ts < today {
        today
    } else {
        today + DAY
    }
}

/// What the user sees on the status page ("实名认证状态").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Unverified,
    /// Unverified, with a check waiting for the upstream.
    Queued,
    PendingReview,
    Verified,
    Failed,
}

impl Standing {
    pub fn label(self) -> &'static str {
        match self {
            Standing::Unverified => "未认证",
            Standing::Queued => "排队中",
            Standing::PendingReview => "待人工审核",
            Standing::Verified => "已认证",
            Standing::Failed => "认证失败",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Unverified => "unverified",
            Standing::Queued => "queued",
            Standing::PendingReview => "pending_review",
            Standing::Verified => "verified",
            Standing::Failed => "failed",
        }
    }
}

/// The standing of an account, from its status and its queued check.
pub async fn standing(state: &Services, account_id: &str) -> FailureResult<Standing> {
    let account = store::accounts::find_by_id(&state.db, account_id)
        .await?
        .ok_or_else(|| Failure::Internal("real-name standing of a missing account".into()))?;
    Ok(match account.realname_status {
        RealnameStatus::Verified => Standing::Verified,
        RealnameStatus::PendingReview => Standing::PendingReview,
        RealnameStatus::Failed => Standing::Failed,
        RealnameStatus::Unverified => {
            let queued = store::realname::check(&state.db, account_id)
                .await?
                .is_some_and(|c| c.state == "queued");
            if queued {
                Standing::Queued
            } else {
                Standing::Unverified
            }
        }
    })
}

/// What an automatic check asks about: a person's document, or a unit's registration.
enum Subject {
    Person(PersonIdentity),
    Enterprise(EnterpriseSubject),
}

/// A legal entity's registration as the enterprise check (企业三要素) and its manual review ask
/// it, in clear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnterpriseSubject {
    pub unit_name: String,
    pub uscc: String,
    pub legal_representative: String,
}

/// The registration of a legal-entity `account` (`None` for a natural person, or while its
/// USCC or legal representative is missing).
pub async fn enterprise_subject(
    state: &Services,
    account: &Account,
) -> FailureResult<Option<EnterpriseSubject>> {
    let org = match (&account.org, account.account_type) {
        (Some(org), AccountType::LegalEntity) => org,
        _ => return Ok(None),
    };
    let Some(uscc) = org.uscc.clone() else {
        return Ok(None);
    };
    let rep = store::identities::org_person(
        &state.db,
        &state.pii,
        &org.id,
        OrgPersonRole::LegalRepresentative,
    )
    .await?;
    Ok(rep.map(|rep| EnterpriseSubject {
        unit_name: org.name.clone(),
        uscc,
        legal_representative: rep.name,
    }))
}

/// The subject of `account`'s check: a natural person's document, or a legal entity's name,
/// USCC and legal representative; `None` while something is missing.
async fn subject_of(state: &Services, account: &Account) -> FailureResult<Option<Subject>> {
    Ok(match account.account_type {
        AccountType::NaturalPerson => {
            store::identities::person_identity(&state.db, &state.pii, &account.id)
                .await?
                .map(Subject::Person)
        }
        AccountType::LegalEntity => enterprise_subject(state, account)
            .await?
            .map(Subject::Enterprise),
    })
}

/// Starts the automatic check of an account: a natural person's identity document, or a
/// legal entity's registration (企业三要素). Inside service hours the provider is asked now
/// (→ `verified` or `failed`); outside them, or when the provider cannot answer, the check is
/// queued and the account stays `unverified` (shown as 排队中). Returns the account's status
/// afterwards. An account without what the check needs, or not `unverified`, is left as it
/// is.
pub async fn start(state: &Services, account_id: &str) -> FailureResult<RealnameStatus> {
    let account = store::accounts::find_by_id(&state.db, account_id)
        .await?
        .ok_or_else(|| Failure::Internal("real-name check of a missing account".into()))?;
    // Only unverified accounts: a failed one goes to manual review, not back to the provider
    // (which would let anyone probe name/number pairs through their own account).
    if account.realname_status != RealnameStatus::Unverified {
        return Ok(account.realname_status);
    }
    let Some(subject) = subject_of(state, &account).await? else {
        return Ok(account.realname_status);
    };
    let now = state.clock.now();
    let cfg = &state.config.realname;
    if !in_service_hours(cfg, now) {
        store::realname::queue(&state.db, account_id, next_opening(cfg, now), now).await?;
        set_status(
            state,
            account_id,
            account.realname_status,
            RealnameStatus::Unverified,
        )
        .await?;
        return Ok(RealnameStatus::Unverified);
    }
    // A fresh check: earlier failed attempts of an older document do not count.
    store::realname::queue(&state.db, account_id, now, now).await?;
    attempt(state, account_id, account.realname_status, &subject).await
}

/// Asks the provider once and records the outcome.
async fn attempt(
    state: &Services,
    account_id: &str,
    old: RealnameStatus,
    subject: &Subject,
) -> FailureResult<RealnameStatus> {
    let verdict = match subject {
        Subject::Person(identity) => {
            let query = RealnameQuery {
                name: &identity.real_name,
                id_type: &identity.id_type,
                id_number: &identity.id_number,
            };
            state.realname.verify(&query).await
        }
        Subject::Enterprise(unit) => {
            let query = EnterpriseQuery {
                unit_name: &unit.unit_name,
                uscc: &unit.uscc,
                legal_representative: &unit.legal_representative,
            };
            state.realname.verify_enterprise(&query).await
        }
    };
    let now = state.clock.now();
    let cfg = &state.config.realname;
    let (new, outcome) = match verdict {
        Ok(Verdict::Match) => (RealnameStatus::Verified, "match"),
        Ok(Verdict::Mismatch) => (RealnameStatus::Failed, "mismatch"),
        Err(e) => {
            let mut next = now + cfg.retry_secs;
            if !in_service_hours(cfg, next) {
                next = next_opening(cfg, next);
            }
            let reason = match &e {
                crate::providers::realname::RealnameError::Status { status } => {
                    format!("http {status}")
                }
                other => other.to_string(),
            };
            let attempts =
                store::realname::attempt_failed(&state.db, account_id, &reason, next, now).await?;
            // A refusal that is not retryable (4xx: our key or request) is our fault, not the
            // person's: it keeps the check queued, however often, until the service is fixed.
            if attempts < cfg.max_attempts || !e.is_retryable() {
                if e.is_retryable() {
                    tracing::warn!(attempts, error = %e, "real-name check deferred");
                } else {
                    tracing::error!(attempts, error = %e, "real-name service refuses our checks");
                }
                set_status(state, account_id, old, RealnameStatus::Unverified).await?;
                return Ok(RealnameStatus::Unverified);
            }
            // A service that stays down must not leave the user waiting for ever: manual
            // review is offered instead.
            tracing::warn!(attempts, "real-name check gave up; manual review offered");
            (RealnameStatus::Failed, "gave_up")
        }
    };
    store::realname::finish(&state.db, account_id, now).await?;
    set_status(state, account_id, old, new).await?;
    audit::record(
        state,
        AuditEntry::new(AuditEvent::RealnameVerified)
            .subject(account_id)
            .detail("outcome", outcome),
    )
    .await;
    Ok(new)
}

/// Sets the status and records the change (by the system) when there is one.
async fn set_status(
    state: &Services,
    account_id: &str,
    old: RealnameStatus,
    new: RealnameStatus,
) -> FailureResult<()> {
    if old == new {
        return Ok(());
    }
    let now = state.clock.now();
    store::accounts::set_realname_status(&state.db, account_id, new, now).await?;
    record_change(state, account_id, None, old, new).await
}

async fn record_change(
    state: &Services,
    account_id: &str,
    actor: Option<&str>,
    old: RealnameStatus,
    new: RealnameStatus,
) -> FailureResult<()> {
    store::info_updates::record(
        &state.db,
        &InfoUpdate {
            account_id: Some(account_id.to_owned()),
            org_id: None,
            actor_account_id: actor.map(str::to_owned),
            field: "realname_status".into(),
            old_value: old.as_str().into(),
            new_value: new.as_str().into(),
            at: state.clock.now(),
        },
    )
    .await?;
    Ok(())
}

/// Runs the queued checks that are due, inside service hours only; returns how many were
/// asked. Called by the background job on every tick of every instance: each check is
/// claimed first, so instances do not ask twice.
pub async fn run_due(state: &Services) -> FailureResult<usize> {
    let done = run_due_checks(state).await?;
    // Counted on every tick, in service hours or not, so that the metric shows the queue
    // growing overnight and draining in the morning.
    state
        .metrics
        .realname_queued(store::realname::queued(&state.db).await?);
    Ok(done)
}

async fn run_due_checks(state: &Services) -> FailureResult<usize> {
    let now = state.clock.now();
    if !in_service_hours(&state.config.realname, now) {
        return Ok(0);
    }
    let mut done = 0;
    for account_id in store::realname::due(&state.db, now, BATCH).await? {
        if !store::realname::claim(&state.db, &account_id, now, CLAIM_LEASE_SECS).await? {
            continue;
        }
        let account = store::accounts::find_by_id(&state.db, &account_id).await?;
        let subject = match &account {
            Some(a) => subject_of(state, a).await?,
            None => None,
        };
        match (account, subject) {
            (Some(a), Some(subject)) if a.realname_status == RealnameStatus::Unverified => {
                attempt(state, &account_id, a.realname_status, &subject).await?;
                done += 1;
            }
            // Decided meanwhile (e.g. by a review) or the document is gone: nothing to ask.
            _ => store::realname::finish(&state.db, &account_id, now).await?,
        }
    }
    Ok(done)
}

/// The identity form (real name, region, document, gender, 民族) as submitted, in text.
#[derive(Clone, Debug, Default)]
pub struct IdentityInput {
    pub real_name: String,
    pub identity_region: String,
    pub id_type: String,
    pub id_number: String,
    pub id_valid_from: String,
    /// A date, or `长期` for a long-term resident ID card.
    pub id_valid_to: String,
    pub id_country: String,
    /// A [`Gender::code`] (`1` 男, `2` 女).
    pub gender: String,
    /// An [`Ethnicity::code`] of [`ETHNIC_GROUPS`](tongyi_shared::validate::ETHNIC_GROUPS).
    pub ethnicity: String,
}

/// Form field → Chinese message.
pub use crate::fields::FieldErrors;

pub const REGIONS: [(&str, &str); 3] = [
    ("mainland", "中国大陆"),
    ("hk_macao_taiwan", "港澳台"),
    ("other", "其他国家或地区"),
];

const ERR_NAME: FieldError = FieldError::new("real_name.length", "请输入2-30个字的真实姓名");
const ERR_REGION: FieldError = FieldError::new("identity_region.required", "请选择身份类型");
const ERR_TYPE: FieldError = FieldError::new("id_type.required", "请选择证件类型");
const ERR_COUNTRY: FieldError = FieldError::new("id_country.required", "请输入签发国家或地区");
const ERR_GENDER: FieldError = FieldError::new("gender.required", "请选择性别");
const ERR_GENDER_ID: FieldError = FieldError::new("gender.id_number", "性别与身份证号码不符");
const ERR_ETHNICITY: FieldError = FieldError::new("ethnicity.required", "请选择民族");
const ERR_ETHNICITY_UNKNOWN: FieldError =
    FieldError::new("ethnicity.unknown", "请从列表中选择民族");

/// 性别 is asked of everyone: every document states one. 民族 is required of 中国大陆
/// residents only, whose 居民身份证 and 户口簿 carry it; residents of 港澳台 and foreigners
/// have none on their documents, so for them it is optional (其他 is offered to anyone who
/// wants to answer without a listed group). A code outside the list is refused either way.
fn ethnicity_required(identity_region: &str) -> bool {
    identity_region == "mainland"
}

/// Checks the identity form with the registration rules; every bad field gets its message.
pub fn parse_identity(input: &IdentityInput, today: Date) -> Result<PersonIdentity, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = input.real_name.trim();
    if !(2..=30).contains(&name.chars().count()) || name.chars().any(char::is_control) {
        errors.insert("real_name", ERR_NAME.message());
    }
    let region = REGIONS
        .iter()
        .find(|(code, _)| *code == input.identity_region)
        .map(|(code, _)| *code);
    if region.is_none() {
        errors.insert("identity_region", ERR_REGION.message());
    }
    let kind = IdDocumentType::from_code(&input.id_type);
    let gender = Gender::from_code(&input.gender);
    let mut number = None;
    let mut validity = None;
    match kind {
        None => errors.insert("id_type", ERR_TYPE.message()),
        Some(kind) => {
            let parsed = if kind.is_resident_id_number() {
                ResidentId::parse_as_of(&input.id_number, today)
                    .and_then(|id| IdDocument::parse(kind, id.as_str()))
            } else {
                IdDocument::parse(kind, &input.id_number)
            };
            match parsed {
                Ok(d) => {
                    // A 公民身份号码 encodes the gender (GB 11643): a choice that disagrees is
                    // a slip the provider, which checks name and number only, would not catch.
                    let encoded = d.resident_id().map(|id| id.gender());
                    if let (Some(encoded), Some(chosen)) = (encoded, gender) {
                        if encoded != chosen {
                            errors.insert("gender", ERR_GENDER_ID.message());
                        }
                    }
                    number = Some(d.number().to_owned());
                }
                Err(e) => errors.insert("id_number", e.message()),
            }
            let v = if kind == IdDocumentType::ResidentIdCard {
                IdValidity::parse_resident_card(&input.id_valid_from, &input.id_valid_to, today)
            } else {
                IdValidity::parse_range(&input.id_valid_from, &input.id_valid_to, today)
            };
            match v {
                Ok(v) => validity = Some(v),
                Err(e) => errors.insert("id_validity", e.message()),
            }
            if kind.requires_country() && input.id_country.trim().is_empty() {
                errors.insert("id_country", ERR_COUNTRY.message());
            }
        }
    }
    if gender.is_none() {
        errors.insert("gender", ERR_GENDER.message());
    }
    let ethnicity = match input.ethnicity.trim() {
        "" if region.is_some_and(ethnicity_required) => {
            errors.insert("ethnicity", ERR_ETHNICITY.message());
            None
        }
        "" => None,
        code => {
            let e = Ethnicity::from_code(code);
            if e.is_none() {
                errors.insert("ethnicity", ERR_ETHNICITY_UNKNOWN.message());
            }
            e
        }
    };
    match (errors.is_empty(), kind, number, validity, region) {
        (true, Some(kind), Some(number), Some(validity), Some(region)) => Ok(PersonIdentity {
            real_name: name.to_owned(),
            identity_region: region.to_owned(),
            id_type: kind.code().to_owned(),
            id_number: number,
            id_valid_from: Some(validity.start().to_string()),
            id_valid_to: validity.end().map(|d| d.to_string()),
            id_country: kind
                .requires_country()
                .then(|| input.id_country.trim().to_owned()),
            gender: gender.map(|g| g.code().to_owned()),
            ethnicity: ethnicity.map(|e| e.code().to_owned()),
        }),
        _ => Err(errors),
    }
}

/// A user's real-name submissions (identity, check, photos) went over
/// [`SUBMISSIONS_PER_HOUR`]; nothing was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManySubmissions;

/// Identity, check and photo submissions per account per hour: each may ask the upstream or
/// store two megabytes.
pub const SUBMISSIONS_PER_HOUR: i64 = 20;

/// Counts one submission by the account's user, refused or not, and says whether it is
/// still within [`SUBMISSIONS_PER_HOUR`].
async fn count_submission(
    state: &Services,
    account_id: &str,
) -> FailureResult<Result<(), TooManySubmissions>> {
    let key = format!("realname:submit:{account_id}");
    Ok(
        if state.store.incr(&key, 3600).await? > SUBMISSIONS_PER_HOUR {
            Err(TooManySubmissions)
        } else {
            Ok(())
        },
    )
}

/// The user asks for the automatic check ([`start`]), within [`SUBMISSIONS_PER_HOUR`].
pub async fn request_check(
    state: &Services,
    account_id: &str,
) -> FailureResult<Result<RealnameStatus, TooManySubmissions>> {
    if let Err(e) = count_submission(state, account_id).await? {
        return Ok(Err(e));
    }
    Ok(Ok(start(state, account_id).await?))
}

/// Why an identity could not be saved.
#[derive(Debug)]
pub enum IdentityError {
    Fields(FieldErrors),
    /// The account already has a document (it is changed from the account console).
    AlreadyHasOne,
    TooManySubmissions,
}

/// Saves the identity document of an account that has none yet (quick registration skipped
/// it) and starts the check. Counts as one of the user's submissions.
pub async fn add_identity(
    state: &Services,
    account_id: &str,
    input: &IdentityInput,
) -> FailureResult<Result<RealnameStatus, IdentityError>> {
    if count_submission(state, account_id).await?.is_err() {
        return Ok(Err(IdentityError::TooManySubmissions));
    }
    let now = state.clock.now();
    if store::identities::person_identity(&state.db, &state.pii, account_id)
        .await?
        .is_some()
    {
        return Ok(Err(IdentityError::AlreadyHasOne));
    }
    let identity = match parse_identity(input, shanghai_date(now)) {
        Ok(i) => i,
        Err(e) => return Ok(Err(IdentityError::Fields(e))),
    };
    match store::identities::set_identity(&state.db, &state.pii, account_id, &identity, now).await {
        Ok(()) => {}
        Err(CreateError::Taken(Taken::IdNumber)) => {
            return Ok(Err(IdentityError::Fields(FieldErrors::one(
                "id_number",
                "该证件号码已被其他账号使用",
            ))))
        }
        Err(CreateError::Taken(_)) => {
            return Err(Failure::Internal(
                "unexpected unique value on identity".into(),
            ))
        }
        Err(CreateError::Db(e)) => return Err(e.into()),
    }
    for (field, old, new) in [
        ("real_name", String::new(), identity.real_name.clone()),
        (
            "id_number",
            String::new(),
            mask_id_number(&identity.id_number),
        ),
    ] {
        store::info_updates::record(
            &state.db,
            &InfoUpdate {
                account_id: Some(account_id.to_owned()),
                org_id: None,
                actor_account_id: Some(account_id.to_owned()),
                field: field.into(),
                old_value: old,
                new_value: new,
                at: now,
            },
        )
        .await?;
    }
    Ok(Ok(start(state, account_id).await?))
}

/// One checked image of an ID card side.
struct IdImage {
    content_type: &'static str,
    data: Vec<u8>,
}

/// The two uploaded sides of an ID card, as the multipart reader saw them.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdPhotos<'a> {
    pub front: FileField<'a>,
    pub back: FileField<'a>,
}

/// Why a manual review was not filed.
#[derive(Debug)]
pub enum ReviewRefusal {
    TooManySubmissions,
    /// A photo was missing, too large or not an image: field → message.
    Photos(FieldErrors),
    /// Only a failed automatic check leads to a manual review.
    NotAfterFailure,
}

/// Files a manual review with the front and back photos, only after a failed check. Counts
/// as one of the user's submissions, whatever the photos. Returns the review's id.
pub async fn submit_review(
    state: &Services,
    account_id: &str,
    photos: IdPhotos<'_>,
) -> FailureResult<Result<String, ReviewRefusal>> {
    if count_submission(state, account_id).await?.is_err() {
        return Ok(Err(ReviewRefusal::TooManySubmissions));
    }
    let (front, back) = match (photos.front.check_image(), photos.back.check_image()) {
        (Ok(f), Ok(b)) => (f, b),
        (f, b) => {
            let mut errors = FieldErrors::new();
            if let Err(e) = f {
                errors.insert("id_front", e.message());
            }
            if let Err(e) = b {
                errors.insert("id_back", e.message());
            }
            return Ok(Err(ReviewRefusal::Photos(errors)));
        }
    };
    let image = |content_type, file: FileField<'_>| IdImage {
        content_type,
        data: file.data.map(<[u8]>::to_vec).unwrap_or_default(),
    };
    let front = image(front, photos.front);
    let back = image(back, photos.back);
    let account = store::accounts::find_by_id(&state.db, account_id)
        .await?
        .ok_or_else(|| Failure::Internal("review of a missing account".into()))?;
    if account.realname_status != RealnameStatus::Failed {
        return Ok(Err(ReviewRefusal::NotAfterFailure));
    }
    let now = state.clock.now();
    let upload = |purpose: &str, img: IdImage| NewUpload {
        id: uuid::Uuid::new_v4().to_string(),
        owner_account_id: Some(account_id.to_owned()),
        purpose: purpose.into(),
        content_type: img.content_type,
        data: img.data,
    };
    let front = upload("id_front", front);
    let back = upload("id_back", back);
    let review_id = uuid::Uuid::new_v4().to_string();
    store::realname::create_review(
        &state.db, &state.pii, &review_id, account_id, &front, &back, now,
    )
    .await?;
    record_change(
        state,
        account_id,
        Some(account_id),
        RealnameStatus::Failed,
        RealnameStatus::PendingReview,
    )
    .await?;
    Ok(Ok(review_id))
}

/// An admin's decision on a manual review.
#[derive(Clone, Debug)]
pub enum Decision {
    Approve,
    Reject { reason: String },
}

/// Decides a pending review; false when it was no longer pending.
pub async fn decide(
    state: &Services,
    admin_id: &str,
    review: &Review,
    decision: &Decision,
) -> FailureResult<bool> {
    let now = state.clock.now();
    let (approve, reason) = match decision {
        Decision::Approve => (true, None),
        Decision::Reject { reason } => (false, Some(reason.trim())),
    };
    let decided =
        store::realname::decide(&state.db, review, approve, reason, admin_id, now).await?;
    if !decided {
        return Ok(false);
    }
    let new = if approve {
        RealnameStatus::Verified
    } else {
        RealnameStatus::Failed
    };
    record_change(
        state,
        &review.account_id,
        Some(admin_id),
        RealnameStatus::PendingReview,
        new,
    )
    .await?;
    audit::record(
        state,
        AuditEntry::new(AuditEvent::RealnameReviewDecided)
            .actor(admin_id)
            .subject(&review.account_id)
            .detail("decision", if approve { "approved" } else { "rejected" }),
    )
    .await;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shanghai_clock() {
        // 2026-12-01 00:00:00 UTC is 08:00 in Shanghai.
        let t = 1_796_083_200;
        assert_eq!(shanghai_minute_of_day(t), 8 * 60);
        assert_eq!(shanghai_date(t).to_string(), "2026-12-01");
        assert_eq!(shanghai_date(t - 8 * 3600 - 1).to_string(), "2026-11-30");
        let cfg = RealnameConfig::default();
        assert!(in_service_hours(&cfg, t));
        assert!(!in_service_hours(&cfg, t - 60));
        assert!(in_service_hours(&cfg, t + 10 * 3600 - 1));
        assert!(!in_service_hours(&cfg, t + 10 * 3600));
        assert_eq!(next_opening(&cfg, t - 60), t);
        assert_eq!(next_opening(&cfg, t + 10 * 3600), t + DAY);
        assert_eq!(next_opening(&cfg, t + 16 * 3600 - 1), t + DAY);
        assert_eq!(next_opening(&cfg, t + 16 * 3600), t + DAY, "midnight local");
        assert_eq!(shanghai_date(0).to_string(), "1970-01-01");
        assert_eq!(shanghai_date(951_782_400).to_string(), "2000-02-29");
    }

    #[test]
    fn identity_form_rules() {
        let today = Date::new(2026, 12, 1).unwrap();
        let good = IdentityInput {
            real_name: " 李四 ".into(),
            identity_region: "mainland".into(),
            id_type: "resident_id_card".into(),
            id_number: "11010519491231002x".into(),
            id_valid_from: "2020-01-01".into(),
            id_valid_to: "长期".into(),
            id_country: String::new(),
            gender: "2".into(),
            ethnicity: "03".into(),
        };
        let i = parse_identity(&good, today).unwrap();
        assert_eq!(i.real_name, "李四");
        assert_eq!(i.id_number, "11010519491231002X");
        assert_eq!(i.id_valid_to, None);
        assert_eq!(
            (i.gender.as_deref(), i.ethnicity.as_deref()),
            (Some("2"), Some("03"))
        );
        let bad = IdentityInput {
            real_name: "李".into(),
            identity_region: "mars".into(),
            id_type: "passport".into(),
            id_number: "!".into(),
            id_valid_from: "2030-01-01".into(),
            id_valid_to: "2020-01-01".into(),
            id_country: String::new(),
            gender: "9".into(),
            ethnicity: "汉族".into(),
        };
        let fields: Vec<_> = parse_identity(&bad, today)
            .unwrap_err()
            .iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            [
                "real_name",
                "identity_region",
                "id_number",
                "id_validity",
                "id_country",
                "gender",
                "ethnicity"
            ]
        );
    }

    fn errors_of(input: &IdentityInput) -> FieldErrors {
        parse_identity(input, Date::new(2026, 12, 1).unwrap())
            .err()
            .unwrap_or_default()
    }

    fn mainland_card() -> IdentityInput {
        IdentityInput {
            real_name: "李四".into(),
            identity_region: "mainland".into(),
            id_type: "resident_id_card".into(),
            // The 17th digit 2: a woman.
            id_number: "11010519491231002X".into(),
            id_valid_from: "2020-01-01".into(),
            id_valid_to: "长期".into(),
            id_country: String::new(),
            gender: "2".into(),
            ethnicity: "01".into(),
        }
    }

    #[test]
    fn gender_is_required_and_agrees_with_a_resident_id_number() {
        assert_eq!(errors_of(&mainland_card()), []);
        for missing in ["", " ", "0", "9", "女", "female"] {
            let input = IdentityInput {
                gender: missing.into(),
                ..mainland_card()
            };
            assert_eq!(errors_of(&input), [("gender", "请选择性别")], "{missing:?}");
        }
        let input = IdentityInput {
            gender: "1".into(),
            ..mainland_card()
        };
        assert_eq!(errors_of(&input), [("gender", "性别与身份证号码不符")]);
        // Other documents encode nothing: either answer stands, but one is still required.
        let passport = IdentityInput {
            identity_region: "other".into(),
            id_type: "passport".into(),
            id_number: "E87654321".into(),
            id_valid_to: "2030-01-01".into(),
            id_country: "新加坡".into(),
            gender: "1".into(),
            ..mainland_card()
        };
        assert_eq!(errors_of(&passport), []);
        let input = IdentityInput {
            gender: String::new(),
            ..passport
        };
        assert_eq!(errors_of(&input), [("gender", "请选择性别")]);
    }

    #[test]
    fn ethnicity_is_a_listed_code_required_on_the_mainland() {
        let input = IdentityInput {
            ethnicity: String::new(),
            ..mainland_card()
        };
        assert_eq!(errors_of(&input), [("ethnicity", "请选择民族")]);
        for unknown in ["57", "98", "00", "汉族", "han"] {
            let input = IdentityInput {
                ethnicity: unknown.into(),
                ..mainland_card()
            };
            assert_eq!(
                errors_of(&input),
                [("ethnicity", "请从列表中选择民族")],
                "{unknown:?}"
            );
        }
        let other = IdentityInput {
            ethnicity: "97".into(),
            ..mainland_card()
        };
        let i = parse_identity(&other, Date::new(2026, 12, 1).unwrap()).unwrap();
        assert_eq!(i.ethnicity.as_deref(), Some("97"));
        // Outside 中国大陆 it may be left out (stored as not given), not made up.
        let permit = IdentityInput {
            identity_region: "hk_macao_taiwan".into(),
            id_type: "hk_macao_permit".into(),
            id_number: "H12345678".into(),
            id_valid_to: "2030-01-01".into(),
            ethnicity: String::new(),
            ..mainland_card()
        };
        let i = parse_identity(&permit, Date::new(2026, 12, 1).unwrap()).unwrap();
        assert_eq!((i.gender.as_deref(), i.ethnicity), (Some("2"), None));
        let input = IdentityInput {
            ethnicity: "99".into(),
            ..permit
        };
        assert_eq!(errors_of(&input), [("ethnicity", "请从列表中选择民族")]);
    }
}
