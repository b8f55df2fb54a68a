//! The states of a unit and of a membership, as the IdP stores them and as the claims
//! contract and the directory API carry them.

crate::wire_enum! {
    /// A unit's review state: `registered` → submit → `pending_review` → approve → `active`, or
    /// return → `returned` → submit → `pending_review`; a platform admin may suspend an active
    /// unit (`suspended`) and reactivate it. Only `active` units are usable.
    pub enum UnitStatus {
        Registered = "registered",
        PendingReview = "pending_review",
        Active = "active",
        Returned = "returned",
        Suspended = "suspended",
    }
}

impl UnitStatus {
    /// Whether the unit's admin may edit the completion and its attachments.
    pub fn completion_editable(self) -> bool {
        matches!(self, UnitStatus::Registered | UnitStatus::Returned)
    }
}

crate::wire_enum! {
    /// An account's role in its unit: `admin` (the unit's own legal-entity account or its
    /// administrator), `member`, or `pending` (asked to join; not yet accepted by the unit).
    pub enum OrgRole {
        Pending = "pending",
        Member = "member",
        Admin = "admin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for s in UnitStatus::ALL {
            assert_eq!(UnitStatus::parse(s.as_str()), Some(*s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::Value::String(s.as_str().into())
            );
        }
        for r in OrgRole::ALL {
            assert_eq!(r.as_str().parse::<OrgRole>(), Ok(*r));
        }
        assert_eq!(UnitStatus::parse("deleted"), None);
        assert!(serde_json::from_str::<OrgRole>("\"owner\"").is_err());
    }
}
