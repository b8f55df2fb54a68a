//! 法人信息补全: the admin of a unit (its legal-entity account, or the natural person who
//! registered it) completes the unit's information and attachments, saves, submits it to the
//! chosen department, sees its state and, when returned, the reason; then edits and resubmits.
//! Uploads are passed to the IdP as they arrive, one file at a time, never held whole here.

use askama::Template;
use axum::{
    body::{Body, Bytes},
    extract::{Multipart, Path, Query, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use tongyi_shared::{claims::OrgClaim, rp::RpSession};

use crate::{
    directory::{
        self, Address, AddressInput, Attachment, Choices, Completion, CompletionInput, UnitDetail,
    },
    error::Error,
    forms::{FieldErrors, FormData},
    pages::{fmt_time, status_label, valid_id},
    signed_in::{Account, Nav, SignedIn},
    state::AppState,
    upload,
};

/// The risk commitment letter users download, print, sign, stamp and upload again.
const RISK_COMMITMENT_TEMPLATE: &str = include_str!("../assets/risk_commitment_template.txt");

/// The text fields of the form, by their names in the form (nested API fields flattened).
const TEXT_FIELDS: [&str; 15] = [
    "legal_person_nature",
    "entity_type",
    "contact_name",
    "contact_mobile",
    "contact_email",
    "department_id",
    "registered_address_city",
    "registered_address_district",
    "registered_address_detail",
    "located_address_city",
    "located_address_district",
    "located_address_detail",
    "bank_account_name",
    "bank_name",
    "bank_account_number",
];

/// The attachment slots when the IdP does not name them.
const DEFAULT_SLOTS: [(&str, &str); 3] = [
    ("business_licence", "营业执照 / 事业单位法人证书"),
    ("risk_commitment", "风险承诺书（签字盖章）"),
    ("bank_permit", "银行开户许可证"),
];

/// The form's values by field name.
#[derive(Default)]
pub struct Values(Vec<(&'static str, String)>);

impl Values {
    pub fn get(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    fn from_form(form: &FormData) -> Values {
        Values(
            TEXT_FIELDS
                .iter()
                .map(|f| (*f, form.get(f).to_owned()))
                .collect(),
        )
    }

    fn from_completion(c: &Completion) -> Values {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        let addr = |a: &Address| (a.city.clone(), a.district.clone(), a.detail.clone());
        let (rc, rd, rx) = addr(&c.registered_address);
        let (lc, ld, lx) = addr(&c.located_address);
        Values(vec![
            ("legal_person_nature", o(&c.legal_person_nature)),
            ("entity_type", o(&c.entity_type)),
            ("contact_name", o(&c.contact_name)),
            ("contact_mobile", o(&c.contact_mobile)),
            ("contact_email", o(&c.contact_email)),
            ("department_id", o(&c.department_id)),
            ("registered_address_city", rc),
            ("registered_address_district", rd),
            ("registered_address_detail", rx),
            ("located_address_city", lc),
            ("located_address_district", ld),
            ("located_address_detail", lx),
            ("bank_account_name", o(&c.bank_account_name)),
            ("bank_name", o(&c.bank_name)),
            ("bank_account_number", o(&c.bank_account_number)),
        ])
    }

    /// The body of `PUT /api/units/{id}/completion`: every field as entered ("" clears); a
    /// field these values lack is left out (kept as stored).
    pub fn to_api(&self) -> CompletionInput {
        let v = |field: &str| {
            self.0
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, value)| value.clone())
        };
        let address = |prefix: &str| {
            Some(AddressInput {
                city: v(&format!("{prefix}_city")),
                district: v(&format!("{prefix}_district")),
                detail: v(&format!("{prefix}_detail")),
            })
        };
        CompletionInput {
            legal_person_nature: v("legal_person_nature"),
            entity_type: v("entity_type"),
            contact_name: v("contact_name"),
            contact_mobile: v("contact_mobile"),
            contact_email: v("contact_email"),
            department_id: v("department_id"),
            registered_address: address("registered_address"),
            located_address: address("located_address"),
            bank_account_name: v("bank_account_name"),
            bank_name: v("bank_name"),
            bank_account_number: v("bank_account_number"),
        }
    }
}

/// Checks what the portal can check before asking the IdP (which checks everything again).
pub fn check(values: &Values, unit_name: &str, submitting: bool) -> FieldErrors {
    let mut e = FieldErrors::default();
    if submitting {
        let labels = [
            ("legal_person_nature", "请选择法人性质"),
            ("entity_type", "请选择法人类型"),
            ("contact_name", "请填写联系人姓名"),
            ("contact_mobile", "请填写联系人手机号码"),
            ("contact_email", "请填写联系人电子邮箱"),
            ("department_id", "请选择局级（区县）主管部门"),
            ("registered_address_city", "请选择注册地址所在城市"),
            ("registered_address_district", "请选择注册地址所在区县"),
            ("registered_address_detail", "请填写注册地址详细地址"),
            ("located_address_city", "请选择所在地址城市"),
            ("located_address_district", "请选择所在地址区县"),
            ("located_address_detail", "请填写所在地址详细地址"),
            ("bank_account_name", "请填写账户（收款单位）"),
            ("bank_name", "请填写开户银行"),
            ("bank_account_number", "请填写银行账户"),
        ];
        for (field, message) in labels {
            if values.get(field).is_empty() {
                e.add(field, message);
            }
        }
    }
    let mobile = values.get("contact_mobile");
    if !mobile.is_empty() && tongyi_shared::validate::Mobile::parse(mobile).is_err() {
        e.add("contact_mobile", "请输入正确的手机号码");
    }
    let email = values.get("contact_email");
    let email_ok = email.contains('@') && email.len() <= 100;
    if !email.is_empty() && !email_ok {
        e.add("contact_email", "请输入正确的电子邮箱");
    }
    let account_name = values.get("bank_account_name");
    if !account_name.is_empty() && account_name != unit_name {
        e.add("bank_account_name", "账户（收款单位）必须与单位名称相同");
    }
    let number: String = values
        .get("bank_account_number")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let number_ok = (6..=32).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit());
    if !number.is_empty() && !number_ok {
        e.add("bank_account_number", "银行账户应为 6–32 位数字");
    }
    e
}

struct Slot {
    slot: String,
    label: String,
    files: Vec<Attachment>,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "unit.html")]
struct UnitPage {
    nav: Nav,
    unit: UnitDetail,
    status: &'static str,
    department: String,
    return_reason: Option<String>,
    choices: Choices,
    values: Values,
    errors: FieldErrors,
    other_errors: Vec<String>,
    slots: Vec<Slot>,
    history: Vec<(String, String)>,
    notice: Option<&'static str>,
    max_mb: u64,
}

impl UnitPage {
    /// A choice list whose values are their own labels.
    fn options_of(&self, list: &[String]) -> Vec<(String, String)> {
        list.iter().map(|v| (v.clone(), v.clone())).collect()
    }

    fn departments(&self) -> Vec<(String, String)> {
        self.choices
            .departments
            .iter()
            .map(|d| (d.id.clone(), d.name.clone()))
            .collect()
    }
}

fn admin_unit(session: &RpSession) -> Result<OrgClaim, Error> {
    Account::of(session)
        .admin_of()
        .cloned()
        .ok_or(Error::Forbidden)
}

/// The Chinese message of an upload refusal, by the IdP's error code.
pub fn upload_message(code: &str) -> &'static str {
    match code {
        "file_too_large" => "文件不能超过 10 MB",
        "unsupported_type" => "只能上传 PDF、JPG 或 PNG 文件",
        "type_mismatch" => "文件内容与扩展名不符",
        "no_file" => "请选择要上传的文件",
        "invalid_transition" => "单位信息审核中或已通过，不能修改附件",
        _ => "文件上传失败，请重试",
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct UnitQuery {
    #[serde(default)]
    done: Option<String>,
    /// The slot whose upload was refused, and the IdP's code.
    #[serde(default)]
    slot: Option<String>,
    #[serde(default)]
    refused: Option<String>,
}

async fn render(
    state: &AppState,
    session: &RpSession,
    org: &OrgClaim,
    values: Option<Values>,
    errors: FieldErrors,
    q: UnitQuery,
) -> Result<Response, Error> {
    let api = state.config.directory.as_user(&state.rp, session);
    let unit = api.unit(&org.id).await?;
    let choices = match api.choices().await {
        Ok(c) => c,
        Err(Error::Api(r)) if r.status == 404 || r.status == 405 => Choices {
            departments: api.departments().await?,
            ..Choices::default()
        },
        Err(e) => return Err(e),
    };
    let values = values.unwrap_or_else(|| Values::from_completion(&unit.completion));
    let slot_list: Vec<(String, String)> = if choices.attachment_slots.is_empty() {
        DEFAULT_SLOTS
            .iter()
            .map(|(s, l)| (s.to_string(), l.to_string()))
            .collect()
    } else {
        choices
            .attachment_slots
            .iter()
            .map(|s| (s.slot.clone(), s.label.clone()))
            .collect()
    };
    let slots = slot_list
        .into_iter()
        .map(|(slot, label)| Slot {
            files: unit
                .attachments
                .iter()
                .filter(|a| a.slot == slot)
                .cloned()
                .collect(),
            error: errors
                .get(&format!("attachments_{slot}"))
                .map(|_| "请上传此附件")
                .or_else(|| {
                    (q.slot.as_deref() == Some(slot.as_str()))
                        .then(|| upload_message(q.refused.as_deref().unwrap_or("")))
                }),
            slot,
            label,
        })
        .collect();
    let mut known: Vec<&str> = TEXT_FIELDS.to_vec();
    let slot_fields: Vec<String> = DEFAULT_SLOTS
        .iter()
        .map(|(s, _)| format!("attachments_{s}"))
        .collect();
    known.extend(slot_fields.iter().map(String::as_str));
    let other_errors = errors
        .others(&known)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let history = unit
        .history
        .iter()
        .map(|h| {
            let what = match h.action.as_str() {
                "submit" => "提交审核".to_owned(),
                "approve" => "主管部门审核通过".to_owned(),
                "return" => format!("主管部门退回：{}", h.reason.clone().unwrap_or_default()),
                other => other.to_owned(),
            };
            (fmt_time(h.at), what)
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let notice = match q.done.as_deref() {
        Some("saved") => Some("已保存。"),
        Some("submitted") => Some("已提交，等待主管部门审核。"),
        Some("uploaded") => Some("附件已上传。"),
        Some("deleted") => Some("附件已删除。"),
        _ => None,
    };
    let page = UnitPage {
        nav: Nav::for_session(session, "/complete"),
        status: status_label(unit.unit.status.as_str()),
        department: unit
            .unit
            .department
            .as_ref()
            .and_then(|d| d.name.clone())
            .unwrap_or_default(),
        return_reason: directory::return_reason(&unit).map(str::to_owned),
        max_mb: if choices.max_file_bytes > 0 {
            choices.max_file_bytes / (1024 * 1024)
        } else {
            10
        },
        unit,
        choices,
        values,
        errors,
        other_errors,
        slots,
        history,
        notice,
    };
    Ok(state.rp.html(status, page.render()?))
}

pub async fn show(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(q): Query<UnitQuery>,
) -> Result<Response, Error> {
    let org = admin_unit(&session)?;
    render(&state, &session, &org, None, FieldErrors::default(), q).await
}

/// Saves (`action=save`) or saves and submits (`action=submit`) the completion.
pub async fn save(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    body: Bytes,
) -> Result<Response, Error> {
    let org = admin_unit(&session)?;
    let form = FormData::parse_checked(&body, &session)?;
    let submitting = form.get("action") == "submit";
    let values = Values::from_form(&form);
    let mut errors = check(&values, &org.name, submitting);
    if errors.is_empty() {
        let api = state.config.directory.as_user(&state.rp, &session);
        let saved = api.save_completion(&org.id, &values.to_api()).await;
        let result = match saved {
            Ok(_) if submitting => api.submit_unit(&org.id).await.map(|_| ()),
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                if submitting {
                    // The claims now say pending_review: show it at once.
                    state.rp.refresh_session(&session).await?;
                }
                let done = if submitting { "submitted" } else { "saved" };
                return Ok(Redirect::to(&format!("/complete/unit?done={done}")).into_response());
            }
            Err(Error::Api(r)) if r.status == 422 => errors = FieldErrors::from_api(&r.fields),
            Err(e) => return Err(e),
        }
    }
    render(
        &state,
        &session,
        &org,
        Some(values),
        errors,
        UnitQuery::default(),
    )
    .await
}

/// `multipart/form-data`: the `csrf` field first, then one or more `file` fields. Each file
/// goes to the IdP as a stream; the first refusal stops and is shown at the slot.
pub async fn upload(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(slot): Path<String>,
    multipart: Multipart,
) -> Result<Response, Error> {
    let org = admin_unit(&session)?;
    if !DEFAULT_SLOTS.iter().any(|(s, _)| *s == slot) {
        return Err(Error::NotFound);
    }
    let api = state.config.directory.as_user(&state.rp, &session);
    let outcome = upload::forward(&api, &session, &org.id, &slot, multipart).await?;
    let to = match outcome {
        upload::Outcome::Stored => "/complete/unit?done=uploaded".to_owned(),
        upload::Outcome::Refused(code) => {
            format!("/complete/unit?slot={slot}&refused={code}#slot-{slot}")
        }
    };
    Ok(Redirect::to(&to).into_response())
}

pub async fn delete_attachment(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path(attachment_id): Path<String>,
    body: Bytes,
) -> Result<Response, Error> {
    let org = admin_unit(&session)?;
    FormData::parse_checked(&body, &session)?;
    if !valid_id(&attachment_id) {
        return Err(Error::NotFound);
    }
    let api = state.config.directory.as_user(&state.rp, &session);
    api.delete_attachment(&org.id, &attachment_id).await?;
    Ok(Redirect::to("/complete/unit?done=deleted").into_response())
}

pub async fn template() -> Response {
    let mut res = Response::new(Body::from(RISK_COMMITMENT_TEMPLATE));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(
            "attachment; filename=\"risk-commitment.txt\"; filename*=UTF-8''%E9%A3%8E%E9%99%A9%E6%89%BF%E8%AF%BA%E4%B9%A6%E6%A8%A1%E6%9D%BF.txt",
        ),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(unit: &str) -> Values {
        Values(
            TEXT_FIELDS
                .iter()
                .map(|f| {
                    let v = match *f {
                        "contact_mobile" => "13912345678",
                        "contact_email" => "a@example.com",
                        "bank_account_name" => unit,
                        "bank_account_number" => "6222 0000 1111",
                        _ => "x",
                    };
                    (*f, v.to_owned())
                })
                .collect(),
        )
    }

    #[test]
    fn a_complete_form_passes_and_maps_to_the_api() {
        let v = filled("示例单位");
        assert!(check(&v, "示例单位", true).is_empty());
        // As sent on the wire.
        let body = serde_json::to_value(v.to_api()).unwrap();
        assert_eq!(body["registered_address"]["city"], "x");
        assert_eq!(body["located_address"]["detail"], "x");
        assert_eq!(body["bank_account_name"], "示例单位");
        assert!(body.get("registered_address_city").is_none());
    }

    #[test]
    fn field_messages() {
        let mut v = filled("别的单位");
        let e = check(&v, "示例单位", false);
        assert_eq!(
            e.get("bank_account_name"),
            Some("账户（收款单位）必须与单位名称相同")
        );
        v.0.retain(|(f, _)| *f != "contact_name");
        v.0.push(("contact_name", String::new()));
        let e = check(&v, "示例单位", true);
        assert_eq!(e.get("contact_name"), Some("请填写联系人姓名"));
        assert!(
            check(&v, "示例单位", false).get("contact_name").is_none(),
            "saving a draft allows gaps"
        );
        let mut v = filled("示例单位");
        v.0.retain(|(f, _)| *f != "contact_mobile");
        v.0.push(("contact_mobile", "12345".into()));
        assert_eq!(
            check(&v, "示例单位", false).get("contact_mobile"),
            Some("请输入正确的手机号码")
        );
    }

    #[test]
    fn upload_refusals_in_chinese() {
        assert_eq!(upload_message("file_too_large"), "文件不能超过 10 MB");
        assert_eq!(upload_message("type_mismatch"), "文件内容与扩展名不符");
    }
}
