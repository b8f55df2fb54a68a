//! The consent page for clients that are not first-party, its CSRF protection, and the
//! `prompt` / `max_age` parameters against an existing login session (single sign-on).

use reqwest::StatusCode;

use crate::{
    both_backends,
    harness::{browser, follow, location, submit_login, Backend, Outcome, TestIdp, PASSWORD},
    proto::{self, assert_error_redirect, code_in, code_request, exchange, CodeRequest},
};

/// Opens the request, logs in if asked, and returns the consent page.
async fn consent_page(idp: &TestIdp, b: &reqwest::Client, url: &str) -> String {
    let (page_url, status, html) = match follow(b, &idp.base, url).await {
        Outcome::Page { url, html, .. } if url.contains("/login") => {
            submit_login(b, &idp.base, &html, "alice", PASSWORD)
                .await
                .page()
        }
        other => other.page(),
    };
    assert_eq!(status, StatusCode::OK, "{page_url}");
    assert!(html.contains("授权确认"), "not the consent page: {html}");
    assert!(
        html.contains("测试应用 rp-third"),
        "names the client: {html}"
    );
    html
}

async fn submit_consent(
    idp: &TestIdp,
    b: &reqwest::Client,
    csrf: &str,
    req: &str,
    decision: &str,
) -> reqwest::Response {
    b.post(idp.url("/consent"))
        .form(&[("csrf", csrf), ("req", req), ("decision", decision)])
        .send()
        .await
        .unwrap()
}

/// The redirect to the client at the end of a consent submission.
fn to_rp(res: &reqwest::Response) -> url::Url {
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    url::Url::parse(&location(res)).unwrap()
}

both_backends!(
    consent_once_then_remembered,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = browser();
        // Before any consent, prompt=none cannot succeed (after logging in through rp-basic).
        proto::code_for(&idp, &b, "rp-basic", "alice").await;
        let req = code_request(&idp, "rp-third", &[("prompt", "none")]);
        let res = b.get(&req.url).send().await.unwrap();
        assert_error_redirect(&idp, &res, "rp-third", Some(&req.state), "consent_required");

        let req = code_request(&idp, "rp-third", &[]);
        let html = consent_page(&idp, &b, &req.url).await;
        let csrf = crate::harness::hidden(&html, "csrf");
        let req_id = crate::harness::hidden(&html, "req");
        let res = submit_consent(&idp, &b, &csrf, &req_id, "allow").await;
        let code = code_in(&idp, &to_rp(&res), &req);
        let tokens = exchange(&idp, "rp-third", &code, &req.verifier).await;
        tokens.assert_ok();
        assert_eq!(
            crate::rp::payload(tokens.str("id_token"))["aud"],
            "rp-third"
        );
        // The consent was for this request only: resubmitting it does not issue another code.
        let again = submit_consent(&idp, &b, &csrf, &req_id, "allow").await;
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);

        // The second authorization skips the page, with or without prompt=none.
        let req = code_request(&idp, "rp-third", &[]);
        let redirect = follow(&b, &idp.base, &req.url).await.rp();
        code_in(&idp, &redirect, &req);
        let req = code_request(&idp, "rp-third", &[("prompt", "none")]);
        let redirect = follow(&b, &idp.base, &req.url).await.rp();
        code_in(&idp, &redirect, &req);

        // A narrower request is covered by the consent; prompt=consent asks again anyway.
        let narrow = code_request(&idp, "rp-third", &[("scope", "openid")]);
        let redirect = follow(&b, &idp.base, &narrow.url).await.rp();
        code_in(&idp, &redirect, &narrow);
        let req = code_request(&idp, "rp-third", &[("prompt", "consent")]);
        let html = consent_page(&idp, &b, &req.url).await;
        let res = submit_consent(
            &idp,
            &b,
            &crate::harness::hidden(&html, "csrf"),
            &crate::harness::hidden(&html, "req"),
            "allow",
        )
        .await;
        code_in(&idp, &to_rp(&res), &req);
    }
);

both_backends!(
    consent_covers_the_scopes_agreed_to,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = browser();
        let first = code_request(&idp, "rp-third", &[("scope", "openid profile")]);
        let html = consent_page(&idp, &b, &first.url).await;
        let res = submit_consent(
            &idp,
            &b,
            &crate::harness::hidden(&html, "csrf"),
            &crate::harness::hidden(&html, "req"),
            "allow",
        )
        .await;
        code_in(&idp, &to_rp(&res), &first);
        // Asking for more than was agreed to shows the page again.
        let wider = code_request(&idp, "rp-third", &[("scope", "openid profile grants")]);
        let html = consent_page(&idp, &b, &wider.url).await;
        assert!(html.contains("已获授权的业务系统和角色"), "{html}");
    }
);

both_backends!(consent_denied, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let b = browser();
    let req = code_request(&idp, "rp-third", &[]);
    let html = consent_page(&idp, &b, &req.url).await;
    let res = submit_consent(
        &idp,
        &b,
        &crate::harness::hidden(&html, "csrf"),
        &crate::harness::hidden(&html, "req"),
        "deny",
    )
    .await;
    assert_error_redirect(&idp, &res, "rp-third", Some(&req.state), "access_denied");
    // Nothing was remembered: the next request asks again.
    let req = code_request(&idp, "rp-third", &[]);
    consent_page(&idp, &b, &req.url).await;
});

both_backends!(
    consent_form_needs_its_csrf_token,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = browser();
        let req: CodeRequest = code_request(&idp, "rp-third", &[]);
        let html = consent_page(&idp, &b, &req.url).await;
        let csrf = crate::harness::hidden(&html, "csrf");
        let req_id = crate::harness::hidden(&html, "req");

        // A wrong token, no token, and the right token from a browser without the cookie.
        let res = submit_consent(&idp, &b, "forged-token", &req_id, "allow").await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.headers().get("location").is_none());
        let res = b
            .post(idp.url("/consent"))
            .form(&[("req", req_id.as_str()), ("decision", "allow")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let res = browser()
            .post(idp.url("/consent"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("req", req_id.as_str()),
                ("decision", "allow"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let body = res.text().await.unwrap();
        assert!(body.contains("页面已失效"), "{body}");

        // The refusals changed nothing: the genuine form still works.
        let res = submit_consent(&idp, &b, &csrf, &req_id, "allow").await;
        code_in(&idp, &to_rp(&res), &req);
    }
);

/// Expects the login page for `req`, logs in again, and returns the code.
async fn login_again(idp: &TestIdp, b: &reqwest::Client, req: &CodeRequest, case: &str) -> String {
    let (url, status, html) = follow(b, &idp.base, &req.url).await.page();
    assert_eq!(status, StatusCode::OK, "{case}");
    assert!(
        url.contains("/login"),
        "{case}: expected the login page, got {url}"
    );
    let redirect = submit_login(b, &idp.base, &html, "alice", PASSWORD)
        .await
        .rp();
    code_in(idp, &redirect, req)
}

both_backends!(prompt_login_and_max_age, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let b = browser();
    let (code, verifier) = proto::code_for(&idp, &b, "rp-basic", "alice").await;
    let first = exchange(&idp, "rp-basic", &code, &verifier).await;
    first.assert_ok();
    let first_auth_time = crate::rp::payload(first.str("id_token"))["auth_time"]
        .as_i64()
        .unwrap();

    // prompt=login with a live session: the user must log in again.
    let req = code_request(&idp, "rp-basic", &[("prompt", "login")]);
    login_again(&idp, &b, &req, "prompt=login").await;

    // max_age=0 is prompt=login (OIDC Core §3.1.2.1), even right after a login.
    let req = code_request(&idp, "rp-basic", &[("max_age", "0")]);
    login_again(&idp, &b, &req, "max_age=0").await;

    // A generous max_age is satisfied by the session.
    let req = code_request(&idp, "rp-basic", &[("max_age", "3600")]);
    let redirect = follow(&b, &idp.base, &req.url).await.rp();
    code_in(&idp, &redirect, &req);

    // After two minutes, max_age=60 asks for a login, and the new ID token's auth_time is new.
    idp.state.clock.advance(120);
    let req = code_request(&idp, "rp-basic", &[("max_age", "60")]);
    let code = login_again(&idp, &b, &req, "max_age=60 after 120 s").await;
    let tokens = exchange(&idp, "rp-basic", &code, &req.verifier).await;
    tokens.assert_ok();
    let auth_time = crate::rp::payload(tokens.str("id_token"))["auth_time"]
        .as_i64()
        .unwrap();
    assert!(
        auth_time >= first_auth_time + 120,
        "{auth_time} vs {first_auth_time}"
    );

    // prompt=none with max_age exceeded cannot log in silently.
    idp.state.clock.advance(120);
    let req = code_request(&idp, "rp-basic", &[("prompt", "none"), ("max_age", "60")]);
    let res = b.get(&req.url).send().await.unwrap();
    assert_error_redirect(&idp, &res, "rp-basic", Some(&req.state), "login_required");
});

both_backends!(
    single_sign_on_across_clients,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = browser();
        let (code, verifier) = proto::code_for(&idp, &b, "rp-basic", "alice").await;
        let basic = exchange(&idp, "rp-basic", &code, &verifier).await;
        basic.assert_ok();

        // rp-post gets its code without a login page.
        let req = code_request(&idp, "rp-post", &[]);
        let redirect = match follow(&b, &idp.base, &req.url).await {
            Outcome::ToRp(u) => u,
            Outcome::Page { url, .. } => panic!("SSO expected, got page {url}"),
        };
        let code = code_in(&idp, &redirect, &req);
        let post = exchange(&idp, "rp-post", &code, &req.verifier).await;
        post.assert_ok();
        let a = crate::rp::payload(basic.str("id_token"));
        let p = crate::rp::payload(post.str("id_token"));
        assert_eq!(a["sub"], p["sub"]);
        assert_eq!(a["sid"], p["sid"], "one login session");
        assert_eq!(a["auth_time"], p["auth_time"]);

        // prompt=none works now, for either client.
        for client in ["rp-post", "rp-public", "rp-basic"] {
            let req = code_request(&idp, client, &[("prompt", "none")]);
            let res = b.get(&req.url).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{client}");
            let to = url::Url::parse(&location(&res)).unwrap();
            code_in(&idp, &to, &req);
        }

        // A browser without the session cookie gets no silent login.
        let req = code_request(&idp, "rp-post", &[("prompt", "none")]);
        let res = TestIdp::http().get(&req.url).send().await.unwrap();
        assert_error_redirect(&idp, &res, "rp-post", Some(&req.state), "login_required");

        // Nor does the session outlive its lifetime (8 hours in the test configuration).
        idp.state.clock.advance(8 * 3600 + 1);
        let req = code_request(&idp, "rp-post", &[("prompt", "none")]);
        let res = b.get(&req.url).send().await.unwrap();
        assert_error_redirect(&idp, &res, "rp-post", Some(&req.state), "login_required");
    }
);
