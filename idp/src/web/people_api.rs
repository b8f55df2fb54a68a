//! The person-side API for the portal (docs/directory-api.json): the signed-in person's
//! profile, its expert application and the unit it registers; the platform admin's review of
//! expert applications. Decisions live in [`crate::directory`].

use std::collections::HashMap;

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
    routing::{get, post},
    Router,
};
use tongyi_shared::{
    api::{
        people::{
            ExpertApplication, ExpertInput, PersonProfile, ProfileInput, ProfileOrg,
            UnitRegistration,
        },
        units::Unit,
        Page, ReasonRequest,
    },
    mask::mask_mobile,
};

use super::api_auth::{answer, bad_request, json_with, ok_json, page_of, page_of_items, refused};
use super::directory_api::{storage_fault, unit_body};
use super::extract::{ApiBody, ApiCaller};
use super::openapi::{BadRequest, Conflict, Forbidden, InvalidFields, NotFound, Unauthorized};
use crate::{
    accounts::profile::mask_email,
    directory::{
        expert::{self, ExpertView},
        person::{self, ProfileView},
        Actor,
    },
    pii::PiiField,
    state::AppState,
    store::accounts::Account,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/me/profile", get(profile).put(save_profile))
        .route("/api/me/unit-registration", post(register_unit))
        .route("/api/me/expert", get(my_expert).post(submit_expert))
        .route("/api/admin/experts", get(experts))
        .route(
            "/api/admin/experts/{account_id}/approve",
            post(approve_expert),
        )
        .route(
            "/api/admin/experts/{account_id}/reject",
            post(reject_expert),
        )
}

/// The account's reserved mobile and email, masked.
fn contact(state: &AppState, a: &Account) -> (Option<String>, Option<String>) {
    let open =
        |field, sealed: &Option<String>| sealed.as_deref().and_then(|s| state.pii.open(field, s));
    (
        open(PiiField::Mobile, &a.mobile_sealed).map(|m| mask_mobile(&m)),
        open(PiiField::Email, &a.email_sealed).map(|e| mask_email(&e)),
    )
}

fn profile_body(state: &AppState, actor: &Actor, v: &ProfileView) -> PersonProfile {
    let a = &actor.account;
    let (mobile, email) = contact(state, a);
    let p = &v.profile;
    PersonProfile {
        account_id: a.id.clone(),
        username: a.login_name.clone(),
        name: a.display_name.clone(),
        gender: p.gender.clone(),
        id_type: v.id_type.map(str::to_owned),
        id_number: v.id_number.clone(),
        mobile,
        email,
        phone: p.phone.clone(),
        position: p.position.clone(),
        title: p.title.clone(),
        complete: p.gender.is_some() && p.position.is_some() && p.title.is_some(),
        // The membership is the account's role in the unit it belongs to.
        org: a.org.as_ref().map(|o| ProfileOrg {
            id: o.id.clone(),
            name: o.name.clone(),
            status: o.status,
            membership: o.role,
        }),
    }
}

/// The signed-in natural person's profile (个人信息补全); name, ID number and mobile come from
/// the account (masked, read only here).
#[utoipa::path(get, path = "/api/me/profile", tag = "people",
    responses(
        (status = 200, description = "The profile", body = PersonProfile),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ))]
async fn profile(State(state): State<AppState>, ApiCaller(actor): ApiCaller) -> Response {
    match person::profile(&state, &actor).await {
        Ok(v) => ok_json(profile_body(&state, &actor, &v)),
        Err(e) => refused(e),
    }
}

/// Saves the editable profile fields (all but the phone required).
#[utoipa::path(put, path = "/api/me/profile", tag = "people",
    request_body = ProfileInput,
    responses(
        (status = 200, description = "The profile after saving", body = PersonProfile),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = InvalidFields),
    ))]
async fn save_profile(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    ApiBody(input): ApiBody<ProfileInput>,
) -> Response {
    match person::save_profile(&state, &actor, &input).await {
        Ok(v) => ok_json(profile_body(&state, &actor, &v)),
        Err(e) => refused(e),
    }
}

/// A natural person registers its unit (Zhengzhou model) and becomes its admin.
///
/// Creates a unit in `registered` with the caller as its admin (`org.role = admin`); from
/// there the same completion and department review as a legal-entity account. Refused when
/// the caller already belongs to a unit (409) or the name or USCC is taken (422).
#[utoipa::path(post, path = "/api/me/unit-registration", tag = "people",
    request_body = UnitRegistration,
    responses(
        (status = 201, description = "The unit, registered", body = Unit),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = InvalidFields),
    ))]
async fn register_unit(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    ApiBody(input): ApiBody<UnitRegistration>,
) -> Response {
    match person::register_unit(&state, &actor, &input).await {
        Ok(u) => {
            let unit = Unit {
                // A new unit has chosen no department yet.
                department: None,
                ..answer!(unit_body(&u).map_err(storage_fault))
            };
            json_with(StatusCode::CREATED, unit)
        }
        Err(e) => refused(e),
    }
}

fn expert_body(state: &AppState, v: &ExpertView, id_number: Option<String>) -> ExpertApplication {
    let a = &v.account;
    let (mobile, account_email) = contact(state, a);
    let app = v.application.as_ref();
    let email = app
        .and_then(|x| x.email_sealed.as_deref())
        .and_then(|s| state.pii.open(PiiField::Email, s))
        .map(|e| mask_email(&e))
        .or(account_email);
    ExpertApplication {
        account_id: a.id.clone(),
        username: a.login_name.clone(),
        name: a.display_name.clone(),
        gender: app.map(|x| x.gender.clone()),
        id_number,
        mobile,
        email,
        institution: app.map(|x| x.institution.clone()),
        position: app.map(|x| x.position.clone()),
        title: app.map(|x| x.title.clone()),
        fields: app.map(|x| x.fields.clone()).unwrap_or_default(),
        status: app.map_or("none", |x| x.status.as_str()).to_owned(),
        reason: app.and_then(|x| x.reason.clone()),
        submitted_at: app.map(|x| x.submitted_at),
        decided_at: app.and_then(|x| x.decided_at),
        decided_by: app.and_then(|x| x.decided_by.clone()),
    }
}

async fn masked_id(state: &AppState, account_id: &str) -> Option<String> {
    crate::accounts::console::identity(state, account_id)
        .await
        .ok()
        .flatten()
        .map(|i| tongyi_shared::mask::mask_id_number(&i.id_number))
}

async fn expert_answer(state: &AppState, v: crate::directory::DirResult<ExpertView>) -> Response {
    match v {
        Ok(v) => {
            let id = masked_id(state, &v.account.id).await;
            ok_json(expert_body(state, &v, id))
        }
        Err(e) => refused(e),
    }
}

/// The signed-in natural person's expert application (评审专家信息完善).
#[utoipa::path(get, path = "/api/me/expert", tag = "people",
    responses(
        (status = 200, description = "The application; `status` none when never submitted", body = ExpertApplication),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ))]
async fn my_expert(State(state): State<AppState>, ApiCaller(actor): ApiCaller) -> Response {
    let v = expert::mine(&state, &actor).await;
    expert_answer(&state, v).await
}

/// Submits the expert application (from none or rejected) → pending.
#[utoipa::path(post, path = "/api/me/expert", tag = "people",
    request_body = ExpertInput,
    responses(
        (status = 200, description = "Pending", body = ExpertApplication),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = InvalidFields),
    ))]
async fn submit_expert(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    ApiBody(input): ApiBody<ExpertInput>,
) -> Response {
    let v = expert::submit(&state, &actor, &input).await;
    expert_answer(&state, v).await
}

/// Expert applications (platform admins).
#[utoipa::path(get, path = "/api/admin/experts", tag = "people",
    params(
        ("state" = Option<String>, Query, description = "pending, approved or rejected (default pending)"),
        ("page" = Option<i64>, Query, description = "1-based page number (default 1)", minimum = 1),
    ),
    responses(
        (status = 200, description = "One page (20), oldest submission first", body = Page<ExpertApplication>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ))]
async fn experts(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let page = answer!(page_of(&query).map_err(bad_request));
    let status = query
        .get("state")
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(expert::PENDING);
    match expert::list(&state, &actor, status, page).await {
        Ok(p) => {
            let mut items = Vec::with_capacity(p.items.len());
            for v in &p.items {
                let id = masked_id(&state, &v.account.id).await;
                items.push(expert_body(&state, v, id));
            }
            ok_json(page_of_items(items, p.total, page))
        }
        Err(e) => refused(e),
    }
}

/// Approves a pending application; the account gets the role `expert` (in the `roles` claim
/// of new tokens).
#[utoipa::path(post, path = "/api/admin/experts/{account_id}/approve", tag = "people",
    params(("account_id" = String, Path, description = "the applicant's account id")),
    responses(
        (status = 200, description = "Approved", body = ExpertApplication),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn approve_expert(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(account_id): Path<String>,
) -> Response {
    let v = expert::decide(&state, &actor, &account_id, None).await;
    expert_answer(&state, v).await
}

/// Rejects a pending application with a reason.
#[utoipa::path(post, path = "/api/admin/experts/{account_id}/reject", tag = "people",
    params(("account_id" = String, Path, description = "the applicant's account id")),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "Rejected", body = ExpertApplication),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn reject_expert(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(account_id): Path<String>,
    ApiBody(b): ApiBody<ReasonRequest>,
) -> Response {
    let v = expert::decide(&state, &actor, &account_id, Some(&b.reason)).await;
    expert_answer(&state, v).await
}
