//! Real-name verification pages: the user's status page `/account/realname` (identity form
//! when quick registration skipped it, ID photo upload after a failed check) and the admin's
//! manual review pages `/admin/realname-reviews`, with `/admin/uploads/{id}` serving uploaded
//! images to admins only.

use std::collections::HashMap;

use askama::Template;
use axum::{
    extract::{DefaultBodyLimit, Multipart, Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Form, Router,
};
use tongyi_shared::{
    claims::AccountType,
    mask::{mask_id_number, mask_name},
    validate::{Gender, IdDocumentType, ETHNIC_GROUPS},
};

use super::extract::SignedIn;
use super::{auth, csrf, multipart, pages};
use crate::{
    accounts::{
        realname::{
            self, FieldErrors, IdPhotos, IdentityError, IdentityInput, ReviewRefusal, Standing,
            TooManySubmissions, REGIONS,
        },
        realname_view::{self, DecisionRefusal, ReviewView, Subject},
        uploads::{self, FileField, MAX_IMAGE_BYTES},
    },
    error::{AppError, AppResult},
    state::AppState,
    store::states::ReviewState,
};

const HERE: &str = "/account/realname";
const PAGE_SIZE: i64 = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(HERE, get(status_page))
        .route("/account/realname/identity", post(identity_submit))
        .route("/account/realname/start", post(start_submit))
        .route(
            "/account/realname/review",
            // Above the per-file limit, so an oversized photo gets a field-level message.
            post(review_submit).layer(DefaultBodyLimit::max(8 * 1024 * 1024)),
        )
        .route("/admin/realname-reviews", get(admin_list))
        .route(
            "/admin/realname-reviews/{id}",
            get(admin_detail).post(admin_decide),
        )
        .route("/admin/uploads/{id}", get(admin_upload))
}

/// `YYYY-MM-DD HH:MM`, Asia/Shanghai.
fn local_time(ts: i64) -> String {
    let m = realname::shanghai_minute_of_day(ts);
    format!(
        "{} {:02}:{:02}",
        realname::shanghai_date(ts),
        m / 60,
        m % 60
    )
}

#[derive(Template)]
#[template(path = "realname.html")]
struct StatusPage<'a> {
    csrf: &'a str,
    standing: Standing,
    is_person: bool,
    /// Masked document of the account, when it has one.
    document: Option<(String, String)>,
    /// A legal entity's registration as the enterprise check (企业三要素) asks it: unit name,
    /// USCC, masked legal representative.
    unit: Option<(String, String, String)>,
    /// The reviewer's reason of the latest rejection.
    reason: Option<String>,
    queued_until: Option<String>,
    notice: Option<&'a str>,
    input: IdentityInput,
    errors: FieldErrors,
    regions: &'static [(&'static str, &'static str)],
    id_types: Vec<(&'static str, &'static str)>,
    /// (GB/T 2261.1 code, 男/女).
    genders: Vec<(&'static str, &'static str)>,
    ethnic_groups: &'static [(&'static str, &'static str)],
}

impl StatusPage<'_> {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }

    fn show_identity_form(&self) -> bool {
        self.is_person && self.document.is_none()
    }

    fn show_start(&self) -> bool {
        let ready = (self.is_person && self.document.is_some()) || self.unit.is_some();
        ready && self.standing == Standing::Unverified
    }

    fn show_upload(&self) -> bool {
        let ready = (self.is_person && self.document.is_some()) || self.unit.is_some();
        ready && self.standing == Standing::Failed
    }
}

async fn render_status(
    state: &AppState,
    headers: &HeaderMap,
    user: &auth::SignedIn,
    status: StatusCode,
    notice: Option<&str>,
    input: IdentityInput,
    errors: FieldErrors,
) -> AppResult<Response> {
    let view = realname_view::status(state, &user.account).await?;
    let document = view.identity.map(|i| {
        let label = IdDocumentType::from_code(&i.id_type).map_or("证件", |t| t.label());
        (
            mask_name(&i.real_name),
            format!("{label} {}", mask_id_number(&i.id_number)),
        )
    });
    // Public in the enterprise register: the name and the USCC; the representative is masked.
    let unit = view
        .unit
        .map(|u| (u.unit_name, u.uscc, mask_name(&u.legal_representative)));
    let (standing, reason) = (view.standing, view.rejection);
    let queued_until = view.queued_until.map(local_time);
    let (token, cookie) = csrf::token(state, headers);
    let page = StatusPage {
        csrf: &token,
        standing,
        is_person: user.account.account_type == AccountType::NaturalPerson,
        document,
        unit,
        reason,
        queued_until,
        notice,
        input,
        errors,
        regions: &REGIONS,
        id_types: IdDocumentType::ALL
            .iter()
            .map(|t| (t.code(), t.label()))
            .collect(),
        genders: Gender::ALL.iter().map(|g| (g.code(), g.label())).collect(),
        ethnic_groups: &ETHNIC_GROUPS,
    };
    Ok(pages::with_cookie(pages::render(status, &page)?, cookie))
}

async fn status_page(
    State(state): State<AppState>,
    user: SignedIn,
    headers: HeaderMap,
) -> AppResult<Response> {
    render_status(
        &state,
        &headers,
        &user,
        StatusCode::OK,
        None,
        IdentityInput::default(),
        FieldErrors::new(),
    )
    .await
}

/// The answer to a user over the hourly submission limit.
fn too_many_submissions() -> AppError {
    AppError::page(
        StatusCode::TOO_MANY_REQUESTS,
        "操作过于频繁",
        "提交次数过多，请一小时后再试。",
    )
}

fn field(form: &HashMap<String, String>, name: &str) -> String {
    form.get(name).cloned().unwrap_or_default()
}

fn identity_input(form: &HashMap<String, String>) -> IdentityInput {
    IdentityInput {
        real_name: field(form, "real_name"),
        identity_region: field(form, "identity_region"),
        id_type: field(form, "id_type"),
        id_number: field(form, "id_number"),
        id_valid_from: field(form, "id_valid_from"),
        id_valid_to: field(form, "id_valid_to"),
        id_country: field(form, "id_country"),
        gender: field(form, "gender"),
        ethnicity: field(form, "ethnicity"),
    }
}

async fn identity_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let user = auth::require(&state, &headers, HERE).await?;
    csrf::check(&state, &headers, form.get("csrf").map(String::as_str))?;
    if user.account.account_type != AccountType::NaturalPerson {
        return Err(not_applicable());
    }
    let input = identity_input(&form);
    match realname::add_identity(&state, &user.account.id, &input).await? {
        Ok(_) => Ok(Redirect::to(HERE).into_response()),
        Err(IdentityError::Fields(errors)) => {
            render_status(
                &state,
                &headers,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                input,
                errors,
            )
            .await
        }
        Err(IdentityError::AlreadyHasOne) => Err(AppError::page(
            StatusCode::CONFLICT,
            "证件信息已存在",
            "您的账号已有证件信息，如需修改请在账号设置中办理。",
        )),
        Err(IdentityError::TooManySubmissions) => Err(too_many_submissions()),
    }
}

fn not_applicable() -> AppError {
    AppError::page(
        StatusCode::FORBIDDEN,
        "无需实名认证",
        "个人实名认证仅适用于自然人账号。",
    )
}

async fn start_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let user = auth::require(&state, &headers, HERE).await?;
    csrf::check(&state, &headers, form.get("csrf").map(String::as_str))?;
    match realname::request_check(&state, &user.account.id).await? {
        Ok(_) => Ok(Redirect::to(HERE).into_response()),
        Err(TooManySubmissions) => Err(too_many_submissions()),
    }
}

async fn review_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    multipart_form: Multipart,
) -> AppResult<Response> {
    let user = auth::require(&state, &headers, HERE).await?;
    let form = multipart::read(multipart_form, MAX_IMAGE_BYTES).await?;
    csrf::check(&state, &headers, Some(form.text("csrf")))?;
    let photo = |name: &str| FileField {
        data: form.file(name),
        too_large: form.too_large(name),
    };
    let photos = IdPhotos {
        front: photo("id_front"),
        back: photo("id_back"),
    };
    match realname::submit_review(&state, &user.account.id, photos).await? {
        Ok(_) => Ok(Redirect::to(HERE).into_response()),
        Err(ReviewRefusal::Photos(errors)) => {
            render_status(
                &state,
                &headers,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                IdentityInput::default(),
                errors,
            )
            .await
        }
        Err(ReviewRefusal::NotAfterFailure) => Err(AppError::page(
            StatusCode::CONFLICT,
            "无法提交人工审核",
            "只有自动认证失败后才能提交证件照片进行人工审核。",
        )),
        Err(ReviewRefusal::TooManySubmissions) => Err(too_many_submissions()),
    }
}

struct ReviewRow {
    id: String,
    name: String,
    login_name: String,
    submitted: String,
}

/// A unit's review is listed by the unit's name (public), a person's by the masked name.
fn review_row(v: ReviewView) -> ReviewRow {
    let person = match &v.subject {
        Subject::Person(Some(i)) => Some(mask_name(&i.real_name)),
        _ => None,
    };
    ReviewRow {
        id: v.review.id,
        name: v.unit_name.or(person).unwrap_or_default(),
        login_name: v.login_name,
        submitted: local_time(v.review.created_at),
    }
}

#[derive(Template)]
#[template(path = "admin_realname_list.html")]
struct AdminList {
    rows: Vec<ReviewRow>,
    page: i64,
    total: i64,
    has_prev: bool,
    has_next: bool,
}

async fn admin_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let page = q
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    let here = if page == 1 {
        "/admin/realname-reviews".to_owned()
    } else {
        format!("/admin/realname-reviews?page={page}")
    };
    auth::require_admin(&state, &headers, &here).await?;
    let offset = (page - 1) * PAGE_SIZE;
    let (total, reviews) = realname_view::pending(&state, offset, PAGE_SIZE).await?;
    let rows: Vec<ReviewRow> = reviews.into_iter().map(review_row).collect();
    let page_view = AdminList {
        has_prev: page > 1,
        has_next: offset + (rows.len() as i64) < total,
        rows,
        page,
        total,
    };
    pages::render(StatusCode::OK, &page_view)
}

#[derive(Template)]
#[template(path = "admin_realname_detail.html")]
struct AdminDetail<'a> {
    csrf: &'a str,
    id: String,
    state_label: &'static str,
    pending: bool,
    login_name: String,
    /// A unit's review (营业执照 + the legal representative's ID card) rather than a person's.
    is_unit: bool,
    real_name: String,
    document: String,
    submitted: String,
    front: String,
    back: String,
    reason: String,
    decided_reason: Option<String>,
    reason_error: Option<&'static str>,
}

async fn render_detail(
    state: &AppState,
    headers: &HeaderMap,
    view: &ReviewView,
    status: StatusCode,
    reason: &str,
    reason_error: Option<&'static str>,
) -> AppResult<Response> {
    let review = &view.review;
    let (real_name, document) = match &view.subject {
        // What the licence must show: the unit's name, its USCC and its legal representative
        // (in full: the reviewer compares it with the licence and the ID card).
        Subject::Unit(u) => (
            u.unit_name.clone(),
            format!(
                "统一社会信用代码 {}，法定代表人 {}",
                u.uscc, u.legal_representative
            ),
        ),
        Subject::Person(Some(i)) => {
            let label = IdDocumentType::from_code(&i.id_type).map_or("证件", |t| t.label());
            (
                i.real_name.clone(),
                format!("{label} {}", mask_id_number(&i.id_number)),
            )
        }
        Subject::Person(None) => (String::new(), String::new()),
    };
    let (token, cookie) = csrf::token(state, headers);
    let page = AdminDetail {
        csrf: &token,
        id: review.id.clone(),
        state_label: match review.state {
            ReviewState::Pending => "待审核",
            ReviewState::Approved => "已通过",
            ReviewState::Rejected => "已驳回",
        },
        pending: review.state == ReviewState::Pending,
        login_name: view.login_name.clone(),
        is_unit: matches!(view.subject, Subject::Unit(_)),
        real_name,
        document,
        submitted: local_time(review.created_at),
        front: review.front_upload_id.clone(),
        back: review.back_upload_id.clone(),
        reason: reason.to_owned(),
        decided_reason: review.reason.clone(),
        reason_error,
    };
    Ok(pages::with_cookie(pages::render(status, &page)?, cookie))
}

fn no_such_review() -> AppError {
    AppError::page(StatusCode::NOT_FOUND, "未找到", "没有这条审核记录。")
}

async fn admin_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let here = format!("/admin/realname-reviews/{}", urlencoding_path(&id));
    auth::require_admin(&state, &headers, &here).await?;
    let view = realname_view::review(&state, &id)
        .await?
        .ok_or_else(no_such_review)?;
    render_detail(&state, &headers, &view, StatusCode::OK, "", None).await
}

/// Review ids are UUIDs; anything else is dropped from the return path rather than echoed.
fn urlencoding_path(id: &str) -> &str {
    if id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        id
    } else {
        ""
    }
}

async fn admin_decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let here = format!("/admin/realname-reviews/{}", urlencoding_path(&id));
    let admin = auth::require_admin(&state, &headers, &here).await?;
    csrf::check(&state, &headers, form.get("csrf").map(String::as_str))?;
    let view = realname_view::review(&state, &id)
        .await?
        .ok_or_else(no_such_review)?;
    let reason = field(&form, "reason");
    let choice = form.get("decision").map_or("", String::as_str);
    let decision = match realname_view::parse_decision(choice, &reason) {
        Ok(d) => d,
        Err(DecisionRefusal::NoChoice) => {
            let message = DecisionRefusal::NoChoice.message();
            return Err(AppError::page(StatusCode::BAD_REQUEST, "提交失败", message));
        }
        Err(refusal) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let error = Some(refusal.message());
            return render_detail(&state, &headers, &view, status, &reason, error).await;
        }
    };
    if !realname::decide(&state, &admin.account.id, &view.review, &decision).await? {
        return Err(AppError::page(
            StatusCode::CONFLICT,
            "已处理",
            "这条审核已由其他管理员处理。",
        ));
    }
    Ok(Redirect::to("/admin/realname-reviews").into_response())
}

async fn admin_upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let here = format!("/admin/uploads/{}", urlencoding_path(&id));
    auth::require_admin(&state, &headers, &here).await?;
    let (content_type, data) = uploads::open_for_admin(&state, &id)
        .await?
        .ok_or_else(|| AppError::page(StatusCode::NOT_FOUND, "未找到", "没有这个文件。"))?;
    let mut res = data.into_response();
    let h = res.headers_mut();
    let ct = HeaderValue::from_str(&content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, ct);
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
