//! A declaration's whole way over real HTTP with the IdP (SPEC §4, seed 002): from the portal
//! into the incubator without a second login, add, save a draft, submit with errors shown at
//! the fields, export as Word, upload the signed PDF (limits and content checks), submit, be
//! returned by the reviewer with a reason, fix, resubmit, be approved. A declarant without the
//! makerspace grant is refused there, and the portal's logout ends the incubator's session.
//!
//! A unit's admin lists and reads, never edits, the declarations of its unit's members, and
//! nothing of another unit's (issue 15 item 9; seed 002: 登录法人账号后，可以看到本单位全部个人
//! 用户的信息).

use std::io::{Cursor, Read};

use reqwest::{multipart, StatusCode};

use crate::{
    harness::{
        hidden, log_in_at_idp, Browser, Page, Platform, PlatformOptions, ADMIN_PASSWORD,
        PERSON_PASSWORD, UNIT_PASSWORD,
    },
    pg::PgStorage,
};

const CARRIER: &str = "津南智造科技企业孵化器";

/// Every field of the incubator form filled so that it passes; `type` 综合.
fn complete_values() -> Vec<(&'static str, String)> {
    let mut v: Vec<(&str, String)> = vec![
        ("carrier_name", CARRIER.into()),
        ("operator_name", "天津示例科技孵化器有限公司".into()),
        ("operator_uscc", "91120116MA05JJ1X4B".into()),
        ("district", "天津经济技术开发区".into()),
        ("address", "天津市滨海新区第三大街1号".into()),
        ("established_date", "2018-03-15".into()),
        ("contact_name", "张三".into()),
        ("incubator_type", "综合".into()),
        ("national_level", "否".into()),
        ("total_area", "12000.5".into()),
        ("incubation_area", "8000".into()),
        ("public_area", "1500".into()),
        ("services", "创业辅导".into()),
        ("services", "投融资服务".into()),
        ("incubation_fund", "2000".into()),
        ("financing_total", "3500.25".into()),
        ("total_income", "980".into()),
    ];
    for key in [
        "incubated_firms",
        "new_incubated_firms",
        "graduated_firms",
        "high_tech_firms",
        "ip_applications",
        "firm_employees",
        "financed_firms",
        "staff_total",
        "staff_degree",
        "mentors",
    ] {
        v.push((key, "18".into()));
    }
    for key in [
        "summary_overview",
        "summary_services",
        "summary_results",
        "summary_plans",
    ] {
        v.push((key, "本年度孵化器运营平稳，服务能力持续提升。".into()));
    }
    v
}

async fn post(
    b: &Browser,
    url: &str,
    csrf: &str,
    intent: Option<&str>,
    values: &[(&str, String)],
) -> Page {
    let mut form: Vec<(&str, &str)> = vec![("csrf", csrf)];
    if let Some(i) = intent {
        form.push(("intent", i));
    }
    form.extend(values.iter().map(|(k, v)| (*k, v.as_str())));
    b.submit(url, &form).await
}

async fn upload(b: &Browser, url: &str, csrf: &str, name: &str, data: Vec<u8>) -> Page {
    let form = multipart::Form::new().text("csrf", csrf.to_owned()).part(
        "file",
        multipart::Part::bytes(data)
            .file_name(name.to_owned())
            .mime_str("application/pdf")
            .unwrap(),
    );
    let res = b.http.post(url).multipart(form).send().await.unwrap();
    if res.status().is_redirection() {
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        let next = res.url().join(&location).unwrap().to_string();
        return b.open(&next).await;
    }
    Page {
        url: res.url().to_string(),
        status: res.status(),
        html: res.text().await.unwrap(),
        trail: vec![url.to_owned()],
    }
}

fn pdf(len: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.4\n%signed scan\n".to_vec();
    v.resize(len, b'0');
    v
}

/// The files the subsystem keeps (its staging directory aside).
fn stored_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter(|e| e.as_ref().unwrap().file_type().unwrap().is_file())
                .count()
        })
        .unwrap_or(0)
}

fn staged_files(dir: &std::path::Path) -> usize {
    stored_files(&dir.join(".staging"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declaration_submitted_returned_resubmitted_approved() {
    let p = Platform::start_with(with_other_unit()).await;
    let person = Browser::new();
    let idp_login = format!("{}/login", p.idp);
    let inc = &p.incubator;

    // Log in once at the portal; the incubator then lets the person in without a password.
    let login = person.open(&format!("{}/auth/login", p.portal)).await;
    let home = log_in_at_idp(&person, &p.idp, &login, "demo_person", PERSON_PASSWORD).await;
    assert_eq!(home.status, StatusCode::OK);
    let home = person.open(&format!("{inc}/auth/login")).await;
    assert!(
        !home.passed(&idp_login),
        "SSO: no second login {:?}",
        home.trail
    );
    assert_eq!(home.url, format!("{inc}/"));
    assert!(
        home.html.contains("我的申报") && home.html.contains("暂无申报"),
        "{}",
        home.html
    );
    // …and the makerspace, for which the person holds no grant, refuses with whom to ask.
    let refused = person.open(&format!("{}/auth/login", p.makerspace)).await;
    assert!(!refused.passed(&idp_login));
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.html.contains("单位管理员"));

    // 增加: the empty form, every control named by its field key and labelled.
    let new = person.open(&format!("{inc}/declarations/new")).await;
    assert_eq!(new.status, StatusCode::OK);
    for control in [
        "id=\"carrier_name\" name=\"carrier_name\"",
        "<label class=\"label\" for=\"carrier_name\">",
        "id=\"district\" name=\"district\"",
        "<option value=\"天津港保税区\">",
        "id=\"summary_overview\" name=\"summary_overview\"",
        "id=\"save\"",
    ] {
        assert!(
            new.html.contains(control),
            "{control} missing:\n{}",
            new.html
        );
    }
    let csrf = hidden(&new.html, "csrf");

    // A form without the session's CSRF token changes nothing.
    let forged = post(
        &person,
        &format!("{inc}/declarations/new"),
        "forged",
        Some("save"),
        &[("carrier_name", "x".into())],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // 暂存 with almost nothing filled: accepted as a draft.
    let draft = post(
        &person,
        &format!("{inc}/declarations/new"),
        &csrf,
        Some("save"),
        &[
            ("carrier_name", CARRIER.into()),
            ("incubator_type", "专业".into()),
        ],
    )
    .await;
    assert_eq!(draft.status, StatusCode::OK, "{}", draft.html);
    assert!(draft.url.contains("/edit?notice=created"), "{}", draft.url);
    let id = draft
        .url
        .split("/declarations/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let edit_url = format!("{inc}/declarations/{id}/edit");
    assert!(draft.html.contains(&format!("value=\"{CARRIER}\"")));

    // 提交 too early: the errors are next to their fields, tied by aria-describedby.
    let mut values = complete_values();
    values.retain(|(k, _)| *k != "incubator_type");
    values.push(("incubator_type", "专业".into()));
    values.retain(|(k, _)| *k != "summary_plans");
    values.push(("summary_plans", "划".repeat(801)));
    let early = post(&person, &edit_url, &csrf, Some("submit"), &values).await;
    assert_eq!(
        early.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        early.html
    );
    for (key, message) in [
        (
            "same_industry_firms",
            "孵化器类型为“专业”时，请填写在同一产业领域从事研发、生产的在孵企业数量",
        ),
        ("tech_field", "孵化器类型为“专业”时，请填写专业技术领域"),
        (
            "summary_plans",
            "存在问题及下一年度工作计划最多800个字符，当前801个字符",
        ),
        ("signature", "请上传签章页"),
    ] {
        assert!(
            early.html.contains(&format!(
                "<p class=\"field-error\" id=\"{key}-error\">{message}"
            )),
            "{key}: {}",
            early.html
        );
    }
    assert!(early
        .html
        .contains("aria-describedby=\"tech_field-help tech_field-error\""));
    // What was typed is kept (the draft was saved on the way).
    assert!(early.html.contains(&"划".repeat(801)));

    // Fix the fields: 专业 with its two conditional fields, 800 characters exactly.
    values.retain(|(k, _)| *k != "summary_plans");
    values.push(("summary_plans", "划".repeat(800)));
    values.push(("same_industry_firms", "12".into()));
    values.push(("tech_field", "智能制造".into()));
    let saved = post(&person, &edit_url, &csrf, Some("save"), &values).await;
    assert_eq!(saved.status, StatusCode::OK);
    assert!(saved.html.contains("已暂存"));

    // 导出word: every label and value in word/document.xml.
    let docx = person
        .http
        .get(format!("{inc}/declarations/{id}/export.docx"))
        .send()
        .await
        .unwrap();
    assert_eq!(docx.status(), StatusCode::OK);
    assert_eq!(
        docx.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    let bytes = docx.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap();
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    for text in [
        CARRIER,
        "孵化器类型",
        "专业",
        "专业技术领域",
        "智能制造",
        "12000.5 平方米",
        "创业辅导、投融资服务",
        "天津经济技术开发区",
    ] {
        assert!(xml.contains(text), "{text} not in the export");
    }

    // The signature page: a PNG named .pdf and 10 MB + 1 byte are refused; nothing is kept.
    let slot_url = format!("{inc}/declarations/{id}/attachments/signature");
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01".to_vec();
    let fake = upload(&person, &slot_url, &csrf, "签章页.pdf", png).await;
    assert_eq!(fake.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(fake.html.contains("仅支持PDF格式"), "{}", fake.html);
    let big = upload(
        &person,
        &slot_url,
        &csrf,
        "签章页.pdf",
        pdf(10 * 1024 * 1024 + 1),
    )
    .await;
    assert_eq!(big.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(big.html.contains("文件超过10M"), "{}", big.html);
    // An 11 MB file is told the same, every time: the upload is read to its end and dropped,
    // not cut off while the browser is still sending.
    for attempt in 0..10 {
        let big = upload(
            &person,
            &slot_url,
            &csrf,
            "签章页.pdf",
            pdf(11 * 1024 * 1024),
        )
        .await;
        assert_eq!(
            big.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "attempt {attempt}"
        );
        assert!(
            big.html.contains("文件超过10M"),
            "attempt {attempt}: {}",
            big.html
        );
    }
    assert_eq!(stored_files(&p.incubator_files), 0);
    assert_eq!(staged_files(&p.incubator_files), 0);
    let forged = upload(&person, &slot_url, "forged", "签章页.pdf", pdf(1000)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Exactly 10 MB is fine.
    let ok = upload(
        &person,
        &slot_url,
        &csrf,
        "签章页.pdf",
        pdf(10 * 1024 * 1024),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.html);
    assert!(ok.html.contains("附件上传成功") && ok.html.contains("签章页.pdf"));
    assert_eq!(stored_files(&p.incubator_files), 1);
    assert_eq!(
        stored_files(&p.makerspace_files),
        0,
        "each subsystem keeps its own files"
    );

    // 提交 from the list: locked afterwards.
    let list = person.open(&format!("{inc}/")).await;
    assert!(list.html.contains(CARRIER) && list.html.contains("草稿"));
    let submitted = person
        .submit(
            &format!("{inc}/declarations/{id}/submit"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.html);
    assert!(submitted.html.contains("已提交，待审批"));
    assert!(!submitted.html.contains("id=\"edit\""));
    let late = post(&person, &edit_url, &csrf, Some("save"), &values).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "no edit after submit");
    let late = upload(&person, &slot_url, &csrf, "又一份.pdf", pdf(1000)).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(stored_files(&p.incubator_files), 1);
    // The declarant is no reviewer.
    let self_approve = person
        .submit(
            &format!("{inc}/declarations/{id}/approve"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(self_approve.status, StatusCode::NOT_FOUND);
    assert_eq!(
        person.open(&format!("{inc}/review")).await.status,
        StatusCode::NOT_FOUND
    );

    // The reviewer (no grant, the reviewer role) logs in at the incubator.
    let admin = Browser::new();
    let login = admin.open(&format!("{inc}/auth/login")).await;
    let admin_home = log_in_at_idp(&admin, &p.idp, &login, "demo_admin", ADMIN_PASSWORD).await;
    assert_eq!(admin_home.status, StatusCode::OK, "{}", admin_home.html);
    assert!(admin_home.html.contains("id=\"review-link\""));
    let review = admin.open(&format!("{inc}/review")).await;
    assert!(
        review.html.contains(CARRIER) && review.html.contains("已提交，待审批"),
        "{}",
        review.html
    );
    let opened = admin.open(&format!("{inc}/declarations/{id}")).await;
    assert_eq!(opened.status, StatusCode::OK);
    assert!(opened.html.contains("智能制造") && opened.html.contains("签章页.pdf"));
    let admin_csrf = hidden(&opened.html, "csrf");
    let link = opened
        .html
        .split("href=\"/attachments/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let file = admin
        .http
        .get(format!("{inc}/attachments/{link}"))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.headers()["content-type"], "application/pdf");
    assert_eq!(file.bytes().await.unwrap().len(), 10 * 1024 * 1024);
    // A return needs its reason.
    let no_reason = admin
        .submit(
            &format!("{inc}/declarations/{id}/return"),
            &[("csrf", &admin_csrf), ("reason", "  ")],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_reason
        .html
        .contains("<p class=\"field-error\" id=\"reason-error\">请填写退回原因</p>"));
    let returned = admin
        .submit(
            &format!("{inc}/declarations/{id}/return"),
            &[
                ("csrf", &admin_csrf),
                ("reason", "孵化场地面积与证明材料不符"),
            ],
        )
        .await;
    assert_eq!(returned.status, StatusCode::OK);
    assert!(returned.html.contains("已退回"));

    // The declarant sees the reason, edits and resubmits.
    let back = person.open(&format!("{inc}/declarations/{id}")).await;
    assert!(
        back.html.contains("孵化场地面积与证明材料不符"),
        "{}",
        back.html
    );
    let edit = person.open(&edit_url).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(edit.html.contains("id=\"return-reason\""));
    values.retain(|(k, _)| *k != "total_area");
    values.push(("total_area", "11800".into()));
    let resubmitted = post(&person, &edit_url, &csrf, Some("submit"), &values).await;
    assert_eq!(resubmitted.status, StatusCode::OK, "{}", resubmitted.html);
    assert!(resubmitted.html.contains("已提交，待审批"));

    // Approved; the history names every step.
    let approved = admin
        .submit(
            &format!("{inc}/declarations/{id}/approve"),
            &[("csrf", &admin_csrf)],
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK);
    assert!(approved.html.contains("审批通过"));
    let history = approved.html.split("id=\"history\"").nth(1).unwrap();
    for step in [
        "— → 草稿",
        "草稿 → 已提交，待审批",
        "已提交，待审批 → 已退回",
        "已退回 → 已提交，待审批",
        "已提交，待审批 → 审批通过",
        "平台管理员",
        "孵化场地面积与证明材料不符",
    ] {
        assert!(history.contains(step), "{step} missing in\n{history}");
    }
    let again = admin
        .submit(
            &format!("{inc}/declarations/{id}/return"),
            &[("csrf", &admin_csrf), ("reason", "再退")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "approval is final");

    // The admin of the person's unit reads it and its attachment; another unit's sees nothing.
    let home = person.open(&format!("{inc}/")).await;
    assert!(home.html.contains("审批通过"));
    let unit = logged_in(&p, "demo_unit", UNIT_PASSWORD).await;
    let read = unit.open(&format!("{inc}/declarations/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(read.html.contains("id=\"read-only\"") && !read.html.contains("id=\"approve\""));
    let file_status = |b: &Browser| {
        let url = format!("{inc}/attachments/{link}");
        let http = b.http.clone();
        async move { http.get(url).send().await.unwrap().status() }
    };
    assert_eq!(file_status(&unit).await, StatusCode::OK);
    let other = logged_in(&p, "other_unit", OTHER_PASSWORD).await;
    assert_eq!(
        other.open(&format!("{inc}/declarations/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(file_status(&other).await, StatusCode::NOT_FOUND);

    // Logging out at the portal ends the incubator session over the back channel.
    let portal_home = person.open(&format!("{}/", p.portal)).await;
    let portal_csrf = hidden(&portal_home.html, "csrf");
    person
        .submit(
            &format!("{}/auth/logout", p.portal),
            &[("csrf", &portal_csrf)],
        )
        .await;
    let after = person.open(&format!("{inc}/")).await;
    assert!(!after.html.contains("我的申报"), "{}", after.html);
    let locked_out = person.open(&format!("{inc}/declarations/{id}")).await;
    assert!(
        locked_out.url.starts_with(&idp_login),
        "{:?}",
        locked_out.trail
    );
}

/// The password of both accounts of [`OTHER_UNIT`].
const OTHER_PASSWORD: &str = "Other@Unit2026";

/// A second unit beside the demo's, with its legal-entity account (its admin) and a member.
const OTHER_UNIT: &str = r#"
[[org]]
id = "org-other-maker"
name = "天津另一众创空间有限公司"
status = "active"

[[account]]
id = "acct-other-unit"
login_name = "other_unit"
password = "Other@Unit2026"
display_name = "天津另一众创空间有限公司"
account_type = "legal_entity"
realname_status = "verified"
org = "org-other-maker"
org_role = "admin"
grants = ["incubator"]

[[account]]
id = "acct-other-person"
login_name = "other_person"
password = "Other@Unit2026"
display_name = "李四"
account_type = "natural_person"
realname_status = "verified"
org = "org-other-maker"
org_role = "member"
grants = ["incubator"]
"#;

fn with_other_unit() -> PlatformOptions {
    PlatformOptions {
        extra_seed: Some(OTHER_UNIT),
        ..PlatformOptions::default()
    }
}

/// A browser logged in at the incubator as `login_name`, on the incubator's home page.
async fn logged_in(p: &Platform, login_name: &str, password: &str) -> Browser {
    let b = Browser::new();
    let login = b.open(&format!("{}/auth/login", p.incubator)).await;
    let home = log_in_at_idp(&b, &p.idp, &login, login_name, password).await;
    assert_eq!(home.url, format!("{}/", p.incubator), "{}", home.html);
    b
}

/// Saves a new draft named `carrier`; its id.
async fn new_draft(p: &Platform, b: &Browser, carrier: &str) -> String {
    let inc = &p.incubator;
    let form = b.open(&format!("{inc}/declarations/new")).await;
    let csrf = hidden(&form.html, "csrf");
    let draft = post(
        b,
        &format!("{inc}/declarations/new"),
        &csrf,
        Some("save"),
        &[("carrier_name", carrier.into())],
    )
    .await;
    assert!(draft.url.contains("/edit?notice=created"), "{}", draft.url);
    draft
        .url
        .split("/declarations/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned()
}

/// The rows of the unit list's table (empty when it shows none).
fn unit_rows(page: &Page) -> &str {
    page.html
        .split("id=\"unit-declarations\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or("")
}

async fn unit_admin_reads_its_units_declarations(options: PlatformOptions) {
    let p = Platform::start_with(options).await;
    let inc = &p.incubator;
    let person = logged_in(&p, "demo_person", PERSON_PASSWORD).await;
    let mine = new_draft(&p, &person, "津南示例孵化器").await;
    let stranger = logged_in(&p, "other_person", OTHER_PASSWORD).await;
    let theirs = new_draft(&p, &stranger, "另一单位的众创空间").await;

    // A member is no unit admin: no link, no page.
    assert!(!person
        .open(&format!("{inc}/"))
        .await
        .html
        .contains("id=\"unit-link\""));
    let refused = person.open(&format!("{inc}/unit/declarations")).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);

    // The unit's legal-entity account: its member's draft with name and state, nothing else.
    let unit = logged_in(&p, "demo_unit", UNIT_PASSWORD).await;
    let home = unit.open(&format!("{inc}/")).await;
    assert!(
        home.html.contains("href=\"/unit/declarations\""),
        "{}",
        home.html
    );
    let list = unit.open(&format!("{inc}/unit/declarations")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.html);
    let rows = unit_rows(&list);
    assert!(
        rows.contains(&format!("id=\"row-{mine}\"")),
        "{}",
        list.html
    );
    assert!(
        rows.contains("<td>津南示例孵化器</td><td>张三</td>"),
        "{rows}"
    );
    assert!(rows.contains("草稿"));
    assert!(!rows.contains("demo_person"), "a name, not the login");
    assert!(!list.html.contains(&theirs) && !list.html.contains("另一单位的众创空间"));
    assert!(list.html.contains("共 1 条，第 1/1 页"), "{}", list.html);
    assert!(list
        .html
        .contains("<label class=\"label\" for=\"state\">状态</label>"));
    // By state: none submitted yet; a state that is none falls back to all with a message.
    let submitted = unit
        .open(&format!("{inc}/unit/declarations?state=submitted"))
        .await;
    assert!(unit_rows(&submitted).is_empty() && submitted.html.contains("没有符合条件的申报"));
    let odd = unit
        .open(&format!("{inc}/unit/declarations?state=%3Cx%3E&page=zz"))
        .await;
    assert_eq!(odd.status, StatusCode::OK);
    assert!(
        odd.html.contains("状态不在可选范围内，已显示全部状态"),
        "{}",
        odd.html
    );
    assert!(odd.html.contains("页码应为正整数，已显示第1页"));
    assert!(unit_rows(&odd).contains(&mine));

    // Read-only: open and export, but no edit, save, upload or submit.
    let read = unit.open(&format!("{inc}/declarations/{mine}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(read.html.contains("id=\"read-only\""), "{}", read.html);
    for control in ["id=\"edit\"", "id=\"submit\"", "id=\"approve\""] {
        assert!(!read.html.contains(control), "{control}");
    }
    // The session's token, from the logout form of the home page (a read-only page has none).
    let csrf = hidden(&home.html, "csrf");
    let export = unit
        .http
        .get(format!("{inc}/declarations/{mine}/export.docx"))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::OK);
    let edit = unit.open(&format!("{inc}/declarations/{mine}/edit")).await;
    assert_eq!(edit.status, StatusCode::NOT_FOUND);
    let save = post(
        &unit,
        &format!("{inc}/declarations/{mine}/edit"),
        &csrf,
        Some("save"),
        &[("carrier_name", "改名".into())],
    )
    .await;
    assert_eq!(save.status, StatusCode::NOT_FOUND);
    let submit = unit
        .submit(
            &format!("{inc}/declarations/{mine}/submit"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(submit.status, StatusCode::NOT_FOUND);
    let upload = upload(
        &unit,
        &format!("{inc}/declarations/{mine}/attachments/signature"),
        &csrf,
        "签章页.pdf",
        pdf(1000),
    )
    .await;
    assert_eq!(upload.status, StatusCode::NOT_FOUND);
    let kept = person.open(&format!("{inc}/declarations/{mine}")).await;
    assert!(kept.html.contains("津南示例孵化器") && !kept.html.contains("改名"));
    assert!(
        kept.html.contains("id=\"edit\""),
        "the declarant still edits"
    );

    // Another unit's declaration stays out of sight, and this one out of theirs.
    for url in [
        format!("{inc}/declarations/{theirs}"),
        format!("{inc}/declarations/{theirs}/export.docx"),
    ] {
        let res = unit.http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{url}");
    }
    let other = logged_in(&p, "other_unit", OTHER_PASSWORD).await;
    let their_list = other.open(&format!("{inc}/unit/declarations")).await;
    assert!(unit_rows(&their_list).contains("<td>另一单位的众创空间</td><td>李四</td>"));
    assert!(!their_list.html.contains(&mine));
    assert_eq!(
        other
            .open(&format!("{inc}/declarations/{mine}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // The bureau's list answers odd queries with a page that says what it shows.
    let admin = logged_in(&p, "demo_admin", ADMIN_PASSWORD).await;
    let review = admin
        .open(&format!(
            "{inc}/review?unit=%25_&state=draft&page=-3&page=2"
        ))
        .await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.html);
    for text in [
        "状态不在可选范围内，已显示全部状态",
        "页码应为正整数，已显示第1页",
        "没有符合条件的申报",
        "共 0 条，第 1/1 页",
        "value=\"%_\"",
        "<label class=\"label\" for=\"unit\">申报单位</label>",
    ] {
        assert!(review.html.contains(text), "{text}:\n{}", review.html);
    }
    let beyond = admin.open(&format!("{inc}/review?page=7")).await;
    assert!(beyond.html.contains("页码超出范围，已显示最后一页"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_admin_reads_its_units_declarations_on_sqlite() {
    unit_admin_reads_its_units_declarations(with_other_unit()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_admin_reads_its_units_declarations_on_postgres() {
    // The IdP on PostgreSQL too, as the other PostgreSQL variants run it.
    let idp = PgStorage::create().await;
    let incubator = tongyi_testkit::PgDatabase::create(&tongyi_testkit::unique_tag()).await;
    let mut options = idp.options();
    options.extra_seed = Some(OTHER_UNIT);
    options.incubator_database_url = Some(incubator.url().to_owned());
    unit_admin_reads_its_units_declarations(options).await;
}
