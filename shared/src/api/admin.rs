//! The platform admin's API: departments and their reviewers, and subsystem clients (the
//! operations of `idp client`).

use serde::{Deserialize, Deserializer, Serialize};

/// A department with its use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminDepartment {
    pub id: String,
    pub name: String,
    /// Units that chose it.
    pub units: i64,
    pub reviewers: i64,
}

/// `GET /api/admin/departments`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminDepartments {
    pub departments: Vec<AdminDepartment>,
}

/// `POST /api/admin/departments` (`id` and `name`) and `PUT /api/admin/departments/{id}`
/// (`name` only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DepartmentInput {
    /// `^[a-z0-9_-]{1,40}$`; ignored by a rename.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// 1–100 characters.
    #[serde(default)]
    pub name: String,
}

/// An account by id, login name and display name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountRef {
    pub account_id: String,
    pub username: String,
    pub name: String,
}

/// `GET /api/admin/departments/{id}/reviewers`: by login name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reviewers {
    pub reviewers: Vec<AccountRef>,
}

/// `POST /api/admin/departments/{id}/reviewers`: the reviewer's login name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewerInput {
    pub username: String,
}

/// A client registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientInfo {
    pub client_id: String,
    pub name: String,
    pub auth_method: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub initiate_login_uri: Option<String>,
    pub subsystem_code: Option<String>,
    pub scopes: Vec<String>,
    pub signing_alg: String,
    pub first_party: bool,
    pub enabled: bool,
}

/// `GET /api/admin/clients`: by client id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Clients {
    pub clients: Vec<ClientInfo>,
}

/// A registered client with its secret, shown only here (stored as a SHA-256 digest).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisteredClient {
    #[serde(flatten)]
    pub client: ClientInfo,
    pub client_secret: Option<String>,
}

fn default_scopes() -> Vec<String> {
    ["openid", "profile", "account", "org", "grants"]
        .map(String::from)
        .to_vec()
}

fn default_alg() -> String {
    "RS256".into()
}

/// `POST /api/admin/clients`: a confidential code-flow client (`client_secret_basic`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientInput {
    /// `^[A-Za-z0-9_.-]{2,64}$`.
    pub client_id: String,
    pub name: String,
    /// At least one.
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub initiate_login_uri: Option<String>,
    /// `^[a-z0-9_-]{1,40}$`; blank: not a subsystem.
    #[serde(default)]
    pub subsystem_code: Option<String>,
    #[serde(default = "default_scopes")]
    #[cfg_attr(
        feature = "openapi",
        schema(default = json!(["openid", "profile", "account", "org", "grants"]))
    )]
    pub scopes: Vec<String>,
    /// `RS256`, `ES256` or `EdDSA`.
    #[serde(default = "default_alg")]
    #[cfg_attr(feature = "openapi", schema(default = "RS256"))]
    pub signing_alg: String,
    #[serde(default)]
    pub first_party: bool,
}

impl ClientInput {
    /// A client with these required fields and the defaults for the rest.
    pub fn new(client_id: &str, name: &str, redirect_uris: Vec<String>) -> ClientInput {
        ClientInput {
            client_id: client_id.to_owned(),
            name: name.to_owned(),
            redirect_uris,
            post_logout_redirect_uris: Vec::new(),
            backchannel_logout_uri: None,
            initiate_login_uri: None,
            subsystem_code: None,
            scopes: default_scopes(),
            signing_alg: default_alg(),
            first_party: false,
        }
    }
}

/// `Some(None)` for an explicit null, `None` when the field is absent.
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `PATCH /api/admin/clients/{client_id}`: absent fields are unchanged; null clears an
/// optional URI.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// At least one when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub initiate_login_uri: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub backchannel_logout_uri: Option<Option<String>>,
}

/// The answer to `POST /api/admin/clients/{client_id}/rotate-secret`: the new secret,
/// returned once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RotatedSecret {
    pub client_id: String,
    pub client_secret: String,
}
