//! Memberships and subsystem grants.
//!
//! The membership state machine ([`membership_transition`]): in no unit, or in another one
//! as `pending` or `member` → join → `pending` → approve (by the unit's admin) → `member`.
//! An `admin` stays in its unit; only members hold grants ([`may_hold_grants`]).
//!
//! A natural person finds an active unit by its full name and asks to join it: the account
//! gets `org_id` with `org_role = pending` (the claims' `org.role` shows it) and loses every
//! grant — a new unit must authorize it again. The unit's admin accepts it (`member`) and sets
//! its grants, chosen among the subsystem codes of the registered clients. A revoked grant
//! ends the member's sessions at the clients of that subsystem at once: back-channel logout,
//! refresh tokens of those clients revoked, their access tokens denied.

use std::collections::BTreeSet;

use tongyi_shared::{claims::AccountType, org::OrgRole};

use super::{
    Actor, DirResult, DirectoryError, KeysetPage, ACTIVE, ADMIN, MEMBER, PAGE_SIZE, PENDING,
};
use crate::{
    audit::{self, AuditEntry, AuditEvent},
    oidc::{backchannel, issue, session},
    services::Services,
    store::{self, accounts::Account, directory::UnitRecord},
};

/// What may happen to an account's membership (`accounts.org_role`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipAction {
    /// The person asks to join a unit; `same_unit` when it is the unit the account is in.
    Join { same_unit: bool },
    /// The unit's admin accepts a pending request.
    Approve,
}

/// A membership change that the account's role does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipRefused {
    /// Asked to join the unit the account already belongs to, in this role.
    AlreadyInUnit(OrgRole),
    /// The admin of a unit (its own legal-entity account or administrator) stays in it.
    AdminCannotMove,
    /// Only a pending request is accepted.
    NotPending,
}

impl From<MembershipRefused> for DirectoryError {
    fn from(e: MembershipRefused) -> Self {
        DirectoryError::Conflict(match e {
            MembershipRefused::AlreadyInUnit(role) => {
                format!("already in this unit (membership {role})")
            }
            MembershipRefused::AdminCannotMove => {
                "the admin of a unit cannot move to another one".into()
            }
            MembershipRefused::NotPending => "the membership is not pending".into(),
        })
    }
}

/// The membership state machine: the role an account with role `from` in its unit (`None`:
/// in no unit) has after `action`. Joining another unit always starts over as `pending`,
/// whatever the account was elsewhere (its grants go with it).
pub fn membership_transition(
    from: Option<OrgRole>,
    action: MembershipAction,
) -> Result<OrgRole, MembershipRefused> {
    match (from, action) {
        (Some(role), MembershipAction::Join { same_unit: true }) => {
            Err(MembershipRefused::AlreadyInUnit(role))
        }
        (Some(OrgRole::Admin), MembershipAction::Join { .. }) => {
            Err(MembershipRefused::AdminCannotMove)
        }
        (_, MembershipAction::Join { .. }) => Ok(OrgRole::Pending),
        (Some(OrgRole::Pending), MembershipAction::Approve) => Ok(OrgRole::Member),
        (_, MembershipAction::Approve) => Err(MembershipRefused::NotPending),
    }
}

/// Whether an account of this role may hold subsystem grants: a pending member may not.
pub fn may_hold_grants(role: OrgRole) -> bool {
    role != OrgRole::Pending
}

/// Active units named exactly `name` (what a person may pick).
pub async fn search_active(state: &Services, name: &str) -> DirResult<Vec<UnitRecord>> {
    if name.trim().is_empty() {
        return Err(DirectoryError::Invalid("name is required".into()));
    }
    Ok(store::directory::active_units_named(&state.db, name).await?)
}

/// The actor (a natural person) asks to join active unit `org_id`.
pub async fn join(state: &Services, actor: &Actor, org_id: &str) -> DirResult<UnitRecord> {
    if actor.account.account_type != AccountType::NaturalPerson {
        return Err(DirectoryError::Forbidden(
            "only natural persons choose their unit".into(),
        ));
    }
    let unit = store::directory::find_unit(&state.db, org_id)
        .await?
        .filter(|u| u.status == ACTIVE)
        .ok_or_else(|| DirectoryError::NotFound("no such active unit".into()))?;
    let current = actor.account.org.as_ref();
    let role = membership_transition(
        current.map(|o| o.role),
        MembershipAction::Join {
            same_unit: current.is_some_and(|o| o.id == org_id),
        },
    )?;
    let now = state.clock.now();
    let old =
        store::directory::set_membership(&state.db, &actor.account.id, org_id, role.as_str(), now)
            .await?;
    end_subsystem_sessions(state, &actor.account.id, &old).await?;
    let entry = AuditEntry::new(AuditEvent::MembershipRequested)
        .by_subject(&actor.account.id)
        .detail("org_id", org_id)
        .detail("removed", old);
    audit::record(state, entry).await;
    Ok(unit)
}

/// A member as the unit admin's list shows it, grants included.
pub struct MemberRow {
    pub account: Account,
    pub grants: Vec<String>,
}

pub struct MemberPage {
    pub members: Vec<MemberRow>,
    pub total: i64,
}

/// The unit's members (pending ones too) whose login name or name contains `q`.
pub async fn members(
    state: &Services,
    actor: &Actor,
    org_id: &str,
    q: &str,
    page: i64,
) -> DirResult<MemberPage> {
    actor.require_unit_admin(org_id)?;
    let (accounts, total) =
        store::directory::members(&state.db, org_id, q, PAGE_SIZE, super::offset(page)).await?;
    let mut members = Vec::with_capacity(accounts.len());
    for account in accounts {
        let (grants, _) = store::accounts::grants_and_roles(&state.db, &account.id).await?;
        members.push(MemberRow { account, grants });
    }
    Ok(MemberPage { members, total })
}

/// The same list by keyset: the page after login key `after` (the last member's
/// [`login_key`](store::accounts::login_key) of the page before; `None` for the first), whose
/// cost does not grow with its depth, and which neither repeats nor skips a member when
/// others join between two pages.
pub async fn members_after(
    state: &Services,
    actor: &Actor,
    org_id: &str,
    q: &str,
    after: Option<&str>,
) -> DirResult<KeysetPage<MemberRow>> {
    actor.require_unit_admin(org_id)?;
    let accounts =
        store::directory::members_after(&state.db, org_id, q, PAGE_SIZE + 1, after).await?;
    // The extra row only says that more follow: its grants are not read.
    let KeysetPage { items, more } = KeysetPage::of(accounts);
    let mut members = Vec::with_capacity(items.len());
    for account in items {
        let (grants, _) = store::accounts::grants_and_roles(&state.db, &account.id).await?;
        members.push(MemberRow { account, grants });
    }
    Ok(KeysetPage {
        items: members,
        more,
    })
}

/// The member `account_id` of unit `org_id` that the actor may manage.
async fn managed_member(
    state: &Services,
    actor: &Actor,
    org_id: &str,
    account_id: &str,
) -> DirResult<Account> {
    actor.require_unit_admin(org_id)?;
    if actor.account.id == account_id {
        return Err(DirectoryError::Forbidden(
            "nobody manages their own membership".into(),
        ));
    }
    store::accounts::find_by_id(&state.db, account_id)
        .await?
        .filter(|a| {
            a.org
                .as_ref()
                .is_some_and(|o| o.id == org_id && o.role != OrgRole::Admin)
        })
        .ok_or_else(|| DirectoryError::NotFound("no such member in this unit".into()))
}

/// The unit admin accepts a pending member.
pub async fn approve(
    state: &Services,
    actor: &Actor,
    org_id: &str,
    account_id: &str,
) -> DirResult<()> {
    let member = managed_member(state, actor, org_id, account_id).await?;
    membership_transition(
        member.org.as_ref().map(|o| o.role),
        MembershipAction::Approve,
    )?;
    let now = state.clock.now();
    // The store accepts only a still pending request: a concurrent change is a conflict too.
    if !store::directory::approve_membership(&state.db, org_id, &member.id, now).await? {
        return Err(MembershipRefused::NotPending.into());
    }
    let entry = AuditEntry::new(AuditEvent::MembershipApproved)
        .actor(&actor.account.id)
        .subject(&member.id)
        .detail("org_id", org_id);
    audit::record(state, entry).await;
    Ok(())
}

/// The result of setting a member's grants.
pub struct GrantChange {
    pub grants: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// Sets the member's grants to exactly `wanted` (subsystem codes of registered clients); a
/// pending member cannot hold any. Revoked grants end the member's sessions at those
/// subsystems at once.
pub async fn set_grants(
    state: &Services,
    actor: &Actor,
    org_id: &str,
    account_id: &str,
    wanted: &[String],
) -> DirResult<GrantChange> {
    let member = managed_member(state, actor, org_id, account_id).await?;
    let wanted: BTreeSet<String> = wanted.iter().map(|g| g.trim().to_owned()).collect();
    let known: BTreeSet<String> = store::directory::subsystem_codes(&state.db)
        .await?
        .into_iter()
        .collect();
    if let Some(unknown) = wanted.difference(&known).next() {
        return Err(DirectoryError::Invalid(format!(
            "{unknown:?} is not the code of a registered subsystem"
        )));
    }
    let enabled: BTreeSet<String> = store::directory::unit_subsystems(&state.db, org_id)
        .await?
        .into_iter()
        .collect();
    if let Some(off) = wanted.difference(&enabled).next() {
        return Err(DirectoryError::Invalid(format!(
            "{off:?} is not enabled for this unit"
        )));
    }
    let barred = member
        .org
        .as_ref()
        .is_some_and(|o| !may_hold_grants(o.role));
    if barred && !wanted.is_empty() {
        return Err(DirectoryError::Conflict(
            "approve the membership before granting subsystems".into(),
        ));
    }
    let grants: Vec<String> = wanted.iter().cloned().collect();
    // Written only while the account is still this unit's member in a role that may hold
    // them (a pending one: only nothing), checked in the same transaction.
    let roles: Vec<&str> = [OrgRole::Member, OrgRole::Pending]
        .into_iter()
        .filter(|r| grants.is_empty() || may_hold_grants(*r))
        .map(OrgRole::as_str)
        .collect();
    let now = state.clock.now();
    let current: BTreeSet<String> = store::directory::replace_member_grants(
        &state.db, org_id, &member.id, &roles, &grants, now,
    )
    .await?
    .ok_or_else(|| DirectoryError::Conflict("the account is no longer a member here".into()))?
    .into_iter()
    .collect();
    let added: Vec<String> = wanted.difference(&current).cloned().collect();
    let removed: Vec<String> = current.difference(&wanted).cloned().collect();
    end_subsystem_sessions(state, &member.id, &removed).await?;
    if !added.is_empty() || !removed.is_empty() {
        let entry = AuditEntry::new(AuditEvent::GrantsChanged)
            .actor(&actor.account.id)
            .subject(&member.id)
            .detail("org_id", org_id)
            .detail("added", added.clone())
            .detail("removed", removed.clone());
        audit::record(state, entry).await;
    }
    Ok(GrantChange {
        grants,
        added,
        removed,
    })
}

/// Ends what `account_id` holds at the clients of the revoked subsystems `codes`: each live
/// session gets a back-channel logout to those clients (and forgets them), and the account's
/// refresh tokens at those clients are revoked with their access tokens.
pub async fn end_subsystem_sessions(
    state: &Services,
    account_id: &str,
    codes: &[String],
) -> DirResult<()> {
    let clients = store::directory::clients_of_subsystems(&state.db, codes).await?;
    if clients.is_empty() {
        return Ok(());
    }
    let now = state.clock.now();
    for record in store::sessions::list_for_account(&state.db, account_id, now).await? {
        let Some(mut current) = session::find_by_sid(state, &record.sid).await? else {
            continue;
        };
        if current.session.account_id != account_id {
            continue;
        }
        let reached: Vec<String> = current
            .session
            .clients
            .iter()
            .filter(|c| clients.contains(c))
            .cloned()
            .collect();
        if reached.is_empty() {
            continue;
        }
        backchannel::notify_clients(state, &current.session, &reached).await;
        session::remove_clients(state, &mut current, &reached).await?;
    }
    for client_id in &clients {
        let denied =
            store::refresh::revoke_account_client(&state.db, account_id, client_id, now).await?;
        for (jti, exp) in denied {
            issue::deny_access_token(state, &jti, exp)
                .await
                .map_err(crate::failure::Failure::from)?;
        }
    }
    Ok(())
}

/// The account's membership state as the API shows it.
pub fn membership_state(account: &Account) -> Option<&str> {
    account.org.as_ref().map(|o| match o.role.as_str() {
        PENDING => PENDING,
        ADMIN => ADMIN,
        _ => MEMBER,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use MembershipAction::{Approve, Join};

    const ROLES: [Option<OrgRole>; 4] = [
        None,
        Some(OrgRole::Pending),
        Some(OrgRole::Member),
        Some(OrgRole::Admin),
    ];

    #[test]
    fn joining_another_unit_starts_over_as_pending_except_for_an_admin() {
        let other = Join { same_unit: false };
        assert_eq!(membership_transition(None, other), Ok(OrgRole::Pending));
        assert_eq!(
            membership_transition(Some(OrgRole::Pending), other),
            Ok(OrgRole::Pending)
        );
        assert_eq!(
            membership_transition(Some(OrgRole::Member), other),
            Ok(OrgRole::Pending)
        );
        assert_eq!(
            membership_transition(Some(OrgRole::Admin), other),
            Err(MembershipRefused::AdminCannotMove)
        );
    }

    #[test]
    fn nobody_joins_the_unit_they_are_in() {
        for role in OrgRole::ALL {
            assert_eq!(
                membership_transition(Some(*role), Join { same_unit: true }),
                Err(MembershipRefused::AlreadyInUnit(*role))
            );
        }
    }

    #[test]
    fn only_a_pending_request_is_approved() {
        for from in ROLES {
            let expected = if from == Some(OrgRole::Pending) {
                Ok(OrgRole::Member)
            } else {
                Err(MembershipRefused::NotPending)
            };
            assert_eq!(membership_transition(from, Approve), expected, "{from:?}");
        }
    }

    #[test]
    fn a_request_becomes_a_member_that_holds_grants() {
        let requested = membership_transition(None, Join { same_unit: false }).unwrap();
        assert!(!may_hold_grants(requested));
        let accepted = membership_transition(Some(requested), Approve).unwrap();
        assert_eq!(accepted, OrgRole::Member);
        assert!(may_hold_grants(accepted));
        assert_eq!(
            membership_transition(Some(accepted), Approve),
            Err(MembershipRefused::NotPending),
            "approved once"
        );
    }

    #[test]
    fn refusals_keep_their_api_messages() {
        let message = |e: MembershipRefused| DirectoryError::from(e).to_string();
        assert_eq!(
            message(MembershipRefused::AlreadyInUnit(OrgRole::Pending)),
            "already in this unit (membership pending)"
        );
        assert_eq!(
            message(MembershipRefused::AdminCannotMove),
            "the admin of a unit cannot move to another one"
        );
        assert_eq!(
            message(MembershipRefused::NotPending),
            "the membership is not pending"
        );
    }
}
