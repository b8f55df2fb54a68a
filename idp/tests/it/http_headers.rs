//! The layers around the whole router: every answer carries the security headers and a
//! request id, 404 and 405 included; with an https issuer, HSTS and `Secure` `__Host-`
//! cookies.

use reqwest::StatusCode;

use crate::harness::{Backend, Storage, TestIdp};

async fn check_headers(res: &reqwest::Response, what: &str) {
    let h = res.headers();
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
    assert!(h.contains_key("content-security-policy"), "{what}");
    assert!(h.contains_key("referrer-policy"), "{what}");
    assert_eq!(h["x-request-id"].len(), 36, "{what}");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let idp = TestIdp::start(Backend::SqliteMemory).await;
    let http = TestIdp::http();
    let not_found = http.get(idp.url("/no-such-page")).send().await.unwrap();
    assert_eq!(not_found.status(), StatusCode::NOT_FOUND);
    check_headers(&not_found, "404").await;
    let wrong_method = http.delete(idp.url("/jwks")).send().await.unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    check_headers(&wrong_method, "405").await;
    let jwks = http.get(idp.url("/jwks")).send().await.unwrap();
    check_headers(&jwks, "jwks").await;
    assert!(
        !jwks.headers().contains_key("strict-transport-security"),
        "no HSTS over http"
    );
    // A request id sent by a proxy in front is kept.
    let res = http
        .get(idp.url("/healthz"))
        .header("x-request-id", "proxy-id-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "proxy-id-1");
}

#[tokio::test]
async fn an_https_issuer_gets_hsts_and_secure_host_cookies() {
    let storage = Storage::new(Backend::SqliteMemory).await;
    let idp = TestIdp::start_on(storage, Some("https://idp.example".into()), true).await;
    let res = TestIdp::http().get(idp.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let cookies: Vec<_> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(!cookies.is_empty());
    for c in &cookies {
        assert!(c.starts_with("__Host-"), "{c}");
        assert!(c.contains("; Secure"), "{c}");
    }
    let missing = TestIdp::http().get(idp.url("/nope")).send().await.unwrap();
    assert!(missing.headers().contains_key("strict-transport-security"));
}
