//! The login rules as the domain enforces them, without HTTP: the IdP is built with
//! `build_app` on SQLite and the in-process store and never served, and the tests call
//! `accounts::login::password_login` directly. Three failures call for a captcha, a missing
//! or wrong answer is refused before the password is looked at, and the existing lockout
//! follows after `login.max_failures_per_account`.

use std::net::IpAddr;

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

use crate::harness::{fixtures, test_config, Backend, Storage, PASSWORD};

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
    let storage = Storage::new(Backend::SqliteMemory).await;
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
            address: 3
        }
    );
    assert!(login_throttle::captcha_required(&state, Some("alice"), ip)
        .await
        .unwrap());

    // Without an answer the right password is refused; nothing is counted or logged, since
    // the password was never looked at.
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
    assert_eq!(audit_entries(&state).await, logged, "no password checked");

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
            address: 4
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

#[tokio::test]
async fn the_lockout_follows_at_its_threshold_and_ends_with_its_window() {
    let (state, _storage) = unserved_idp().await;
    let ip: IpAddr = "192.0.2.23".parse().unwrap();
    let max = state.config.login.max_failures_per_account;
    assert!(max > FAILURES_BEFORE_CAPTCHA, "the captcha comes first");

    for _ in 0..max {
        let r = login_answering_captcha(&state, "alice", WRONG, ip).await;
        assert!(matches!(r, Err(LoginFailure::Invalid)), "{r:?}");
    }
    // Locked: even the right password with the right captcha is refused, and not counted.
    let r = login_answering_captcha(&state, "alice", PASSWORD, ip).await;
    assert!(matches!(r, Err(LoginFailure::Locked)), "{r:?}");
    assert_eq!(counts(&state, "alice", ip).await.account, max);
    // The captcha is still checked first while locked.
    let r = plain(&state, "alice", PASSWORD, ip).await;
    assert!(matches!(r, LoginFailure::CaptchaMissing), "{r:?}");

    // Once the clock passes the window the lock is gone (the count, which expires on real
    // time, still asks for the captcha).
    state.clock.advance(state.config.login.lockout_secs + 1);
    let account = login_answering_captcha(&state, "alice", PASSWORD, ip)
        .await
        .unwrap();
    assert_eq!(account.id, "acct-alice");
}
