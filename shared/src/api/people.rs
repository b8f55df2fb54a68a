//! The signed-in natural person: its profile (个人信息补全), the unit it registers, its
//! expert application (评审专家信息完善) and the platform admin's review of applications.

use serde::{Deserialize, Serialize};

use crate::org::{OrgRole, UnitStatus};

/// The person's unit, as its profile shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileOrg {
    pub id: String,
    pub name: String,
    pub status: UnitStatus,
    pub membership: OrgRole,
}

/// `GET /api/me/profile`: name, ID number and mobile come from the account (masked, read
/// only here; mobile and email are changed in the account console).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonProfile {
    pub account_id: String,
    pub username: String,
    pub name: String,
    /// 男 or 女.
    pub gender: Option<String>,
    pub id_type: Option<String>,
    /// Masked: 1101**********271X.
    pub id_number: Option<String>,
    /// Masked.
    pub mobile: Option<String>,
    /// Masked.
    pub email: Option<String>,
    pub phone: Option<String>,
    pub position: Option<String>,
    pub title: Option<String>,
    /// Gender, position and title are set.
    pub complete: bool,
    pub org: Option<ProfileOrg>,
}

/// `PUT /api/me/profile`: the editable fields, all but `phone` required.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileInput {
    /// 男 or 女.
    #[serde(default)]
    pub gender: String,
    /// Office phone, optional: digits, - and space, 7–20.
    #[serde(default)]
    pub phone: String,
    /// 职务, at most 50 characters.
    #[serde(default)]
    pub position: String,
    /// 职称, at most 50 characters.
    #[serde(default)]
    pub title: String,
}

/// `POST /api/me/unit-registration`: a natural person registers its unit (Zhengzhou model).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitRegistration {
    /// 单位名称.
    #[serde(default)]
    pub name: String,
    /// 统一社会信用代码 (18 characters, check character verified).
    #[serde(default)]
    pub uscc: String,
    /// 法人类型 label: 企业, 机关事业单位, 社会组织 or 其他.
    #[serde(default)]
    pub entity_type: String,
}

/// `POST /api/me/expert`: the expert application.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExpertInput {
    /// 男 or 女.
    #[serde(default)]
    pub gender: String,
    /// Contact email for reviews (optional; the account's email when empty).
    #[serde(default)]
    pub email: String,
    /// 工作单位, at most 100 characters.
    #[serde(default)]
    pub institution: String,
    /// 职务, at most 50 characters.
    #[serde(default)]
    pub position: String,
    /// 职称, at most 50 characters.
    #[serde(default)]
    pub title: String,
    /// 专业领域: 1–10, each at most 50 characters.
    #[serde(default)]
    pub fields: Vec<String>,
}

/// An account's expert application (`status` `none` when never submitted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExpertApplication {
    pub account_id: String,
    pub username: String,
    pub name: String,
    pub gender: Option<String>,
    /// Masked.
    pub id_number: Option<String>,
    /// Masked.
    pub mobile: Option<String>,
    /// Masked: the application's contact email, else the account's.
    pub email: Option<String>,
    pub institution: Option<String>,
    pub position: Option<String>,
    pub title: Option<String>,
    pub fields: Vec<String>,
    /// `none`, `pending`, `approved` or `rejected`.
    pub status: String,
    /// The rejection reason.
    pub reason: Option<String>,
    /// Unix seconds.
    pub submitted_at: Option<i64>,
    /// Unix seconds.
    pub decided_at: Option<i64>,
    /// Account id of the deciding admin.
    pub decided_by: Option<String>,
}
