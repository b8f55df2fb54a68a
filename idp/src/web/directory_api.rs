//! The directory API for the portal (docs/directory-api.yaml): departments, the review of
//! units, unit search, memberships and grants. Bearer access tokens of the signed-in user;
//! what each caller may see and change is decided in [`crate::directory`].

use std::collections::HashMap;

use axum::{
    body::{Body, Bytes, HttpBody},
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post, put},
    Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::api_auth::{
    self, actor, answer, bad_request, body, json_with, no_content, ok_json, page_json, page_of,
    refused,
};
use crate::{
    accounts::profile::mask_email,
    directory::{
        self,
        attachments::{self, UploadRefusal, MAX_FILE_BYTES},
        completion::{self, CompletionInput, CITIES, LEGAL_PERSON_NATURES},
        membership::{self, MemberRow},
        person::GENDERS,
        review::{self, UnitView},
        subsystems, DirectoryError,
    },
    pii::PiiField,
    state::AppState,
    store::{self, directory::UnitRecord, unit_files::Attachment},
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
        .route("/api/completion/choices", get(choices))
        .route("/api/units/{org_id}/completion", put(save_completion))
        .route("/api/units/{org_id}/attachments", get(list_attachments))
        .route(
            "/api/units/{org_id}/attachments/{slot}",
            post(upload_attachment),
        )
        .route(
            "/api/units/{org_id}/attachments/file/{attachment_id}",
            get(download_attachment).delete(delete_attachment),
        )
        .route("/api/units/{org_id}/suspend", post(suspend))
        .route("/api/units/{org_id}/reactivate", post(reactivate))
        .route(
            "/api/units/{org_id}/subsystems",
            get(unit_subsystems).put(set_unit_subsystems),
        )
        .route("/api/subsystems", get(launcher))
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

fn attachment_json(a: &Attachment) -> Value {
    json!({
        "id": a.id,
        "slot": a.slot,
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "uploaded_at": a.created_at,
        "download_url": format!("/api/units/{}/attachments/file/{}", a.org_id, a.id),
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
                "actor_name": v.actor_names.get(&h.actor_account_id),
                "department_id": h.department_id,
                "reason": h.reason,
                "at": h.at,
            })
        })
        .collect();
    unit["completion"] = v.completion.to_json();
    unit["attachments"] = v.attachments.iter().map(attachment_json).collect();
    unit["editable"] = json!(v.editable);
    unit["return_reason"] = json!(v.return_reason);
    unit
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

#[derive(Deserialize, Default)]
struct SubmitBody {
    department_id: Option<String>,
}

async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let b: SubmitBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        SubmitBody::default()
    } else {
        answer!(body(&bytes).map_err(bad_request))
    };
    match review::submit(&state, &actor, &org_id, b.department_id.as_deref()).await {
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

/// The body of a return or suspension: why.
#[derive(Deserialize)]
pub(super) struct ReasonBody {
    pub(super) reason: String,
}

async fn return_unit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let b: ReasonBody = answer!(body(&bytes).map_err(bad_request));
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

async fn choices(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer!(actor(&state, &headers).await);
    let departments = match store::directory::departments(&state.db).await {
        Ok(list) => list,
        Err(e) => return api_auth::internal(e.into()),
    };
    ok_json(json!({
        "legal_person_natures": LEGAL_PERSON_NATURES,
        "entity_types": completion::entity_type_labels(),
        "cities": CITIES
            .iter()
            .map(|(name, districts)| json!({ "name": name, "districts": districts }))
            .collect::<Vec<_>>(),
        "departments": departments
            .iter()
            .map(|d| json!({ "id": d.id, "name": d.name }))
            .collect::<Vec<_>>(),
        "attachment_slots": attachments::SLOTS
            .iter()
            .map(|(slot, label)| json!({ "slot": slot, "label": label, "required": true }))
            .collect::<Vec<_>>(),
        "max_file_bytes": MAX_FILE_BYTES,
        "genders": GENDERS,
    }))
}

async fn save_completion(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let input: CompletionInput = answer!(body(&bytes).map_err(bad_request));
    match review::save_completion(&state, &actor, &org_id, &input).await {
        Ok(v) => ok_json(view_json(&v)),
        Err(e) => refused(e),
    }
}

/// The unit named in the path, or the 404 response.
async fn unit_of(state: &AppState, org_id: &str) -> Result<UnitRecord, Response> {
    review::unit(state, org_id).await.map_err(refused)
}

async fn list_attachments(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org_id): Path<String>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let unit = answer!(unit_of(&state, &org_id).await);
    match attachments::list(&state, &actor, &unit).await {
        Ok(list) => ok_json(json!({
            "attachments": list.iter().map(attachment_json).collect::<Vec<_>>(),
        })),
        Err(e) => refused(e),
    }
}

/// Reads the request body up to `max` bytes. Beyond that nothing more is kept: the rest is
/// read and dropped (up to [`DRAIN_BYTES`]) so that the client, still sending, gets the 413
/// instead of a broken connection.
async fn read_limited(mut body: Body, max: usize) -> Result<Vec<u8>, Response> {
    let mut data = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let frame =
            frame.map_err(|_| api_auth::bad_request("the upload was interrupted".to_owned()))?;
        if let Ok(chunk) = frame.into_data() {
            seen = seen.saturating_add(chunk.len());
            if seen > max {
                data = Vec::new();
                if seen > DRAIN_BYTES {
                    break;
                }
            } else {
                data.extend_from_slice(&chunk);
            }
        }
    }
    if seen > max {
        return Err(refused(DirectoryError::Upload(UploadRefusal::TooLarge)));
    }
    Ok(data)
}

/// How much of an oversized upload is read (and dropped) before the connection is given up.
const DRAIN_BYTES: usize = 4 * MAX_FILE_BYTES;

async fn upload_attachment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((org_id, slot)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    upload: Body,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let unit = answer!(unit_of(&state, &org_id).await);
    // Who may upload and whether the unit takes files is known before the body is read.
    if let Err(e) = actor
        .require_unit_admin(&unit.id)
        .and_then(|_| completion::require_editable(&unit))
    {
        return refused(e);
    }
    let data = answer!(read_limited(upload, MAX_FILE_BYTES).await);
    let filename = query.get("filename").map(String::as_str).unwrap_or("");
    match attachments::upload(&state, &actor, &unit, &slot, filename, data).await {
        Ok(a) => json_with(StatusCode::CREATED, attachment_json(&a)),
        Err(e) => refused(e),
    }
}

async fn download_attachment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((org_id, attachment_id)): Path<(String, String)>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let unit = answer!(unit_of(&state, &org_id).await);
    let (a, data) = match attachments::download(&state, &actor, &unit, &attachment_id).await {
        Ok(found) => found,
        Err(e) => return refused(e),
    };
    let mut res = data.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&a.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    // RFC 6266 with the RFC 8187 encoding, so Chinese file names survive.
    let encoded: String = url::form_urlencoded::byte_serialize(a.filename.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"attachment\"; filename*=UTF-8''{encoded}"
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

async fn delete_attachment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((org_id, attachment_id)): Path<(String, String)>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let unit = answer!(unit_of(&state, &org_id).await);
    match attachments::delete(&state, &actor, &unit, &attachment_id).await {
        Ok(()) => no_content(),
        Err(e) => refused(e),
    }
}

async fn suspend(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let b: ReasonBody = answer!(body(&bytes).map_err(bad_request));
    match review::suspend(&state, &actor, &org_id, &b.reason).await {
        Ok(u) => ok_json(unit_json(&u)),
        Err(e) => refused(e),
    }
}

async fn reactivate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org_id): Path<String>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    match review::reactivate(&state, &actor, &org_id).await {
        Ok(u) => ok_json(unit_json(&u)),
        Err(e) => refused(e),
    }
}

async fn unit_subsystems(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org_id): Path<String>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let unit = answer!(unit_of(&state, &org_id).await);
    match subsystems::of_unit(&state, &actor, &unit).await {
        Ok(list) => ok_json(json!({
            "subsystems": list
                .iter()
                .map(|s| json!({ "code": s.code, "name": s.name, "enabled": s.enabled }))
                .collect::<Vec<_>>(),
        })),
        Err(e) => refused(e),
    }
}

#[derive(Deserialize)]
struct SubsystemsBody {
    subsystems: Vec<String>,
}

async fn set_unit_subsystems(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let b: SubsystemsBody = answer!(body(&bytes).map_err(bad_request));
    match subsystems::set_for_unit(&state, &actor, &org_id, &b.subsystems).await {
        Ok(codes) => ok_json(json!({ "subsystems": codes })),
        Err(e) => refused(e),
    }
}

async fn launcher(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    match subsystems::launcher(&state, &actor).await {
        Ok(list) => ok_json(json!({
            "subsystems": list
                .iter()
                .map(|s| json!({
                    "code": s.code,
                    "name": s.name,
                    "initiate_login_uri": s.initiate_login_uri,
                    "granted": s.granted,
                    "how_to_get": s.how_to_get,
                }))
                .collect::<Vec<_>>(),
        })),
        Err(e) => refused(e),
    }
}
