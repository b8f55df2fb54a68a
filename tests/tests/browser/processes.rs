//! The processes a journey needs: ChromeDriver and the platform as `scripts/platform.sh`
//! starts it. Each runs in its own process group and is stopped, with everything it started,
//! when its guard is dropped, whichever way the test ends.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant, SystemTime},
};

use anyhow::{bail, Context, Result};
use std::os::unix::process::CommandExt;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

/// A port nobody listens on right now (the OS picks it; it is released at once for the app).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// Ports that are free now and distinct from each other.
fn free_ports(n: usize) -> Vec<u16> {
    // Hold every listener until all are chosen, so that the OS cannot hand out one twice.
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// `name` found on PATH (or the path in the environment variable `env`, when set).
pub fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Ends a process group: politely first, then for sure.
fn stop_group(child: &mut Child, grace: Duration) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill")
        .args(["-TERM", "--", &group])
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Whatever of the group is left (the leader may be gone while its children linger).
    let _ = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
}

/// Polls `ready` every 250 ms until it is true, the child exits or `timeout` passes.
async fn wait_until(
    what: &str,
    child: &mut Child,
    log: &Path,
    timeout: Duration,
    mut ready: impl AsyncFnMut() -> bool,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if ready().await {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "{what} exited ({status}) during start-up; its output:\n{}",
                tail(log, 40)
            );
        }
        if Instant::now() > deadline {
            bail!(
                "{what} was not ready within {} s; its output:\n{}",
                timeout.as_secs(),
                tail(log, 40)
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The last `n` lines of a log file, without terminal colour codes.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let last = lines[lines.len().saturating_sub(n)..].join("\n");
    let mut chars = last.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            // CSI sequence: up to and including its final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// ChromeDriver on a free port; killed with the Chromium it started when dropped.
pub struct ChromeDriver {
    pub base: String,
    child: Child,
}

impl ChromeDriver {
    pub async fn start(program: &Path, log: &Path) -> Result<ChromeDriver> {
        let port = free_port();
        let out = File::create(log)?;
        let mut child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(out.try_clone()?)
            .stderr(out)
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let status = format!("{base}/status");
        let ready = wait_until(
            "chromedriver",
            &mut child,
            log,
            Duration::from_secs(60),
            async || {
                let Ok(res) = http.get(&status).send().await else {
                    return false;
                };
                let body: serde_json::Value = res.json().await.unwrap_or_default();
                body["value"]["ready"].as_bool() == Some(true)
            },
        )
        .await;
        let driver = ChromeDriver { base, child };
        ready.map(|()| driver)
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        stop_group(&mut self.child, Duration::from_secs(2));
    }
}

/// The four apps started by `scripts/platform.sh` on free ports, with a fresh SQLite
/// database in `data_dir`; stopped (TERM to the script, which stops each app) when dropped.
pub struct Platform {
    pub idp: String,
    pub portal: String,
    pub incubator: String,
    pub makerspace: String,
    child: Child,
}

/// The binaries `scripts/platform.sh` runs, in the cargo target directory of this test.
const BINARIES: [&str; 3] = ["idp", "portal", "subsystems"];

/// The cargo target directory this test binary was built in (`…/debug/deps/browser-…`).
fn target_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.to_path_buf())
}

/// Whether the debug binaries exist and are newer than every source file that goes into
/// them; otherwise the script builds them (a no-op for cargo when nothing changed).
fn binaries_fresh(target: &Path) -> bool {
    let oldest_binary = BINARIES
        .iter()
        .map(|b| std::fs::metadata(target.join("debug").join(b)).and_then(|m| m.modified()))
        .collect::<Result<Vec<_>, _>>()
        .ok()
        .and_then(|times| times.into_iter().min());
    let Some(oldest_binary) = oldest_binary else {
        return false;
    };
    let root = repo_root();
    let mut newest_source = SystemTime::UNIX_EPOCH;
    let mut visit = vec![root.join("Cargo.lock")];
    for app in ["shared", "idp", "portal", "subsystems"] {
        visit.push(root.join(app));
    }
    while let Some(path) = visit.pop() {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if path.file_name().is_some_and(|n| n == "tests") {
                continue;
            }
            if let Ok(entries) = std::fs::read_dir(&path) {
                visit.extend(entries.flatten().map(|e| e.path()));
            }
        } else if let Ok(modified) = meta.modified() {
            newest_source = newest_source.max(modified);
        }
    }
    newest_source < oldest_binary
}

impl Platform {
    /// Starts the platform; `env` adds variables (test aids) to every app's environment.
    pub async fn start(data_dir: &Path, log: &Path, env: &[(&str, &str)]) -> Result<Platform> {
        let target = target_dir().context("where is the cargo target directory?")?;
        let fresh = binaries_fresh(&target);
        let ports = free_ports(4);
        let out = File::create(log)?;
        let mut cmd = Command::new("bash");
        cmd.arg("scripts/platform.sh")
            .current_dir(repo_root())
            .env("CARGO_TARGET_DIR", &target)
            .env("TONGYI_BUILD", "debug")
            .env("TONGYI_DATA_DIR", data_dir)
            .env("TONGYI_IDP_PORT", ports[0].to_string())
            .env("TONGYI_PORTAL_PORT", ports[1].to_string())
            .env("TONGYI_INCUBATOR_PORT", ports[2].to_string())
            .env("TONGYI_MAKERSPACE_PORT", ports[3].to_string())
            // This platform's own database and stores, whatever the caller's shell says.
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env_remove("TONGYI_SEED_FILE")
            .env_remove("TONGYI_IDP_CONFIG")
            .stdout(out.try_clone()?)
            .stderr(out)
            .stdin(Stdio::null())
            .process_group(0);
        if fresh {
            cmd.env("TONGYI_NO_BUILD", "1");
        } else {
            eprintln!("browser: the app binaries are missing or older than their sources; platform.sh builds them (debug)");
            cmd.env_remove("TONGYI_NO_BUILD");
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().context("cannot run scripts/platform.sh")?;
        let url = |i: usize| format!("http://127.0.0.1:{}", ports[i]);
        // A build inside the script can take long on a loaded machine; the apps themselves
        // are up within seconds.
        let timeout = Duration::from_secs(if fresh { 180 } else { 1200 });
        let ready = wait_until(
            "scripts/platform.sh",
            &mut child,
            log,
            timeout,
            async || {
                std::fs::read_to_string(log)
                    .unwrap_or_default()
                    .contains("Tongyi demo platform is running")
            },
        )
        .await;
        let platform = Platform {
            idp: url(0),
            portal: url(1),
            incubator: url(2),
            makerspace: url(3),
            child,
        };
        ready.map(|()| platform)
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        // TERM to the script alone first: it stops the apps it started and waits for them.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        stop_group(&mut self.child, Duration::from_secs(1));
    }
}
