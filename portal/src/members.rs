//! 用户管理: the admin of an active unit lists its members, accepts pending ones, enables and
//! disables them, resets their passwords, and sets their subsystem grants (授权 / 模块配置),
//! saved at once. The IdP checks that the caller administers the member's unit.

use askama::Template;
use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tongyi_shared::{api::members::MemberOutcome, claims::OrgClaim, org::OrgRole, rp::RpSession};

use crate::{
    catalog::{self, Subsystem},
    directory::{Member, MemberAction},
    error::Error,
    forms::FormData,
    pages::{valid_id, Pager, Position},
    signed_in::{Account, Nav, SignedIn},
    state::AppState,
};

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    /// The IdP's cursor of this page and those of the pages before ([`Position`]).
    #[serde(default)]
    after: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    nav: Nav,
    org_name: String,
    q: String,
    members: Vec<Member>,
    subsystems: Vec<Subsystem>,
    pager: Pager,
    notice: Option<&'static str>,
}

impl MembersPage {
    fn holds(&self, m: &Member, code: &str) -> bool {
        m.grants.iter().any(|g| g == code)
    }

    /// Asked to join, not yet accepted.
    fn pending(&self, m: &Member) -> bool {
        m.membership == Some(OrgRole::Pending)
    }

    /// An accepted member (not the unit's admin), who may hold grants.
    fn accepted(&self, m: &Member) -> bool {
        m.membership == Some(OrgRole::Member)
    }
}

/// The active unit `session` administers. Claims that say the unit is not active yet may be
/// older than the department's approval: they are refreshed once before refusing.
async fn admin_unit(state: &AppState, session: &RpSession) -> Result<OrgClaim, Error> {
    if let Some(org) = Account::of(session).admin_of_active() {
        return Ok(org.clone());
    }
    if Account::of(session).admin_of().is_none() {
        return Err(Error::Forbidden);
    }
    let fresh = state.rp.refresh_session(session).await?;
    Account::of(&fresh)
        .admin_of_active()
        .cloned()
        .ok_or(Error::Forbidden)
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "approved" => "已同意该成员加入本单位。",
        "enable" => "已启用该成员。",
        "disable" => "已禁用该成员，其登录会话已全部结束。",
        "password-reset" => "已重置密码，临时密码已通过短信发送给该成员，下次登录须修改密码。",
        "password-reset-email" => {
            "已重置密码，临时密码已通过电子邮件发送给该成员，下次登录须修改密码。"
        }
        "grants" => "授权已保存。",
        _ => return None,
    })
}

pub async fn list(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Response, Error> {
    let org = admin_unit(&state, &session).await?;
    let search: String = q.q.trim().chars().take(50).collect();
    let at = Position::parse(&q.after, &q.back).ok_or(Error::BadRequest("bad page cursor"))?;
    let api = state.config.directory.as_user(&state.rp, &session);
    let page = api.members(&org.id, &search, at.after()).await?;
    let subsystems = catalog::subsystems(&state.config, &api, &session).await?;
    let pager = Pager::new(
        &at,
        page.next.as_deref(),
        &format!(
            "/members?q={}",
            url::form_urlencoded::byte_serialize(search.as_bytes()).collect::<String>()
        ),
    );
    let body = MembersPage {
        nav: Nav::for_session(&session, "/members"),
        org_name: org.name,
        q: search,
        members: page.items,
        subsystems,
        pager,
        notice: notice(q.done.as_deref()),
    }
    .render()?;
    Ok(state.rp.html(StatusCode::OK, body))
}

pub async fn approve(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(account_id): Path<String>,
    body: Bytes,
) -> Result<Response, Error> {
    let org = admin_unit(&state, &session).await?;
    FormData::parse_checked(&body, &session)?;
    if !valid_id(&account_id) {
        return Err(Error::NotFound);
    }
    let api = state.config.directory.as_user(&state.rp, &session);
    api.approve_member(&org.id, &account_id).await?;
    Ok(Redirect::to("/members?done=approved").into_response())
}

/// `enable`, `disable` or `password-reset`.
pub async fn action(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((account_id, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Error> {
    admin_unit(&state, &session).await?;
    FormData::parse_checked(&body, &session)?;
    let action_kind = MemberAction::parse(&action).ok_or(Error::NotFound)?;
    if !valid_id(&account_id) {
        return Err(Error::NotFound);
    }
    let api = state.config.directory.as_user(&state.rp, &session);
    let outcome = api.member_action(&account_id, action_kind).await?;
    // The notice names the channel the IdP used for the temporary password.
    let done = match outcome.status {
        MemberOutcome::PasswordResetByEmail => "password-reset-email",
        _ => action.as_str(),
    };
    Ok(Redirect::to(&format!("/members?done={done}")).into_response())
}

pub async fn grants(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(account_id): Path<String>,
    body: Bytes,
) -> Result<Response, Error> {
    let org = admin_unit(&state, &session).await?;
    let form = FormData::parse_checked(&body, &session)?;
    if !valid_id(&account_id) {
        return Err(Error::NotFound);
    }
    let mut grants: Vec<String> = form.all("grant").into_iter().map(str::to_owned).collect();
    grants.sort();
    grants.dedup();
    let api = state.config.directory.as_user(&state.rp, &session);
    api.set_grants(&org.id, &account_id, &grants).await?;
    Ok(Redirect::to("/members?done=grants").into_response())
}
