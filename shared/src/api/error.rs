//! The body of every refusal of the directory API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `{"error", "error_description"}`, and for 422 `invalid_fields` also `fields` (as for the
/// 400 `invalid_request` that refuses a list's paging parameter: `after` or `page`).
///
/// `error` is one of `invalid_request`, `invalid_token`, `forbidden`, `not_found`,
/// `invalid_transition`, `invalid_fields`, `in_use`, `file_too_large`, `unsupported_type`,
/// `type_mismatch`, `no_mobile`, `sms_failed`, `server_error`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: String,
    /// Absent only in the 500 `server_error` answer.
    #[serde(default)]
    pub error_description: String,
    /// With `invalid_fields`, and with `invalid_request` for a refused `after` or `page` of a
    /// list: field name (dotted for nested ones:
    /// `registered_address.district`, `attachments.bank_permit`) → message in Chinese.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = json!({
        "bank_account_name": "账户（收款单位）必须与单位名称相同",
        "contact_mobile": "请输入正确的手机号码"
    })))]
    pub fields: Option<BTreeMap<String, String>>,
}

impl ErrorBody {
    pub fn new(error: &str, error_description: &str) -> ErrorBody {
        ErrorBody {
            error: error.to_owned(),
            error_description: error_description.to_owned(),
            fields: None,
        }
    }
}
