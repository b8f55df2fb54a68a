//! The logged-in account of a request, as the declaration pages see it.

use axum::http::HeaderMap;
use tongyi_shared::{
    org::{OrgRole, UnitStatus},
    rp::{RpError, RpSession},
};

use crate::{declaration::Actor, error::Error, state::AppState, store::declarations::Who};

pub struct User {
    pub session: RpSession,
    /// Holds this subsystem's reviewer role.
    pub reviewer: bool,
    /// The id of the unit this account administers (the unit's own legal-entity account or
    /// its administrator: `org.role = admin` in the token), while the unit is active. Its
    /// admin reads every declaration of the unit; only the declarant edits.
    pub unit_admin_of: Option<String>,
}

impl User {
    /// The logged-in user, or a redirect to log in and come back to `return_to`. The session
    /// is refreshed when its tokens are due, so its claims (grants, roles) are the IdP's
    /// current ones, and a refused refresh (grant revoked, account disabled) means logging in
    /// again.
    pub async fn require(
        state: &AppState,
        headers: &HeaderMap,
        return_to: &str,
    ) -> Result<User, Error> {
        let session =
            state
                .rp
                .current_session(headers)
                .await?
                .ok_or_else(|| Error::LoginRequired {
                    return_to: return_to.to_owned(),
                })?;
        Ok(Self::from_session(state, session))
    }

    pub fn from_session(state: &AppState, session: RpSession) -> User {
        let role = state.config.config.reviewer_role();
        let reviewer = session.claims.has_role(&role);
        let unit_admin_of = session
            .claims
            .org
            .as_ref()
            .filter(|o| o.role == OrgRole::Admin && o.status == UnitStatus::Active)
            .map(|o| o.id.clone());
        User {
            session,
            reviewer,
            unit_admin_of,
        }
    }

    /// Checks a form's CSRF token against the session's, in constant time.
    pub fn check_csrf(&self, submitted: Option<&str>) -> Result<(), Error> {
        use subtle::ConstantTimeEq;
        let ok =
            submitted.is_some_and(|s| bool::from(s.as_bytes().ct_eq(self.session.csrf.as_bytes())));
        if ok {
            Ok(())
        } else {
            Err(RpError::Csrf.into())
        }
    }

    pub fn name(&self) -> &str {
        self.session
            .name
            .as_deref()
            .or(self.session.login_name.as_deref())
            .unwrap_or("用户")
    }

    /// Whether this account administers the unit `org_id` (a declaration's recorded unit).
    pub fn administers(&self, org_id: Option<&str>) -> bool {
        org_id.is_some() && self.unit_admin_of.as_deref() == org_id
    }

    pub fn actor(&self) -> Actor<'_> {
        Actor {
            subject: &self.session.subject,
            reviewer: self.reviewer,
        }
    }

    pub fn who(&self) -> Who<'_> {
        Who {
            sub: &self.session.subject,
            name: self.name(),
        }
    }
}
