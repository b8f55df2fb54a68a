//! The account behind a session or an access token, as every signed-in page and API reads it:
//! only an active account acts, and what it may do follows from its roles.

use std::sync::Arc;

use tongyi_shared::{org::OrgRole, roles::PLATFORM_ADMIN};

use crate::{
    failure::FailureResult,
    oidc::claims_cache::Snapshot,
    services::Services,
    store::{self, accounts::Account},
};

/// The account `account_id` when it exists and is active.
pub async fn active(state: &Services, account_id: &str) -> FailureResult<Option<Account>> {
    let account = store::accounts::find_by_id(&state.db, account_id).await?;
    Ok(account.filter(Account::is_active))
}

/// The account `account_id` with its grants and roles when it exists and is active, from the
/// claims cache (the hot paths: userinfo, introspection, refresh).
pub async fn active_snapshot(
    state: &Services,
    account_id: &str,
) -> FailureResult<Option<Arc<Snapshot>>> {
    let snapshot = state.claims.snapshot(&state.db, account_id).await?;
    Ok(snapshot.filter(|s| s.account.is_active()))
}

/// The account's roles (`platform_admin`, `dept_reviewer:…`, …).
pub async fn roles(state: &Services, account_id: &str) -> FailureResult<Vec<String>> {
    Ok(store::accounts::roles(&state.db, account_id).await?)
}

pub async fn is_platform_admin(state: &Services, account_id: &str) -> FailureResult<bool> {
    Ok(roles(state, account_id)
        .await?
        .iter()
        .any(|r| r == PLATFORM_ADMIN))
}

/// The login name of `account_id`, whatever its status (an ID token hint, an appeal's match).
pub async fn login_name(state: &Services, account_id: &str) -> FailureResult<Option<String>> {
    let account = store::accounts::find_by_id(&state.db, account_id).await?;
    Ok(account.map(|a| a.login_name))
}

/// Why an account may not manage another (members API: disable, enable, reset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberRefusal {
    NotFound,
    Forbidden,
}

/// Whether `actor` (with `roles`) may manage `member`: never itself; a platform admin any
/// other account; a unit admin the other accounts of its own unit.
pub fn may_manage(actor: &Account, roles: &[String], member: &Account) -> bool {
    if actor.id == member.id {
        return false;
    }
    let unit_admin = match (&actor.org, &member.org) {
        (Some(a), Some(m)) => a.role == OrgRole::Admin && a.id == m.id,
        _ => false,
    };
    unit_admin || roles.iter().any(|r| r == PLATFORM_ADMIN)
}

/// The account `member_id` when `actor` may manage it ([`may_manage`]).
pub async fn manageable_member(
    state: &Services,
    actor: &Account,
    roles: &[String],
    member_id: &str,
) -> FailureResult<Result<Account, MemberRefusal>> {
    let Some(member) = store::accounts::find_by_id(&state.db, member_id).await? else {
        return Ok(Err(MemberRefusal::NotFound));
    };
    if may_manage(actor, roles, &member) {
        Ok(Ok(member))
    } else {
        Ok(Err(MemberRefusal::Forbidden))
    }
}

#[cfg(test)]
mod tests {
    use tongyi_shared::{
        claims::{AccountType, OrgClaim, RealnameStatus},
        org::UnitStatus,
    };

    use super::*;

    fn account(id: &str, org: Option<(&str, OrgRole)>) -> Account {
        Account {
            id: id.into(),
            login_name: id.into(),
            password_hash: String::new(),
            account_type: AccountType::NaturalPerson,
            display_name: id.into(),
            realname_status: RealnameStatus::Unverified,
            status: crate::store::states::AccountStatus::Active,
            org: org.map(|(org_id, role)| OrgClaim {
                id: org_id.into(),
                name: org_id.into(),
                uscc: None,
                status: UnitStatus::Active,
                role,
            }),
            mobile_sealed: None,
            email_sealed: None,
            mobile_verified: false,
            email_verified: false,
            login_name_chosen: true,
            must_change_password: false,
        }
    }

    #[test]
    fn who_may_manage_whom() {
        let admin_a = account("admin-a", Some(("unit-a", OrgRole::Admin)));
        let member_a = account("member-a", Some(("unit-a", OrgRole::Member)));
        let member_b = account("member-b", Some(("unit-b", OrgRole::Member)));
        let loner = account("loner", None);
        let none: &[String] = &[];
        assert!(may_manage(&admin_a, none, &member_a));
        assert!(!may_manage(&admin_a, none, &member_b), "another unit");
        assert!(!may_manage(&admin_a, none, &admin_a), "itself");
        assert!(
            !may_manage(&member_a, none, &admin_a),
            "a member is no admin"
        );
        assert!(!may_manage(&loner, none, &member_a));
        let platform = [PLATFORM_ADMIN.to_owned()];
        assert!(may_manage(&loner, &platform, &member_b));
        assert!(
            !may_manage(&loner, &platform, &loner),
            "not even a platform admin itself"
        );
    }
}
