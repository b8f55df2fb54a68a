//! Login modes: password login by login name, mobile, email, ID number or USCC on the tab of
//! the account's type; SMS-code login; the delays after repeated failures and their end; the forced password change
//! after a unit admin's reset; changing the password; disabling and enabling accounts
//! (members API and domain functions).

use reqwest::StatusCode;
use tongyi_idp::{
    accounts::sms_code::{self, SmsPurpose},
    store::{self, identities::PersonIdentity},
};

use crate::{
    both_backends,
    captcha::{captcha_id, read_picture},
    harness::{
        browser, follow, hidden, is_wait, location, Backend, Outcome, TestIdp, ALICE_MOBILE,
        PASSWORD, UNIT_MOBILE,
    },
    proto::{self, code_in, code_request, exchange, refresh, CodeRequest, Reply},
};

pub const INVALID: &str = "账号或密码错误。";
pub const SMS_SENT: &str = "如该手机号已注册，将收到验证码；同一手机号60秒内只能获取一次。";
pub const SMS_INVALID: &str = "手机号或验证码错误。";
pub const ALICE_ID: &str = "11010519491231002X";
const USCC: &str = "91120116MA05JJ1X4B";
const NEW_PASSWORD: &str = "Fresh#Pass2027";

/// The latest code texted to `mobile` (development outbox).
pub fn delivered(idp: &TestIdp, mobile: &str) -> Option<String> {
    let entry = idp.state.sms.outbox()?.latest_for(mobile)?;
    let start = entry.text.find(|c: char| c.is_ascii_digit())?;
    Some(entry.text[start..start + 6].to_owned())
}

/// The alert of a page by its element id.
pub fn message(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\" role=\"");
    let start = html.find(&marker)? + marker.len();
    let rest = &html[start..];
    let text = &rest[rest.find('>')? + 1..];
    Some(text.split('<').next()?.to_owned())
}

/// Opens an authorization request for rp-basic and the login page at `query` (`type`,
/// `mode`), keeping `req`.
async fn login_page(idp: &TestIdp, b: &reqwest::Client, query: &str) -> (CodeRequest, String) {
    let req = code_request(idp, "rp-basic", &[]);
    let (url, status, html) = follow(b, &idp.base, &req.url).await.page();
    assert_eq!(status, StatusCode::OK);
    assert!(url.contains("/login"), "{url}");
    let id = hidden(&html, "req");
    let res = b
        .get(idp.url(&format!("/login?req={id}&{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    (req, res.text().await.unwrap())
}

/// Posts the form of `page` with `fields` added to its hidden ones, answering the captcha
/// when the page shows one, and follows on.
pub async fn post_page(
    idp: &TestIdp,
    b: &reqwest::Client,
    path: &str,
    page: &str,
    fields: &[(&str, &str)],
) -> Outcome {
    let mut form: Vec<(String, String)> = ["csrf", "req", "next", "account_type", "mode"]
        .iter()
        .filter(|n| page.contains(&format!("name=\"{n}\" value=\"")))
        .map(|n| (n.to_string(), hidden(page, n)))
        .collect();
    if let Some(id) = captcha_id(page) {
        form.push(("captcha".into(), read_picture(idp, &id).await));
        form.push(("captcha_id".into(), id));
    }
    for (k, v) in fields {
        form.retain(|(name, _)| name != k);
        form.push((k.to_string(), v.to_string()));
    }
    let res = b.post(idp.url(path)).form(&form).send().await.unwrap();
    if res.status().is_redirection() {
        let next = location(&res);
        let absolute = if next.starts_with('/') {
            idp.url(&next)
        } else {
            next
        };
        return follow(b, &idp.base, &absolute).await;
    }
    Outcome::Page {
        url: idp.url(path),
        status: res.status(),
        html: res.text().await.unwrap(),
    }
}

/// Logs in on the tab `query` with `identifier` and expects tokens for `sub`.
pub async fn login_as(idp: &TestIdp, query: &str, identifier: &str, password: &str) -> Reply {
    let b = browser();
    let (req, page) = login_page(idp, &b, query).await;
    let redirect = post_page(
        idp,
        &b,
        "/login",
        &page,
        &[("login_name", identifier), ("password", password)],
    )
    .await
    .rp();
    let code = code_in(idp, &redirect, &req);
    let tokens = exchange(idp, "rp-basic", &code, &req.verifier).await;
    tokens.assert_ok();
    tokens
}

/// Submits a password login that must fail; returns its message.
async fn refused(idp: &TestIdp, query: &str, identifier: &str, password: &str) -> String {
    let b = browser();
    let (_, page) = login_page(idp, &b, query).await;
    let (_, status, html) = post_page(
        idp,
        &b,
        "/login",
        &page,
        &[("login_name", identifier), ("password", password)],
    )
    .await
    .page();
    assert_eq!(status, StatusCode::OK);
    message(&html, "login-error").unwrap_or_else(|| panic!("no message in:\n{html}"))
}

pub fn sub(tokens: &Reply) -> String {
    crate::rp::payload(tokens.str("id_token"))["sub"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub async fn give_alice_an_id_number(idp: &TestIdp) {
    let identity = PersonIdentity {
        real_name: "张三".into(),
        identity_region: "mainland".into(),
        id_type: "resident_id".into(),
        id_number: ALICE_ID.into(),
        id_valid_from: None,
        id_valid_to: None,
        id_country: None,
        gender: None,
        ethnicity: None,
    };
    store::identities::set_identity(
        &idp.state.db,
        &idp.state.pii,
        "acct-alice",
        &identity,
        idp.state.clock.now(),
    )
    .await
    .unwrap();
}

pub const NATURAL: &str = "type=natural_person";
pub const LEGAL: &str = "type=legal_entity";

both_backends!(
    login_modes_identifiers_per_tab,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        give_alice_an_id_number(&idp).await;

        for identifier in ["alice", ALICE_MOBILE, "alice@example.com", ALICE_ID] {
            let tokens = login_as(&idp, NATURAL, identifier, PASSWORD).await;
            assert_eq!(sub(&tokens), "acct-alice", "{identifier}");
        }
        for identifier in ["unit_admin", UNIT_MOBILE, USCC] {
            let tokens = login_as(&idp, LEGAL, identifier, PASSWORD).await;
            assert_eq!(sub(&tokens), "acct-unit", "{identifier}");
        }

        // On the other tab each identifier fails exactly like an unknown account.
        let unknown = refused(&idp, NATURAL, "nobody", PASSWORD).await;
        assert_eq!(unknown, INVALID);
        assert_eq!(
            refused(&idp, NATURAL, "alice", "Wrong#Pass2026").await,
            INVALID
        );
        for identifier in ["alice", ALICE_MOBILE, "alice@example.com", ALICE_ID] {
            assert_eq!(
                refused(&idp, LEGAL, identifier, PASSWORD).await,
                unknown,
                "{identifier}"
            );
        }
        for identifier in ["unit_admin", UNIT_MOBILE, USCC] {
            assert_eq!(
                refused(&idp, NATURAL, identifier, PASSWORD).await,
                unknown,
                "{identifier}"
            );
        }
    }
);

both_backends!(login_modes_page_links, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let b = browser();
    let (_, page) = login_page(&idp, &b, "type=legal_entity&next=/account").await;
    assert!(page.contains("name=\"account_type\" value=\"legal_entity\""));
    assert!(page.contains("统一社会信用代码"), "{page}");
    for target in [
        "href=\"/register\"",
        "href=\"/recover?type=legal_entity\"",
        "href=\"/appeal\"",
    ] {
        assert!(page.contains(target), "{target}");
    }
    // The tab links keep the authorization request and the next page.
    let req = hidden(&page, "req");
    assert!(
        page.contains(&format!(
            "/login?type=natural_person&#38;req={req}&#38;next=%2Faccount"
        )),
        "{page}"
    );
});

/// Asks for an SMS login code on `page` (which must be the SMS form); returns the new page.
async fn send_sms(idp: &TestIdp, b: &reqwest::Client, page: &str, mobile: &str) -> String {
    let (_, status, html) = post_page(
        idp,
        b,
        "/login",
        page,
        &[("mobile", mobile), ("action", "send_code")],
    )
    .await
    .page();
    assert_eq!(status, StatusCode::OK);
    html
}

both_backends!(login_modes_sms_login, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let b = browser();
    let (req, page) = login_page(&idp, &b, "type=natural_person&mode=sms").await;
    assert!(captcha_id(&page).is_some(), "sending needs a captcha");

    // A wrong captcha sends nothing.
    let (_, _, html) = post_page(
        &idp,
        &b,
        "/login",
        &page,
        &[
            ("mobile", ALICE_MOBILE),
            ("action", "send_code"),
            ("captcha", "WRONG"),
        ],
    )
    .await
    .page();
    assert!(message(&html, "captcha-error").is_some(), "{html}");
    assert_eq!(delivered(&idp, ALICE_MOBILE), None);

    // An unknown mobile gets the same answer and no SMS.
    let html = send_sms(&idp, &b, &html, "13700001111").await;
    assert_eq!(message(&html, "sms-notice").as_deref(), Some(SMS_SENT));
    assert_eq!(delivered(&idp, "13700001111"), None);
    // A mobile of the other type's account is unknown on this tab.
    let html = send_sms(&idp, &b, &html, UNIT_MOBILE).await;
    assert_eq!(message(&html, "sms-notice").as_deref(), Some(SMS_SENT));
    assert_eq!(delivered(&idp, UNIT_MOBILE), None);

    let html = send_sms(&idp, &b, &html, ALICE_MOBILE).await;
    assert_eq!(message(&html, "sms-notice").as_deref(), Some(SMS_SENT));
    assert!(
        html.contains(&format!("value=\"{ALICE_MOBILE}\"")),
        "the mobile is kept"
    );
    let code = delivered(&idp, ALICE_MOBILE).expect("a code for alice");

    // A wrong code fails, with one message.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (_, _, html) = post_page(
        &idp,
        &b,
        "/login",
        &html,
        &[
            ("mobile", ALICE_MOBILE),
            ("code", wrong),
            ("action", "login"),
        ],
    )
    .await
    .page();
    assert_eq!(message(&html, "login-error").as_deref(), Some(SMS_INVALID));

    let redirect = post_page(
        &idp,
        &b,
        "/login",
        &html,
        &[
            ("mobile", ALICE_MOBILE),
            ("code", &code),
            ("action", "login"),
        ],
    )
    .await
    .rp();
    let c = code_in(&idp, &redirect, &req);
    let tokens = exchange(&idp, "rp-basic", &c, &req.verifier).await;
    tokens.assert_ok();
    let id = crate::rp::payload(tokens.str("id_token"));
    assert_eq!(id["sub"], "acct-alice");
    assert_eq!(id["amr"], serde_json::json!(["sms"]));

    // A code for another purpose to the same mobile in the last minute holds the login code
    // back (one SMS per mobile per 60 s, SPEC §3): the page says so rather than claim a send.
    idp.state.clock.advance(61);
    sms_code::send_code(
        &idp.state,
        SmsPurpose::Register,
        ALICE_MOBILE,
        "127.0.0.1".parse().unwrap(),
    )
    .await
    .unwrap();
    let registration_code = delivered(&idp, ALICE_MOBILE);
    let b3 = browser();
    let (_, page) = login_page(&idp, &b3, "type=natural_person&mode=sms").await;
    let html = send_sms(&idp, &b3, &page, ALICE_MOBILE).await;
    assert_eq!(message(&html, "sms-notice").as_deref(), Some(SMS_SENT));
    assert!(SMS_SENT.contains("60秒内只能获取一次"));
    assert_eq!(
        delivered(&idp, ALICE_MOBILE),
        registration_code,
        "nothing new sent"
    );

    // The code was single use.
    let b2 = browser();
    let (_, page) = login_page(&idp, &b2, "type=natural_person&mode=sms").await;
    let (_, _, html) = post_page(
        &idp,
        &b2,
        "/login",
        &page,
        &[
            ("mobile", ALICE_MOBILE),
            ("code", &code),
            ("action", "login"),
        ],
    )
    .await
    .page();
    assert_eq!(message(&html, "login-error").as_deref(), Some(SMS_INVALID));
});

both_backends!(login_modes_delay_ends, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    // Up to `delay_after_failures` (5) and one more reach the password.
    for i in 1..=6 {
        assert_eq!(
            refused(&idp, NATURAL, ALICE_MOBILE, "Wrong#Pass2026").await,
            INVALID,
            "failure {i}"
        );
    }
    let shown = refused(&idp, NATURAL, ALICE_MOBILE, PASSWORD).await;
    assert!(is_wait(&shown), "{shown}");
    // SMS login by the same mobile from the same address waits too.
    let b = browser();
    let (_, page) = login_page(&idp, &b, "type=natural_person&mode=sms").await;
    let (_, _, html) = post_page(
        &idp,
        &b,
        "/login",
        &page,
        &[
            ("mobile", ALICE_MOBILE),
            ("code", "123456"),
            ("action", "login"),
        ],
    )
    .await
    .page();
    let shown = message(&html, "login-error").unwrap_or_default();
    assert!(is_wait(&shown), "{shown}");

    idp.state
        .clock
        .advance(idp.state.config.login.first_delay_secs);
    let tokens = login_as(&idp, NATURAL, ALICE_MOBILE, PASSWORD).await;
    assert_eq!(sub(&tokens), "acct-alice");
});

/// Tokens for `login_name` at rp-basic through a fresh browser, which stays logged in.
async fn session_tokens(
    idp: &TestIdp,
    login_name: &str,
    password: &str,
) -> (reqwest::Client, Reply) {
    let b = browser();
    let (req, page) = login_page(idp, &b, NATURAL).await;
    let redirect = post_page(
        idp,
        &b,
        "/login",
        &page,
        &[("login_name", login_name), ("password", password)],
    )
    .await
    .rp();
    let code = code_in(idp, &redirect, &req);
    let tokens = exchange(idp, "rp-basic", &code, &req.verifier).await;
    tokens.assert_ok();
    (b, tokens)
}

/// The password page of a signed-in browser.
async fn password_page(idp: &TestIdp, b: &reqwest::Client) -> String {
    let res = b.get(idp.url("/account/password")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

both_backends!(login_modes_change_password, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let (other, other_tokens) = session_tokens(&idp, "alice", PASSWORD).await;
    let (b, tokens) = session_tokens(&idp, "alice", PASSWORD).await;
    idp.logouts.lock().unwrap().clear();

    // Not signed in: to the login page, coming back here.
    let res = browser()
        .get(idp.url("/account/password"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/login?next=%2Faccount%2Fpassword");

    let page = password_page(&idp, &b).await;
    let change = |page: String, current: &'static str, new: &'static str, confirm: &'static str| {
        let (idp, b) = (&idp, &b);
        async move {
            post_page(
                idp,
                b,
                "/account/password",
                &page,
                &[
                    ("current_password", current),
                    ("new_password", new),
                    ("confirm_password", confirm),
                ],
            )
            .await
            .page()
        }
    };
    let (_, status, html) = change(page, "Wrong#Pass2026", NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        message(&html, "current-error").as_deref(),
        Some("当前密码错误")
    );
    assert!(!html.contains(NEW_PASSWORD), "passwords are never echoed");
    let (_, _, html) = change(html, PASSWORD, "short", "short").await;
    assert!(message(&html, "new-error").is_some(), "{html}");
    let (_, _, html) = change(html, PASSWORD, NEW_PASSWORD, "Other#Pass2027").await;
    assert_eq!(
        message(&html, "confirm-error").as_deref(),
        Some("两次输入的密码不一致")
    );
    let (_, _, html) = change(html, PASSWORD, PASSWORD, PASSWORD).await;
    assert_eq!(
        message(&html, "new-error").as_deref(),
        Some("新密码不能与当前密码相同")
    );
    let (_, status, html) = change(html, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("密码已修改"), "{html}");

    // The other session ended: its refresh token is dead, its RP was told; this one lives.
    refresh(&idp, "rp-basic", other_tokens.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(
        idp.logouts.lock().unwrap().len(),
        1,
        "back-channel logout of the other session"
    );
    refresh(&idp, "rp-basic", tokens.str("refresh_token"))
        .await
        .assert_ok();
    let silent = code_request(&idp, "rp-basic", &[("prompt", "none")]);
    let redirect = follow(&b, &idp.base, &silent.url).await.rp();
    code_in(&idp, &redirect, &silent);
    let res = other
        .get(idp.url("/account/password"))
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_redirection(),
        "the other browser is logged out"
    );

    // The new password logs in, the old one no longer.
    assert_eq!(refused(&idp, NATURAL, "alice", PASSWORD).await, INVALID);
    login_as(&idp, NATURAL, "alice", NEW_PASSWORD).await;
});

/// Creates an account in `org` (created when missing) with `PASSWORD`.
async fn add_account(idp: &TestIdp, id: &str, org: &str, org_role: &str, mobile: Option<&str>) {
    use tongyi_idp::store::accounts::{NewAccount, NewOrg};
    let now = idp.state.clock.now();
    store::accounts::ensure_org(
        &idp.state.db,
        &NewOrg {
            id: org.into(),
            name: format!("单位{org}"),
            uscc: None,
            status: tongyi_shared::org::UnitStatus::Active,
        },
        now,
    )
    .await
    .unwrap();
    let cfg = idp.state.config.login.clone();
    let hash = tongyi_idp::accounts::password::hash_blocking(PASSWORD, &cfg).unwrap();
    let account = NewAccount {
        id: id.into(),
        login_name: id.into(),
        password_hash: hash,
        account_type: tongyi_shared::claims::AccountType::NaturalPerson,
        display_name: id.into(),
        realname_status: tongyi_shared::claims::RealnameStatus::Verified,
        org_id: Some(org.into()),
        org_role: tongyi_shared::org::OrgRole::parse(org_role),
        grants: vec![],
        roles: vec![],
        login_name_chosen: true,
    };
    let contact = idp.state.pii.seal_contact(mobile, None);
    assert!(
        store::accounts::insert_with_contact(&idp.state.db, &account, &contact, now)
            .await
            .unwrap()
    );
}

/// POSTs to the members API with an optional Bearer token.
async fn members_api(
    idp: &TestIdp,
    token: Option<&str>,
    member: &str,
    action: &str,
) -> (u16, serde_json::Value) {
    let mut req = TestIdp::http().post(idp.url(&format!("/api/members/{member}/{action}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

/// The temporary password in the latest SMS to `mobile`.
fn temporary_password(idp: &TestIdp, mobile: &str) -> String {
    let text = idp
        .state
        .sms
        .outbox()
        .unwrap()
        .latest_for(mobile)
        .unwrap()
        .text;
    let start = text.find("临时密码为 ").unwrap() + "临时密码为 ".len();
    text[start..].split('，').next().unwrap().to_owned()
}

both_backends!(
    login_modes_reset_api_authorization,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        add_account(&idp, "other_admin", "org-2", "admin", Some("13711112222")).await;
        add_account(&idp, "no_mobile", "org-1", "member", None).await;
        let unit = login_as(&idp, LEGAL, "unit_admin", PASSWORD).await;
        let unit = unit.str("access_token").to_owned();
        let alice = login_as(&idp, NATURAL, "alice", PASSWORD).await;
        let alice = alice.str("access_token").to_owned();
        let other = login_as(&idp, NATURAL, "other_admin", PASSWORD).await;
        let other = other.str("access_token").to_owned();

        for action in ["password-reset", "disable", "enable"] {
            assert_eq!(
                members_api(&idp, None, "acct-alice", action).await.1["error"],
                "invalid_token"
            );
            let (status, body) = members_api(&idp, Some("not-a-token"), "acct-alice", action).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("invalid_token"))
            );
            let (status, body) = members_api(&idp, Some(&other), "acct-alice", action).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (403, Some("forbidden")),
                "another unit's admin"
            );
            let (status, _) = members_api(&idp, Some(&alice), "acct-alice", action).await;
            assert_eq!(status, 403, "a member on itself");
            let (status, _) = members_api(&idp, Some(&alice), "acct-unit", action).await;
            assert_eq!(status, 403, "a member on its admin");
            let (status, _) = members_api(&idp, Some(&unit), "acct-unit", action).await;
            assert_eq!(status, 403, "an admin on itself");
            let (status, body) = members_api(&idp, Some(&unit), "acct-nobody", action).await;
            assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
        }
        let (status, body) = members_api(&idp, Some(&unit), "no_mobile", "password-reset").await;
        assert_eq!((status, body["error"].as_str()), (409, Some("no_mobile")));
        assert!(body.get("password").is_none());
        // Nothing above changed alice's password.
        login_as(&idp, NATURAL, "alice", PASSWORD).await;
    }
);

both_backends!(
    login_modes_forced_change_after_reset,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let unit = login_as(&idp, LEGAL, "unit_admin", PASSWORD).await;
        let (alice_browser, alice_tokens) = session_tokens(&idp, "alice", PASSWORD).await;
        idp.logouts.lock().unwrap().clear();

        let (status, body) = members_api(
            &idp,
            Some(unit.str("access_token")),
            "acct-alice",
            "password-reset",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(!body
            .to_string()
            .contains(&temporary_password(&idp, ALICE_MOBILE)));
        let temporary = temporary_password(&idp, ALICE_MOBILE);
        tongyi_shared::validate::check_new_password(&temporary, &temporary, Some("alice")).unwrap();

        // All of alice's sessions and refresh tokens ended.
        refresh(&idp, "rp-basic", alice_tokens.str("refresh_token"))
            .await
            .assert_error(400, "invalid_grant");
        assert_eq!(idp.logouts.lock().unwrap().len(), 1);
        let res = alice_browser
            .get(idp.url("/account/password"))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_redirection());
        assert_eq!(refused(&idp, NATURAL, "alice", PASSWORD).await, INVALID);

        // The temporary password logs in, but straight to the forced change.
        let b = browser();
        let (req, page) = login_page(&idp, &b, NATURAL).await;
        let (url, status, html) = post_page(
            &idp,
            &b,
            "/login",
            &page,
            &[("login_name", "alice"), ("password", &temporary)],
        )
        .await
        .page();
        assert_eq!(status, StatusCode::OK);
        assert!(url.contains("/account/password?forced=1"), "{url}");
        assert!(html.contains("forced-notice"), "{html}");
        // The authorization request does not go on before the change.
        let (url, _, _) = follow(&b, &idp.base, &req.url).await.page();
        assert!(url.contains("/account/password?forced=1"), "{url}");
        // Nor does any other signed-in page of the IdP.
        let res = b.get(idp.url("/account/sessions")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let to = res.headers()["location"].to_str().unwrap().to_owned();
        assert!(to.starts_with("/account/password?forced=1"), "{to}");
        assert!(to.contains("next=%2Faccount%2Fsessions"), "{to}");

        let redirect = post_page(
            &idp,
            &b,
            "/account/password",
            &html,
            &[
                ("current_password", &temporary),
                ("new_password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await
        .rp();
        let code = code_in(&idp, &redirect, &req);
        exchange(&idp, "rp-basic", &code, &req.verifier)
            .await
            .assert_ok();
        let account = store::accounts::find_by_id(&idp.state.db, "acct-alice")
            .await
            .unwrap()
            .unwrap();
        assert!(!account.must_change_password);
        login_as(&idp, NATURAL, "alice", NEW_PASSWORD).await;
    }
);

both_backends!(
    login_modes_disable_and_enable,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let unit = login_as(&idp, LEGAL, "unit_admin", PASSWORD).await;
        let unit = unit.str("access_token").to_owned();
        let (b, tokens) = session_tokens(&idp, "alice", PASSWORD).await;
        idp.logouts.lock().unwrap().clear();

        let (status, body) = members_api(&idp, Some(&unit), "acct-alice", "disable").await;
        assert_eq!((status, body["status"].as_str()), (200, Some("disabled")));
        refresh(&idp, "rp-basic", tokens.str("refresh_token"))
            .await
            .assert_error(400, "invalid_grant");
        assert!(!proto::active(&idp, "rp-basic", tokens.str("access_token")).await);
        assert_eq!(idp.logouts.lock().unwrap().len(), 1, "the RP was told");
        let res = b.get(idp.url("/account/password")).send().await.unwrap();
        assert!(res.status().is_redirection());
        // The right password learns the account is disabled and whom to ask; a wrong one
        // learns nothing more than for any account.
        assert_eq!(
            refused(&idp, NATURAL, "alice", PASSWORD).await,
            "该账号已被停用，请联系所属单位“天津测试孵化器有限公司”的单位管理员。"
        );
        assert_eq!(
            refused(&idp, NATURAL, "alice", "Wrong-Passw0rd").await,
            INVALID
        );

        let (status, body) = members_api(&idp, Some(&unit), "acct-alice", "enable").await;
        assert_eq!((status, body["status"].as_str()), (200, Some("enabled")));
        login_as(&idp, NATURAL, "alice", PASSWORD).await;

        // The same through the CLI's command.
        use tongyi_idp::cli::{run_account, AccountCommand};
        let out = run_account(
            &idp.state,
            AccountCommand::Disable {
                login_name: "alice".into(),
            },
        )
        .await
        .unwrap();
        assert!(out.contains("disabled"));
        assert_eq!(
            refused(&idp, NATURAL, "alice", PASSWORD).await,
            "该账号已被停用，请联系所属单位“天津测试孵化器有限公司”的单位管理员。"
        );
        run_account(
            &idp.state,
            AccountCommand::Enable {
                login_name: "ALICE".into(),
            },
        )
        .await
        .unwrap();
        login_as(&idp, NATURAL, "alice", PASSWORD).await;
        // A unit's own admin is enabled again by the platform's administrators.
        let admin = |login_name: &str| AccountCommand::Disable {
            login_name: login_name.into(),
        };
        run_account(&idp.state, admin("unit_admin")).await.unwrap();
        assert_eq!(
            refused(&idp, LEGAL, "unit_admin", PASSWORD).await,
            "该账号已被停用，请联系平台管理员。"
        );
        assert!(run_account(
            &idp.state,
            AccountCommand::Disable {
                login_name: "nobody".into()
            }
        )
        .await
        .is_err());
        let rows = store::audit::list_for_subject(&idp.state.db, "acct-alice", 100)
            .await
            .unwrap();
        let events: Vec<(&str, Option<&str>)> = rows
            .iter()
            .filter(|r| r.event.starts_with("account_"))
            .map(|r| (r.event.as_str(), r.actor_account_id.as_deref()))
            .collect();
        assert_eq!(
            events,
            [
                ("account_enabled", None),
                ("account_disabled", None),
                ("account_enabled", Some("acct-unit")),
                ("account_disabled", Some("acct-unit")),
            ]
        );
    }
);

both_backends!(
    login_modes_reset_goes_to_a_verified_email,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let unit = login_as(&idp, LEGAL, "unit_admin", PASSWORD).await;
        let sms_before = idp.state.sms.outbox().unwrap().messages().len();
        assert!(store::identities::mark_email_verified(
            &idp.state.db,
            &idp.state.pii,
            "acct-alice",
            "alice@example.com",
            idp.state.clock.now(),
        )
        .await
        .unwrap());
        let (status, body) = members_api(
            &idp,
            Some(unit.str("access_token")),
            "acct-alice",
            "password-reset",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "password_reset_by_email");
        // By email only: no SMS went out.
        assert_eq!(idp.state.sms.outbox().unwrap().messages().len(), sms_before);
        let mail = idp
            .state
            .email
            .outbox()
            .unwrap()
            .latest_for("alice@example.com")
            .expect("an email to alice");
        assert_eq!(mail.subject, "账号密码已重置");
        let start = mail.body.find("临时密码为 ").unwrap() + "临时密码为 ".len();
        let temporary = mail.body[start..].split('，').next().unwrap().to_owned();
        assert!(!body.to_string().contains(&temporary));
        assert_eq!(refused(&idp, NATURAL, "alice", PASSWORD).await, INVALID);
        let rows = store::audit::list_for_subject(&idp.state.db, "acct-alice", 20)
            .await
            .unwrap();
        assert!(rows
            .iter()
            .any(|r| r.event == "password_changed" && r.detail.contains("\"sent_by\":\"email\"")));
    }
);
