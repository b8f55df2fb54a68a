//! The whole chain over real HTTP, through the portal's pages: a unit registers at the IdP,
//! completes its information with attachments in the portal and submits it; a department
//! reviewer approves it; a person registers, picks the unit; the unit's admin accepts the
//! person and grants `incubator`; the person's next ID token carries the grant and the
//! incubator lets it in; the admin revokes; the next token lacks it and the incubator session
//! has ended through back-channel logout.

use reqwest::{multipart, StatusCode};

use crate::{
    flows::user_tokens,
    harness::{hidden, log_in_at_idp, Browser, Page, Platform, PlatformOptions},
    idp_forms::{register_legal_entity, register_person, uscc},
};

const UNIT: &str = "天津链路测试科技有限公司";
const UNIT_LOGIN: &str = "chain_unit";
const PERSON_LOGIN: &str = "chain_person";
const PASSWORD: &str = "Chain#Pass2026";
const ADMIN_PASSWORD: &str = "Demo@Admin2026";
/// The department the demo admin reviews for (config/demo.toml).
const DEPARTMENT: &str = "dept-tj-kjj-gxc";

/// A small but real PDF: the IdP decides the type by content.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
/// The PNG signature and an IHDR chunk header.
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00";

/// Logs `login_name` in at the portal through the IdP's form; returns the dashboard.
async fn portal_login(p: &Platform, b: &Browser, login_name: &str, password: &str) -> Page {
    let login = b.open(&format!("{}/auth/login", p.portal)).await;
    let home = log_in_at_idp(b, &p.idp, &login, login_name, password).await;
    assert_eq!(home.url, format!("{}/", p.portal), "{:?}", home.trail);
    home
}

/// Uploads `files` into `slot` through the portal's multipart form; returns the page shown.
async fn upload(
    p: &Platform,
    b: &Browser,
    csrf: &str,
    slot: &str,
    files: &[(&str, Vec<u8>)],
) -> Page {
    let mut form = multipart::Form::new().text("csrf", csrf.to_owned());
    for (name, bytes) in files {
        form = form.part(
            "file",
            multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    let url = format!("{}/complete/unit/attachments/{slot}", p.portal);
    let res = b.http.post(&url).multipart(form).send().await.unwrap();
    assert!(
        res.status().is_redirection(),
        "{}: {}",
        res.status(),
        res.text().await.unwrap()
    );
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    b.open(&format!("{}{location}", p.portal)).await
}

/// The id in `action="{prefix}{id}/{suffix}"` of the first such form after `marker`.
fn form_id(html: &str, marker: &str, prefix: &str, suffix: &str) -> String {
    let from = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} missing:\n{html}"));
    let rest = &html[from..];
    let needle = format!("action=\"{prefix}");
    let start = rest
        .find(&needle)
        .unwrap_or_else(|| panic!("{needle} after {marker}"))
        + needle.len();
    let id: String = rest[start..].chars().take_while(|c| *c != '/').collect();
    assert!(rest[start + id.len()..].starts_with(&format!("/{suffix}\"")));
    id
}

fn grants_of(claims: &serde_json::Value) -> Vec<String> {
    claims["grants"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|g| g.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn chain(p: Platform) {
    // 1. The unit registers at the IdP and logs in at the portal: its next step is completion.
    let unit_uscc = uscc("91120116MA0CHAWN0");
    register_legal_entity(&p, UNIT_LOGIN, PASSWORD, UNIT, &unit_uscc, "13600005555").await;
    let ub = Browser::new();
    let home = portal_login(&p, &ub, UNIT_LOGIN, PASSWORD).await;
    assert!(
        home.html.contains("id=\"go-unit\" href=\"/complete/unit\""),
        "{}",
        home.html
    );
    let form = ub.open(&format!("{}/complete/unit", p.portal)).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    assert!(form.html.contains("未提交"));
    let csrf = hidden(&form.html, "csrf");

    // A submission without anything is refused field by field, in Chinese, tied to the fields.
    let refused = ub
        .submit(
            &format!("{}/complete/unit", p.portal),
            &[("csrf", csrf.as_str()), ("action", "submit")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused
        .html
        .contains("aria-describedby=\"contact_name-error\""));
    assert!(refused.html.contains("请填写联系人姓名"));

    // 2. Attachments: refusals shown at their slot, then real files in every slot.
    let wrong = upload(
        &p,
        &ub,
        &csrf,
        "business_licence",
        &[("licence.pdf", PNG.to_vec())],
    )
    .await;
    assert!(
        wrong.html.contains("文件内容与扩展名不符"),
        "{}",
        wrong.html
    );
    assert!(wrong
        .html
        .contains("aria-describedby=\"file-business_licence-error\""));
    let big = vec![b'%'; 11 * 1024 * 1024];
    let too_big = upload(&p, &ub, &csrf, "bank_permit", &[("permit.pdf", big)]).await;
    assert!(
        too_big.html.contains("文件不能超过 10 MB"),
        "{}",
        too_big.html
    );
    let page = upload(
        &p,
        &ub,
        &csrf,
        "business_licence",
        &[
            ("licence.pdf", PDF.to_vec()),
            ("licence-2.png", PNG.to_vec()),
        ],
    )
    .await;
    assert!(page.html.contains("licence.pdf") && page.html.contains("licence-2.png"));
    upload(
        &p,
        &ub,
        &csrf,
        "risk_commitment",
        &[("commitment.pdf", PDF.to_vec())],
    )
    .await;
    upload(
        &p,
        &ub,
        &csrf,
        "bank_permit",
        &[("permit.png", PNG.to_vec())],
    )
    .await;
    let template = ub
        .http
        .get(format!(
            "{}/complete/unit/risk-commitment-template",
            p.portal
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(template.status(), StatusCode::OK);
    assert!(template.text().await.unwrap().contains("风险承诺书"));

    // 3. Every field, then submit: pending review.
    let fields = [
        ("csrf", csrf.as_str()),
        ("legal_person_nature", "民营企业"),
        ("entity_type", "企业"),
        ("contact_name", "钱七"),
        ("contact_mobile", "13911112222"),
        ("contact_email", "contact@chain.example"),
        ("department_id", DEPARTMENT),
        ("registered_address_city", "天津市"),
        ("registered_address_district", "南开区"),
        ("registered_address_detail", "卫津路 92 号"),
        ("located_address_city", "天津市"),
        ("located_address_district", "滨海新区"),
        ("located_address_detail", "海泰大道 1 号"),
        ("bank_account_name", UNIT),
        ("bank_name", "中国银行天津分行"),
        ("bank_account_number", "6217 0000 1234 5678"),
        ("action", "submit"),
    ];
    let submitted = ub
        .submit(&format!("{}/complete/unit", p.portal), &fields)
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.html);
    assert!(
        submitted.html.contains("已提交，等待主管部门审核"),
        "{}",
        submitted.html
    );
    assert!(submitted.html.contains("待审核"));
    let org_id = user_tokens(&p, UNIT_LOGIN, PASSWORD).await.id_claims()["org"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // 4. The department's reviewer finds it, reads an attachment through the portal, approves.
    let rb = Browser::new();
    portal_login(&p, &rb, "demo_admin", ADMIN_PASSWORD).await;
    let list = rb
        .open(&format!("{}/reviews?q={}", p.portal, "链路测试"))
        .await;
    assert!(list.html.contains(UNIT), "{}", list.html);
    assert!(list.html.contains(&format!("href=\"/reviews/{org_id}\"")));
    let detail = rb.open(&format!("{}/reviews/{org_id}", p.portal)).await;
    assert!(detail.html.contains("licence.pdf"), "{}", detail.html);
    assert!(!detail.html.contains("13911112222"), "masked for reviewers");
    let file_path = {
        let marker = format!("href=\"/units/{org_id}/attachments/");
        let start = detail.html.find(&marker).expect("an attachment link") + "href=\"".len();
        detail.html[start..].split('"').next().unwrap().to_owned()
    };
    let file = rb
        .http
        .get(format!("{}{file_path}", p.portal))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    let body = file.bytes().await.unwrap();
    assert!(
        body.as_ref() == PDF || body.as_ref() == PNG,
        "the stored file comes back"
    );
    let rcsrf = hidden(&detail.html, "csrf");
    let no_reason = rb
        .submit(
            &format!("{}/reviews/{org_id}/return", p.portal),
            &[("csrf", rcsrf.as_str()), ("reason", " ")],
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_reason.html.contains("请填写退回原因"));
    let approved = rb
        .submit(
            &format!("{}/reviews/{org_id}/approve", p.portal),
            &[("csrf", rcsrf.as_str())],
        )
        .await;
    assert!(approved.html.contains("已审核通过"), "{}", approved.html);
    assert!(
        approved.html.contains("审核通过") && approved.html.contains("提交审核"),
        "history"
    );

    // 5. A person registers and picks the unit by its full name.
    register_person(
        &p,
        PERSON_LOGIN,
        PASSWORD,
        "孙八",
        "12010119920412123",
        "13700006666",
    )
    .await;
    let pb = Browser::new();
    let home = portal_login(&p, &pb, PERSON_LOGIN, PASSWORD).await;
    assert!(home.html.contains("id=\"go-person\""), "{}", home.html);
    let none = pb
        .open(&format!("{}/complete/person?name=不存在的单位", p.portal))
        .await;
    assert!(none.html.contains("先联系所属单位注册法人用户"));
    // The email shown there is set at the IdP's account console, which the page links to.
    assert!(
        none.html.contains(&format!(
            "<a id=\"set-email\" href=\"{}/account/edit\">设置电子邮箱</a>",
            p.idp
        )),
        "{}",
        none.html
    );
    let found = pb
        .open(&format!("{}/complete/person?name={UNIT}", p.portal))
        .await;
    assert!(
        found.html.contains(&format!("id=\"pick-{org_id}\"")),
        "{}",
        found.html
    );
    let pcsrf = hidden(&found.html, "csrf");
    let picked = pb
        .submit(
            &format!("{}/complete/person/unit", p.portal),
            &[("csrf", pcsrf.as_str()), ("org_id", org_id.as_str())],
        )
        .await;
    assert!(picked.html.contains("待单位管理员授权"), "{}", picked.html);

    // 6. The unit's admin accepts the person and grants the incubator.
    let members = ub.open(&format!("{}/members", p.portal)).await;
    assert_eq!(members.status, StatusCode::OK, "{}", members.html);
    let row = format!("id=\"member-{PERSON_LOGIN}\"");
    let account_id = form_id(&members.html, &row, "/members/", "approve");
    let mcsrf = hidden(&members.html, "csrf");
    let accepted = ub
        .submit(
            &format!("{}/members/{account_id}/approve", p.portal),
            &[("csrf", mcsrf.as_str())],
        )
        .await;
    assert!(
        accepted.html.contains("已同意该成员加入本单位"),
        "{}",
        accepted.html
    );
    assert!(accepted
        .html
        .contains(&format!("id=\"grant-{PERSON_LOGIN}-incubator\"")));
    let granted = ub
        .submit(
            &format!("{}/members/{account_id}/grants", p.portal),
            &[("csrf", mcsrf.as_str()), ("grant", "incubator")],
        )
        .await;
    assert!(granted.html.contains("授权已保存"), "{}", granted.html);

    // 7. The person's next ID token carries the grant; the incubator lets it in by SSO.
    let tokens = user_tokens(&p, PERSON_LOGIN, PASSWORD).await;
    assert_eq!(grants_of(&tokens.id_claims()), ["incubator"]);
    let launcher = pb.open(&format!("{}/launcher", p.portal)).await;
    assert!(
        launcher.html.contains("id=\"enter-incubator\""),
        "{}",
        launcher.html
    );
    let inside = pb.open(&format!("{}/auth/login", p.incubator)).await;
    assert_eq!(inside.status, StatusCode::OK, "{:?}", inside.trail);
    assert!(inside.html.contains("欢迎，孙八"), "{}", inside.html);

    // 8. The admin revokes: the next token lacks it, and the incubator session is over.
    let revoked = ub
        .submit(
            &format!("{}/members/{account_id}/grants", p.portal),
            &[("csrf", mcsrf.as_str())],
        )
        .await;
    assert!(revoked.html.contains("授权已保存"));
    let tokens = user_tokens(&p, PERSON_LOGIN, PASSWORD).await;
    assert!(
        grants_of(&tokens.id_claims()).is_empty(),
        "{}",
        tokens.id_claims()
    );
    let incubator = pb.open(&format!("{}/", p.incubator)).await;
    assert!(
        !incubator.html.contains("欢迎"),
        "back-channel logout ended it:\n{}",
        incubator.html
    );

    // 9. The admin resets the person's password: by SMS while the person has no verified
    // email, by email once it is verified (seed 001), and the notice says which.
    let reset_url = format!("{}/members/{account_id}/password-reset", p.portal);
    let reset_form = [("csrf", mcsrf.as_str())];
    let by_sms = ub.submit(&reset_url, &reset_form).await;
    assert!(
        by_sms.html.contains("临时密码已通过短信发送"),
        "{}",
        by_sms.html
    );
    let state = &p.idp_state;
    let email = "sunba@chain.example.cn";
    tongyi_idp::store::identities::set_email(&state.db, &state.pii, &account_id, Some(email), 1)
        .await
        .unwrap();
    assert!(tongyi_idp::store::identities::mark_email_verified(
        &state.db,
        &state.pii,
        &account_id,
        email,
        2
    )
    .await
    .unwrap());
    let by_email = ub.submit(&reset_url, &reset_form).await;
    assert!(
        by_email.html.contains("临时密码已通过电子邮件发送"),
        "{}",
        by_email.html
    );
    let mail = state.email.outbox().unwrap().latest_for(email).unwrap();
    assert!(mail.body.contains("临时密码为"), "{}", mail.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_person_and_grants_through_the_portal_on_sqlite() {
    chain(Platform::start_with(PlatformOptions::default()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_person_and_grants_through_the_portal_on_postgres_and_redis() {
    let db = crate::pg::PgStorage::create().await;
    chain(Platform::start_with(db.options()).await).await;
}
