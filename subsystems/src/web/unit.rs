//! 本单位申报 (seed 002: 登录法人账号后，可以看到本单位全部个人用户的信息): a unit's admin
//! lists every declaration of its unit, with its declarant and state, and opens each one
//! read-only (see [`super::declarant::visible`]); only the declarant edits.

use askama::Template;
use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};

use super::{
    views::{self, ListQuery, PagerView, RowView, StateOption},
    User,
};
use crate::{
    declaration::State as DeclarationState, error::Error, state::AppState, store::declarations,
};

const PATH: &str = "/unit/declarations";

/// Every state: the unit sees its members' drafts too.
const UNIT_STATES: [DeclarationState; 4] = [
    DeclarationState::Draft,
    DeclarationState::Submitted,
    DeclarationState::Returned,
    DeclarationState::Approved,
];

#[derive(Template)]
#[template(path = "unit.html")]
struct UnitPage<'a> {
    system_name: &'a str,
    unit_name: &'a str,
    list_path: &'static str,
    query: &'a ListQuery,
    state_options: Vec<StateOption>,
    rows: Vec<RowView>,
    pager: PagerView,
}

/// `GET /unit/declarations?state=…&page=…`. Anyone but a unit's admin is answered as not
/// found, like `/review` answers non-reviewers.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, Error> {
    let user = User::require(&state, &headers, PATH).await?;
    let org_id = user.unit_admin_of.as_deref().ok_or(Error::NotFound)?;
    let unit_name = user
        .session
        .claims
        .org
        .as_ref()
        .map(|o| o.name.as_str())
        .unwrap_or("");
    let app = &state.config;
    let mut query = ListQuery::parse(&pairs, &UNIT_STATES);
    // One unit only: its list has no unit search.
    query.unit.clear();
    query.unit_error = None;
    let found =
        declarations::list_for_unit(&app.db, org_id, query.filter(), query.page_request()).await?;
    let page = UnitPage {
        system_name: &app.config.name,
        unit_name,
        list_path: PATH,
        state_options: views::state_options(&UNIT_STATES, query.state),
        rows: found.rows.iter().map(views::row).collect(),
        pager: views::pager(PATH, &query, &found),
        query: &query,
    };
    Ok(state.rp.html(StatusCode::OK, page.render()?))
}
