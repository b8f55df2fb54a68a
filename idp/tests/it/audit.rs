//! The audit log: logins, failures, throttle steps, logouts and admin commands each leave the right
//! entry, naming accounts by id and addresses as they connected, and no entry carries a login
//! name, a password, a mobile or a client secret.

use std::net::IpAddr;

use reqwest::StatusCode;
use tongyi_idp::{
    accounts::login::LoginFailure,
    cli::{run_client, run_keys, ClientCommand, KeysCommand},
    pii::PiiField,
    store::audit::{list_for_subject, list_recent, AuditRow},
};

use crate::{
    both_backends,
    harness::{browser, follow, submit_login, Backend, TestIdp, PASSWORD},
    login_rules::login_answering_captcha,
    proto::{code_for, code_request, exchange},
};

const MOBILE: &str = "13812345656";
const WRONG: &str = "Wrong#Pass2026";

/// Every entry, oldest first.
async fn all_rows(idp: &TestIdp) -> Vec<AuditRow> {
    let mut rows = list_recent(&idp.state.db, 1000).await.unwrap();
    rows.reverse();
    rows
}

fn events(rows: &[AuditRow]) -> Vec<&str> {
    rows.iter().map(|r| r.event.as_str()).collect()
}

fn detail(row: &AuditRow) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&row.detail).unwrap();
    assert!(v.is_object(), "{}", row.detail);
    v
}

/// No entry's detail (the one free-form column; the others hold ids, event names and
/// addresses) holds what must never be stored: login names as typed, passwords, mobiles.
fn assert_no_personal_data(rows: &[AuditRow], forbidden: &[&str]) {
    for r in rows {
        let text = r.detail.to_lowercase();
        for f in forbidden {
            assert!(!text.contains(&f.to_lowercase()), "{f:?} in {r:?}");
        }
    }
}

/// Submits one login on a fresh login page and expects to stay on it.
async fn failed_login(idp: &TestIdp, login_name: &str, password: &str) {
    let b = browser();
    let req = code_request(idp, "rp-basic", &[]);
    let (url, status, page) = follow(&b, &idp.base, &req.url).await.page();
    assert!(url.contains("/login"), "{url}");
    assert_eq!(status, StatusCode::OK);
    let (url, status, _) = submit_login(&b, &idp.base, &page, login_name, password)
        .await
        .page();
    assert!(url.ends_with("/login"), "{url}");
    assert_eq!(status, StatusCode::OK);
}

both_backends!(logins_and_logout, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;

    // A successful login, then the user logs out through the RP with an ID token hint.
    let b = browser();
    let (code, verifier) = code_for(&idp, &b, "rp-basic", "alice").await;
    let tokens = exchange(&idp, "rp-basic", &code, &verifier).await;
    tokens.assert_ok();
    let res = b
        .get(format!(
            "{}/logout?id_token_hint={}",
            idp.base,
            tokens.str("id_token")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // A wrong password for a known account, and a mobile typed into the login name field.
    failed_login(&idp, "Alice", WRONG).await;
    failed_login(&idp, MOBILE, PASSWORD).await;

    let rows = all_rows(&idp).await;
    assert_eq!(
        events(&rows),
        [
            "login_succeeded",
            "logged_out",
            "login_failed",
            "login_failed"
        ]
    );
    for r in &rows {
        assert_eq!(r.client_ip.as_deref(), Some("127.0.0.1"), "{r:?}");
        assert!(r.at > 0);
    }

    let ok = &rows[0];
    assert_eq!(ok.subject_account_id.as_deref(), Some("acct-alice"));
    assert_eq!(ok.actor_account_id.as_deref(), Some("acct-alice"));
    assert_eq!(detail(ok)["method"], "password");

    let out = &rows[1];
    assert_eq!(out.subject_account_id.as_deref(), Some("acct-alice"));
    assert_eq!(out.client_id.as_deref(), Some("rp-basic"));
    let d = detail(out);
    assert_eq!(d["clients"], serde_json::json!(["rp-basic"]));
    assert_eq!(d["via"], "id_token_hint");
    let sid = crate::rp::payload(tokens.str("id_token"))["sid"].clone();
    assert_eq!(d["sid"], sid);

    let wrong = &rows[2];
    assert_eq!(wrong.subject_account_id.as_deref(), Some("acct-alice"));
    assert_eq!(wrong.actor_account_id, None);
    assert_eq!(detail(wrong)["reason"], "wrong_password");

    // An unknown login name: no subject, only its keyed hash.
    let unknown = &rows[3];
    assert_eq!(unknown.subject_account_id, None);
    let d = detail(unknown);
    assert_eq!(d["reason"], "unknown_account");
    assert_eq!(
        d["login_name_key"],
        idp.state.pii.lookup_key(PiiField::LoginName, MOBILE)
    );

    assert_no_personal_data(&rows, &["alice", MOBILE, "5656", PASSWORD, WRONG]);

    // The per-account listing holds alice's entries only, newest first.
    let mine = list_for_subject(&idp.state.db, "acct-alice", 10)
        .await
        .unwrap();
    assert_eq!(
        events(&mine),
        ["login_failed", "logged_out", "login_succeeded"]
    );
    assert!(list_for_subject(&idp.state.db, "acct-unit", 10)
        .await
        .unwrap()
        .is_empty());
});

both_backends!(throttle_steps, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let ip: IpAddr = "192.0.2.7".parse().unwrap();
    let after = idp.state.config.login.delay_after_failures;
    assert_eq!(
        after, 5,
        "the expected rows below follow the default policy"
    );

    // A known account: the captcha step comes with the fourth attempt, the delay with the
    // sixth, and the seventh (even right) is refused for its wait.
    for _ in 0..=after {
        let r = login_answering_captcha(&idp.state, "unit_admin", "nope", ip).await;
        assert!(matches!(r, Err(LoginFailure::Invalid)), "{r:?}");
    }
    let r = login_answering_captcha(&idp.state, "unit_admin", PASSWORD, ip).await;
    assert!(matches!(r, Err(LoginFailure::Throttled { .. })), "{r:?}");

    let mut rows = list_for_subject(&idp.state.db, "acct-unit", 100)
        .await
        .unwrap();
    rows.reverse();
    let (failed, throttled) = ("login_failed", "login_throttled");
    assert_eq!(
        events(&rows),
        [failed, failed, failed, throttled, throttled, failed, failed, throttled, failed, failed]
    );
    let step = |row: &AuditRow| {
        let d = detail(row);
        (d["scope"].clone(), d["step"].clone())
    };
    assert_eq!(step(&rows[3]), ("account".into(), "captcha".into()));
    assert_eq!(step(&rows[4]), ("address".into(), "captcha".into()));
    assert_eq!(
        step(&rows[7]),
        ("account_at_address".into(), "delay".into())
    );
    assert_eq!(detail(rows.last().unwrap())["reason"], "throttled");
    let wait = detail(rows.last().unwrap())["retry_after_secs"]
        .as_i64()
        .unwrap();
    let first = idp.state.config.login.first_delay_secs;
    assert!((first - 1..=first).contains(&wait), "{wait}");
    for r in &rows {
        assert_eq!(r.client_ip.as_deref(), Some("192.0.2.7"));
    }

    // An unknown login name escalates too, and is named by its keyed hash alone.
    let other_ip: IpAddr = "2001:db8::9".parse().unwrap();
    for _ in 0..=after {
        let r = login_answering_captcha(&idp.state, MOBILE, PASSWORD, other_ip).await;
        assert!(matches!(r, Err(LoginFailure::Invalid)), "{r:?}");
    }
    let rows = all_rows(&idp).await;
    let step = rows
        .iter()
        .find(|r| {
            r.event == "login_throttled"
                && r.subject_account_id.is_none()
                && r.detail.contains("\"delay\"")
        })
        .expect("the delay step of the unknown name");
    assert_eq!(step.client_ip.as_deref(), Some("2001:db8::9"));
    assert_eq!(
        detail(step)["login_name_key"],
        idp.state.pii.lookup_key(PiiField::LoginName, MOBILE)
    );
    assert_no_personal_data(&rows, &["unit_admin", MOBILE, "5656", PASSWORD, "nope"]);
});

both_backends!(admin_commands, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let db = &idp.state.db;

    let added = run_client(
        db,
        ClientCommand::Add(Box::new(crate::proto::machine_client_args("audited"))),
    )
    .await
    .unwrap();
    let rotated = run_client(
        db,
        ClientCommand::RotateSecret {
            client_id: "audited".into(),
        },
    )
    .await
    .unwrap();
    run_client(
        db,
        ClientCommand::Remove {
            client_id: "audited".into(),
        },
    )
    .await
    .unwrap();
    // Refused commands change nothing and record nothing.
    run_client(
        db,
        ClientCommand::Remove {
            client_id: "audited".into(),
        },
    )
    .await
    .unwrap_err();
    run_client(db, ClientCommand::List).await.unwrap();
    run_keys(
        db,
        &idp.state.config,
        &idp.state.clock,
        KeysCommand::Rotate {
            alg: Some("ES256".into()),
            now: false,
        },
    )
    .await
    .unwrap();

    let rows = all_rows(&idp).await;
    assert_eq!(
        events(&rows),
        [
            "client_registered",
            "client_secret_rotated",
            "client_removed",
            "keys_rotated"
        ]
    );
    for r in &rows[..3] {
        assert_eq!(r.client_id.as_deref(), Some("audited"), "{r:?}");
    }
    for r in &rows {
        assert_eq!(detail(r)["via"], "cli");
        assert_eq!(r.actor_account_id, None);
        assert_eq!(r.client_ip, None);
    }
    assert_eq!(detail(&rows[0])["auth_method"], "client_secret_basic");
    let keys = detail(&rows[3]);
    assert_eq!(keys["alg"], "ES256");
    assert!(keys["kid"].is_string());
    assert_no_personal_data(
        &rows,
        &[
            &crate::proto::secret_in(&added),
            &crate::proto::secret_in(&rotated),
        ],
    );
});
