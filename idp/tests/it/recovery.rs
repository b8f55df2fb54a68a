//! 找回密码 (/recover): a code only when an identifier the login page takes (login name,
//! mobile, email, ID number or USCC) and the reserved mobile, or the verified email, match
//! (same answer otherwise), one message for every mismatch, field errors that keep the code
//! usable, the password set with every session and refresh token of the account ended, and
//! the address limit.

use reqwest::StatusCode;
use tongyi_idp::store;

use crate::{
    both_backends,
    harness::{browser, Backend, TestIdp, ALICE_MOBILE, PASSWORD, UNIT_MOBILE},
    login_modes::{
        delivered, give_alice_an_id_number, login_as, message, post_page, sub, ALICE_ID, LEGAL,
        NATURAL,
    },
    proto::{refresh, user_tokens},
};

const SENT: &str = "如账号与手机号匹配，验证码已发送。";
const MISMATCH: &str = "信息不匹配或验证码错误。";
const NEW_PASSWORD: &str = "Found#Again2027";
const UNIT_NAME: &str = "天津测试孵化器有限公司";
const USCC: &str = "91120116MA05JJ1X4B";

async fn recover_page(idp: &TestIdp, b: &reqwest::Client, account_type: &str) -> String {
    let res = b
        .get(idp.url(&format!("/recover?type={account_type}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

/// Posts the recovery form of `page` with `fields`; returns (status, page).
async fn post(
    idp: &TestIdp,
    b: &reqwest::Client,
    page: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let (_, status, html) = post_page(idp, b, "/recover", page, fields).await.page();
    (status, html)
}

/// Asks for a code; returns the page, which must say [`SENT`].
async fn ask_code(
    idp: &TestIdp,
    b: &reqwest::Client,
    page: &str,
    login_name: &str,
    mobile: &str,
) -> String {
    let (status, html) = post(
        idp,
        b,
        page,
        &[
            ("login_name", login_name),
            ("mobile", mobile),
            ("action", "send_code"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        message(&html, "recover-notice").as_deref(),
        Some(SENT),
        "{html}"
    );
    html
}

fn sent_count(idp: &TestIdp, mobile: &str) -> usize {
    idp.state
        .sms
        .outbox()
        .unwrap()
        .messages()
        .iter()
        .filter(|m| m.mobile == mobile)
        .count()
}

both_backends!(recovery_happy_path, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let tokens = user_tokens(&idp, "rp-basic").await;
    let other = user_tokens(&idp, "rp-post").await;
    idp.logouts.lock().unwrap().clear();

    let b = browser();
    let page = recover_page(&idp, &b, "natural_person").await;
    let page = ask_code(&idp, &b, &page, "alice", ALICE_MOBILE).await;
    let code = delivered(&idp, ALICE_MOBILE).expect("a code for alice");
    let (status, html) = post(
        &idp,
        &b,
        &page,
        &[
            ("login_name", "alice"),
            ("mobile", ALICE_MOBILE),
            ("code", &code),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
            ("reason", "忘记了密码"),
            ("action", "reset"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("密码已重置"), "{html}");
    assert!(html.contains("href=\"/login\""), "{html}");

    // Every session and refresh token of alice ended; both RPs were told.
    for (client, t) in [("rp-basic", &tokens), ("rp-post", &other)] {
        refresh(&idp, client, t.str("refresh_token"))
            .await
            .assert_error(400, "invalid_grant");
    }
    assert_eq!(idp.logouts.lock().unwrap().len(), 2);

    let account = store::accounts::find_by_id(&idp.state.db, "acct-alice")
        .await
        .unwrap()
        .unwrap();
    assert!(tongyi_idp::accounts::password::verify_blocking(
        NEW_PASSWORD,
        &account.password_hash
    ));
    let rows = store::audit::list_for_subject(&idp.state.db, "acct-alice", 20)
        .await
        .unwrap();
    let changed = rows
        .iter()
        .find(|r| r.event == "password_changed")
        .expect("audited");
    assert!(
        changed.detail.contains("\"method\":\"recovery\""),
        "{}",
        changed.detail
    );
    let updates = store::info_updates::for_account(&idp.state.db, "acct-alice", 20)
        .await
        .unwrap();
    assert!(updates
        .iter()
        .any(|u| u.field == "password" && u.new_value.contains("忘记了密码")));

    // The code was used up.
    let (_, html) = post(
        &idp,
        &b,
        &recover_page(&idp, &b, "natural_person").await,
        &[
            ("login_name", "alice"),
            ("mobile", ALICE_MOBILE),
            ("code", &code),
            ("new_password", "Again#Pass2028"),
            ("confirm_password", "Again#Pass2028"),
            ("reason", "再次"),
        ],
    )
    .await;
    assert_eq!(message(&html, "recover-error").as_deref(), Some(MISMATCH));
});

both_backends!(
    recovery_sends_only_on_match,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = browser();
        let page = recover_page(&idp, &b, "natural_person").await;
        // Wrong mobile, unknown login name, other type's account: same answer, nothing sent.
        let page = ask_code(&idp, &b, &page, "alice", "13700001111").await;
        idp.state.clock.advance(61);
        let page = ask_code(&idp, &b, &page, "nobody", ALICE_MOBILE).await;
        idp.state.clock.advance(61);
        let page = ask_code(&idp, &b, &page, "unit_admin", UNIT_MOBILE).await;
        assert_eq!(sent_count(&idp, "13700001111"), 0);
        assert_eq!(sent_count(&idp, ALICE_MOBILE), 0);
        assert_eq!(sent_count(&idp, UNIT_MOBILE), 0);

        // A wrong captcha sends nothing either.
        idp.state.clock.advance(61);
        let (_, html) = post(
            &idp,
            &b,
            &page,
            &[
                ("login_name", "alice"),
                ("mobile", ALICE_MOBILE),
                ("captcha", "WRONG"),
                ("action", "send_code"),
            ],
        )
        .await;
        assert!(message(&html, "captcha-error").is_some(), "{html}");
        assert_eq!(sent_count(&idp, ALICE_MOBILE), 0);
        ask_code(&idp, &b, &html, "alice", ALICE_MOBILE).await;
        assert_eq!(sent_count(&idp, ALICE_MOBILE), 1);
    }
);

both_backends!(
    recovery_mismatches_and_field_errors,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let tokens = user_tokens(&idp, "rp-basic").await;
        let b = browser();
        let page = recover_page(&idp, &b, "legal_entity").await;
        assert!(page.contains("name=\"unit_name\""), "{page}");
        let page = ask_code(&idp, &b, &page, "unit_admin", UNIT_MOBILE).await;
        let code = delivered(&idp, UNIT_MOBILE).unwrap();
        let attempt = |page: String, fields: Vec<(&'static str, String)>| {
            let (idp, b) = (&idp, &b);
            async move {
                let mut all: Vec<(&str, String)> = vec![
                    ("login_name", "unit_admin".into()),
                    ("mobile", UNIT_MOBILE.into()),
                    ("unit_name", UNIT_NAME.into()),
                    ("uscc", USCC.into()),
                    ("new_password", NEW_PASSWORD.into()),
                    ("confirm_password", NEW_PASSWORD.into()),
                    ("reason", "法人变更".into()),
                    ("action", "reset".into()),
                ];
                for (k, v) in fields {
                    all.retain(|(name, _)| *name != k);
                    all.push((k, v));
                }
                let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
                post(idp, b, &page, &refs).await
            }
        };

        // Field errors come first and leave the code usable; the passwords are not echoed.
        let (status, html) = attempt(
            page,
            vec![("code", code.clone()), ("reason", String::new())],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            message(&html, "reason-error").as_deref(),
            Some("请填写找回密码的原因")
        );
        assert!(!html.contains(NEW_PASSWORD));
        assert!(html.contains(UNIT_NAME), "values are kept");
        let (_, html) = attempt(
            html,
            vec![("code", code.clone()), ("reason", "长".repeat(201))],
        )
        .await;
        assert!(message(&html, "reason-error").is_some(), "{html}");
        let (_, html) = attempt(
            html,
            vec![
                ("code", code.clone()),
                ("new_password", "weak".into()),
                ("confirm_password", "weak".into()),
            ],
        )
        .await;
        assert!(message(&html, "new_password-error").is_some(), "{html}");
        let (_, html) = attempt(
            html,
            vec![("code", code.clone()), ("unit_name", String::new())],
        )
        .await;
        assert_eq!(
            message(&html, "unit_name-error").as_deref(),
            Some("请输入单位名称")
        );

        // Each mismatch gets the one message; a wrong code as well.
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let (_, html) = attempt(html, vec![("code", wrong.into())]).await;
        assert_eq!(message(&html, "recover-error").as_deref(), Some(MISMATCH));
        // A mismatch does not spend the code (everything is compared before it is used): one
        // code outlives every mismatch below, and then works with the corrected USCC.
        idp.state.clock.advance(61);
        let mut html = ask_code(&idp, &b, &html, "unit_admin", UNIT_MOBILE).await;
        let code = delivered(&idp, UNIT_MOBILE).unwrap();
        for bad in [
            ("unit_name", "另一家公司".to_owned()),
            ("uscc", "91110000600037341L".to_owned()),
            ("login_name", "alice".to_owned()),
            ("login_name", "nobody".to_owned()),
        ] {
            let (_, next) = attempt(html, vec![("code", code.clone()), bad.clone()]).await;
            assert_eq!(
                message(&next, "recover-error").as_deref(),
                Some(MISMATCH),
                "{bad:?}"
            );
            html = next;
        }
        let account = store::accounts::find_by_id(&idp.state.db, "acct-unit")
            .await
            .unwrap()
            .unwrap();
        assert!(tongyi_idp::accounts::password::verify_blocking(
            PASSWORD,
            &account.password_hash
        ));

        // The right combination works with that same code; the USCC compares
        // case-insensitively.
        let (status, html) =
            attempt(html, vec![("code", code), ("uscc", USCC.to_lowercase())]).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("密码已重置"));
        // alice's tokens were not touched.
        refresh(&idp, "rp-basic", tokens.str("refresh_token"))
            .await
            .assert_ok();
    }
);

both_backends!(recovery_is_rate_limited, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let b = browser();
    let mut page = recover_page(&idp, &b, "natural_person").await;
    let fields = [
        ("login_name", "alice"),
        ("mobile", ALICE_MOBILE),
        ("code", "123456"),
        ("new_password", NEW_PASSWORD),
        ("confirm_password", NEW_PASSWORD),
        ("reason", "忘记"),
    ];
    for _ in 0..10 {
        let (_, html) = post(&idp, &b, &page, &fields).await;
        assert_eq!(message(&html, "recover-error").as_deref(), Some(MISMATCH));
        page = html;
    }
    let (_, html) = post(&idp, &b, &page, &fields).await;
    assert_eq!(
        message(&html, "recover-error").as_deref(),
        Some("请求过于频繁，请稍后再试。")
    );
});

/// Recovers the password of the account `identifier` names on the tab `account_type`: asks for
/// a code, takes it from the development outbox and sets [`NEW_PASSWORD`]; returns the final
/// page. `unit` is the unit name and USCC a legal entity's step two asks for.
async fn recover_by(
    idp: &TestIdp,
    account_type: &str,
    identifier: &str,
    mobile: &str,
    unit: Option<(&str, &str)>,
) -> String {
    let b = browser();
    let page = recover_page(idp, &b, account_type).await;
    let before = sent_count(idp, mobile);
    let page = ask_code(idp, &b, &page, identifier, mobile).await;
    assert_eq!(
        sent_count(idp, mobile),
        before + 1,
        "a code for {identifier}"
    );
    let code = delivered(idp, mobile).unwrap();
    let mut fields = vec![
        ("login_name", identifier),
        ("mobile", mobile),
        ("code", &code),
        ("new_password", NEW_PASSWORD),
        ("confirm_password", NEW_PASSWORD),
        ("reason", "忘记了密码"),
        ("action", "reset"),
    ];
    if let Some((name, uscc)) = unit {
        fields.push(("unit_name", name));
        fields.push(("uscc", uscc));
    }
    let (status, html) = post(idp, &b, &page, &fields).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("密码已重置"), "{html}");
    html
}

both_backends!(
    recovery_of_a_quick_registration_by_its_mobile,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        // Seed 003: quick registration by mobile; the login name is generated and not used.
        let b = browser();
        let path = "/register/quick";
        let page = crate::register::get_page(&b, &idp, path).await;
        let mobile = "13500004444";
        let mut fields: Vec<(&str, String)> = vec![
            ("mobile", mobile.into()),
            ("password", PASSWORD.into()),
            ("password_confirm", PASSWORD.into()),
        ];
        let page = crate::register::press_send_code(&b, &idp, path, &page, &fields).await;
        fields.push(("sms_code", delivered(&idp, mobile).unwrap()));
        let (status, done) = crate::register::press_register(&b, &idp, path, &page, &fields).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert!(done.contains("手机号和密码登录"), "{done}");
        let person = sub(&login_as(&idp, NATURAL, mobile, PASSWORD).await);
        idp.state.clock.advance(61);

        // The recovery page asks for what the login page takes.
        let page = recover_page(&idp, &b, "natural_person").await;
        assert!(
            page.contains("登录名、手机号、电子邮箱或身份证号"),
            "{page}"
        );
        assert!(!page.contains("统一社会信用代码"), "{page}");
        recover_by(&idp, "natural_person", mobile, mobile, None).await;
        let tokens = login_as(&idp, NATURAL, mobile, NEW_PASSWORD).await;
        assert_eq!(sub(&tokens), person);
    }
);

both_backends!(
    recovery_by_id_number_and_email,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        give_alice_an_id_number(&idp).await;
        recover_by(&idp, "natural_person", ALICE_ID, ALICE_MOBILE, None).await;
        let tokens = login_as(&idp, NATURAL, "alice", NEW_PASSWORD).await;
        assert_eq!(sub(&tokens), "acct-alice");

        // The seed gives alice an email; recovery by it sets another password.
        idp.state.clock.advance(61);
        let b = browser();
        let page = recover_page(&idp, &b, "natural_person").await;
        let page = ask_code(&idp, &b, &page, "alice@example.com", ALICE_MOBILE).await;
        let code = delivered(&idp, ALICE_MOBILE).unwrap();
        let again = "Mail#Found2028";
        let (status, html) = post(
            &idp,
            &b,
            &page,
            &[
                ("login_name", "alice@example.com"),
                ("mobile", ALICE_MOBILE),
                ("code", &code),
                ("new_password", again),
                ("confirm_password", again),
                ("reason", "再次忘记"),
                ("action", "reset"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("密码已重置"), "{html}");
        let tokens = login_as(&idp, NATURAL, ALICE_ID, again).await;
        assert_eq!(sub(&tokens), "acct-alice");
    }
);

both_backends!(recovery_of_a_unit_by_uscc, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let b = browser();
    let page = recover_page(&idp, &b, "legal_entity").await;
    assert!(
        page.contains("登录名、手机号、电子邮箱或统一社会信用代码"),
        "{page}"
    );
    recover_by(
        &idp,
        "legal_entity",
        &USCC.to_lowercase(),
        UNIT_MOBILE,
        Some((UNIT_NAME, USCC)),
    )
    .await;
    let tokens = login_as(&idp, LEGAL, USCC, NEW_PASSWORD).await;
    assert_eq!(sub(&tokens), "acct-unit");
});

/// The page with what differs from one answer to the next (the form's tokens, the captcha
/// and the identifier echoed back) taken out.
fn normalized(html: &str, identifier: &str) -> String {
    let mut out = html.replace(identifier, "IDENTIFIER");
    for name in ["csrf", "captcha_id"] {
        let value = crate::harness::hidden(html, name);
        out = out.replace(&value, name);
    }
    out
}

both_backends!(
    recovery_by_an_unknown_identifier_sends_nothing,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        give_alice_an_id_number(&idp).await;
        let b = browser();
        let page = recover_page(&idp, &b, "natural_person").await;
        let known = ask_code(&idp, &b, &page, ALICE_ID, ALICE_MOBILE).await;
        assert_eq!(sent_count(&idp, ALICE_MOBILE), 1);
        // Unknown identifiers of every kind, and the other type's: the same page, nothing sent.
        for (account_type, identifier) in [
            ("natural_person", "nobody"),
            ("natural_person", "13700009999"),
            ("natural_person", "nobody@example.com"),
            ("natural_person", "110105194912310038"),
            ("natural_person", USCC),
            ("legal_entity", "alice@example.com"),
            ("legal_entity", ALICE_ID),
            ("legal_entity", "91110000600037341L"),
        ] {
            idp.state.clock.advance(61);
            let page = recover_page(&idp, &b, account_type).await;
            let (status, answer) = post(
                &idp,
                &b,
                &page,
                &[
                    ("login_name", identifier),
                    ("mobile", ALICE_MOBILE),
                    ("action", "send_code"),
                ],
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{identifier}");
            assert_eq!(
                message(&answer, "recover-notice").as_deref(),
                Some(SENT),
                "{identifier}"
            );
            if account_type == "natural_person" {
                assert_eq!(
                    normalized(&answer, identifier),
                    normalized(&known, ALICE_ID),
                    "{identifier}"
                );
            }
        }
        assert_eq!(sent_count(&idp, ALICE_MOBILE), 1);
        assert_eq!(sent_count(&idp, "13700009999"), 0);
    }
);

both_backends!(
    recovery_by_another_identifier_keeps_the_login_name_rule,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let now = idp.state.clock.now();
        assert!(store::accounts::set_login_name(
            &idp.state.db,
            "acct-alice",
            "Alice_Zhang2026",
            now
        )
        .await
        .unwrap());
        let b = browser();
        let page = recover_page(&idp, &b, "natural_person").await;
        let page = ask_code(&idp, &b, &page, ALICE_MOBILE, ALICE_MOBILE).await;
        let code = delivered(&idp, ALICE_MOBILE).unwrap();
        // The login name in other case: allowed against the mobile typed, refused against
        // the account's login name.
        let (status, html) = post(
            &idp,
            &b,
            &page,
            &[
                ("login_name", ALICE_MOBILE),
                ("mobile", ALICE_MOBILE),
                ("code", &code),
                ("new_password", "alice_zhang2026"),
                ("confirm_password", "alice_zhang2026"),
                ("reason", "忘记了密码"),
                ("action", "reset"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert_eq!(
            message(&html, "new_password-error").as_deref(),
            Some("密码不能与账号相同")
        );
        let account = store::accounts::find_by_id(&idp.state.db, "acct-alice")
            .await
            .unwrap()
            .unwrap();
        assert!(tongyi_idp::accounts::password::verify_blocking(
            PASSWORD,
            &account.password_hash
        ));
    }
);

const SENT_EMAIL: &str = "如账号与已验证的电子邮箱匹配，验证码已发送，请查收邮件。";
const ALICE_EMAIL: &str = "alice@example.com";

fn emails_to(idp: &TestIdp, to: &str) -> Vec<String> {
    idp.state
        .email
        .outbox()
        .unwrap()
        .messages()
        .into_iter()
        .filter(|m| m.to == to)
        .map(|m| m.body)
        .collect()
}

both_backends!(
    recovery_by_a_verified_email,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = browser();
        let page = recover_page(&idp, &b, "natural_person").await;
        assert!(page.contains("<legend>验证方式</legend>"), "{page}");
        let ask = |page: String, login_name: &'static str, email: &'static str| {
            let (idp, b) = (&idp, &b);
            async move {
                post(
                    idp,
                    b,
                    &page,
                    &[
                        ("login_name", login_name),
                        ("method", "email"),
                        ("email", email),
                        ("action", "send_code"),
                    ],
                )
                .await
            }
        };

        // A malformed address is the field's error, with the identifier kept.
        let (status, html) = ask(page, "alice", "alice-at-example").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("id=\"email-error\"") && html.contains("请输入正确的邮箱地址"));
        assert!(html.contains("value=\"alice\""), "{html}");

        // Alice's email is not proven yet: the same answer, and nothing is sent.
        let (status, html) = ask(html, "alice", ALICE_EMAIL).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert_eq!(
            message(&html, "recover-notice").as_deref(),
            Some(SENT_EMAIL)
        );
        assert!(emails_to(&idp, ALICE_EMAIL).is_empty());

        assert!(store::identities::mark_email_verified(
            &idp.state.db,
            &idp.state.pii,
            "acct-alice",
            ALICE_EMAIL,
            idp.state.clock.now(),
        )
        .await
        .unwrap());
        // Within the interval, for any identifier: the email field says so.
        let (status, html) = ask(html, "alice", ALICE_EMAIL).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("id=\"email-error\""), "{html}");
        idp.state.clock.advance(61);

        // An unknown identifier with alice's email: the same answer, nothing sent.
        let (_, html) = ask(html, "nobody", ALICE_EMAIL).await;
        assert_eq!(
            message(&html, "recover-notice").as_deref(),
            Some(SENT_EMAIL)
        );
        assert!(emails_to(&idp, ALICE_EMAIL).is_empty());
        idp.state.clock.advance(61);

        // Her mobile as the identifier (what a quick registration's user knows) and her email.
        let (_, html) = ask(html, ALICE_MOBILE, ALICE_EMAIL).await;
        assert_eq!(
            message(&html, "recover-notice").as_deref(),
            Some(SENT_EMAIL)
        );
        let sent = emails_to(&idp, ALICE_EMAIL);
        assert_eq!(sent.len(), 1);
        let start = sent[0].find(|c: char| c.is_ascii_digit()).unwrap();
        let code = sent[0][start..start + 6].to_owned();
        assert!(
            html.contains("邮件验证码"),
            "the code field names the email"
        );

        let reset = |code: String| {
            let (idp, b, html) = (&idp, &b, html.clone());
            async move {
                post(
                    idp,
                    b,
                    &html,
                    &[
                        ("login_name", ALICE_MOBILE),
                        ("method", "email"),
                        ("email", ALICE_EMAIL),
                        ("code", &code),
                        ("new_password", NEW_PASSWORD),
                        ("confirm_password", NEW_PASSWORD),
                        ("reason", "忘记了密码"),
                        ("action", "reset"),
                    ],
                )
                .await
            }
        };
        // An SMS code is not an email code.
        let (status, html2) = reset("000000".into()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(message(&html2, "recover-error").as_deref(), Some(MISMATCH));
        let (status, done) = reset(code.clone()).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert!(done.contains("密码已重置"), "{done}");
        let account = store::accounts::find_by_id(&idp.state.db, "acct-alice")
            .await
            .unwrap()
            .unwrap();
        assert!(tongyi_idp::accounts::password::verify_blocking(
            NEW_PASSWORD,
            &account.password_hash
        ));
        // Used once.
        let (status, _) = reset(code).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
);
