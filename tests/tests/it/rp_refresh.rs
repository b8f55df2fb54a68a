//! The RP glue keeps a session past its ID token by refreshing it, takes the claims of the new
//! ID token (a withdrawn grant shows without logging in again), and ends the session when the
//! IdP refuses the refresh. Time passes by moving the clocks of the IdP and of the relying
//! parties forward, not by sleeping.

use reqwest::Method;
use serde_json::json;
use tongyi_idp::config::TokenConfig;

use crate::{
    flows::{api, user_tokens},
    harness::{log_in_at_idp, Browser, Platform, PlatformOptions, PERSON_PASSWORD, UNIT_PASSWORD},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_refresh_and_end_when_the_refresh_is_refused() {
    let p = Platform::start_with(PlatformOptions {
        tokens: Some(TokenConfig {
            access_ttl_secs: 3,
            id_ttl_secs: 3,
            refresh_ttl_secs: 8,
            key_reload_secs: 1,
            ..TokenConfig::default()
        }),
        ..PlatformOptions::default()
    })
    .await;
    let b = Browser::new();
    let login = b.open(&format!("{}/auth/login", p.portal)).await;
    let home = log_in_at_idp(&b, &p.idp, &login, "demo_person", PERSON_PASSWORD).await;
    assert!(home.html.contains("您好，张三"), "{}", home.html);
    let incubator_link = format!("href=\"{}/auth/login\"", p.incubator);
    let launcher = b.open(&format!("{}/launcher", p.portal)).await;
    assert!(launcher.html.contains(&incubator_link), "granted at login");

    // The unit's admin withdraws the person's grants through the directory API.
    let unit = user_tokens(&p, "demo_unit", UNIT_PASSWORD).await;
    let org_id = unit.id_claims()["org"]["id"].as_str().unwrap().to_owned();
    let (status, members) = api(
        &p,
        &unit.access_token,
        Method::GET,
        &format!("/api/units/{org_id}/members"),
        None,
    )
    .await;
    assert!(status.is_success(), "{status} {members}");
    let person = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["username"] == "demo_person")
        .expect("demo_person is a member");
    let account_id = person["account_id"].as_str().unwrap();
    let (status, body) = api(
        &p,
        &unit.access_token,
        Method::PUT,
        &format!("/api/units/{org_id}/members/{account_id}/grants"),
        Some(json!({ "grants": [] })),
    )
    .await;
    assert!(status.is_success(), "{status} {body}");

    // Past the ID token's lifetime the session goes on, refreshed, with the new claims: the
    // claims shown are never older than the ID token's lifetime.
    p.advance(4);
    let home = b.open(&format!("{}/", p.portal)).await;
    assert!(
        home.html.contains("您好，张三"),
        "refreshed past the ID token:\n{}",
        home.html
    );
    let launcher = b.open(&format!("{}/launcher", p.portal)).await;
    assert!(
        !launcher.html.contains(&incubator_link),
        "the withdrawn grant shows after the refresh:\n{}",
        launcher.html
    );

    // Past the refreshed tokens' lifetime, within the rotated refresh token's: the RP refreshes
    // again with the token the first refresh returned (presenting the one it replaced would
    // be taken for a replay, revoking the family and ending the session).
    p.advance(4);
    let home = b.open(&format!("{}/", p.portal)).await;
    assert!(
        home.html.contains("您好，张三"),
        "refreshed with the rotated token:\n{}",
        home.html
    );

    // Idle past the refresh token's lifetime: the IdP refuses the refresh, the session ends.
    p.advance(9);
    let home = b.open(&format!("{}/", p.portal)).await;
    assert!(!home.html.contains("您好，张三"), "{}", home.html);
    assert!(home.html.contains("href=\"/auth/login\""));

    // The portal counted it all, on its metrics endpoint and not on its public port.
    let metrics =
        tongyi_testkit::serve_router(tongyi_shared::metrics::router(p.portal_metrics.registry()))
            .await;
    let text = b.open(&metrics.url("/metrics")).await.html;
    for line in [
        r#"tongyi_rp_logins_total{outcome="completed"} 1"#,
        r#"tongyi_rp_refreshes_total{outcome="renewed"} 2"#,
        r#"tongyi_rp_refreshes_total{outcome="ended"} 1"#,
        r#"tongyi_http_requests_total{route="/auth/callback",method="GET",status="303"} 1"#,
        r#"tongyi_http_requests_total{route="/launcher",method="GET",status="200"} 2"#,
    ] {
        assert!(text.contains(line), "missing {line} in:\n{text}");
    }
    let public = b.open(&format!("{}/metrics", p.portal)).await;
    assert_eq!(public.status, reqwest::StatusCode::NOT_FOUND);
}
