//! Subsystems: those enabled for a unit, and the launcher (在线办理).

use serde::{Deserialize, Serialize};

/// A registered subsystem and whether it is enabled for the unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitSubsystem {
    pub code: String,
    pub name: String,
    pub enabled: bool,
}

/// `GET /api/units/{org_id}/subsystems`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitSubsystems {
    pub subsystems: Vec<UnitSubsystem>,
}

/// `PUT /api/units/{org_id}/subsystems` and its answer: the subsystem codes enabled for the
/// unit, exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnabledSubsystems {
    pub subsystems: Vec<String>,
}

/// A subsystem in the launcher.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LauncherEntry {
    #[cfg_attr(feature = "openapi", schema(example = "incubator"))]
    pub code: String,
    pub name: String,
    /// OIDC Registration 1.0 `initiate_login_uri`: opening it starts an SSO login there.
    pub initiate_login_uri: Option<String>,
    /// The caller holds the grant now.
    pub granted: bool,
    /// When not granted, one of: 先选择所属单位，由单位管理员授权 (no unit);
    /// 完成单位信息补全并通过主管部门审核 (admin of a unit not active); 所属单位尚未生效，请联系所属单位
    /// (member of a unit not active); 等待所属单位管理员审核并授权 (pending membership);
    /// 本单位未开通该子系统，请联系平台管理员 (not enabled for the unit, or the unit admin itself);
    /// 请联系所属单位管理员授权 (member without the grant).
    pub how_to_get: Option<String>,
}

/// `GET /api/subsystems`: the enabled subsystem clients, by code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Launcher {
    pub subsystems: Vec<LauncherEntry>,
}
