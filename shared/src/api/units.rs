//! Departments, units and their review, the unit completion (法人信息补全) and its attachments.

use serde::{Deserialize, Serialize};

use crate::{
    claims::RealnameStatus,
    org::{OrgRole, UnitStatus},
};

/// A department (局级（区县）主管部门) that reviews units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Department {
    pub id: String,
    pub name: String,
}

/// `GET /api/departments`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Departments {
    pub departments: Vec<Department>,
}

/// The department a unit chose, as a unit shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitDepartment {
    pub id: String,
    /// Null only if the department row is gone.
    pub name: Option<String>,
}

/// A unit and its review state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unit {
    pub id: String,
    pub name: String,
    /// 统一社会信用代码.
    pub uscc: Option<String>,
    pub status: UnitStatus,
    /// The department reviewing it, once chosen.
    pub department: Option<UnitDepartment>,
    /// Unix seconds of the last submission.
    pub submitted_at: Option<i64>,
    /// The unit's real-name status (企业三要素 or manual review), that of its legal-entity
    /// account; null for a unit without one.
    #[serde(default)]
    pub realname_status: Option<RealnameStatus>,
}

/// One recorded transition of a unit (who, when, from → to, why).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewEntry {
    /// `submit`, `approve`, `return`, `suspend` or `reactivate`.
    pub action: String,
    /// The status before.
    pub from: String,
    /// The status after.
    pub to: String,
    pub actor_account_id: String,
    /// Display name of the actor.
    pub actor_name: Option<String>,
    pub department_id: Option<String>,
    pub reason: Option<String>,
    /// Unix seconds.
    pub at: i64,
}

/// An address of the completion as stored (unset parts are "").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    #[cfg_attr(feature = "openapi", schema(example = "天津市"))]
    pub city: String,
    #[cfg_attr(feature = "openapi", schema(example = "南开区"))]
    pub district: String,
    pub detail: String,
}

/// The completion as stored. `contact_mobile`, `contact_email` and `bank_account_number` are
/// in clear only for the unit's own admin (who edits them); everyone else (reviewers,
/// platform admins) sees them masked (13*****678, ************1234). Unset values are null.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Completion {
    pub legal_person_nature: Option<String>,
    pub entity_type: Option<String>,
    pub contact_name: Option<String>,
    pub contact_mobile: Option<String>,
    pub contact_email: Option<String>,
    pub department_id: Option<String>,
    pub registered_address: Address,
    pub located_address: Address,
    pub bank_account_name: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account_number: Option<String>,
    /// Unix seconds of the last save.
    pub updated_at: Option<i64>,
}

/// A stored attachment of the completion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    pub id: String,
    /// `business_licence`, `risk_commitment` or `bank_permit`.
    pub slot: String,
    pub filename: String,
    /// `application/pdf`, `image/jpeg` or `image/png`, decided by the content.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// Unix seconds.
    pub uploaded_at: i64,
    /// The path of `GET /api/units/{org_id}/attachments/file/{id}`.
    pub download_url: String,
}

/// `GET /api/units/{org_id}/attachments`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachments {
    pub attachments: Vec<Attachment>,
}

/// A unit with its history, completion and attachments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitDetail {
    #[serde(flatten)]
    pub unit: Unit,
    pub history: Vec<ReviewEntry>,
    pub completion: Completion,
    pub attachments: Vec<Attachment>,
    /// The caller may edit the completion now (its unit's admin, status registered or
    /// returned).
    pub editable: bool,
    /// The reason of the last return while the status is returned.
    pub return_reason: Option<String>,
}

/// `POST /api/units/{org_id}/submit` (the body may be empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmitRequest {
    /// Kept for older callers: stored into the completion before it is checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_id: Option<String>,
}

/// An address in a completion save: absent parts keep their value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddressInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// At most 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// `PUT /api/units/{org_id}/completion`: every field optional on save, all required on
/// submit. Absent fields keep their stored value; a field sent as "" is cleared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompletionInput {
    /// 法人性质, one of the choices' `legal_person_natures`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_person_nature: Option<String>,
    /// 法人类型, one of the choices' `entity_types`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<String>,
    /// At most 30 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    /// A mainland mobile number (1[3-9] and 9 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_mobile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// 局级（区县）主管部门.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_address: Option<AddressInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub located_address: Option<AddressInput>,
    /// 账户（收款单位）: must equal the unit name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_account_name: Option<String>,
    /// 开户银行, at most 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_name: Option<String>,
    /// 银行账户: 6–32 digits (spaces ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_account_number: Option<String>,
}

/// A city of the completion form and its districts (none: free text).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct City {
    #[cfg_attr(feature = "openapi", schema(example = "天津市"))]
    pub name: String,
    pub districts: Vec<String>,
}

/// An attachment slot of the completion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentSlot {
    /// `business_licence`, `risk_commitment` or `bank_permit`.
    pub slot: String,
    pub label: String,
    /// At least one file is needed to submit.
    pub required: bool,
}

/// `GET /api/completion/choices`: the choice lists of the completion form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Choices {
    pub legal_person_natures: Vec<String>,
    pub entity_types: Vec<String>,
    pub cities: Vec<City>,
    pub departments: Vec<Department>,
    pub attachment_slots: Vec<AttachmentSlot>,
    /// The upload limit (10485760).
    pub max_file_bytes: u64,
    #[cfg_attr(feature = "openapi", schema(example = json!(["男", "女"])))]
    pub genders: Vec<String>,
}

/// An active unit found by its full name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitHit {
    pub id: String,
    pub name: String,
    /// Masked: 91************1X4B.
    pub uscc: Option<String>,
}

/// `GET /api/units/search`: empty when none (the portal then says 先联系所属单位注册法人用户).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitSearch {
    pub units: Vec<UnitHit>,
}

/// `POST /api/me/unit`: the active unit a natural person picks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JoinRequest {
    pub org_id: String,
}

/// A unit by id and name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgRef {
    pub id: String,
    pub name: String,
}

/// The answer to joining: the unit and the membership, now `pending`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Joined {
    pub org: OrgRef,
    pub membership: OrgRole,
}
