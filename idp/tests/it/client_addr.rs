//! The client address behind a reverse proxy, over real HTTP: the IdP trusts its loopback
//! peer as a proxy only when `trusted_proxies` says so. Through that hop, throttles and audit
//! rows follow the address the proxy names; from an untrusted peer, forged forwarding headers
//! change nothing.

use reqwest::{header, StatusCode};
use tongyi_idp::store::audit::list_recent;

use crate::{
    both_backends,
    captcha::submit_login_answering_captcha,
    harness::{follow, is_wait, Backend, Outcome, TestIdp, PASSWORD},
    proto::{code_in, code_request},
};

const WRONG: &str = "Wrong#Pass2026";

/// A cookie-keeping browser whose every request carries `X-Forwarded-For: {forwarded}`, as a
/// proxy in front of the IdP would add it.
fn browser_behind_proxy(forwarded: &str) -> reqwest::Client {
    let mut headers = header::HeaderMap::new();
    headers.insert(
        "x-forwarded-for",
        header::HeaderValue::from_str(forwarded).unwrap(),
    );
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

/// One password login attempt from a fresh login page; `Some(message)` when it stayed there.
async fn attempt(idp: &TestIdp, b: &reqwest::Client, name: &str, password: &str) -> Option<String> {
    let req = code_request(idp, "rp-basic", &[]);
    let (_, status, page) = follow(b, &idp.base, &req.url).await.page();
    assert_eq!(status, StatusCode::OK);
    match submit_login_answering_captcha(b, idp, &page, name, password).await {
        Outcome::ToRp(redirect) => {
            code_in(idp, &redirect, &req);
            None
        }
        Outcome::Page { html, .. } => {
            let marker = "id=\"login-error\" role=\"alert\">";
            let start = html
                .find(marker)
                .unwrap_or_else(|| panic!("no message in:\n{html}"))
                + marker.len();
            Some(html[start..].split('<').next().unwrap().to_owned())
        }
    }
}

/// Whether a fresh login page (no name typed) shows a captcha: the address's count alone.
async fn page_asks_captcha(idp: &TestIdp, b: &reqwest::Client) -> bool {
    let req = code_request(idp, "rp-basic", &[]);
    let (_, _, page) = follow(b, &idp.base, &req.url).await.page();
    crate::captcha::captcha_id(&page).is_some()
}

both_backends!(
    a_trusted_hop_names_the_client_for_throttles_and_audit,
    |backend: Backend| async move {
        let idp = TestIdp::start_configured(backend, |c| {
            c.trusted_proxies = vec!["127.0.0.0/8".into()];
        })
        .await;
        // The client forged the first entry; the proxy appended what it saw.
        let attacker = browser_behind_proxy("192.0.2.99, 203.0.113.50");
        for i in 1..=6 {
            assert_eq!(
                attempt(&idp, &attacker, "alice", WRONG).await.as_deref(),
                Some("账号或密码错误。"),
                "attempt {i}"
            );
        }
        let message = attempt(&idp, &attacker, "alice", PASSWORD).await;
        assert!(
            message.as_deref().is_some_and(is_wait),
            "the attacker's address waits: {message:?}"
        );
        // The owner comes through the same proxy from her own address: a captcha (the
        // account has failed often), no wait.
        let owner = browser_behind_proxy("198.51.100.7");
        assert!(
            !page_asks_captcha(&idp, &owner).await,
            "her address is clean"
        );
        let req = code_request(&idp, "rp-basic", &[]);
        let (_, _, page) = follow(&owner, &idp.base, &req.url).await.page();
        let (_, _, page) = crate::captcha::post_login(&owner, &idp, &page, "alice", PASSWORD, None)
            .await
            .page();
        assert!(page.contains("请输入图形验证码"), "{page}");
        let redirect = submit_login_answering_captcha(&owner, &idp, &page, "alice", PASSWORD)
            .await
            .rp();
        code_in(&idp, &redirect, &req);

        let rows = list_recent(&idp.state.db, 1000).await.unwrap();
        let failed = rows.iter().filter(|r| r.event == "login_failed");
        assert!(failed
            .clone()
            .all(|r| r.client_ip.as_deref() == Some("203.0.113.50")));
        assert_eq!(failed.count(), 7);
        let ok = rows
            .iter()
            .find(|r| r.event == "login_succeeded")
            .expect("the owner's login");
        assert_eq!(ok.client_ip.as_deref(), Some("198.51.100.7"));
    }
);

both_backends!(
    forwarding_headers_from_an_untrusted_peer_are_ignored,
    |backend: Backend| async move {
        // No trusted proxies: every request counts against the loopback peer, whatever it
        // claims.
        let idp = TestIdp::start(backend).await;
        for (i, forged) in ["192.0.2.1", "192.0.2.2", "192.0.2.3"].iter().enumerate() {
            let b = browser_behind_proxy(forged);
            assert!(
                !page_asks_captcha(&idp, &b).await,
                "no captcha before failure {}",
                i + 1
            );
            assert!(attempt(&idp, &b, &format!("nobody{i}"), WRONG)
                .await
                .is_some());
        }
        let fresh = browser_behind_proxy("192.0.2.4");
        assert!(
            page_asks_captcha(&idp, &fresh).await,
            "a new forged address does not escape the peer's count"
        );
        let rows = list_recent(&idp.state.db, 1000).await.unwrap();
        assert!(rows
            .iter()
            .filter(|r| r.event == "login_failed")
            .all(|r| r.client_ip.as_deref() == Some("127.0.0.1")));
    }
);
