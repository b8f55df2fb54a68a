//! The review of units by their supervising department (局级主管部门审核).
//!
//! `registered` or `returned` → submit (by the unit's admin, naming a department) →
//! `pending_review` → approve (a reviewer of that department) → `active`, or return with a
//! reason → `returned`. Every transition is recorded in `unit_reviews`.

use std::collections::HashMap;

use super::{
    completion::{self, Completion, CompletionInput},
    subsystems, Actor, DirResult, DirectoryError, ACTIVE, PAGE_SIZE, PENDING_REVIEW, REGISTERED,
    RETURNED, SUSPENDED,
};
use crate::{
    audit::{self, AuditEntry, AuditEvent},
    state::AppState,
    store::{
        self,
        directory::{ReviewEntry, UnitRecord},
        unit_files::Attachment,
    },
};

/// Longest accepted return reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// A unit with its completion, attachments and review history, as one caller may see it.
pub struct UnitView {
    pub unit: UnitRecord,
    pub history: Vec<ReviewEntry>,
    /// Display names of the accounts in the history.
    pub actor_names: HashMap<String, String>,
    /// Masked unless the caller is the unit's admin.
    pub completion: Completion,
    pub attachments: Vec<Attachment>,
    /// The caller may change the completion now.
    pub editable: bool,
    /// Why it was returned, while it is.
    pub return_reason: Option<String>,
}

/// One page of units to review.
pub struct ReviewPage {
    pub units: Vec<UnitRecord>,
    pub total: i64,
}

pub(crate) async fn unit(state: &AppState, org_id: &str) -> DirResult<UnitRecord> {
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
    let mut ids: Vec<String> = history.iter().map(|h| h.actor_account_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let actor_names = store::directory::display_names(&state.db, &ids).await?;
    let own = actor.is_admin_of(org_id);
    let full = completion::load(state, org_id).await?;
    let completion = if own { full } else { full.masked() };
    let attachments = store::unit_files::list(&state.db, org_id).await?;
    let editable =
        (own || actor.is_platform_admin()) && completion::EDITABLE.contains(&unit.status.as_str());
    let return_reason = if unit.status == RETURNED {
        store::directory::last_return_reason(&state.db, org_id).await?
    } else {
        None
    };
    Ok(UnitView {
        unit,
        history,
        actor_names,
        completion,
        attachments,
        editable,
        return_reason,
    })
}

/// The unit's admin saves its completion (partial allowed).
pub async fn save_completion(
    state: &AppState,
    actor: &Actor,
    org_id: &str,
    input: &CompletionInput,
) -> DirResult<UnitView> {
    let unit = unit(state, org_id).await?;
    completion::save(state, actor, &unit, input).await?;
    view(state, actor, org_id).await
}

/// The unit's admin submits its completion for review by the department it names. A
/// `department_id` given here (older callers) is saved into the completion first.
pub async fn submit(
    state: &AppState,
    actor: &Actor,
    org_id: &str,
    department_id: Option<&str>,
) -> DirResult<UnitRecord> {
    let unit = unit(state, org_id).await?;
    actor.require_unit_admin(org_id)?;
    if !completion::EDITABLE.contains(&unit.status.as_str()) {
        return transition(
            state,
            actor,
            unit,
            &[REGISTERED, RETURNED],
            PENDING_REVIEW,
            "submit",
            None,
            None,
        )
        .await;
    }
    if let Some(d) = department_id {
        let input = CompletionInput {
            department_id: Some(d.to_owned()),
            ..CompletionInput::default()
        };
        completion::save(state, actor, &unit, &input).await?;
    }
    let complete = completion::check_submittable(state, &unit).await?;
    transition(
        state,
        actor,
        unit,
        &[REGISTERED, RETURNED],
        PENDING_REVIEW,
        "submit",
        Some(&complete.department_id),
        None,
    )
    .await
}

/// A reviewer of the unit's department (or a platform admin) approves it: it becomes active.
/// The first approval enables every registered subsystem for the unit (a platform admin may
/// change that later); a later one (after a return and resubmit) keeps what is enabled.
pub async fn approve(state: &AppState, actor: &Actor, org_id: &str) -> DirResult<UnitRecord> {
    let unit = reviewable(state, actor, org_id).await?;
    let first = !store::directory::history(&state.db, org_id)
        .await?
        .iter()
        .any(|h| h.action == "approve");
    let approved = transition(
        state,
        actor,
        unit,
        &[PENDING_REVIEW],
        ACTIVE,
        "approve",
        None,
        None,
    )
    .await?;
    if first {
        subsystems::enable_all(state, org_id).await?;
    }
    Ok(approved)
}

/// A platform admin suspends an active unit: its accounts' new tokens carry no grants and
/// their sessions at every subsystem end now.
pub async fn suspend(
    state: &AppState,
    actor: &Actor,
    org_id: &str,
    reason: &str,
) -> DirResult<UnitRecord> {
    actor.require_platform_admin()?;
    let reason = checked_reason(reason)?;
    let unit = unit(state, org_id).await?;
    let done = transition(
        state,
        actor,
        unit,
        &[ACTIVE],
        SUSPENDED,
        "suspend",
        None,
        Some(reason),
    )
    .await?;
    subsystems::end_unit_sessions(state, org_id).await?;
    Ok(done)
}

/// A platform admin makes a suspended unit active again.
pub async fn reactivate(state: &AppState, actor: &Actor, org_id: &str) -> DirResult<UnitRecord> {
    actor.require_platform_admin()?;
    let unit = unit(state, org_id).await?;
    transition(
        state,
        actor,
        unit,
        &[SUSPENDED],
        ACTIVE,
        "reactivate",
        None,
        None,
    )
    .await
}

fn checked_reason(reason: &str) -> DirResult<&str> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(DirectoryError::Invalid(format!(
            "a reason of 1 to {MAX_REASON_CHARS} characters is required"
        )));
    }
    Ok(reason)
}

/// A reviewer returns the unit with a reason; its admin may edit and resubmit.
pub async fn return_unit(
    state: &AppState,
    actor: &Actor,
    org_id: &str,
    reason: &str,
) -> DirResult<UnitRecord> {
    let reason = checked_reason(reason)?;
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
    let statuses: Vec<&str> = match status {
        "all" => vec![REGISTERED, PENDING_REVIEW, ACTIVE, RETURNED, SUSPENDED],
        s if [REGISTERED, PENDING_REVIEW, ACTIVE, RETURNED, SUSPENDED].contains(&s) => vec![s],
        _ => return Err(DirectoryError::Invalid(format!("unknown state {status:?}"))),
    };
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
        &statuses,
        q,
        PAGE_SIZE,
        super::offset(page),
    )
    .await?;
    Ok(ReviewPage { units, total })
}
