//! A subsystem whose own database goes down while it serves (issue 13: "the same holds in the
//! portal and the subsystems"): its pages answer 503 with the Chinese outage page within the
//! pool's acquire timeout, the session survives, and it serves again once the database is
//! back, without a restart. The database is a PostgreSQL cluster of this test's own.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tongyi_testkit::outage::OwnPostgres;

use crate::harness::{log_in_at_idp, Browser, Platform, PlatformOptions, PERSON_PASSWORD};

/// The acquire timeout (2 s) and some slack for a slow machine.
const BOUND: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_incubator_answers_503_while_its_database_is_down_and_recovers() {
    let mut pg = OwnPostgres::start();
    let p = Platform::start_with(PlatformOptions {
        incubator_database_url: Some(pg.url()),
        ..PlatformOptions::default()
    })
    .await;
    let b = Browser::new();
    let login = b.open(&format!("{}/auth/login", p.incubator)).await;
    let home = log_in_at_idp(&b, &p.idp, &login, "demo_person", PERSON_PASSWORD).await;
    assert_eq!(home.url, format!("{}/", p.incubator), "{}", home.html);

    pg.stop();
    let started = Instant::now();
    let down = b.open(&format!("{}/", p.incubator)).await;
    assert!(started.elapsed() < BOUND, "{:?}", started.elapsed());
    assert_eq!(
        down.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        down.html
    );
    assert!(down.html.contains("服务暂时不可用"), "{}", down.html);

    pg.start_again();
    // The pool reconnects by itself; the first request may still meet a closed connection.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = b.open(&format!("{}/", p.incubator)).await;
        if page.status == StatusCode::OK {
            assert!(
                page.html.contains("id=\"add-declaration\""),
                "{}",
                page.html
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not serving after the database returned"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
