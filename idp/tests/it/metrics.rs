//! The Prometheus endpoint: after a login, a token request and SMS codes it shows them,
//! counted by method, outcome, grant type and route template; it is served apart from the
//! public port.

use reqwest::StatusCode;
use tongyi_idp::accounts::sms_code::{send_code, SmsPurpose};

use crate::{
    harness::{Backend, TestIdp},
    login_rules::login_answering_captcha,
    proto::{client_credentials, seeded},
};

#[tokio::test]
async fn metrics_count_logins_tokens_and_routes_off_the_public_port() {
    let idp = TestIdp::start(Backend::SqliteMemory).await;
    let ip = "192.0.2.80".parse().unwrap();
    login_answering_captcha(&idp.state, "alice", crate::harness::PASSWORD, ip)
        .await
        .expect("alice logs in");
    login_answering_captcha(&idp.state, "alice", "Wrong#Pass2026", ip)
        .await
        .expect_err("a wrong password");
    client_credentials(&idp, seeded("machine-es"), "reports.read")
        .await
        .assert_ok();
    // One code sent, the second within the resend interval refused.
    for _ in 0..2 {
        let _ = send_code(&idp.state, SmsPurpose::Login, "13800138123", ip).await;
    }
    let _ = TestIdp::http()
        .get(idp.url("/no-such-page"))
        .send()
        .await
        .unwrap();

    let served = tongyi_testkit::serve_router(tongyi_idp::metrics_router(&idp.state)).await;
    let res = TestIdp::http()
        .get(served.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    for line in [
        r#"tongyi_logins_total{method="password",outcome="ok"} 1"#,
        r#"tongyi_logins_total{method="password",outcome="invalid"} 1"#,
        r#"tongyi_tokens_issued_total{grant_type="client_credentials"} 1"#,
        r#"tongyi_http_requests_total{route="/token",method="POST",status="200"} 1"#,
        r#"tongyi_http_requests_total{route="unmatched",method="GET",status="404"} 1"#,
        r#"tongyi_sms_total{outcome="sent"} 1"#,
        r#"tongyi_sms_total{outcome="refused"} 1"#,
    ] {
        assert!(text.contains(line), "missing {line} in:\n{text}");
    }
    assert!(
        text.contains("tongyi_argon2_wait_seconds_count 2"),
        "{text}"
    );

    // Not on the public port.
    let public = TestIdp::http()
        .get(idp.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
}
