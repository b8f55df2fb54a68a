//! Which claims each scope releases (the contract documented in docs/integration.md): the
//! token claims ([`UserClaims`]) and the contact claims released at userinfo only
//! ([`ContactClaims`]).

use serde::Serialize;
use tongyi_shared::{
    claims::{TongyiClaims, SCOPE_ACCOUNT, SCOPE_GRANTS, SCOPE_ORG},
    org::{OrgRole, UnitStatus},
    roles::Role,
};

use super::{
    claims_cache::Snapshot,
    scope::{EMAIL, PHONE},
};
use crate::store::{self, accounts::Account, pii::PiiVault, Db};

/// Claims about the account, released by scope, added to ID tokens, access tokens and userinfo.
#[derive(Clone, Debug, Default, Serialize)]
pub struct UserClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(flatten)]
    pub tongyi: TongyiClaims,
}

pub fn has_scope(scope: &str, wanted: &str) -> bool {
    scope.split(' ').any(|s| s == wanted)
}

/// Builds the claims for `account` under `scope`; reads grants and roles only when the
/// `grants` scope asks for them.
pub async fn for_account(
    db: &Db,
    account: &Account,
    scope: &str,
) -> Result<UserClaims, crate::store::StoreError> {
    let (grants, roles) = if has_scope(scope, SCOPE_GRANTS) {
        store::accounts::grants_and_roles(db, &account.id).await?
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(build(account, &grants, &roles, scope))
}

/// The claims of a cached account (`claims_cache`), without a database read.
pub fn for_snapshot(s: &Snapshot, scope: &str) -> UserClaims {
    build(&s.account, &s.grants, &s.roles, scope)
}

fn build(account: &Account, grants: &[String], roles: &[String], scope: &str) -> UserClaims {
    let mut c = UserClaims::default();
    if has_scope(scope, "profile") {
        c.name = Some(account.display_name.clone());
        c.preferred_username = Some(account.login_name.clone());
    }
    if has_scope(scope, SCOPE_ACCOUNT) {
        c.tongyi.account_type = Some(account.account_type);
        c.tongyi.realname_status = Some(account.realname_status);
    }
    if has_scope(scope, SCOPE_ORG) {
        c.tongyi.org = account.org.clone();
    }
    if has_scope(scope, SCOPE_GRANTS) {
        // A unit that is not active cannot lend its members any subsystem (SPEC §4).
        // Nor can a membership the unit has not yet accepted (`org.role = pending`).
        let org_active = account
            .org
            .as_ref()
            .is_none_or(|o| o.status == UnitStatus::Active && o.role != OrgRole::Pending);
        c.tongyi.grants = Some(if org_active {
            grants.to_vec()
        } else {
            Vec::new()
        });
        c.tongyi.roles = Some(roles.iter().map(|r| Role::parse(r)).collect());
    }
    c
}

/// The claims of the standard `email` and `phone` scopes (OIDC Core §5.4), from the account's
/// reserved contacts, each with whether it was proven. They are released at userinfo only:
/// the code flow always issues an access token (Core §5.4), and the ID token and the JWT
/// access token are copied into more places than a userinfo answer, so personal data stays
/// out of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ContactClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// E.164 (Core §5.1): the reserved mobiles are mainland China numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number_verified: Option<bool>,
}

/// The contact claims of `account` under `scope`; a scope whose contact the account does not
/// have releases nothing (Core §5.3.2: absent rather than null).
pub fn contact_for_account(pii: &PiiVault, account: &Account, scope: &str) -> ContactClaims {
    let (mobile, email) = store::identities::contact_of(pii, account);
    let mut c = ContactClaims::default();
    if has_scope(scope, EMAIL) {
        if let Some(email) = email {
            c.email = Some(email);
            c.email_verified = Some(account.email_verified);
        }
    }
    if has_scope(scope, PHONE) {
        if let Some(mobile) = mobile {
            c.phone_number = Some(format!("+86{mobile}"));
            c.phone_number_verified = Some(account.mobile_verified);
        }
    }
    c
}
