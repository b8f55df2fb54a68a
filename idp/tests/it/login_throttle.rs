//! Password login: one answer for every kind of failure, the delays after repeated failures
//! of one account from one address, and what disabling an account does to its login, tokens and sessions.

use reqwest::StatusCode;

use crate::{
    both_backends,
    captcha::submit_login_answering_captcha,
    harness::{browser, follow, is_wait, Backend, Outcome, TestIdp, PASSWORD},
    proto::{self, code_in, code_request, exchange, refresh, user_tokens},
};

const INVALID: &str = "账号或密码错误。";

/// Opens an authorization request for rp-basic in `b` and returns the login page.
async fn login_page(idp: &TestIdp, b: &reqwest::Client) -> (proto::CodeRequest, String) {
    let req = code_request(idp, "rp-basic", &[]);
    let (url, status, html) = follow(b, &idp.base, &req.url).await.page();
    assert_eq!(status, StatusCode::OK);
    assert!(url.contains("/login"), "{url}");
    (req, html)
}

/// The message shown on a login page.
fn login_error(html: &str) -> Option<String> {
    let marker = "id=\"login-error\" role=\"alert\">";
    let start = html.find(marker)? + marker.len();
    Some(html[start..].split('<').next()?.to_owned())
}

/// Submits the form (answering the captcha the page shows after three failures); expects to
/// stay on the login page and returns it with its message.
async fn failed_login(
    idp: &TestIdp,
    b: &reqwest::Client,
    page: &str,
    login_name: &str,
    password: &str,
) -> (String, String) {
    let (url, status, html) = submit_login_answering_captcha(b, idp, page, login_name, password)
        .await
        .page();
    assert_eq!(status, StatusCode::OK, "{url}");
    let message = login_error(&html).unwrap_or_else(|| panic!("no message in:\n{html}"));
    (html, message)
}

both_backends!(failures_look_the_same, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let b = browser();
    let (req, page) = login_page(&idp, &b).await;

    let (page, wrong_password) = failed_login(&idp, &b, &page, "alice", "Wrong#Pass2026").await;
    assert_eq!(wrong_password, INVALID);
    let (page, unknown) = failed_login(&idp, &b, &page, "nobody", PASSWORD).await;
    assert_eq!(unknown, wrong_password, "unknown accounts are not revealed");
    let (page, empty) = failed_login(&idp, &b, &page, "alice", "").await;
    assert_eq!(empty, "请输入账号和密码。");

    // The form keeps working: login names are case-insensitive.
    let redirect = submit_login_answering_captcha(&b, &idp, &page, "ALICE", PASSWORD)
        .await
        .rp();
    code_in(&idp, &redirect, &req);

    // A login form posted without its CSRF token is refused.
    let res = b
        .post(idp.url("/login"))
        .form(&[("login_name", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
});

both_backends!(delay_after_five_failures, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;

    // A successful login resets the count: 4 failures, success, 4 failures, success.
    for _ in 0..2 {
        let b = browser();
        let (req, mut page) = login_page(&idp, &b).await;
        for _ in 0..4 {
            let (next, message) = failed_login(&idp, &b, &page, "unit_admin", "nope").await;
            assert_eq!(message, INVALID);
            page = next;
        }
        let redirect = submit_login_answering_captcha(&b, &idp, &page, "unit_admin", PASSWORD)
            .await
            .rp();
        code_in(&idp, &redirect, &req);
    }

    // Five failures for alice from this address start the delays there: the sixth attempt
    // still reaches the password...
    let b = browser();
    let (req, mut page) = login_page(&idp, &b).await;
    for i in 1..=6 {
        let (next, message) = failed_login(&idp, &b, &page, "alice", "nope").await;
        assert_eq!(message, INVALID, "failure {i}");
        page = next;
    }
    // ...and the next must wait, even with the right password, under any spelling of the name.
    let (page, message) = failed_login(&idp, &b, &page, "alice", PASSWORD).await;
    assert!(is_wait(&message), "{message}");
    let (_, message) = failed_login(&idp, &b, &page, "Alice", PASSWORD).await;
    assert!(is_wait(&message), "{message}");
    // No session was created.
    match follow(&b, &idp.base, &req.url).await {
        Outcome::Page { url, .. } => assert!(url.contains("/login"), "{url}"),
        Outcome::ToRp(u) => panic!("a throttled attempt got a code: {u}"),
    }

    // Another account from the same address still logs in.
    let other = browser();
    let (req, page) = login_page(&idp, &other).await;
    let redirect = submit_login_answering_captcha(&other, &idp, &page, "unit_admin", PASSWORD)
        .await
        .rp();
    let code = code_in(&idp, &redirect, &req);
    let tokens = exchange(&idp, "rp-basic", &code, &req.verifier).await;
    tokens.assert_ok();
    assert_eq!(
        crate::rp::payload(tokens.str("id_token"))["sub"],
        "acct-unit"
    );
});

both_backends!(disabled_account, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let b = browser();
    let (code, verifier) = proto::code_for(&idp, &b, "rp-basic", "alice").await;
    let tokens = exchange(&idp, "rp-basic", &code, &verifier).await;
    tokens.assert_ok();
    let other = user_tokens(&idp, "rp-post").await;

    let now = idp.state.clock.now();
    assert!(tongyi_idp::store::accounts::set_status(
        &idp.state.db,
        "acct-alice",
        tongyi_idp::store::states::AccountStatus::Disabled,
        now
    )
    .await
    .unwrap());

    // Existing tokens stop working.
    refresh(&idp, "rp-basic", tokens.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");
    refresh(&idp, "rp-post", other.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");
    let res = proto::userinfo(&idp, tokens.str("access_token")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(proto::www_authenticate(&res).contains("error=\"invalid_token\""));
    assert!(
        !proto::active(&idp, "rp-basic", tokens.str("access_token")).await,
        "introspection reports a disabled account's access token inactive at once"
    );

    // The live session no longer counts: the user is asked to log in, and cannot.
    let (_, page) = login_page(&idp, &b).await;
    let (_, page) = {
        let (_, message) = failed_login(&idp, &b, &page, "alice", "Wrong-Passw0rd").await;
        assert_eq!(
            message, INVALID,
            "a wrong password of a disabled account says no more"
        );
        login_page(&idp, &b).await
    };
    let (_, message) = failed_login(&idp, &b, &page, "alice", PASSWORD).await;
    assert_eq!(
        message, "该账号已被停用，请联系所属单位“天津测试孵化器有限公司”的单位管理员。",
        "the right password learns whom to ask"
    );
    let silent = code_request(&idp, "rp-basic", &[("prompt", "none")]);
    let res = b.get(&silent.url).send().await.unwrap();
    proto::assert_error_redirect(
        &idp,
        &res,
        "rp-basic",
        Some(&silent.state),
        "login_required",
    );

    // A code issued before the account was disabled cannot be redeemed either.
    tongyi_idp::store::accounts::set_status(
        &idp.state.db,
        "acct-alice",
        tongyi_idp::store::states::AccountStatus::Active,
        now,
    )
    .await
    .unwrap();
    let b2 = browser();
    let (code, verifier) = proto::code_for(&idp, &b2, "rp-basic", "alice").await;
    tongyi_idp::store::accounts::set_status(
        &idp.state.db,
        "acct-alice",
        tongyi_idp::store::states::AccountStatus::Disabled,
        now,
    )
    .await
    .unwrap();
    exchange(&idp, "rp-basic", &code, &verifier)
        .await
        .assert_error(400, "invalid_grant");

    // Enabled again, the account logs in, but the refresh tokens revoked meanwhile stay dead.
    tongyi_idp::store::accounts::set_status(
        &idp.state.db,
        "acct-alice",
        tongyi_idp::store::states::AccountStatus::Active,
        now,
    )
    .await
    .unwrap();
    user_tokens(&idp, "rp-basic").await;
    refresh(&idp, "rp-basic", tokens.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");
});
