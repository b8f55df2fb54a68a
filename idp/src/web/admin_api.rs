//! The platform admin's API (docs/directory-api.yaml): departments and their reviewers, and
//! subsystem clients (the operations of `idp client`). Decisions in
//! [`crate::directory::admin`].

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    routing::{delete, get, post, put},
    Router,
};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::api_auth::{actor, answer, bad_request, body, json_with, no_content, ok_json, refused};
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

fn account_ref(a: &Account) -> Value {
    json!({ "account_id": a.id, "username": a.login_name, "name": a.display_name })
}

async fn departments(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    match admin::departments(&state, &actor).await {
        Ok(list) => ok_json(json!({
            "departments": list
                .iter()
                .map(|d| json!({
                    "id": d.department.id,
                    "name": d.department.name,
                    "units": d.units,
                    "reviewers": d.reviewers,
                }))
                .collect::<Vec<_>>(),
        })),
        Err(e) => refused(e),
    }
}

#[derive(Deserialize)]
struct DepartmentBody {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

async fn create_department(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let b: DepartmentBody = answer!(body(&bytes).map_err(bad_request));
    match admin::create_department(&state, &actor, &b.id, &b.name).await {
        Ok(d) => json_with(StatusCode::CREATED, json!({ "id": d.id, "name": d.name })),
        Err(e) => refused(e),
    }
}

async fn rename_department(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(department_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let b: DepartmentBody = answer!(body(&bytes).map_err(bad_request));
    match admin::rename_department(&state, &actor, &department_id, &b.name).await {
        Ok(d) => ok_json(json!({ "id": d.id, "name": d.name })),
        Err(e) => refused(e),
    }
}

async fn delete_department(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(department_id): Path<String>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    match admin::delete_department(&state, &actor, &department_id).await {
        Ok(()) => no_content(),
        Err(e) => refused(e),
    }
}

async fn reviewers(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(department_id): Path<String>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    match admin::reviewers(&state, &actor, &department_id).await {
        Ok(list) => ok_json(json!({
            "reviewers": list.iter().map(account_ref).collect::<Vec<_>>(),
        })),
        Err(e) => refused(e),
    }
}

#[derive(Deserialize)]
struct ReviewerBody {
    username: String,
}

async fn add_reviewer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(department_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let b: ReviewerBody = answer!(body(&bytes).map_err(bad_request));
    match admin::add_reviewer(&state, &actor, &department_id, &b.username).await {
        Ok(a) => json_with(StatusCode::CREATED, account_ref(&a)),
        Err(e) => refused(e),
    }
}

async fn remove_reviewer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((department_id, account_id)): Path<(String, String)>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    match admin::remove_reviewer(&state, &actor, &department_id, &account_id).await {
        Ok(()) => no_content(),
        Err(e) => refused(e),
    }
}

fn client_json(c: &Client) -> Value {
    json!({
        "client_id": c.client_id,
        "name": c.name,
        "auth_method": c.auth_method.as_str(),
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "backchannel_logout_uri": c.backchannel_logout_uri,
        "initiate_login_uri": c.initiate_login_uri,
        "subsystem_code": c.subsystem_code,
        "scopes": c.allowed_scopes,
        "signing_alg": c.signing_alg.as_str(),
        "first_party": c.first_party,
        "enabled": c.enabled,
    })
}

async fn clients(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    match admin::clients(&state, &actor).await {
        Ok(list) => ok_json(json!({
            "clients": list.iter().map(client_json).collect::<Vec<_>>(),
        })),
        Err(e) => refused(e),
    }
}

async fn client(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    match admin::client(&state, &actor, &client_id).await {
        Ok(c) => ok_json(client_json(&c)),
        Err(e) => refused(e),
    }
}

fn default_scopes() -> Vec<String> {
    ["openid", "profile", "account", "org", "grants"]
        .map(String::from)
        .to_vec()
}

fn default_alg() -> String {
    "RS256".into()
}

/// A confidential code-flow client, as the admin page registers them.
#[derive(Deserialize)]
struct ClientBody {
    client_id: String,
    name: String,
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    backchannel_logout_uri: Option<String>,
    initiate_login_uri: Option<String>,
    subsystem_code: Option<String>,
    #[serde(default = "default_scopes")]
    scopes: Vec<String>,
    #[serde(default = "default_alg")]
    signing_alg: String,
    #[serde(default)]
    first_party: bool,
}

async fn create_client(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let b: ClientBody = answer!(body(&bytes).map_err(bad_request));
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
    };
    match admin::register_client(&state, &actor, def).await {
        Ok(r) => {
            let mut v = client_json(&r.client);
            v["client_secret"] = json!(r.secret);
            json_with(StatusCode::CREATED, v)
        }
        Err(e) => refused(e),
    }
}

/// `Some(None)` for an explicit null, `None` when the field is absent.
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct ClientPatch {
    name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    initiate_login_uri: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    backchannel_logout_uri: Option<Option<String>>,
}

async fn update_client(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let b: ClientPatch = answer!(body(&bytes).map_err(bad_request));
    let change = MetadataChange {
        name: b.name,
        redirect_uris: b.redirect_uris,
        post_logout_redirect_uris: b.post_logout_redirect_uris,
        initiate_login_uri: b.initiate_login_uri,
        backchannel_logout_uri: b.backchannel_logout_uri,
    };
    match admin::update_client(&state, &actor, &client_id, change).await {
        Ok(c) => ok_json(client_json(&c)),
        Err(e) => refused(e),
    }
}

async fn rotate_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    match admin::rotate_secret(&state, &actor, &client_id).await {
        Ok(secret) => ok_json(json!({ "client_id": client_id, "client_secret": secret })),
        Err(e) => refused(e),
    }
}

async fn disable_client(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    match admin::set_client_enabled(&state, &actor, &client_id, false).await {
        Ok(c) => ok_json(client_json(&c)),
        Err(e) => refused(e),
    }
}

async fn enable_client(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    match admin::set_client_enabled(&state, &actor, &client_id, true).await {
        Ok(c) => ok_json(client_json(&c)),
        Err(e) => refused(e),
    }
}
