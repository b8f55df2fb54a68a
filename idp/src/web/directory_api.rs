//! The directory API for the portal (docs/directory-api.yaml): departments, the review of
//! units, unit search, memberships and grants. Bearer access tokens of the signed-in user;
//! what each caller may see and change is decided in [`crate::directory`].

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    routing::{get, post, put},
    Router,
};
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::{json, Value};

use super::api_auth::{self, json_error, ok_json};
use crate::{
    accounts::profile::mask_email,
    directory::{
        self,
        membership::{self, MemberRow},
        review::{self, UnitView},
        Actor, DirectoryError,
    },
    pii::PiiField,
    state::AppState,
    store::{self, directory::UnitRecord},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/departments", get(departments))
        .route("/api/reviews/units", get(review_list))
        .route("/api/units/search", get(search))
        .route("/api/units/{org_id}", get(unit))
        .route("/api/units/{org_id}/submit", post(submit))
        .route("/api/units/{org_id}/approve", post(approve))
        .route("/api/units/{org_id}/return", post(return_unit))
        .route("/api/me/unit", post(join))
        .route("/api/units/{org_id}/members", get(members))
        .route(
            "/api/units/{org_id}/members/{account_id}/approve",
            post(approve_member),
        )
        .route(
            "/api/units/{org_id}/members/{account_id}/grants",
            put(set_grants),
        )
}

fn refused(e: DirectoryError) -> Response {
    let (status, code) = match &e {
        DirectoryError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
        DirectoryError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        DirectoryError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        DirectoryError::Conflict(_) => (StatusCode::CONFLICT, "invalid_transition"),
        DirectoryError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ""),
    };
    if let DirectoryError::Internal(inner) = e {
        return api_auth::internal(inner);
    }
    json_error(status, code, &e.to_string())
}

async fn actor(state: &AppState, headers: &HeaderMap) -> Result<Actor, Response> {
    let (account, roles) = api_auth::caller(state, headers).await?;
    Ok(Actor { account, roles })
}

fn bad_request(description: String) -> Response {
    json_error(StatusCode::BAD_REQUEST, "invalid_request", &description)
}

/// The JSON body, or what is wrong with it.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("the body must be a JSON object: {e}"))
}

/// The 1-based `page` parameter (1 when absent), or what is wrong with it.
fn page_of(query: &HashMap<String, String>) -> Result<i64, String> {
    match query
        .get("page")
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
    {
        None => Ok(1),
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| "page must be a positive integer".to_owned()),
    }
}

/// The value of a `Result<_, Response>`, or return the error response.
macro_rules! answer {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(res) => return res,
        }
    };
}

fn unit_json(u: &UnitRecord) -> Value {
    json!({
        "id": u.id,
        "name": u.name,
        "uscc": u.uscc,
        "status": u.status,
        "department": u.department_id.as_ref().map(|id| json!({
            "id": id,
            "name": u.department_name,
        })),
        "submitted_at": u.submitted_at,
    })
}

fn view_json(v: &UnitView) -> Value {
    let mut unit = unit_json(&v.unit);
    unit["history"] = v
        .history
        .iter()
        .map(|h| {
            json!({
                "action": h.action,
                "from": h.from_status,
                "to": h.to_status,
                "actor_account_id": h.actor_account_id,
                "department_id": h.department_id,
                "reason": h.reason,
                "at": h.at,
            })
        })
        .collect();
    unit
}

fn page_json(items: Vec<Value>, total: i64, page: i64) -> Value {
    json!({
        "items": items,
        "total": total,
        "page": page,
        "page_size": directory::PAGE_SIZE,
    })
}

async fn departments(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer!(actor(&state, &headers).await);
    match store::directory::departments(&state.db).await {
        Ok(list) => ok_json(json!({
            "departments": list
                .iter()
                .map(|d| json!({ "id": d.id, "name": d.name }))
                .collect::<Vec<_>>(),
        })),
        Err(e) => api_auth::internal(e.into()),
    }
}

async fn review_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let page = answer!(page_of(&query).map_err(bad_request));
    let status = query
        .get("state")
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(directory::PENDING_REVIEW);
    let q = query.get("q").map(String::as_str).unwrap_or("");
    match review::list_for_review(&state, &actor, status, q, page).await {
        Ok(p) => ok_json(page_json(
            p.units.iter().map(unit_json).collect(),
            p.total,
            page,
        )),
        Err(e) => refused(e),
    }
}

async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    answer!(actor(&state, &headers).await);
    let name = query.get("name").map(String::as_str).unwrap_or("");
    match membership::search_active(&state, name).await {
        Ok(units) => ok_json(json!({
            "units": units
                .iter()
                .map(|u| json!({
                    "id": u.id,
                    "name": u.name,
                    "uscc": u.uscc.as_deref().map(directory::mask_uscc),
                }))
                .collect::<Vec<_>>(),
        })),
        Err(e) => refused(e),
    }
}

async fn unit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org_id): Path<String>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    match review::view(&state, &actor, &org_id).await {
        Ok(v) => ok_json(view_json(&v)),
        Err(e) => refused(e),
    }
}

#[derive(Deserialize)]
struct SubmitBody {
    department_id: String,
}

async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let b: SubmitBody = answer!(body(&bytes).map_err(bad_request));
    match review::submit(&state, &actor, &org_id, &b.department_id).await {
        Ok(u) => ok_json(unit_json(&u)),
        Err(e) => refused(e),
    }
}

async fn approve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org_id): Path<String>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    match review::approve(&state, &actor, &org_id).await {
        Ok(u) => ok_json(unit_json(&u)),
        Err(e) => refused(e),
    }
}

#[derive(Deserialize)]
struct ReturnBody {
    reason: String,
}

async fn return_unit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let b: ReturnBody = answer!(body(&bytes).map_err(bad_request));
    match review::return_unit(&state, &actor, &org_id, &b.reason).await {
        Ok(u) => ok_json(unit_json(&u)),
        Err(e) => refused(e),
    }
}

#[derive(Deserialize)]
struct JoinBody {
    org_id: String,
}

async fn join(State(state): State<AppState>, headers: HeaderMap, bytes: Bytes) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let b: JoinBody = answer!(body(&bytes).map_err(bad_request));
    match membership::join(&state, &actor, &b.org_id).await {
        Ok(u) => ok_json(json!({
            "org": { "id": u.id, "name": u.name },
            "membership": directory::PENDING,
        })),
        Err(e) => refused(e),
    }
}

fn member_json(state: &AppState, m: &MemberRow) -> Value {
    let a = &m.account;
    let open =
        |field, sealed: &Option<String>| sealed.as_deref().and_then(|s| state.pii.open(field, s));
    let mobile =
        open(PiiField::Mobile, &a.mobile_sealed).map(|m| tongyi_shared::mask::mask_mobile(&m));
    let email = open(PiiField::Email, &a.email_sealed).map(|e| mask_email(&e));
    json!({
        "account_id": a.id,
        "username": a.login_name,
        "name": a.display_name,
        "mobile": mobile,
        "email": email,
        "status": a.status,
        "status_label": if a.is_active() { "已启用" } else { "已禁用" },
        "membership": membership::membership_state(a),
        "grants": m.grants,
    })
}

async fn members(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let page = answer!(page_of(&query).map_err(bad_request));
    let q = query.get("q").map(String::as_str).unwrap_or("");
    match membership::members(&state, &actor, &org_id, q, page).await {
        Ok(p) => ok_json(page_json(
            p.members.iter().map(|m| member_json(&state, m)).collect(),
            p.total,
            page,
        )),
        Err(e) => refused(e),
    }
}

async fn approve_member(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((org_id, account_id)): Path<(String, String)>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    match membership::approve(&state, &actor, &org_id, &account_id).await {
        Ok(()) => ok_json(json!({ "membership": directory::MEMBER })),
        Err(e) => refused(e),
    }
}

#[derive(Deserialize)]
struct GrantsBody {
    grants: Vec<String>,
}

async fn set_grants(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((org_id, account_id)): Path<(String, String)>,
    bytes: Bytes,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let b: GrantsBody = answer!(body(&bytes).map_err(bad_request));
    match membership::set_grants(&state, &actor, &org_id, &account_id, &b.grants).await {
        Ok(c) => ok_json(json!({
            "grants": c.grants,
            "added": c.added,
            "removed": c.removed,
        })),
        Err(e) => refused(e),
    }
}
