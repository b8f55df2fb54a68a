//! Legacy accounts on the web: `/legacy/lookup` (账号检索, public: USCC or mobile + captcha →
//! outcome and login window), `/legacy/bind` (老用户绑定, signed in: user type + mobile + SMS
//! code), and `GET /api/me/legacy-records` (the caller's linked legacy records, for
//! subsystems, with the user's Bearer access token).

use std::net::IpAddr;

use askama::Template;
use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    routing::get,
    Router,
};
use serde::Deserialize;
use tongyi_shared::{
    api::legacy::{LegacyRecord, LegacyRecords},
    validate::{Mobile, Uscc},
};

use super::{
    api_auth, csrf,
    extract::{ApiCaller, ClientAddr, CsrfForm, FormFields, SignedIn},
    openapi::Unauthorized,
    pages,
};
use crate::{
    accounts::captcha::{self, CaptchaAnswer},
    directory::Actor,
    error::AppResult,
    legacy::{
        binding::{self, BindError},
        lookup::{self, FoundRecord, LookupAnswer, LookupQuery},
        rows::UserType,
    },
    state::AppState,
    store::accounts::Account,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/legacy/lookup", get(lookup_page).post(lookup_submit))
        .route("/legacy/bind", get(bind_page).post(bind_submit))
        .route("/api/me/legacy-records", get(records_api))
}

const CAPTCHA_WRONG: &str = "图形验证码错误，请重新输入。";
const LIMITED: &str = "查询过于频繁，请稍后再试。";

#[derive(Template)]
#[template(path = "legacy_lookup.html")]
struct LookupPage<'a> {
    csrf: &'a str,
    unit: bool,
    identifier: &'a str,
    captcha_id: String,
    identifier_error: Option<&'a str>,
    captcha_error: Option<&'a str>,
    error: Option<&'a str>,
    /// Some(records) after a lookup; empty: nothing found.
    results: Option<Vec<FoundRecord>>,
}

#[derive(Deserialize)]
pub struct TypeQuery {
    #[serde(default, rename = "type")]
    kind: String,
}

struct LookupView<'a> {
    unit: bool,
    identifier: &'a str,
    identifier_error: Option<&'a str>,
    captcha_error: Option<&'a str>,
    error: Option<&'a str>,
    results: Option<Vec<FoundRecord>>,
}

impl LookupView<'_> {
    /// The form of a kind (unit or person), empty.
    fn empty(unit: bool) -> Self {
        LookupView {
            unit,
            identifier: "",
            identifier_error: None,
            captcha_error: None,
            error: None,
            results: None,
        }
    }
}

async fn render_lookup(
    state: &AppState,
    headers: &HeaderMap,
    view: LookupView<'_>,
) -> AppResult<Response> {
    let (token, cookie) = csrf::token(state, headers);
    let status = if view.identifier_error.is_some()
        || view.captcha_error.is_some()
        || view.error.is_some()
    {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = LookupPage {
        csrf: &token,
        unit: view.unit,
        identifier: view.identifier,
        captcha_id: captcha::issue(&state.store).await?,
        identifier_error: view.identifier_error,
        captcha_error: view.captcha_error,
        error: view.error,
        results: view.results,
    };
    Ok(pages::with_cookie(pages::render(status, &page)?, cookie))
}

pub async fn lookup_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TypeQuery>,
) -> AppResult<Response> {
    let view = LookupView::empty(q.kind != "person");
    render_lookup(&state, &headers, view).await
}

pub async fn lookup_submit(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<FormFields>,
) -> AppResult<Response> {
    let get = |name: &str| form.get(name).unwrap_or("").trim();
    let unit = get("kind") != "person";
    let identifier = get("identifier");
    let mut view = LookupView {
        identifier,
        ..LookupView::empty(unit)
    };
    let query = if unit {
        Uscc::parse(identifier).map(LookupQuery::Unit)
    } else {
        Mobile::parse(identifier).map(LookupQuery::Person)
    };
    let query = match query {
        Ok(q) => q,
        Err(e) => {
            view.identifier_error = Some(e.message());
            return render_lookup(&state, &headers, view).await;
        }
    };
    let captcha = CaptchaAnswer {
        id: get("captcha_id"),
        answer: get("captcha"),
    };
    match lookup::lookup(&state, &query, captcha, peer.ip()).await? {
        LookupAnswer::CaptchaWrong => view.captcha_error = Some(CAPTCHA_WRONG),
        LookupAnswer::Limited => view.error = Some(LIMITED),
        LookupAnswer::NotFound => view.results = Some(Vec::new()),
        LookupAnswer::Found(found) => view.results = Some(found),
    }
    render_lookup(&state, &headers, view).await
}

#[derive(Template)]
#[template(path = "legacy_bind.html")]
struct BindPage<'a> {
    csrf: &'a str,
    declarant: bool,
    mobile: &'a str,
    error: Option<&'a str>,
    mobile_error: Option<&'a str>,
    code_error: Option<&'a str>,
    notice: Option<String>,
    /// After a successful binding: the record's masked name.
    bound: Option<String>,
}

#[derive(Default)]
struct BindView<'a> {
    declarant: bool,
    mobile: &'a str,
    error: Option<&'a str>,
    mobile_error: Option<&'a str>,
    code_error: Option<&'a str>,
    notice: Option<String>,
    bound: Option<String>,
}

fn render_bind(state: &AppState, headers: &HeaderMap, v: BindView<'_>) -> AppResult<Response> {
    let (token, cookie) = csrf::token(state, headers);
    let status = if v.error.is_some() || v.mobile_error.is_some() || v.code_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = BindPage {
        csrf: &token,
        declarant: v.declarant,
        mobile: v.mobile,
        error: v.error,
        mobile_error: v.mobile_error,
        code_error: v.code_error,
        notice: v.notice,
        bound: v.bound,
    };
    Ok(pages::with_cookie(pages::render(status, &page)?, cookie))
}

pub async fn bind_page(
    State(state): State<AppState>,
    _user: SignedIn,
    headers: HeaderMap,
) -> AppResult<Response> {
    render_bind(
        &state,
        &headers,
        BindView {
            declarant: true,
            ..BindView::default()
        },
    )
}

/// What a step of 老用户绑定 did.
enum Bound {
    /// A code went to the masked mobile.
    CodeSent(String),
    /// The record (by its display name) is now the account's.
    Record(String),
}

async fn bind_step(
    state: &AppState,
    account: &Account,
    form: &FormFields,
    user_type: UserType,
    mobile: &Mobile,
    ip: IpAddr,
) -> Result<Bound, BindError> {
    if form.get("action") == Some("send_code") {
        let receipt = binding::request_code(state, account, user_type, mobile, ip).await?;
        return Ok(Bound::CodeSent(receipt.masked_mobile));
    }
    let code = form.get("code").unwrap_or("").trim();
    let record = binding::bind(state, account, user_type, mobile, code, ip).await?;
    Ok(Bound::Record(record.display_name))
}

pub async fn bind_submit(
    State(state): State<AppState>,
    peer: ClientAddr,
    user: SignedIn,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<FormFields>,
) -> AppResult<Response> {
    let get = |name: &str| form.get(name).unwrap_or("").trim();
    let user_type = UserType::parse(get("user_type")).unwrap_or(UserType::Declarant);
    let mut view = BindView {
        declarant: user_type == UserType::Declarant,
        mobile: get("mobile"),
        ..BindView::default()
    };
    let mobile = match Mobile::parse(view.mobile) {
        Ok(m) => m,
        Err(e) => {
            view.mobile_error = Some(e.message());
            return render_bind(&state, &headers, view);
        }
    };
    let normalized = mobile.as_str().to_owned();
    view.mobile = &normalized;
    let code_message;
    match bind_step(&state, &user.account, &form, user_type, &mobile, peer.ip()).await {
        Ok(Bound::CodeSent(masked)) => view.notice = Some(format!("验证码已发送至 {masked}。")),
        Ok(Bound::Record(name)) => view.bound = Some(tongyi_shared::mask::mask_name(&name)),
        Err(BindError::Refused(message)) => view.error = Some(message),
        Err(BindError::Code(message)) => {
            code_message = message;
            view.code_error = Some(&code_message);
        }
        Err(BindError::Internal(e)) => return Err(e.into()),
    }
    render_bind(&state, &headers, view)
}

/// The legacy records linked to the caller's account, for subsystems (docs/integration.md §8).
///
/// A record reaches an account by the import, by 老用户绑定, or when the person or unit
/// registers anew with the same document or USCC. No personal data is returned.
#[utoipa::path(get, path = "/api/me/legacy-records", tag = "legacy",
    responses(
        (status = 200, description = "The records, by link time", body = LegacyRecords),
        (status = 401, response = Unauthorized),
    ))]
async fn records_api(
    State(state): State<AppState>,
    ApiCaller(Actor { account, .. }): ApiCaller,
) -> Response {
    match lookup::records_of(&state, &account.id).await {
        Ok(records) => api_auth::ok_json(LegacyRecords {
            records: records
                .into_iter()
                .map(|r| LegacyRecord {
                    source: r.source,
                    kind: r.kind,
                    legacy_id: r.legacy_id,
                    user_type: r.user_type,
                    outcome: r.outcome,
                    linked_via: r.linked_via,
                    linked_at: r.linked_at,
                    subsystems: r.subsystems,
                })
                .collect(),
        }),
        Err(e) => api_auth::internal(e.into()),
    }
}
