//! The signed-in user of a page, and the navigation its account may use.

use axum::{extract::FromRequestParts, http::request::Parts};
use tongyi_shared::{
    claims::{AccountType, TongyiClaims},
    org::{OrgRole, UnitStatus},
    roles::Role,
    rp::RpSession,
};

use crate::{error::Error, state::AppState};

/// A page for signed-in users only: without a session (or when it cannot be refreshed) the
/// browser is sent to log in.
pub struct SignedIn(pub RpSession);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        state
            .rp
            .current_session(&parts.headers)
            .await?
            .map(SignedIn)
            .ok_or(Error::SignInRequired)
    }
}

/// What the claims say this account is, in the terms the pages decide by.
pub struct Account<'a> {
    pub claims: &'a TongyiClaims,
}

impl<'a> Account<'a> {
    pub fn of(session: &'a RpSession) -> Self {
        Account {
            claims: &session.claims,
        }
    }

    fn roles(&self) -> impl Iterator<Item = &'a Role> {
        self.claims.roles.iter().flatten()
    }

    pub fn is_platform_admin(&self) -> bool {
        self.claims.has_role(&Role::PlatformAdmin)
    }

    /// The departments this account reviews for.
    pub fn reviewed_departments(&self) -> Vec<&'a str> {
        self.roles().filter_map(Role::reviewed_department).collect()
    }

    pub fn is_reviewer(&self) -> bool {
        self.is_platform_admin() || !self.reviewed_departments().is_empty()
    }

    pub fn is_expert(&self) -> bool {
        self.claims.has_role(&Role::Expert)
    }

    pub fn is_legal_entity(&self) -> bool {
        self.claims.account_type == Some(AccountType::LegalEntity)
    }

    /// The unit this account administers (a legal entity's own unit, or the unit a natural
    /// person registered as its admin), whatever its review state.
    pub fn admin_of(&self) -> Option<&'a tongyi_shared::claims::OrgClaim> {
        self.claims
            .org
            .as_ref()
            .filter(|o| o.role == OrgRole::Admin)
    }

    /// The unit this account administers once it is active: its member console is open.
    pub fn admin_of_active(&self) -> Option<&'a tongyi_shared::claims::OrgClaim> {
        self.admin_of().filter(|o| o.status == UnitStatus::Active)
    }
}

/// One entry of the navigation bar.
pub struct NavItem {
    pub href: &'static str,
    /// The link's stable `id`.
    pub id: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The navigation bar of a signed-in page, and the CSRF token of its logout form.
pub struct Nav {
    pub items: Vec<NavItem>,
    pub csrf: String,
    pub name: String,
}

impl Nav {
    /// The pages this account may use; `current` is the path of the page shown.
    pub fn for_session(session: &RpSession, current: &str) -> Nav {
        let account = Account::of(session);
        let mut items = vec![
            ("/", "nav-home", "首页"),
            ("/complete", "nav-complete", "信息完善"),
            ("/launcher", "nav-launcher", "在线办理"),
        ];
        if account.admin_of_active().is_some() {
            items.push(("/members", "nav-members", "用户管理"));
        }
        if account.is_reviewer() {
            items.push(("/reviews", "nav-reviews", "单位审核"));
        }
        if account.is_platform_admin() {
            items.push(("/admin", "nav-admin", "平台管理"));
        }
        Nav {
            items: items
                .into_iter()
                .map(|(href, id, label)| NavItem {
                    href,
                    id,
                    label,
                    current: href == current,
                })
                .collect(),
            csrf: session.csrf.clone(),
            name: session
                .name
                .clone()
                .or_else(|| session.login_name.clone())
                .unwrap_or_default(),
        }
    }
}
