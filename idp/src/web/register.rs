//! Registration pages: the landing page, the legal entity, natural person and quick forms, and
//! the availability check as JSON. Pages work without scripts: "获取验证码" and "检查可用" are
//! submit buttons of the same form (`action=…`) that come back with the values kept and a note
//! next to the field. Passwords are never put back into a form.

use std::{collections::HashMap, net::IpAddr};

use askama::Template;
use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::Deserialize;
use tongyi_shared::{
    api::{error::ErrorBody, register::Availability as ApiAvailability},
    validate::IdDocumentType,
};

use super::extract::{ClientAddr, CsrfForm, FormFields};
use super::{csrf, pages};
use crate::{
    accounts::{
        captcha,
        register::{
            self, Availability, Checkable, DocumentInput, LegalEntityInput, PersonInput,
            QuickInput, RegisterError, Registered, RepresentativeInput, ENTITY_TYPES,
            IDENTITY_REGIONS, TOO_MANY, UNIT_REGIONS,
        },
    },
    error::AppResult,
    state::AppState,
    FieldErrors,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/register", get(landing))
        .route(
            "/register/legal-entity",
            get(legal_entity_page).post(legal_entity_submit),
        )
        .route("/register/person", get(person_page).post(person_submit))
        .route("/register/quick", get(quick_page).post(quick_submit))
        .route("/register/available", get(available))
}

#[derive(Template)]
#[template(path = "register_landing.html")]
struct Landing;

async fn landing() -> AppResult<Response> {
    pages::render(StatusCode::OK, &Landing)
}

/// Which of the three forms.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    LegalEntity,
    Person,
    Quick,
}

impl Form {
    fn path(self) -> &'static str {
        match self {
            Form::LegalEntity => "/register/legal-entity",
            Form::Person => "/register/person",
            Form::Quick => "/register/quick",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Form::LegalEntity => "法人注册",
            Form::Person => "自然人注册",
            Form::Quick => "快速注册",
        }
    }

    /// The field whose mobile receives the SMS code.
    fn sms_mobile(self) -> &'static str {
        match self {
            Form::LegalEntity => "agent_mobile",
            Form::Person | Form::Quick => "mobile",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Password,
    Select,
    Date,
}

struct Opt {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

struct Field {
    name: &'static str,
    label: &'static str,
    kind: Kind,
    value: String,
    options: Vec<Opt>,
    hint: Option<&'static str>,
    error: Option<String>,
    /// A note after an action on this field ("可以使用", "验证码已发送至…").
    note: Option<String>,
    /// A submit button beside the field: (`action` value, label).
    button: Option<(&'static str, &'static str)>,
    autocomplete: &'static str,
}

impl Field {
    fn is_password(&self) -> bool {
        self.kind == Kind::Password
    }
    fn is_select(&self) -> bool {
        self.kind == Kind::Select
    }
    fn is_date(&self) -> bool {
        self.kind == Kind::Date
    }
    /// The ids the input is described by: its hint, note and error.
    fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.name));
        }
        if self.note.is_some() {
            ids.push(format!("{}-note", self.name));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.name));
        }
        ids.join(" ")
    }
}

struct Section {
    legend: &'static str,
    fields: Vec<Field>,
}

#[derive(Template)]
#[template(path = "register_form.html")]
struct FormPage {
    title: &'static str,
    path: &'static str,
    csrf: String,
    intro: Option<&'static str>,
    /// A message for the whole form (rate limit, count of errors).
    alert: Option<String>,
    sections: Vec<Section>,
    captcha_id: String,
    captcha_error: Option<String>,
    agreed: bool,
    agree_error: Option<String>,
}

/// The values typed, errors and notes by field name.
#[derive(Default)]
struct FormState {
    values: HashMap<&'static str, String>,
    errors: FieldErrors,
    notes: HashMap<&'static str, String>,
    alert: Option<String>,
}

impl FormState {
    fn v(&self, name: &str) -> String {
        self.values.get(name).cloned().unwrap_or_default()
    }
}

/// Every field name a form reads (passwords included; they are never rendered back).
fn field_names(form: Form) -> &'static [&'static str] {
    match form {
        Form::LegalEntity => &[
            "login_name",
            "password",
            "password_confirm",
            "entity_type",
            "registration_region",
            "unit_name",
            "uscc",
            "rep_name",
            "rep_id_type",
            "rep_id_number",
            "rep_valid_from",
            "rep_term",
            "rep_valid_to",
            "rep_mobile",
            "agent_name",
            "agent_id_type",
            "agent_id_number",
            "agent_valid_from",
            "agent_term",
            "agent_valid_to",
            "agent_mobile",
            "sms_code",
        ],
        Form::Person => &[
            "login_name",
            "password",
            "password_confirm",
            "real_name",
            "identity_region",
            "id_type",
            "id_number",
            "id_valid_from",
            "id_term",
            "id_valid_to",
            "id_country",
            "mobile",
            "sms_code",
        ],
        Form::Quick => &["mobile", "sms_code", "password", "password_confirm"],
    }
}

fn text(s: &FormState, name: &'static str, label: &'static str) -> Field {
    Field {
        name,
        label,
        kind: Kind::Text,
        value: s.v(name),
        options: vec![],
        hint: None,
        error: s.errors.get(name).map(str::to_owned),
        note: s.notes.get(name).cloned(),
        button: None,
        autocomplete: "off",
    }
}

fn with_hint(mut f: Field, hint: &'static str) -> Field {
    f.hint = Some(hint);
    f
}

fn with_button(mut f: Field, action: &'static str, label: &'static str) -> Field {
    f.button = Some((action, label));
    f
}

fn with_autocomplete(mut f: Field, value: &'static str) -> Field {
    f.autocomplete = value;
    f
}

fn password(s: &FormState, name: &'static str, label: &'static str) -> Field {
    Field {
        kind: Kind::Password,
        value: String::new(),
        autocomplete: "new-password",
        ..text(s, name, label)
    }
}

fn date(s: &FormState, name: &'static str, label: &'static str) -> Field {
    Field {
        kind: Kind::Date,
        ..text(s, name, label)
    }
}

fn select(
    s: &FormState,
    name: &'static str,
    label: &'static str,
    choices: &[(&'static str, &'static str)],
) -> Field {
    let current = s.v(name);
    let mut options = vec![Opt {
        value: "",
        label: "请选择",
        selected: current.is_empty(),
    }];
    options.extend(choices.iter().map(|(value, label)| Opt {
        value,
        label,
        selected: current == *value,
    }));
    Field {
        kind: Kind::Select,
        options,
        ..text(s, name, label)
    }
}

fn id_types() -> Vec<(&'static str, &'static str)> {
    IdDocumentType::ALL
        .iter()
        .map(|t| (t.code(), t.label()))
        .collect()
}

const TERM_CHOICES: [(&str, &str); 4] = [
    ("5", "5年"),
    ("10", "10年"),
    ("20", "20年"),
    ("long_term", "长期"),
];
const VALIDITY_HINT: &str =
    "居民身份证请填写开始日期并选择有效期限；其他证件请填写开始和结束日期。";

/// The document fields of one person, named with `prefix` (`id` / `rep` / `agent`).
fn document_fields(s: &FormState, f: register::DocumentFields) -> Vec<Field> {
    vec![
        select(s, f.id_type, "证件类型", &id_types()),
        text(s, f.id_number, "证件号码"),
        with_hint(date(s, f.valid_from, "证件有效期开始日期"), VALIDITY_HINT),
        select(s, f.term, "有效期限（居民身份证）", &TERM_CHOICES),
        date(s, f.valid_to, "证件有效期结束日期（其他证件）"),
    ]
}

const LOGIN_HINT: &str = "以字母开头，4-30位字母、数字或下划线。";
const PASSWORD_HINT: &str =
    "8-20位，包含大写字母、小写字母、数字、特殊字符中的至少三种，不能与账号相同。";

fn account_section(s: &FormState) -> Section {
    Section {
        legend: "账号信息",
        fields: vec![
            with_button(
                with_hint(
                    with_autocomplete(text(s, "login_name", "账号"), "username"),
                    LOGIN_HINT,
                ),
                "check_login_name",
                "检查可用",
            ),
            with_hint(password(s, "password", "密码"), PASSWORD_HINT),
            password(s, "password_confirm", "确认密码"),
        ],
    }
}

fn sms_field(s: &FormState) -> Field {
    with_hint(
        with_autocomplete(text(s, "sms_code", "短信验证码"), "one-time-code"),
        "获取验证码前请先填写下方的图形验证码。",
    )
}

fn mobile_field(s: &FormState, name: &'static str, label: &'static str) -> Field {
    with_button(
        with_autocomplete(text(s, name, label), "tel"),
        "send_code",
        "获取验证码",
    )
}

fn sections(form: Form, s: &FormState) -> Vec<Section> {
    match form {
        Form::LegalEntity => vec![
            account_section(s),
            Section {
                legend: "单位信息",
                fields: vec![
                    select(s, "entity_type", "法人类型", &ENTITY_TYPES),
                    select(s, "registration_region", "单位注册地", &UNIT_REGIONS),
                    with_button(
                        text(s, "unit_name", "单位名称"),
                        "check_unit_name",
                        "检查可用",
                    ),
                    with_hint(
                        with_button(
                            text(s, "uscc", "统一社会信用代码"),
                            "check_uscc",
                            "检查可用",
                        ),
                        "18位，见营业执照或登记证书。",
                    ),
                ],
            },
            Section {
                legend: "法定代表人",
                fields: {
                    let mut f = vec![text(s, "rep_name", "法定代表人姓名")];
                    f.extend(document_fields(s, register::REP_DOC));
                    f.push(with_autocomplete(
                        text(s, "rep_mobile", "法定代表人手机号"),
                        "tel",
                    ));
                    f
                },
            },
            Section {
                legend: "主代办人",
                fields: {
                    let mut f = vec![text(s, "agent_name", "主代办人姓名")];
                    f.push(mobile_field(s, "agent_mobile", "主代办人手机号"));
                    f.push(sms_field(s));
                    f.extend(document_fields(s, register::AGENT_DOC));
                    f
                },
            },
        ],
        Form::Person => vec![
            account_section(s),
            Section {
                legend: "身份信息",
                fields: {
                    let mut f = vec![
                        with_autocomplete(text(s, "real_name", "真实姓名"), "name"),
                        select(s, "identity_region", "身份类型", &IDENTITY_REGIONS),
                    ];
                    f.extend(document_fields(s, register::PERSON_DOC));
                    f.push(with_hint(
                        text(s, "id_country", "证件签发国家或地区"),
                        "普通护照和外国人永久居留身份证必填。",
                    ));
                    f
                },
            },
            Section {
                legend: "手机验证",
                fields: vec![mobile_field(s, "mobile", "手机号"), sms_field(s)],
            },
        ],
        Form::Quick => vec![
            Section {
                legend: "手机验证",
                fields: vec![mobile_field(s, "mobile", "手机号"), sms_field(s)],
            },
            Section {
                legend: "设置密码",
                fields: vec![
                    with_hint(password(s, "password", "密码"), PASSWORD_HINT),
                    password(s, "password_confirm", "确认密码"),
                ],
            },
        ],
    }
}

const QUICK_INTRO: &str =
    "使用手机号快速注册。注册后可暂时不实名认证，稍后在账户中心完成实名认证并设置账号。";

async fn render_form(
    state: &AppState,
    headers: &HeaderMap,
    form: Form,
    s: FormState,
    agreed: bool,
    status: StatusCode,
) -> AppResult<Response> {
    let (token, cookie) = csrf::token(state, headers);
    let page = FormPage {
        title: form.title(),
        path: form.path(),
        csrf: token,
        intro: (form == Form::Quick).then_some(QUICK_INTRO),
        alert: s.alert.clone(),
        sections: sections(form, &s),
        // Every rendering carries a new challenge: an answered one is used up.
        captcha_id: captcha::issue(&state.store).await?,
        captcha_error: s.errors.get("captcha").map(str::to_owned),
        agreed,
        agree_error: s.errors.get("agree").map(str::to_owned),
    };
    Ok(pages::with_cookie(pages::render(status, &page)?, cookie))
}

async fn legal_entity_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> AppResult<Response> {
    render_form(
        &state,
        &headers,
        Form::LegalEntity,
        FormState::default(),
        false,
        StatusCode::OK,
    )
    .await
}

async fn person_page(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    render_form(
        &state,
        &headers,
        Form::Person,
        FormState::default(),
        false,
        StatusCode::OK,
    )
    .await
}

async fn quick_page(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    render_form(
        &state,
        &headers,
        Form::Quick,
        FormState::default(),
        false,
        StatusCode::OK,
    )
    .await
}

async fn legal_entity_submit(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    CsrfForm(params): CsrfForm<FormFields>,
) -> AppResult<Response> {
    submit(&state, peer, &headers, &params, Form::LegalEntity).await
}

async fn person_submit(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    CsrfForm(params): CsrfForm<FormFields>,
) -> AppResult<Response> {
    submit(&state, peer, &headers, &params, Form::Person).await
}

async fn quick_submit(
    State(state): State<AppState>,
    peer: ClientAddr,
    headers: HeaderMap,
    CsrfForm(params): CsrfForm<FormFields>,
) -> AppResult<Response> {
    submit(&state, peer, &headers, &params, Form::Quick).await
}

fn document(s: &FormState, f: register::DocumentFields) -> DocumentInput {
    DocumentInput {
        id_type: s.v(f.id_type),
        id_number: s.v(f.id_number),
        valid_from: s.v(f.valid_from),
        term: s.v(f.term),
        valid_to: s.v(f.valid_to),
    }
}

#[derive(Template)]
#[template(path = "register_done.html")]
struct Done {
    title: &'static str,
    login_name: String,
    quick: bool,
    realname: Option<&'static str>,
}

/// What a press of one of the form's buttons asks for.
enum Action {
    /// 检查可用 beside a field.
    Check(&'static str, Checkable),
    /// 换一张: the re-rendered form carries a new challenge; nothing else happens.
    NewCaptcha,
    /// 获取验证码.
    SendCode,
    /// 注册.
    Register,
}

impl Action {
    fn parse(form: Form, action: &str) -> Action {
        match action {
            "check_login_name" if form != Form::Quick => {
                Action::Check("login_name", Checkable::LoginName)
            }
            "check_unit_name" if form == Form::LegalEntity => {
                Action::Check("unit_name", Checkable::UnitName)
            }
            "check_uscc" if form == Form::LegalEntity => Action::Check("uscc", Checkable::Uscc),
            "new_captcha" => Action::NewCaptcha,
            "send_code" => Action::SendCode,
            _ => Action::Register,
        }
    }
}

/// One submission of a form: the values typed and the button pressed.
struct Submission {
    form: Form,
    action: Action,
    state: FormState,
    agreed: bool,
    captcha_id: String,
    captcha: String,
}

impl Submission {
    fn read(form: Form, params: &FormFields) -> Submission {
        let mut state = FormState::default();
        for name in field_names(form) {
            state
                .values
                .insert(name, params.get(name).unwrap_or("").to_owned());
        }
        let text = |name: &str| params.get(name).unwrap_or("").to_owned();
        Submission {
            form,
            action: Action::parse(form, params.get("action").unwrap_or("register")),
            state,
            agreed: params.get("agree") == Some("1"),
            captcha_id: text("captcha_id"),
            captcha: text("captcha"),
        }
    }

    fn v(&self, name: &str) -> String {
        self.state.v(name)
    }

    fn legal_entity(&self) -> LegalEntityInput {
        let person = |prefix: &str, f| RepresentativeInput {
            name: self.v(&format!("{prefix}_name")),
            document: document(&self.state, f),
            mobile: self.v(&format!("{prefix}_mobile")),
        };
        LegalEntityInput {
            login_name: self.v("login_name"),
            password: self.v("password"),
            password_confirm: self.v("password_confirm"),
            entity_type: self.v("entity_type"),
            registration_region: self.v("registration_region"),
            unit_name: self.v("unit_name"),
            uscc: self.v("uscc"),
            legal_rep: person("rep", register::REP_DOC),
            agent: person("agent", register::AGENT_DOC),
            sms_code: self.v("sms_code"),
            captcha_id: self.captcha_id.clone(),
            captcha: self.captcha.clone(),
            agreed: self.agreed,
        }
    }

    fn person(&self) -> PersonInput {
        PersonInput {
            login_name: self.v("login_name"),
            password: self.v("password"),
            password_confirm: self.v("password_confirm"),
            real_name: self.v("real_name"),
            identity_region: self.v("identity_region"),
            document: document(&self.state, register::PERSON_DOC),
            id_country: self.v("id_country"),
            mobile: self.v("mobile"),
            sms_code: self.v("sms_code"),
            captcha_id: self.captcha_id.clone(),
            captcha: self.captcha.clone(),
            agreed: self.agreed,
        }
    }

    fn quick(&self) -> QuickInput {
        QuickInput {
            mobile: self.v("mobile"),
            password: self.v("password"),
            password_confirm: self.v("password_confirm"),
            sms_code: self.v("sms_code"),
            captcha_id: self.captcha_id.clone(),
            captcha: self.captcha.clone(),
            agreed: self.agreed,
        }
    }
}

/// Carries out the button's action; `Some` once an account exists. Notes and availability
/// answers are written into the form's state.
async fn perform(
    state: &AppState,
    sub: &mut Submission,
    ip: IpAddr,
) -> Result<Option<Registered>, RegisterError> {
    match sub.action {
        Action::Check(field, what) => {
            let answer = register::check_available(state, what, &sub.v(field), ip).await?;
            if answer == Availability::Available {
                sub.state.notes.insert(field, answer.message().to_owned());
            } else {
                sub.state.errors.insert(field, answer.message());
            }
            Ok(None)
        }
        Action::NewCaptcha => Ok(None),
        Action::SendCode => {
            let mobile_field = sub.form.sms_mobile();
            let receipt = register::send_register_code(
                state,
                mobile_field,
                &sub.v(mobile_field),
                &sub.captcha_id,
                &sub.captcha,
                ip,
            )
            .await?;
            sub.state.notes.insert(
                "sms_code",
                format!("验证码已发送至 {}", receipt.masked_mobile),
            );
            Ok(None)
        }
        Action::Register => match sub.form {
            Form::LegalEntity => {
                register::register_legal_entity(state, &sub.legal_entity(), ip).await
            }
            Form::Person => register::register_person(state, &sub.person(), ip).await,
            Form::Quick => register::register_quick(state, &sub.quick(), ip).await,
        }
        .map(Some),
    }
}

async fn submit(
    state: &AppState,
    peer: ClientAddr,
    headers: &HeaderMap,
    params: &FormFields,
    form: Form,
) -> AppResult<Response> {
    let mut sub = Submission::read(form, params);
    let outcome = perform(state, &mut sub, peer.ip()).await;
    let (mut s, agreed) = (sub.state, sub.agreed);
    let status = match outcome {
        Ok(Some(done)) => return registered(form, done),
        Ok(None) => StatusCode::OK,
        Err(RegisterError::Invalid(errors)) => {
            if matches!(sub.action, Action::Register) {
                let count = errors.len();
                s.alert = Some(format!("有{count}项信息需要修改，请查看标注的字段。"));
            }
            s.errors = errors;
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(RegisterError::TooMany) => {
            s.alert = Some(TOO_MANY.to_owned());
            StatusCode::TOO_MANY_REQUESTS
        }
        Err(RegisterError::Internal(e)) => return Err(e.into()),
    };
    render_form(state, headers, form, s, agreed, status).await
}

fn registered(form: Form, done: Registered) -> AppResult<Response> {
    tracing::info!(account_id = %done.account_id, "account registered");
    let page = Done {
        title: "注册成功",
        login_name: done.login_name,
        quick: form == Form::Quick,
        realname: done.realname.map(|r| r.label()),
    };
    pages::render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub(crate) struct AvailableQuery {
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: String,
}

/// Whether a login name, unit name or USCC can still be registered (the 检查可用 button as
/// JSON, for pages that check while the user types).
#[utoipa::path(get, path = "/register/available", tag = "registration", security(()),
    params(
        ("field" = String, Query, description = "login_name, unit_name or uscc"),
        ("value" = String, Query, description = "the value typed"),
    ),
    responses(
        (status = 200, description = "Well-formed: available or taken", body = ApiAvailability),
        (status = 400, description = "An unknown field (`invalid_request`) or a malformed value (`available` false, with the reason)", body = ApiAvailability),
        (status = 429, description = "Too many checks from this address (`too_many_requests`)", body = ErrorBody),
    ))]
pub(crate) async fn available(
    State(state): State<AppState>,
    peer: ClientAddr,
    Query(q): Query<AvailableQuery>,
) -> AppResult<Response> {
    let Some(what) = Checkable::parse(&q.field) else {
        let body = ErrorBody::new(
            "invalid_request",
            "field 须为 login_name、unit_name 或 uscc",
        );
        return Ok((StatusCode::BAD_REQUEST, Json(body)).into_response());
    };
    let answer = match register::check_available(&state, what, &q.value, peer.ip()).await {
        Ok(a) => a,
        Err(RegisterError::TooMany) => {
            let body = ErrorBody::new("too_many_requests", TOO_MANY);
            return Ok((StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response());
        }
        Err(RegisterError::Invalid(_)) => return Ok(StatusCode::BAD_REQUEST.into_response()),
        Err(RegisterError::Internal(e)) => return Err(e.into()),
    };
    let status = match answer {
        Availability::Invalid(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let body = ApiAvailability {
        field: q.field,
        available: answer == Availability::Available,
        message: answer.message().to_owned(),
    };
    Ok((status, Json(body)).into_response())
}
