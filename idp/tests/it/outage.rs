//! Storage outages while the IdP serves, on private PostgreSQL and Redis servers the test
//! stops and starts (never the shared ones): answers come at once with 503 and `Retry-After`
//! (a Chinese page, or `temporarily_unavailable` at the protocol endpoints), `/readyz` says so
//! within a second, discovery and JWKS keep serving, and the IdP recovers without a restart.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tongyi_testkit::outage::{OwnPostgres, OwnRedis};

use crate::{
    captcha::post_login,
    harness::{follow, Outcome, Storage, TestIdp, PASSWORD},
    proto::{code_in, code_request, exchange, seeded, token},
};

/// How long an answer may take while a store is down: the pool waits 2 s for a connection and
/// Redis 1 s per command; the rest is slack for a loaded machine.
const BOUND: Duration = Duration::from_secs(6);

/// Opens the login page of a fresh authorization request.
async fn login_page(idp: &TestIdp, b: &reqwest::Client) -> (crate::proto::CodeRequest, String) {
    let req = code_request(idp, "rp-basic", &[]);
    let (url, status, html) = follow(b, &idp.base, &req.url).await.page();
    assert_eq!(status, StatusCode::OK, "{url}");
    (req, html)
}

/// A login that must succeed: the IdP serves normally. Returns the access token.
async fn logs_in(idp: &TestIdp) -> String {
    let b = tongyi_testkit::browser();
    let (req, page) = login_page(idp, &b).await;
    let redirect = post_login(&b, idp, &page, "alice", PASSWORD, None)
        .await
        .rp();
    let code = code_in(idp, &redirect, &req);
    let tokens = exchange(idp, "rp-basic", &code, &req.verifier).await;
    tokens.assert_ok();
    tokens.str("access_token").to_owned()
}

/// A login posted while a store is down (`stop` brings it down after the page was fetched): a
/// 503 page, in time.
async fn login_unavailable(idp: &TestIdp, what: &str, stop: impl FnOnce()) {
    let b = tongyi_testkit::browser();
    let (_, page) = login_page(idp, &b).await;
    stop();
    let started = Instant::now();
    let outcome = tokio::time::timeout(BOUND, post_login(&b, idp, &page, "alice", PASSWORD, None))
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {BOUND:?}"));
    assert!(started.elapsed() < BOUND, "{what}: {:?}", started.elapsed());
    match outcome {
        Outcome::Page { status, html, .. } => {
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {html}");
            assert!(html.contains("服务暂时不可用"), "{what}: {html}");
        }
        Outcome::ToRp(u) => panic!("{what}: logged in during the outage: {u}"),
    }
}

/// Discovery and JWKS answer 200; `/readyz` answers 503 within a second.
async fn probes_during(idp: &TestIdp, what: &str) {
    let http = TestIdp::http();
    for path in ["/.well-known/openid-configuration", "/jwks"] {
        let res = http.get(idp.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{what}: {path}");
    }
    let started = Instant::now();
    let res = http.get(idp.url("/readyz")).send().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{what}: /readyz took {:?}",
        started.elapsed()
    );
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outages_are_answered_fast_and_recovered_from_without_a_restart() {
    let mut pg = OwnPostgres::start();
    let mut redis = OwnRedis::start();
    let idp = TestIdp::start_on(Storage::external(pg.url(), redis.url()), None, true).await;
    let access_token = logs_in(&idp).await;

    // Redis hanging: every command gives up after its timeout.
    login_unavailable(&idp, "redis hanging", || redis.pause()).await;
    redis.resume();
    logs_in(&idp).await;

    // Redis down.
    login_unavailable(&idp, "redis down", || redis.stop()).await;
    probes_during(&idp, "redis down").await;
    // A protocol endpoint that needs the short-lived store: a code redemption.
    let started = Instant::now();
    let reply = token(
        &idp,
        seeded("rp-basic"),
        &[
            ("grant_type", "authorization_code"),
            ("code", "not-a-code"),
            ("redirect_uri", &crate::proto::redirect_uri("rp-basic")),
            ("code_verifier", &"v".repeat(43)),
        ],
    )
    .await;
    assert!(started.elapsed() < BOUND, "{:?}", started.elapsed());
    reply.assert_error(503, "temporarily_unavailable");
    assert_eq!(reply.header("retry-after"), Some("5"));
    // Userinfo cannot check revocations: an outage, not a bad token (which would make the RP
    // log its user out).
    let res = crate::proto::userinfo(&idp, &access_token).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "5");
    redis.start_again();
    logs_in(&idp).await;

    // PostgreSQL down.
    login_unavailable(&idp, "postgres down", || pg.stop()).await;
    probes_during(&idp, "postgres down").await;
    pg.start_again();
    // The pool reconnects by itself; the first requests after the restart may still meet a
    // connection the server closed, so give it a few tries.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let res = TestIdp::http()
            .get(idp.url("/readyz"))
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready after the database returned"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    logs_in(&idp).await;
}
