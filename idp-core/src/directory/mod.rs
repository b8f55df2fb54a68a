//! The directory: departments, the review of units (registered → pending_review → active, or
//! returned with a reason → resubmitted), memberships of natural persons in units (pending →
//! member) and their subsystem grants. Who may do what is decided here, from the acting
//! account and its roles; the web layer only parses and renders.

pub mod admin;
pub mod attachments;
pub mod completion;
pub mod expert;
pub mod membership;
pub mod person;
pub mod review;
pub mod subsystems;

use std::collections::BTreeMap;

use tongyi_shared::{org::OrgRole, roles::PLATFORM_ADMIN};

use crate::{failure::Failure, store::accounts::Account};

/// Unit statuses (`organizations.status`).
pub const REGISTERED: &str = "registered";
pub const PENDING_REVIEW: &str = "pending_review";
pub const ACTIVE: &str = "active";
pub const RETURNED: &str = "returned";
/// Suspended by a platform admin after being active.
pub const SUSPENDED: &str = "suspended";

/// Membership states (`accounts.org_role`).
pub const PENDING: &str = "pending";
pub const MEMBER: &str = "member";
pub const ADMIN: &str = "admin";

/// Page size of every list.
pub const PAGE_SIZE: i64 = 20;

/// The role prefix of a department's reviewers: `department_reviewer:{department_id}`.
pub use tongyi_shared::roles::DEPARTMENT_REVIEWER_PREFIX as REVIEWER_PREFIX;

/// Why a directory operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The input is malformed or names something unknown (400).
    #[error("{0}")]
    Invalid(String),
    /// The caller may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such unit or member (404).
    #[error("{0}")]
    NotFound(String),
    /// The state does not allow it, e.g. approving a unit that is not pending (409).
    #[error("{0}")]
    Conflict(String),
    /// Form fields refused, each with its Chinese message (422 `invalid_fields`).
    #[error("some fields are invalid")]
    Fields(FieldErrors),
    /// Something still uses it, e.g. a department chosen by units (409 `in_use`).
    #[error("{0}")]
    InUse(String),
    /// An uploaded file refused (413 or 415).
    #[error("{}", .0.message())]
    Upload(attachments::UploadRefusal),
    #[error(transparent)]
    Internal(Failure),
}

/// Every failure of ours (storage, the short-lived store) is a [`Failure`].
impl<E: Into<Failure>> From<E> for DirectoryError {
    fn from(e: E) -> Self {
        DirectoryError::Internal(e.into())
    }
}

pub type DirResult<T> = Result<T, DirectoryError>;

/// Field name → Chinese message.
pub type FieldErrors = BTreeMap<String, String>;

/// `Err(Fields)` when any field was refused.
pub fn fields_ok(errors: FieldErrors) -> DirResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DirectoryError::Fields(errors))
    }
}

/// A required text of at most `max` characters, trimmed; the message names what is wrong.
pub fn required_text(
    errors: &mut FieldErrors,
    field: &str,
    value: &str,
    max: usize,
    label: &str,
) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.insert(field.into(), format!("请填写{label}"));
    } else if v.chars().count() > max {
        errors.insert(field.into(), format!("{label}不能超过 {max} 个字"));
    }
    v.to_owned()
}

/// The signed-in account acting on the directory, with its roles.
#[derive(Clone, Debug)]
pub struct Actor {
    pub account: Account,
    pub roles: Vec<String>,
}

impl Actor {
    pub fn is_platform_admin(&self) -> bool {
        self.roles.iter().any(|r| r == PLATFORM_ADMIN)
    }

    /// True for the admin of unit `org_id` (its own legal-entity account or its administrator).
    pub fn is_admin_of(&self, org_id: &str) -> bool {
        self.account
            .org
            .as_ref()
            .is_some_and(|o| o.id == org_id && o.role == OrgRole::Admin)
    }

    /// The departments this account reviews for.
    pub fn reviewed_departments(&self) -> Vec<String> {
        self.roles
            .iter()
            .filter_map(|r| r.strip_prefix(REVIEWER_PREFIX))
            .map(str::to_owned)
            .collect()
    }

    pub fn reviews(&self, department_id: &str) -> bool {
        self.reviewed_departments()
            .iter()
            .any(|d| d == department_id)
    }

    /// A platform admin, or a 403.
    pub fn require_platform_admin(&self) -> DirResult<()> {
        if self.is_platform_admin() {
            Ok(())
        } else {
            Err(DirectoryError::Forbidden(
                "only platform admins may do this".into(),
            ))
        }
    }

    /// Admin of the unit or platform admin, or a 403.
    pub fn require_unit_admin(&self, org_id: &str) -> DirResult<()> {
        if self.is_admin_of(org_id) || self.is_platform_admin() {
            Ok(())
        } else {
            Err(DirectoryError::Forbidden(
                "only the unit's admin may do this".into(),
            ))
        }
    }
}

/// A page of a list read by keyset: at most [`PAGE_SIZE`] items, and whether more follow.
/// The store is asked for one row more than a page, so that `more` costs no second query
/// and the last page is known as the last (no empty page after it).
#[derive(Debug)]
pub struct KeysetPage<T> {
    pub items: Vec<T>,
    pub more: bool,
}

impl<T> KeysetPage<T> {
    /// The page of `rows`, read with a limit of [`PAGE_SIZE`] + 1.
    fn of(mut rows: Vec<T>) -> KeysetPage<T> {
        let page = usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
        let more = rows.len() > page;
        rows.truncate(page);
        KeysetPage { items: rows, more }
    }
}

/// The offset of 1-based page `page` (pages below 1 are the first).
pub fn offset(page: i64) -> i64 {
    (page.max(1) - 1).saturating_mul(PAGE_SIZE)
}

/// A USCC as unit search shows it to people outside the unit: the first two and last four
/// characters (`91120116MA05JJ1X4B` → `91************1X4B`).
pub fn mask_uscc(uscc: &str) -> String {
    let chars: Vec<char> = uscc.trim().chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 6))
}

/// The configured departments (局级/区县主管部门) a unit chooses from, for any signed-in user.
pub async fn department_list(
    state: &crate::services::Services,
) -> Result<Vec<crate::store::directory::Department>, Failure> {
    Ok(crate::store::directory::departments(&state.db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_uscc_masked() {
        assert_eq!(mask_uscc("91120116MA05JJ1X4B"), "91************1X4B");
        assert_eq!(mask_uscc("123"), "***");
    }

    #[test]
    fn directory_offsets() {
        assert_eq!(offset(0), 0);
        assert_eq!(offset(1), 0);
        assert_eq!(offset(3), 40);
    }
}
