//! A unit's members: the member list, accepting a pending member, grants, and the unit
//! admin's actions on a member (password reset, disable, enable).

use serde::{Deserialize, Serialize};

use crate::org::OrgRole;

/// A member of a unit, pending ones included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    pub account_id: String,
    /// The login name.
    pub username: String,
    pub name: String,
    /// Masked: 13*****678.
    pub mobile: Option<String>,
    /// Masked: a***@example.com.
    pub email: Option<String>,
    /// `active` or `disabled`.
    pub status: String,
    /// 已启用 or 已禁用.
    pub status_label: String,
    pub membership: Option<OrgRole>,
    /// Subsystem codes.
    pub grants: Vec<String>,
}

/// The answer to accepting a pending member: `member`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Membership {
    pub membership: OrgRole,
}

/// `PUT /api/units/{org_id}/members/{account_id}/grants`: the member's grants, exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantsRequest {
    /// Subsystem codes of registered clients that are enabled for the unit (400
    /// `invalid_request` otherwise).
    pub grants: Vec<String>,
}

/// The grants now held, and what changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantChange {
    pub grants: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

crate::wire_enum! {
    /// What a unit admin's action did to a member.
    pub enum MemberOutcome {
        /// A temporary password went by SMS to the reserved mobile.
        PasswordReset = "password_reset",
        /// A temporary password went by email to the verified email (where the IdP sends
        /// email, it is preferred to the SMS).
        PasswordResetByEmail = "password_reset_by_email",
        Disabled = "disabled",
        Enabled = "enabled",
    }
}

/// The answer of `POST /api/members/{account_id}/password-reset | disable | enable`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberStatus {
    pub status: MemberOutcome,
}
