//! The review of units by their supervising department (局级主管部门审核).
//!
//! `registered` or `returned` → submit (by the unit's admin, naming a department) →
//! `pending_review` → approve (a reviewer of that department) → `active`, or return with a
//! reason → `returned`; a platform admin suspends an `active` unit and reactivates it. The
//! transitions are one table ([`review_transition`]); every one is recorded in `unit_reviews`.

use std::collections::HashMap;

use tongyi_shared::org::UnitStatus;

use super::{
    completion::{self, Completion, CompletionInput},
    subsystems, Actor, DirResult, DirectoryError, KeysetPage, ACTIVE, PAGE_SIZE, PENDING_REVIEW,
    REGISTERED, RETURNED, SUSPENDED,
};
use crate::{
    audit::{self, AuditEntry, AuditEvent},
    services::Services,
    store::{
        self,
        directory::{ReviewEntry, UnitRecord},
        unit_files::Attachment,
    },
};

/// Longest accepted return reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// What may happen to a unit in its review, named as `unit_reviews.action` records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewAction {
    /// The unit's admin sends the completion to its department.
    Submit,
    /// A reviewer of the department (or a platform admin) accepts it.
    Approve,
    /// A reviewer sends it back with a reason.
    Return,
    /// A platform admin suspends an active unit.
    Suspend,
    /// A platform admin makes a suspended unit active again.
    Reactivate,
}

impl ReviewAction {
    pub const ALL: [ReviewAction; 5] = [
        ReviewAction::Submit,
        ReviewAction::Approve,
        ReviewAction::Return,
        ReviewAction::Suspend,
        ReviewAction::Reactivate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewAction::Submit => "submit",
            ReviewAction::Approve => "approve",
            ReviewAction::Return => "return",
            ReviewAction::Suspend => "suspend",
            ReviewAction::Reactivate => "reactivate",
        }
    }

    /// The statuses the action may start from (in [`UnitStatus::ALL`] order), which the
    /// store's compare-and-set checks again.
    pub fn sources(self) -> Vec<UnitStatus> {
        UnitStatus::ALL
            .iter()
            .copied()
            .filter(|s| review_transition(*s, self).is_ok())
            .collect()
    }
}

/// An action that the unit's status does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReviewRefused {
    pub from: UnitStatus,
    pub action: ReviewAction,
}

/// The review's state machine: the status a unit in `from` reaches by `action`.
///
/// ```text
/// registered | returned --submit--> pending_review --approve--> active <--reactivate-- suspended
///                                   pending_review --return---> returned
///                                           active --suspend--> suspended
/// ```
pub fn review_transition(
    from: UnitStatus,
    action: ReviewAction,
) -> Result<UnitStatus, ReviewRefused> {
    use ReviewAction as A;
    use UnitStatus as S;
    match (from, action) {
        (S::Registered | S::Returned, A::Submit) => Ok(S::PendingReview),
        (S::PendingReview, A::Approve) => Ok(S::Active),
        (S::PendingReview, A::Return) => Ok(S::Returned),
        (S::Active, A::Suspend) => Ok(S::Suspended),
        (S::Suspended, A::Reactivate) => Ok(S::Active),
        _ => Err(ReviewRefused { from, action }),
    }
}

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

pub async fn unit(state: &Services, org_id: &str) -> DirResult<UnitRecord> {
    store::directory::find_unit(&state.db, org_id)
        .await?
        .ok_or_else(|| DirectoryError::NotFound("no such unit".into()))
}

/// The unit and its history, for its admin, its department's reviewers and platform admins.
pub async fn view(state: &Services, actor: &Actor, org_id: &str) -> DirResult<UnitView> {
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
    state: &Services,
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
    state: &Services,
    actor: &Actor,
    org_id: &str,
    department_id: Option<&str>,
) -> DirResult<UnitRecord> {
    let unit = unit(state, org_id).await?;
    actor.require_unit_admin(org_id)?;
    if !completion::EDITABLE.contains(&unit.status.as_str()) {
        return transition(state, actor, unit, ReviewAction::Submit, None, None).await;
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
        ReviewAction::Submit,
        Some(&complete.department_id),
        None,
    )
    .await
}

/// A reviewer of the unit's department (or a platform admin) approves it: it becomes active.
/// The first approval enables every registered subsystem for the unit (a platform admin may
/// change that later); a later one (after a return and resubmit) keeps what is enabled.
pub async fn approve(state: &Services, actor: &Actor, org_id: &str) -> DirResult<UnitRecord> {
    let unit = reviewable(state, actor, org_id).await?;
    let first = !store::directory::history(&state.db, org_id)
        .await?
        .iter()
        .any(|h| h.action == "approve");
    let approved = transition(state, actor, unit, ReviewAction::Approve, None, None).await?;
    if first {
        subsystems::enable_all(state, org_id).await?;
    }
    Ok(approved)
}

/// A platform admin suspends an active unit: its accounts' new tokens carry no grants and
/// their sessions at every subsystem end now.
pub async fn suspend(
    state: &Services,
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
        ReviewAction::Suspend,
        None,
        Some(reason),
    )
    .await?;
    subsystems::end_unit_sessions(state, org_id).await?;
    Ok(done)
}

/// A platform admin makes a suspended unit active again.
pub async fn reactivate(state: &Services, actor: &Actor, org_id: &str) -> DirResult<UnitRecord> {
    actor.require_platform_admin()?;
    let unit = unit(state, org_id).await?;
    transition(state, actor, unit, ReviewAction::Reactivate, None, None).await
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
    state: &Services,
    actor: &Actor,
    org_id: &str,
    reason: &str,
) -> DirResult<UnitRecord> {
    let reason = checked_reason(reason)?;
    let unit = reviewable(state, actor, org_id).await?;
    transition(state, actor, unit, ReviewAction::Return, None, Some(reason)).await
}

async fn reviewable(state: &Services, actor: &Actor, org_id: &str) -> DirResult<UnitRecord> {
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

/// Carries out `action` on `unit` when its status allows it ([`review_transition`]), from
/// the status it was decided on, with its history row and audit entry.
async fn transition(
    state: &Services,
    actor: &Actor,
    unit: UnitRecord,
    action: ReviewAction,
    department: Option<&str>,
    reason: Option<&str>,
) -> DirResult<UnitRecord> {
    let from: Vec<&str> = action.sources().iter().map(|s| s.as_str()).collect();
    let refused = |status: &str| {
        DirectoryError::Conflict(format!(
            "cannot {} a unit whose status is {status} (expected {})",
            action.as_str(),
            from.join(" or ")
        ))
    };
    // A status the table does not know (never written by this code) allows nothing.
    let to = UnitStatus::parse(&unit.status)
        .and_then(|status| review_transition(status, action).ok())
        .ok_or_else(|| refused(&unit.status))?;
    let (to, action) = (to.as_str(), action.as_str());
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
    let done = store::directory::transition(&state.db, &from, &entry, department).await?;
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

/// The states a review list in `status` (or `all`) shows, and the departments it is limited
/// to (`None`: every department, for a platform admin).
fn review_scope(
    actor: &Actor,
    status: &str,
) -> DirResult<(Vec<&'static str>, Option<Vec<String>>)> {
    let statuses: Vec<&str> = match status {
        "all" => vec![REGISTERED, PENDING_REVIEW, ACTIVE, RETURNED, SUSPENDED],
        s => match [REGISTERED, PENDING_REVIEW, ACTIVE, RETURNED, SUSPENDED]
            .into_iter()
            .find(|known| *known == s)
        {
            Some(known) => vec![known],
            None => return Err(DirectoryError::Invalid(format!("unknown state {status:?}"))),
        },
    };
    let departments = actor.reviewed_departments();
    if actor.is_platform_admin() {
        Ok((statuses, None))
    } else if departments.is_empty() {
        Err(DirectoryError::Forbidden(
            "only department reviewers may list units for review".into(),
        ))
    } else {
        Ok((statuses, Some(departments)))
    }
}

/// Units in `status` that chose one of the actor's departments (every department for a
/// platform admin), whose name contains `q`, page by page.
pub async fn list_for_review(
    state: &Services,
    actor: &Actor,
    status: &str,
    q: &str,
    page: i64,
) -> DirResult<ReviewPage> {
    let (statuses, departments) = review_scope(actor, status)?;
    let (units, total) = store::directory::units_for_review(
        &state.db,
        departments.as_deref(),
        &statuses,
        q,
        PAGE_SIZE,
        super::offset(page),
    )
    .await?;
    Ok(ReviewPage { units, total })
}

/// The same list by keyset: the page after `after` (the last unit of the page before; `None`
/// for the first), whose cost does not grow with its depth, and which neither repeats nor
/// skips a unit when others are submitted between two pages. Never-submitted units come last.
pub async fn list_for_review_after(
    state: &Services,
    actor: &Actor,
    status: &str,
    q: &str,
    after: Option<&store::directory::ReviewCursor>,
) -> DirResult<KeysetPage<UnitRecord>> {
    let (statuses, departments) = review_scope(actor, status)?;
    let rows = store::directory::units_for_review_after(
        &state.db,
        departments.as_deref(),
        &statuses,
        q,
        PAGE_SIZE + 1,
        after,
    )
    .await?;
    Ok(KeysetPage::of(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReviewAction as A;
    use UnitStatus as S;

    /// Every allowed transition; anything else must be refused.
    const ALLOWED: [(S, A, S); 6] = [
        (S::Registered, A::Submit, S::PendingReview),
        (S::Returned, A::Submit, S::PendingReview),
        (S::PendingReview, A::Approve, S::Active),
        (S::PendingReview, A::Return, S::Returned),
        (S::Active, A::Suspend, S::Suspended),
        (S::Suspended, A::Reactivate, S::Active),
    ];

    #[test]
    fn every_status_and_action_is_decided_by_the_table() {
        let mut allowed = 0;
        for &from in S::ALL {
            for action in A::ALL {
                let expected = ALLOWED
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                let got = review_transition(from, action);
                match expected {
                    Some(to) => {
                        allowed += 1;
                        assert_eq!(got, Ok(to), "{from} --{}-->", action.as_str());
                    }
                    None => assert_eq!(
                        got,
                        Err(ReviewRefused { from, action }),
                        "{from} --{}--> must be refused",
                        action.as_str()
                    ),
                }
            }
        }
        assert_eq!(allowed, ALLOWED.len());
    }

    #[test]
    fn the_sources_are_what_the_store_checks() {
        let names = |a: A| -> Vec<&str> { a.sources().iter().map(|s| s.as_str()).collect() };
        assert_eq!(names(A::Submit), [REGISTERED, RETURNED]);
        assert_eq!(names(A::Approve), [PENDING_REVIEW]);
        assert_eq!(names(A::Return), [PENDING_REVIEW]);
        assert_eq!(names(A::Suspend), [ACTIVE]);
        assert_eq!(names(A::Reactivate), [SUSPENDED]);
    }

    #[test]
    fn a_returned_unit_goes_round_again_and_only_active_ones_are_suspended() {
        let walk = |from: S, actions: &[A]| {
            actions
                .iter()
                .try_fold(from, |status, a| review_transition(status, *a))
        };
        assert_eq!(
            walk(
                S::Registered,
                &[
                    A::Submit,
                    A::Return,
                    A::Submit,
                    A::Approve,
                    A::Suspend,
                    A::Reactivate
                ]
            ),
            Ok(S::Active)
        );
        assert_eq!(
            walk(S::Registered, &[A::Submit, A::Suspend]),
            Err(ReviewRefused {
                from: S::PendingReview,
                action: A::Suspend
            })
        );
        assert_eq!(
            walk(S::Active, &[A::Submit]),
            Err(ReviewRefused {
                from: S::Active,
                action: A::Submit
            }),
            "an active unit is not reviewed again"
        );
    }
}
