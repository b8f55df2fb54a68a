//! One journey through the platform in a real browser: what a person does on a page (open,
//! type, pick, tick, press), waiting explicitly for what should come next, and a checkpoint
//! after every step (accessibility checks at 1280×720 and 390 px wide, a screenshot of each).

use std::{
    future::Future,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use crate::{
    a11y,
    processes::{tail, ChromeDriver, Platform},
    webdriver::{chromium_capabilities, Driver, Element},
};

/// How long to wait for a page, an element or a text on a loaded CI machine.
const WAIT: Duration = Duration::from_secs(60);
const DESKTOP: (u32, u32) = (1280, 720);
const PHONE: (u32, u32) = (390, 844);

pub struct Run {
    pub platform: Platform,
    chromedriver: ChromeDriver,
    chromium: String,
    driver: Option<Driver>,
    /// The test's own HTTP client, for the IdP's test aids (captcha answers, SMS outbox).
    http: reqwest::Client,
    pub artifacts: PathBuf,
    pub downloads: PathBuf,
    shots: usize,
    step: String,
}

/// Polls `probe` until it yields a value or [`WAIT`] passes.
pub async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + WAIT;
    let mut last_error = None;
    loop {
        match probe().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if Instant::now() > deadline {
            return Err(match last_error {
                Some(e) => e.context(format!("waited {} s for {what}", WAIT.as_secs())),
                None => anyhow!("waited {} s for {what}", WAIT.as_secs()),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

impl Run {
    pub fn new(
        platform: Platform,
        chromedriver: ChromeDriver,
        chromium: &Path,
        artifacts: PathBuf,
    ) -> Run {
        let downloads = artifacts.join("downloads");
        Run {
            platform,
            chromedriver,
            chromium: chromium.display().to_string(),
            driver: None,
            http: reqwest::Client::new(),
            artifacts,
            downloads,
            shots: 0,
            step: "start".into(),
        }
    }

    pub fn wd(&self) -> Result<&Driver> {
        self.driver.as_ref().context("no browser open")
    }

    /// A new browser (its own profile and cookies) for the next person, the previous closed.
    pub async fn new_browser(&mut self) -> Result<()> {
        if let Some(old) = self.driver.take() {
            let _ = old.quit().await;
        }
        std::fs::create_dir_all(&self.downloads)?;
        let caps = chromium_capabilities(&self.chromium, &self.downloads.display().to_string());
        self.driver = Some(Driver::start(&self.chromedriver.base, caps).await?);
        Ok(())
    }

    /// Puts the current browser aside in `other` and takes the one held there (none: no
    /// browser until `new_browser`), so that two people keep their own sessions in turn.
    pub fn swap_browser(&mut self, other: &mut Option<Driver>) {
        std::mem::swap(&mut self.driver, other);
    }

    /// Clicks `css` where no new page follows (a download link).
    pub async fn click(&self, css: &str) -> Result<()> {
        let e = self.find(css).await?;
        self.centre(&e).await?;
        self.wd()?.click(&e).await
    }

    /// Waits for a finished download whose name ends with `suffix` in the browser's download
    /// directory, and returns its bytes.
    pub async fn wait_download(&self, suffix: &str) -> Result<Vec<u8>> {
        wait_for(&format!("a download *{suffix}"), || async {
            for entry in std::fs::read_dir(&self.downloads)? {
                let path = entry?.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.ends_with(suffix) {
                    return Ok(Some(std::fs::read(&path)?));
                }
            }
            Ok(None)
        })
        .await
    }

    pub async fn close(&mut self) {
        if let Some(d) = self.driver.take() {
            let _ = d.quit().await;
        }
    }

    /// The next step's name, printed and used in failure reports.
    pub fn step(&mut self, name: &str) {
        println!("browser: step: {name}");
        self.step = name.to_owned();
    }

    /// Opens `url` and waits for the page to be loaded.
    pub async fn open(&self, url: &str) -> Result<()> {
        self.wd()?.goto(url).await?;
        self.wait_loaded().await
    }

    pub async fn url(&self) -> Result<String> {
        self.wd()?.current_url().await
    }

    async fn wait_loaded(&self) -> Result<()> {
        wait_for("the page to load", || async {
            let state = self
                .wd()?
                .execute("return document.readyState", vec![])
                .await?;
            Ok((state == "complete").then_some(()))
        })
        .await
    }

    /// Waits until the browser is at a URL starting with `prefix` and the page has loaded.
    pub async fn wait_url(&self, prefix: &str) -> Result<String> {
        let url = wait_for(&format!("a page at {prefix}"), || async {
            let url = self.url().await?;
            Ok(url.starts_with(prefix).then_some(url))
        })
        .await?;
        self.wait_loaded().await?;
        Ok(url)
    }

    /// The visible text of the page.
    pub async fn text(&self) -> Result<String> {
        let v = self
            .wd()?
            .execute(
                "return document.body ? document.body.innerText : ''",
                vec![],
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Waits until the page shows `text`.
    pub async fn wait_text(&self, text: &str) -> Result<()> {
        wait_for(&format!("the text “{text}”"), || async {
            Ok(self.text().await?.contains(text).then_some(()))
        })
        .await
    }

    /// Fails unless the page shows every one of `texts`.
    pub async fn expect_texts(&self, texts: &[&str]) -> Result<()> {
        let page = self.text().await?;
        let missing: Vec<_> = texts.iter().filter(|t| !page.contains(**t)).collect();
        if !missing.is_empty() {
            bail!("the page does not show {missing:?}");
        }
        Ok(())
    }

    /// Waits for a displayed element matching `css`.
    pub async fn find(&self, css: &str) -> Result<Element> {
        wait_for(&format!("an element {css}"), || async {
            let wd = self.wd()?;
            for e in wd.find_all(css).await? {
                let shown = wd
                    .execute(
                        "const e = arguments[0]; return !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);",
                        vec![e.as_arg()],
                    )
                    .await?;
                if shown == Value::Bool(true) {
                    return Ok(Some(e));
                }
            }
            Ok(None)
        })
        .await
    }

    pub async fn exists(&self, css: &str) -> Result<bool> {
        Ok(!self.wd()?.find_all(css).await?.is_empty())
    }

    /// Types `value` into the field `css` (its previous content replaced). Date inputs are set
    /// directly: typed keys would depend on the browser's locale-specific date widget.
    pub async fn fill(&self, css: &str, value: &str) -> Result<()> {
        let e = self.find(css).await?;
        let wd = self.wd()?;
        let kind = wd
            .execute(
                "return (arguments[0].getAttribute('type') || '').toLowerCase()",
                vec![e.as_arg()],
            )
            .await?;
        if kind == "date" {
            wd.execute(
                "const e = arguments[0]; e.value = arguments[1]; e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true}));",
                vec![e.as_arg(), json!(value)],
            )
            .await?;
        } else {
            wd.clear(&e).await?;
            wd.send_keys(&e, value).await?;
        }
        let now = wd
            .execute("return arguments[0].value", vec![e.as_arg()])
            .await?;
        if now.as_str() != Some(value) {
            bail!("{css} holds {now} after typing {value:?}");
        }
        Ok(())
    }

    /// Chooses the option with `value` in the select `css` by clicking it.
    pub async fn pick(&self, css: &str, value: &str) -> Result<()> {
        let select = self.find(css).await?;
        self.centre(&select).await?;
        let wd = self.wd()?;
        // Options have no box of their own; WebDriver clicks them through their select.
        let option = wd
            .find_all(&format!("{css} option[value=\"{value}\"]"))
            .await?
            .into_iter()
            .next()
            .with_context(|| format!("{css} has no option {value:?}"))?;
        wd.click(&option).await?;
        let now = wd
            .execute("return arguments[0].value", vec![select.as_arg()])
            .await?;
        if now.as_str() != Some(value) {
            bail!("{css} holds {now} after choosing {value:?}");
        }
        Ok(())
    }

    /// Chooses the option shown as `label` in the select `css` (for lists whose values are
    /// internal ids).
    pub async fn pick_label(&self, css: &str, label: &str) -> Result<()> {
        self.find(css).await?;
        let wd = self.wd()?;
        for option in wd.find_all(&format!("{css} option")).await? {
            let text = wd
                .execute(
                    "return arguments[0].textContent.trim()",
                    vec![option.as_arg()],
                )
                .await?;
            if text.as_str() == Some(label) {
                return wd.click(&option).await;
            }
        }
        bail!("{css} has no option “{label}”")
    }

    /// Attaches `file` to the file input `css`.
    pub async fn attach(&self, css: &str, file: &Path) -> Result<()> {
        let e = self
            .wd()?
            .find_all(css)
            .await?
            .into_iter()
            .next()
            .with_context(|| format!("no file input {css}"))?;
        self.wd()?
            .send_keys(&e, &file.canonicalize()?.display().to_string())
            .await
    }

    /// Scrolls `e` to the middle of the window, out from under sticky bars (a form's action
    /// bar would otherwise take the click meant for a field near the window's edge).
    async fn centre(&self, e: &Element) -> Result<()> {
        self.wd()?
            .execute(
                "arguments[0].scrollIntoView({block: 'center', inline: 'nearest'})",
                vec![e.as_arg()],
            )
            .await?;
        Ok(())
    }

    /// Unticks the checkbox `css` if it is ticked.
    pub async fn untick(&self, css: &str) -> Result<()> {
        let e = self.find(css).await?;
        let wd = self.wd()?;
        let checked = wd
            .execute("return arguments[0].checked", vec![e.as_arg()])
            .await?;
        if checked == Value::Bool(true) {
            self.centre(&e).await?;
            wd.click(&e).await?;
        }
        Ok(())
    }

    /// Ticks the checkbox `css` unless it is ticked.
    pub async fn tick(&self, css: &str) -> Result<()> {
        let e = self.find(css).await?;
        let wd = self.wd()?;
        let checked = wd
            .execute("return arguments[0].checked", vec![e.as_arg()])
            .await?;
        if checked != Value::Bool(true) {
            self.centre(&e).await?;
            wd.click(&e).await?;
        }
        Ok(())
    }

    /// Clicks `css` (a link or a submit button) and waits for the next page to load.
    pub async fn press(&self, css: &str) -> Result<()> {
        let e = self.find(css).await?;
        self.centre(&e).await?;
        let wd = self.wd()?;
        // A mark on the current document: gone once the browser shows another one.
        wd.execute("window.__tongyiOldPage = true", vec![]).await?;
        wd.click(&e).await?;
        wait_for(&format!("the page after pressing {css}"), || async {
            let v = self
                .wd()?
                .execute(
                    "return window.__tongyiOldPage !== true && document.readyState === 'complete'",
                    vec![],
                )
                .await;
            // While the old page unloads a script may fail; that is no answer yet.
            Ok((v.ok() == Some(Value::Bool(true))).then_some(()))
        })
        .await
    }

    /// Answers the image captcha shown on the page through the IdP's test aid
    /// `GET /dev/captcha/{id}` (where a person would read the picture).
    pub async fn answer_captcha(&self) -> Result<()> {
        let id = self
            .wd()?
            .execute(
                "const e = document.querySelector('input[name=captcha_id]'); return e ? e.value : null",
                vec![],
            )
            .await?;
        let id = id.as_str().context("the page shows no captcha")?.to_owned();
        let res = self
            .http
            .get(format!("{}/dev/captcha/{id}", self.platform.idp))
            .send()
            .await?;
        if !res.status().is_success() {
            bail!(
                "the captcha test aid answered {} (is TONGYI_DEV_CAPTCHA_ANSWERS set?)",
                res.status()
            );
        }
        let answer = res.text().await?;
        self.fill("#captcha", &answer).await
    }

    /// The newest SMS code sent to `mobile`, from the development outbox `/dev/sms-outbox`
    /// (the page masks the mobile: its first two and last three digits are shown).
    pub async fn sms_code(&self, mobile: &str, not: Option<&str>) -> Result<String> {
        let masked = format!("{}*****{}", &mobile[..2], &mobile[mobile.len() - 3..]);
        wait_for(&format!("an SMS to {masked}"), || async {
            let html = self
                .http
                .get(format!("{}/dev/sms-outbox", self.platform.idp))
                .send()
                .await?
                .text()
                .await?;
            // Rows are newest first: <tr><td>time</td><td>mobile</td><td>template</td><td>text</td></tr>
            for row in html.split("<tr>").skip(1) {
                let cells: Vec<&str> = row
                    .split("<td")
                    .skip(1)
                    .map(|c| c.split_once('>').map_or("", |(_, rest)| rest))
                    .map(|c| c.split("</td>").next().unwrap_or(""))
                    .collect();
                if cells.len() == 4 && cells[1] == masked {
                    let code: String = cells[3]
                        .chars()
                        .skip_while(|c| !c.is_ascii_digit())
                        .take_while(|c| c.is_ascii_digit())
                        .collect();
                    if code.len() == 6 && Some(code.as_str()) != not {
                        return Ok(Some(code));
                    }
                    return Ok(None);
                }
            }
            Ok(None)
        })
        .await
    }

    /// What the accessibility checks find on the current page at the current window size.
    pub async fn page_problems(&self) -> Result<Vec<String>> {
        let problems = self.wd()?.execute(a11y::CHECKS, vec![]).await?;
        Ok(serde_json::from_value(problems)?)
    }

    /// Accessibility checks at the current window size.
    async fn check_page(&self, size: &str) -> Result<()> {
        let problems = self.page_problems().await?;
        if !problems.is_empty() {
            bail!(
                "accessibility checks failed at {size} on {}:\n  {}",
                self.url().await?,
                problems.join("\n  ")
            );
        }
        Ok(())
    }

    fn shot_path(&self, label: &str) -> PathBuf {
        self.artifacts
            .join(format!("{:02}-{label}.png", self.shots))
    }

    /// Resizes the window to `width` × `height` and waits for the page to follow.
    async fn resize(&self, width: u32, height: u32) -> Result<()> {
        self.wd()?.set_window_size(width, height).await?;
        wait_for(&format!("the page at {width} px"), || async {
            let w = self
                .wd()?
                .execute("return window.innerWidth", vec![])
                .await?;
            Ok((w.as_u64() == Some(u64::from(width))).then_some(()))
        })
        .await
    }

    /// A screenshot of the whole page at `width` (the window grown to the page's height for
    /// the picture, then set back to `height`).
    async fn full_page_shot(&self, path: &Path, width: u32, height: u32) -> Result<()> {
        let wd = self.wd()?;
        let sizes = wd
            .execute(
                "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]",
                vec![],
            )
            .await?;
        let page = sizes[0].as_u64().unwrap_or(u64::from(height)) as u32;
        let frame = sizes[1].as_u64().unwrap_or(0) as u32;
        let tall = (page + frame).clamp(height, 6000);
        if tall != height {
            wd.set_window_size(width, tall).await?;
        }
        let png = wd.screenshot().await;
        if tall != height {
            wd.set_window_size(width, height).await?;
        }
        std::fs::write(path, png?)?;
        Ok(())
    }

    /// After a step: accessibility checks at 1280×720 and at 390 px wide, and a whole-page
    /// screenshot at each width.
    pub async fn checkpoint(&mut self, label: &str) -> Result<()> {
        self.shots += 1;
        self.check_page("1280×720").await?;
        self.full_page_shot(&self.shot_path(label), DESKTOP.0, DESKTOP.1)
            .await?;
        self.resize(PHONE.0, PHONE.1).await?;
        let phone = async {
            self.check_page("390 px").await?;
            self.full_page_shot(&self.shot_path(&format!("{label}-390px")), PHONE.0, PHONE.1)
                .await
        }
        .await;
        self.resize(DESKTOP.0, DESKTOP.1).await?;
        phone
    }

    /// What a failing step leaves for the developer: its name, the page's URL and text, a
    /// screenshot, and the end of each app's log.
    pub async fn report_failure(&mut self, error: &anyhow::Error) -> String {
        let mut report = format!(
            "browser journey failed at step “{}”: {error:#}\n",
            self.step
        );
        if self.driver.is_some() {
            let url = self
                .url()
                .await
                .unwrap_or_else(|e| format!("(unknown: {e})"));
            let text = self
                .text()
                .await
                .unwrap_or_else(|e| format!("(unknown: {e})"));
            report.push_str(&format!("page URL: {url}\npage text:\n{text}\n"));
            self.shots += 1;
            let path = self.shot_path("FAILED");
            if let Ok(Ok(png)) = tokio::time::timeout(Duration::from_secs(30), async {
                self.wd()?.screenshot().await
            })
            .await
            {
                if std::fs::write(&path, png).is_ok() {
                    report.push_str(&format!("screenshot: {}\n", path.display()));
                }
            }
        }
        for app in ["idp", "portal", "incubator", "makerspace"] {
            let log = self
                .artifacts
                .join("platform/logs")
                .join(format!("{app}.log"));
            report.push_str(&format!(
                "--- last lines of {}\n{}\n",
                log.display(),
                tail(&log, 15)
            ));
        }
        report
    }
}
