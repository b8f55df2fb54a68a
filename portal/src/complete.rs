//! 信息完善 (seed 003): the chooser of the three completion paths — 评审专家信息完善,
//! 申报个人信息完善 and 申报单位信息完善 — and the two forms that are not a page of their own
//! elsewhere: a natural person registering its unit (and becoming its admin), and the expert
//! application, reviewed by a platform admin.

use askama::Template;
use axum::{
    body::Bytes,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tongyi_shared::{claims::AccountType, org::OrgRole, rp::RpSession, validate::Uscc};

use crate::{
    directory::{ExpertApplication, ExpertInput, UnitRegistration},
    error::Error,
    forms::{FieldErrors, FormData},
    signed_in::{Nav, SignedIn},
    state::AppState,
};

#[derive(Template)]
#[template(path = "complete.html")]
struct ChooserPage {
    nav: Nav,
    person: bool,
    /// The unit path: `unit` (complete the unit it administers) or `register` (a natural
    /// person without a unit registers one) or empty (not for this account).
    unit_path: &'static str,
    /// The person path is open: the account belongs to a unit, or may pick one.
    has_unit: bool,
}

pub async fn chooser(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
) -> Result<Response, Error> {
    let person = session.claims.account_type == Some(AccountType::NaturalPerson);
    let org = session.claims.org.as_ref();
    let unit_path = match (person, org) {
        (_, Some(o)) if o.role == OrgRole::Admin => "unit",
        (true, None) => "register",
        (false, _) => "unit",
        _ => "",
    };
    let page = ChooserPage {
        nav: Nav::for_session(&session, "/complete"),
        person,
        unit_path,
        has_unit: org.is_some(),
    };
    Ok(state.rp.html(StatusCode::OK, page.render()?))
}

fn natural_person(session: &RpSession) -> Result<(), Error> {
    match session.claims.account_type {
        Some(AccountType::NaturalPerson) => Ok(()),
        _ => Err(Error::Forbidden),
    }
}

const ENTITY_TYPES: [&str; 3] = ["企业", "机关事业单位", "社会组织"];

#[derive(Template)]
#[template(path = "unit_registration.html")]
struct RegistrationPage {
    nav: Nav,
    name: String,
    uscc: String,
    entity_type: String,
    entity_types: [&'static str; 3],
    errors: FieldErrors,
    other_errors: Vec<String>,
}

fn registration_page(
    session: &RpSession,
    form: Option<&FormData>,
    errors: FieldErrors,
) -> RegistrationPage {
    let get = |k: &str| form.map(|f| f.get(k).to_owned()).unwrap_or_default();
    let other_errors = errors
        .others(&["name", "uscc", "entity_type"])
        .into_iter()
        .map(str::to_owned)
        .collect();
    RegistrationPage {
        nav: Nav::for_session(session, "/complete"),
        name: get("name"),
        uscc: get("uscc"),
        entity_type: get("entity_type"),
        entity_types: ENTITY_TYPES,
        errors,
        other_errors,
    }
}

pub async fn registration_form(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
) -> Result<Response, Error> {
    natural_person(&session)?;
    if session.claims.org.is_some() {
        return Ok(Redirect::to("/complete").into_response());
    }
    let page = registration_page(&session, None, FieldErrors::default());
    Ok(state.rp.html(StatusCode::OK, page.render()?))
}

pub async fn register_unit(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    body: Bytes,
) -> Result<Response, Error> {
    natural_person(&session)?;
    let form = FormData::parse_checked(&body, &session)?;
    let mut errors = FieldErrors::default();
    let name = form.get("name");
    if name.is_empty() {
        errors.add("name", "请填写单位名称");
    } else if name.chars().count() > 100 {
        errors.add("name", "单位名称不能超过 100 个字");
    }
    let uscc = form.get("uscc").to_ascii_uppercase();
    if uscc.is_empty() {
        errors.add("uscc", "请填写统一社会信用代码");
    } else if Uscc::parse(&uscc).is_err() {
        errors.add("uscc", "统一社会信用代码格式不正确");
    }
    if !ENTITY_TYPES.contains(&form.get("entity_type")) {
        errors.add("entity_type", "请选择法人类型");
    }
    if errors.is_empty() {
        let api = state.config.directory.as_user(&state.rp, &session);
        let input = UnitRegistration {
            name: name.to_owned(),
            uscc,
            entity_type: form.get("entity_type").to_owned(),
        };
        match api.register_unit(&input).await {
            Ok(_) => {
                state.rp.refresh_session(&session).await?;
                return Ok(Redirect::to("/complete/unit").into_response());
            }
            Err(Error::Api(r)) if r.status == 422 => errors = FieldErrors::from_api(&r.fields),
            Err(Error::Api(r)) if r.status == 409 => {
                errors.add("form", "您已属于一个单位，不能再注册单位")
            }
            Err(e) => return Err(e),
        }
    }
    let page = registration_page(&session, Some(&form), errors);
    Ok(state
        .rp
        .html(StatusCode::UNPROCESSABLE_ENTITY, page.render()?))
}

const EXPERT_FIELDS: [&str; 6] = [
    "gender",
    "email",
    "institution",
    "position",
    "title",
    "fields",
];

#[derive(Template)]
#[template(path = "expert.html")]
struct ExpertPage {
    nav: Nav,
    application: Option<ExpertApplication>,
    values: Vec<(&'static str, String)>,
    errors: FieldErrors,
    other_errors: Vec<String>,
    notice: Option<&'static str>,
}

impl ExpertPage {
    fn value(&self, field: &str) -> &str {
        self.values
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Whether the form is open: never submitted, or rejected.
    fn open(&self) -> bool {
        self.application
            .as_ref()
            .is_none_or(|a| a.status == "none" || a.status == "rejected")
    }
}

/// 专业领域 typed as one line: separated by commas, 、 or semicolons.
pub fn split_fields(input: &str) -> Vec<String> {
    input
        .split([',', '，', '、', ';', '；'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn expert_page(
    state: &AppState,
    session: &RpSession,
    form: Option<&FormData>,
    errors: FieldErrors,
    notice: Option<&'static str>,
) -> Result<Response, Error> {
    let api = state.config.directory.as_user(&state.rp, session);
    let application = api.expert().await?;
    let values = EXPERT_FIELDS
        .iter()
        .map(|f| {
            let v = match form {
                Some(form) => form.get(f).to_owned(),
                None => match *f {
                    "gender" => application.gender.clone().unwrap_or_default(),
                    "institution" => application.institution.clone().unwrap_or_default(),
                    "position" => application.position.clone().unwrap_or_default(),
                    "title" => application.title.clone().unwrap_or_default(),
                    "fields" => application.fields.join("、"),
                    _ => String::new(),
                },
            };
            (*f, v)
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let other_errors = errors
        .others(&EXPERT_FIELDS)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let page = ExpertPage {
        nav: Nav::for_session(session, "/complete"),
        application: Some(application),
        values,
        errors,
        other_errors,
        notice,
    };
    Ok(state.rp.html(status, page.render()?))
}

pub async fn expert_form(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(q): Query<DoneQuery>,
) -> Result<Response, Error> {
    natural_person(&session)?;
    let notice = (q.done.as_deref() == Some("submitted")).then_some("已提交，等待平台管理员审核。");
    expert_page(&state, &session, None, FieldErrors::default(), notice).await
}

pub async fn submit_expert(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    body: Bytes,
) -> Result<Response, Error> {
    natural_person(&session)?;
    let form = FormData::parse_checked(&body, &session)?;
    let mut errors = FieldErrors::default();
    if !["男", "女"].contains(&form.get("gender")) {
        errors.add("gender", "请选择性别");
    }
    for (field, message) in [
        ("institution", "请填写工作单位"),
        ("position", "请填写职务"),
        ("title", "请填写职称"),
    ] {
        if form.get(field).is_empty() {
            errors.add(field, message);
        }
    }
    let fields = split_fields(form.get("fields"));
    if fields.is_empty() {
        errors.add("fields", "请填写至少一个专业领域");
    } else if fields.len() > 10 {
        errors.add("fields", "专业领域最多 10 个");
    }
    let email = form.get("email");
    if !email.is_empty() && !email.contains('@') {
        errors.add("email", "请输入正确的电子邮箱");
    }
    if errors.is_empty() {
        // An empty email is the account's own, as when it is left out.
        let input = ExpertInput {
            gender: form.get("gender").to_owned(),
            email: email.to_owned(),
            institution: form.get("institution").to_owned(),
            position: form.get("position").to_owned(),
            title: form.get("title").to_owned(),
            fields,
        };
        let api = state.config.directory.as_user(&state.rp, &session);
        match api.submit_expert(&input).await {
            Ok(_) => return Ok(Redirect::to("/complete/expert?done=submitted").into_response()),
            Err(Error::Api(r)) if r.status == 422 => errors = FieldErrors::from_api(&r.fields),
            Err(e) => return Err(e),
        }
    }
    expert_page(&state, &session, Some(&form), errors, None).await
}

#[cfg(test)]
mod tests {
    use super::split_fields;

    #[test]
    fn fields_of_expertise_split_on_chinese_and_latin_separators() {
        assert_eq!(
            split_fields("人工智能、新材料， 生物医药;;"),
            ["人工智能", "新材料", "生物医药"]
        );
        assert!(split_fields(" ， ").is_empty());
    }
}
