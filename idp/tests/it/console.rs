//! The account console against a running IdP on both backends: masked values only, email and
//! mobile changes (the mobile needs the new number's code and the current password), a login
//! name chosen once, the info update record, login sessions listed and ended, and CSRF.

use reqwest::StatusCode;
use tongyi_idp::{
    accounts::password,
    store::{
        self,
        accounts::NewAccount,
        identities::{self, PersonIdentity},
    },
};
use tongyi_shared::claims::{AccountType, RealnameStatus};

use crate::{
    both_backends,
    harness::{self, browser, hidden, location, Backend, TestIdp, ALICE_MOBILE, PASSWORD},
};

pub const ALICE_ID_NUMBER: &str = "11010519491231002X";

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// A browser (Firefox on Linux, by its user agent) signed in as `login_name`.
pub async fn signed_in(idp: &TestIdp, login_name: &str) -> reqwest::Client {
    let b = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(FIREFOX)
        .build()
        .unwrap();
    let page = b
        .get(idp.url("/login?next=/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("csrf", hidden(&page, "csrf")),
        ("req", String::new()),
        ("next", "/account".to_owned()),
        ("login_name", login_name.to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let res = b.post(idp.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "login of {login_name}");
    assert_eq!(location(&res), "/account");
    b
}

pub async fn get(b: &reqwest::Client, idp: &TestIdp, path: &str) -> (StatusCode, String) {
    let res = b.get(idp.url(path)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn post(
    b: &reqwest::Client,
    idp: &TestIdp,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let res = b.post(idp.url(path)).form(form).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// Gives alice a resident ID card (the fixtures have none).
pub async fn give_alice_identity(idp: &TestIdp) {
    let identity = PersonIdentity {
        real_name: "张三".into(),
        identity_region: "mainland".into(),
        id_type: "resident_id_card".into(),
        id_number: ALICE_ID_NUMBER.into(),
        id_valid_from: Some("2020-01-01".into()),
        id_valid_to: None,
        id_country: None,
        gender: Some("2".into()),
        ethnicity: Some("04".into()),
    };
    identities::set_identity(&idp.state.db, &idp.state.pii, "acct-alice", &identity, 1)
        .await
        .unwrap();
}

/// Creates an active account (password [`PASSWORD`]) with the given roles.
pub async fn add_account(idp: &TestIdp, id: &str, login_name: &str, chosen: bool, roles: &[&str]) {
    let hash = password::hash_blocking(PASSWORD, &idp.state.config.login).unwrap();
    let account = NewAccount {
        id: id.into(),
        login_name: login_name.into(),
        password_hash: hash,
        account_type: AccountType::NaturalPerson,
        display_name: "李四".into(),
        realname_status: RealnameStatus::Unverified,
        org_id: None,
        org_role: None,
        grants: vec![],
        roles: roles.iter().map(|r| r.to_string()).collect(),
        login_name_chosen: chosen,
    };
    assert!(store::accounts::insert(&idp.state.db, &account, 1)
        .await
        .unwrap());
}

fn latest_code(idp: &TestIdp, mobile: &str) -> String {
    let entry = idp
        .state
        .sms
        .outbox()
        .unwrap()
        .latest_for(mobile)
        .unwrap_or_else(|| panic!("nothing sent to {mobile}"));
    let start = entry.text.find(|c: char| c.is_ascii_digit()).unwrap();
    entry.text[start..start + 6].to_owned()
}

both_backends!(
    console_needs_login_and_shows_masked_values,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        give_alice_identity(&idp).await;
        let res = browser().get(idp.url("/account")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), "/login?next=%2Faccount");

        let b = signed_in(&idp, "alice").await;
        let (status, html) = get(&b, &idp, "/account").await;
        assert_eq!(status, StatusCode::OK);
        for shown in [
            "alice",
            "自然人",
            "张*",
            "居民身份证",
            "******002X",
            "13*****678",
            "a***@example.com",
            "已认证",
            "/account/realname",
            "/account/password",
            "天津测试孵化器有限公司",
            "<dt>性别</dt><dd>女</dd>",
            "<dt>民族</dt><dd>已填写（敏感个人信息，不予显示）</dd>",
        ] {
            assert!(html.contains(shown), "{shown} missing:\n{html}");
        }
        for hidden_value in [
            ALICE_MOBILE,
            ALICE_ID_NUMBER,
            "alice@example.com",
            "张三",
            "藏族",
        ] {
            assert!(
                !html.contains(hidden_value),
                "{hidden_value} shown in clear"
            );
        }

        // A unit's own account shows the unit's USCC.
        let unit = signed_in(&idp, "unit_admin").await;
        let (_, html) = get(&unit, &idp, "/account").await;
        assert!(
            html.contains("法人") && html.contains("91120116MA05JJ1X4B"),
            "{html}"
        );
        assert!(!html.contains(harness::UNIT_MOBILE));
    }
);

both_backends!(
    email_change_is_checked_and_recorded,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = signed_in(&idp, "alice").await;
        let (_, page) = get(&b, &idp, "/account/edit").await;
        let csrf = hidden(&page, "csrf");
        assert!(page.contains("不能在此修改"), "{page}");

        let (status, html) = post(
            &b,
            &idp,
            "/account/edit",
            &[
                ("csrf", &csrf),
                ("action", "email"),
                ("email", "not-an-email"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("id=\"email-error\"") && html.contains("请输入正确的邮箱地址"),
            "{html}"
        );
        assert!(html.contains("value=\"not-an-email\""), "typed value kept");

        let (status, html) = post(
            &b,
            &idp,
            "/account/edit",
            &[
                ("csrf", &csrf),
                ("action", "email"),
                ("email", "bob@Example.ORG"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(
            html.contains("邮箱已更新") && html.contains("b***@example.org"),
            "{html}"
        );
        let account = store::accounts::find_by_id(&idp.state.db, "acct-alice")
            .await
            .unwrap()
            .unwrap();
        let (_, email) = identities::contact_of(&idp.state.pii, &account);
        assert_eq!(email.as_deref(), Some("bob@example.org"));

        let (_, history) = get(&b, &idp, "/account/history").await;
        for shown in ["邮箱", "本人", "a***@example.com", "b***@example.org"] {
            assert!(history.contains(shown), "{shown} missing:\n{history}");
        }
        assert!(!history.contains("bob@example.org"));
        let updates = store::info_updates::for_account(&idp.state.db, "acct-alice", 10)
            .await
            .unwrap();
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].actor_account_id.as_deref(), Some("acct-alice"));
    }
);

fn latest_email_code(idp: &TestIdp, email: &str) -> String {
    let entry = idp
        .state
        .email
        .outbox()
        .unwrap()
        .latest_for(email)
        .unwrap_or_else(|| panic!("nothing sent to {email}"));
    let start = entry.body.find(|c: char| c.is_ascii_digit()).unwrap();
    entry.body[start..start + 6].to_owned()
}

async fn email_verified(idp: &TestIdp) -> bool {
    store::accounts::find_by_id(&idp.state.db, "acct-alice")
        .await
        .unwrap()
        .unwrap()
        .email_verified
}

both_backends!(
    an_email_is_verified_by_a_code_sent_to_it,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = signed_in(&idp, "alice").await;
        let (_, page) = get(&b, &idp, "/account/edit").await;
        let csrf = hidden(&page, "csrf");
        assert!(page.contains("邮箱尚未验证"), "{page}");
        assert!(!email_verified(&idp).await);
        let act = |action: &'static str, code: &'static str| {
            let (b, idp, csrf) = (&b, &idp, csrf.clone());
            async move {
                post(
                    b,
                    idp,
                    "/account/edit",
                    &[("csrf", &csrf), ("action", action), ("email_code", code)],
                )
                .await
            }
        };

        // Nothing sent yet: a code is refused, field by field.
        let (status, html) = act("verify_email", "").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("id=\"email_code-error\"") && html.contains("请输入邮件中的验证码"));
        let (status, html) = act("verify_email", "123456").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("验证码已过期或无效"), "{html}");

        let (status, html) = act("send_email_code", "").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("验证码已发送至 a***@example.com"), "{html}");
        let outbox = idp.state.email.outbox().unwrap().messages();
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox[0].to, "alice@example.com");
        assert!(outbox[0].subject.contains("验证电子邮箱"));
        // The development outbox page shows it, the address masked.
        let (status, shown) = get(&b, &idp, "/dev/email-outbox").await;
        assert_eq!(status, StatusCode::OK);
        assert!(shown.contains("开发邮件发件箱") && shown.contains("a***@example.com"));
        assert!(shown.contains("验证电子邮箱验证码") && !shown.contains("alice@example.com"));
        // Within a minute a second send is refused and says when to try again.
        let (status, html) = act("send_email_code", "").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("发送过于频繁"), "{html}");
        assert_eq!(idp.state.email.outbox().unwrap().messages().len(), 1);

        let code = latest_email_code(&idp, "alice@example.com");
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let wrong: &'static str = Box::leak(wrong.to_owned().into_boxed_str());
        let (status, html) = act("verify_email", wrong).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("验证码错误"), "{html}");
        assert!(!email_verified(&idp).await);

        let code: &'static str = Box::leak(code.into_boxed_str());
        let (status, html) = act("verify_email", code).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(
            html.contains("邮箱已验证") && html.contains("（已验证）"),
            "{html}"
        );
        assert!(!html.contains("邮箱尚未验证"));
        assert!(email_verified(&idp).await);
        // Single use.
        let (status, _) = act("verify_email", code).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        // A new address is unproven again.
        let (status, html) = post(
            &b,
            &idp,
            "/account/edit",
            &[
                ("csrf", &csrf),
                ("action", "email"),
                ("email", "zhang@example.org"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("邮箱尚未验证"), "{html}");
        assert!(!email_verified(&idp).await);
    }
);

both_backends!(
    mobile_change_needs_the_new_numbers_code_and_the_password,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = signed_in(&idp, "alice").await;
        let (_, page) = get(&b, &idp, "/account/edit").await;
        let csrf = hidden(&page, "csrf");
        let new_mobile = "13711112222";

        let (status, html) = post(
            &b,
            &idp,
            "/account/edit",
            &[
                ("csrf", &csrf),
                ("action", "send_code"),
                ("mobile", new_mobile),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("验证码已发送至 13*****222"), "{html}");
        assert!(
            html.contains(&format!("value=\"{new_mobile}\"")),
            "mobile kept"
        );
        let code = latest_code(&idp, new_mobile);
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);

        let (status, html) = post(
            &b,
            &idp,
            "/account/edit",
            &[
                ("csrf", &csrf),
                ("action", "mobile"),
                ("mobile", new_mobile),
                ("sms_code", &code),
                ("password", "Wrong#Pass2026"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("id=\"password-error\"") && html.contains("当前密码错误"),
            "{html}"
        );
        assert!(!html.contains("Wrong#Pass2026"), "password echoed");

        let (status, html) = post(
            &b,
            &idp,
            "/account/edit",
            &[
                ("csrf", &csrf),
                ("action", "mobile"),
                ("mobile", new_mobile),
                ("sms_code", &wrong),
                ("password", PASSWORD),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("id=\"sms_code-error\"") && html.contains("验证码错误"),
            "{html}"
        );
        let still = identities::find_by_mobile(
            &idp.state.db,
            &idp.state.pii,
            AccountType::NaturalPerson,
            ALICE_MOBILE,
        )
        .await
        .unwrap();
        assert_eq!(
            still.map(|a| a.id).as_deref(),
            Some("acct-alice"),
            "unchanged after failures"
        );

        let (status, html) = post(
            &b,
            &idp,
            "/account/edit",
            &[
                ("csrf", &csrf),
                ("action", "mobile"),
                ("mobile", new_mobile),
                ("sms_code", &code),
                ("password", PASSWORD),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("预留手机号已更换") && html.contains("13*****222"));
        let moved = identities::find_by_mobile(
            &idp.state.db,
            &idp.state.pii,
            AccountType::NaturalPerson,
            new_mobile,
        )
        .await
        .unwrap();
        assert_eq!(moved.map(|a| a.id).as_deref(), Some("acct-alice"));
        let old = identities::find_by_mobile(
            &idp.state.db,
            &idp.state.pii,
            AccountType::NaturalPerson,
            ALICE_MOBILE,
        )
        .await
        .unwrap();
        assert!(old.is_none());
        let (_, history) = get(&b, &idp, "/account/history").await;
        assert!(
            history.contains("预留手机号")
                && history.contains("13*****678")
                && history.contains("13*****222"),
            "{history}"
        );
    }
);

both_backends!(login_name_is_chosen_once, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    add_account(&idp, "acct-quick", "u13700000000", false, &[]).await;
    let b = signed_in(&idp, "u13700000000").await;
    let (_, page) = get(&b, &idp, "/account/edit").await;
    assert!(page.contains("设置登录账号"), "{page}");
    let csrf = hidden(&page, "csrf");

    let (status, html) = post(
        &b,
        &idp,
        "/account/edit",
        &[
            ("csrf", &csrf),
            ("action", "login_name"),
            ("login_name", "alice"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "taken name");
    assert!(html.contains("id=\"login_name-error\""), "{html}");
    let (status, _) = post(
        &b,
        &idp,
        "/account/edit",
        &[
            ("csrf", &csrf),
            ("action", "login_name"),
            ("login_name", "a"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "invalid name");

    let (status, html) = post(
        &b,
        &idp,
        "/account/edit",
        &[
            ("csrf", &csrf),
            ("action", "login_name"),
            ("login_name", "lisi2026"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("登录账号已设置") && !html.contains("id=\"login_name\""),
        "{html}"
    );
    let account = store::accounts::find_by_id(&idp.state.db, "acct-quick")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.login_name, "lisi2026");
    assert!(account.login_name_chosen);

    let (status, html) = post(
        &b,
        &idp,
        "/account/edit",
        &[
            ("csrf", &csrf),
            ("action", "login_name"),
            ("login_name", "lisi2027"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("不能再次修改"), "{html}");
    let account = store::accounts::find_by_id(&idp.state.db, "acct-quick")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.login_name, "lisi2026");
    let (_, history) = get(&b, &idp, "/account/history").await;
    assert!(
        history.contains("登录账号")
            && history.contains("u13700000000")
            && history.contains("lisi2026")
    );
});

both_backends!(
    sessions_are_listed_and_the_other_one_ends,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let a = signed_in(&idp, "alice").await;
        let b = signed_in(&idp, "alice").await;
        let (_, page) = get(&a, &idp, "/account/sessions").await;
        assert_eq!(page.matches("<tr><td>").count(), 2, "{page}");
        assert_eq!(page.matches("当前会话").count(), 1);
        assert!(
            page.contains("127.0.0.1") && page.contains("Firefox · Linux"),
            "{page}"
        );
        let other_sid = hidden(&page, "sid");
        let csrf = hidden(&page, "csrf");

        let (status, page) = post(
            &a,
            &idp,
            "/account/sessions",
            &[("csrf", &csrf), ("action", "end_one"), ("sid", &other_sid)],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("该会话已退出"), "{page}");
        assert_eq!(page.matches("<tr><td>").count(), 1);
        let res = b.get(idp.url("/account")).send().await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "the other browser is signed out"
        );
        let (status, _) = get(&a, &idp, "/account").await;
        assert_eq!(status, StatusCode::OK, "this browser stays signed in");

        // 退出其他所有会话 ends the rest and keeps this one.
        let c = signed_in(&idp, "alice").await;
        let d = signed_in(&idp, "alice").await;
        let (status, page) = post(
            &a,
            &idp,
            "/account/sessions",
            &[("csrf", &csrf), ("action", "end_others")],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page.matches("<tr><td>").count(), 1, "{page}");
        for gone in [&c, &d] {
            let res = gone.get(idp.url("/account")).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
        }
        let (status, _) = get(&a, &idp, "/account").await;
        assert_eq!(status, StatusCode::OK);
    }
);

both_backends!(
    console_forms_refuse_a_missing_csrf_token,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let a = signed_in(&idp, "alice").await;
        let b = signed_in(&idp, "alice").await;
        let (status, _) = post(
            &a,
            &idp,
            "/account/edit",
            &[("action", "email"), ("email", "evil@example.org")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = post(
            &a,
            &idp,
            "/account/edit",
            &[
                ("csrf", "x".repeat(43).as_str()),
                ("action", "email"),
                ("email", "evil@example.org"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let account = store::accounts::find_by_id(&idp.state.db, "acct-alice")
            .await
            .unwrap()
            .unwrap();
        let (_, email) = identities::contact_of(&idp.state.pii, &account);
        assert_eq!(email.as_deref(), Some("alice@example.com"));
        let (status, _) = post(&a, &idp, "/account/sessions", &[("action", "end_others")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = get(&b, &idp, "/account").await;
        assert_eq!(status, StatusCode::OK, "no session ended");
    }
);

both_backends!(
    signing_out_another_session_revokes_its_refresh_token,
    |backend: Backend| async move {
        use crate::proto;
        let idp = TestIdp::start(backend).await;
        let other = browser();
        let (code, verifier) = proto::code_for(&idp, &other, "rp-basic", "alice").await;
        let tokens = proto::exchange(&idp, "rp-basic", &code, &verifier).await;
        tokens.assert_ok();
        // A rotated token, unused: only the end of its session can make it fail.
        let rotated = proto::refresh(&idp, "rp-basic", tokens.str("refresh_token")).await;
        rotated.assert_ok();
        let refresh_token = rotated.str("refresh_token").to_owned();
        let a = signed_in(&idp, "alice").await;
        let (_, page) = get(&a, &idp, "/account/sessions").await;
        let form = [
            ("csrf", hidden(&page, "csrf")),
            ("action", "end_one".to_owned()),
            ("sid", hidden(&page, "sid")),
        ];
        let res = a
            .post(idp.url("/account/sessions"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let res = other.get(idp.url("/account")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let reply = proto::refresh(&idp, "rp-basic", &refresh_token).await;
        assert!(reply.error().is_some(), "refresh token still works");
    }
);
