//! The limits and captchas of real-name submissions, appeals and password recovery as their
//! domain functions enforce them, called directly on an IdP that is built but not served.

use std::net::IpAddr;

use tongyi_idp::accounts::{
    appeal::{self, AppealInput, Filing, FilingRefusal, FILINGS_PER_HOUR},
    captcha::CaptchaAnswer,
    login::SmsSendOutcome,
    realname::{
        self, IdPhotos, IdentityError, IdentityInput, ReviewRefusal, TooManySubmissions,
        SUBMISSIONS_PER_HOUR,
    },
    recovery::{request_recovery_code, PasswordError, RecoveryContact},
};
use tongyi_shared::{claims::AccountType, validate::Mobile};

use crate::{
    harness::ALICE_MOBILE,
    login_rules::{solved_captcha, unserved_idp},
};

#[tokio::test]
async fn realname_submissions_share_one_hourly_limit_per_account() {
    let (state, _storage) = unserved_idp().await;
    for i in 1..=SUBMISSIONS_PER_HOUR {
        assert!(
            realname::request_check(&state, "acct-alice")
                .await
                .unwrap()
                .is_ok(),
            "submission {i}"
        );
    }
    assert_eq!(
        realname::request_check(&state, "acct-alice").await.unwrap(),
        Err(TooManySubmissions)
    );
    // The identity form and the photos count against the same limit, checked first.
    let identity = realname::add_identity(&state, "acct-alice", &IdentityInput::default())
        .await
        .unwrap();
    assert!(
        matches!(identity, Err(IdentityError::TooManySubmissions)),
        "{identity:?}"
    );
    let review = realname::submit_review(&state, "acct-alice", IdPhotos::default())
        .await
        .unwrap();
    assert!(
        matches!(review, Err(ReviewRefusal::TooManySubmissions)),
        "{review:?}"
    );
    // Another account has its own count; its missing photos are the fields' errors.
    let review = realname::submit_review(&state, "acct-unit", IdPhotos::default())
        .await
        .unwrap();
    match review {
        Err(ReviewRefusal::Photos(errors)) => {
            let fields: Vec<&str> = errors.iter().map(|(f, _)| f).collect();
            assert_eq!(fields, ["id_front", "id_back"]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn appeal_attempts_are_limited_per_address_valid_or_not() {
    let (state, _storage) = unserved_idp().await;
    let input = AppealInput::default();
    let filing = |ip: IpAddr| Filing {
        input: &input,
        files: Default::default(),
        captcha: CaptchaAnswer { id: "", answer: "" },
        sms_code: "",
        ip,
    };
    let ip: IpAddr = "192.0.2.30".parse().unwrap();
    for _ in 0..FILINGS_PER_HOUR {
        let r = appeal::submit(&state, &filing(ip)).await.unwrap();
        match r {
            Err(FilingRefusal::Fields(errors)) => assert!(errors.contains("sms_code")),
            other => panic!("{other:?}"),
        }
    }
    let r = appeal::submit(&state, &filing(ip)).await.unwrap();
    assert!(matches!(r, Err(FilingRefusal::TooFrequent)), "{r:?}");
    let elsewhere: IpAddr = "192.0.2.31".parse().unwrap();
    let r = appeal::submit(&state, &filing(elsewhere)).await.unwrap();
    assert!(matches!(r, Err(FilingRefusal::Fields(_))), "{r:?}");
}

#[tokio::test]
async fn a_recovery_code_is_sent_only_after_the_captcha() {
    let (state, _storage) = unserved_idp().await;
    let ip: IpAddr = "192.0.2.32".parse().unwrap();
    let mobile = Mobile::parse(ALICE_MOBILE).unwrap();
    let request = |captcha| {
        request_recovery_code(
            &state,
            AccountType::NaturalPerson,
            "alice",
            RecoveryContact::Mobile(&mobile),
            captcha,
            ip,
        )
    };

    let (id, answer) = solved_captcha(&state).await;
    let typo: String = answer
        .chars()
        .map(|c| if c == 'A' { 'B' } else { 'A' })
        .collect();
    for wrong in [typo.as_str(), ""] {
        let r = request(CaptchaAnswer {
            id: &id,
            answer: wrong,
        })
        .await;
        assert!(
            matches!(
                r,
                Err(PasswordError::Field {
                    field: "captcha",
                    ..
                })
            ),
            "{r:?}"
        );
    }

    // Nothing was asked of the SMS side before: the first real request is not "too soon".
    let (id, answer) = solved_captcha(&state).await;
    let r = request(CaptchaAnswer {
        id: &id,
        answer: &answer,
    })
    .await;
    assert!(matches!(r, Ok(SmsSendOutcome::Accepted)), "{r:?}");
    let (id, answer) = solved_captcha(&state).await;
    let r = request(CaptchaAnswer {
        id: &id,
        answer: &answer,
    })
    .await;
    assert!(matches!(r, Ok(SmsSendOutcome::TooSoon)), "{r:?}");
}
