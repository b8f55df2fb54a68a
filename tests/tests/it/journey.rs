//! A user's day on the platform: log in at the portal, enter a granted subsystem without a
//! password (SSO), be refused by a subsystem without a grant, log out once and be logged out
//! everywhere (single logout through back-channel logout).

use reqwest::{header, StatusCode};

use crate::harness::{hidden, log_in_at_idp, Browser, Platform, PERSON_PASSWORD, UNIT_PASSWORD};

const UNIT: &str = "天津示例科技孵化器有限公司";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_grants_and_single_logout() {
    let p = Platform::start().await;
    let b = Browser::new();
    let idp_login = format!("{}/login", p.idp);

    // A visitor sees the way in, nothing else.
    let home = b.open(&format!("{}/", p.portal)).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.html.contains("href=\"/auth/login\""), "{}", home.html);
    assert!(!home.html.contains("退出登录"));

    // Login at the portal goes through the IdP's form and back.
    let login = b.open(&format!("{}/auth/login", p.portal)).await;
    let home = log_in_at_idp(&b, &p.idp, &login, "demo_person", PERSON_PASSWORD).await;
    assert_eq!(home.url, format!("{}/", p.portal), "{:?}", home.trail);
    assert_eq!(home.status, StatusCode::OK);
    for fact in ["您好，张三", "demo_person", "自然人", UNIT, "已认证"] {
        assert!(home.html.contains(fact), "{fact} missing:\n{}", home.html);
    }
    assert!(
        home.html
            .contains(&format!("href=\"{}/auth/login\"", p.incubator)),
        "the granted incubator is a link:\n{}",
        home.html
    );
    assert!(
        !home
            .html
            .contains(&format!("href=\"{}/auth/login\"", p.makerspace)),
        "the makerspace is not granted"
    );
    assert!(home.html.contains("请联系所属单位管理员授权"));
    assert!(
        home.html.contains("尚在建设中"),
        "the portal says what is not built yet"
    );
    let portal_cookies = b.cookies_for(&p.portal);
    assert!(portal_cookies.contains("tongyi_portal_session="));

    // Entering the incubator is single sign-on: the IdP answers without its login page.
    let incubator = b.open(&format!("{}/auth/login", p.incubator)).await;
    assert_eq!(
        incubator.url,
        format!("{}/", p.incubator),
        "{:?}",
        incubator.trail
    );
    assert!(incubator.passed(&format!("{}/authorize", p.idp)));
    assert!(!incubator.passed(&idp_login), "no password prompt");
    assert_eq!(incubator.status, StatusCode::OK);
    assert!(incubator.html.contains("欢迎，张三"), "{}", incubator.html);
    assert!(incubator.html.contains("我的申报"), "{}", incubator.html);

    // The makerspace refuses: the account has no grant for it, and the page says whom to ask.
    let makerspace = b.open(&format!("{}/auth/login", p.makerspace)).await;
    assert!(!makerspace.passed(&idp_login), "no password prompt");
    assert_eq!(
        makerspace.status,
        StatusCode::FORBIDDEN,
        "{}",
        makerspace.html
    );
    for fact in [
        "张三",
        "demo_person",
        UNIT,
        "单位管理员",
        "众创空间绩效评估系统",
    ] {
        assert!(
            makerspace.html.contains(fact),
            "{fact} missing:\n{}",
            makerspace.html
        );
    }
    let makerspace_home = b.open(&format!("{}/", p.makerspace)).await;
    assert!(
        !makerspace_home.html.contains("欢迎"),
        "a refused login leaves no session"
    );

    // A logout form without the session's CSRF token is refused and changes nothing.
    let forged = b
        .http
        .post(format!("{}/auth/logout", p.portal))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let home = b.open(&format!("{}/", p.portal)).await;
    assert!(home.html.contains("您好，张三"));

    // Logging out at the portal ends the IdP session, which logs the incubator out over the
    // back channel before the browser comes back.
    let csrf = hidden(&home.html, "csrf");
    let out = b
        .submit(&format!("{}/auth/logout", p.portal), &[("csrf", &csrf)])
        .await;
    assert!(out.passed(&format!("{}/logout?", p.idp)), "{:?}", out.trail);
    let end_session = out
        .trail
        .iter()
        .find(|u| u.starts_with(&format!("{}/logout?", p.idp)))
        .unwrap();
    assert!(end_session.contains("id_token_hint="));
    assert!(end_session.contains("post_logout_redirect_uri="));
    assert!(end_session.contains("state="));
    assert!(
        out.url.starts_with(&format!("{}/?state=", p.portal)),
        "{}",
        out.url
    );
    assert!(out.html.contains("您已安全退出登录"), "{}", out.html);
    assert!(!out.html.contains("您好，张三"));

    // The browser still holds its incubator cookie; only the back-channel logout can have
    // ended the session behind it.
    assert!(b
        .cookies_for(&p.incubator)
        .contains("tongyi_incubator_session="));
    let incubator = b.open(&format!("{}/", p.incubator)).await;
    assert_eq!(incubator.status, StatusCode::OK);
    assert!(!incubator.html.contains("欢迎"), "{}", incubator.html);
    assert!(incubator.html.contains("href=\"/auth/login\""));

    // The IdP session is over too: entering the incubator now asks for the password.
    let again = b.open(&format!("{}/auth/login", p.incubator)).await;
    assert!(again.url.starts_with(&idp_login), "{:?}", again.trail);

    // The unit's own account holds both grants and is let into the makerspace.
    let unit = log_in_at_idp(&b, &p.idp, &again, "demo_unit", UNIT_PASSWORD).await;
    assert_eq!(unit.url, format!("{}/", p.incubator));
    let makerspace = b.open(&format!("{}/auth/login", p.makerspace)).await;
    assert!(!makerspace.passed(&idp_login), "no password prompt");
    assert_eq!(makerspace.status, StatusCode::OK);
    assert!(
        makerspace.html.contains(&format!("欢迎，{UNIT}")),
        "{}",
        makerspace.html
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backchannel_receiver_refuses_invalid_tokens() {
    let p = Platform::start().await;
    let http = reqwest::Client::new();
    for base in [&p.portal, &p.incubator, &p.makerspace] {
        let url = format!("{base}/auth/backchannel-logout");
        for form in [
            vec![("logout_token", "not-a-jwt")],
            vec![],
            vec![("logout_token", "a.b.c"), ("logout_token", "a.b.c")],
        ] {
            let res = http.post(&url).form(&form).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{url} {form:?}");
            assert_eq!(
                res.headers()
                    .get(header::CACHE_CONTROL)
                    .map(|v| v.to_str().unwrap()),
                Some("no-store")
            );
        }
    }
    // A stale callback (no pending login in this browser) is refused, not half-accepted.
    let b = Browser::new();
    let stale = b
        .open(&format!("{}/auth/callback?code=x&state=y", p.incubator))
        .await;
    assert_eq!(stale.status, StatusCode::BAD_REQUEST);
    assert!(stale.html.contains("重新登录"));
    for base in [&p.portal, &p.incubator, &p.makerspace] {
        let health = b.open(&format!("{base}/healthz")).await;
        assert_eq!(health.status, StatusCode::OK);
    }
}
