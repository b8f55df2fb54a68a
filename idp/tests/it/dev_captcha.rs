//! The test aid `dev.captcha_answers`: with it, `GET /dev/captcha/{id}` answers a live captcha
//! (what the browser test reads instead of the picture) without using it up; without it the
//! route is a 404; production refuses to start with it, through the config file as through the
//! environment of the real binary.

use reqwest::StatusCode;
use tongyi_idp::{accounts::captcha, build_app, config::Config, AppState};

use crate::{
    both_backends,
    captcha::read_picture,
    harness::{hidden, test_config, Backend, Storage, TestIdp},
};

/// An IdP with the test aid switched on or off; it stops when dropped.
struct AidedIdp {
    base: String,
    state: AppState,
    _storage: Storage,
    _stop: tongyi_testkit::Stop,
}

async fn start(backend: Backend, answers: bool) -> AidedIdp {
    let storage = Storage::new(backend).await;
    let (listener, base) = tongyi_testkit::listen().await;
    let mut config: Config = test_config(&base, &storage);
    config.dev.captcha_answers = answers;
    let app = build_app(config).await.expect("the IdP starts");
    let state = app.state.clone();
    let (stop, shutdown) = tongyi_testkit::stop_signal();
    tokio::spawn(app.serve(listener, shutdown));
    AidedIdp {
        base,
        state,
        _storage: storage,
        _stop: stop,
    }
}

/// The captcha challenge of the quick registration form.
async fn challenge(http: &reqwest::Client, base: &str) -> String {
    let page = http
        .get(format!("{base}/register/quick"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    hidden(&page, "captcha_id")
}

both_backends!(answers_when_switched_on, |backend: Backend| async move {
    let AidedIdp { base, state, .. } = &start(backend, true).await;
    let http = TestIdp::http();
    let id = challenge(&http, base).await;

    let res = http
        .get(format!("{base}/dev/captcha/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    let answer = res.text().await.unwrap();
    let expected = state.store.get(&format!("captcha:{id}")).await.unwrap();
    assert_eq!(Some(answer.clone()), expected);

    // Asking did not use the challenge up: the form's check still accepts it, once.
    assert!(captcha::verify(&state.store, &id, &answer).await.unwrap());
    let used = http
        .get(format!("{base}/dev/captcha/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(used.status(), StatusCode::NOT_FOUND, "a used challenge");
    for unknown in ["AAAAAAAAAAAAAAAAAAAAAA", "not-an-id"] {
        let res = http
            .get(format!("{base}/dev/captcha/{unknown}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{unknown}");
    }
});

both_backends!(a_404_when_off, |backend: Backend| async move {
    let AidedIdp { base, state, .. } = &start(backend, false).await;
    let http = TestIdp::http();
    let id = challenge(&http, base).await;
    let res = http
        .get(format!("{base}/dev/captcha/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body = res.text().await.unwrap();
    let answer = state
        .store
        .get(&format!("captcha:{id}"))
        .await
        .unwrap()
        .expect("the challenge is live");
    assert!(!body.contains(&answer), "the answer is not told");
    // The default harness instance (the aid off, as shipped) behaves the same.
    let idp = TestIdp::start(backend).await;
    let id = challenge(&http, &idp.base).await;
    let res = http
        .get(idp.url(&format!("/dev/captcha/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(!read_picture(&idp, &id).await.is_empty());
});

/// An otherwise valid production configuration.
fn production(mut c: Config) -> Config {
    c.production = true;
    c.issuer = "https://id.example.gov.cn".into();
    c.kek = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into();
    c.sms.provider = tongyi_idp::config::SmsProviderKind::Http;
    c.sms.gateway_url = "https://sms.example.cn/send".into();
    c.sms.api_key = "k".into();
    c.email.provider = tongyi_idp::config::EmailProviderKind::Off;
    c.realname.provider = tongyi_idp::config::RealnameProviderKind::Http;
    c.realname.url = "https://rn.example.cn/check".into();
    c.realname.api_key = "rk".into();
    c
}

#[tokio::test]
async fn production_refuses_the_aid() {
    let storage = Storage::new(Backend::SqliteMemory).await;
    let mut config = production(test_config("https://id.example.gov.cn", &storage));
    config.dev.captcha_answers = true;
    let err = build_app(config).await.err().expect("refused");
    assert!(err.to_string().contains("dev.captcha_answers"), "{err}");

    // The shipped binary, switched on through its environment in production mode, does not
    // start at all.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_idp"))
        .arg("serve")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("TONGYI_PRODUCTION", "true")
        .env("TONGYI_DEV_CAPTCHA_ANSWERS", "1")
        .env("TONGYI_IDP_ISSUER", "https://id.example.gov.cn")
        .env("TONGYI_KEK", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        .env("TONGYI_SEED_FILE", "")
        .env("TONGYI_SMS_PROVIDER", "http")
        .env("TONGYI_SMS_GATEWAY_URL", "https://sms.example.cn/send")
        .env("TONGYI_SMS_API_KEY", "k")
        .env("TONGYI_REALNAME_PROVIDER", "http")
        .env("TONGYI_REALNAME_URL", "https://rn.example.cn/check")
        .env("TONGYI_REALNAME_API_KEY", "rk")
        .env("DATABASE_URL", &storage.database_url)
        .env("TONGYI_IDP_BIND", "127.0.0.1:0")
        .output()
        .expect("the idp binary runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stderr.contains("dev.captcha_answers") || stdout.contains("dev.captcha_answers"),
        "stderr: {stderr}\nstdout: {stdout}"
    );
}
