//! Starts the whole platform in-process and plays the browser.
//!
//! The IdP runs on SQLite in a temporary directory with the in-process store, seeded with the
//! demo accounts and clients of `config/demo.toml`, whose URIs are moved to this run's ports.
//! The portal and the subsystems start from their shipped config files with the addresses
//! overridden the way an operator would, through their environment-variable names.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use reqwest::{cookie::Jar, header, redirect::Policy, StatusCode};
use tokio::{net::TcpListener, sync::oneshot};
use tongyi_idp::{
    config::{Config as IdpConfig, LoginConfig, TokenConfig, DEMO_KEK},
    seed::{self, SeedFile},
};

/// The demo password of `demo_person` in `config/demo.toml`.
pub const PERSON_PASSWORD: &str = "Demo@Person2026";
/// The demo password of `demo_unit` in `config/demo.toml`.
pub const UNIT_PASSWORD: &str = "Demo@Unit2026";
/// The demo password of `demo_admin` (platform admin and subsystem reviewer).
pub const ADMIN_PASSWORD: &str = "Demo@Admin2026";

/// A directory removed when the platform stops.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How a test wants the platform started; [`Platform::start`] takes the defaults.
#[derive(Default)]
pub struct PlatformOptions {
    /// Token lifetimes of the IdP (e.g. short ones, to see refreshes happen).
    pub tokens: Option<TokenConfig>,
    /// The IdP's database; SQLite in the temporary directory when `None`.
    pub database_url: Option<String>,
    /// Redis URL and key prefix of the IdP's short-lived store; in-process when `None`.
    pub redis: Option<(String, String)>,
}

/// The four apps of a test, each on its own port; they stop when this is dropped.
pub struct Platform {
    /// The IdP's state, for what a test reads behind the pages (captcha answers, the SMS
    /// outbox), the way the IdP's own tests do.
    pub idp_state: tongyi_idp::state::AppState,
    pub idp: String,
    pub portal: String,
    pub incubator: String,
    pub makerspace: String,
    /// The attachment directories of the incubator and the makerspace.
    pub incubator_files: PathBuf,
    pub makerspace_files: PathBuf,
    _stop: Vec<oneshot::Sender<()>>,
    _dir: TempDir,
}

fn repo_file(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    (listener, format!("http://{addr}"))
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

fn serve(listener: TcpListener, app: axum::Router) -> oneshot::Sender<()> {
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    tx
}

impl Platform {
    pub async fn start() -> Platform {
        Platform::start_with(PlatformOptions::default()).await
    }

    pub async fn start_with(options: PlatformOptions) -> Platform {
        // Every listener is bound first, so that each app's config can name the others.
        let (idp_listener, idp) = listen().await;
        let (portal_listener, portal) = listen().await;
        let (incubator_listener, incubator) = listen().await;
        let (makerspace_listener, makerspace) = listen().await;
        let mut stop = Vec::new();

        let dir = std::env::temp_dir().join(format!(
            "tongyi-journey-{}-{}",
            std::process::id(),
            idp.rsplit(':').next().unwrap_or("0")
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let dir = TempDir(dir);
        let idp_config = IdpConfig {
            issuer: idp.clone(),
            bind: "127.0.0.1:0".into(),
            database_url: options
                .database_url
                .unwrap_or_else(|| format!("sqlite://{}/idp.db?mode=rwc", dir.0.display())),
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
            production: false,
            seed_file: String::new(),
            sms: Default::default(),
            realname: Default::default(),
            dev: Default::default(),
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
        let seed = demo_seed(&[
            ("http://127.0.0.1:8081", &portal),
            ("http://127.0.0.1:8082", &incubator),
            ("http://127.0.0.1:8083", &makerspace),
        ]);
        seed::apply(
            &app.state.db,
            &app.state.config,
            seed,
            app.state.clock.now(),
        )
        .await
        .expect("the demo seed applies");
        let idp_state = app.state.clone();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(app.serve(idp_listener, async move {
            let _ = rx.await;
        }));
        stop.push(tx);

        let mut portal_config: tongyi_portal::Config =
            toml::from_str(&repo_file("config/portal.toml")).unwrap();
        portal_config
            .apply_env(|k| match k {
                "TONGYI_PORTAL_BASE_URL" => Some(portal.clone()),
                "TONGYI_PORTAL_ISSUER" => Some(idp.clone()),
                "TONGYI_PORTAL_SUBSYSTEM_INCUBATOR_URL" => Some(incubator.clone()),
                "TONGYI_PORTAL_SUBSYSTEM_MAKERSPACE_URL" => Some(makerspace.clone()),
                _ => None,
            })
            .unwrap();
        let router = tongyi_portal::build_app(portal_config)
            .await
            .expect("the portal starts");
        stop.push(serve(portal_listener, router));

        let incubator_files = dir.0.join("files-incubator");
        let makerspace_files = dir.0.join("files-makerspace");
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
            // Each subsystem keeps its declarations in this run's directory.
            let database = format!("sqlite://{}/{}.db?mode=rwc", dir.0.display(), config.code);
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
            let router = tongyi_subsystems::build_app(config)
                .await
                .expect("the subsystem starts");
            stop.push(serve(listener, router));
        }

        Platform {
            idp_state,
            idp,
            portal,
            incubator,
            makerspace,
            incubator_files,
            makerspace_files,
            _stop: stop,
            _dir: dir,
        }
    }
}

/// What the browser shows after following every redirect.
pub struct Page {
    pub url: String,
    pub status: StatusCode,
    pub html: String,
    /// Every URL the browser visited on the way, the first request included.
    pub trail: Vec<String>,
}

impl Page {
    /// Whether any step of the way was at `prefix` (e.g. the IdP's login page).
    pub fn passed(&self, prefix: &str) -> bool {
        self.trail.iter().any(|u| u.starts_with(prefix))
    }
}

/// A browser: one cookie jar for every app (cookies ignore ports, as in real browsers), and
/// redirects followed by [`Browser::follow`] so that the tests see each step.
pub struct Browser {
    pub http: reqwest::Client,
    pub jar: Arc<Jar>,
}

impl Browser {
    pub fn new() -> Browser {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            .build()
            .unwrap();
        Browser { http, jar }
    }

    pub async fn open(&self, url: &str) -> Page {
        let res = self.http.get(url).send().await.unwrap();
        self.follow(res, vec![url.to_owned()]).await
    }

    pub async fn submit(&self, url: &str, form: &[(&str, &str)]) -> Page {
        let res = self.http.post(url).form(form).send().await.unwrap();
        self.follow(res, vec![url.to_owned()]).await
    }

    async fn follow(&self, mut res: reqwest::Response, mut trail: Vec<String>) -> Page {
        for _ in 0..20 {
            if !res.status().is_redirection() {
                return Page {
                    url: res.url().to_string(),
                    status: res.status(),
                    html: res.text().await.unwrap(),
                    trail,
                };
            }
            let location = res
                .headers()
                .get(header::LOCATION)
                .expect("a redirect has a Location")
                .to_str()
                .unwrap();
            let next = res.url().join(location).unwrap().to_string();
            trail.push(next.clone());
            res = self.http.get(&next).send().await.unwrap();
        }
        panic!("redirect loop: {trail:?}");
    }

    /// The cookies the browser would send to `url`.
    pub fn cookies_for(&self, url: &str) -> String {
        use reqwest::cookie::CookieStore;
        self.jar
            .cookies(&url.parse().unwrap())
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }
}

/// The value of a hidden form field in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden field {name} in page:\n{html}"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#43;", "+")
        .replace("&amp;", "&")
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
