//! Two portal instances on one Redis act as one: a login on one is known to the other (the
//! browser sends the same cookie to both, as behind a load balancer), a refresh by one is the
//! other's too (the rotated refresh token is shared, not replayed), and a back-channel logout
//! delivered to one ends the session on both.

use reqwest::StatusCode;
use tongyi_testkit::{redis_prefix, redis_url, unique_tag, Relay};

use crate::harness::{hidden, log_in_at_idp, Browser, Platform, PlatformOptions, PERSON_PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_portal_instances_share_sessions_and_logouts_through_redis() {
    let p = Platform::start_with(PlatformOptions {
        portal_redis: Some((redis_url(), redis_prefix(&unique_tag()))),
        second_portal: true,
        ..PlatformOptions::default()
    })
    .await;
    let second = p.portal_second.clone().expect("a second portal");
    assert_ne!(second, p.portal, "two addresses");
    let b = Browser::new();

    // Log in on the first instance.
    let login = b.open(&format!("{}/auth/login", p.portal)).await;
    let home = log_in_at_idp(&b, &p.idp, &login, "demo_person", PERSON_PASSWORD).await;
    assert_eq!(home.url, format!("{}/", p.portal), "{:?}", home.trail);
    assert!(home.html.contains("您好，张三"), "{}", home.html);

    // Continue on the second: the same cookie names the same session there.
    let there = b.open(&format!("{second}/")).await;
    assert_eq!(there.status, StatusCode::OK);
    assert!(there.html.contains("您好，张三"), "{}", there.html);
    let launcher = b.open(&format!("{second}/launcher")).await;
    assert_eq!(launcher.status, StatusCode::OK, "{}", launcher.html);
    assert!(
        launcher
            .html
            .contains(&format!("href=\"{}/auth/login\"", p.incubator)),
        "the IdP's API answered the second instance:\n{}",
        launcher.html
    );

    // Past the ID token's lifetime the second refreshes; the first uses what it stored (had
    // it presented the old refresh token again, the IdP would have revoked the family).
    p.advance(400);
    let there = b.open(&format!("{second}/launcher")).await;
    assert_eq!(there.status, StatusCode::OK, "{}", there.html);
    p.advance(400);
    let here = b.open(&format!("{}/launcher", p.portal)).await;
    assert_eq!(
        here.url,
        format!("{}/launcher", p.portal),
        "{:?}",
        here.trail
    );
    assert!(here.html.contains("在线办理"), "{}", here.html);
    let there = b.open(&format!("{second}/")).await;
    assert!(there.html.contains("您好，张三"), "{}", there.html);

    // Both instances due to refresh at once: one refreshes, the other waits for it and uses
    // its tokens (a refresh token presented twice would revoke the family and end the session).
    for _ in 0..3 {
        p.advance(400);
        let (url_here, url_there) = (
            format!("{}/launcher", p.portal),
            format!("{second}/launcher"),
        );
        let (here, there) = tokio::join!(b.open(&url_here), b.open(&url_there));
        for page in [&here, &there] {
            assert!(
                page.url.ends_with("/launcher") && page.html.contains("在线办理"),
                "{:?}\n{}",
                page.trail,
                page.html
            );
        }
    }

    // Logging out in the incubator ends the IdP session; the IdP tells the portal over the
    // back channel, which the seed points at the second instance.
    let incubator = b.open(&format!("{}/auth/login", p.incubator)).await;
    assert!(incubator.html.contains("欢迎，张三"), "{}", incubator.html);
    let csrf = hidden(&incubator.html, "csrf");
    let out = b
        .submit(&format!("{}/auth/logout", p.incubator), &[("csrf", &csrf)])
        .await;
    assert!(out.passed(&format!("{}/logout?", p.idp)), "{:?}", out.trail);

    // The browser still holds the portal cookie; the first instance knows it no more.
    assert!(b.cookies_for(&p.portal).contains("tongyi_portal_session="));
    let here = b.open(&format!("{}/", p.portal)).await;
    assert_eq!(here.status, StatusCode::OK);
    assert!(!here.html.contains("您好，张三"), "{}", here.html);
    assert!(here.html.contains("href=\"/auth/login\""), "{}", here.html);
    let there = b.open(&format!("{second}/")).await;
    assert!(!there.html.contains("您好，张三"), "{}", there.html);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_is_503_with_retry_after_and_the_session_survives_it() {
    let target = redis_url();
    let relay = Relay::start(target.trim_start_matches("redis://").trim_end_matches('/')).await;
    let p = Platform::start_with(PlatformOptions {
        portal_redis: Some((
            format!("redis://{}", relay.addr),
            redis_prefix(&unique_tag()),
        )),
        ..PlatformOptions::default()
    })
    .await;
    let b = Browser::new();
    let login = b.open(&format!("{}/auth/login", p.portal)).await;
    let home = log_in_at_idp(&b, &p.idp, &login, "demo_person", PERSON_PASSWORD).await;
    assert!(home.html.contains("您好，张三"), "{}", home.html);

    relay.cut();
    let started = std::time::Instant::now();
    let res = b.http.get(format!("{}/", p.portal)).send().await.unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "answered in {:?}",
        started.elapsed()
    );
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "5");
    let html = res.text().await.unwrap();
    assert!(html.contains("服务暂时不可用"), "{html}");

    relay.restore();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let home = b.open(&format!("{}/", p.portal)).await;
        if home.status == StatusCode::OK {
            assert!(home.html.contains("您好，张三"), "{}", home.html);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not recovered: {}",
            home.status
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
