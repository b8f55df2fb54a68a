//! The image captcha on the login form: asked for after three failed logins for the account or
//! from the address, checked before the password, single use. The tests answer it the way a
//! person would, reading the answer from the short-lived store where a person reads the picture.

use std::net::IpAddr;

use reqwest::{header, StatusCode};
use tongyi_idp::accounts::login_throttle::recent_failures;

use crate::{
    both_backends,
    harness::{browser, follow, hidden, location, Backend, Outcome, TestIdp, PASSWORD},
    proto::{code_in, code_request, CodeRequest},
};

const CAPTCHA_WRONG: &str = "图形验证码错误";
const CAPTCHA_NEEDED: &str = "请输入图形验证码";
const INVALID: &str = "账号或密码错误。";

/// The captcha challenge a login page carries, if any.
pub fn captcha_id(html: &str) -> Option<String> {
    html.contains("name=\"captcha_id\"")
        .then(|| hidden(html, "captcha_id"))
}

/// What a person reads in the picture of challenge `id` (from the store, without using it up).
pub async fn read_picture(idp: &TestIdp, id: &str) -> String {
    idp.state
        .store
        .get(&format!("captcha:{id}"))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no live captcha {id}"))
}

/// Posts the login form of `page` with the given captcha fields and follows on.
pub async fn post_login(
    b: &reqwest::Client,
    idp: &TestIdp,
    page: &str,
    login_name: &str,
    password: &str,
    captcha: Option<(&str, &str)>,
) -> Outcome {
    let mut form = vec![
        ("csrf", hidden(page, "csrf")),
        ("req", hidden(page, "req")),
        ("login_name", login_name.to_owned()),
        ("password", password.to_owned()),
    ];
    if let Some((id, answer)) = captcha {
        form.push(("captcha_id", id.to_owned()));
        form.push(("captcha", answer.to_owned()));
    }
    let res = b.post(idp.url("/login")).form(&form).send().await.unwrap();
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
        url: idp.url("/login"),
        status: res.status(),
        html: res.text().await.unwrap(),
    }
}

/// Submits the login form like a person: answers the captcha when the page shows one.
pub async fn submit_login_answering_captcha(
    b: &reqwest::Client,
    idp: &TestIdp,
    page: &str,
    login_name: &str,
    password: &str,
) -> Outcome {
    match captcha_id(page) {
        Some(id) => {
            let answer = read_picture(idp, &id).await;
            post_login(b, idp, page, login_name, password, Some((&id, &answer))).await
        }
        None => post_login(b, idp, page, login_name, password, None).await,
    }
}

async fn login_page(idp: &TestIdp, b: &reqwest::Client) -> (CodeRequest, String) {
    let req = code_request(idp, "rp-basic", &[]);
    let (url, status, html) = follow(b, &idp.base, &req.url).await.page();
    assert_eq!(status, StatusCode::OK);
    assert!(url.contains("/login"), "{url}");
    (req, html)
}

/// A page the form stayed on.
fn stayed(outcome: Outcome) -> String {
    let (url, status, html) = outcome.page();
    assert_eq!(status, StatusCode::OK, "{url}");
    assert!(url.ends_with("/login"), "{url}");
    html
}

fn assert_shows_captcha(html: &str) {
    let id = captcha_id(html).unwrap_or_else(|| panic!("no captcha in:\n{html}"));
    assert!(
        html.contains(&format!("<img src=\"/captcha/{id}\"")),
        "{html}"
    );
    assert!(html.contains("alt=\"图形验证码\""), "{html}");
    assert!(html.contains("<label for=\"captcha\">"), "{html}");
    assert!(html.contains("id=\"captcha\" name=\"captcha\""), "{html}");
    assert!(html.contains("captcha=1\">看不清？换一张</a>"), "{html}");
}

async fn alice_failures(idp: &TestIdp) -> i64 {
    let local: IpAddr = "127.0.0.1".parse().unwrap();
    recent_failures(&idp.state, Some("alice"), local)
        .await
        .unwrap()
        .account
}

both_backends!(
    captcha_after_three_failures,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = browser();
        let (req, mut page) = login_page(&idp, &b).await;
        assert!(captcha_id(&page).is_none(), "no captcha before any failure");

        for i in 1..=3 {
            assert!(captcha_id(&page).is_none(), "no captcha before failure {i}");
            page = stayed(post_login(&b, &idp, &page, "alice", "Wrong#Pass2026", None).await);
            assert!(page.contains(INVALID), "{page}");
        }
        assert_shows_captcha(&page);
        let id = captcha_id(&page).unwrap();

        // The picture: a 120×40 PNG, never cached.
        let res = TestIdp::http()
            .get(idp.url(&format!("/captcha/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "image/png");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
        let png = res.bytes().await.unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 120);
        assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 40);
        for unknown in ["AAAAAAAAAAAAAAAAAAAAAA", "nope"] {
            let res = TestIdp::http()
                .get(idp.url(&format!("/captcha/{unknown}")))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::NOT_FOUND);
        }

        // A wrong answer is refused even with the right password, at the captcha field, with a
        // new picture; it is not a password failure, and it uses the challenge up.
        let answer = read_picture(&idp, &id).await;
        let wrong: String = answer
            .chars()
            .map(|c| if c == 'A' { 'B' } else { 'A' })
            .collect();
        page = stayed(post_login(&b, &idp, &page, "alice", PASSWORD, Some((&id, &wrong))).await);
        assert!(page.contains(CAPTCHA_WRONG), "{page}");
        assert!(
            page.contains("aria-describedby=\"captcha-hint captcha-error\" aria-invalid=\"true\""),
            "{page}"
        );
        assert!(
            page.contains("id=\"captcha-error\" role=\"alert\""),
            "{page}"
        );
        assert!(!page.contains("id=\"login-error\""), "{page}");
        assert_shows_captcha(&page);
        assert_ne!(captcha_id(&page).unwrap(), id, "a fresh challenge");
        assert!(stored(&idp, &id).await.is_none(), "used up");
        assert_eq!(
            alice_failures(&idp).await,
            3,
            "not counted as a password failure"
        );

        // No answer at all is refused too, asking for one.
        let id = captcha_id(&page).unwrap();
        page = stayed(post_login(&b, &idp, &page, "alice", PASSWORD, None).await);
        assert!(page.contains(CAPTCHA_NEEDED), "{page}");
        assert!(!page.contains(CAPTCHA_WRONG), "{page}");
        assert!(stored(&idp, &id).await.is_some(), "not sent, not used");

        // A right answer lets the password be checked (here: a wrong one, failure 4)...
        let id = captcha_id(&page).unwrap();
        let answer = read_picture(&idp, &id).await;
        page = stayed(
            post_login(
                &b,
                &idp,
                &page,
                "alice",
                "Wrong#Pass2026",
                Some((&id, &answer)),
            )
            .await,
        );
        assert!(page.contains(INVALID), "{page}");
        assert_eq!(alice_failures(&idp).await, 4);
        assert_shows_captcha(&page);
        // ...but cannot be used again, even with the right password.
        page = stayed(post_login(&b, &idp, &page, "alice", PASSWORD, Some((&id, &answer))).await);
        assert!(page.contains(CAPTCHA_WRONG), "{page}");

        // The right answer, typed in lower case, with the right password logs in.
        let id = captcha_id(&page).unwrap();
        let answer = read_picture(&idp, &id).await.to_lowercase();
        let redirect = post_login(&b, &idp, &page, "alice", PASSWORD, Some((&id, &answer)))
            .await
            .rp();
        code_in(&idp, &redirect, &req);
        assert_eq!(
            alice_failures(&idp).await,
            0,
            "success clears the account's count"
        );
    }
);

both_backends!(captcha_for_the_address, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let b = browser();
    let (_, mut page) = login_page(&idp, &b).await;
    // Three failures from one address, each for another (unknown) account.
    for name in ["nobody1", "nobody2", "nobody3"] {
        page = stayed(post_login(&b, &idp, &page, name, PASSWORD, None).await);
        assert!(page.contains(INVALID), "{page}");
    }
    assert_shows_captcha(&page);

    // Any login from that address, in a new browser too, now needs the captcha.
    let other = browser();
    let (req, page) = login_page(&idp, &other).await;
    assert_shows_captcha(&page);
    let page = stayed(post_login(&other, &idp, &page, "unit_admin", PASSWORD, None).await);
    assert!(page.contains(CAPTCHA_NEEDED), "{page}");

    // "换一张" reloads the form with a new challenge; the old one is left to expire.
    let first = captcha_id(&page).unwrap();
    let reload = format!("/login?req={}&captcha=1", hidden(&page, "req"));
    let res = other.get(idp.url(&reload)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert_shows_captcha(&page);
    assert_ne!(captcha_id(&page).unwrap(), first);

    let redirect = submit_login_answering_captcha(&other, &idp, &page, "unit_admin", PASSWORD)
        .await
        .rp();
    code_in(&idp, &redirect, &req);
});

/// The store entry of challenge `id`, for checks that it was used up.
async fn stored(idp: &TestIdp, id: &str) -> Option<String> {
    idp.state.store.get(&format!("captcha:{id}")).await.unwrap()
}
