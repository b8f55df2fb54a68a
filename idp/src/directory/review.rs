//! The review of units by their supervising department (局级主管部门审核).
//!
//! `registered` or `returned` → submit (by the unit's admin, naming a department) →
//! `pending_review` → approve (a reviewer of that department) → `active`, or return with a
//! reason → `returned`. Every transition is recorded in `unit_reviews`.

use super::{
    Actor, DirResult, DirectoryError, ACTIVE, PAGE_SIZE, PENDING_REVIEW, REGISTERED, RETURNED,
};
use crate::{
    audit::{self, AuditEntry, AuditEvent},
    state::AppState,
    store::{
        self,
        directory::{ReviewEntry, UnitRecord},
    },
};

/// Longest accepted return reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// A unit with its review history.
pub struct UnitView {
    pub unit: UnitRecord,
    pub history: Vec<ReviewEntry>,
}

/// One page of units to review.
pub struct ReviewPage {
    pub units: Vec<UnitRecord>,
    pub total: i64,
}

async fn unit(state: &AppState, org_id: &str) -> DirResult<UnitRecord> {
    store::directory::find_unit(&state.db, org_id)
        .await?
        .ok_or_else(|| DirectoryError::NotFound("no such unit".into()))
}

/// The unit and its history, for its admin, its department's reviewers and platform admins.
pub async fn view(state: &AppState, actor: &Actor, org_id: &str) -> DirResult<UnitView> {
    let unit = unit(state, org_id).await?;
    let reviewer = unit
        .department_id
        .as_deref()
        .is_some_and(|d| actor.reviews(d));
    if !(actor.is_admin_of(org_id) || reviewer || actor.is_platform_admin()) {
        return Err(DirectoryError::Forbidden(
            "only the unit's admin, its department's reviewers and platform admins may see it"
                .into(),
        ));
    }
    let history = store::directory::history(&state.db, org_id).await?;
    Ok(UnitView { unit, history })
}

/// The unit's admin submits its completed information to `department_id` for review.
pub async fn submit(
    state: &AppState,
    actor: &Actor,
    org_id: &str,
    department_id: &str,
) -> DirResult<UnitRecord> {
    let unit = unit(state, org_id).await?;
    actor.require_unit_admin(org_id)?;
    if store::directory::find_department(&state.db, department_id)
        .await?
        .is_none()
    {
        return Err(DirectoryError::Invalid("unknown department_id".into()));
    }
    transition(
        state,
        actor,
        unit,
        &[REGISTERED, RETURNED],
        PENDING_REVIEW,
        "submit",
        Some(department_id),
        None,
    )
    .await
}

/// A reviewer of the unit's department (or a platform admin) approves it: it becomes active.
pub async fn approve(state: &AppState, actor: &Actor, org_id: &str) -> DirResult<UnitRecord> {
    let unit = reviewable(state, actor, org_id).await?;
    transition(
        state,
        actor,
        unit,
        &[PENDING_REVIEW],
        ACTIVE,
        "approve",
        None,
        None,
    )
    .await
}

/// A reviewer returns the unit with a reason; its admin may edit and resubmit.
pub async fn return_unit(
    state: &AppState,
    actor: &Actor,
    org_id: &str,
    reason: &str,
) -> DirResult<UnitRecord> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(DirectoryError::Invalid(format!(
            "a reason of 1 to {MAX_REASON_CHARS} characters is required"
        )));
    }
    let unit = reviewable(state, actor, org_id).await?;
    transition(
        state,
        actor,
        unit,
        &[PENDING_REVIEW],
        RETURNED,
        "return",
        None,
        Some(reason),
    )
    .await
}

async fn reviewable(state: &AppState, actor: &Actor, org_id: &str) -> DirResult<UnitRecord> {
    let unit = unit(state, org_id).await?;
    let reviewer = unit
        .department_id
        .as_deref()
        .is_some_and(|d| actor.reviews(d));
    if !reviewer && !actor.is_platform_admin() {
        return Err(DirectoryError::Forbidden(
            "only a reviewer of the unit's department may decide".into(),
        ));
    }
    Ok(unit)
}

#[allow(clippy::too_many_arguments)] // one call per transition, each names what it sets
async fn transition(
    state: &AppState,
    actor: &Actor,
    unit: UnitRecord,
    from: &[&str],
    to: &str,
    action: &str,
    department: Option<&str>,
    reason: Option<&str>,
) -> DirResult<UnitRecord> {
    let refused = |status: &str| {
        DirectoryError::Conflict(format!(
            "cannot {action} a unit whose status is {status} (expected {})",
            from.join(" or ")
        ))
    };
    if !from.contains(&unit.status.as_str()) {
        return Err(refused(&unit.status));
    }
    let entry = ReviewEntry {
        id: 0,
        org_id: unit.id.clone(),
        actor_account_id: actor.account.id.clone(),
        action: action.to_owned(),
        from_status: unit.status.clone(),
        to_status: to.to_owned(),
        department_id: department
            .map(str::to_owned)
            .or_else(|| unit.department_id.clone()),
        reason: reason.map(str::to_owned),
        at: state.clock.now(),
    };
    // The UPDATE checks the status again: a concurrent decision makes this one a conflict.
    let done = store::directory::transition(&state.db, from, &entry, department).await?;
    let now = self::unit(state, &unit.id).await?;
    if !done {
        return Err(refused(&now.status));
    }
    let audit_entry = AuditEntry::new(AuditEvent::UnitReviewed)
        .actor(&actor.account.id)
        .detail("org_id", unit.id.as_str())
        .detail("action", action)
        .detail("from", entry.from_status.as_str())
        .detail("to", to);
    audit::record(state, audit_entry).await;
    Ok(now)
}

/// Units in `status` that chose one of the actor's departments (every department for a
/// platform admin), whose name contains `q`, page by page.
pub async fn list_for_review(
    state: &AppState,
    actor: &Actor,
    status: &str,
    q: &str,
    page: i64,
) -> DirResult<ReviewPage> {
    if ![REGISTERED, PENDING_REVIEW, ACTIVE, RETURNED].contains(&status) {
        return Err(DirectoryError::Invalid(format!("unknown state {status:?}")));
    }
    let departments = actor.reviewed_departments();
    let filter = if actor.is_platform_admin() {
        None
    } else if departments.is_empty() {
        return Err(DirectoryError::Forbidden(
            "only department reviewers may list units for review".into(),
        ));
    } else {
        Some(departments.as_slice())
    };
    let (units, total) = store::directory::units_for_review(
        &state.db,
        filter,
        status,
        q,
        PAGE_SIZE,
        super::offset(page),
    )
    .await?;
    Ok(ReviewPage { units, total })
}
