//! The person-side API for the portal (docs/directory-api.yaml): the signed-in person's
//! profile, its expert application and the unit it registers; the platform admin's review of
//! expert applications. Decisions live in [`crate::directory`].

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    routing::{get, post},
    Router,
};
use serde_json::{json, Value};
use tongyi_shared::mask::mask_mobile;

use super::api_auth::{
    actor, answer, bad_request, body, json_with, ok_json, page_json, page_of, refused,
};
use super::directory_api::ReasonBody;
use crate::{
    accounts::profile::mask_email,
    directory::{
        expert::{self, ExpertInput, ExpertView},
        membership,
        person::{self, ProfileInput, ProfileView, UnitInput},
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

fn profile_json(state: &AppState, actor: &Actor, v: &ProfileView) -> Value {
    let a = &actor.account;
    let (mobile, email) = contact(state, a);
    let p = &v.profile;
    json!({
        "account_id": a.id,
        "username": a.login_name,
        "name": a.display_name,
        "gender": p.gender,
        "id_type": v.id_type,
        "id_number": v.id_number,
        "mobile": mobile,
        "email": email,
        "phone": p.phone,
        "position": p.position,
        "title": p.title,
        "complete": p.gender.is_some() && p.position.is_some() && p.title.is_some(),
        "org": a.org.as_ref().map(|o| json!({
            "id": o.id,
            "name": o.name,
            "status": o.status,
            "membership": membership::membership_state(a),
        })),
    })
}

async fn profile(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    match person::profile(&state, &actor).await {
        Ok(v) => ok_json(profile_json(&state, &actor, &v)),
        Err(e) => refused(e),
    }
}

async fn save_profile(State(state): State<AppState>, headers: HeaderMap, bytes: Bytes) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let input: ProfileInput = answer!(body(&bytes).map_err(bad_request));
    match person::save_profile(&state, &actor, &input).await {
        Ok(v) => ok_json(profile_json(&state, &actor, &v)),
        Err(e) => refused(e),
    }
}

async fn register_unit(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let input: UnitInput = answer!(body(&bytes).map_err(bad_request));
    match person::register_unit(&state, &actor, &input).await {
        Ok(u) => json_with(
            StatusCode::CREATED,
            json!({
                "id": u.id,
                "name": u.name,
                "uscc": u.uscc,
                "status": u.status,
                "department": null,
                "submitted_at": u.submitted_at,
            }),
        ),
        Err(e) => refused(e),
    }
}

fn expert_json(state: &AppState, v: &ExpertView, id_number: Option<String>) -> Value {
    let a = &v.account;
    let (mobile, account_email) = contact(state, a);
    let app = v.application.as_ref();
    let email = app
        .and_then(|x| x.email_sealed.as_deref())
        .and_then(|s| state.pii.open(PiiField::Email, s))
        .map(|e| mask_email(&e))
        .or(account_email);
    json!({
        "account_id": a.id,
        "username": a.login_name,
        "name": a.display_name,
        "gender": app.map(|x| x.gender.as_str()),
        "id_number": id_number,
        "mobile": mobile,
        "email": email,
        "institution": app.map(|x| x.institution.as_str()),
        "position": app.map(|x| x.position.as_str()),
        "title": app.map(|x| x.title.as_str()),
        "fields": app.map(|x| x.fields.clone()).unwrap_or_default(),
        "status": app.map_or("none", |x| x.status.as_str()),
        "reason": app.and_then(|x| x.reason.as_deref()),
        "submitted_at": app.map(|x| x.submitted_at),
        "decided_at": app.and_then(|x| x.decided_at),
        "decided_by": app.and_then(|x| x.decided_by.as_deref()),
    })
}

async fn masked_id(state: &AppState, account_id: &str) -> Option<String> {
    crate::store::identities::person_identity(&state.db, &state.pii, account_id)
        .await
        .ok()
        .flatten()
        .map(|i| tongyi_shared::mask::mask_id_number(&i.id_number))
}

async fn expert_answer(state: &AppState, v: crate::directory::DirResult<ExpertView>) -> Response {
    match v {
        Ok(v) => {
            let id = masked_id(state, &v.account.id).await;
            ok_json(expert_json(state, &v, id))
        }
        Err(e) => refused(e),
    }
}

async fn my_expert(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let v = expert::mine(&state, &actor).await;
    expert_answer(&state, v).await
}

async fn submit_expert(
    State(state): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let input: ExpertInput = answer!(body(&bytes).map_err(bad_request));
    let v = expert::submit(&state, &actor, &input).await;
    expert_answer(&state, v).await
}

async fn experts(
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
        .unwrap_or(expert::PENDING);
    match expert::list(&state, &actor, status, page).await {
        Ok(p) => {
            let mut items = Vec::with_capacity(p.items.len());
            for v in &p.items {
                let id = masked_id(&state, &v.account.id).await;
                items.push(expert_json(&state, v, id));
            }
            ok_json(page_json(items, p.total, page))
        }
        Err(e) => refused(e),
    }
}

async fn approve_expert(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(account_id): Path<String>,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let v = expert::decide(&state, &actor, &account_id, None).await;
    expert_answer(&state, v).await
}

async fn reject_expert(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(account_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let actor = answer!(actor(&state, &headers).await);
    let b: ReasonBody = answer!(body(&bytes).map_err(bad_request));
    let v = expert::decide(&state, &actor, &account_id, Some(&b.reason)).await;
    expert_answer(&state, v).await
}
