//! Appeal pages: the public filing form `/appeal` (multipart, with images, captcha and an SMS
//! code to the contact mobile) and the platform admins' review `/admin/appeals`.

use std::net::IpAddr;

use askama::Template;
use axum::{
    extract::{DefaultBodyLimit, Multipart, Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use serde::Deserialize;
use tongyi_shared::{mask, validate::IdDocumentType};

use super::extract::{ClientAddr, CsrfForm, FormFields, PlatformAdmin};
use super::{auth, csrf, multipart, pages};
use crate::{
    accounts::{
        appeal::{
            self, AppealFiles, AppealInput, AppealKind, FieldErrors, FileField, Filing,
            FilingRefusal,
        },
        captcha::{self, CaptchaAnswer},
        uploads::MAX_IMAGE_BYTES,
    },
    error::{AppError, AppResult},
    state::AppState,
    store::{appeals::Appeal, states::ReviewState},
};

const PAGE_SIZE: i64 = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/appeal",
            get(appeal_page)
                .post(appeal_submit)
                // Above the per-file cut-off, so that a too large image gets a field message.
                .layer(DefaultBodyLimit::max(8 * 1024 * 1024)),
        )
        .route("/admin/appeals", get(admin_list))
        .route("/admin/appeals/{id}", get(admin_detail).post(admin_decide))
        .route("/admin/appeals/{id}/uploads/{upload_id}", get(admin_upload))
}

#[derive(Template, Default)]
#[template(path = "appeal.html")]
struct AppealPage {
    csrf: String,
    captcha_id: String,
    notice: Option<String>,
    input: AppealInput,
    errors: FieldErrors,
    id_types: Vec<(&'static str, &'static str)>,
}

impl AppealPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }

    fn has_error(&self, field: &str) -> bool {
        self.errors.contains(field)
    }
}

async fn render_appeal(
    state: &AppState,
    headers: &HeaderMap,
    mut page: AppealPage,
    status: StatusCode,
) -> AppResult<Response> {
    let (token, cookie) = csrf::token(state, headers);
    page.csrf = token;
    page.captcha_id = captcha::issue(&state.store).await?;
    page.id_types = IdDocumentType::ALL
        .into_iter()
        .map(|t| (t.code(), t.label()))
        .collect();
    Ok(pages::with_cookie(pages::render(status, &page)?, cookie))
}

#[derive(Deserialize)]
struct AppealQuery {
    #[serde(default)]
    kind: String,
}

async fn appeal_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AppealQuery>,
) -> AppResult<Response> {
    let page = AppealPage {
        input: AppealInput {
            kind: AppealKind::from_code(&q.kind)
                .map(|k| k.code().to_owned())
                .unwrap_or_default(),
            account_type: "natural_person".to_owned(),
            ..AppealInput::default()
        },
        ..AppealPage::default()
    };
    render_appeal(&state, &headers, page, StatusCode::OK).await
}

#[derive(Template)]
#[template(path = "appeal_done.html")]
struct AppealDone;

/// The typed fields of the appeal form, trimmed where spaces are never meant.
fn appeal_input(form: &multipart::MultipartForm) -> AppealInput {
    AppealInput {
        kind: form.text("kind").to_owned(),
        account_type: form.text("account_type").to_owned(),
        real_name: form.text("real_name").trim().to_owned(),
        id_type: form.text("id_type").to_owned(),
        id_number: form.text("id_number").trim().to_owned(),
        unit_name: form.text("unit_name").trim().to_owned(),
        uscc: form.text("uscc").trim().to_owned(),
        agent_name: form.text("agent_name").trim().to_owned(),
        mobile: form.text("mobile").trim().to_owned(),
        description: form.text("description").to_owned(),
    }
}

fn appeal_files(form: &multipart::MultipartForm) -> AppealFiles<'_> {
    let file = |name: &str| FileField {
        data: form.file(name),
        too_large: form.too_large(name),
    };
    AppealFiles {
        id_front: file("id_front"),
        id_back: file("id_back"),
        licence: file("licence"),
    }
}

/// 获取验证码: a code to the contact mobile; the form comes back with the notice or the field's
/// refusal (and without the images, which a browser does not send back).
async fn send_code(state: &AppState, page: &mut AppealPage, ip: IpAddr) -> AppResult<()> {
    match appeal::send_code(state, &page.input.mobile, ip).await? {
        Ok(masked) => {
            page.notice = Some(format!(
                "验证码已发送至 {masked}，5分钟内有效。请重新选择要上传的图片。"
            ))
        }
        Err(errors) => page.errors = errors,
    }
    Ok(())
}

async fn appeal_submit(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    body: Multipart,
) -> AppResult<Response> {
    let form = multipart::read(body, MAX_IMAGE_BYTES).await?;
    let submitted_csrf = Some(form.text("csrf")).filter(|s| !s.is_empty());
    csrf::check(&state, &headers, submitted_csrf)?;
    let ip = peer.ip();
    let input = appeal_input(&form);
    let mut page = AppealPage {
        input,
        ..AppealPage::default()
    };
    if form.text("action") == "send_code" {
        send_code(&state, &mut page, ip).await?;
        return render_appeal(&state, &headers, page, StatusCode::OK).await;
    }
    let filing = Filing {
        input: &page.input,
        files: appeal_files(&form),
        captcha: CaptchaAnswer {
            id: form.text("captcha_id"),
            answer: form.text("captcha"),
        },
        sms_code: form.text("sms_code"),
        ip,
    };
    match appeal::submit(&state, &filing).await? {
        Ok(_) => pages::render(StatusCode::OK, &AppealDone),
        Err(FilingRefusal::Fields(errors)) => {
            page.errors = errors;
            render_appeal(&state, &headers, page, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(FilingRefusal::TooFrequent) => Err(AppError::page(
            StatusCode::TOO_MANY_REQUESTS,
            "提交过于频繁",
            "申诉提交过于频繁，请一小时后再试。",
        )),
    }
}

// ----- admin review -----

struct ListRow {
    id: String,
    created: String,
    kind: &'static str,
    account_type: &'static str,
    claimant: String,
    matched: bool,
}

#[derive(Template)]
#[template(path = "admin_appeals.html")]
struct AdminList {
    rows: Vec<ListRow>,
    page: i64,
    pages: i64,
    total: i64,
}

fn kind_label(kind: &str) -> &'static str {
    AppealKind::from_code(kind).map_or("未知", AppealKind::label)
}

fn type_label(t: &str) -> &'static str {
    if t == "legal_entity" {
        "法人"
    } else {
        "自然人"
    }
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    page: Option<i64>,
}

async fn admin_list(
    State(state): State<AppState>,
    _admin: PlatformAdmin,
    Query(q): Query<PageQuery>,
) -> AppResult<Response> {
    let page = q.page.unwrap_or(1).max(1);
    let (list, total) = appeal::pending(&state, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
    let rows = list
        .into_iter()
        .map(|a| ListRow {
            created: super::account::shanghai_time(a.created_at),
            kind: kind_label(&a.kind),
            account_type: type_label(&a.account_type),
            claimant: mask::mask_name(&a.claimant_name),
            matched: a.matched_account_id.is_some(),
            id: a.id,
        })
        .collect();
    pages::render(
        StatusCode::OK,
        &AdminList {
            rows,
            page,
            pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
            total,
        },
    )
}

#[derive(Template)]
#[template(path = "admin_appeal_detail.html")]
struct AdminDetail {
    csrf: String,
    id: String,
    pending: bool,
    facts: Vec<(&'static str, String)>,
    description: String,
    images: Vec<(String, &'static str)>,
    matched: Option<String>,
    notice: Option<String>,
    error: Option<&'static str>,
}

/// What the admin sees of an appeal, masked.
fn facts(a: &Appeal) -> Vec<(&'static str, String)> {
    let mut facts = vec![
        ("申诉类型", kind_label(&a.kind).to_owned()),
        ("账号类型", type_label(&a.account_type).to_owned()),
        ("提交时间", super::account::shanghai_time(a.created_at)),
    ];
    if a.account_type == "legal_entity" {
        facts.push(("单位名称", a.unit_name.clone().unwrap_or_default()));
        facts.push(("统一社会信用代码", a.uscc.clone().unwrap_or_default()));
        facts.push(("代办人姓名", mask::mask_name(&a.claimant_name)));
    } else {
        facts.push(("姓名", mask::mask_name(&a.claimant_name)));
        let id_type = a.id_type.as_deref().and_then(IdDocumentType::from_code);
        facts.push((
            "证件类型",
            id_type.map_or("", IdDocumentType::label).to_owned(),
        ));
        let number = a.id_number.as_deref().map(mask::mask_id_number);
        facts.push(("证件号码", number.unwrap_or_default()));
    }
    facts.push(("联系手机号", mask::mask_mobile(&a.contact_mobile)));
    let state_label = match a.state {
        ReviewState::Approved => "已通过".to_owned(),
        ReviewState::Rejected => format!("已驳回：{}", a.reason.clone().unwrap_or_default()),
        ReviewState::Pending => "待审核".to_owned(),
    };
    facts.push(("状态", state_label));
    facts
}

async fn render_detail(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    notice: Option<String>,
    error: Option<&'static str>,
) -> AppResult<Response> {
    let not_found = || AppError::page(StatusCode::NOT_FOUND, "申诉不存在", "找不到该申诉。");
    let (a, matched) = appeal::for_review(state, id).await?.ok_or_else(not_found)?;
    let facts = facts(&a);
    let label = |i: usize| match (a.account_type.as_str(), i) {
        ("legal_entity", _) => "营业执照",
        (_, 0) => "身份证人像面",
        _ => "身份证国徽面",
    };
    let images = a
        .upload_ids
        .iter()
        .enumerate()
        .map(|(i, upload)| (upload.clone(), label(i)))
        .collect();
    let (token, cookie) = csrf::token(state, headers);
    let page = AdminDetail {
        csrf: token,
        id: a.id.clone(),
        pending: a.state == ReviewState::Pending,
        facts,
        description: a.description.clone(),
        images,
        matched,
        notice,
        error,
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(pages::with_cookie(pages::render(status, &page)?, cookie))
}

async fn admin_detail(
    State(state): State<AppState>,
    _admin: PlatformAdmin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    render_detail(&state, &headers, &id, None, None).await
}

async fn admin_decide(
    State(state): State<AppState>,
    PlatformAdmin(admin): PlatformAdmin,
    headers: HeaderMap,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<FormFields>,
) -> AppResult<Response> {
    let result = match form.get("action").unwrap_or("") {
        "approve" => appeal::approve(&state, &id, &admin.account.id).await,
        "reject" => {
            appeal::reject(
                &state,
                &id,
                &admin.account.id,
                form.get("reason").unwrap_or(""),
            )
            .await
        }
        _ => return render_detail(&state, &headers, &id, None, None).await,
    };
    match result {
        Ok(sent) => {
            let notice = if sent {
                "已处理，结果已通过短信通知申诉人。"
            } else {
                "已处理，但短信发送失败，请另行通知申诉人。"
            };
            render_detail(&state, &headers, &id, Some(notice.to_owned()), None).await
        }
        Err(appeal::DecideError::App(e)) => Err(e.into()),
        Err(e) => render_detail(&state, &headers, &id, None, Some(e.message())).await,
    }
}

async fn admin_upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, upload_id)): Path<(String, String)>,
) -> AppResult<Response> {
    auth::require_admin(&state, &headers, &format!("/admin/appeals/{id}")).await?;
    let not_found = || AppError::page(StatusCode::NOT_FOUND, "图片不存在", "找不到该图片。");
    // Only the appeal's own uploads are served here, whatever id is asked for.
    let (content_type, data) = appeal::upload(&state, &id, &upload_id)
        .await?
        .ok_or_else(not_found)?;
    let mut res = data.into_response();
    let h = res.headers_mut();
    let ct = match content_type.as_str() {
        "image/png" => "image/png",
        _ => "image/jpeg",
    };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(res)
}
