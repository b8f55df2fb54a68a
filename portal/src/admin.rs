//! 平台管理 (platform_admin): expert applications, departments and their reviewers, subsystem
//! clients (the CLI's operations: list, register — the secret shown once —, change URIs,
//! rotate the secret, disable), and links to the IdP's own real-name review and appeal pages.

use askama::Template;
use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tongyi_shared::rp::RpSession;

use crate::{
    directory::{
        AccountRef, AdminDepartment, ClientInfo, ClientInput, ClientPatch, ExpertApplication,
    },
    error::Error,
    forms::{FieldErrors, FormData},
    pages::valid_id,
    signed_in::{Account, Nav, SignedIn},
    state::AppState,
};

struct DepartmentRow {
    department: AdminDepartment,
    reviewers: Vec<AccountRef>,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    nav: Nav,
    idp: String,
    experts: Vec<ExpertApplication>,
    departments: Vec<DepartmentRow>,
    clients: Vec<ClientInfo>,
    /// A client secret just issued: shown on this page only, never again.
    secret: Option<(String, String)>,
    errors: FieldErrors,
    notice: Option<&'static str>,
}

fn require_admin(session: &RpSession) -> Result<(), Error> {
    if Account::of(session).is_platform_admin() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct HubQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn render(
    state: &AppState,
    session: &RpSession,
    secret: Option<(String, String)>,
    errors: FieldErrors,
    notice: Option<&'static str>,
) -> Result<Response, Error> {
    let api = state.config.directory.as_user(&state.rp, session);
    let experts = api.expert_reviews("pending", 1).await?.items;
    let mut departments = Vec::new();
    for department in api.admin_departments().await? {
        let reviewers = api.reviewers(&department.id).await?;
        departments.push(DepartmentRow {
            department,
            reviewers,
        });
    }
    let clients = api.clients().await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = AdminPage {
        nav: Nav::for_session(session, "/admin"),
        idp: state.config.config.rp.issuer.clone(),
        experts,
        departments,
        clients,
        secret,
        errors,
        notice,
    };
    Ok(state.rp.html(status, page.render()?))
}

pub async fn hub(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(q): Query<HubQuery>,
) -> Result<Response, Error> {
    require_admin(&session)?;
    let notice = match q.done.as_deref() {
        Some("expert") => Some("专家审核结果已保存。"),
        Some("department") => Some("主管部门已保存。"),
        Some("reviewer") => Some("审核人员已更新。"),
        Some("client") => Some("业务系统客户端已更新。"),
        _ => None,
    };
    render(&state, &session, None, FieldErrors::default(), notice).await
}

/// A refusal of the admin API shown at `field` of the form that caused it.
async fn refused_at(
    state: &AppState,
    session: &RpSession,
    field: &'static str,
    e: Error,
) -> Result<Response, Error> {
    match e {
        Error::Api(r)
            if r.status == 422 || r.status == 409 || r.status == 404 || r.status == 400 =>
        {
            let mut errors = FieldErrors::from_api(&r.fields);
            let message = match r.status {
                409 => "与现有记录冲突（已存在或正在使用）",
                404 => "未找到该账号或记录",
                _ => "输入有误，请检查后重试",
            };
            errors.add(field, message);
            render(state, session, None, errors, None).await
        }
        other => Err(other),
    }
}

pub async fn decide_expert(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((account_id, decision)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Error> {
    require_admin(&session)?;
    let form = FormData::parse_checked(&body, &session)?;
    if !valid_id(&account_id) {
        return Err(Error::NotFound);
    }
    let reason = match decision.as_str() {
        "approve" => None,
        "reject" => {
            let reason = form.get("reason");
            if reason.is_empty() {
                let mut errors = FieldErrors::default();
                errors.add(format!("reason-{account_id}"), "请填写未通过原因");
                return render(&state, &session, None, errors, None).await;
            }
            Some(reason)
        }
        _ => return Err(Error::NotFound),
    };
    let api = state.config.directory.as_user(&state.rp, &session);
    api.decide_expert(&account_id, reason).await?;
    Ok(Redirect::to("/admin?done=expert").into_response())
}

pub async fn create_department(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    body: Bytes,
) -> Result<Response, Error> {
    require_admin(&session)?;
    let form = FormData::parse_checked(&body, &session)?;
    let (id, name) = (form.get("department_id"), form.get("department_name"));
    let mut errors = FieldErrors::default();
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        || id.len() > 40
    {
        errors.add(
            "department_id",
            "编号由 1–40 位小写字母、数字、下划线或连字符组成",
        );
    }
    if name.is_empty() {
        errors.add("department_name", "请填写部门名称");
    }
    if !errors.is_empty() {
        return render(&state, &session, None, errors, None).await;
    }
    let api = state.config.directory.as_user(&state.rp, &session);
    match api.create_department(id, name).await {
        Ok(_) => Ok(Redirect::to("/admin?done=department").into_response()),
        Err(e) => refused_at(&state, &session, "department_id", e).await,
    }
}

pub async fn add_reviewer(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(department_id): Path<String>,
    body: Bytes,
) -> Result<Response, Error> {
    require_admin(&session)?;
    let form = FormData::parse_checked(&body, &session)?;
    if !valid_id(&department_id) {
        return Err(Error::NotFound);
    }
    let username = form.get("username");
    let field = "reviewer_username";
    if username.is_empty() {
        let mut errors = FieldErrors::default();
        errors.add(format!("{field}-{department_id}"), "请填写审核人员的用户名");
        return render(&state, &session, None, errors, None).await;
    }
    let api = state.config.directory.as_user(&state.rp, &session);
    match api.add_reviewer(&department_id, username).await {
        Ok(_) => Ok(Redirect::to("/admin?done=reviewer").into_response()),
        Err(Error::Api(r)) if r.status == 404 => {
            let mut errors = FieldErrors::default();
            errors.add(format!("{field}-{department_id}"), "未找到该用户名的账号");
            render(&state, &session, None, errors, None).await
        }
        Err(e) => Err(e),
    }
}

pub async fn remove_reviewer(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((department_id, account_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Error> {
    require_admin(&session)?;
    FormData::parse_checked(&body, &session)?;
    if !valid_id(&department_id) || !valid_id(&account_id) {
        return Err(Error::NotFound);
    }
    let api = state.config.directory.as_user(&state.rp, &session);
    api.remove_reviewer(&department_id, &account_id).await?;
    Ok(Redirect::to("/admin?done=reviewer").into_response())
}

/// URIs typed one per line.
fn lines(input: &str) -> Vec<String> {
    input
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An optional value typed into the form: none when left empty.
fn optional(input: &str) -> Option<String> {
    (!input.is_empty()).then(|| input.to_owned())
}

pub async fn create_client(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    body: Bytes,
) -> Result<Response, Error> {
    require_admin(&session)?;
    let form = FormData::parse_checked(&body, &session)?;
    let mut errors = FieldErrors::default();
    let client_id = form.get("client_id");
    if client_id.is_empty() {
        errors.add("client_id", "请填写客户端编号");
    }
    if form.get("client_name").is_empty() {
        errors.add("client_name", "请填写系统名称");
    }
    let redirect_uris = lines(form.raw("redirect_uris"));
    if redirect_uris.is_empty() {
        errors.add("redirect_uris", "请至少填写一个回调地址");
    }
    if !errors.is_empty() {
        return render(&state, &session, None, errors, None).await;
    }
    let input = ClientInput {
        post_logout_redirect_uris: lines(form.raw("post_logout_redirect_uris")),
        backchannel_logout_uri: optional(form.get("backchannel_logout_uri")),
        initiate_login_uri: optional(form.get("initiate_login_uri")),
        subsystem_code: optional(form.get("subsystem_code")),
        first_party: form.get("first_party") == "on",
        ..ClientInput::new(client_id, form.get("client_name"), redirect_uris)
    };
    let api = state.config.directory.as_user(&state.rp, &session);
    match api.create_client(&input).await {
        Ok(created) => {
            let secret = Some((
                created.client.client_id,
                created.client_secret.unwrap_or_default(),
            ));
            render(
                &state,
                &session,
                secret,
                FieldErrors::default(),
                Some("客户端已登记。"),
            )
            .await
        }
        Err(e) => refused_at(&state, &session, "client_id", e).await,
    }
}

pub async fn update_client(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(client_id): Path<String>,
    body: Bytes,
) -> Result<Response, Error> {
    require_admin(&session)?;
    let form = FormData::parse_checked(&body, &session)?;
    if !valid_client_id(&client_id) {
        return Err(Error::NotFound);
    }
    let field = format!("uris-{client_id}");
    let redirect_uris = lines(form.raw("redirect_uris"));
    if redirect_uris.is_empty() {
        let mut errors = FieldErrors::default();
        errors.add(field, "请至少填写一个回调地址");
        return render(&state, &session, None, errors, None).await;
    }
    // An empty URI field clears that URI (an explicit null).
    let input = ClientPatch {
        redirect_uris: Some(redirect_uris),
        post_logout_redirect_uris: Some(lines(form.raw("post_logout_redirect_uris"))),
        backchannel_logout_uri: Some(optional(form.get("backchannel_logout_uri"))),
        initiate_login_uri: Some(optional(form.get("initiate_login_uri"))),
        ..ClientPatch::default()
    };
    let api = state.config.directory.as_user(&state.rp, &session);
    match api.update_client(&client_id, &input).await {
        Ok(_) => Ok(Redirect::to("/admin?done=client").into_response()),
        Err(Error::Api(r)) if r.status == 422 || r.status == 400 => {
            let mut errors = FieldErrors::default();
            errors.add(field, "地址格式不正确（须为完整的 http(s) 地址）");
            render(&state, &session, None, errors, None).await
        }
        Err(e) => Err(e),
    }
}

fn valid_client_id(id: &str) -> bool {
    (2..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && id != ".."
}

pub async fn client_action(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((client_id, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Error> {
    require_admin(&session)?;
    FormData::parse_checked(&body, &session)?;
    if !valid_client_id(&client_id)
        || !["rotate-secret", "disable", "enable"].contains(&action.as_str())
    {
        return Err(Error::NotFound);
    }
    let api = state.config.directory.as_user(&state.rp, &session);
    if action == "rotate-secret" {
        let secret = api.rotate_secret(&client_id).await?.client_secret;
        return render(
            &state,
            &session,
            Some((client_id, secret)),
            FieldErrors::default(),
            Some("已生成新的客户端密钥，旧密钥已失效。"),
        )
        .await;
    }
    api.set_client_enabled(&client_id, action == "enable")
        .await?;
    Ok(Redirect::to("/admin?done=client").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_one_per_line_and_client_ids() {
        assert_eq!(
            lines(" https://a.example/cb \n\n https://b.example/cb\r\n"),
            ["https://a.example/cb", "https://b.example/cb"]
        );
        assert_eq!(optional(""), None);
        assert!(valid_client_id("incubator"));
        assert!(!valid_client_id(".."));
        assert!(!valid_client_id("a/b"));
    }
}
