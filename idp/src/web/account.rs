//! The account console (账户中心): 我的信息 with masked values, editing the reserved email and
//! mobile and a one-time login name, the 信息更新记录, and the account's login sessions with
//! sign-out buttons. Every page needs a signed-in account; every form carries the CSRF token.

use std::net::IpAddr;

use askama::Template;
use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use tongyi_shared::{
    claims::{AccountType, RealnameStatus},
    mask,
    org::OrgRole,
    validate::{Gender, IdDocumentType},
};

use super::extract::{ClientAddr, CsrfForm, FormFields, SignedIn};
use super::{auth, csrf, pages};
use crate::{
    accounts::{
        console,
        profile::{self, ProfileError},
        sessions,
    },
    error::AppResult,
    state::AppState,
    store::{
        accounts::Account,
        identities::{OrgPerson, OrgPersonRole, PersonIdentity},
    },
    FieldErrors,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(overview))
        .route("/account/edit", get(edit_page).post(edit_submit))
        .route("/account/history", get(history))
        .route(
            "/account/sessions",
            get(sessions_page).post(sessions_submit),
        )
}

pub use crate::clock::shanghai_time;

fn id_type_label(code: &str) -> &'static str {
    IdDocumentType::from_code(code).map_or("其他", IdDocumentType::label)
}

fn org_role_label(role: &OrgRole) -> &'static str {
    match role {
        OrgRole::Admin => "单位管理员",
        OrgRole::Member => "单位成员",
        OrgRole::Pending => "待单位审核",
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct OverviewPage {
    rows: Vec<(&'static str, String)>,
    unit_rows: Vec<(&'static str, String)>,
    realname_verified: bool,
}

async fn overview(State(state): State<AppState>, user: SignedIn) -> AppResult<Response> {
    let a = &user.account;
    let o = console::overview(&state, a).await?;
    let mut rows = vec![
        ("登录账号", a.login_name.clone()),
        (
            "账号类型",
            match a.account_type {
                AccountType::NaturalPerson => "自然人",
                AccountType::LegalEntity => "法人",
            }
            .to_owned(),
        ),
    ];
    if a.account_type == AccountType::NaturalPerson {
        identity_rows(&mut rows, o.identity.as_ref());
    }
    rows.push((
        "预留手机号",
        masked_or_unset(o.mobile.as_deref(), mask::mask_mobile),
    ));
    rows.push((
        "邮箱",
        masked_or_unset(o.email.as_deref(), profile::mask_email),
    ));
    // The words of the real-name page (未认证 / 排队中 / 待人工审核 / 已认证 / 认证失败).
    rows.push(("实名状态", o.standing.label().to_owned()));
    let page = OverviewPage {
        rows,
        unit_rows: unit_rows(a, &o.unit_people),
        realname_verified: a.realname_status == RealnameStatus::Verified,
    };
    pages::render(StatusCode::OK, &page)
}

fn masked_or_unset(value: Option<&str>, mask: fn(&str) -> String) -> String {
    value.map_or("未设置".to_owned(), mask)
}

/// A person's identity rows, masked.
fn identity_rows(rows: &mut Vec<(&'static str, String)>, identity: Option<&PersonIdentity>) {
    let Some(p) = identity else {
        // A quick registration has no name until real-name verification asks for it.
        rows.push(("姓名", "未填写（实名认证时填写）".to_owned()));
        return;
    };
    rows.push(("姓名", mask::mask_name(&p.real_name)));
    rows.push(("证件类型", id_type_label(&p.id_type).to_owned()));
    rows.push(("证件号码", mask::mask_id_number(&p.id_number)));
    // The gender is shown like on the 居民身份证 face; 民族 is sensitive personal information
    // (PIPL art. 28) and only said to be on file, like the masked number, so that a glance at
    // the screen does not reveal it.
    let gender = p.gender.as_deref().and_then(Gender::from_code);
    rows.push(("性别", gender.map_or("未填写", Gender::label).to_owned()));
    let ethnicity = if p.ethnicity.is_some() {
        "已填写（敏感个人信息，不予显示）"
    } else {
        "未填写"
    };
    rows.push(("民族", ethnicity.to_owned()));
}

/// The unit's rows: name and role, and for a legal entity its USCC and people, masked.
fn unit_rows(a: &Account, people: &[(OrgPersonRole, OrgPerson)]) -> Vec<(&'static str, String)> {
    let Some(org) = &a.org else {
        return Vec::new();
    };
    let mut rows = vec![
        ("单位名称", org.name.clone()),
        ("单位角色", org_role_label(&org.role).to_owned()),
    ];
    if a.account_type == AccountType::LegalEntity {
        if let Some(uscc) = &org.uscc {
            rows.push(("统一社会信用代码", uscc.clone()));
        }
    }
    for (role, p) in people {
        let label = match role {
            OrgPersonRole::LegalRepresentative => "法定代表人",
            OrgPersonRole::Agent => "代办人",
        };
        rows.push((
            label,
            format!(
                "{}（{} {}，手机 {}）",
                mask::mask_name(&p.name),
                id_type_label(&p.id_type),
                mask::mask_id_number(&p.id_number),
                mask::mask_mobile(&p.mobile)
            ),
        ));
    }
    rows
}

#[derive(Template, Default)]
#[template(path = "account_edit.html")]
struct EditPage {
    csrf: String,
    notice: Option<String>,
    current_email: String,
    current_mobile: String,
    email: String,
    mobile: String,
    login_name: String,
    login_name_chosen: bool,
    /// The reserved email is set and unproven, and this instance sends email.
    email_verifiable: bool,
    email_verified: bool,
    /// By field: `email`, `email_code`, `mobile`, `sms_code`, `password`, `login_name`.
    errors: FieldErrors,
}

async fn render_edit(
    state: &AppState,
    headers: &HeaderMap,
    account_id: &str,
    mut page: EditPage,
    status: StatusCode,
) -> AppResult<Response> {
    // Re-read: after a change the page shows the new values.
    let (account, mobile, email) = console::contact(state, account_id)
        .await?
        .ok_or_else(|| crate::error::AppError::LoginRequired("/account/edit".into()))?;
    let (token, cookie) = csrf::token(state, headers);
    page.csrf = token;
    page.current_mobile = mobile
        .as_deref()
        .map_or("未设置".to_owned(), mask::mask_mobile);
    page.current_email = email
        .as_deref()
        .map_or("未设置".to_owned(), profile::mask_email);
    page.email_verified = email.is_some() && account.email_verified;
    page.email_verifiable = email.is_some() && !account.email_verified && state.email.is_on();
    page.login_name_chosen = account.login_name_chosen;
    Ok(pages::with_cookie(pages::render(status, &page)?, cookie))
}

async fn edit_page(
    State(state): State<AppState>,
    user: SignedIn,
    headers: HeaderMap,
) -> AppResult<Response> {
    render_edit(
        &state,
        &headers,
        &user.account.id,
        EditPage::default(),
        StatusCode::OK,
    )
    .await
}

async fn edit_submit(
    State(state): State<AppState>,
    peer: ClientAddr,
    user: SignedIn,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<FormFields>,
) -> AppResult<Response> {
    let text = |k: &str| form.get(k).unwrap_or("").trim().to_owned();
    let mut page = EditPage {
        email: text("email"),
        mobile: text("mobile"),
        login_name: text("login_name"),
        ..EditPage::default()
    };
    let action = form.get("action").unwrap_or("");
    let status = match edit(&state, &user.account, &form, &page, action, peer.ip()).await {
        Ok(notice) => {
            // The values typed stay only while a code is on its way to the new mobile.
            if action != "send_code" {
                page.email.clear();
                page.mobile.clear();
                page.login_name.clear();
            }
            page.notice = Some(notice).filter(|n| !n.is_empty());
            StatusCode::OK
        }
        Err(ProfileError::Field(field, message)) => {
            page.errors.insert(field, message);
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(ProfileError::App(e)) => return Err(e.into()),
    };
    render_edit(&state, &headers, &user.account.id, page, status).await
}

/// Carries out one of the edit page's buttons; the notice to show.
async fn edit(
    state: &AppState,
    account: &Account,
    form: &FormFields,
    page: &EditPage,
    action: &str,
    ip: IpAddr,
) -> Result<String, ProfileError> {
    let sent = |masked: String| format!("验证码已发送至 {masked}，5分钟内有效。");
    Ok(match action {
        "email" => {
            profile::change_email(state, account, &page.email).await?;
            "邮箱已更新。".to_owned()
        }
        "send_email_code" => sent(profile::send_email_code(state, account, ip).await?),
        "verify_email" => {
            profile::verify_email(state, account, form.get("email_code").unwrap_or("")).await?;
            "邮箱已验证。".to_owned()
        }
        "send_code" => sent(profile::send_mobile_code(state, &page.mobile, ip).await?),
        "mobile" => {
            let code = form.get("sms_code").unwrap_or("");
            let password = form.get("password").unwrap_or("");
            profile::change_mobile(state, account, &page.mobile, code, password).await?;
            "预留手机号已更换。".to_owned()
        }
        "login_name" => {
            profile::choose_login_name(state, account, &page.login_name).await?;
            "登录账号已设置。".to_owned()
        }
        _ => String::new(),
    })
}

fn field_label(field: &str) -> &str {
    match field {
        "mobile" => "预留手机号",
        "email" => "邮箱",
        "login_name" => "登录账号",
        "real_name" => "姓名",
        "id_number" => "证件号码",
        "password" => "密码",
        other => other,
    }
}

struct HistoryRow {
    at: String,
    who: &'static str,
    field: String,
    old_value: String,
    new_value: String,
}

#[derive(Template)]
#[template(path = "account_history.html")]
struct HistoryPage {
    rows: Vec<HistoryRow>,
}

async fn history(State(state): State<AppState>, user: SignedIn) -> AppResult<Response> {
    let updates = console::history(&state, &user.account.id).await?;
    let rows = updates
        .into_iter()
        .map(|u| HistoryRow {
            at: shanghai_time(u.at),
            who: match u.actor_account_id.as_deref() {
                Some(actor) if actor == user.account.id => "本人",
                Some(_) => "管理员",
                None => "系统",
            },
            field: field_label(&u.field).to_owned(),
            old_value: if u.old_value.is_empty() {
                "（空）".to_owned()
            } else {
                u.old_value
            },
            new_value: u.new_value,
        })
        .collect();
    pages::render(StatusCode::OK, &HistoryPage { rows })
}

/// A user agent shortened to the browser and the system, e.g. `Firefox · Linux`.
pub fn short_agent(ua: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("MicroMessenger", "微信"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("reqwest", "reqwest"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| name);
    let system = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} · {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => s.to_owned(),
        (None, None) if ua.trim().is_empty() => "未知".to_owned(),
        (None, None) => ua.chars().take(40).collect(),
    }
}

struct SessionRow {
    sid: String,
    started: String,
    ip: String,
    agent: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "account_sessions.html")]
struct SessionsPage {
    csrf: String,
    notice: Option<&'static str>,
    rows: Vec<SessionRow>,
    others: bool,
}

async fn render_sessions(
    state: &AppState,
    headers: &HeaderMap,
    user: &auth::SignedIn,
    notice: Option<&'static str>,
) -> AppResult<Response> {
    let current = &user.session.session.sid;
    let rows: Vec<SessionRow> = console::sessions(state, &user.account.id)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            current: &s.sid == current,
            started: shanghai_time(s.created_at),
            ip: s.client_ip.unwrap_or_else(|| "未知".to_owned()),
            agent: short_agent(s.user_agent.as_deref().unwrap_or("")),
            sid: s.sid,
        })
        .collect();
    let (token, cookie) = csrf::token(state, headers);
    let page = SessionsPage {
        csrf: token,
        notice,
        others: rows.iter().any(|r| !r.current),
        rows,
    };
    Ok(pages::with_cookie(
        pages::render(StatusCode::OK, &page)?,
        cookie,
    ))
}

async fn sessions_page(
    State(state): State<AppState>,
    user: SignedIn,
    headers: HeaderMap,
) -> AppResult<Response> {
    render_sessions(&state, &headers, &user, None).await
}

async fn sessions_submit(
    State(state): State<AppState>,
    user: SignedIn,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<FormFields>,
) -> AppResult<Response> {
    let current = user.session.session.sid.clone();
    let notice = match form.get("action").unwrap_or("") {
        "end_others" => {
            sessions::end_all(
                &state,
                &user.account.id,
                Some(&current),
                "signed_out_from_console",
            )
            .await?;
            Some("已退出其他所有会话。")
        }
        "end_one" => {
            let sid = form.get("sid").unwrap_or("");
            if sid == current {
                // Ending the session in use is the ordinary logout.
                return Ok(Redirect::to("/logout").into_response());
            }
            if sessions::end_one(&state, &user.account.id, sid, "signed_out_from_console").await? {
                Some("该会话已退出。")
            } else {
                Some("该会话已结束。")
            }
        }
        _ => None,
    };
    render_sessions(&state, &headers, &user, notice).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_shanghai() {
        assert_eq!(shanghai_time(0), "1970-01-01 08:00");
        // 2026-02-28 16:30 UTC is 2026-03-01 00:30 in Shanghai.
        assert_eq!(shanghai_time(1_772_296_200), "2026-03-01 00:30");
        assert_eq!(shanghai_time(951_782_400), "2000-02-29 08:00");
    }

    #[test]
    fn agents_are_shortened() {
        let ff = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(short_agent(ff), "Firefox · Linux");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(short_agent(edge), "Edge · Windows");
        assert_eq!(short_agent(""), "未知");
    }
}
