//! The caller's legacy records (accounts migrated from older systems, docs/legacy-import.md).

use serde::{Deserialize, Serialize};

/// A legacy record linked to the caller's account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LegacyRecord {
    /// The system it came from.
    #[cfg_attr(feature = "openapi", schema(example = "torch"))]
    pub source: String,
    /// `unit` or `person`.
    pub kind: String,
    /// Its id in that system: a subsystem finds its own historical data by `source` +
    /// `legacy_id`.
    pub legacy_id: String,
    /// `declarant` or `expert` (persons).
    pub user_type: Option<String>,
    /// `kept_login`, `linked_existing`, `renamed_hj`, `became_person` or `record_only`.
    pub outcome: String,
    /// `import`, `binding` or `registration`.
    pub linked_via: Option<String>,
    /// Unix seconds.
    pub linked_at: Option<i64>,
    /// Subsystem codes it grants.
    pub subsystems: Vec<String>,
}

/// `GET /api/me/legacy-records`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LegacyRecords {
    pub records: Vec<LegacyRecord>,
}
