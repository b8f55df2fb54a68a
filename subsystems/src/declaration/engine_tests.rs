//! The two shipped forms and the engine's rules on them.

use super::*;

fn makerspace() -> FormDef {
    form::builtin("makerspace").unwrap().unwrap()
}

fn incubator() -> FormDef {
    form::builtin("incubator").unwrap().unwrap()
}

/// A makerspace declaration that passes every rule.
pub(crate) fn complete_makerspace() -> Vec<(&'static str, String)> {
    let mut v: Vec<(&str, String)> = vec![
        ("carrier_name", "津门创客空间".into()),
        ("operator_name", "天津示例科技孵化器有限公司".into()),
        ("operator_uscc", "91120116MA05JJ1X4B".into()),
        ("district", "天津经济技术开发区".into()),
        ("address", "天津市滨海新区第三大街1号".into()),
        ("established_date", "2019-05-20".into()),
        ("contact_name", "张三".into()),
        ("is_professional", "否".into()),
        ("national_record", "是".into()),
        ("total_area", "3200.5".into()),
        ("public_area", "800".into()),
        ("services", "创业培训".into()),
        ("services", "投融资对接".into()),
        ("financing_total", "1250.75".into()),
        ("operating_income", "380".into()),
    ];
    for key in [
        "workstations",
        "resident_teams",
        "resident_firms",
        "new_registered_firms",
        "employment",
        "events_held",
        "financed_count",
        "staff_total",
        "staff_full_time",
        "mentors",
    ] {
        v.push((key, "12".into()));
    }
    for key in [
        "summary_overview",
        "summary_services",
        "summary_results",
        "summary_plans",
    ] {
        v.push((key, "本年度运营良好。".into()));
    }
    v
}

fn values(form: &FormDef, pairs: &[(&str, String)]) -> Values {
    Values::from_pairs(form, pairs.iter().map(|(k, v)| (*k, v.as_str())))
}

fn with(
    pairs: &[(&'static str, String)],
    key: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    let mut out: Vec<_> = pairs.iter().filter(|(k, _)| *k != key).cloned().collect();
    out.push((key, value.to_owned()));
    out
}

fn errors(form: &FormDef, pairs: &[(&str, String)]) -> FieldErrors {
    validate(form, &values(form, pairs))
        .err()
        .unwrap_or_default()
}

#[test]
fn shipped_forms_parse_and_hold_the_manuals_fields() {
    for form in [makerspace(), incubator()] {
        for key in [
            "carrier_name",
            "operator_name",
            "district",
            "total_area",
            "services",
            "staff_total",
            "summary_overview",
        ] {
            assert!(form.field(key).is_some(), "{}: {key}", form.code);
        }
        let district = form.field("district").unwrap();
        for zone in [
            "滨海新区高新技术产业开发区",
            "天津港保税区",
            "天津经济技术开发区",
            "中新天津生态城",
            "东疆保税港区",
            "南开区",
        ] {
            assert!(district.options.iter().any(|o| o == zone), "{zone}");
        }
        assert_eq!(
            district.options.len(),
            21,
            "15 districts, 5 zones, the rest of 滨海新区"
        );
        let summaries: Vec<_> = form
            .sections
            .iter()
            .find(|s| s.key == "summary")
            .unwrap()
            .fields
            .iter()
            .collect();
        assert_eq!(summaries.len(), 4);
        assert!(summaries
            .iter()
            .all(|f| f.max_chars == Some(800) && f.required));
        assert_eq!(form.signature_slot().accept, [FileType::Pdf]);
        assert!(form.fields().all(|f| !f.label.is_empty()));
    }
    assert_eq!(form::builtin("nope").map(|r| r.is_ok()), None);
}

#[test]
fn a_complete_declaration_passes() {
    let form = makerspace();
    assert_eq!(
        errors(&form, &complete_makerspace()),
        FieldErrors::default()
    );
}

#[test]
fn drafts_take_partial_data_and_submit_names_every_missing_field() {
    let form = makerspace();
    let v = values(
        &form,
        &[
            ("carrier_name", "只写了名称".into()),
            ("unknown", "x".into()),
        ],
    );
    assert_eq!(v.get("carrier_name"), "只写了名称");
    assert!(v.is_empty("unknown"));
    let e = validate(&form, &v).unwrap_err();
    assert_eq!(e.get("operator_name"), Some("请填写运营主体名称"));
    assert_eq!(e.get("district"), Some("请选择所在区"));
    assert!(e.get("carrier_name").is_none());
    assert!(
        e.get("professional_field").is_none(),
        "not required while 是否… is unanswered"
    );
}

#[test]
fn makerspace_professional_field_required_only_when_professional() {
    let form = makerspace();
    let yes = with(&complete_makerspace(), "is_professional", "是");
    let e = errors(&form, &yes);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        e.get("professional_field"),
        Some("是否为专业化众创空间为“是”时，请填写专业领域")
    );
    assert!(is_required(
        &form,
        "professional_field",
        &values(&form, &yes)
    ));
    let filled = with(&yes, "professional_field", "生物医药");
    assert!(errors(&form, &filled).is_empty());
    // 否: not required, and the empty field is fine.
    let no = with(&complete_makerspace(), "is_professional", "否");
    assert!(errors(&form, &no).is_empty());
    assert!(!is_required(
        &form,
        "professional_field",
        &values(&form, &no)
    ));
}

fn complete_incubator() -> Vec<(&'static str, String)> {
    let form = incubator();
    let mut v: Vec<(&str, String)> = complete_makerspace()
        .into_iter()
        .filter(|(k, _)| form.field(k).is_some() && *k != "services")
        .collect();
    v.extend([
        ("incubator_type", "综合".into()),
        ("national_level", "否".into()),
        ("incubation_area", "2000".into()),
        ("incubation_fund", "500".into()),
        ("total_income", "900.5".into()),
        ("services", "创业辅导".into()),
    ]);
    for key in [
        "incubated_firms",
        "new_incubated_firms",
        "graduated_firms",
        "high_tech_firms",
        "ip_applications",
        "firm_employees",
        "financed_firms",
        "staff_degree",
    ] {
        v.push((key, "7".into()));
    }
    v
}

#[test]
fn incubator_specialised_needs_same_industry_firms_and_field() {
    let form = incubator();
    assert!(
        errors(&form, &complete_incubator()).is_empty(),
        "{:?}",
        errors(&form, &complete_incubator())
    );
    let special = with(&complete_incubator(), "incubator_type", "专业");
    let e = errors(&form, &special);
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(
        e.get("same_industry_firms"),
        Some("孵化器类型为“专业”时，请填写在同一产业领域从事研发、生产的在孵企业数量")
    );
    assert_eq!(
        e.get("tech_field"),
        Some("孵化器类型为“专业”时，请填写专业技术领域")
    );
    let filled = with(
        &with(&special, "same_industry_firms", "15"),
        "tech_field",
        "集成电路",
    );
    assert!(errors(&form, &filled).is_empty());
    let bad_number = with(&filled, "same_industry_firms", "十五");
    assert_eq!(
        errors(&form, &bad_number).get("same_industry_firms"),
        Some("在同一产业领域从事研发、生产的在孵企业数量应为不小于0的整数")
    );
}

#[test]
fn summary_items_count_characters_not_bytes() {
    let form = makerspace();
    let at_limit = "孵".repeat(800);
    assert_eq!(at_limit.len(), 2400, "three bytes each in UTF-8");
    let ok = with(&complete_makerspace(), "summary_results", &at_limit);
    assert!(errors(&form, &ok).is_empty());
    let over = with(&complete_makerspace(), "summary_results", &"孵".repeat(801));
    assert_eq!(
        errors(&form, &over).get("summary_results"),
        Some("孵化成效最多800个字符，当前801个字符")
    );
    // A draft keeps the over-long text so the user can shorten it.
    assert_eq!(
        values(&form, &over).get("summary_results").chars().count(),
        801
    );
}

#[test]
fn choices_outside_the_list_are_refused() {
    let form = makerspace();
    for (key, bad, message) in [
        (
            "district",
            "滨海新区塘沽",
            "所在区的选项无效，请从列表中选择",
        ),
        (
            "is_professional",
            "也许",
            "是否为专业化众创空间的选项无效，请从列表中选择",
        ),
        (
            "services",
            "代办工商",
            "提供的服务的选项无效，请从列表中选择",
        ),
    ] {
        let pairs = if key == "services" {
            let mut p = complete_makerspace();
            p.push((key, bad.into()));
            p
        } else {
            with(&complete_makerspace(), key, bad)
        };
        assert_eq!(errors(&form, &pairs).get(key), Some(message), "{key}");
    }
}

#[test]
fn typed_fields_check_their_format() {
    let form = makerspace();
    for (key, bad) in [
        ("total_area", "3,200"),
        ("workstations", "12.5"),
        ("established_date", "2019-02-30"),
        ("operator_uscc", "91120116MA05JJ1X4C"),
    ] {
        let e = errors(&form, &with(&complete_makerspace(), key, bad));
        assert!(e.get(key).is_some(), "{key}: {e:?}");
        assert_eq!(e.len(), 1, "{key}: {e:?}");
    }
}

#[test]
fn definitions_with_impossible_rules_are_refused() {
    let base = r#"
code = "x"
title = "t"
title_field = "a"
[[sections]]
key = "s"
title = "S"
[[sections.fields]]
key = "a"
label = "A"
kind = "choice"
options = ["甲", "乙"]
[[sections.fields]]
key = "b"
label = "B"
kind = "text"
required_when = { field = "a", equals = "COND" }
[[attachments]]
key = "signature"
label = "签章页"
accept = ["pdf"]
signature = true
"#;
    assert!(FormDef::parse(&base.replace("COND", "甲")).is_ok());
    let err = FormDef::parse(&base.replace("COND", "丙"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not an option"), "{err}");
    let err = FormDef::parse(&base.replace("field = \"a\"", "field = \"zz\""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown"), "{err}");
    assert!(FormDef::parse(&base.replace("accept = [\"pdf\"]", "accept = [\"png\"]")).is_err());
    assert!(FormDef::parse(&base.replace("key = \"b\"", "key = \"a\"")).is_err());
}
