//! Starts real IdP instances on random ports for the tests, on SQLite + the in-process store
//! or on PostgreSQL + Redis, each with its own database and key prefix, and plays the browser.
//! What every app's tests share (serving, databases, Redis prefixes, the browser-like client and
//! form helpers) is `tongyi_testkit`'s; this keeps the IdP's own: its test config, fixtures and
//! the walk through its login pages.

use std::sync::{Arc, Mutex};

use axum::{extract::State, routing::post, Form, Router};
use reqwest::StatusCode;
use tongyi_idp::{
    build_app,
    config::{
        Config, EmailConfig, EmailProviderKind, LoginConfig, SmsConfig, TokenConfig, DEMO_KEK,
    },
    seed::{self, SeedAccount, SeedClient, SeedDepartment, SeedFile, SeedOrg},
    AppState,
};
pub use tongyi_testkit::{browser, hidden, location, redis_url};
use tongyi_testkit::{PgDatabase, Served, Stop, TempDir};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    SqliteMemory,
    PostgresRedis,
}

/// Runs the body once per backend as two separate tests.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_memory() {
                ($body)($crate::harness::Backend::SqliteMemory).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_redis() {
                ($body)($crate::harness::Backend::PostgresRedis).await
            }
        }
    };
}

/// Whether `message` is the login page's "wait N seconds" refusal (N depends on the second
/// the clock is in).
pub fn is_wait(message: &str) -> bool {
    message.starts_with("登录失败次数过多，请") && message.ends_with("秒后再试。")
}

pub const PASSWORD: &str = "Alice#Pass2026";
/// The reserved mobiles of the fixture accounts `alice` and `unit_admin`.
pub const ALICE_MOBILE: &str = "13912345678";
pub const UNIT_MOBILE: &str = "13698765432";
pub const SECRET_BASIC: &str = "secret-for-rp-basic";
pub const SECRET_POST: &str = "secret-for-rp-post";
pub const SECRET_THIRD: &str = "secret-for-rp-third";
pub const SECRET_MACHINE: &str = "secret-for-machines";
pub const SECRET_INCUBATOR: &str = "secret-for-incubator";

/// Logout tokens received by the test's back-channel endpoint: (client path, token).
pub type Received = Arc<Mutex<Vec<(String, String)>>>;

/// Storage shared by one or more IdP instances of a test; the database goes with the last.
#[derive(Clone)]
pub struct Storage {
    pub database_url: String,
    pub redis_url: String,
    pub redis_prefix: String,
    _dir: Option<Arc<TempDir>>,
    _pg: Option<Arc<PgDatabase>>,
}

impl Storage {
    /// Storage the test runs itself (a private server it stops and starts).
    pub fn external(database_url: String, redis_url: String) -> Storage {
        Storage {
            database_url,
            redis_url,
            redis_prefix: tongyi_testkit::redis_prefix(&tongyi_testkit::unique_tag()),
            _dir: None,
            _pg: None,
        }
    }

    pub async fn new(backend: Backend) -> Storage {
        let tag = tongyi_testkit::unique_tag();
        match backend {
            Backend::SqliteMemory => {
                let dir = TempDir::new("tongyi-test", &tag);
                Storage {
                    database_url: dir.sqlite_url("idp.db"),
                    redis_url: String::new(),
                    redis_prefix: String::new(),
                    _dir: Some(Arc::new(dir)),
                    _pg: None,
                }
            }
            Backend::PostgresRedis => {
                let pg = PgDatabase::create(&tag).await;
                Storage {
                    database_url: pg.url().to_owned(),
                    redis_url: redis_url(),
                    redis_prefix: tongyi_testkit::redis_prefix(&tag),
                    _dir: None,
                    _pg: Some(Arc::new(pg)),
                }
            }
        }
    }
}

pub struct TestIdp {
    /// Where this instance listens.
    pub base: String,
    /// The issuer (the same for instances that act as one).
    pub issuer: String,
    pub state: AppState,
    pub logouts: Received,
    pub receiver: String,
    pub storage: Storage,
    _receiver: Served,
    _stop: Stop,
}

pub fn test_config(issuer: &str, storage: &Storage) -> Config {
    Config {
        issuer: issuer.to_owned(),
        bind: "127.0.0.1:0".into(),
        database_url: storage.database_url.clone(),
        redis_url: storage.redis_url.clone(),
        redis_prefix: storage.redis_prefix.clone(),
        kek: DEMO_KEK.into(),
        trusted_proxies: Vec::new(),
        database_acquire_timeout_ms: 2000,
        hsts_max_age_secs: 31_536_000,
        metrics_bind: String::new(),
        production: false,
        seed_file: String::new(),
        tokens: TokenConfig {
            key_reload_secs: 1,
            ..TokenConfig::default()
        },
        login: LoginConfig {
            // Cheaper than production so the suite stays quick; still argon2id.
            argon2_m_kib: 8 * 1024,
            argon2_t: 1,
            // Delays long enough that no test depends on how fast it runs; tests that reach
            // them move the clock instead of waiting.
            first_delay_secs: 60,
            max_delay_secs: 3600,
            ..LoginConfig::default()
        },
        sms: SmsConfig::default(),
        // The development outbox, so that tests read the codes it "sent".
        email: EmailConfig {
            provider: EmailProviderKind::Dev,
            from: "统一身份认证平台 <noreply@idp.test>".into(),
            ..EmailConfig::default()
        },
        realname: Default::default(),
        dev: Default::default(),
        par: Default::default(),
        dpop: Default::default(),
    }
}

/// The test's back-channel logout endpoint, `{base}/bc/{client}`, recording what it receives.
async fn start_receiver() -> (Served, Received) {
    let received: Received = Arc::default();
    async fn receive(
        State(r): State<Received>,
        axum::extract::Path(client): axum::extract::Path<String>,
        Form(form): Form<std::collections::HashMap<String, String>>,
    ) -> StatusCode {
        match form.get("logout_token") {
            Some(t) => {
                r.lock().unwrap().push((client, t.clone()));
                StatusCode::OK
            }
            None => StatusCode::BAD_REQUEST,
        }
    }
    let app = Router::new()
        .route("/bc/{client}", post(receive))
        .with_state(received.clone());
    (tongyi_testkit::serve_router(app).await, received)
}

#[allow(clippy::too_many_arguments)] // a table of fixtures reads best one client per line
fn client(
    id: &str,
    secret: Option<&str>,
    auth: &str,
    alg: &str,
    grants: &[&str],
    scopes: &[&str],
    receiver: &str,
    first_party: bool,
) -> SeedClient {
    let code = grants.contains(&"authorization_code");
    SeedClient {
        client_id: id.into(),
        name: format!("测试应用 {id}"),
        secret: secret.map(str::to_owned),
        auth_method: auth.into(),
        redirect_uris: if code {
            vec![format!("http://{id}.test/cb")]
        } else {
            vec![]
        },
        post_logout_redirect_uris: if code {
            vec![format!("http://{id}.test/bye")]
        } else {
            vec![]
        },
        backchannel_logout_uri: code.then(|| format!("{receiver}/bc/{id}")),
        grant_types: grants.iter().map(|g| g.to_string()).collect(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        signing_alg: alg.into(),
        subsystem_code: None,
        first_party,
        jwks: None,
        initiate_login_uri: None,
        resource_uri: None,
        require_pushed_authorization_requests: false,
        dpop_bound_access_tokens: false,
    }
}

pub const USER_SCOPES: &[&str] = &["openid", "profile", "account", "org", "grants"];
const CODE: &[&str] = &["authorization_code", "refresh_token"];

pub fn fixtures(receiver: &str) -> SeedFile {
    let mut incubator = client(
        "rp-incubator",
        Some(SECRET_INCUBATOR),
        "client_secret_basic",
        "RS256",
        CODE,
        USER_SCOPES,
        receiver,
        true,
    );
    incubator.subsystem_code = Some("incubator".into());
    SeedFile {
        department: vec![
            SeedDepartment {
                id: "dept-a".into(),
                name: "天津市科学技术局 高新技术处".into(),
            },
            SeedDepartment {
                id: "dept-b".into(),
                name: "滨海新区科技局".into(),
            },
        ],
        org: vec![SeedOrg {
            id: "org-1".into(),
            name: "天津测试孵化器有限公司".into(),
            uscc: Some("91120116MA05JJ1X4B".into()),
            status: tongyi_shared::org::UnitStatus::Active,
        }],
        account: vec![
            SeedAccount {
                id: "acct-alice".into(),
                login_name: "alice".into(),
                password: PASSWORD.into(),
                display_name: "张三".into(),
                account_type: "natural_person".into(),
                realname_status: "verified".into(),
                org: Some("org-1".into()),
                org_role: Some(tongyi_shared::org::OrgRole::Member),
                grants: vec!["incubator".into()],
                roles: vec![],
                mobile: Some(ALICE_MOBILE.into()),
                email: Some("alice@example.com".into()),
            },
            SeedAccount {
                id: "acct-unit".into(),
                login_name: "unit_admin".into(),
                password: PASSWORD.into(),
                display_name: "天津测试孵化器有限公司".into(),
                account_type: "legal_entity".into(),
                realname_status: "verified".into(),
                org: Some("org-1".into()),
                org_role: Some(tongyi_shared::org::OrgRole::Admin),
                grants: vec!["incubator".into(), "makerspace".into()],
                roles: vec!["unit_admin".into()],
                mobile: Some(UNIT_MOBILE.into()),
                email: None,
            },
        ],
        client: vec![
            client(
                "rp-basic",
                Some(SECRET_BASIC),
                "client_secret_basic",
                "RS256",
                CODE,
                USER_SCOPES,
                receiver,
                true,
            ),
            client(
                "rp-post",
                Some(SECRET_POST),
                "client_secret_post",
                "ES256",
                CODE,
                USER_SCOPES,
                receiver,
                true,
            ),
            client(
                "rp-public",
                None,
                "none",
                "EdDSA",
                CODE,
                USER_SCOPES,
                receiver,
                true,
            ),
            client(
                "rp-third",
                Some(SECRET_THIRD),
                "client_secret_basic",
                "RS256",
                CODE,
                USER_SCOPES,
                receiver,
                false,
            ),
            client(
                "machine-es",
                Some(SECRET_MACHINE),
                "client_secret_basic",
                "ES256",
                &["client_credentials"],
                &["reports.read"],
                receiver,
                true,
            ),
            client(
                "machine-rs",
                Some(SECRET_MACHINE),
                "client_secret_basic",
                "RS256",
                &["client_credentials"],
                &["reports.read"],
                receiver,
                true,
            ),
            incubator,
        ],
    }
}

impl TestIdp {
    pub async fn start(backend: Backend) -> TestIdp {
        let storage = Storage::new(backend).await;
        Self::start_on(storage, None, true).await
    }

    /// Starts an instance with the test config changed by `tweak`.
    pub async fn start_configured(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestIdp {
        let storage = Storage::new(backend).await;
        Self::start_on_with(storage, None, true, tweak).await
    }

    /// Starts an instance on `storage`; with `issuer`, it serves as that issuer (scale-out).
    pub async fn start_on(storage: Storage, issuer: Option<String>, seed_data: bool) -> TestIdp {
        Self::start_on_with(storage, issuer, seed_data, |_| {}).await
    }

    pub async fn start_on_with(
        storage: Storage,
        issuer: Option<String>,
        seed_data: bool,
        tweak: impl FnOnce(&mut Config),
    ) -> TestIdp {
        let (listener, base) = tongyi_testkit::listen().await;
        let issuer = issuer.unwrap_or_else(|| base.clone());
        let mut config = test_config(&issuer, &storage);
        tweak(&mut config);
        let app = build_app(config).await.expect("the IdP starts");
        let (receiver_server, logouts) = start_receiver().await;
        let receiver = receiver_server.base.clone();
        if seed_data {
            seed::apply(
                &app.state.db,
                &app.state.config,
                fixtures(&receiver),
                app.state.clock.now(),
            )
            .await
            .unwrap();
        }
        let state = app.state.clone();
        let (stop, shutdown) = tongyi_testkit::stop_signal();
        tokio::spawn(app.serve(listener, shutdown));
        TestIdp {
            base,
            issuer,
            state,
            logouts,
            receiver,
            storage,
            _receiver: receiver_server,
            _stop: stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client that follows no redirect and keeps no cookies.
    pub fn http() -> reqwest::Client {
        tongyi_testkit::no_redirects()
    }
}

/// What a browser ends with after following the IdP's redirects: either the redirect to the
/// relying party (the IdP's job is done) or a page the user must act on.
pub enum Outcome {
    ToRp(url::Url),
    Page {
        url: String,
        status: StatusCode,
        html: String,
    },
}

impl Outcome {
    pub fn rp(self) -> url::Url {
        match self {
            Outcome::ToRp(u) => u,
            Outcome::Page { url, status, html } => {
                panic!("expected a redirect to the RP, got page {url} ({status}):\n{html}")
            }
        }
    }

    pub fn page(self) -> (String, StatusCode, String) {
        match self {
            Outcome::Page { url, status, html } => (url, status, html),
            Outcome::ToRp(u) => panic!("expected a page, got a redirect to {u}"),
        }
    }
}

/// Follows redirects while they stay at the IdP.
pub async fn follow(browser: &reqwest::Client, idp_base: &str, start: &str) -> Outcome {
    let mut url = start.to_owned();
    for _ in 0..10 {
        let res = browser.get(&url).send().await.unwrap();
        if res.status().is_redirection() {
            let next = location(&res);
            let absolute = if next.starts_with('/') {
                format!("{idp_base}{next}")
            } else {
                next
            };
            if !absolute.starts_with(idp_base) {
                return Outcome::ToRp(url::Url::parse(&absolute).unwrap());
            }
            url = absolute;
            continue;
        }
        let status = res.status();
        return Outcome::Page {
            url,
            status,
            html: res.text().await.unwrap(),
        };
    }
    panic!("redirect loop at {url}");
}

/// Submits the login form on `login_page` and follows on.
pub async fn submit_login(
    browser: &reqwest::Client,
    idp_base: &str,
    login_page: &str,
    login_name: &str,
    password: &str,
) -> Outcome {
    let form = [
        ("csrf", hidden(login_page, "csrf")),
        ("req", hidden(login_page, "req")),
        ("login_name", login_name.to_owned()),
        ("password", password.to_owned()),
    ];
    let res = browser
        .post(format!("{idp_base}/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    if res.status().is_redirection() {
        let next = location(&res);
        let absolute = if next.starts_with('/') {
            format!("{idp_base}{next}")
        } else {
            next
        };
        return follow(browser, idp_base, &absolute).await;
    }
    let status = res.status();
    Outcome::Page {
        url: format!("{idp_base}/login"),
        status,
        html: res.text().await.unwrap(),
    }
}

/// Runs the browser part of an authorization request: opens it, logs in when asked.
pub async fn authorize_as(
    browser: &reqwest::Client,
    idp_base: &str,
    auth_url: &str,
    login_name: &str,
) -> url::Url {
    match follow(browser, idp_base, auth_url).await {
        Outcome::ToRp(u) => u,
        Outcome::Page { url, html, .. } => {
            assert!(
                url.contains("/login"),
                "expected the login page, got {url}:\n{html}"
            );
            submit_login(browser, idp_base, &html, login_name, PASSWORD)
                .await
                .rp()
        }
    }
}

pub fn query_param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Moves the IdP's clock forward to the next `hh:mm:00` Asia/Shanghai.
pub fn advance_to(state: &AppState, hh: i64, mm: i64) {
    let now = state.clock.now();
    let local_sod = (now + 8 * 3600).rem_euclid(86_400);
    let delta = (hh * 3600 + mm * 60 - local_sod).rem_euclid(86_400);
    state.clock.advance(delta);
}
