//! The registration form's availability check (`GET /register/available`), which a page may
//! call while the user types: public, without a token, and limited per client address.

use serde::{Deserialize, Serialize};

/// Whether a login name, unit name or USCC can still be registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Availability {
    /// `login_name`, `unit_name` or `uscc`, as asked.
    pub field: String,
    pub available: bool,
    /// The sentence for the form: `可以使用`, `该账号已被注册`, or why the value is malformed.
    pub message: String,
}
