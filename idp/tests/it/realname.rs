//! Real-name verification against a running IdP, on both backends: the development
//! provider's outcomes, service-hour boundaries (Asia/Shanghai), the queue across a restart,
//! the HTTP adapter against a local service, ID photo uploads through real multipart, the
//! admin review pages, and their guards (login, admin role, CSRF).

use std::{
    sync::{
        atomic::{AtomicU16, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{extract::State, http::HeaderMap, http::StatusCode as AxStatus, routing::post, Json};
use reqwest::{header, multipart, StatusCode};
use tongyi_idp::{
    accounts::{password::hash_blocking, realname, uploads::MAX_IMAGE_BYTES},
    config::RealnameProviderKind,
    pii::PiiField,
    providers::realname::{
        EnterpriseQuery, RealnameError, RealnameProvider, RealnameQuery, Verdict,
    },
    seed::{self, SeedAccount, SeedFile},
    store::{
        self,
        accounts::NewAccount,
        identities::{create_person, PersonIdentity},
    },
    AppState,
};
use tongyi_shared::claims::{AccountType, RealnameStatus};

use crate::{
    both_backends,
    harness::{self, Backend, TestIdp},
};

const DAY: i64 = 86_400;

/// An 18-digit resident ID number: `11010119900110` + four digits + the check character.
fn resident_id(last4: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let body = format!("1101011990011{last4}");
    assert_eq!(body.len(), 17);
    let sum: u32 = body
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// The same number with another check character.
fn wrong_check(number: &str) -> String {
    let other = if number.ends_with('0') { '1' } else { '0' };
    format!("{}{other}", &number[..17])
}

use crate::harness::advance_to;

/// Creates a natural person with a password and, when given, an identity document.
async fn person(idp: &TestIdp, login: &str, name: Option<&str>, number: &str) -> String {
    let id = format!("acct-{login}");
    let account = NewAccount {
        id: id.clone(),
        login_name: login.into(),
        password_hash: hash_blocking(harness::PASSWORD, &idp.state.config.login).unwrap(),
        account_type: AccountType::NaturalPerson,
        display_name: name.unwrap_or(login).into(),
        realname_status: RealnameStatus::Unverified,
        org_id: None,
        org_role: None,
        grants: vec![],
        roles: vec![],
        login_name_chosen: true,
    };
    let identity = name.map(|n| PersonIdentity {
        real_name: n.into(),
        identity_region: "mainland".into(),
        id_type: "resident_id_card".into(),
        id_number: number.into(),
        id_valid_from: Some("2020-01-01".into()),
        id_valid_to: None,
        id_country: None,
        // As documents saved before the form asked them.
        gender: None,
        ethnicity: None,
    });
    create_person(
        &idp.state.db,
        &idp.state.pii,
        &account,
        None,
        None,
        identity.as_ref(),
        idp.state.clock.now(),
    )
    .await
    .unwrap();
    id
}

async fn status_of(state: &AppState, id: &str) -> RealnameStatus {
    store::accounts::find_by_id(&state.db, id)
        .await
        .unwrap()
        .unwrap()
        .realname_status
}

both_backends!(dev_provider_outcomes, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    advance_to(&idp.state, 9, 0);
    let cases = [
        ("ok", "张三", resident_id("1001"), RealnameStatus::Verified),
        (
            "named",
            "王测试失败",
            resident_id("1002"),
            RealnameStatus::Failed,
        ),
        ("zeros", "李四", resident_id("0000"), RealnameStatus::Failed),
        ("short", "李", resident_id("1003"), RealnameStatus::Failed),
        (
            "check",
            "赵六",
            wrong_check(&resident_id("1004")),
            RealnameStatus::Failed,
        ),
    ];
    for (login, name, number, expected) in &cases {
        let id = person(&idp, login, Some(name), number).await;
        let got = realname::start(&idp.state, &id).await.unwrap();
        assert_eq!(got, *expected, "{login}");
        assert_eq!(status_of(&idp.state, &id).await, *expected, "{login}");
        let audit = store::audit::list_for_subject(&idp.state.db, &id, 5)
            .await
            .unwrap();
        assert!(
            audit.iter().any(|a| a.event == "realname_verified"
                && a.detail.contains(if *expected == RealnameStatus::Verified {
                    "\"match\""
                } else {
                    "\"mismatch\""
                })),
            "{login}: {:?}",
            audit.iter().map(|a| &a.detail).collect::<Vec<_>>()
        );
        assert!(!audit.iter().any(|a| a.detail.contains(number.as_str())));
        let updates = store::info_updates::for_account(&idp.state.db, &id, 5)
            .await
            .unwrap();
        assert_eq!(updates[0].field, "realname_status");
        assert_eq!(updates[0].new_value, expected.as_str());
    }

    // A failed check is not asked again (the way on is manual review).
    let failed = store::accounts::find_by_login(&idp.state.db, "named")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        realname::start(&idp.state, &failed.id).await.unwrap(),
        RealnameStatus::Failed
    );
    let audit = store::audit::list_for_subject(&idp.state.db, &failed.id, 5)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);

    // The provider's retryable error keeps the account unverified, queued for a retry.
    let id = person(&idp, "slow", Some("测试超时"), &resident_id("1005")).await;
    let got = realname::start(&idp.state, &id).await.unwrap();
    assert_eq!(got, RealnameStatus::Unverified);
    assert_eq!(
        realname::standing(&idp.state, &id).await.unwrap(),
        realname::Standing::Queued
    );
    let check = store::realname::check(&idp.state.db, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(check.state, "queued");
    assert!(check.attempts >= 1);
    assert!(check.next_attempt_at >= idp.state.clock.now() + 590);

    // No document (quick registration): nothing to check, nothing queued.
    let id = person(&idp, "quick", None, "").await;
    assert_eq!(
        realname::start(&idp.state, &id).await.unwrap(),
        RealnameStatus::Unverified
    );
    assert!(store::realname::check(&idp.state.db, &id)
        .await
        .unwrap()
        .is_none());
});

/// Waits until the queue-depth metric says `n`. The IdP's background job counts the queue
/// every second as well, so a count it took a moment before may land after the test's own;
/// the next tick corrects it.
async fn queue_depth_settles(state: &AppState, n: i64) {
    let line = format!("tongyi_realname_queued {n}\n");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !state.metrics.render().contains(&line) {
        assert!(
            std::time::Instant::now() < deadline,
            "the queue depth never read {n}:\n{}",
            state.metrics.render()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

both_backends!(service_hour_boundaries, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    advance_to(&idp.state, 7, 59);
    let early = person(&idp, "early", Some("张三"), &resident_id("2001")).await;
    assert_eq!(
        realname::start(&idp.state, &early).await.unwrap(),
        RealnameStatus::Unverified
    );
    assert_eq!(
        realname::standing(&idp.state, &early).await.unwrap(),
        realname::Standing::Queued
    );
    let check = store::realname::check(&idp.state.db, &early)
        .await
        .unwrap()
        .unwrap();
    let opening = check.next_attempt_at;
    assert_eq!((opening + 8 * 3600).rem_euclid(DAY), 8 * 3600, "next 08:00");
    assert!(opening > idp.state.clock.now() && opening - idp.state.clock.now() <= 60);
    assert_eq!(
        realname::run_due(&idp.state).await.unwrap(),
        0,
        "still closed"
    );
    queue_depth_settles(&idp.state, 1).await;
    assert_eq!(
        status_of(&idp.state, &early).await,
        RealnameStatus::Unverified
    );

    advance_to(&idp.state, 8, 0);
    let on_time = person(&idp, "ontime", Some("李四"), &resident_id("2002")).await;
    assert_eq!(
        realname::start(&idp.state, &on_time).await.unwrap(),
        RealnameStatus::Verified
    );
    // The queued one runs now (here or in the background job, whichever comes first).
    realname::run_due(&idp.state).await.unwrap();
    queue_depth_settles(&idp.state, 0).await;
    assert_eq!(
        status_of(&idp.state, &early).await,
        RealnameStatus::Verified
    );
    assert_eq!(
        store::realname::check(&idp.state.db, &early)
            .await
            .unwrap()
            .unwrap()
            .state,
        "done"
    );

    advance_to(&idp.state, 17, 59);
    let last = person(&idp, "last", Some("王五"), &resident_id("2003")).await;
    assert_eq!(
        realname::start(&idp.state, &last).await.unwrap(),
        RealnameStatus::Verified
    );
    advance_to(&idp.state, 18, 0);
    let late = person(&idp, "late", Some("赵六"), &resident_id("2004")).await;
    assert_eq!(
        realname::start(&idp.state, &late).await.unwrap(),
        RealnameStatus::Unverified
    );
    let check = store::realname::check(&idp.state.db, &late)
        .await
        .unwrap()
        .unwrap();
    // Tomorrow 08:00 local: the clock is real time moved forward, so seconds may have passed
    // since 18:00:00.
    assert_eq!(
        (check.next_attempt_at + 8 * 3600).rem_euclid(DAY),
        8 * 3600,
        "08:00"
    );
    let ahead = check.next_attempt_at - idp.state.clock.now();
    assert!(
        (14 * 3600 - 60..=14 * 3600).contains(&ahead),
        "tomorrow 08:00: {ahead} s ahead"
    );
});

both_backends!(queue_survives_restart, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    advance_to(&idp.state, 20, 0);
    let id = person(&idp, "night", Some("张三"), &resident_id("3001")).await;
    assert_eq!(
        realname::start(&idp.state, &id).await.unwrap(),
        RealnameStatus::Unverified
    );
    let storage = idp.storage.clone();
    let then = idp.state.clock.now();
    drop(idp);

    let idp = TestIdp::start_on(storage, None, false).await;
    // The new instance's clock starts from real time: bring it to where the first one was.
    idp.state
        .clock
        .advance((then - idp.state.clock.now()).max(0));
    assert_eq!(
        realname::standing(&idp.state, &id).await.unwrap(),
        realname::Standing::Queued,
        "the queue is in the database"
    );
    let browser = sign_in(&idp, "night").await;
    let (_, page) = get_page(&browser, &idp.url("/account/realname")).await;
    assert!(
        page.contains("data-status=\"queued\">排队中") && page.contains("08:00（北京时间）"),
        "{page}"
    );
    advance_to(&idp.state, 8, 30);
    realname::run_due(&idp.state).await.unwrap();
    assert_eq!(status_of(&idp.state, &id).await, RealnameStatus::Verified);
});

type Seen = Arc<Mutex<Vec<(HeaderMap, serde_json::Value)>>>;

/// A verification service on 127.0.0.1:0: answers `match` for `张三`, `mismatch` otherwise,
/// or the HTTP status in `fail` when it is not 0, after `delay`.
async fn service(fail: Arc<AtomicU16>, delay: Duration) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route(
            "/verify",
            post(
                move |State(seen): State<Seen>,
                      headers: HeaderMap,
                      Json(body): Json<serde_json::Value>| {
                    let fail = fail.clone();
                    async move {
                        let name = body["name"].as_str().unwrap_or("").to_owned();
                        seen.lock().unwrap().push((headers, body));
                        tokio::time::sleep(delay).await;
                        let code = fail.load(Ordering::SeqCst);
                        if code != 0 {
                            return (
                                AxStatus::from_u16(code).unwrap(),
                                Json(serde_json::json!({})),
                            );
                        }
                        let result = if name == "张三" || name == "测试超时" {
                            "match"
                        } else {
                            "mismatch"
                        };
                        (AxStatus::OK, Json(serde_json::json!({ "result": result })))
                    }
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/verify"), seen)
}

fn http_state(idp: &TestIdp, url: &str) -> AppState {
    let mut config = (*idp.state.config).clone();
    config.realname.provider = RealnameProviderKind::Http;
    config.realname.url = url.into();
    config.realname.api_key = "rn-key-7".into();
    config.realname.api_key_header = "X-Api-Key".into();
    config.realname.timeout_secs = 1;
    config.validate().unwrap();
    let mut state = idp.state.clone();
    state.realname = RealnameProvider::from_config(&config).unwrap();
    state.config = Arc::new(config);
    state
}

both_backends!(http_adapter, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let fail = Arc::new(AtomicU16::new(0));
    let (url, seen) = service(fail.clone(), Duration::ZERO).await;
    let state = http_state(&idp, &url);
    let number = resident_id("4001");
    let ask = |name| RealnameQuery {
        name,
        id_type: "resident_id_card",
        id_number: &number,
    };
    let q = ask("张三");
    assert_eq!(state.realname.verify(&q).await.unwrap(), Verdict::Match);
    let (headers, body) = seen.lock().unwrap().pop().unwrap();
    assert_eq!(headers["x-api-key"], "rn-key-7");
    assert_eq!(
        body,
        serde_json::json!({ "name": "张三", "id_type": "resident_id_card", "id_number": number })
    );
    let q = ask("李四");
    assert_eq!(state.realname.verify(&q).await.unwrap(), Verdict::Mismatch);
    // The enterprise check (企业三要素) goes to the same service (no enterprise_url), told
    // apart by its body; this service matches persons only.
    let unit = EnterpriseQuery {
        unit_name: "天津测试科技有限公司",
        uscc: "91120116MA05JJ1X4B",
        legal_representative: "王建国",
    };
    assert_eq!(
        state.realname.verify_enterprise(&unit).await.unwrap(),
        Verdict::Mismatch
    );
    let (_, body) = seen.lock().unwrap().pop().unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "kind": "enterprise", "unit_name": "天津测试科技有限公司",
            "uscc": "91120116MA05JJ1X4B", "legal_representative": "王建国" })
    );
    fail.store(503, Ordering::SeqCst);
    let err = state.realname.verify(&q).await.unwrap_err();
    assert!(
        matches!(err, RealnameError::Status { status: 503 }) && err.is_retryable(),
        "{err:?}"
    );
    fail.store(0, Ordering::SeqCst);

    let (slow_url, _) = service(Arc::new(AtomicU16::new(0)), Duration::from_secs(3)).await;
    let slow = http_state(&idp, &slow_url);
    let err = slow.realname.verify(&q).await.unwrap_err();
    assert!(
        matches!(err, RealnameError::Timeout) && err.is_retryable(),
        "{err:?}"
    );

    // Through the domain: a 5xx queues the check, the retry verifies.
    advance_to(&state, 9, 0);
    fail.store(502, Ordering::SeqCst);
    // `测试超时` also makes this IdP's own background job (dev provider) defer rather than
    // decide, so only the HTTP service below can verify it.
    let id = person(&idp, "retry", Some("测试超时"), &resident_id("4002")).await;
    let before = state.clock.now();
    assert_eq!(
        realname::start(&state, &id).await.unwrap(),
        RealnameStatus::Unverified
    );
    let after = state.clock.now();
    let check = store::realname::check(&state.db, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((check.state.as_str(), check.attempts), ("queued", 1));
    assert_eq!(check.last_error.as_deref(), Some("http 502"));
    // The clock is real time moved forward: a second may pass during the attempt.
    assert!(
        (before + 600..=after + 600).contains(&check.next_attempt_at),
        "{} not in {}..={}",
        check.next_attempt_at,
        before + 600,
        after + 600
    );
    fail.store(0, Ordering::SeqCst);
    for _ in 0..5 {
        state.clock.advance(600);
        realname::run_due(&state).await.unwrap();
        if status_of(&state, &id).await == RealnameStatus::Verified {
            break;
        }
    }
    assert_eq!(status_of(&state, &id).await, RealnameStatus::Verified);

    // A service that stays down: after max_attempts the user is offered manual review.
    let mut config = (*state.config).clone();
    config.realname.max_attempts = 2;
    let mut few = state.clone();
    few.config = Arc::new(config);
    fail.store(503, Ordering::SeqCst);
    let id = person(&idp, "gaveup", Some("测试超时"), &resident_id("4003")).await;
    assert_eq!(
        realname::start(&few, &id).await.unwrap(),
        RealnameStatus::Unverified
    );
    for _ in 0..5 {
        few.clock.advance(600);
        realname::run_due(&few).await.unwrap();
        if status_of(&few, &id).await != RealnameStatus::Unverified {
            break;
        }
    }
    assert_eq!(status_of(&few, &id).await, RealnameStatus::Failed);
    let audit = store::audit::list_for_subject(&few.db, &id, 5)
        .await
        .unwrap();
    assert!(audit[0].detail.contains("gave_up"), "{:?}", audit[0]);

    // A refusal of our key is not the person's fault: the check stays queued.
    fail.store(401, Ordering::SeqCst);
    let id = person(&idp, "badkey", Some("测试超时"), &resident_id("4004")).await;
    realname::start(&few, &id).await.unwrap();
    for _ in 0..3 {
        few.clock.advance(600);
        realname::run_due(&few).await.unwrap();
    }
    assert_eq!(status_of(&few, &id).await, RealnameStatus::Unverified);
    let check = store::realname::check(&few.db, &id).await.unwrap().unwrap();
    assert_eq!(check.state, "queued");
    assert!(check.attempts >= 3, "{check:?}");
});

/// Signs `login` in at the IdP through the login page; returns the browser.
async fn sign_in(idp: &TestIdp, login: &str) -> reqwest::Client {
    let browser = harness::browser();
    let page = browser
        .get(idp.url("/login?next=/account/realname"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("csrf", harness::hidden(&page, "csrf")),
        ("req", String::new()),
        ("next", "/account/realname".to_owned()),
        ("login_name", login.to_owned()),
        ("password", harness::PASSWORD.to_owned()),
    ];
    let res = browser
        .post(idp.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "login of {login}");
    assert_eq!(harness::location(&res), "/account/realname");
    browser
}

async fn get_page(browser: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let res = browser.get(url).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

fn png(len: usize) -> Vec<u8> {
    let mut data = b"\x89PNG\r\n\x1a\n".to_vec();
    data.resize(len, 7);
    data
}

fn jpeg(len: usize) -> Vec<u8> {
    let mut data = vec![0xFF, 0xD8, 0xFF, 0xE0];
    data.resize(len, 9);
    data
}

async fn upload(
    idp: &TestIdp,
    browser: &reqwest::Client,
    csrf: Option<&str>,
    front: (&str, Vec<u8>),
    back: (&str, Vec<u8>),
) -> (StatusCode, String) {
    let part = |(name, data): (&str, Vec<u8>)| {
        let mime = if name.ends_with(".png") {
            "image/png"
        } else {
            "image/jpeg"
        };
        multipart::Part::bytes(data)
            .file_name(name.to_owned())
            .mime_str(mime)
            .unwrap()
    };
    let mut form = multipart::Form::new();
    if let Some(c) = csrf {
        form = form.text("csrf", c.to_owned());
    }
    let form = form
        .part("id_front", part(front))
        .part("id_back", part(back));
    let res = browser
        .post(idp.url("/account/realname/review"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn seed_admin(idp: &TestIdp) {
    let seed = SeedFile {
        org: vec![],
        department: vec![],
        client: vec![],
        account: vec![SeedAccount {
            id: "acct-admin".into(),
            login_name: "platform_admin".into(),
            password: harness::PASSWORD.into(),
            display_name: "平台管理员".into(),
            account_type: "natural_person".into(),
            realname_status: "verified".into(),
            org: None,
            org_role: None,
            grants: vec![],
            roles: vec!["platform_admin".into()],
            mobile: None,
            email: None,
        }],
    };
    seed::apply(
        &idp.state.db,
        &idp.state.config,
        seed,
        idp.state.clock.now(),
    )
    .await
    .unwrap();
}

both_backends!(upload_limits, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    advance_to(&idp.state, 10, 0);
    let id = person(&idp, "wang", Some("王测试失败"), &resident_id("5001")).await;
    realname::start(&idp.state, &id).await.unwrap();
    let browser = sign_in(&idp, "wang").await;
    let (status, page) = get_page(&browser, &idp.url("/account/realname")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("认证失败") && page.contains("id_front"),
        "{page}"
    );
    let csrf = harness::hidden(&page, "csrf");

    let (status, page) = upload(
        &idp,
        &browser,
        Some(&csrf),
        ("front.png", png(MAX_IMAGE_BYTES + 1)),
        ("back.png", png(2000)),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("id=\"id_front-error\">图片不能超过1MB"),
        "{page}"
    );
    assert!(page.contains("aria-describedby=\"id_front-error\" aria-invalid=\"true\""));
    assert!(!page.contains("id_back-error"));

    let (status, page) = upload(
        &idp,
        &browser,
        Some(&csrf),
        ("front.png", b"%PDF-1.7\n1 0 obj << >> endobj\n".repeat(20)),
        ("back.png", png(2000)),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("id=\"id_front-error\">仅支持jpg、png格式的图片"),
        "{page}"
    );

    let (status, page) = upload(
        &idp,
        &browser,
        None,
        ("front.jpg", png(2000)),
        ("back.jpg", jpeg(2000)),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert_eq!(status_of(&idp.state, &id).await, RealnameStatus::Failed);
    assert_eq!(
        store::realname::count_pending(&idp.state.db).await.unwrap(),
        0
    );

    // A PNG named .jpg is fine: the content decides. Exactly 1 MB is allowed.
    let (status, _) = upload(
        &idp,
        &browser,
        Some(&csrf),
        ("front.jpg", png(2000)),
        ("back.jpg", jpeg(MAX_IMAGE_BYTES)),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        status_of(&idp.state, &id).await,
        RealnameStatus::PendingReview
    );
    let (_, page) = get_page(&browser, &idp.url("/account/realname")).await;
    assert!(
        page.contains("待人工审核") && !page.contains("id_front"),
        "{page}"
    );
    let review = store::realname::latest_for(&idp.state.db, &id)
        .await
        .unwrap()
        .unwrap();
    let (ct, data, owner) =
        store::uploads::get(&idp.state.db, &idp.state.pii, &review.front_upload_id)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        (ct.as_str(), data, owner.as_deref()),
        ("image/png", png(2000), Some(id.as_str()))
    );

    // Once pending, a second upload is refused.
    let (status, _) = upload(
        &idp,
        &browser,
        Some(&csrf),
        ("front.png", png(2000)),
        ("back.png", png(2000)),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        store::realname::count_pending(&idp.state.db).await.unwrap(),
        1
    );

    // Not signed in: to the login page.
    let res = TestIdp::http()
        .get(idp.url("/account/realname"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection());
    assert!(harness::location(&res).starts_with("/login?next="));
});

both_backends!(identity_form, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    advance_to(&idp.state, 11, 0);
    let id = person(&idp, "quick", None, "").await;
    let browser = sign_in(&idp, "quick").await;
    let (_, page) = get_page(&browser, &idp.url("/account/realname")).await;
    assert!(
        page.contains("未认证") && page.contains("id_number"),
        "{page}"
    );
    // 性别 as radios in a fieldset, 民族 as a labelled select of the 56 groups and 其他.
    assert!(page.contains("<legend>性别</legend>"), "{page}");
    for radio in ["id=\"gender-1\" name=\"gender\" value=\"1\"", "value=\"2\""] {
        assert!(page.contains(radio), "{radio}: {page}");
    }
    assert!(page.contains("<label for=\"ethnicity\">"), "{page}");
    assert!(page.contains("<option value=\"01\">汉族</option>"));
    assert!(page.contains("<option value=\"56\">基诺族</option>"));
    assert!(page.contains("<option value=\"97\">其他</option>"));
    let csrf = harness::hidden(&page, "csrf");
    // The 17th digit 1: a man.
    let number = resident_id("6001");
    let mut form = vec![
        ("csrf", csrf.clone()),
        ("real_name", "周七".to_owned()),
        ("identity_region", "mainland".to_owned()),
        ("id_type", "resident_id_card".to_owned()),
        ("id_number", wrong_check(&number)),
        ("id_valid_from", "2020-01-01".to_owned()),
        ("id_valid_to", "长期".to_owned()),
        ("gender", "1".to_owned()),
        ("ethnicity", "05".to_owned()),
    ];
    let res = browser
        .post(idp.url("/account/realname/identity"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"id_number-error\""), "{page}");
    assert!(page.contains("value=\"周七\""), "values are kept");
    assert!(page.contains("value=\"1\" required checked"), "{page}");
    assert!(page.contains("<option value=\"05\" selected>维吾尔族</option>"));
    assert!(
        store::identities::person_identity(&idp.state.db, &idp.state.pii, &id)
            .await
            .unwrap()
            .is_none()
    );

    // No 民族 for a mainland resident: its field error, everything typed still there.
    form[4].1 = number.clone();
    form[8].1 = String::new();
    let res = browser
        .post(idp.url("/account/realname/identity"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("<p class=\"error\" id=\"ethnicity-error\">请选择民族</p>"),
        "{page}"
    );
    assert!(page.contains("aria-describedby=\"ethnicity-error\" aria-invalid=\"true\""));
    assert!(!page.contains("id=\"id_number-error\""), "{page}");
    for kept in [
        "value=\"周七\"".to_owned(),
        format!("value=\"{number}\""),
        "value=\"1\" required checked".to_owned(),
        "<option value=\"mainland\" selected>".to_owned(),
        "<option value=\"resident_id_card\" selected>".to_owned(),
        "value=\"长期\"".to_owned(),
    ] {
        assert!(page.contains(&kept), "{kept} lost: {page}");
    }
    // And a gender the number contradicts (the 17th digit is odd: 男).
    form[7].1 = "2".to_owned();
    form[8].1 = "05".to_owned();
    let res = browser
        .post(idp.url("/account/realname/identity"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("性别与身份证号码不符"), "{page}");
    assert!(page.contains("value=\"2\" required checked"), "{page}");
    form[7].1 = "1".to_owned();

    let without_csrf: Vec<_> = form.iter().filter(|(k, _)| *k != "csrf").collect();
    let res = browser
        .post(idp.url("/account/realname/identity"))
        .form(&without_csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let res = browser
        .post(idp.url("/account/realname/identity"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_of(&idp.state, &id).await, RealnameStatus::Verified);
    let (_, page) = get_page(&browser, &idp.url("/account/realname")).await;
    assert!(page.contains("已认证") && !page.contains(&number), "{page}");
    let stored = store::identities::person_identity(&idp.state.db, &idp.state.pii, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.gender.as_deref(), stored.ethnicity.as_deref()),
        (Some("1"), Some("05"))
    );
    // Sealed at rest, and only the owner's console says (masked) that it is on file.
    let (gender, ethnicity) = raw_gender_and_ethnicity(&idp, &id).await;
    let (gender, ethnicity) = (gender.unwrap(), ethnicity.unwrap());
    assert!(gender.starts_with("v1.") && ethnicity.starts_with("v1."));
    assert_eq!(
        idp.state
            .pii
            .open(PiiField::Ethnicity, &ethnicity)
            .as_deref(),
        Some("05")
    );
    assert_eq!(
        idp.state.pii.open(PiiField::Gender, &gender).as_deref(),
        Some("1")
    );
    let (_, console) = get_page(&browser, &idp.url("/account")).await;
    assert!(console.contains("<dt>性别</dt><dd>男</dd>"), "{console}");
    assert!(!console.contains("维吾尔族"), "{console}");
    // Nothing about them in the change history.
    let updates = store::info_updates::for_account(&idp.state.db, &id, 20)
        .await
        .unwrap();
    assert!(updates
        .iter()
        .all(|u| !u.new_value.contains("维吾尔") && u.field != "ethnicity"));
});

/// The raw `gender_sealed` and `ethnicity_sealed` columns of an account's document.
async fn raw_gender_and_ethnicity(idp: &TestIdp, id: &str) -> (Option<String>, Option<String>) {
    sqlx::query_as(
        "SELECT gender_sealed, ethnicity_sealed FROM person_identities WHERE account_id = $1",
    )
    .bind(id)
    .fetch_one(&idp.state.db.pool)
    .await
    .unwrap()
}

both_backends!(
    identity_gender_and_ethnicity_round_trip_sealed,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let (db, pii) = (&idp.state.db, &idp.state.pii);
        // A document from before the form asked them: NULL columns, read as not given.
        let old = person(&idp, "old", Some("吴八"), &resident_id("8001")).await;
        assert_eq!(raw_gender_and_ethnicity(&idp, &old).await, (None, None));
        let got = store::identities::person_identity(db, pii, &old)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((&got.gender, &got.ethnicity), (&None, &None));

        // Both given: sealed each for its own field, opened back as they were.
        let mut identity = got.clone();
        identity.gender = Some("1".into());
        identity.ethnicity = Some("97".into());
        store::identities::set_identity(db, pii, &old, &identity, idp.state.clock.now())
            .await
            .unwrap();
        let back = store::identities::person_identity(db, pii, &old)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back, identity);
        let (gender, ethnicity) = raw_gender_and_ethnicity(&idp, &old).await;
        let (gender, ethnicity) = (gender.unwrap(), ethnicity.unwrap());
        assert!(gender != "1" && ethnicity != "97");
        assert!(gender.starts_with("v1.") && ethnicity.starts_with("v1."));
        assert_eq!(
            pii.open(PiiField::Gender, &ethnicity),
            None,
            "bound to its field"
        );
        assert_eq!(
            pii.open(PiiField::Ethnicity, &gender),
            None,
            "bound to its field"
        );

        // Only the gender (民族 left out outside 中国大陆): the other stays NULL.
        identity.identity_region = "other".into();
        identity.ethnicity = None;
        store::identities::set_identity(db, pii, &old, &identity, idp.state.clock.now())
            .await
            .unwrap();
        let back = store::identities::person_identity(db, pii, &old)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((back.gender.as_deref(), back.ethnicity), (Some("1"), None));
        assert!(raw_gender_and_ethnicity(&idp, &old).await.1.is_none());
    }
);

both_backends!(admin_review, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    seed_admin(&idp).await;
    advance_to(&idp.state, 10, 0);
    let number = resident_id("7001");
    let id = person(&idp, "sun", Some("孙测试失败"), &number).await;
    realname::start(&idp.state, &id).await.unwrap();
    let user = sign_in(&idp, "sun").await;
    let (_, page) = get_page(&user, &idp.url("/account/realname")).await;
    let csrf = harness::hidden(&page, "csrf");
    let (status, _) = upload(
        &idp,
        &user,
        Some(&csrf),
        ("front.png", png(3000)),
        ("back.jpg", jpeg(3000)),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let review = store::realname::latest_for(&idp.state.db, &id)
        .await
        .unwrap()
        .unwrap();

    // A signed-in non-admin gets 403 on every admin page.
    let alice = sign_in(&idp, "alice").await;
    for path in [
        "/admin/realname-reviews".to_owned(),
        format!("/admin/realname-reviews/{}", review.id),
        format!("/admin/uploads/{}", review.front_upload_id),
    ] {
        let (status, _) = get_page(&alice, &idp.url(&path)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let res = alice
        .post(idp.url(&format!("/admin/realname-reviews/{}", review.id)))
        .form(&[("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let admin = sign_in(&idp, "platform_admin").await;
    let (status, list) = get_page(&admin, &idp.url("/admin/realname-reviews")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains(&review.id) && list.contains("sun"), "{list}");
    let (status, detail) = get_page(
        &admin,
        &idp.url(&format!("/admin/realname-reviews/{}", review.id)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(detail.contains("孙测试失败"), "{detail}");
    assert!(!detail.contains(&number), "the ID number is masked");
    assert!(detail.contains(&tongyi_shared::mask::mask_id_number(&number)));
    assert!(detail.contains(&format!("/admin/uploads/{}", review.back_upload_id)));
    let res = admin
        .get(idp.url(&format!("/admin/uploads/{}", review.back_upload_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(res.bytes().await.unwrap().to_vec(), jpeg(3000));

    let csrf = harness::hidden(&detail, "csrf");
    let decide = |fields: Vec<(&'static str, String)>| {
        let admin = admin.clone();
        let url = idp.url(&format!("/admin/realname-reviews/{}", review.id));
        async move { admin.post(url).form(&fields).send().await.unwrap() }
    };
    // Without CSRF, and a rejection without a reason: refused, nothing changes.
    let res = decide(vec![("decision", "approve".into())]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = decide(vec![
        ("csrf", csrf.clone()),
        ("decision", "reject".into()),
        ("reason", "  ".into()),
    ])
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("驳回时请填写原因"));
    assert_eq!(
        status_of(&idp.state, &id).await,
        RealnameStatus::PendingReview
    );

    let res = decide(vec![
        ("csrf", csrf.clone()),
        ("decision", "reject".into()),
        ("reason", "照片模糊，请重新拍摄".into()),
    ])
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_of(&idp.state, &id).await, RealnameStatus::Failed);
    let (_, page) = get_page(&user, &idp.url("/account/realname")).await;
    assert!(
        page.contains("认证失败") && page.contains("照片模糊，请重新拍摄"),
        "{page}"
    );
    let res = decide(vec![("csrf", csrf.clone()), ("decision", "approve".into())]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "already decided");

    // Second try: approved.
    let csrf_user = harness::hidden(&page, "csrf");
    let (status, _) = upload(
        &idp,
        &user,
        Some(&csrf_user),
        ("front.png", png(3000)),
        ("back.png", png(3000)),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let second = store::realname::latest_for(&idp.state.db, &id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(second.id, review.id);
    let res = admin
        .post(idp.url(&format!("/admin/realname-reviews/{}", second.id)))
        .form(&[("csrf", csrf.as_str()), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_of(&idp.state, &id).await, RealnameStatus::Verified);
    let updates = store::info_updates::for_account(&idp.state.db, &id, 10)
        .await
        .unwrap();
    let last = &updates[0];
    assert_eq!(
        (
            last.field.as_str(),
            last.old_value.as_str(),
            last.new_value.as_str(),
            last.actor_account_id.as_deref()
        ),
        (
            "realname_status",
            "pending_review",
            "verified",
            Some("acct-admin")
        )
    );
    let audit = store::audit::list_for_subject(&idp.state.db, &id, 10)
        .await
        .unwrap();
    let decided: Vec<_> = audit
        .iter()
        .filter(|a| a.event == "realname_review_decided")
        .collect();
    assert_eq!(decided.len(), 2);
    assert_eq!(decided[0].actor_account_id.as_deref(), Some("acct-admin"));
    assert!(decided[0].detail.contains("approved") && decided[1].detail.contains("rejected"));
    let (_, list) = get_page(&admin, &idp.url("/admin/realname-reviews")).await;
    assert!(list.contains("暂无待审核"), "{list}");
});

both_backends!(admin_list_pages, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    seed_admin(&idp).await;
    advance_to(&idp.state, 10, 0);
    for i in 0..21 {
        let id = person(
            &idp,
            &format!("p{i:02}"),
            Some("钱测试失败"),
            &resident_id(&format!("8{i:03}")),
        )
        .await;
        realname::start(&idp.state, &id).await.unwrap();
        let image = |purpose: &str| tongyi_idp::store::uploads::NewUpload {
            id: format!("up-{purpose}-{i}"),
            owner_account_id: Some(id.clone()),
            purpose: purpose.into(),
            content_type: "image/png",
            data: png(100),
        };
        store::realname::create_review(
            &idp.state.db,
            &idp.state.pii,
            &format!("rv-{i:02}"),
            &id,
            &image("id_front"),
            &image("id_back"),
            idp.state.clock.now() + i,
        )
        .await
        .unwrap();
    }
    let admin = sign_in(&idp, "platform_admin").await;
    let (_, first) = get_page(&admin, &idp.url("/admin/realname-reviews")).await;
    assert!(first.contains("rv-20") && first.contains("rv-01") && !first.contains("rv-00"));
    assert!(first.find("rv-20") < first.find("rv-19"), "newest first");
    assert!(
        first.contains("page=2") && first.contains("待审核 21 条"),
        "{first}"
    );
    let (_, second) = get_page(&admin, &idp.url("/admin/realname-reviews?page=2")).await;
    assert!(second.contains("rv-00") && !second.contains("rv-01") && !second.contains("page=3"));
});

/// A legal entity, `unverified`, with its legal representative (the fixture unit has none).
async fn unit(idp: &TestIdp, login: &str, unit_name: &str, uscc: &str, rep: &str) -> String {
    use tongyi_idp::store::{
        accounts::NewOrg,
        identities::{create_legal_entity, NewLegalEntity, OrgPerson},
    };
    let person = |name: &str, id: &str, mobile: &str| OrgPerson {
        name: name.into(),
        id_type: "resident_id_card".into(),
        id_number: id.into(),
        id_valid_from: Some("2020-01-01".into()),
        id_valid_to: None,
        mobile: mobile.into(),
    };
    let id = format!("acct-{login}");
    let org_id = format!("org-{login}");
    let new = NewLegalEntity {
        org: NewOrg {
            id: org_id.clone(),
            name: unit_name.into(),
            uscc: Some(uscc.into()),
            status: tongyi_shared::org::UnitStatus::Active,
        },
        entity_type: "enterprise".into(),
        registration_region: "domestic".into(),
        legal_rep: person(rep, &resident_id("7001"), "13600001111"),
        agent: person("王五", &resident_id("7002"), "13600002222"),
    };
    let account = NewAccount {
        id: id.clone(),
        login_name: login.into(),
        password_hash: hash_blocking(harness::PASSWORD, &idp.state.config.login).unwrap(),
        account_type: AccountType::LegalEntity,
        display_name: unit_name.into(),
        realname_status: RealnameStatus::Unverified,
        org_id: Some(org_id),
        org_role: Some(tongyi_shared::org::OrgRole::Admin),
        grants: vec![],
        roles: vec![],
        login_name_chosen: true,
    };
    create_legal_entity(&idp.state.db, &idp.state.pii, &account, None, None, &new, 1)
        .await
        .unwrap();
    id
}

/// A browser signed in as the legal entity `login` (the login page's 法人 tab).
async fn sign_in_unit(idp: &TestIdp, login: &str) -> reqwest::Client {
    let b = harness::browser();
    let (_, page) = get_page(
        &b,
        &idp.url("/login?type=legal_entity&next=/account/realname"),
    )
    .await;
    let (url, _, _) = crate::login_modes::post_page(
        idp,
        &b,
        "/login",
        &page,
        &[("login_name", login), ("password", harness::PASSWORD)],
    )
    .await
    .page();
    assert!(
        url.ends_with("/account/realname"),
        "login of {login}: {url}"
    );
    b
}

both_backends!(
    a_units_enterprise_check_passes_fails_and_queues,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        // Outside the service hours: queued, and verified once they open.
        advance_to(&idp.state, 7, 0);
        let good = unit(
            &idp,
            "unit_good",
            "天津认证测试有限公司",
            "91120116MA07TT5P2J",
            "赵六",
        )
        .await;
        assert_eq!(
            realname::start(&idp.state, &good).await.unwrap(),
            RealnameStatus::Unverified
        );
        assert_eq!(
            realname::standing(&idp.state, &good).await.unwrap(),
            realname::Standing::Queued
        );
        advance_to(&idp.state, 8, 30);
        assert_eq!(realname::run_due(&idp.state).await.unwrap(), 1);
        assert_eq!(status_of(&idp.state, &good).await, RealnameStatus::Verified);

        // The unit's token says so.
        let tokens = crate::login_modes::login_as(
            &idp,
            crate::login_modes::LEGAL,
            "unit_good",
            harness::PASSWORD,
        )
        .await;
        let claims = crate::rp::payload(tokens.str("id_token")).to_string();
        assert!(
            claims.contains("\"realname_status\":\"verified\""),
            "{claims}"
        );
        // And the directory API's unit.
        let unit_json: serde_json::Value = TestIdp::http()
            .get(idp.url("/api/units/org-unit_good"))
            .bearer_auth(tokens.str("access_token"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(unit_json["realname_status"], "verified", "{unit_json}");

        // A mismatch (dev rules: `测试失败` in a name) fails; it is not asked again.
        let bad = unit(
            &idp,
            "unit_bad",
            "天津测试失败有限公司",
            "91120116MA07UU6Q3B",
            "钱七",
        )
        .await;
        assert_eq!(
            realname::start(&idp.state, &bad).await.unwrap(),
            RealnameStatus::Failed
        );
        assert_eq!(
            realname::start(&idp.state, &bad).await.unwrap(),
            RealnameStatus::Failed
        );
        let rows = store::audit::list_for_subject(&idp.state.db, &bad, 10)
            .await
            .unwrap();
        assert!(rows
            .iter()
            .any(|r| r.event == "realname_verified" && r.detail.contains("mismatch")));
    }
);

both_backends!(
    a_unit_starts_its_check_on_the_realname_page,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        advance_to(&idp.state, 10, 0);
        let id = unit(
            &idp,
            "unit_page",
            "天津页面测试有限公司",
            "91120116MA07TT5P2J",
            "孙八",
        )
        .await;
        let b = sign_in_unit(&idp, "unit_page").await;
        let html = b
            .get(idp.url("/account/realname"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("id=\"unit-subject\""), "{html}");
        assert!(
            html.contains("91120116MA07TT5P2J") && html.contains("孙*"),
            "{html}"
        );
        assert!(
            !html.contains("孙八"),
            "the representative's name is masked"
        );
        assert!(html.contains("开始单位认证"), "{html}");
        let res = b
            .post(idp.url("/account/realname/start"))
            .form(&[("csrf", harness::hidden(&html, "csrf"))])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_redirection(), "{}", res.status());
        assert_eq!(status_of(&idp.state, &id).await, RealnameStatus::Verified);
        let html = b
            .get(idp.url("/account/realname"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("data-status=\"verified\""), "{html}");
        assert!(!html.contains("开始单位认证"));
    }
);

both_backends!(
    a_failed_unit_is_reviewed_by_its_licence,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        seed_admin(&idp).await;
        advance_to(&idp.state, 10, 0);
        let id = unit(
            &idp,
            "unit_licence",
            "天津测试失败执照有限公司",
            "91120116MA07TT5P2J",
            "周九",
        )
        .await;
        assert_eq!(
            realname::start(&idp.state, &id).await.unwrap(),
            RealnameStatus::Failed
        );
        // The unit logs in (legal-entity tab) and is offered the licence upload.
        let b = sign_in_unit(&idp, "unit_licence").await;
        let (_, page) = get_page(&b, &idp.url("/account/realname")).await;
        assert!(page.contains("id=\"unit-failed\""), "{page}");
        assert!(
            page.contains("营业执照照片") && page.contains("id_front"),
            "{page}"
        );
        let csrf = harness::hidden(&page, "csrf");
        let (status, _) = upload(
            &idp,
            &b,
            Some(&csrf),
            ("licence.png", png(3000)),
            ("rep.jpg", jpeg(3000)),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(
            status_of(&idp.state, &id).await,
            RealnameStatus::PendingReview
        );
        let review = store::realname::latest_for(&idp.state.db, &id)
            .await
            .unwrap()
            .unwrap();

        // The reviewer sees the unit's registration beside the licence, and approves.
        let admin = sign_in(&idp, "platform_admin").await;
        let (_, list) = get_page(&admin, &idp.url("/admin/realname-reviews")).await;
        assert!(list.contains("天津测试失败执照有限公司"), "{list}");
        let url = idp.url(&format!("/admin/realname-reviews/{}", review.id));
        let (status, detail) = get_page(&admin, &url).await;
        assert_eq!(status, StatusCode::OK);
        assert!(detail.contains("id=\"unit-registration\""), "{detail}");
        assert!(
            detail.contains("91120116MA07TT5P2J") && detail.contains("周九"),
            "{detail}"
        );
        assert!(detail.contains("营业执照"), "{detail}");
        let csrf = harness::hidden(&detail, "csrf");
        let res = admin
            .post(url)
            .form(&[("csrf", csrf.as_str()), ("decision", "approve")])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_redirection(), "{}", res.status());
        assert_eq!(status_of(&idp.state, &id).await, RealnameStatus::Verified);
    }
);
