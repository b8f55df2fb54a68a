//! The platform admin's API (docs/directory-api.json): departments and their reviewers, and
//! subsystem clients (the operations of `idp client`). Decisions in
//! [`crate::directory::admin`].

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    routing::{delete, get, post, put},
    Router,
};
use tongyi_shared::api::admin::{
    AccountRef, AdminDepartment, AdminDepartments, ClientInfo, ClientInput, ClientPatch, Clients,
    DepartmentInput, RegisteredClient, ReviewerInput, Reviewers, RotatedSecret,
};
use tongyi_shared::api::units::Department;

use super::api_auth::{json_with, no_content, ok_json, refused};
use super::extract::{ApiBody, ApiCaller};
use super::openapi::{Conflict, Forbidden, InvalidFields, NotFound, Unauthorized};
use crate::{
    directory::admin,
    oidc::{client::Client, registration::MetadataChange},
    seed::SeedClient,
    state::AppState,
    store::accounts::Account,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/admin/departments",
            get(departments).post(create_department),
        )
        .route(
            "/api/admin/departments/{department_id}",
            put(rename_department).delete(delete_department),
        )
        .route(
            "/api/admin/departments/{department_id}/reviewers",
            get(reviewers).post(add_reviewer),
        )
        .route(
            "/api/admin/departments/{department_id}/reviewers/{account_id}",
            delete(remove_reviewer),
        )
        .route("/api/admin/clients", get(clients).post(create_client))
        .route(
            "/api/admin/clients/{client_id}",
            get(client).patch(update_client),
        )
        .route(
            "/api/admin/clients/{client_id}/rotate-secret",
            post(rotate_secret),
        )
        .route(
            "/api/admin/clients/{client_id}/disable",
            post(disable_client),
        )
        .route("/api/admin/clients/{client_id}/enable", post(enable_client))
}

fn account_ref(a: &Account) -> AccountRef {
    AccountRef {
        account_id: a.id.clone(),
        username: a.login_name.clone(),
        name: a.display_name.clone(),
    }
}

fn department_body(d: crate::store::directory::Department) -> Department {
    Department {
        id: d.id,
        name: d.name,
    }
}

/// Departments with their use (platform admins).
#[utoipa::path(get, path = "/api/admin/departments", tag = "admin",
    responses(
        (status = 200, description = "Departments", body = AdminDepartments),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ))]
async fn departments(State(state): State<AppState>, ApiCaller(actor): ApiCaller) -> Response {
    match admin::departments(&state, &actor).await {
        Ok(list) => ok_json(AdminDepartments {
            departments: list
                .into_iter()
                .map(|d| AdminDepartment {
                    id: d.department.id,
                    name: d.department.name,
                    units: d.units,
                    reviewers: d.reviewers,
                })
                .collect(),
        }),
        Err(e) => refused(e),
    }
}

/// Creates a department.
#[utoipa::path(post, path = "/api/admin/departments", tag = "admin",
    request_body = DepartmentInput,
    responses(
        (status = 201, description = "Created", body = Department),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = InvalidFields),
    ))]
async fn create_department(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    ApiBody(b): ApiBody<DepartmentInput>,
) -> Response {
    match admin::create_department(&state, &actor, &b.id, &b.name).await {
        Ok(d) => json_with(StatusCode::CREATED, department_body(d)),
        Err(e) => refused(e),
    }
}

/// Renames a department (the body's `id` is ignored).
#[utoipa::path(put, path = "/api/admin/departments/{department_id}", tag = "admin",
    params(("department_id" = String, Path, description = "the department's id")),
    request_body = DepartmentInput,
    responses(
        (status = 200, description = "Renamed", body = Department),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = InvalidFields),
    ))]
async fn rename_department(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(department_id): Path<String>,
    ApiBody(b): ApiBody<DepartmentInput>,
) -> Response {
    match admin::rename_department(&state, &actor, &department_id, &b.name).await {
        Ok(d) => ok_json(department_body(d)),
        Err(e) => refused(e),
    }
}

/// Deletes a department no unit chose and no reviewer holds (409 `in_use` otherwise).
#[utoipa::path(delete, path = "/api/admin/departments/{department_id}", tag = "admin",
    params(("department_id" = String, Path, description = "the department's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn delete_department(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(department_id): Path<String>,
) -> Response {
    match admin::delete_department(&state, &actor, &department_id).await {
        Ok(()) => no_content(),
        Err(e) => refused(e),
    }
}

/// The department's reviewers (role `department_reviewer:{department_id}`).
#[utoipa::path(get, path = "/api/admin/departments/{department_id}/reviewers", tag = "admin",
    params(("department_id" = String, Path, description = "the department's id")),
    responses(
        (status = 200, description = "Reviewers by login name", body = Reviewers),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ))]
async fn reviewers(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(department_id): Path<String>,
) -> Response {
    match admin::reviewers(&state, &actor, &department_id).await {
        Ok(list) => ok_json(Reviewers {
            reviewers: list.iter().map(account_ref).collect(),
        }),
        Err(e) => refused(e),
    }
}

/// Adds a reviewer by login name.
#[utoipa::path(post, path = "/api/admin/departments/{department_id}/reviewers", tag = "admin",
    params(("department_id" = String, Path, description = "the department's id")),
    request_body = ReviewerInput,
    responses(
        (status = 201, description = "Added (also when it already was one)", body = AccountRef),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ))]
async fn add_reviewer(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(department_id): Path<String>,
    ApiBody(b): ApiBody<ReviewerInput>,
) -> Response {
    match admin::add_reviewer(&state, &actor, &department_id, &b.username).await {
        Ok(a) => json_with(StatusCode::CREATED, account_ref(&a)),
        Err(e) => refused(e),
    }
}

/// Removes a reviewer.
#[utoipa::path(delete, path = "/api/admin/departments/{department_id}/reviewers/{account_id}", tag = "admin",
    params(
        ("department_id" = String, Path, description = "the department's id"),
        ("account_id" = String, Path, description = "the reviewer's account id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ))]
async fn remove_reviewer(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path((department_id, account_id)): Path<(String, String)>,
) -> Response {
    match admin::remove_reviewer(&state, &actor, &department_id, &account_id).await {
        Ok(()) => no_content(),
        Err(e) => refused(e),
    }
}

fn client_body(c: &Client) -> ClientInfo {
    ClientInfo {
        client_id: c.client_id.clone(),
        name: c.name.clone(),
        auth_method: c.auth_method.as_str().to_owned(),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        backchannel_logout_uri: c.backchannel_logout_uri.clone(),
        initiate_login_uri: c.initiate_login_uri.clone(),
        subsystem_code: c.subsystem_code.clone(),
        scopes: c.allowed_scopes.clone(),
        signing_alg: c.signing_alg.as_str().to_owned(),
        first_party: c.first_party,
        enabled: c.enabled,
    }
}

/// Client registrations (platform admins; the CLI's `idp client list`).
#[utoipa::path(get, path = "/api/admin/clients", tag = "admin",
    responses(
        (status = 200, description = "Clients by id", body = Clients),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ))]
async fn clients(State(state): State<AppState>, ApiCaller(actor): ApiCaller) -> Response {
    match admin::clients(&state, &actor).await {
        Ok(list) => ok_json(Clients {
            clients: list.iter().map(client_body).collect(),
        }),
        Err(e) => refused(e),
    }
}

/// One client.
#[utoipa::path(get, path = "/api/admin/clients/{client_id}", tag = "admin",
    params(("client_id" = String, Path, description = "the client's id")),
    responses(
        (status = 200, description = "The client", body = ClientInfo),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ))]
async fn client(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(client_id): Path<String>,
) -> Response {
    match admin::client(&state, &actor, &client_id).await {
        Ok(c) => ok_json(client_body(&c)),
        Err(e) => refused(e),
    }
}

/// Registers a confidential code-flow client (`client_secret_basic`); the secret is returned
/// once.
#[utoipa::path(post, path = "/api/admin/clients", tag = "admin",
    request_body = ClientInput,
    responses(
        (status = 201, description = "Registered", body = RegisteredClient),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = InvalidFields),
    ))]
async fn create_client(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    ApiBody(b): ApiBody<ClientInput>,
) -> Response {
    let def = SeedClient {
        client_id: b.client_id,
        name: b.name,
        secret: None,
        auth_method: "client_secret_basic".into(),
        redirect_uris: b.redirect_uris,
        post_logout_redirect_uris: b.post_logout_redirect_uris,
        backchannel_logout_uri: b.backchannel_logout_uri,
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: b.scopes,
        signing_alg: b.signing_alg,
        subsystem_code: b.subsystem_code.filter(|c| !c.trim().is_empty()),
        first_party: b.first_party,
        jwks: None,
        initiate_login_uri: b.initiate_login_uri,
        // Resource servers are registered with `idp client add --resource-uri`.
        resource_uri: None,
        // Not part of the admin API yet: `idp client add --require-par` sets it.
        require_pushed_authorization_requests: false,
        dpop_bound_access_tokens: false,
    };
    match admin::register_client(&state, &actor, def).await {
        Ok(r) => json_with(
            StatusCode::CREATED,
            RegisteredClient {
                client: client_body(&r.client),
                client_secret: r.secret,
            },
        ),
        Err(e) => refused(e),
    }
}

/// Updates name, redirect URIs, post-logout redirect URIs, `initiate_login_uri` or the
/// back-channel logout URI (absent fields unchanged; null clears an optional URI).
#[utoipa::path(patch, path = "/api/admin/clients/{client_id}", tag = "admin",
    params(("client_id" = String, Path, description = "the client's id")),
    request_body = ClientPatch,
    responses(
        (status = 200, description = "Updated", body = ClientInfo),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = InvalidFields),
    ))]
async fn update_client(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(client_id): Path<String>,
    ApiBody(b): ApiBody<ClientPatch>,
) -> Response {
    let change = MetadataChange {
        name: b.name,
        redirect_uris: b.redirect_uris,
        post_logout_redirect_uris: b.post_logout_redirect_uris,
        initiate_login_uri: b.initiate_login_uri,
        backchannel_logout_uri: b.backchannel_logout_uri,
    };
    match admin::update_client(&state, &actor, &client_id, change).await {
        Ok(c) => ok_json(client_body(&c)),
        Err(e) => refused(e),
    }
}

/// A new secret (returned once); the old one stops working at once.
#[utoipa::path(post, path = "/api/admin/clients/{client_id}/rotate-secret", tag = "admin",
    params(("client_id" = String, Path, description = "the client's id")),
    responses(
        (status = 200, description = "The new secret", body = RotatedSecret),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn rotate_secret(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(client_id): Path<String>,
) -> Response {
    match admin::rotate_secret(&state, &actor, &client_id).await {
        Ok(client_secret) => ok_json(RotatedSecret {
            client_id,
            client_secret,
        }),
        Err(e) => refused(e),
    }
}

/// Disables a client (authorize and token refuse it; it leaves the launcher).
#[utoipa::path(post, path = "/api/admin/clients/{client_id}/disable", tag = "admin",
    params(("client_id" = String, Path, description = "the client's id")),
    responses(
        (status = 200, description = "Disabled", body = ClientInfo),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ))]
async fn disable_client(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(client_id): Path<String>,
) -> Response {
    match admin::set_client_enabled(&state, &actor, &client_id, false).await {
        Ok(c) => ok_json(client_body(&c)),
        Err(e) => refused(e),
    }
}

/// Enables a disabled client again.
#[utoipa::path(post, path = "/api/admin/clients/{client_id}/enable", tag = "admin",
    params(("client_id" = String, Path, description = "the client's id")),
    responses(
        (status = 200, description = "Enabled", body = ClientInfo),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ))]
async fn enable_client(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(client_id): Path<String>,
) -> Response {
    match admin::set_client_enabled(&state, &actor, &client_id, true).await {
        Ok(c) => ok_json(client_body(&c)),
        Err(e) => refused(e),
    }
}
