//! 评审专家信息完善 (seed 003): a natural person applies to be an expert with its institution,
//! position, title and fields of expertise (name, ID and mobile come from the account); a
//! platform admin approves — the account gets the role `expert`, in the `roles` claim of new
//! tokens — or rejects with a reason, after which the person may apply again.

use tongyi_shared::claims::AccountType;

use super::{
    fields_ok, person::check_gender, required_text, Actor, DirResult, DirectoryError, FieldErrors,
    PAGE_SIZE,
};
use crate::{
    accounts::profile::parse_email,
    audit::{self, AuditEntry, AuditEvent},
    pii::PiiField,
    services::Services,
    store::{self, accounts::Account, people::ExpertApplication},
};

pub const PENDING: &str = "pending";
pub const APPROVED: &str = "approved";
pub const REJECTED: &str = "rejected";
const MAX_FIELDS: usize = 10;

/// An expert application as submitted (the directory API's contract type).
pub use tongyi_shared::api::people::ExpertInput;

/// An application with the account it belongs to.
pub struct ExpertView {
    pub account: Account,
    pub application: Option<ExpertApplication>,
}

pub async fn mine(state: &Services, actor: &Actor) -> DirResult<ExpertView> {
    if actor.account.account_type != AccountType::NaturalPerson {
        return Err(DirectoryError::Forbidden(
            "only natural persons apply as experts".into(),
        ));
    }
    let application = store::people::expert(&state.db, &actor.account.id).await?;
    Ok(ExpertView {
        account: actor.account.clone(),
        application,
    })
}

pub async fn submit(state: &Services, actor: &Actor, input: &ExpertInput) -> DirResult<ExpertView> {
    mine(state, actor).await?;
    let mut e = FieldErrors::new();
    let gender = check_gender(&mut e, &input.gender);
    let email = input.email.trim();
    let email = if email.is_empty() {
        None
    } else {
        let parsed = parse_email(email);
        if parsed.is_none() {
            e.insert("email".into(), "请输入正确的电子邮箱".into());
        }
        parsed
    };
    let institution = required_text(&mut e, "institution", &input.institution, 100, "工作单位");
    let position = required_text(&mut e, "position", &input.position, 50, "职务");
    let title = required_text(&mut e, "title", &input.title, 50, "职称");
    let fields: Vec<String> = input
        .fields
        .iter()
        .map(|f| f.trim().to_owned())
        .filter(|f| !f.is_empty())
        .collect();
    if fields.is_empty() {
        e.insert("fields".into(), "请填写专业领域".into());
    } else if fields.len() > MAX_FIELDS || fields.iter().any(|f| f.chars().count() > 50) {
        e.insert(
            "fields".into(),
            format!("专业领域最多 {MAX_FIELDS} 项，每项不超过 50 个字"),
        );
    }
    fields_ok(e)?;
    let a = ExpertApplication {
        account_id: actor.account.id.clone(),
        gender,
        email_sealed: email.map(|m| state.pii.seal(PiiField::Email, &m)),
        institution,
        position,
        title,
        fields,
        status: PENDING.into(),
        reason: None,
        submitted_at: state.clock.now(),
        decided_at: None,
        decided_by: None,
    };
    if !store::people::submit_expert(&state.db, &a).await? {
        return Err(DirectoryError::Conflict(
            "an application is pending or approved already".into(),
        ));
    }
    mine(state, actor).await
}

pub struct ExpertPage {
    pub items: Vec<ExpertView>,
    pub total: i64,
}

pub async fn list(
    state: &Services,
    actor: &Actor,
    status: &str,
    page: i64,
) -> DirResult<ExpertPage> {
    actor.require_platform_admin()?;
    if ![PENDING, APPROVED, REJECTED].contains(&status) {
        return Err(DirectoryError::Invalid(format!("unknown state {status:?}")));
    }
    let (apps, total) =
        store::people::experts(&state.db, status, PAGE_SIZE, super::offset(page)).await?;
    let mut items = Vec::with_capacity(apps.len());
    for a in apps {
        if let Some(account) = store::accounts::find_by_id(&state.db, &a.account_id).await? {
            items.push(ExpertView {
                account,
                application: Some(a),
            });
        }
    }
    Ok(ExpertPage { items, total })
}

/// A platform admin approves (`reason` None) or rejects a pending application.
pub async fn decide(
    state: &Services,
    actor: &Actor,
    account_id: &str,
    reason: Option<&str>,
) -> DirResult<ExpertView> {
    actor.require_platform_admin()?;
    let account = store::accounts::find_by_id(&state.db, account_id)
        .await?
        .ok_or_else(|| DirectoryError::NotFound("no such account".into()))?;
    if store::people::expert(&state.db, account_id)
        .await?
        .is_none()
    {
        return Err(DirectoryError::NotFound("no expert application".into()));
    }
    let reason = match reason {
        Some(r) => {
            let r = r.trim();
            if r.is_empty() || r.chars().count() > super::review::MAX_REASON_CHARS {
                return Err(DirectoryError::Invalid(
                    "a reason of 1 to 500 characters is required".into(),
                ));
            }
            Some(r)
        }
        None => None,
    };
    let approve = reason.is_none();
    let now = state.clock.now();
    if !store::people::decide_expert(
        &state.db,
        account_id,
        approve,
        reason,
        &actor.account.id,
        now,
    )
    .await?
    {
        return Err(DirectoryError::Conflict(
            "the application is not pending".into(),
        ));
    }
    let entry = AuditEntry::new(AuditEvent::ExpertReviewed)
        .actor(&actor.account.id)
        .subject(account_id)
        .detail("decision", if approve { APPROVED } else { REJECTED });
    audit::record(state, entry).await;
    let application = store::people::expert(&state.db, account_id).await?;
    Ok(ExpertView {
        account,
        application,
    })
}
