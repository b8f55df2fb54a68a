//! The claims contract between the IdP and relying parties (SPEC §6).
//!
//! Relying parties deserialize [`TongyiClaims`] from an ID token or userinfo response; the IdP
//! serializes the same type, so both sides cannot drift apart.

use serde::{Deserialize, Serialize};

use crate::{
    org::{OrgRole, UnitStatus},
    roles::Role,
};

/// Scope that releases `account_type` and `realname_status`.
pub const SCOPE_ACCOUNT: &str = "account";
/// Scope that releases the `org` object.
pub const SCOPE_ORG: &str = "org";
/// Scope that releases `grants` and `roles`.
pub const SCOPE_GRANTS: &str = "grants";

/// The custom scopes a client may request besides the standard OIDC ones.
pub const CUSTOM_SCOPES: [&str; 3] = [SCOPE_ACCOUNT, SCOPE_ORG, SCOPE_GRANTS];

/// The two kinds of account the platform registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountType {
    /// 自然人: a natural person.
    NaturalPerson,
    /// 法人: a legal entity (a unit's own account).
    LegalEntity,
}

impl AccountType {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::NaturalPerson => "natural_person",
            AccountType::LegalEntity => "legal_entity",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "natural_person" => Some(AccountType::NaturalPerson),
            "legal_entity" => Some(AccountType::LegalEntity),
            _ => None,
        }
    }
}

/// 实名认证状态 as shown to users: 未认证 / 待人工审核 / 已认证 / 认证失败.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RealnameStatus {
    Unverified,
    PendingReview,
    Verified,
    Failed,
}

impl RealnameStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RealnameStatus::Unverified => "unverified",
            RealnameStatus::PendingReview => "pending_review",
            RealnameStatus::Verified => "verified",
            RealnameStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "unverified" => Some(RealnameStatus::Unverified),
            "pending_review" => Some(RealnameStatus::PendingReview),
            "verified" => Some(RealnameStatus::Verified),
            "failed" => Some(RealnameStatus::Failed),
            _ => None,
        }
    }
}

/// The unit an account belongs to, as released by the `org` scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgClaim {
    /// Stable opaque identifier of the unit.
    pub id: String,
    pub name: String,
    /// 统一社会信用代码, when the unit has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uscc: Option<String>,
    /// The unit's review state; only `active` units are usable.
    pub status: UnitStatus,
    /// The account's role in the unit.
    pub role: OrgRole,
}

/// The Tongyi-specific claims, flattened into the standard OIDC claims of a token or userinfo
/// response. Every field is optional because each is released only with its scope.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TongyiClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<AccountType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realname_status: Option<RealnameStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<OrgClaim>,
    /// Subsystem codes (e.g. `incubator`, `makerspace`) this account may enter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<String>>,
    /// Platform roles, e.g. `platform_admin`, `department_reviewer:{id}`, `incubator:reviewer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Role>>,
}

impl TongyiClaims {
    /// Whether the claims admit the account into the subsystem with this code.
    pub fn grants_subsystem(&self, code: &str) -> bool {
        self.grants
            .as_deref()
            .is_some_and(|g| g.iter().any(|c| c == code))
    }

    /// Whether the account holds this platform role.
    pub fn has_role(&self, role: &Role) -> bool {
        self.roles.as_deref().is_some_and(|r| r.contains(role))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_round_trip_with_contract_names() {
        let claims = TongyiClaims {
            account_type: Some(AccountType::NaturalPerson),
            realname_status: Some(RealnameStatus::Verified),
            org: Some(OrgClaim {
                id: "o1".into(),
                name: "示例单位".into(),
                uscc: Some("91120116MA05JJ1X4B".into()),
                status: UnitStatus::Active,
                role: OrgRole::Member,
            }),
            grants: Some(vec!["incubator".into()]),
            roles: None,
        };
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(json["account_type"], "natural_person");
        assert_eq!(json["realname_status"], "verified");
        assert_eq!(json["org"]["uscc"], "91120116MA05JJ1X4B");
        assert!(json.get("roles").is_none(), "absent claims are omitted");
        let back: TongyiClaims = serde_json::from_value(json).unwrap();
        assert_eq!(back, claims);
        assert!(back.grants_subsystem("incubator"));
        assert!(!back.grants_subsystem("makerspace"));
    }

    #[test]
    fn enum_names_parse_back() {
        for t in [AccountType::NaturalPerson, AccountType::LegalEntity] {
            assert_eq!(AccountType::parse(t.as_str()), Some(t));
        }
        for s in [
            RealnameStatus::Unverified,
            RealnameStatus::PendingReview,
            RealnameStatus::Verified,
            RealnameStatus::Failed,
        ] {
            assert_eq!(RealnameStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(AccountType::parse("robot"), None);
    }
}
