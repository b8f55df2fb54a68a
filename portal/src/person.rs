//! 个人信息补全: a natural person's profile fields, and its unit: searched by full name among
//! active units, picked, and then pending the unit admin's authorization. Picking another unit
//! later needs that unit's authorization again (the IdP clears the grants).

use askama::Template;
use axum::{
    body::Bytes,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tongyi_shared::{claims::AccountType, rp::RpSession};

use crate::{
    directory::{PersonProfile, ProfileInput, UnitHit},
    error::Error,
    forms::{FieldErrors, FormData},
    pages::valid_id,
    signed_in::{Nav, SignedIn},
    state::AppState,
};

const FIELDS: [&str; 4] = ["gender", "phone", "position", "title"];

#[derive(Debug, Default, Deserialize)]
pub struct PersonQuery {
    /// The full unit name searched for.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// What the form shows in its inputs.
#[derive(Default)]
struct Values {
    gender: String,
    phone: String,
    position: String,
    title: String,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    nav: Nav,
    profile: Option<PersonProfile>,
    values: Values,
    errors: FieldErrors,
    other_errors: Vec<String>,
    org: Option<(String, String)>,
    search: Option<String>,
    hits: Vec<UnitHit>,
    notice: Option<&'static str>,
    /// The IdP's account console, where the reserved email is set (the portal does not keep it).
    email_url: String,
}

fn natural_person(session: &RpSession) -> Result<(), Error> {
    match session.claims.account_type {
        Some(AccountType::NaturalPerson) => Ok(()),
        _ => Err(Error::Forbidden),
    }
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    session: &RpSession,
    values: Option<Values>,
    errors: FieldErrors,
    search: Option<String>,
    notice: Option<&'static str>,
) -> Result<Response, Error> {
    let api = state.config.directory.as_user(&state.rp, session);
    let profile = match api.profile().await {
        Ok(p) => Some(p),
        // An IdP without the profile endpoint: the unit part still works.
        Err(Error::Api(r)) if r.status == 404 || r.status == 405 => None,
        Err(e) => return Err(e),
    };
    let values = values.unwrap_or_else(|| match &profile {
        Some(p) => Values {
            gender: p.gender.clone().unwrap_or_default(),
            phone: p.phone.clone().unwrap_or_default(),
            position: p.position.clone().unwrap_or_default(),
            title: p.title.clone().unwrap_or_default(),
        },
        None => Values::default(),
    });
    let hits = match search.as_deref() {
        Some(name) if !name.is_empty() => api.search_units(name).await?,
        _ => Vec::new(),
    };
    let org = session.claims.org.as_ref().map(|o| {
        let state = match o.role.as_str() {
            "pending" => "待单位管理员授权",
            "admin" => "单位管理员",
            _ => "已加入",
        };
        (o.name.clone(), state.to_owned())
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let other_errors = errors
        .others(&FIELDS)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let page = PersonPage {
        nav: Nav::for_session(session, "/complete"),
        profile,
        values,
        errors,
        other_errors,
        org,
        search,
        hits,
        notice,
        email_url: format!(
            "{}/account/edit",
            state.config.config.rp.issuer.trim_end_matches('/')
        ),
    };
    Ok(state.rp.html(status, page.render()?))
}

pub async fn show(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(q): Query<PersonQuery>,
) -> Result<Response, Error> {
    natural_person(&session)?;
    let search = q
        .name
        .map(|n| n.trim().chars().take(100).collect::<String>());
    let notice = match q.done.as_deref() {
        Some("profile") => Some("个人信息已保存。"),
        Some("joined") => Some("已申请加入该单位，请等待单位管理员授权。"),
        _ => None,
    };
    render(
        &state,
        &session,
        None,
        FieldErrors::default(),
        search,
        notice,
    )
    .await
}

pub async fn save(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    body: Bytes,
) -> Result<Response, Error> {
    natural_person(&session)?;
    let form = FormData::parse_checked(&body, &session)?;
    let values = Values {
        gender: form.get("gender").to_owned(),
        phone: form.get("phone").to_owned(),
        position: form.get("position").to_owned(),
        title: form.get("title").to_owned(),
    };
    let mut errors = FieldErrors::default();
    if !["男", "女"].contains(&values.gender.as_str()) {
        errors.add("gender", "请选择性别");
    }
    if values.position.is_empty() {
        errors.add("position", "请填写职务");
    }
    if values.title.is_empty() {
        errors.add("title", "请填写职称");
    }
    if errors.is_empty() {
        let api = state.config.directory.as_user(&state.rp, &session);
        let input = ProfileInput {
            gender: values.gender.clone(),
            phone: values.phone.clone(),
            position: values.position.clone(),
            title: values.title.clone(),
        };
        match api.save_profile(&input).await {
            Ok(_) => return Ok(Redirect::to("/complete/person?done=profile").into_response()),
            Err(Error::Api(r)) if r.status == 422 => errors = FieldErrors::from_api(&r.fields),
            Err(e) => return Err(e),
        }
    }
    render(&state, &session, Some(values), errors, None, None).await
}

pub async fn pick_unit(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    body: Bytes,
) -> Result<Response, Error> {
    natural_person(&session)?;
    let form = FormData::parse_checked(&body, &session)?;
    let org_id = form.get("org_id");
    if !valid_id(org_id) {
        return Err(Error::BadRequest("org_id"));
    }
    let api = state.config.directory.as_user(&state.rp, &session);
    api.join_unit(org_id).await?;
    // The claims change (org, pending, no grants): show them at once, not after the refresh.
    state.rp.refresh_session(&session).await?;
    Ok(Redirect::to("/complete/person?done=joined").into_response())
}
