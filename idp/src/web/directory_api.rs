//! The directory API for the portal (docs/directory-api.json, generated from the
//! `#[utoipa::path]` of the handlers here and in the other `*_api.rs`): departments, the
//! review of units, unit search, memberships and grants. Bearer access tokens of the signed-in
//! user; what each caller may see and change is decided in [`crate::directory`]. The bodies
//! are the contract types of [`tongyi_shared::api`].

use std::collections::HashMap;

use axum::{
    body::{Body, Bytes, HttpBody},
    extract::{Path, Query, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post, put},
    Router,
};
use tongyi_shared::{
    api::{
        error::ErrorBody,
        members::{GrantChange, GrantsRequest, Member, Membership},
        subsystems::{EnabledSubsystems, Launcher, LauncherEntry, UnitSubsystem, UnitSubsystems},
        units::{
            self as wire, AttachmentSlot, Attachments, Choices, City, CompletionInput, Department,
            Departments, JoinRequest, Joined, OrgRef, SubmitRequest, UnitDepartment, UnitDetail,
            UnitHit, UnitSearch,
        },
        CursorPage, ReasonRequest,
    },
    claims::RealnameStatus,
    org::{OrgRole, UnitStatus},
};

use super::api_auth::{self, answer, bad_request, body, json_with, no_content, ok_json, refused};
use super::extract::{ApiBody, ApiCaller};
use super::openapi::{
    BadRequest, Conflict, FileBytes, Forbidden, InvalidFields, NotFound, Unauthorized,
};
use super::paging;
use crate::{
    accounts::profile::mask_email,
    directory::{
        self,
        attachments::{self, UploadRefusal, MAX_FILE_BYTES},
        completion::{self, Completion, CITIES, LEGAL_PERSON_NATURES},
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

/// A unit as the contract shows it, or what is wrong with the stored row (a plain value, since
/// a `Response` makes a large error variant).
pub(super) fn unit_body(u: &UnitRecord) -> Result<wire::Unit, String> {
    let status = UnitStatus::parse(&u.status)
        .ok_or_else(|| format!("unit {} has the unknown status {:?}", u.id, u.status))?;
    Ok(wire::Unit {
        id: u.id.clone(),
        name: u.name.clone(),
        uscc: u.uscc.clone(),
        status,
        department: u.department_id.as_ref().map(|id| UnitDepartment {
            id: id.clone(),
            name: u.department_name.clone(),
        }),
        submitted_at: u.submitted_at,
        realname_status: u.realname_status.as_deref().and_then(RealnameStatus::parse),
    })
}

/// A stored value outside the contract: a storage fault, answered 500.
pub(super) fn storage_fault(detail: String) -> Response {
    api_auth::internal(crate::error::AppError::Internal(detail))
}

/// The unit after a transition, or the refusal.
fn unit_answer(result: directory::DirResult<UnitRecord>) -> Response {
    match result {
        Ok(u) => ok_json(answer!(unit_body(&u).map_err(storage_fault))),
        Err(e) => refused(e),
    }
}

fn attachment_body(a: &Attachment) -> wire::Attachment {
    wire::Attachment {
        id: a.id.clone(),
        slot: a.slot.clone(),
        filename: a.filename.clone(),
        content_type: a.content_type.clone(),
        size: a.size,
        uploaded_at: a.created_at,
        download_url: format!("/api/units/{}/attachments/file/{}", a.org_id, a.id),
    }
}

/// The completion as the API shows it: unset values are null.
fn completion_body(c: &Completion) -> wire::Completion {
    let set = |v: &str| (!v.is_empty()).then(|| v.to_owned());
    let address = |a: &completion::Address| wire::Address {
        city: a.city.clone(),
        district: a.district.clone(),
        detail: a.detail.clone(),
    };
    wire::Completion {
        legal_person_nature: set(&c.legal_person_nature),
        entity_type: set(&c.entity_type),
        contact_name: set(&c.contact_name),
        contact_mobile: set(&c.contact_mobile),
        contact_email: set(&c.contact_email),
        department_id: set(&c.department_id),
        registered_address: address(&c.registered_address),
        located_address: address(&c.located_address),
        bank_account_name: set(&c.bank_account_name),
        bank_name: set(&c.bank_name),
        bank_account_number: set(&c.bank_account_number),
        updated_at: c.updated_at,
    }
}

fn detail_body(v: &UnitView) -> Result<UnitDetail, String> {
    Ok(UnitDetail {
        unit: unit_body(&v.unit)?,
        history: v
            .history
            .iter()
            .map(|h| wire::ReviewEntry {
                action: h.action.clone(),
                from: h.from_status.clone(),
                to: h.to_status.clone(),
                actor_account_id: h.actor_account_id.clone(),
                actor_name: v.actor_names.get(&h.actor_account_id).cloned(),
                department_id: h.department_id.clone(),
                reason: h.reason.clone(),
                at: h.at,
            })
            .collect(),
        completion: completion_body(&v.completion),
        attachments: v.attachments.iter().map(attachment_body).collect(),
        editable: v.editable,
        return_reason: v.return_reason.clone(),
    })
}

fn department_body(d: &store::directory::Department) -> Department {
    Department {
        id: d.id.clone(),
        name: d.name.clone(),
    }
}

/// The configured departments (any signed-in user).
#[utoipa::path(get, path = "/api/departments", tag = "units",
    responses(
        (status = 200, description = "The departments", body = Departments),
        (status = 401, response = Unauthorized),
    ))]
async fn departments(State(state): State<AppState>, _caller: ApiCaller) -> Response {
    match directory::department_list(&state).await {
        Ok(list) => ok_json(Departments {
            departments: list.iter().map(department_body).collect(),
        }),
        Err(e) => api_auth::internal(e.into()),
    }
}

/// Units to review (department reviewers; platform admins see every department).
///
/// Paged by keyset: the first page without `after`, then each page's `next` as `after` until
/// `next` is null. Every unit that matched when the walk began is answered exactly once, even
/// when units are submitted between two pages (those may or may not appear). No total: a count
/// of every matching unit would cost what the whole list does.
#[utoipa::path(get, path = "/api/reviews/units", tag = "units",
    params(
        ("state" = Option<String>, Query, description = "registered, pending_review, active, returned, suspended or all (default pending_review)"),
        ("q" = Option<String>, Query, description = "part of the unit name"),
        ("after" = Option<String>, Query, description = "the `next` of the page before (opaque); absent for the first page. A cursor this list did not answer is 400 `invalid_request` with `fields.after`"),
        ("page" = Option<i64>, Query, deprecated, description = "only 1 (the first page) is accepted; anything else is 400 `invalid_request` with `fields.page`", minimum = 1, maximum = 1),
    ),
    responses(
        (status = 200, description = "One page (at most 20 units), newest submission first, ties by id, then the units never submitted by id", body = CursorPage<wire::Unit>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ))]
async fn review_list(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let after = answer!(paging::review_after(&query).map_err(paging::Refused::response));
    let status = query
        .get("state")
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(directory::PENDING_REVIEW);
    let q = query.get("q").map(String::as_str).unwrap_or("");
    match review::list_for_review_after(&state, &actor, status, q, after.as_ref()).await {
        Ok(p) => {
            let items = p.items.iter().map(unit_body).collect::<Result<Vec<_>, _>>();
            let items = answer!(items.map_err(storage_fault));
            ok_json(paging::cursor_page(&p, items, paging::review_cursor))
        }
        Err(e) => refused(e),
    }
}

/// Active units with exactly this full name (any signed-in user).
#[utoipa::path(get, path = "/api/units/search", tag = "units",
    params(("name" = String, Query, description = "the unit's full name")),
    responses(
        (status = 200, description = "Matching active units; empty when none", body = UnitSearch),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
    ))]
async fn search(
    State(state): State<AppState>,
    _caller: ApiCaller,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let name = query.get("name").map(String::as_str).unwrap_or("");
    match membership::search_active(&state, name).await {
        Ok(units) => ok_json(UnitSearch {
            units: units
                .iter()
                .map(|u| UnitHit {
                    id: u.id.clone(),
                    name: u.name.clone(),
                    uscc: u.uscc.as_deref().map(directory::mask_uscc),
                })
                .collect(),
        }),
        Err(e) => refused(e),
    }
}

/// The unit, its status, review history, completion and attachments (its admin, its
/// department's reviewers, platform admins).
#[utoipa::path(get, path = "/api/units/{org_id}", tag = "units",
    params(("org_id" = String, Path, description = "the unit's id")),
    responses(
        (status = 200, description = "The unit", body = UnitDetail),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ))]
async fn unit(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(org_id): Path<String>,
) -> Response {
    match review::view(&state, &actor, &org_id).await {
        Ok(v) => ok_json(answer!(detail_body(&v).map_err(storage_fault))),
        Err(e) => refused(e),
    }
}

/// The unit's admin submits its completion for review (from registered or returned).
///
/// The whole completion is validated (every field required, bank account name equal to the
/// unit name) and every attachment slot must hold at least one file; otherwise 422
/// `invalid_fields` names each missing or wrong field (attachment slots as
/// `attachments.business_licence`, `attachments.risk_commitment`, `attachments.bank_permit`).
/// The department reviewed by is the completion's `department_id`; a `department_id` in the
/// body (kept for older callers) is stored into the completion first. The body may be empty.
#[utoipa::path(post, path = "/api/units/{org_id}/submit", tag = "units",
    params(("org_id" = String, Path, description = "the unit's id")),
    request_body(content = Option<SubmitRequest>),
    responses(
        (status = 200, description = "The unit after the transition", body = wire::Unit),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = InvalidFields),
    ))]
async fn submit(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(org_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let b: SubmitRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        SubmitRequest::default()
    } else {
        answer!(body(&bytes).map_err(bad_request))
    };
    unit_answer(review::submit(&state, &actor, &org_id, b.department_id.as_deref()).await)
}

/// A reviewer of the unit's department approves (pending_review → active).
#[utoipa::path(post, path = "/api/units/{org_id}/approve", tag = "units",
    params(("org_id" = String, Path, description = "the unit's id")),
    responses(
        (status = 200, description = "The unit after the transition", body = wire::Unit),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn approve(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(org_id): Path<String>,
) -> Response {
    unit_answer(review::approve(&state, &actor, &org_id).await)
}

/// A reviewer of the unit's department returns it with a reason (pending_review → returned).
#[utoipa::path(post, path = "/api/units/{org_id}/return", tag = "units",
    params(("org_id" = String, Path, description = "the unit's id")),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "The unit after the transition", body = wire::Unit),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn return_unit(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(org_id): Path<String>,
    ApiBody(b): ApiBody<ReasonRequest>,
) -> Response {
    unit_answer(review::return_unit(&state, &actor, &org_id, &b.reason).await)
}

/// A natural person picks an active unit; the membership becomes pending and every grant is
/// cleared.
#[utoipa::path(post, path = "/api/me/unit", tag = "members",
    request_body = JoinRequest,
    responses(
        (status = 200, description = "Pending membership", body = Joined),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn join(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    ApiBody(b): ApiBody<JoinRequest>,
) -> Response {
    match membership::join(&state, &actor, &b.org_id).await {
        Ok(u) => ok_json(Joined {
            org: OrgRef {
                id: u.id,
                name: u.name,
            },
            membership: OrgRole::Pending,
        }),
        Err(e) => refused(e),
    }
}

fn member_body(state: &AppState, m: &MemberRow) -> Member {
    let a = &m.account;
    let open =
        |field, sealed: &Option<String>| sealed.as_deref().and_then(|s| state.pii.open(field, s));
    Member {
        account_id: a.id.clone(),
        username: a.login_name.clone(),
        name: a.display_name.clone(),
        mobile: open(PiiField::Mobile, &a.mobile_sealed)
            .map(|m| tongyi_shared::mask::mask_mobile(&m)),
        email: open(PiiField::Email, &a.email_sealed).map(|e| mask_email(&e)),
        status: a.status.as_str().to_owned(),
        status_label: if a.is_active() {
            "已启用"
        } else {
            "已禁用"
        }
        .to_owned(),
        membership: membership::membership_state(a).and_then(OrgRole::parse),
        grants: m.grants.clone(),
    }
}

/// The unit's members, pending ones included (its admin, platform admins).
///
/// Paged by keyset like the review list: `after` is the `next` of the page before; every
/// member is answered exactly once across the pages, even when members join meanwhile. No
/// total.
#[utoipa::path(get, path = "/api/units/{org_id}/members", tag = "members",
    params(
        ("org_id" = String, Path, description = "the unit's id"),
        ("q" = Option<String>, Query, description = "part of the login name or name"),
        ("after" = Option<String>, Query, description = "the `next` of the page before (opaque); absent for the first page. A cursor this list did not answer is 400 `invalid_request` with `fields.after`"),
        ("page" = Option<i64>, Query, deprecated, description = "only 1 (the first page) is accepted; anything else is 400 `invalid_request` with `fields.page`", minimum = 1, maximum = 1),
    ),
    responses(
        (status = 200, description = "One page (at most 20 members) by login name (case-insensitive)", body = CursorPage<Member>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ))]
async fn members(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(org_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let after = answer!(paging::member_after(&query).map_err(paging::Refused::response));
    let q = query.get("q").map(String::as_str).unwrap_or("");
    match membership::members_after(&state, &actor, &org_id, q, after.as_deref()).await {
        Ok(p) => {
            let items = p.items.iter().map(|m| member_body(&state, m)).collect();
            ok_json(paging::cursor_page(&p, items, |m| {
                paging::member_cursor(&store::accounts::login_key(&m.account.login_name))
            }))
        }
        Err(e) => refused(e),
    }
}

/// The unit's admin accepts a pending member (pending → member).
#[utoipa::path(post, path = "/api/units/{org_id}/members/{account_id}/approve", tag = "members",
    params(
        ("org_id" = String, Path, description = "the unit's id"),
        ("account_id" = String, Path, description = "the member's account id"),
    ),
    responses(
        (status = 200, description = "Accepted", body = Membership),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn approve_member(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path((org_id, account_id)): Path<(String, String)>,
) -> Response {
    match membership::approve(&state, &actor, &org_id, &account_id).await {
        Ok(()) => ok_json(Membership {
            membership: OrgRole::Member,
        }),
        Err(e) => refused(e),
    }
}

/// Sets the member's grants exactly (the unit's admin, platform admins; never one's own).
///
/// Revoking a grant ends the member's sessions at that subsystem at once (back-channel logout,
/// refresh and access tokens at those clients revoked); new tokens carry the new grants. A
/// pending member has no grants.
#[utoipa::path(put, path = "/api/units/{org_id}/members/{account_id}/grants", tag = "members",
    params(
        ("org_id" = String, Path, description = "the unit's id"),
        ("account_id" = String, Path, description = "the member's account id"),
    ),
    request_body = GrantsRequest,
    responses(
        (status = 200, description = "The grants now held, and what changed", body = GrantChange),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn set_grants(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path((org_id, account_id)): Path<(String, String)>,
    ApiBody(b): ApiBody<GrantsRequest>,
) -> Response {
    match membership::set_grants(&state, &actor, &org_id, &account_id, &b.grants).await {
        Ok(c) => ok_json(GrantChange {
            grants: c.grants,
            added: c.added,
            removed: c.removed,
        }),
        Err(e) => refused(e),
    }
}

/// The choice lists of the unit completion form (any signed-in user); `cities` lists a
/// city's districts (none: free text).
#[utoipa::path(get, path = "/api/completion/choices", tag = "completion",
    responses(
        (status = 200, description = "The choices", body = Choices),
        (status = 401, response = Unauthorized),
    ))]
async fn choices(State(state): State<AppState>, _caller: ApiCaller) -> Response {
    let departments = match directory::department_list(&state).await {
        Ok(list) => list,
        Err(e) => return api_auth::internal(e.into()),
    };
    let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    ok_json(Choices {
        legal_person_natures: strings(&LEGAL_PERSON_NATURES),
        entity_types: strings(&completion::entity_type_labels()),
        cities: CITIES
            .iter()
            .map(|(name, districts)| City {
                name: (*name).to_owned(),
                districts: strings(districts),
            })
            .collect(),
        departments: departments.iter().map(department_body).collect(),
        attachment_slots: attachments::SLOTS
            .iter()
            .map(|(slot, label)| AttachmentSlot {
                slot: (*slot).to_owned(),
                label: (*label).to_owned(),
                required: true,
            })
            .collect(),
        max_file_bytes: MAX_FILE_BYTES as u64,
        genders: strings(&GENDERS),
    })
}

/// The unit's admin saves the completion (partial allowed) while the unit is registered or
/// returned.
///
/// Every field is optional on save; a field present and non-empty is checked and refused with
/// a field-level message when wrong. Absent fields keep their stored value; a field sent as ""
/// is cleared. Mobile, email and bank account number are sealed at rest.
#[utoipa::path(put, path = "/api/units/{org_id}/completion", tag = "completion",
    params(("org_id" = String, Path, description = "the unit's id")),
    request_body = CompletionInput,
    responses(
        (status = 200, description = "The unit after saving", body = UnitDetail),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = InvalidFields),
    ))]
async fn save_completion(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(org_id): Path<String>,
    ApiBody(input): ApiBody<CompletionInput>,
) -> Response {
    match review::save_completion(&state, &actor, &org_id, &input).await {
        Ok(v) => ok_json(answer!(detail_body(&v).map_err(storage_fault))),
        Err(e) => refused(e),
    }
}

/// The unit named in the path, or the 404 response.
async fn unit_of(state: &AppState, org_id: &str) -> Result<UnitRecord, Response> {
    review::unit(state, org_id).await.map_err(refused)
}

/// The unit's attachments (its admin, its department's reviewers, platform admins).
#[utoipa::path(get, path = "/api/units/{org_id}/attachments", tag = "completion",
    params(("org_id" = String, Path, description = "the unit's id")),
    responses(
        (status = 200, description = "Every attachment, by slot then upload time", body = Attachments),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ))]
async fn list_attachments(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(org_id): Path<String>,
) -> Response {
    let unit = answer!(unit_of(&state, &org_id).await);
    match attachments::list(&state, &actor, &unit).await {
        Ok(list) => ok_json(Attachments {
            attachments: list.iter().map(attachment_body).collect(),
        }),
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

/// The unit's admin uploads one file into a slot (while registered or returned).
///
/// The request body is the file itself (any Content-Type; the type is decided by the content:
/// PDF, JPEG or PNG). At most 10 MB (10485760 bytes): a larger body is cut off while reading
/// and refused with 413 `file_too_large`. A file whose name ends in .pdf, .jpg, .jpeg or .png
/// must have that content: a `.pdf` that is really a PNG is refused with 415 `type_mismatch`.
/// Other content is 415 `unsupported_type`. The file is sealed at rest; a refused upload
/// stores nothing.
#[utoipa::path(post, path = "/api/units/{org_id}/attachments/{slot}", tag = "completion",
    params(
        ("org_id" = String, Path, description = "the unit's id"),
        ("slot" = String, Path, description = "business_licence, risk_commitment or bank_permit"),
        ("filename" = String, Query, description = "the original file name (shown in lists, used in downloads), 1–200 characters"),
    ),
    request_body(content = inline(FileBytes), content_type = "application/octet-stream", description = "the file"),
    responses(
        (status = 201, description = "Stored", body = wire::Attachment),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, description = "`file_too_large`: more than 10 MB (文件不能超过 10 MB)", body = ErrorBody),
        (status = 415, description = "`unsupported_type` (只能上传 PDF、JPG 或 PNG 文件) or `type_mismatch` (文件内容与扩展名不符)", body = ErrorBody),
    ))]
async fn upload_attachment(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path((org_id, slot)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    upload: Body,
) -> Response {
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
        Ok(a) => json_with(StatusCode::CREATED, attachment_body(&a)),
        Err(e) => refused(e),
    }
}

/// Downloads one attachment (its unit's admin, its department's reviewers, platform admins).
#[utoipa::path(get, path = "/api/units/{org_id}/attachments/file/{attachment_id}", tag = "completion",
    params(
        ("org_id" = String, Path, description = "the unit's id"),
        ("attachment_id" = String, Path, description = "the attachment's id"),
    ),
    responses(
        (status = 200, description = "The file, with its content type and `Content-Disposition: attachment`",
            content(
                (inline(FileBytes) = "application/pdf"),
                (inline(FileBytes) = "image/jpeg"),
                (inline(FileBytes) = "image/png"),
            )),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ))]
async fn download_attachment(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path((org_id, attachment_id)): Path<(String, String)>,
) -> Response {
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

/// The unit's admin deletes an attachment (while registered or returned).
#[utoipa::path(delete, path = "/api/units/{org_id}/attachments/file/{attachment_id}", tag = "completion",
    params(
        ("org_id" = String, Path, description = "the unit's id"),
        ("attachment_id" = String, Path, description = "the attachment's id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn delete_attachment(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path((org_id, attachment_id)): Path<(String, String)>,
) -> Response {
    let unit = answer!(unit_of(&state, &org_id).await);
    match attachments::delete(&state, &actor, &unit, &attachment_id).await {
        Ok(()) => no_content(),
        Err(e) => refused(e),
    }
}

/// A platform admin suspends an active unit (active → suspended).
///
/// New tokens of the unit's accounts carry no grants while it is suspended, and their sessions
/// at every subsystem end at once (back-channel logout). Recorded in the history.
#[utoipa::path(post, path = "/api/units/{org_id}/suspend", tag = "units",
    params(("org_id" = String, Path, description = "the unit's id")),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "The unit after the transition", body = wire::Unit),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn suspend(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(org_id): Path<String>,
    ApiBody(b): ApiBody<ReasonRequest>,
) -> Response {
    unit_answer(review::suspend(&state, &actor, &org_id, &b.reason).await)
}

/// A platform admin reactivates a suspended unit (suspended → active).
#[utoipa::path(post, path = "/api/units/{org_id}/reactivate", tag = "units",
    params(("org_id" = String, Path, description = "the unit's id")),
    responses(
        (status = 200, description = "The unit after the transition", body = wire::Unit),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn reactivate(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(org_id): Path<String>,
) -> Response {
    unit_answer(review::reactivate(&state, &actor, &org_id).await)
}

/// The subsystems enabled for the unit (its admin, its department's reviewers, platform
/// admins).
#[utoipa::path(get, path = "/api/units/{org_id}/subsystems", tag = "subsystems",
    params(("org_id" = String, Path, description = "the unit's id")),
    responses(
        (status = 200, description = "Every registered subsystem and whether it is enabled for the unit", body = UnitSubsystems),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ))]
async fn unit_subsystems(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(org_id): Path<String>,
) -> Response {
    let unit = answer!(unit_of(&state, &org_id).await);
    match subsystems::of_unit(&state, &actor, &unit).await {
        Ok(list) => ok_json(UnitSubsystems {
            subsystems: list
                .into_iter()
                .map(|s| UnitSubsystem {
                    code: s.code,
                    name: s.name,
                    enabled: s.enabled,
                })
                .collect(),
        }),
        Err(e) => refused(e),
    }
}

/// A platform admin sets the subsystems enabled for the unit exactly.
///
/// The enabled subsystems are the grants of the unit's own admin account(s). On department
/// approval every registered subsystem is enabled. Disabling one also removes it from every
/// member (back-channel logout of those sessions).
#[utoipa::path(put, path = "/api/units/{org_id}/subsystems", tag = "subsystems",
    params(("org_id" = String, Path, description = "the unit's id")),
    request_body = EnabledSubsystems,
    responses(
        (status = 200, description = "Now enabled", body = EnabledSubsystems),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ))]
async fn set_unit_subsystems(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(org_id): Path<String>,
    ApiBody(b): ApiBody<EnabledSubsystems>,
) -> Response {
    match subsystems::set_for_unit(&state, &actor, &org_id, &b.subsystems).await {
        Ok(codes) => ok_json(EnabledSubsystems { subsystems: codes }),
        Err(e) => refused(e),
    }
}

/// The registered subsystems for the launcher (any signed-in user).
#[utoipa::path(get, path = "/api/subsystems", tag = "subsystems",
    responses(
        (status = 200, description = "Subsystem clients (clients with a subsystem code, enabled), by code", body = Launcher),
        (status = 401, response = Unauthorized),
    ))]
async fn launcher(State(state): State<AppState>, ApiCaller(actor): ApiCaller) -> Response {
    match subsystems::launcher(&state, &actor).await {
        Ok(list) => ok_json(Launcher {
            subsystems: list
                .into_iter()
                .map(|s| LauncherEntry {
                    code: s.code,
                    name: s.name,
                    initiate_login_uri: s.initiate_login_uri,
                    granted: s.granted,
                    how_to_get: s.how_to_get.map(str::to_owned),
                })
                .collect(),
        }),
        Err(e) => refused(e),
    }
}
