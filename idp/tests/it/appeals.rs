//! Appeals against a running IdP on both backends: filing (each invalid field, image limits,
//! the same answer whether or not the data matched an account), the admin review (approval of
//! both kinds with its effects and SMS, rejection with a reason, no approval without a match)
//! and the admin pages closed to everyone else.

use reqwest::{
    multipart::{Form, Part},
    StatusCode,
};
use tongyi_idp::store::{self, identities};
use tongyi_shared::claims::AccountType;

use crate::{
    both_backends,
    captcha::read_picture,
    console::{add_account, get, give_alice_identity, signed_in, ALICE_ID_NUMBER},
    harness::{browser, hidden, location, Backend, TestIdp},
};

const CONTACT: &str = "13755556666";

fn png() -> Vec<u8> {
    let mut p = b"\x89PNG\r\n\x1a\n".to_vec();
    p.extend_from_slice(&[7; 64]);
    p
}

/// What a filing sends; tests change one thing at a time.
#[derive(Clone)]
struct Filing {
    texts: Vec<(&'static str, String)>,
    files: Vec<(&'static str, Vec<u8>, &'static str)>,
    /// Send the code the outbox delivered (else `wrong_code`).
    wrong_code: bool,
    wrong_captcha: bool,
}

impl Filing {
    fn person(kind: &str, id_number: &str) -> Filing {
        Filing {
            texts: vec![
                ("kind", kind.to_owned()),
                ("account_type", "natural_person".to_owned()),
                ("real_name", "张三".to_owned()),
                ("id_type", "resident_id_card".to_owned()),
                ("id_number", id_number.to_owned()),
                ("mobile", CONTACT.to_owned()),
                ("description", "忘记了登录账号，请帮忙找回。".to_owned()),
            ],
            files: vec![
                ("id_front", png(), "front.png"),
                ("id_back", png(), "back.png"),
            ],
            wrong_code: false,
            wrong_captcha: false,
        }
    }

    fn set(mut self, name: &'static str, value: &str) -> Filing {
        self.texts.retain(|(n, _)| *n != name);
        self.texts.push((name, value.to_owned()));
        self
    }

    fn file(mut self, name: &'static str, data: Vec<u8>, file_name: &'static str) -> Filing {
        self.files.retain(|(n, _, _)| *n != name);
        self.files.push((name, data, file_name));
        self
    }

    fn text(&self, name: &str) -> String {
        self.texts
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

fn form(csrf: &str, texts: &[(&'static str, String)]) -> Form {
    texts
        .iter()
        .fold(Form::new().text("csrf", csrf.to_owned()), |f, (n, v)| {
            f.text(*n, v.clone())
        })
}

/// Files an appeal the way a browser does: open the form, ask for the SMS code, submit with
/// the code and the captcha. Returns the final status and page.
async fn file(idp: &TestIdp, b: &reqwest::Client, filing: &Filing) -> (StatusCode, String) {
    let (_, page) = get(b, idp, "/appeal").await;
    let csrf = hidden(&page, "csrf");
    let mobile = filing.text("mobile");
    let send = form(&csrf, &filing.texts).text("action", "send_code");
    let res = b
        .post(idp.url("/appeal"))
        .multipart(send)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    let code = match idp.state.sms.outbox().unwrap().latest_for(&mobile) {
        Some(entry) => {
            let start = entry.text.find(|c: char| c.is_ascii_digit()).unwrap();
            entry.text[start..start + 6].to_owned()
        }
        None => "000000".to_owned(),
    };
    let code = if filing.wrong_code {
        format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
    } else {
        code
    };
    let captcha_id = hidden(&page, "captcha_id");
    let answer = if filing.wrong_captcha {
        "WRONG1".to_owned()
    } else {
        read_picture(idp, &captcha_id).await
    };
    let mut submit = form(&csrf, &filing.texts)
        .text("action", "submit")
        .text("sms_code", code)
        .text("captcha_id", captcha_id)
        .text("captcha", answer);
    for (name, data, file_name) in &filing.files {
        submit = submit.part(
            *name,
            Part::bytes(data.clone())
                .file_name(*file_name)
                .mime_str("image/png")
                .unwrap(),
        );
    }
    let res = b
        .post(idp.url("/appeal"))
        .multipart(submit)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn pending(idp: &TestIdp) -> Vec<store::appeals::Appeal> {
    store::appeals::pending(&idp.state.db, &idp.state.pii, 100, 0)
        .await
        .unwrap()
        .0
}

const DONE: &str = "申诉已提交，审核结果将以短信通知";

both_backends!(
    appeal_fields_are_checked_one_by_one,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = browser();
        let base = Filing::person("forgot_login_name", ALICE_ID_NUMBER);
        let mut too_big = png();
        too_big.resize(1024 * 1024 + 1, 0);
        let mut wrong_code = base.clone();
        wrong_code.wrong_code = true;
        let mut wrong_captcha = base.clone();
        wrong_captcha.wrong_captcha = true;
        let cases: Vec<(&str, Filing, &str)> = vec![
            ("kind", base.clone().set("kind", ""), "请选择申诉类型"),
            (
                "real_name",
                base.clone().set("real_name", ""),
                "请填写真实姓名",
            ),
            (
                "id_number",
                base.clone().set("id_number", "110105194912310021"),
                "",
            ),
            (
                "description",
                base.clone().set("description", ""),
                "请填写申诉说明",
            ),
            (
                "description",
                base.clone().set("description", &"字".repeat(501)),
                "不能超过500个字",
            ),
            (
                "id_front",
                base.clone().file("id_front", too_big, "big.png"),
                "图片不能超过1MB",
            ),
            (
                "id_back",
                base.clone()
                    .file("id_back", b"%PDF-1.7\n%fake".to_vec(), "scan.png"),
                "仅支持jpg、png格式的图片",
            ),
            ("sms_code", wrong_code, "验证码错误"),
            ("captcha", wrong_captcha, "图形验证码错误"),
        ];
        for (field, filing, message) in cases {
            let (status, html) = file(&idp, &b, &filing).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {html}");
            assert!(
                html.contains(&format!("id=\"{field}-error\"")),
                "{field}: {html}"
            );
            assert!(
                html.contains(&format!("aria-describedby=\"{field}-error\"")),
                "{field}"
            );
            assert!(html.contains(message), "{field}: {message} missing");
            // What was typed stays in the form.
            assert!(
                html.contains(&format!("value=\"{CONTACT}\"")),
                "{field}: mobile lost"
            );
            assert!(
                pending(&idp).await.is_empty(),
                "{field}: an appeal was stored"
            );
        }
        // A bad mobile is named when the code is asked for.
        let (_, page) = get(&b, &idp, "/appeal").await;
        let send = form(&hidden(&page, "csrf"), &[("mobile", "12345".to_owned())])
            .text("action", "send_code");
        let html = b
            .post(idp.url("/appeal"))
            .multipart(send)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("id=\"mobile-error\""), "{html}");
        // Without the CSRF token nothing is read further.
        let res = b
            .post(idp.url("/appeal"))
            .multipart(Form::new().text("kind", "forgot_mobile"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
);

both_backends!(
    the_answer_is_the_same_whether_or_not_an_account_matched,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        give_alice_identity(&idp).await;
        let (status, matched) = file(
            &idp,
            &browser(),
            &Filing::person("forgot_login_name", ALICE_ID_NUMBER),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{matched}");
        assert!(matched.contains(DONE));
        // Another valid ID number, which no account holds.
        let other =
            Filing::person("forgot_login_name", "110105199003071239").set("mobile", "13755557777");
        let (status, unmatched) = file(&idp, &browser(), &other).await;
        assert_eq!(status, StatusCode::OK, "{unmatched}");
        assert_eq!(matched, unmatched);
        let list = pending(&idp).await;
        assert_eq!(list.len(), 2);
        let mut matches: Vec<Option<&str>> = list
            .iter()
            .map(|a| a.matched_account_id.as_deref())
            .collect();
        matches.sort();
        assert_eq!(matches, vec![None, Some("acct-alice")]);
        assert!(list.iter().all(|a| a.upload_ids.len() == 2));
        let audit = store::audit::list_recent(&idp.state.db, 50).await.unwrap();
        let filed = audit.iter().filter(|e| e.event == "appeal_filed").count();
        assert_eq!(filed, 2);
        assert!(audit
            .iter()
            .all(|e| !e.detail.contains(ALICE_ID_NUMBER) && !e.detail.contains(CONTACT)));
    }
);

async fn admin(idp: &TestIdp) -> reqwest::Client {
    add_account(
        idp,
        "acct-admin",
        "platform_admin_1",
        true,
        &["platform_admin"],
    )
    .await;
    signed_in(idp, "platform_admin_1").await
}

async fn decide(
    idp: &TestIdp,
    b: &reqwest::Client,
    id: &str,
    action: &str,
    reason: &str,
) -> (StatusCode, String) {
    let (status, page) = get(b, idp, &format!("/admin/appeals/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let form = [
        ("csrf", hidden(&page, "csrf")),
        ("action", action.to_owned()),
        ("reason", reason.to_owned()),
    ];
    let res = b
        .post(idp.url(&format!("/admin/appeals/{id}")))
        .form(&form)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

fn outbox_text(idp: &TestIdp, mobile: &str) -> String {
    idp.state
        .sms
        .outbox()
        .unwrap()
        .latest_for(mobile)
        .unwrap()
        .text
}

both_backends!(
    approving_a_forgotten_login_name_sends_it,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        give_alice_identity(&idp).await;
        file(
            &idp,
            &browser(),
            &Filing::person("forgot_login_name", ALICE_ID_NUMBER),
        )
        .await;
        let id = pending(&idp).await[0].id.clone();
        let upload = pending(&idp).await[0].upload_ids[0].clone();
        let b = admin(&idp).await;

        let (status, list) = get(&b, &idp, "/admin/appeals").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            list.contains(&format!("/admin/appeals/{id}"))
                && list.contains("忘记账号")
                && list.contains("已匹配"),
            "{list}"
        );
        let (_, detail) = get(&b, &idp, &format!("/admin/appeals/{id}")).await;
        assert!(
            detail.contains("13*****666")
                && detail.contains("******002X")
                && detail.contains("alice"),
            "{detail}"
        );
        assert!(!detail.contains(CONTACT) && !detail.contains(ALICE_ID_NUMBER));
        let res = b
            .get(idp.url(&format!("/admin/appeals/{id}/uploads/{upload}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "image/png");
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert_eq!(res.bytes().await.unwrap().to_vec(), png());
        let res = b
            .get(idp.url(&format!("/admin/appeals/{id}/uploads/not-this-one")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);

        let (status, html) = decide(&idp, &b, &id, "approve", "").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("已通过"), "{html}");
        let text = outbox_text(&idp, CONTACT);
        assert!(text.contains("您的登录账号为：alice"), "{text}");
        assert!(pending(&idp).await.is_empty());
        let (_, decided) = get(&b, &idp, &format!("/admin/appeals/{id}")).await;
        assert!(
            decided.contains("已通过") && !decided.contains("name=\"action\""),
            "{decided}"
        );
        let again = tongyi_idp::accounts::appeal::approve(&idp.state, &id, "acct-admin").await;
        assert!(matches!(
            again,
            Err(tongyi_idp::accounts::appeal::DecideError::NotPending)
        ));
        let audit = store::audit::list_recent(&idp.state.db, 50).await.unwrap();
        assert!(audit.iter().any(|e| e.event == "appeal_decided"));
    }
);

both_backends!(
    approving_a_lost_mobile_replaces_it,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        give_alice_identity(&idp).await;
        file(
            &idp,
            &browser(),
            &Filing::person("forgot_mobile", ALICE_ID_NUMBER),
        )
        .await;
        let id = pending(&idp).await[0].id.clone();
        let b = admin(&idp).await;
        let (status, html) = decide(&idp, &b, &id, "approve", "").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let found = identities::find_by_mobile(
            &idp.state.db,
            &idp.state.pii,
            AccountType::NaturalPerson,
            CONTACT,
        )
        .await
        .unwrap();
        assert_eq!(found.map(|a| a.id).as_deref(), Some("acct-alice"));
        let updates = store::info_updates::for_account(&idp.state.db, "acct-alice", 10)
            .await
            .unwrap();
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].field, "mobile");
        assert_eq!(updates[0].old_value, "13*****678");
        assert_eq!(updates[0].new_value, "13*****666");
        assert_eq!(updates[0].actor_account_id.as_deref(), Some("acct-admin"));
        assert!(outbox_text(&idp, CONTACT).contains("预留手机号已更换"));
        let alice = signed_in(&idp, "alice").await;
        let (_, history) = get(&alice, &idp, "/account/history").await;
        assert!(
            history.contains("管理员") && history.contains("13*****666"),
            "{history}"
        );
    }
);

both_backends!(
    rejection_needs_a_reason_and_unmatched_appeals_cannot_pass,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        file(
            &idp,
            &browser(),
            &Filing::person("forgot_login_name", ALICE_ID_NUMBER),
        )
        .await;
        let appeal = pending(&idp).await.remove(0);
        assert_eq!(
            appeal.matched_account_id, None,
            "alice has no identity on file here"
        );
        let b = admin(&idp).await;
        let (status, html) = decide(&idp, &b, &appeal.id, "approve", "").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("未匹配到任何账号"), "{html}");
        let (status, html) = decide(&idp, &b, &appeal.id, "reject", "  ").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("请填写驳回原因"), "{html}");
        assert_eq!(pending(&idp).await.len(), 1);
        let (status, html) = decide(&idp, &b, &appeal.id, "reject", "证件照片不清晰").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(outbox_text(&idp, CONTACT).contains("您的申诉未通过，原因：证件照片不清晰"));
        assert!(pending(&idp).await.is_empty());
    }
);

both_backends!(
    admin_appeal_pages_are_for_platform_admins,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        file(
            &idp,
            &browser(),
            &Filing::person("forgot_login_name", ALICE_ID_NUMBER),
        )
        .await;
        let appeal = pending(&idp).await.remove(0);
        let res = browser()
            .get(idp.url("/admin/appeals"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(location(&res).starts_with("/login?next="));
        let alice = signed_in(&idp, "alice").await;
        for path in [
            "/admin/appeals".to_owned(),
            format!("/admin/appeals/{}", appeal.id),
            format!(
                "/admin/appeals/{}/uploads/{}",
                appeal.id, appeal.upload_ids[0]
            ),
        ] {
            let (status, _) = get(&alice, &idp, &path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        }
        let res = alice
            .post(idp.url(&format!("/admin/appeals/{}", appeal.id)))
            .form(&[("action", "reject"), ("reason", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(pending(&idp).await.len(), 1);
    }
);

const UNIT_USCC: &str = "91120116MA05KK2Y54";

/// A second legal entity with its legal representative and agent (the fixture unit has none).
async fn add_unit(idp: &TestIdp) {
    use tongyi_idp::store::{
        accounts::{NewAccount, NewOrg},
        identities::{NewLegalEntity, OrgPerson},
    };
    let hash = tongyi_idp::accounts::password::hash_blocking(
        crate::harness::PASSWORD,
        &idp.state.config.login,
    )
    .unwrap();
    let person = |name: &str, id: &str, mobile: &str| OrgPerson {
        name: name.into(),
        id_type: "resident_id_card".into(),
        id_number: id.into(),
        id_valid_from: Some("2020-01-01".into()),
        id_valid_to: None,
        mobile: mobile.into(),
    };
    let unit = NewLegalEntity {
        org: NewOrg {
            id: "org-2".into(),
            name: "天津第二测试有限公司".into(),
            uscc: Some(UNIT_USCC.into()),
            status: tongyi_shared::org::UnitStatus::Active,
        },
        entity_type: "enterprise".into(),
        registration_region: "domestic".into(),
        legal_rep: person("赵六", "110105199003071239", "13600001111"),
        agent: person("王五", ALICE_ID_NUMBER, "13600002222"),
    };
    let account = NewAccount {
        id: "acct-unit2".into(),
        login_name: "unit_two".into(),
        password_hash: hash,
        account_type: AccountType::LegalEntity,
        display_name: "天津第二测试有限公司".into(),
        realname_status: tongyi_shared::claims::RealnameStatus::Verified,
        org_id: Some("org-2".into()),
        org_role: Some(tongyi_shared::org::OrgRole::Admin),
        grants: vec![],
        roles: vec![],
        login_name_chosen: true,
    };
    identities::create_legal_entity(
        &idp.state.db,
        &idp.state.pii,
        &account,
        Some("13600003333"),
        None,
        &unit,
        1,
    )
    .await
    .unwrap();
}

fn unit_filing(agent: &str) -> Filing {
    Filing {
        texts: vec![
            ("kind", "forgot_mobile".to_owned()),
            ("account_type", "legal_entity".to_owned()),
            ("unit_name", "天津第二测试有限公司".to_owned()),
            ("uscc", UNIT_USCC.to_owned()),
            ("agent_name", agent.to_owned()),
            ("mobile", CONTACT.to_owned()),
            ("description", "原手机号已停用。".to_owned()),
        ],
        files: vec![("licence", png(), "licence.png")],
        wrong_code: false,
        wrong_captcha: false,
    }
}

both_backends!(
    a_units_appeal_matches_by_uscc_name_and_agent,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        add_unit(&idp).await;
        // A unit filing needs its licence.
        let (status, html) = file(
            &idp,
            &browser(),
            &Filing {
                files: vec![],
                ..unit_filing("王五")
            },
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("id=\"licence-error\""), "{html}");
        let (status, _) = file(&idp, &browser(), &unit_filing("某某")).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = file(
            &idp,
            &browser(),
            &unit_filing("王五").set("mobile", "13755558888"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let list = pending(&idp).await;
        let matched: Vec<_> = list
            .iter()
            .filter(|a| a.matched_account_id.as_deref() == Some("acct-unit2"))
            .collect();
        assert_eq!(matched.len(), 1, "only the filing naming the agent matches");
        assert_eq!(matched[0].contact_mobile, "13755558888");
        let b = admin(&idp).await;
        let (status, html) = decide(&idp, &b, &matched[0].id, "approve", "").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let found = identities::find_by_mobile(
            &idp.state.db,
            &idp.state.pii,
            AccountType::LegalEntity,
            "13755558888",
        )
        .await
        .unwrap();
        assert_eq!(found.map(|a| a.id).as_deref(), Some("acct-unit2"));

        // The unit's console shows its people masked.
        let unit = signed_in(&idp, "unit_two").await;
        let (_, page) = get(&unit, &idp, "/account").await;
        for shown in [
            "法定代表人",
            "赵*",
            "******1239",
            "13*****111",
            "代办人",
            "王*",
            UNIT_USCC,
        ] {
            assert!(page.contains(shown), "{shown} missing:\n{page}");
        }
        for hidden_value in ["赵六", "110105199003071239", "13600001111", "13600002222"] {
            assert!(!page.contains(hidden_value), "{hidden_value} shown");
        }
    }
);

both_backends!(
    filings_are_rate_limited_per_address,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = browser();
        let (_, page) = get(&b, &idp, "/appeal").await;
        let csrf = hidden(&page, "csrf");
        let mut last = StatusCode::OK;
        for _ in 0..31 {
            let empty = form(&csrf, &[("action", "submit".to_owned())]);
            last = b
                .post(idp.url("/appeal"))
                .multipart(empty)
                .send()
                .await
                .unwrap()
                .status();
            if last == StatusCode::TOO_MANY_REQUESTS {
                break;
            }
            assert_eq!(last, StatusCode::UNPROCESSABLE_ENTITY);
        }
        assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    }
);
