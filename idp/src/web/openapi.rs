//! The directory API's OpenAPI document (docs/directory-api.json), generated from the
//! `#[utoipa::path]` of the API handlers and the contract types of [`tongyi_shared::api`]. A
//! test keeps the committed file equal to what the code generates, so the document cannot
//! drift from the handlers.

use std::borrow::Cow;

use utoipa::{
    openapi::{
        response::{Response, ResponseBuilder},
        schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
        Content, Ref, RefOr, Schema,
    },
    Modify, OpenApi, PartialSchema, ToResponse, ToSchema,
};

use super::{admin_api, directory_api, legacy, members_api, people_api, register};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tongyi directory API",
        version = "0.1",
        description = include_str!("openapi_intro.md"),
    ),
    servers((url = "http://127.0.0.1:8080")),
    security(("bearer" = [])),
    modifiers(&BearerToken),
    paths(
        directory_api::departments,
        directory_api::review_list,
        directory_api::search,
        directory_api::unit,
        directory_api::submit,
        directory_api::approve,
        directory_api::return_unit,
        directory_api::join,
        directory_api::members,
        directory_api::approve_member,
        directory_api::set_grants,
        members_api::reset,
        members_api::disable,
        members_api::enable,
        directory_api::choices,
        directory_api::save_completion,
        directory_api::list_attachments,
        directory_api::upload_attachment,
        directory_api::download_attachment,
        directory_api::delete_attachment,
        directory_api::suspend,
        directory_api::reactivate,
        directory_api::unit_subsystems,
        directory_api::set_unit_subsystems,
        directory_api::launcher,
        people_api::profile,
        people_api::save_profile,
        people_api::register_unit,
        people_api::my_expert,
        people_api::submit_expert,
        people_api::experts,
        people_api::approve_expert,
        people_api::reject_expert,
        admin_api::departments,
        admin_api::create_department,
        admin_api::rename_department,
        admin_api::delete_department,
        admin_api::reviewers,
        admin_api::add_reviewer,
        admin_api::remove_reviewer,
        admin_api::clients,
        admin_api::create_client,
        admin_api::client,
        admin_api::update_client,
        admin_api::rotate_secret,
        admin_api::disable_client,
        admin_api::enable_client,
        legacy::records_api,
        register::available,
    ),
    components(
        schemas(tongyi_shared::api::error::ErrorBody),
        responses(BadRequest, Unauthorized, Forbidden, NotFound, Conflict, InvalidFields),
    ),
    tags(
        (name = "units", description = "Departments, units and their review"),
        (name = "completion", description = "The unit completion (法人信息补全) and its attachments"),
        (name = "members", description = "Memberships, grants and the unit admin's actions on members"),
        (name = "subsystems", description = "Subsystems enabled for a unit, and the launcher (在线办理)"),
        (name = "people", description = "The natural person's profile, unit registration and expert application"),
        (name = "admin", description = "The platform admin's departments, reviewers and clients"),
        (name = "legacy", description = "Legacy records of migrated users"),
        (name = "registration", description = "The public registration form's availability check (no token)"),
    ),
)]
pub struct DirectoryApi;

/// The document as committed: pretty JSON with a final newline.
pub fn document() -> String {
    let mut json = DirectoryApi::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json.push('\n');
    json
}

/// The security scheme every path names: the signed-in user's access token.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The signed-in user's access token (RFC 9068 JWT), verified like at \
                         UserInfo",
                    ))
                    .build(),
            ),
        );
    }
}

/// The bytes of an uploaded or downloaded file (`Vec<u8>` would read as an array of numbers).
pub struct FileBytes;

impl PartialSchema for FileBytes {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .build()
            .into()
    }
}

impl ToSchema for FileBytes {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("FileBytes")
    }
}

/// An error answer with the [`ErrorBody`](tongyi_shared::api::error::ErrorBody) schema.
fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody")))),
        )
        .build()
        .into()
}

/// The error answers most paths share, each once under `components.responses`.
macro_rules! error_responses {
    ($($name:ident: $description:literal),+ $(,)?) => {$(
        #[doc = $description]
        pub struct $name;

        impl<'s> ToResponse<'s> for $name {
            fn response() -> (&'s str, RefOr<Response>) {
                (stringify!($name), error_response($description))
            }
        }
    )+};
}

error_responses! {
    BadRequest: "`invalid_request`: malformed body or parameter, unknown department or \
        subsystem code, missing reason",
    Unauthorized: "`invalid_token`: no, bad, expired or revoked token, a machine token, or a \
        disabled account (with a `WWW-Authenticate: Bearer` challenge)",
    Forbidden: "`forbidden`: the caller may not do this (another unit, another department, \
        its own membership)",
    NotFound: "`not_found`: no such unit, member, account, department or client, or the unit \
        is not active (joining)",
    Conflict: "`invalid_transition`: the state does not allow it; error_description says why \
        (e.g. approving a unit that is not pending_review, granting to a pending member, \
        editing a unit under review); `in_use` for deleting a department in use",
    InvalidFields: "`invalid_fields`: field-level messages in Chinese in `fields`",
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::document;

    fn committed_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/directory-api.json")
    }

    #[test]
    fn openapi_document_matches_the_committed_file() {
        let generated = document();
        let path = committed_path();
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &generated).expect("write docs/directory-api.json");
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != generated {
            let line = committed
                .lines()
                .zip(generated.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
            panic!(
                "docs/directory-api.json is not the document the handlers generate (first \
                 difference at line {}: committed {:?}, generated {:?}).\n\
                 Regenerate it with `UPDATE_OPENAPI=1 cargo nextest run -p tongyi-idp openapi` \
                 and commit it.",
                line + 1,
                committed.lines().nth(line).unwrap_or("<end of file>"),
                generated.lines().nth(line).unwrap_or("<end of file>"),
            );
        }
    }

    #[test]
    fn openapi_document_names_every_api_path() {
        let doc: serde_json::Value = serde_json::from_str(&document()).expect("valid JSON");
        let paths = doc["paths"].as_object().expect("paths");
        assert_eq!(
            paths.len(),
            40,
            "paths: {:?}",
            paths.keys().collect::<Vec<_>>()
        );
        let operations: usize = paths
            .values()
            .map(|p| p.as_object().map_or(0, |o| o.len()))
            .sum();
        assert_eq!(operations, 49);
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    }
}
