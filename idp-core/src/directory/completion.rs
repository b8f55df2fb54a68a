//! 法人信息补全: the unit completion record a unit's admin fills after registration, saved
//! partially while the unit is `registered` or `returned`, checked in full on submit.
//!
//! Stored as a JSON object in `organizations.completion`; the contact mobile and email and the
//! bank account number are sealed there ([`PiiVault`]). They are shown in clear only to the
//! unit's own admin, who edits them; reviewers and platform admins see them masked.

use serde::{Deserialize, Serialize};
use tongyi_shared::{
    mask::{mask_bank_account, mask_mobile},
    validate::Mobile,
};

use super::{
    attachments, fields_ok, required_text, Actor, DirResult, DirectoryError, FieldErrors,
    REGISTERED, RETURNED,
};
use crate::{
    accounts::{
        profile::{mask_email, parse_email},
        register::ENTITY_TYPES,
    },
    pii::{PiiField, PiiVault},
    services::Services,
    store::{self, directory::UnitRecord},
};

/// The statuses in which the unit's admin may change its completion and attachments.
pub const EDITABLE: [&str; 2] = [REGISTERED, RETURNED];

/// 法人性质 (the seeds show the field without its list; this is ours, documented in the API).
pub const LEGAL_PERSON_NATURES: [&str; 11] = [
    "国有企业",
    "集体企业",
    "民营企业",
    "外资企业",
    "港澳台资企业",
    "中外合资企业",
    "事业单位",
    "机关",
    "社会团体",
    "民办非企业单位",
    "其他",
];

/// Cities of the address fields with their districts.
pub const CITIES: [(&str, &[&str]); 2] = [
    (
        "天津市",
        &[
            "和平区",
            "河东区",
            "河西区",
            "南开区",
            "河北区",
            "红桥区",
            "东丽区",
            "西青区",
            "津南区",
            "北辰区",
            "武清区",
            "宝坻区",
            "滨海新区",
            "宁河区",
            "静海区",
            "蓟州区",
        ],
    ),
    (
        "郑州市",
        &[
            "中原区",
            "二七区",
            "管城回族区",
            "金水区",
            "上街区",
            "惠济区",
            "中牟县",
            "巩义市",
            "荥阳市",
            "新密市",
            "新郑市",
            "登封市",
        ],
    ),
];

/// 法人类型 as shown and stored in the completion.
pub fn entity_type_labels() -> Vec<&'static str> {
    ENTITY_TYPES.iter().map(|(_, label)| *label).collect()
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub district: String,
    #[serde(default)]
    pub detail: String,
}

/// The completion in clear (empty strings are unset values).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Completion {
    pub legal_person_nature: String,
    pub entity_type: String,
    pub contact_name: String,
    pub contact_mobile: String,
    pub contact_email: String,
    pub department_id: String,
    pub registered_address: Address,
    pub located_address: Address,
    pub bank_account_name: String,
    pub bank_name: String,
    pub bank_account_number: String,
    pub updated_at: Option<i64>,
}

/// A save: absent fields keep their value, `""` clears one (the directory API's contract
/// type).
pub use tongyi_shared::api::units::{AddressInput, CompletionInput};

fn put(target: &mut String, value: &Option<String>) {
    if let Some(v) = value {
        *target = v.trim().to_owned();
    }
}

fn put_address(target: &mut Address, value: &Option<AddressInput>) {
    if let Some(a) = value {
        put(&mut target.city, &a.city);
        put(&mut target.district, &a.district);
        put(&mut target.detail, &a.detail);
    }
}

impl Completion {
    /// This completion with `input` applied.
    pub fn merged(mut self, input: &CompletionInput) -> Completion {
        put(&mut self.legal_person_nature, &input.legal_person_nature);
        put(&mut self.entity_type, &input.entity_type);
        put(&mut self.contact_name, &input.contact_name);
        put(&mut self.contact_mobile, &input.contact_mobile);
        put(&mut self.contact_email, &input.contact_email);
        put(&mut self.department_id, &input.department_id);
        put_address(&mut self.registered_address, &input.registered_address);
        put_address(&mut self.located_address, &input.located_address);
        put(&mut self.bank_account_name, &input.bank_account_name);
        put(&mut self.bank_name, &input.bank_name);
        put(&mut self.bank_account_number, &input.bank_account_number);
        self
    }

    /// The stored JSON: personal values sealed under their own field.
    pub fn seal(&self, pii: &PiiVault) -> String {
        let mut c = self.clone();
        let seal = |field, v: &str| {
            if v.is_empty() {
                String::new()
            } else {
                pii.seal(field, v)
            }
        };
        c.contact_mobile = seal(PiiField::Mobile, &self.contact_mobile);
        c.contact_email = seal(PiiField::Email, &self.contact_email);
        c.bank_account_number = seal(PiiField::BankAccount, &self.bank_account_number);
        serde_json::to_string(&c).unwrap_or_else(|_| "{}".into())
    }

    /// The stored JSON opened; a value that does not open (another KEK) reads as unset.
    pub fn open(stored: Option<&str>, pii: &PiiVault) -> Completion {
        let Some(mut c) = stored.and_then(|s| serde_json::from_str::<Completion>(s).ok()) else {
            return Completion::default();
        };
        let open = |field, v: &str| {
            if v.is_empty() {
                String::new()
            } else {
                pii.open(field, v).unwrap_or_default()
            }
        };
        c.contact_mobile = open(PiiField::Mobile, &c.contact_mobile);
        c.contact_email = open(PiiField::Email, &c.contact_email);
        c.bank_account_number = open(PiiField::BankAccount, &c.bank_account_number);
        c
    }

    /// The same with the personal values masked, for everyone but the unit's admin.
    pub fn masked(&self) -> Completion {
        let mut c = self.clone();
        c.contact_mobile = mask_mobile(&self.contact_mobile);
        c.contact_email = if self.contact_email.is_empty() {
            String::new()
        } else {
            mask_email(&self.contact_email)
        };
        c.bank_account_number = if self.bank_account_number.is_empty() {
            String::new()
        } else {
            mask_bank_account(&self.bank_account_number)
        };
        c
    }
}

/// Checks the fields of `c`: with `full`, every field must be set; otherwise only the set ones
/// are checked (a partial save). `unit_name` is what the bank account name must equal,
/// `departments` the configured department ids.
pub fn check(c: &Completion, unit_name: &str, departments: &[String], full: bool) -> FieldErrors {
    let mut e = FieldErrors::new();
    let need = |e: &mut FieldErrors, field: &str, value: &str, message: &str| -> bool {
        if value.is_empty() {
            if full {
                e.insert(field.into(), message.into());
            }
            false
        } else {
            true
        }
    };
    if need(
        &mut e,
        "legal_person_nature",
        &c.legal_person_nature,
        "请选择法人性质",
    ) && !LEGAL_PERSON_NATURES.contains(&c.legal_person_nature.as_str())
    {
        e.insert("legal_person_nature".into(), "请选择法人性质".into());
    }
    if need(&mut e, "entity_type", &c.entity_type, "请选择法人类型")
        && !entity_type_labels().contains(&c.entity_type.as_str())
    {
        e.insert("entity_type".into(), "请选择法人类型".into());
    }
    if need(&mut e, "contact_name", &c.contact_name, "请填写联系人姓名") {
        required_text(&mut e, "contact_name", &c.contact_name, 30, "联系人姓名");
    }
    if need(&mut e, "contact_mobile", &c.contact_mobile, "请填写手机号") {
        if let Err(err) = Mobile::parse(&c.contact_mobile) {
            e.insert("contact_mobile".into(), err.message().into());
        }
    }
    if need(&mut e, "contact_email", &c.contact_email, "请填写电子邮箱")
        && parse_email(&c.contact_email).is_none()
    {
        e.insert("contact_email".into(), "请输入正确的电子邮箱".into());
    }
    if need(
        &mut e,
        "department_id",
        &c.department_id,
        "请选择局级（区县）主管部门",
    ) && !departments.contains(&c.department_id)
    {
        e.insert("department_id".into(), "请选择局级（区县）主管部门".into());
    }
    for (name, a) in [
        ("registered_address", &c.registered_address),
        ("located_address", &c.located_address),
    ] {
        let districts = CITIES.iter().find(|(city, _)| *city == a.city);
        if need(&mut e, &format!("{name}.city"), &a.city, "请选择城市") && districts.is_none()
        {
            e.insert(format!("{name}.city"), "请选择城市".into());
        }
        if need(
            &mut e,
            &format!("{name}.district"),
            &a.district,
            "请选择区县",
        ) && !districts.is_some_and(|(_, ds)| ds.contains(&a.district.as_str()))
        {
            e.insert(format!("{name}.district"), "请选择区县".into());
        }
        if need(
            &mut e,
            &format!("{name}.detail"),
            &a.detail,
            "请填写详细地址",
        ) {
            required_text(
                &mut e,
                &format!("{name}.detail"),
                &a.detail,
                200,
                "详细地址",
            );
        }
    }
    if need(
        &mut e,
        "bank_account_name",
        &c.bank_account_name,
        "请填写账户（收款单位）",
    ) && c.bank_account_name != unit_name.trim()
    {
        e.insert(
            "bank_account_name".into(),
            "账户（收款单位）必须与单位名称相同".into(),
        );
    }
    if need(&mut e, "bank_name", &c.bank_name, "请填写开户银行") {
        required_text(&mut e, "bank_name", &c.bank_name, 100, "开户银行");
    }
    if need(
        &mut e,
        "bank_account_number",
        &c.bank_account_number,
        "请填写银行账户",
    ) {
        let digits: String = c
            .bank_account_number
            .chars()
            .filter(|ch| !ch.is_whitespace())
            .collect();
        if !(6..=32).contains(&digits.len()) || !digits.chars().all(|ch| ch.is_ascii_digit()) {
            e.insert(
                "bank_account_number".into(),
                "银行账户应为 6 到 32 位数字".into(),
            );
        }
    }
    e
}

async fn department_ids(state: &Services) -> DirResult<Vec<String>> {
    Ok(store::directory::departments(&state.db)
        .await?
        .into_iter()
        .map(|d| d.id)
        .collect())
}

/// The unit's completion, opened.
pub async fn load(state: &Services, org_id: &str) -> DirResult<Completion> {
    let stored = store::directory::completion(&state.db, org_id).await?;
    Ok(Completion::open(stored.as_deref(), &state.pii))
}

/// The unit's admin saves `input` over the stored completion (partial allowed) while the
/// unit is editable.
pub async fn save(
    state: &Services,
    actor: &Actor,
    unit: &UnitRecord,
    input: &CompletionInput,
) -> DirResult<Completion> {
    actor.require_unit_admin(&unit.id)?;
    require_editable(unit)?;
    let mut merged = load(state, &unit.id).await?.merged(input);
    fields_ok(check(
        &merged,
        &unit.name,
        &department_ids(state).await?,
        false,
    ))?;
    let now = state.clock.now();
    merged.updated_at = Some(now);
    // The UPDATE checks the status again: a submit in between makes this a conflict.
    if !store::directory::set_completion(
        &state.db,
        &unit.id,
        &merged.seal(&state.pii),
        &EDITABLE,
        now,
    )
    .await?
    {
        return Err(not_editable());
    }
    Ok(merged)
}

/// Everything a submit needs: the full completion and a file in each attachment slot.
pub async fn check_submittable(state: &Services, unit: &UnitRecord) -> DirResult<Completion> {
    let c = load(state, &unit.id).await?;
    let mut errors = check(&c, &unit.name, &department_ids(state).await?, true);
    let counts = store::unit_files::count_by_slot(&state.db, &unit.id).await?;
    for (slot, _) in attachments::SLOTS {
        if !counts.iter().any(|(s, n)| s == slot && *n > 0) {
            errors.insert(format!("attachments.{slot}"), "请上传附件".into());
        }
    }
    fields_ok(errors)?;
    Ok(c)
}

pub fn require_editable(unit: &UnitRecord) -> DirResult<()> {
    if EDITABLE.contains(&unit.status.as_str()) {
        Ok(())
    } else {
        Err(not_editable())
    }
}

fn not_editable() -> DirectoryError {
    DirectoryError::Conflict(
        "the completion can change only while the unit is registered or returned".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Completion {
        let addr = Address {
            city: "天津市".into(),
            district: "南开区".into(),
            detail: "卫津路 92 号".into(),
        };
        Completion {
            legal_person_nature: "民营企业".into(),
            entity_type: "企业".into(),
            contact_name: "王五".into(),
            contact_mobile: "13812345678".into(),
            contact_email: "wang@example.com".into(),
            department_id: "dept-a".into(),
            registered_address: addr.clone(),
            located_address: addr,
            bank_account_name: "天津某公司".into(),
            bank_name: "中国银行天津分行".into(),
            bank_account_number: "6222 0212 3456 7890".into(),
            updated_at: None,
        }
    }

    #[test]
    fn completion_full_record_passes() {
        let deps = vec!["dept-a".to_owned()];
        assert!(check(&full(), "天津某公司", &deps, true).is_empty());
    }

    #[test]
    fn completion_fields_refused_with_messages() {
        let deps = vec!["dept-a".to_owned()];
        let mut c = full();
        c.bank_account_name = "别的公司".into();
        c.contact_mobile = "12345".into();
        c.located_address.district = "朝阳区".into();
        c.bank_account_number = "12ab".into();
        let e = check(&c, "天津某公司", &deps, true);
        assert_eq!(
            e.get("bank_account_name").map(String::as_str),
            Some("账户（收款单位）必须与单位名称相同")
        );
        assert!(e.contains_key("contact_mobile"));
        assert!(e.contains_key("located_address.district"));
        assert!(e.contains_key("bank_account_number"));
        assert_eq!(e.len(), 4, "{e:?}");
    }

    #[test]
    fn completion_partial_save_checks_only_set_fields() {
        let deps = vec![];
        let c = Completion {
            contact_name: "王五".into(),
            ..Completion::default()
        };
        assert!(check(&c, "x", &deps, false).is_empty());
        assert_eq!(check(&c, "x", &deps, true).len(), 14);
    }

    #[test]
    fn completion_sealed_and_masked() {
        let pii = PiiVault::new(&[7u8; 32]);
        let c = full();
        let stored = c.seal(&pii);
        assert!(!stored.contains("13812345678"));
        assert!(!stored.contains("3456"));
        assert!(!stored.contains("wang@"));
        assert_eq!(Completion::open(Some(&stored), &pii), c);
        let m = c.masked();
        assert_eq!(m.contact_mobile, "13*****678");
        assert_eq!(m.bank_account_number, "******7890");
    }

    #[test]
    fn completion_save_merges_and_clears() {
        let input: CompletionInput =
            serde_json::from_str(r#"{"bank_name": "", "located_address": {"detail": "新址"}}"#)
                .unwrap();
        let c = full().merged(&input);
        assert_eq!(c.bank_name, "");
        assert_eq!(c.located_address.detail, "新址");
        assert_eq!(c.located_address.city, "天津市");
        assert_eq!(c.contact_name, "王五");
    }
}
