//! The login-flood benchmark (docs/benchmarks.md): while a bounded flood of wrong passwords for
//! one account runs from one address, the account's owner logs in again and again from
//! another, and JWKS is sampled. Prints the owner's login latencies, how many flood attempts
//! reached argon2 (from the audit log), and the JWKS p99 during the flood.
//!
//! `cargo run --release -p tongyi-idp --example login_flood [-- config/idp.toml]`
//!
//! Environment: `FLOOD_ATTEMPTS` [1000], `FLOOD_CONCURRENCY` [16], `FLOOD_SOLVER` [0; 1: the
//! flood answers every captcha, as a solving service would], `FLOOD_SERVER_CORE` [1],
//! `FLOOD_LOAD_CORE` [0]. The IdP runs in this process on a fresh SQLite file with the
//! in-process store, behind a pretend proxy (loopback trusted, `X-Forwarded-For` names the two
//! addresses), with the demo accounts of config/demo.toml. It has a runtime of its own whose
//! threads (the worker and the blocking pool argon2 runs on) are pinned to the server core,
//! while the load runs on another runtime pinned to the load core: the load generator's own
//! work must not stall the server it measures.
//!
//! Every HTTP client is built before the flood starts: building one sets up an OpenSSL
//! context that parses the system's CA bundle (70–280 ms on a busy 2-core machine), on the
//! load's only worker, where it held up every request in flight: the owner's first login and
//! a JWKS request waited for the flood's 16 clients to be built (docs/benchmarks.md).

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, RwLock,
    },
    time::{Duration, Instant},
};

use reqwest::{
    cookie::{CookieStore, Jar},
    header::HeaderValue,
};

use tongyi_idp::{build_app, config::Config, store::audit::list_recent, AppState};

const VICTIM: &str = "demo_person";
const PASSWORD: &str = "Demo@Person2026";
const FLOOD_ADDR: &str = "203.0.113.66";
const OWNER_ADDR: &str = "198.51.100.77";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A browser at `addr`, keeping its cookies in `jar`.
fn client<C: CookieStore + 'static>(addr: &str, jar: Arc<C>) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", addr.parse().expect("an address"));
    reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("an HTTP client")
}

/// A cookie jar that can be emptied, so that one client serves as a new browser each round
/// without building another (see the module's comment).
#[derive(Default)]
struct FreshJar(RwLock<Arc<Jar>>);

impl FreshJar {
    fn clear(&self) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::default();
    }

    fn jar(&self) -> Arc<Jar> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl CookieStore for FreshJar {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &HeaderValue>, url: &reqwest::Url) {
        self.jar().set_cookies(headers, url);
    }

    fn cookies(&self, url: &reqwest::Url) -> Option<HeaderValue> {
        self.jar().cookies(url)
    }
}

/// The value of hidden field `name` in a page.
fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('"').next()?.to_owned())
}

/// One password login through the form; answers the captcha when the page shows one and
/// `solve` is set. True when it logged in; `posts` counts the forms sent.
async fn login(
    state: &AppState,
    http: &reqwest::Client,
    base: &str,
    password: &str,
    solve: bool,
    posts: &AtomicUsize,
) -> bool {
    let mut page = match http.get(format!("{base}/login")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => return false,
    };
    // At most two rounds: the first may be asked for a captcha it did not know it needed.
    for _ in 0..2 {
        let Some(csrf) = hidden(&page, "csrf") else {
            return false;
        };
        let mut form = vec![
            ("csrf", csrf),
            ("login_name", VICTIM.to_owned()),
            ("password", password.to_owned()),
        ];
        if let Some(id) = hidden(&page, "captcha_id").filter(|_| solve) {
            let answer = state
                .store
                .get(&format!("captcha:{id}"))
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            form.push(("captcha_id", id));
            form.push(("captcha", answer));
        }
        posts.fetch_add(1, Ordering::Relaxed);
        let res = match http.post(format!("{base}/login")).form(&form).send().await {
            Ok(r) => r,
            Err(_) => return false,
        };
        if res.status().is_redirection() {
            return true;
        }
        page = res.text().await.unwrap_or_default();
        if !solve || !page.contains("captcha_id") {
            return false;
        }
    }
    false
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Pins the calling thread to `core`, with util-linux's `taskset` on the thread's id (Linux's
/// `/proc/thread-self`), so that the example needs no unsafe affinity call.
fn pin_to(core: usize) {
    let tid = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name().map(|t| t.to_string_lossy().into_owned()));
    let pinned = tid.is_some_and(|tid| {
        std::process::Command::new("taskset")
            .args(["-p", "-c", &core.to_string(), &tid])
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if !pinned {
        eprintln!("login_flood: cannot pin a thread to core {core} (needs Linux and taskset)");
    }
}

fn runtime(core: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .on_thread_start(move || pin_to(core))
        .enable_all()
        .build()
        .expect("a runtime")
}

fn main() {
    let server_core = env_or("FLOOD_SERVER_CORE", 1);
    let load_core = env_or("FLOOD_LOAD_CORE", 0);
    pin_to(load_core);
    let server = runtime(server_core);
    let load = runtime(load_core);
    load.block_on(run(&server));
}

async fn run(server: &tokio::runtime::Runtime) {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "config/idp.toml".into());
    let mut config = match Config::load(std::path::Path::new(&path)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("login_flood: {e}");
            std::process::exit(2);
        }
    };
    let dir = std::env::temp_dir().join(format!("login-flood-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    config.database_url = format!("sqlite://{}/idp.db?mode=rwc", dir.display());
    config.redis_url = String::new();
    config.seed_file = "config/demo.toml".into();
    config.trusted_proxies = vec!["127.0.0.1/32".into()];
    config.production = false;
    let attempts = env_or("FLOOD_ATTEMPTS", 1000);
    let concurrency = env_or("FLOOD_CONCURRENCY", 16).max(1);
    let solver = env_or("FLOOD_SOLVER", 0) == 1;

    // Built and served on the server's runtime, so that its background tasks live there too.
    let (state, base) = server
        .spawn(async move {
            let app = build_app(config).await.expect("the IdP starts");
            let state = app.state.clone();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(app.serve(listener, std::future::pending()));
            (state, base)
        })
        .await
        .expect("the IdP starts");

    // Warm up (first argon2 work area, first key use, connection pools) outside the figures.
    let warm = reqwest::Client::new();
    let _ = warm.get(format!("{base}/jwks")).send().await;
    login(
        &state,
        &client("192.0.2.1", Arc::new(Jar::default())),
        &base,
        PASSWORD,
        true,
        &AtomicUsize::new(0),
    )
    .await;

    // Every client the figures use, built now (see the module's comment).
    let owner_jar = Arc::new(FreshJar::default());
    let owner_http = client(OWNER_ADDR, owner_jar.clone());
    let jwks_http = reqwest::Client::new();
    let flood_clients: Vec<_> = (0..concurrency)
        .map(|_| client(FLOOD_ADDR, Arc::new(Jar::default())))
        .collect();

    let flooding = Arc::new(AtomicBool::new(true));
    // The owner, from her own address, once every 200 ms.
    let owner = {
        let (state, base, flooding) = (state.clone(), base.clone(), flooding.clone());
        tokio::spawn(async move {
            let (mut times, mut refused) = (Vec::new(), 0);
            while flooding.load(Ordering::Relaxed) {
                // A new browser each round (no cookies), so that each round is a full login.
                owner_jar.clear();
                let http = &owner_http;
                let started = Instant::now();
                if login(&state, http, &base, PASSWORD, true, &AtomicUsize::new(0)).await {
                    times.push(started.elapsed().as_secs_f64() * 1000.0);
                } else {
                    refused += 1;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            (times, refused)
        })
    };
    let jwks = {
        let (base, flooding) = (base.clone(), flooding.clone());
        tokio::spawn(async move {
            let http = jwks_http;
            let mut times = Vec::new();
            while flooding.load(Ordering::Relaxed) {
                let started = Instant::now();
                if let Ok(r) = http.get(format!("{base}/jwks")).send().await {
                    let _ = r.bytes().await;
                    times.push(started.elapsed().as_secs_f64() * 1000.0);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            times
        })
    };

    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let posts = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for http in flood_clients {
        let (state, base, next, posts) = (state.clone(), base.clone(), next.clone(), posts.clone());
        workers.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < attempts {
                login(&state, &http, &base, "Wrong#Guess2026", solver, &posts).await;
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let flood_secs = started.elapsed().as_secs_f64();
    flooding.store(false, Ordering::Relaxed);
    let (mut owner_times, owner_refused) = owner.await.unwrap();
    let mut jwks_times = jwks.await.unwrap();
    owner_times.sort_by(f64::total_cmp);
    jwks_times.sort_by(f64::total_cmp);

    let rows = list_recent(&state.db, 1_000_000).await.unwrap();
    let from_flood = |reason: &str| {
        rows.iter()
            .filter(|r| {
                r.event == "login_failed"
                    && r.client_ip.as_deref() == Some(FLOOD_ADDR)
                    && r.detail.contains(&format!("\"reason\":\"{reason}\""))
            })
            .count()
    };
    let reached = from_flood("wrong_password");
    let throttled = from_flood("throttled");
    let posts = posts.load(Ordering::Relaxed);
    println!(
        "flood: {attempts} wrong-password attempts ({posts} forms sent: a solver answers the captcha it is shown), {concurrency} at a time, captcha solver: {}, {flood_secs:.1} s",
        if solver { "yes" } else { "no" }
    );
    println!(
        "flood forms that reached argon2: {reached}; refused for a delay: {throttled}; refused at the captcha: {}",
        posts.saturating_sub(reached + throttled)
    );
    println!(
        "owner logins from another address: {} ok, {owner_refused} refused; p50 {:.1} ms, p99 {:.1} ms (page + captcha round + login)",
        owner_times.len(),
        percentile(&owner_times, 0.5),
        percentile(&owner_times, 0.99)
    );
    println!(
        "JWKS during the flood: {} requests, p50 {:.2} ms, p99 {:.2} ms",
        jwks_times.len(),
        percentile(&jwks_times, 0.5),
        percentile(&jwks_times, 0.99)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
