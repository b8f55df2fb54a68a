//! The platform's main journey in a real browser: headless Chromium driven through
//! ChromeDriver (W3C WebDriver), against the four apps started by `scripts/platform.sh` on
//! free ports with a fresh SQLite database. Every step leaves screenshots (1280×720 and
//! 390 px wide) in `ci-artifacts/journey/`, and every page it visits passes the basic
//! accessibility checks of `a11y.rs`. A failing step prints the page's URL and text.
//!
//! Without Chromium or ChromeDriver the test says so loudly and passes, except on CI
//! (`CI` set), where it fails: `.ci/run` installs both.

mod a11y;
mod journey;
mod processes;
mod run;
mod webdriver;

use processes::{find_program, repo_root, ChromeDriver, Platform};
use run::Run;

/// The IdP's test aids the journey relies on (refused by a production IdP).
const TEST_AIDS: [(&str, &str); 3] = [
    // The captcha answered through `GET /dev/captcha/{id}`.
    ("TONGYI_DEV_CAPTCHA_ANSWERS", "1"),
    // Real-name checks at once at any time of day (the default service hours are 08–18).
    ("TONGYI_REALNAME_SERVICE_HOURS_START", "00:00"),
    ("TONGYI_REALNAME_SERVICE_HOURS_END", "24:00"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journey_in_a_real_browser() {
    let chromium = find_program("TONGYI_CHROMIUM", &["chromium", "chromium-browser"]);
    let chromedriver = find_program("TONGYI_CHROMEDRIVER", &["chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        let message = "Chromium or ChromeDriver is not installed (apt-get install chromium \
                       chromium-driver): the browser journey cannot run";
        if std::env::var_os("CI").is_some() {
            panic!("{message}");
        }
        eprintln!("\n!!!!!!!!!! SKIPPED: {message} !!!!!!!!!!\n");
        return;
    };

    let artifacts = repo_root().join("ci-artifacts").join("journey");
    // Each run starts from nothing: no screenshots, downloads or database of an earlier run.
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).unwrap();
    let platform = Platform::start(
        &artifacts.join("platform"),
        &artifacts.join("platform.log"),
        &TEST_AIDS,
    )
    .await
    .unwrap_or_else(|e| panic!("the platform did not start: {e:#}"));
    let driver = ChromeDriver::start(&chromedriver, &artifacts.join("chromedriver.log"))
        .await
        .unwrap_or_else(|e| panic!("chromedriver did not start: {e:#}"));
    let mut run = Run::new(platform, driver, &chromium, artifacts.clone());

    let outcome = journey::walk(&mut run).await;
    if let Err(e) = outcome {
        let report = run.report_failure(&e).await;
        run.close().await;
        panic!("{report}");
    }
    run.close().await;
    let mut shots: Vec<_> = std::fs::read_dir(&artifacts)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".png"))
        .collect();
    shots.sort();
    println!(
        "browser: {} screenshots in {}:\n  {}",
        shots.len(),
        artifacts.display(),
        shots.join("\n  ")
    );
}
