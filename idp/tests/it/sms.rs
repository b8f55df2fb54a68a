//! SMS one-time codes against a running IdP, on the in-process store and on Redis: delivery
//! to the development outbox, single use, expiry, wrong attempts, resend interval, daily caps,
//! purposes kept apart, and store keys that never carry the mobile.

use std::net::IpAddr;

use tongyi_idp::accounts::sms_code::{
    send_code, verify_code, SmsCodeError, SmsPurpose, CODE_TTL_SECS, MAX_ATTEMPTS, RESEND_SECS,
};

use crate::{
    both_backends,
    harness::{self, advance_to, Backend, TestIdp},
};

const MOBILE: &str = "13812345656";

fn ip(last: u8) -> IpAddr {
    IpAddr::from([198, 51, 100, last])
}

/// The code in the newest development outbox message to `mobile`.
fn delivered(idp: &TestIdp, mobile: &str) -> String {
    let entry = idp
        .state
        .sms
        .outbox()
        .expect("tests use the development outbox")
        .latest_for(mobile)
        .unwrap_or_else(|| panic!("nothing sent to {mobile}"));
    let start = entry.text.find(|c: char| c.is_ascii_digit()).unwrap();
    entry.text[start..start + 6].to_owned()
}

async fn send(idp: &TestIdp, purpose: SmsPurpose, mobile: &str) -> String {
    send_code(&idp.state, purpose, mobile, ip(1)).await.unwrap();
    delivered(idp, mobile)
}

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

both_backends!(
    code_is_delivered_and_used_once,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let receipt = send_code(&idp.state, SmsPurpose::Login, MOBILE, ip(1))
            .await
            .unwrap();
        assert_eq!(receipt.masked_mobile, "13*****656");
        let now = idp.state.clock.now();
        assert!((receipt.expires_at - now - CODE_TTL_SECS).abs() <= 1);
        assert!((receipt.resend_at - now - RESEND_SECS).abs() <= 1);
        let entry = idp.state.sms.outbox().unwrap().latest_for(MOBILE).unwrap();
        assert_eq!(entry.template, "SMS_LOGIN");
        let code = delivered(&idp, MOBILE);

        // A code is bound to its purpose and its mobile.
        for purpose in SmsPurpose::ALL {
            if purpose != SmsPurpose::Login {
                let err = verify_code(&idp.state, purpose, MOBILE, &code)
                    .await
                    .unwrap_err();
                assert!(matches!(err, SmsCodeError::ExpiredOrInvalid), "{err:?}");
            }
        }
        let err = verify_code(&idp.state, SmsPurpose::Login, "13912345656", &code)
            .await
            .unwrap_err();
        assert!(matches!(err, SmsCodeError::ExpiredOrInvalid), "{err:?}");

        verify_code(&idp.state, SmsPurpose::Login, MOBILE, &code)
            .await
            .unwrap();
        let err = verify_code(&idp.state, SmsPurpose::Login, MOBILE, &code)
            .await
            .unwrap_err();
        assert!(
            matches!(err, SmsCodeError::ExpiredOrInvalid),
            "single use: {err:?}"
        );
        assert_eq!(err.user_message(), "验证码已过期或无效，请重新获取");
    }
);

both_backends!(
    concurrent_verifications_succeed_once,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let code = send(&idp, SmsPurpose::Register, MOBILE).await;
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let state = idp.state.clone();
                let code = code.clone();
                tokio::spawn(async move {
                    verify_code(&state, SmsPurpose::Register, MOBILE, &code).await
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            if t.await.unwrap().is_ok() {
                ok += 1;
            }
        }
        assert_eq!(ok, 1);
    }
);

both_backends!(codes_expire_by_the_clock, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let code = send(&idp, SmsPurpose::RecoverPassword, MOBILE).await;
    idp.state.clock.advance(CODE_TTL_SECS - 1);
    // Still valid one second before the end; then a fresh one expires after 301 s.
    let err = verify_code(
        &idp.state,
        SmsPurpose::RecoverPassword,
        MOBILE,
        &wrong(&code),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SmsCodeError::Wrong), "{err:?}");
    assert_eq!(err.user_message(), "验证码错误");
    let code = send(&idp, SmsPurpose::RecoverPassword, MOBILE).await;
    idp.state.clock.advance(301);
    let err = verify_code(&idp.state, SmsPurpose::RecoverPassword, MOBILE, &code)
        .await
        .unwrap_err();
    assert!(matches!(err, SmsCodeError::ExpiredOrInvalid), "{err:?}");
});

both_backends!(
    five_wrong_attempts_kill_the_code,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let code = send(&idp, SmsPurpose::ChangeMobile, MOBILE).await;
        for n in 1..=MAX_ATTEMPTS {
            let err = verify_code(&idp.state, SmsPurpose::ChangeMobile, MOBILE, &wrong(&code))
                .await
                .unwrap_err();
            if n < MAX_ATTEMPTS {
                assert!(matches!(err, SmsCodeError::Wrong), "attempt {n}: {err:?}");
            } else {
                assert!(matches!(err, SmsCodeError::TooManyAttempts), "{err:?}");
                assert_eq!(err.user_message(), "验证码错误次数过多，请重新获取");
            }
        }
        let err = verify_code(&idp.state, SmsPurpose::ChangeMobile, MOBILE, &code)
            .await
            .unwrap_err();
        assert!(
            matches!(err, SmsCodeError::ExpiredOrInvalid),
            "the right code is dead too: {err:?}"
        );

        // Four wrong attempts leave the right code usable; a new code starts a new count.
        idp.state.clock.advance(RESEND_SECS);
        let code = send(&idp, SmsPurpose::ChangeMobile, MOBILE).await;
        for _ in 1..MAX_ATTEMPTS {
            assert!(
                verify_code(&idp.state, SmsPurpose::ChangeMobile, MOBILE, &wrong(&code))
                    .await
                    .is_err()
            );
        }
        verify_code(&idp.state, SmsPurpose::ChangeMobile, MOBILE, &code)
            .await
            .unwrap();
    }
);

both_backends!(
    one_send_per_minute_per_mobile,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let first = send(&idp, SmsPurpose::Login, MOBILE).await;
        // Per mobile, whatever the purpose or the address.
        let err = send_code(&idp.state, SmsPurpose::BindLegacy, MOBILE, ip(2))
            .await
            .unwrap_err();
        let SmsCodeError::TooSoon { retry_after_secs } = err else {
            panic!("expected TooSoon, got {err:?}");
        };
        assert!((59..=60).contains(&retry_after_secs), "{retry_after_secs}");
        assert!(err.user_message().starts_with("发送过于频繁，请"));
        // Another mobile is not held back.
        send(&idp, SmsPurpose::Login, "13900001111").await;

        idp.state.clock.advance(RESEND_SECS - 2);
        let err = send_code(&idp.state, SmsPurpose::Login, MOBILE, ip(1))
            .await
            .unwrap_err();
        assert!(matches!(err, SmsCodeError::TooSoon { .. }), "{err:?}");
        idp.state.clock.advance(2);
        let second = send(&idp, SmsPurpose::Login, MOBILE).await;

        // The new code replaced the old one.
        if first != second {
            let err = verify_code(&idp.state, SmsPurpose::Login, MOBILE, &first)
                .await
                .unwrap_err();
            assert!(matches!(err, SmsCodeError::Wrong), "{err:?}");
        }
        verify_code(&idp.state, SmsPurpose::Login, MOBILE, &second)
            .await
            .unwrap();
    }
);

both_backends!(
    daily_caps_per_mobile_and_address,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let cfg = idp.state.config.sms.clone();
        // The sends below span ten minutes of the test clock; started just before midnight in
        // Shanghai they would straddle two days and never reach a daily cap.
        advance_to(&idp.state, 10, 0);
        // Per mobile: the default cap, sends a minute apart, from different addresses.
        for n in 0..cfg.daily_per_mobile {
            send_code(&idp.state, SmsPurpose::Login, MOBILE, ip(10 + n as u8))
                .await
                .unwrap();
            idp.state.clock.advance(RESEND_SECS);
        }
        let err = send_code(&idp.state, SmsPurpose::Login, MOBILE, ip(99))
            .await
            .unwrap_err();
        assert!(matches!(err, SmsCodeError::DailyLimit), "{err:?}");
        assert_eq!(err.user_message(), "今日发送次数已达上限，请明天再试");

        // Per address: many mobiles from one address.
        for n in 0..cfg.daily_per_address {
            let mobile = format!("137{:08}", n);
            send_code(&idp.state, SmsPurpose::Register, &mobile, ip(200))
                .await
                .unwrap();
        }
        let err = send_code(&idp.state, SmsPurpose::Register, "13600000000", ip(200))
            .await
            .unwrap_err();
        assert!(matches!(err, SmsCodeError::DailyLimit), "{err:?}");
        send_code(&idp.state, SmsPurpose::Register, "13600000000", ip(201))
            .await
            .unwrap();

        // A new day in Asia/Shanghai starts new counts.
        idp.state.clock.advance(86_400);
        send(&idp, SmsPurpose::Login, MOBILE).await;
        send_code(&idp.state, SmsPurpose::Register, "13600000001", ip(200))
            .await
            .unwrap();
    }
);

both_backends!(
    store_keys_never_hold_the_mobile,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let code = send(&idp, SmsPurpose::Login, MOBILE).await;
        let _ = verify_code(&idp.state, SmsPurpose::Login, MOBILE, &wrong(&code)).await;
        if backend != Backend::PostgresRedis {
            // The in-process store cannot be listed; the unit tests check the key builder.
            return;
        }
        let client = redis::Client::open(harness::redis_url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let pattern = format!("{}*", idp.storage.redis_prefix);
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(&pattern)
            .query_async(&mut conn)
            .await
            .unwrap();
        let sms: Vec<&String> = keys.iter().filter(|k| k.contains("sms:")).collect();
        assert!(
            sms.len() >= 5,
            "code, attempts, resend and two daily counters: {keys:?}"
        );
        for key in &keys {
            assert!(!key.contains(MOBILE) && !key.contains("5656"), "{key}");
            let value: Option<String> = redis::cmd("GET")
                .arg(key)
                .query_async(&mut conn)
                .await
                .unwrap_or(None);
            if let Some(v) = value {
                assert!(!v.contains(MOBILE), "{key} = {v}");
                assert!(
                    !v.contains(&code),
                    "the code is stored only as a digest: {key} = {v}"
                );
            }
        }
    }
);
