//! What an account must do next, by its type and state as the claims tell them (SPEC §4).

use tongyi_shared::{
    claims::{AccountType, TongyiClaims},
    org::{OrgRole, UnitStatus},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// A unit that has not been submitted yet: complete its information.
    UnitComplete,
    /// Submitted, waiting for its department.
    UnitPendingReview,
    /// Returned by its department: read the reason, edit, resubmit.
    UnitReturned,
    /// Approved: people can pick it; its admin authorizes them.
    UnitActive,
    /// A natural person without a unit: complete the profile and pick the unit.
    PersonPickUnit,
    /// Waiting for the unit's admin to accept the membership.
    PersonPendingAuthorization,
    /// A member of its unit: enter the granted subsystems (or ask for grants).
    PersonAuthorized,
    /// The claims say too little (scopes not released).
    Unknown,
}

impl NextStep {
    pub fn of(claims: &TongyiClaims) -> NextStep {
        let org = claims.org.as_ref();
        let unit_step = |status: UnitStatus| match status {
            UnitStatus::PendingReview => NextStep::UnitPendingReview,
            UnitStatus::Returned => NextStep::UnitReturned,
            UnitStatus::Active => NextStep::UnitActive,
            UnitStatus::Registered | UnitStatus::Suspended => NextStep::UnitComplete,
        };
        match (claims.account_type, org) {
            (Some(AccountType::LegalEntity), Some(o)) => unit_step(o.status),
            (Some(AccountType::LegalEntity), None) => NextStep::UnitComplete,
            // A natural person who registered its unit (the Zhengzhou model) answers for it.
            (Some(AccountType::NaturalPerson), Some(o)) if o.role == OrgRole::Admin => {
                unit_step(o.status)
            }
            (Some(AccountType::NaturalPerson), Some(o)) if o.role == OrgRole::Pending => {
                NextStep::PersonPendingAuthorization
            }
            (Some(AccountType::NaturalPerson), Some(_)) => NextStep::PersonAuthorized,
            (Some(AccountType::NaturalPerson), None) => NextStep::PersonPickUnit,
            (None, _) => NextStep::Unknown,
        }
    }

    /// The name the dashboard template tells the steps apart by.
    pub fn as_str(self) -> &'static str {
        match self {
            NextStep::UnitComplete => "unit_complete",
            NextStep::UnitPendingReview => "unit_pending_review",
            NextStep::UnitReturned => "unit_returned",
            NextStep::UnitActive => "unit_active",
            NextStep::PersonPickUnit => "person_pick_unit",
            NextStep::PersonPendingAuthorization => "person_pending",
            NextStep::PersonAuthorized => "person_authorized",
            NextStep::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongyi_shared::claims::OrgClaim;

    fn claims(t: AccountType, org: Option<(&str, &str)>) -> TongyiClaims {
        TongyiClaims {
            account_type: Some(t),
            org: org.map(|(status, role)| OrgClaim {
                id: "o".into(),
                name: "单位".into(),
                uscc: None,
                status: UnitStatus::parse(status).unwrap(),
                role: OrgRole::parse(role).unwrap(),
            }),
            ..TongyiClaims::default()
        }
    }

    #[test]
    fn steps_by_type_and_state() {
        use AccountType::*;
        let cases = [
            (
                claims(LegalEntity, Some(("registered", "admin"))),
                NextStep::UnitComplete,
            ),
            (
                claims(LegalEntity, Some(("pending_review", "admin"))),
                NextStep::UnitPendingReview,
            ),
            (
                claims(LegalEntity, Some(("returned", "admin"))),
                NextStep::UnitReturned,
            ),
            (
                claims(LegalEntity, Some(("active", "admin"))),
                NextStep::UnitActive,
            ),
            (claims(NaturalPerson, None), NextStep::PersonPickUnit),
            (
                claims(NaturalPerson, Some(("active", "pending"))),
                NextStep::PersonPendingAuthorization,
            ),
            (
                claims(NaturalPerson, Some(("active", "member"))),
                NextStep::PersonAuthorized,
            ),
            (
                claims(NaturalPerson, Some(("returned", "admin"))),
                NextStep::UnitReturned,
            ),
            (TongyiClaims::default(), NextStep::Unknown),
        ];
        for (c, step) in cases {
            assert_eq!(NextStep::of(&c), step, "{c:?}");
        }
    }
}
