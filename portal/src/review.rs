//! 局级主管部门审核: a department's reviewers list the units that chose it, open one with its
//! completion and attachments, and approve it or return it with a reason. The IdP decides which
//! units a reviewer may see and decide (its own department's; a platform admin's all).

use askama::Template;
use axum::{
    body::{Body, Bytes},
    extract::{Path, Query, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    directory::{UnitDetail, UnitPage},
    error::Error,
    forms::{FieldErrors, FormData},
    pages::{fmt_time, status_label, valid_id, Pager, Position},
    signed_in::{Account, Nav, SignedIn},
    state::AppState,
};

/// The review states a reviewer can filter by, with their labels.
const FILTERS: [(&str, &str); 5] = [
    ("pending_review", "待审核"),
    ("active", "已通过"),
    ("returned", "已退回"),
    ("registered", "未提交"),
    ("all", "全部"),
];

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    q: String,
    /// The IdP's cursor of this page and those of the pages before ([`Position`]).
    #[serde(default)]
    after: String,
    #[serde(default)]
    back: String,
}

struct Row {
    id: String,
    name: String,
    uscc: String,
    department: String,
    submitted: String,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "reviews.html")]
struct ListPage {
    nav: Nav,
    filters: Vec<(&'static str, &'static str)>,
    state: String,
    q: String,
    rows: Vec<Row>,
    pager: Pager,
}

fn require_reviewer(session: &tongyi_shared::rp::RpSession) -> Result<(), Error> {
    if Account::of(session).is_reviewer() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

pub async fn list(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Response, Error> {
    require_reviewer(&session)?;
    let filter = FILTERS
        .iter()
        .find(|(s, _)| *s == q.state)
        .map(|(s, _)| *s)
        .unwrap_or("pending_review");
    let search = q.q.trim().chars().take(100).collect::<String>();
    let at = Position::parse(&q.after, &q.back).ok_or(Error::BadRequest("bad page cursor"))?;
    let api = state.config.directory.as_user(&state.rp, &session);
    let UnitPage { items, next, .. } = api.review_list(filter, &search, at.after()).await?;
    let rows = items
        .into_iter()
        .map(|u| Row {
            status: status_label(u.status.as_str()),
            id: u.id,
            name: u.name,
            uscc: u.uscc.unwrap_or_default(),
            department: u.department.and_then(|d| d.name).unwrap_or_default(),
            submitted: u.submitted_at.map(fmt_time).unwrap_or_default(),
        })
        .collect();
    let pager = Pager::new(
        &at,
        next.as_deref(),
        &format!(
            "/reviews?state={filter}&q={}",
            url::form_urlencoded::byte_serialize(search.as_bytes()).collect::<String>()
        ),
    );
    let page = ListPage {
        nav: Nav::for_session(&session, "/reviews"),
        filters: FILTERS.to_vec(),
        state: filter.to_owned(),
        q: search,
        rows,
        pager,
    };
    Ok(state.rp.html(StatusCode::OK, page.render()?))
}

#[derive(Template)]
#[template(path = "review_detail.html")]
struct DetailPage {
    nav: Nav,
    unit: UnitDetail,
    status: &'static str,
    department: String,
    history: Vec<(String, &'static str, String, String)>,
    reason: String,
    errors: FieldErrors,
    done: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn render_detail(
    state: &AppState,
    session: &tongyi_shared::rp::RpSession,
    org_id: &str,
    reason: String,
    errors: FieldErrors,
    done: Option<&'static str>,
) -> Result<Response, Error> {
    let api = state.config.directory.as_user(&state.rp, session);
    let unit = api.unit(org_id).await?;
    let history = unit
        .history
        .iter()
        .map(|h| {
            (
                fmt_time(h.at),
                action_label(&h.action),
                h.actor_name
                    .clone()
                    .unwrap_or_else(|| h.actor_account_id.clone()),
                h.reason.clone().unwrap_or_default(),
            )
        })
        .collect();
    let status_code = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = DetailPage {
        nav: Nav::for_session(session, "/reviews"),
        status: status_label(unit.unit.status.as_str()),
        department: unit
            .unit
            .department
            .as_ref()
            .and_then(|d| d.name.clone())
            .unwrap_or_default(),
        unit,
        history,
        reason,
        errors,
        done,
    };
    Ok(state.rp.html(status_code, page.render()?))
}

fn action_label(action: &str) -> &'static str {
    match action {
        "submit" => "提交审核",
        "approve" => "审核通过",
        "return" => "退回",
        "suspend" => "暂停",
        "reactivate" => "恢复",
        _ => "其他",
    }
}

pub async fn detail(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(org_id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Result<Response, Error> {
    require_reviewer(&session)?;
    if !valid_id(&org_id) {
        return Err(Error::NotFound);
    }
    let done = match q.done.as_deref() {
        Some("approved") => Some("已审核通过。"),
        Some("returned") => Some("已退回，单位将看到退回原因。"),
        _ => None,
    };
    render_detail(
        &state,
        &session,
        &org_id,
        String::new(),
        FieldErrors::default(),
        done,
    )
    .await
}

pub async fn approve(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(org_id): Path<String>,
    body: Bytes,
) -> Result<Response, Error> {
    require_reviewer(&session)?;
    FormData::parse_checked(&body, &session)?;
    if !valid_id(&org_id) {
        return Err(Error::NotFound);
    }
    let api = state.config.directory.as_user(&state.rp, &session);
    api.approve_unit(&org_id).await?;
    Ok(Redirect::to(&format!("/reviews/{org_id}?done=approved")).into_response())
}

pub async fn return_unit(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(org_id): Path<String>,
    body: Bytes,
) -> Result<Response, Error> {
    require_reviewer(&session)?;
    let form = FormData::parse_checked(&body, &session)?;
    if !valid_id(&org_id) {
        return Err(Error::NotFound);
    }
    let reason = form.get("reason").to_owned();
    let mut errors = FieldErrors::default();
    if reason.is_empty() {
        errors.add("reason", "请填写退回原因");
    } else if reason.chars().count() > 500 {
        errors.add("reason", "退回原因不能超过 500 个字");
    }
    if errors.is_empty() {
        let api = state.config.directory.as_user(&state.rp, &session);
        match api.return_unit(&org_id, &reason).await {
            Ok(_) => {
                return Ok(Redirect::to(&format!("/reviews/{org_id}?done=returned")).into_response())
            }
            Err(Error::Api(r)) if r.status == 400 => errors.add("reason", "请填写退回原因"),
            Err(e) => return Err(e),
        }
    }
    render_detail(&state, &session, &org_id, reason, errors, None).await
}

/// An attachment of a unit, fetched with the reviewer's (or the unit admin's) token and passed
/// on as it streams; the IdP decides whether this user may read it.
pub async fn attachment(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((org_id, attachment_id)): Path<(String, String)>,
) -> Result<Response, Error> {
    if !valid_id(&org_id) || !valid_id(&attachment_id) {
        return Err(Error::NotFound);
    }
    let api = state.config.directory.as_user(&state.rp, &session);
    let upstream = api.attachment_file(&org_id, &attachment_id).await?;
    let passed: Vec<(header::HeaderName, HeaderValue)> = [
        header::CONTENT_TYPE,
        header::CONTENT_DISPOSITION,
        header::CONTENT_LENGTH,
    ]
    .into_iter()
    .filter_map(|name| upstream.headers().get(&name).cloned().map(|v| (name, v)))
    .collect();
    let mut res = Response::new(Body::from_stream(upstream.bytes_stream()));
    let h = res.headers_mut();
    for (name, value) in passed {
        h.insert(name, value);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(res)
}
