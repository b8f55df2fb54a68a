//! The few W3C WebDriver commands the journey needs, spoken to ChromeDriver over reqwest.
//!
//! Hand-written rather than a client crate: fantoccini brings second copies of `http`,
//! `cookie` and the ICU crates, thirtyfour another major version of reqwest; the protocol
//! itself is a handful of JSON requests.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine;
use serde_json::{json, Value};

/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One browser session; dropped without [`Driver::quit`] it is ended by killing ChromeDriver
/// (see `processes::ChromeDriver`).
pub struct Driver {
    http: reqwest::Client,
    session: String,
}

/// An element of the current page.
#[derive(Clone, Debug)]
pub struct Element(String);

impl Element {
    /// The element as a script argument.
    pub fn as_arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.0 })
    }
}

/// Chromium options: headless, no sandbox (CI runs as root), a fixed window, downloads into
/// `download_dir` without asking, Chinese first among the accepted languages.
pub fn chromium_capabilities(binary: &str, download_dir: &str) -> Value {
    json!({
        "capabilities": {
            "alwaysMatch": {
                "browserName": "chrome",
                "pageLoadStrategy": "normal",
                "unhandledPromptBehavior": "accept",
                "goog:chromeOptions": {
                    "binary": binary,
                    "args": [
                        "--headless=new",
                        "--no-sandbox",
                        "--disable-dev-shm-usage",
                        "--disable-gpu",
                        "--disable-breakpad",
                        "--disable-crash-reporter",
                        "--no-first-run",
                        "--no-default-browser-check",
                        "--window-size=1280,720",
                        "--lang=zh-CN",
                    ],
                    "prefs": {
                        "download.default_directory": download_dir,
                        "download.prompt_for_download": false,
                        "download.directory_upgrade": true,
                        "safebrowsing.enabled": false,
                        "intl.accept_languages": "zh-CN,zh",
                    },
                },
            },
        },
    })
}

impl Driver {
    /// Opens a session at the ChromeDriver listening on `base` (`http://127.0.0.1:PORT`).
    pub async fn start(base: &str, capabilities: Value) -> Result<Driver> {
        let http = reqwest::Client::builder()
            // A page load on a loaded CI machine can take a while; commands never hang forever.
            .timeout(Duration::from_secs(180))
            .build()?;
        let res: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .context("ChromeDriver does not answer")?
            .json()
            .await?;
        let session = res["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no session: {res}"))?
            .to_owned();
        let driver = Driver {
            http,
            session: format!("{base}/session/{session}"),
        };
        driver
            .command(
                reqwest::Method::POST,
                "/timeouts",
                json!({ "pageLoad": 120_000, "script": 60_000, "implicit": 0 }),
            )
            .await?;
        Ok(driver)
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Result<Value> {
        let url = format!("{}{path}", self.session);
        let mut req = self.http.request(method.clone(), &url);
        if method != reqwest::Method::GET && method != reqwest::Method::DELETE {
            req = req.json(&body);
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("WebDriver {method} {path}"))?;
        let status = res.status();
        let value: Value = res.json().await.context("WebDriver answer")?;
        if !status.is_success() {
            bail!(
                "WebDriver {method} {path}: {} {}",
                value["value"]["error"].as_str().unwrap_or("error"),
                value["value"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .lines()
                    .next()
                    .unwrap_or_default()
            );
        }
        Ok(value["value"].clone())
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.command(reqwest::Method::POST, path, body).await
    }

    async fn get(&self, path: &str) -> Result<Value> {
        self.command(reqwest::Method::GET, path, Value::Null).await
    }

    pub async fn goto(&self, url: &str) -> Result<()> {
        self.post("/url", json!({ "url": url })).await.map(drop)
    }

    pub async fn current_url(&self) -> Result<String> {
        Ok(self
            .get("/url")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<()> {
        self.post("/window/rect", json!({ "width": width, "height": height }))
            .await
            .map(drop)
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) and returns its result.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// Every element matching the CSS selector, in document order.
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        let found = self
            .post(
                "/elements",
                json!({ "using": "css selector", "value": css }),
            )
            .await?;
        Ok(found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned())))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub async fn click(&self, e: &Element) -> Result<()> {
        self.post(&format!("/element/{}/click", e.0), json!({}))
            .await
            .map(drop)
    }

    pub async fn clear(&self, e: &Element) -> Result<()> {
        self.post(&format!("/element/{}/clear", e.0), json!({}))
            .await
            .map(drop)
    }

    /// Types `text` into the element, as keystrokes (a file input takes a path).
    pub async fn send_keys(&self, e: &Element, text: &str) -> Result<()> {
        self.post(&format!("/element/{}/value", e.0), json!({ "text": text }))
            .await
            .map(drop)
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Result<Vec<u8>> {
        let b64 = self.get("/screenshot").await?;
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .context("screenshot is not base64")
    }

    /// Ends the session (Chromium exits).
    pub async fn quit(&self) -> Result<()> {
        self.command(reqwest::Method::DELETE, "", Value::Null)
            .await
            .map(drop)
    }
}
