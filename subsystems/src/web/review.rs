//! The bureau's pages (科技局审批): the declarations submitted to it, approve, return with a
//! reason. Only accounts with the subsystem's reviewer role get here.

use askama::Template;
use axum::{
    extract::{Path, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
    Form,
};
use serde::Deserialize;

use super::{
    declarant::{refused, render_view, visible, CsrfForm},
    views::{self, ListQuery, PagerView, RowView, StateOption},
    User,
};
use crate::{
    clock,
    declaration::{decide, Action, State as DeclarationState, WorkflowError},
    error::Error,
    state::AppState,
    store::declarations,
};

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage<'a> {
    system_name: &'a str,
    list_path: &'static str,
    query: &'a ListQuery,
    state_options: Vec<StateOption>,
    rows: Vec<RowView>,
    pager: PagerView,
}

/// The states the bureau's list filters by (it never holds drafts).
const REVIEW_STATES: [DeclarationState; 3] = [
    DeclarationState::Submitted,
    DeclarationState::Returned,
    DeclarationState::Approved,
];

async fn require_reviewer(
    state: &AppState,
    headers: &HeaderMap,
    return_to: &str,
) -> Result<User, Error> {
    let user = User::require(state, headers, return_to).await?;
    if user.reviewer {
        Ok(user)
    } else {
        Err(Error::NotFound)
    }
}

/// `GET /review?unit=…&state=…&page=…`: the list, searched by a part of the unit's name and
/// by state, 20 a page.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, Error> {
    let _user = require_reviewer(&state, &headers, "/review").await?;
    let app = &state.config;
    let query = ListQuery::parse(&pairs, &REVIEW_STATES);
    let found =
        declarations::list_for_review(&app.db, query.filter(), query.page_request()).await?;
    let page = ReviewPage {
        system_name: &app.config.name,
        list_path: "/review",
        state_options: views::state_options(&REVIEW_STATES, query.state),
        rows: found.rows.iter().map(views::row).collect(),
        pager: views::pager("/review", &query, &found),
        query: &query,
    };
    Ok(state.rp.html(axum::http::StatusCode::OK, page.render()?))
}

pub async fn approve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Error> {
    let user = require_reviewer(&state, &headers, &format!("/declarations/{id}")).await?;
    user.check_csrf(form.csrf.as_deref())?;
    let d = visible(&state, &user, &id).await?;
    let to = decide(d.state, &d.owner_sub, user.actor(), Action::Approve).map_err(refused)?;
    if !declarations::transition(
        &state.config.db,
        &id,
        d.state,
        to,
        user.who(),
        None,
        clock::now(),
    )
    .await?
    {
        return Err(Error::Conflict);
    }
    tracing::info!(declaration = %id, "declaration approved");
    Ok(Redirect::to(&format!("/declarations/{id}?notice=approved")).into_response())
}

#[derive(Deserialize)]
pub struct ReturnForm {
    csrf: Option<String>,
    #[serde(default)]
    reason: String,
}

pub async fn send_back(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ReturnForm>,
) -> Result<Response, Error> {
    let user = require_reviewer(&state, &headers, &format!("/declarations/{id}")).await?;
    user.check_csrf(form.csrf.as_deref())?;
    let d = visible(&state, &user, &id).await?;
    let reason = form.reason.trim();
    let to = match decide(d.state, &d.owner_sub, user.actor(), Action::Return(reason)) {
        Ok(to) => to,
        Err(WorkflowError::ReasonRequired) => {
            return render_view(&state, &user, &d, None, Some("请填写退回原因"), reason).await
        }
        Err(WorkflowError::ReasonTooLong) => {
            return render_view(
                &state,
                &user,
                &d,
                None,
                Some("退回原因最多500个字符"),
                reason,
            )
            .await
        }
        Err(e) => return Err(refused(e)),
    };
    if !declarations::transition(
        &state.config.db,
        &id,
        d.state,
        to,
        user.who(),
        Some(reason),
        clock::now(),
    )
    .await?
    {
        return Err(Error::Conflict);
    }
    tracing::info!(declaration = %id, "declaration returned");
    Ok(Redirect::to(&format!("/declarations/{id}?notice=returned")).into_response())
}
