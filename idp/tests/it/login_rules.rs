//! The login rules as the domain enforces them, without HTTP: the IdP is built with
//! `build_app` on SQLite and the in-process store and never served, and the tests call
//! `accounts::login::password_login` directly. Three failures call for a captcha, a missing
//! or wrong answer is refused before the password is looked at; later failures of one
//! identifier from one address bring growing delays there and nowhere else, and an address
//! with many failures is slowed down, never refused. Nothing locks an account.

use std::{net::IpAddr, sync::Arc};

use tongyi_idp::{
    accounts::{
        captcha::{self, CaptchaAnswer},
        login::{password_login, LoginFailure, PasswordLogin},
        login_throttle::{self, FailureCounts, FAILURES_BEFORE_CAPTCHA},
    },
    build_app, seed,
    store::{accounts::Account, audit::list_recent},
    AppState,
};

use crate::{
    both_backends,
    harness::{fixtures, test_config, Backend, Storage, PASSWORD},
};

const WRONG: &str = "Wrong#Pass2026";

/// A fresh captcha challenge and its answer, read from the store where a person reads the
/// picture.
pub async fn solved_captcha(state: &AppState) -> (String, String) {
    let id = captcha::issue(&state.store).await.unwrap();
    let answer = captcha::peek_answer(&state.store, &id)
        .await
        .unwrap()
        .expect("a live challenge");
    (id, answer)
}

/// Password login by login name with a correctly answered captcha, as a person passes the
/// form once it shows one (the login ignores the answer while no captcha is required).
pub async fn login_answering_captcha(
    state: &AppState,
    login_name: &str,
    password: &str,
    ip: IpAddr,
) -> Result<Account, LoginFailure> {
    let (id, answer) = solved_captcha(state).await;
    let attempt =
        PasswordLogin::by_login_name(login_name, password, ip).with_captcha(CaptchaAnswer {
            id: &id,
            answer: &answer,
        });
    password_login(state, &attempt).await
}

/// The IdP's state with the harness fixtures (alice, unit_admin), built but not served.
pub async fn unserved_idp() -> (AppState, Storage) {
    unserved_idp_on(Backend::SqliteMemory).await
}

/// The same on either backend.
pub async fn unserved_idp_on(backend: Backend) -> (AppState, Storage) {
    let storage = Storage::new(backend).await;
    let app = build_app(test_config("http://idp.test", &storage))
        .await
        .expect("the IdP builds");
    let state = app.state.clone();
    seed::apply(
        &state.db,
        &state.config,
        fixtures("http://receiver.test"),
        state.clock.now(),
    )
    .await
    .unwrap();
    // The storage must outlive the state: it owns the SQLite file's directory.
    (state, storage)
}

async fn counts(state: &AppState, name: &str, ip: IpAddr) -> FailureCounts {
    login_throttle::recent_failures(state, Some(name), ip)
        .await
        .unwrap()
}

async fn audit_entries(state: &AppState) -> usize {
    list_recent(&state.db, 1000).await.unwrap().len()
}

/// Changes the login policy of a built state.
fn set_login(state: &mut AppState, change: impl FnOnce(&mut tongyi_idp::config::LoginConfig)) {
    let mut config = (*state.config).clone();
    change(&mut config.login);
    state.config = Arc::new(config);
}

async fn plain(state: &AppState, name: &str, password: &str, ip: IpAddr) -> LoginFailure {
    password_login(state, &PasswordLogin::by_login_name(name, password, ip))
        .await
        .expect_err("refused")
}

#[tokio::test]
async fn three_failures_call_for_a_captcha_checked_before_the_password() {
    let (state, _storage) = unserved_idp().await;
    let ip: IpAddr = "192.0.2.20".parse().unwrap();

    for i in 1..=FAILURES_BEFORE_CAPTCHA {
        assert!(
            !login_throttle::captcha_required(&state, Some("alice"), ip)
                .await
                .unwrap(),
            "no captcha before failure {i}"
        );
        let r = plain(&state, "alice", WRONG, ip).await;
        assert!(matches!(r, LoginFailure::Invalid), "{r:?}");
    }
    assert_eq!(
        counts(&state, "alice", ip).await,
        FailureCounts {
            account: 3,
            address: 3,
            pair: 3
        }
    );
    assert!(login_throttle::captcha_required(&state, Some("alice"), ip)
        .await
        .unwrap());

    // Without an answer the right password is refused; nothing is counted for the account or
    // logged, since the password was never looked at.
    let logged = audit_entries(&state).await;
    let r = plain(&state, "alice", PASSWORD, ip).await;
    assert!(matches!(r, LoginFailure::CaptchaMissing), "{r:?}");

    // A challenge named with nothing typed is missing too, and used up.
    let (id, _) = solved_captcha(&state).await;
    let blank = PasswordLogin::by_login_name("alice", PASSWORD, ip).with_captcha(CaptchaAnswer {
        id: &id,
        answer: "",
    });
    let r = password_login(&state, &blank).await.unwrap_err();
    assert!(matches!(r, LoginFailure::CaptchaMissing), "{r:?}");
    assert!(captcha::peek_answer(&state.store, &id)
        .await
        .unwrap()
        .is_none());

    // A wrong answer is refused and uses the challenge up.
    let (id, answer) = solved_captcha(&state).await;
    let typo: String = answer
        .chars()
        .map(|c| if c == 'A' { 'B' } else { 'A' })
        .collect();
    let wrong = PasswordLogin::by_login_name("alice", PASSWORD, ip).with_captcha(CaptchaAnswer {
        id: &id,
        answer: &typo,
    });
    let r = password_login(&state, &wrong).await.unwrap_err();
    assert!(matches!(r, LoginFailure::CaptchaWrong), "{r:?}");
    assert!(captcha::peek_answer(&state.store, &id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(counts(&state, "alice", ip).await.account, 3, "not counted");
    assert_eq!(
        audit_entries(&state).await,
        logged + 2,
        "no password checked: only the escalation to the captcha (account, address) is logged"
    );

    // The right answer lets the password be checked: a wrong one is failure 4...
    let (id, answer) = solved_captcha(&state).await;
    let right = CaptchaAnswer {
        id: &id,
        answer: &answer,
    };
    let r = password_login(
        &state,
        &PasswordLogin::by_login_name("alice", WRONG, ip).with_captcha(right),
    )
    .await
    .unwrap_err();
    assert!(matches!(r, LoginFailure::Invalid), "{r:?}");
    assert_eq!(counts(&state, "alice", ip).await.account, 4);
    // ...and the challenge cannot be used again, even with the right password.
    let r = password_login(
        &state,
        &PasswordLogin::by_login_name("alice", PASSWORD, ip).with_captcha(right),
    )
    .await
    .unwrap_err();
    assert!(matches!(r, LoginFailure::CaptchaWrong), "{r:?}");

    // A fresh answer in lower case with the right password logs in and clears the account's
    // count; the address keeps its own, so the captcha is still asked from there.
    let (id, answer) = solved_captcha(&state).await;
    let lower = answer.to_lowercase();
    let ok = PasswordLogin::by_login_name("alice", PASSWORD, ip).with_captcha(CaptchaAnswer {
        id: &id,
        answer: &lower,
    });
    let account = password_login(&state, &ok).await.unwrap();
    assert_eq!(account.id, "acct-alice");
    assert_eq!(
        counts(&state, "alice", ip).await,
        FailureCounts {
            account: 0,
            address: 8,
            pair: 0
        }
    );
    assert!(login_throttle::captcha_required(&state, Some("alice"), ip)
        .await
        .unwrap());
}

#[tokio::test]
async fn the_address_alone_calls_for_the_captcha() {
    let (state, _storage) = unserved_idp().await;
    let ip: IpAddr = "192.0.2.21".parse().unwrap();
    for name in ["nobody1", "nobody2", "nobody3"] {
        let r = plain(&state, name, PASSWORD, ip).await;
        assert!(matches!(r, LoginFailure::Invalid), "{r:?}");
    }
    // The tab login by an identifier obeys the same rule.
    let on_tab = PasswordLogin::on_tab(
        tongyi_shared::claims::AccountType::LegalEntity,
        "unit_admin",
        PASSWORD,
        ip,
    );
    let r = password_login(&state, &on_tab).await.unwrap_err();
    assert!(matches!(r, LoginFailure::CaptchaMissing), "{r:?}");
    assert!(login_answering_captcha(&state, "unit_admin", PASSWORD, ip)
        .await
        .is_ok());

    // Another address is not affected, and an answer nobody asked for is not looked at.
    let elsewhere: IpAddr = "192.0.2.22".parse().unwrap();
    let unasked = PasswordLogin::by_login_name("unit_admin", PASSWORD, elsewhere).with_captcha(
        CaptchaAnswer {
            id: "AAAAAAAAAAAAAAAAAAAAAA",
            answer: "WRONG",
        },
    );
    assert!(password_login(&state, &unasked).await.is_ok());
}

both_backends!(
    parallel_attempts_are_all_counted_before_any_password_work,
    |backend: Backend| async move {
        let (state, _storage) = unserved_idp_on(backend).await;
        let ip: IpAddr = "192.0.2.24".parse().unwrap();
        let mut attempts = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let state = state.clone();
            attempts.spawn(async move { plain(&state, "alice", WRONG, ip).await });
        }
        let mut checked = 0;
        while let Some(r) = attempts.join_next().await {
            match r.unwrap() {
                LoginFailure::Invalid => checked += 1,
                LoginFailure::CaptchaMissing | LoginFailure::Throttled { .. } => {}
                other => panic!("{other:?}"),
            }
        }
        // Each attempt saw its own count: only the first three reached the password; the
        // others met the captcha (or a delay). Those refused at the captcha gave back their
        // count for the account (no password was tried), never below the threshold, and kept
        // it for the address.
        assert_eq!(checked, FAILURES_BEFORE_CAPTCHA);
        let after = counts(&state, "alice", ip).await;
        assert!(after.account >= FAILURES_BEFORE_CAPTCHA, "{after:?}");
        assert_eq!(after.address, 8);
    }
);

both_backends!(
    delays_grow_for_one_address_and_the_owner_elsewhere_still_gets_in,
    |backend: Backend| async move {
        let (state, _storage) = unserved_idp_on(backend).await;
        let attacker: IpAddr = "192.0.2.23".parse().unwrap();
        let owner: IpAddr = "198.51.100.4".parse().unwrap();
        let after = state.config.login.delay_after_failures;
        assert!(after > FAILURES_BEFORE_CAPTCHA, "the captcha comes first");

        // Up to the threshold and one more, every attempt reaches the password.
        for _ in 0..=after {
            let r = login_answering_captcha(&state, "alice", WRONG, attacker).await;
            assert!(matches!(r, Err(LoginFailure::Invalid)), "{r:?}");
        }
        // The next one from there must wait (`first_delay_secs`), even with the right
        // password; so must any spelling of the name.
        let first = state.config.login.first_delay_secs;
        let waits = |r: &Result<_, LoginFailure>, secs: i64| {
            matches!(r, Err(LoginFailure::Throttled { retry_after_secs })
                if (secs - 1..=secs).contains(retry_after_secs))
        };
        let r = login_answering_captcha(&state, "alice", PASSWORD, attacker).await;
        assert!(waits(&r, first), "{r:?}");
        let r = login_answering_captcha(&state, "ALICE", PASSWORD, attacker).await;
        assert!(waits(&r, first), "{r:?}");
        // After the wait one attempt goes through, and the next wait has doubled three times
        // (the refused attempts counted too).
        state.clock.advance(first);
        let r = login_answering_captcha(&state, "alice", WRONG, attacker).await;
        assert!(matches!(r, Err(LoginFailure::Invalid)), "{r:?}");
        let r = login_answering_captcha(&state, "alice", WRONG, attacker).await;
        assert!(waits(&r, 8 * first), "{r:?}");

        // Meanwhile the owner at her own address needs the captcha (the account has failed
        // often), and nothing more.
        let r = plain(&state, "alice", PASSWORD, owner).await;
        assert!(matches!(r, LoginFailure::CaptchaMissing), "{r:?}");
        let account = login_answering_captcha(&state, "alice", PASSWORD, owner)
            .await
            .expect("the owner logs in during the attack");
        assert_eq!(account.id, "acct-alice");

        // Each escalation step was audited once, with the address it came from.
        let rows = list_recent(&state.db, 1000).await.unwrap();
        let mut steps: Vec<(String, String, Option<String>)> = rows
            .iter()
            .filter(|r| r.event == "login_throttled")
            .map(|r| {
                let d: serde_json::Value = serde_json::from_str(&r.detail).unwrap();
                (
                    d["scope"].as_str().unwrap().to_owned(),
                    d["step"].as_str().unwrap().to_owned(),
                    r.client_ip.clone(),
                )
            })
            .collect();
        steps.sort();
        let at = |scope: &str, step: &str| {
            (
                scope.to_owned(),
                step.to_owned(),
                Some("192.0.2.23".to_owned()),
            )
        };
        assert_eq!(
            steps,
            [
                at("account", "captcha"),
                at("account_at_address", "delay"),
                at("address", "captcha"),
            ]
        );
        let throttled = rows
            .iter()
            .filter(|r| r.event == "login_failed" && r.detail.contains("\"throttled\""))
            .count();
        assert_eq!(throttled, 3);
    }
);

both_backends!(
    a_flooded_address_is_slowed_down_never_refused,
    |backend: Backend| async move {
        let (mut state, _storage) = unserved_idp_on(backend).await;
        set_login(&mut state, |l| {
            l.slowdown_after_failures_per_address = 6;
            l.max_slowdown_ms = 300;
        });
        let office: IpAddr = "203.0.113.40".parse().unwrap();
        // A flood of guesses at many names from one address...
        for i in 0..10 {
            let r = login_answering_captcha(&state, &format!("guess{i}"), WRONG, office).await;
            assert!(matches!(r, Err(LoginFailure::Invalid)), "{r:?}");
        }
        // ...leaves a colleague behind the same address a captcha and a short wait, not a
        // refusal.
        let r = plain(&state, "unit_admin", PASSWORD, office).await;
        assert!(matches!(r, LoginFailure::CaptchaMissing), "{r:?}");
        let started = std::time::Instant::now();
        let account = login_answering_captcha(&state, "unit_admin", PASSWORD, office)
            .await
            .expect("a colleague at the flooded address logs in");
        assert_eq!(account.id, "acct-unit");
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(125),
            "held back before the password work"
        );
        let rows = list_recent(&state.db, 1000).await.unwrap();
        assert!(rows.iter().any(|r| r.event == "login_throttled"
            && r.detail.contains("\"slowdown\"")
            && r.client_ip.as_deref() == Some("203.0.113.40")));
    }
);
