//! Starts the whole platform in-process and plays the browser.
//!
//! The IdP runs on SQLite in a temporary directory with the in-process store, seeded with the
//! demo accounts and clients of `config/demo.toml`, whose URIs are moved to this run's ports.
//! The portal and the subsystems start from their shipped config files with the addresses
//! overridden the way an operator would, through their environment-variable names.

use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use tongyi_idp::{
    config::{Config as IdpConfig, LoginConfig, TokenConfig, DEMO_KEK},
    seed::{self, SeedFile},
};
use tongyi_shared::rp::Clock as RpClock;
pub use tongyi_testkit::{hidden, Browser, Page};
use tongyi_testkit::{listen, serve, Stop, TempDir};

/// The demo password of `demo_person` in `config/demo.toml`.
pub const PERSON_PASSWORD: &str = "Demo@Person2026";
/// The demo password of `demo_unit` in `config/demo.toml`.
pub const UNIT_PASSWORD: &str = "Demo@Unit2026";
/// The demo password of `demo_admin` (platform admin and subsystem reviewer).
pub const ADMIN_PASSWORD: &str = "Demo@Admin2026";

/// How a test wants the platform started; [`Platform::start`] takes the defaults.
#[derive(Default)]
pub struct PlatformOptions {
    /// Token lifetimes of the IdP (e.g. short ones, to see refreshes happen).
    pub tokens: Option<TokenConfig>,
    /// The IdP's database; SQLite in the temporary directory when `None`.
    pub database_url: Option<String>,
    /// Redis URL and key prefix of the IdP's short-lived store; in-process when `None`.
    pub redis: Option<(String, String)>,
    /// Redis URL and key prefix of the portal's sessions; in-process when `None`.
    pub portal_redis: Option<(String, String)>,
    /// Starts a second portal instance with the same config on a port of its own
    /// ([`Platform::portal_second`]), to which the IdP delivers the portal's back-channel
    /// logouts: two instances behind one address, as a load balancer would spread them.
    pub second_portal: bool,
    /// The portal's `rp.trusted_proxies` (comma-separated, as in its environment variable).
    pub portal_trusted_proxies: Option<String>,
    /// More seed data (TOML in the form of `config/demo.toml`: units, accounts…) added to the
    /// demo's, e.g. a second unit.
    pub extra_seed: Option<&'static str>,
    /// The incubator's own database (e.g. a PostgreSQL one the test holds); a SQLite file
    /// in the temporary directory when `None`.
    pub incubator_database_url: Option<String>,
}

/// The four apps of a test, each on its own port; they stop when this is dropped.
pub struct Platform {
    /// The IdP's state, for what a test reads behind the pages (captcha answers, the SMS
    /// outbox), the way the IdP's own tests do.
    pub idp_state: tongyi_idp::state::AppState,
    pub idp: String,
    pub portal: String,
    /// The second portal instance of [`PlatformOptions::second_portal`]: its own address,
    /// the same config (so its base URL is [`Platform::portal`]).
    pub portal_second: Option<String>,
    pub incubator: String,
    pub makerspace: String,
    /// The attachment directories of the incubator and the makerspace.
    pub incubator_files: PathBuf,
    pub makerspace_files: PathBuf,
    /// The clock of the portal's and the subsystems' login glue (one for all three), which
    /// [`Platform::advance`] moves.
    pub rp_clock: RpClock,
    /// What the portal counted (the registry its `rp.metrics_bind` would serve).
    pub portal_metrics: tongyi_shared::rp::RpMetrics,
    _stop: Vec<Stop>,
    _dir: TempDir,
}

fn repo_file(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The demo seed with every registered URI moved from the demo ports to this run's.
fn demo_seed(moves: &[(&str, &str)]) -> SeedFile {
    let mut seed: SeedFile = toml::from_str(&repo_file("config/demo.toml")).unwrap();
    let relocate = |uri: &mut String| {
        for (from, to) in moves {
            if let Some(rest) = uri.strip_prefix(from) {
                *uri = format!("{to}{rest}");
                return;
            }
        }
    };
    for client in &mut seed.client {
        client.redirect_uris.iter_mut().for_each(relocate);
        client
            .post_logout_redirect_uris
            .iter_mut()
            .for_each(relocate);
        if let Some(uri) = client.backchannel_logout_uri.as_mut() {
            relocate(uri);
        }
        if let Some(uri) = client.initiate_login_uri.as_mut() {
            relocate(uri);
        }
    }
    seed
}

impl Platform {
    pub async fn start() -> Platform {
        Platform::start_with(PlatformOptions::default()).await
    }

    pub async fn start_with(options: PlatformOptions) -> Platform {
        // Every listener is bound first, so that each app's config can name the others.
        let (idp_listener, idp) = listen().await;
        let (portal_listener, portal) = listen().await;
        let second_portal = match options.second_portal {
            true => Some(listen().await),
            false => None,
        };
        let (incubator_listener, incubator) = listen().await;
        let (makerspace_listener, makerspace) = listen().await;
        let mut stop = Vec::new();

        let dir = TempDir::new("tongyi-journey", &tongyi_testkit::unique_tag());
        let rp_clock = RpClock::default();
        let idp_config = IdpConfig {
            issuer: idp.clone(),
            bind: "127.0.0.1:0".into(),
            database_url: options
                .database_url
                .unwrap_or_else(|| dir.sqlite_url("idp.db")),
            redis_url: options
                .redis
                .as_ref()
                .map(|(url, _)| url.clone())
                .unwrap_or_default(),
            redis_prefix: options
                .redis
                .as_ref()
                .map(|(_, prefix)| prefix.clone())
                .unwrap_or_default(),
            kek: DEMO_KEK.into(),
            trusted_proxies: Vec::new(),
            database_acquire_timeout_ms: 2000,
            hsts_max_age_secs: 31_536_000,
            metrics_bind: String::new(),
            production: false,
            seed_file: String::new(),
            sms: Default::default(),
            email: tongyi_idp::config::EmailConfig {
                provider: tongyi_idp::config::EmailProviderKind::Dev,
                from: "统一身份认证平台 <noreply@idp.test>".into(),
                ..Default::default()
            },
            realname: Default::default(),
            dev: Default::default(),
            par: Default::default(),
            dpop: Default::default(),
            tokens: options.tokens.unwrap_or(TokenConfig {
                key_reload_secs: 1,
                ..TokenConfig::default()
            }),
            login: LoginConfig {
                // Cheaper than the demo so the test stays quick; still argon2id.
                argon2_m_kib: 8 * 1024,
                argon2_t: 1,
                ..LoginConfig::default()
            },
        };
        let app = tongyi_idp::build_app(idp_config)
            .await
            .expect("the IdP starts");
        let mut seed = demo_seed(&[
            ("http://127.0.0.1:8081", &portal),
            ("http://127.0.0.1:8082", &incubator),
            ("http://127.0.0.1:8083", &makerspace),
        ]);
        if let Some(extra) = options.extra_seed {
            let extra: SeedFile = toml::from_str(extra).expect("the extra seed parses");
            seed.department.extend(extra.department);
            seed.org.extend(extra.org);
            seed.account.extend(extra.account);
            seed.client.extend(extra.client);
        }
        if let Some((_, second)) = &second_portal {
            for client in seed.client.iter_mut().filter(|c| c.client_id == "portal") {
                client.backchannel_logout_uri = Some(format!("{second}/auth/backchannel-logout"));
            }
        }
        seed::apply(
            &app.state.db,
            &app.state.config,
            seed,
            app.state.clock.now(),
        )
        .await
        .expect("the demo seed applies");
        let idp_state = app.state.clone();
        let (idp_stop, shutdown) = tongyi_testkit::stop_signal();
        tokio::spawn(app.serve(idp_listener, shutdown));
        stop.push(idp_stop);

        let mut portal_config: tongyi_portal::Config =
            toml::from_str(&repo_file("config/portal.toml")).unwrap();
        portal_config
            .apply_env(|k| match k {
                "TONGYI_PORTAL_BASE_URL" => Some(portal.clone()),
                "TONGYI_PORTAL_ISSUER" => Some(idp.clone()),
                "TONGYI_PORTAL_SUBSYSTEM_INCUBATOR_URL" => Some(incubator.clone()),
                "TONGYI_PORTAL_SUBSYSTEM_MAKERSPACE_URL" => Some(makerspace.clone()),
                "TONGYI_PORTAL_REDIS_URL" => options.portal_redis.as_ref().map(|r| r.0.clone()),
                "TONGYI_PORTAL_REDIS_PREFIX" => options.portal_redis.as_ref().map(|r| r.1.clone()),
                "TONGYI_PORTAL_TRUSTED_PROXIES" => options.portal_trusted_proxies.clone(),
                _ => None,
            })
            .unwrap();
        portal_config.rp.clock = rp_clock.clone();
        let portal_metrics = portal_config.rp.metrics.clone();
        let mut portal_second = None;
        if let Some((listener, base)) = second_portal {
            let router = tongyi_portal::build_app(portal_config.clone())
                .await
                .expect("the second portal starts");
            stop.push(serve(listener, router));
            portal_second = Some(base);
        }
        let router = tongyi_portal::build_app(portal_config)
            .await
            .expect("the portal starts");
        // With peer addresses, as `portal` serves itself, so that its request logs name them.
        stop.push(tongyi_testkit::serve_with_peer_addr(
            portal_listener,
            router,
        ));

        let incubator_files = dir.path().join("files-incubator");
        let makerspace_files = dir.path().join("files-makerspace");
        for (file, base, listener, files) in [
            (
                "config/incubator.toml",
                &incubator,
                incubator_listener,
                &incubator_files,
            ),
            (
                "config/makerspace.toml",
                &makerspace,
                makerspace_listener,
                &makerspace_files,
            ),
        ] {
            let mut config: tongyi_subsystems::Config = toml::from_str(&repo_file(file)).unwrap();
            // Each subsystem keeps its declarations in this run's directory (or where asked).
            let database = match &options.incubator_database_url {
                Some(url) if config.code == "incubator" => url.clone(),
                _ => dir.sqlite_url(&format!("{}.db", config.code)),
            };
            config
                .apply_env(|k| match k {
                    "TONGYI_SUBSYSTEM_BASE_URL" => Some(base.clone()),
                    "TONGYI_SUBSYSTEM_ISSUER" => Some(idp.clone()),
                    "TONGYI_SUBSYSTEM_PORTAL_URL" => Some(portal.clone()),
                    "TONGYI_SUBSYSTEM_DATABASE_URL" => Some(database.clone()),
                    "TONGYI_SUBSYSTEM_FILES_DIR" => Some(files.display().to_string()),
                    _ => None,
                })
                .unwrap();
            config.rp.clock = rp_clock.clone();
            let router = tongyi_subsystems::build_app(config)
                .await
                .expect("the subsystem starts");
            stop.push(serve(listener, router));
        }

        Platform {
            idp_state,
            idp,
            portal,
            portal_second,
            incubator,
            makerspace,
            incubator_files,
            makerspace_files,
            rp_clock,
            portal_metrics,
            _stop: stop,
            _dir: dir,
        }
    }

    /// Moves the time of every app forward by `secs`: the IdP's (token lifetimes) and the
    /// relying parties' (when they refresh), so that tests expire tokens without sleeping.
    pub fn advance(&self, secs: i64) {
        self.idp_state.clock.advance(secs);
        self.rp_clock.advance(secs);
    }
}

/// Fills in and submits the IdP's login form shown on `login`.
pub async fn log_in_at_idp(
    browser: &Browser,
    idp: &str,
    login: &Page,
    login_name: &str,
    password: &str,
) -> Page {
    assert!(
        login.url.starts_with(&format!("{idp}/login")) && login.status == StatusCode::OK,
        "expected the IdP's login page, got {} ({}):\n{}",
        login.url,
        login.status,
        login.html
    );
    let csrf = hidden(&login.html, "csrf");
    let req = hidden(&login.html, "req");
    browser
        .submit(
            &format!("{idp}/login"),
            &[
                ("csrf", &csrf),
                ("req", &req),
                ("login_name", login_name),
                ("password", password),
            ],
        )
        .await
}
