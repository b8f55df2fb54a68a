//! Platform roles, as the `roles` claim carries them and the IdP stores them. On the wire a
//! role is one string: `platform_admin`, `expert`, `department_reviewer:{department id}` or
//! `{subsystem code}:reviewer`. A string of any other shape is kept as [`Role::Other`], so
//! that a relying party built before a new role was added still reads the claims.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The platform administrator's role, as accounts hold it.
pub const PLATFORM_ADMIN: &str = "platform_admin";
const EXPERT: &str = "expert";
/// The role prefix of a department's reviewers: `department_reviewer:{department_id}`.
pub const DEPARTMENT_REVIEWER_PREFIX: &str = "department_reviewer:";
const SUBSYSTEM_REVIEWER_SUFFIX: &str = ":reviewer";

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// 平台管理员: departments, reviewers, clients, expert and real-name reviews, appeals.
    PlatformAdmin,
    /// 专家: an approved expert application.
    Expert,
    /// Reviews the units that chose this department (the department's id).
    DepartmentReviewer(String),
    /// 科技局审批 in the subsystem with this code.
    SubsystemReviewer(String),
    /// A role this build does not know.
    Other(String),
}

impl Role {
    pub fn parse(s: &str) -> Role {
        if s == PLATFORM_ADMIN {
            return Role::PlatformAdmin;
        }
        if s == EXPERT {
            return Role::Expert;
        }
        if let Some(dept) = s.strip_prefix(DEPARTMENT_REVIEWER_PREFIX) {
            if !dept.is_empty() {
                return Role::DepartmentReviewer(dept.to_owned());
            }
        }
        if let Some(code) = s.strip_suffix(SUBSYSTEM_REVIEWER_SUFFIX) {
            if !code.is_empty() && !code.contains(':') {
                return Role::SubsystemReviewer(code.to_owned());
            }
        }
        Role::Other(s.to_owned())
    }

    pub fn department_reviewer(department_id: &str) -> Role {
        Role::DepartmentReviewer(department_id.to_owned())
    }

    pub fn subsystem_reviewer(code: &str) -> Role {
        Role::SubsystemReviewer(code.to_owned())
    }

    /// The department this role reviews, if it is a department reviewer's.
    pub fn reviewed_department(&self) -> Option<&str> {
        match self {
            Role::DepartmentReviewer(d) => Some(d),
            _ => None,
        }
    }

    /// The wire form. Allocates for the parameterised roles; compare with `==` on `Role`
    /// where possible.
    pub fn to_wire(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::PlatformAdmin => f.write_str(PLATFORM_ADMIN),
            Role::Expert => f.write_str(EXPERT),
            Role::DepartmentReviewer(d) => write!(f, "{DEPARTMENT_REVIEWER_PREFIX}{d}"),
            Role::SubsystemReviewer(c) => write!(f, "{c}{SUBSYSTEM_REVIEWER_SUFFIX}"),
            Role::Other(s) => f.write_str(s),
        }
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Role::parse(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms_round_trip() {
        for s in [
            "platform_admin",
            "expert",
            "department_reviewer:d-1",
            "incubator:reviewer",
            "auditor",
        ] {
            let role = Role::parse(s);
            assert_eq!(role.to_string(), s);
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
        assert_eq!(
            Role::parse("department_reviewer:d-1"),
            Role::department_reviewer("d-1")
        );
        assert_eq!(
            Role::parse("makerspace:reviewer"),
            Role::subsystem_reviewer("makerspace")
        );
        assert_eq!(
            Role::parse("department_reviewer:"),
            Role::Other("department_reviewer:".into())
        );
        assert_eq!(
            Role::parse("a:b:reviewer"),
            Role::Other("a:b:reviewer".into())
        );
    }
}
