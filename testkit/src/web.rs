//! Playing the browser: a client that keeps cookies and shows each redirect, and reading what
//! pages carry (hidden form fields, `Location`).

use std::sync::Arc;

use reqwest::{
    cookie::{CookieStore, Jar},
    header,
    redirect::Policy,
    StatusCode,
};

/// A client that follows no redirect by itself and keeps no cookies (API calls, or a look at
/// one response).
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("an HTTP client")
}

/// A browser-like client: keeps cookies, follows no redirect by itself, so that tests see each
/// step.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("an HTTP client")
}

/// The value of the form field `name` carried in a page as `name="…" value="…"` (hidden
/// fields, CSRF tokens), with the entities the templates escape decoded.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden field {name} in page:\n{html}"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .replace("&#43;", "+")
        .replace("&amp;", "&")
}

/// The `Location` of a redirect.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(header::LOCATION)
        .unwrap_or_else(|| panic!("no Location in a {} response", res.status()))
        .to_str()
        .expect("an ASCII Location")
        .to_owned()
}

/// Posts `form` (`application/x-www-form-urlencoded`: pairs, a map or a struct) with `client`.
pub async fn post_form<F>(client: &reqwest::Client, url: &str, form: &F) -> reqwest::Response
where
    F: serde::Serialize + ?Sized,
{
    client
        .post(url)
        .form(form)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

/// What the browser shows after following every redirect.
#[derive(Debug)]
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

/// A browser for several apps: one cookie jar for all of them (cookies ignore ports, as in
/// real browsers), redirects followed by [`Browser::open`] and [`Browser::submit`] one at a
/// time so that the trail shows each step.
pub struct Browser {
    pub http: reqwest::Client,
    pub jar: Arc<Jar>,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            .build()
            .expect("an HTTP client");
        Browser { http, jar }
    }

    /// GETs `url` and follows the redirects.
    pub async fn open(&self, url: &str) -> Page {
        let res = self
            .http
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        self.follow(res, vec![url.to_owned()]).await
    }

    /// Posts a form to `url` and follows the redirects.
    pub async fn submit(&self, url: &str, form: &[(&str, &str)]) -> Page {
        let res = post_form(&self.http, url, form).await;
        self.follow(res, vec![url.to_owned()]).await
    }

    async fn follow(&self, mut res: reqwest::Response, mut trail: Vec<String>) -> Page {
        for _ in 0..20 {
            if !res.status().is_redirection() {
                return Page {
                    url: res.url().to_string(),
                    status: res.status(),
                    html: res.text().await.expect("a readable body"),
                    trail,
                };
            }
            let next = res
                .url()
                .join(&location(&res))
                .expect("a Location relative to the page")
                .to_string();
            trail.push(next.clone());
            res = self
                .http
                .get(&next)
                .send()
                .await
                .unwrap_or_else(|e| panic!("GET {next}: {e}"));
        }
        panic!("redirect loop: {trail:?}");
    }

    /// The cookies the browser would send to `url`.
    pub fn cookies_for(&self, url: &str) -> String {
        let url = url.parse().expect("an absolute URL");
        self.jar
            .cookies(&url)
            .and_then(|v| v.to_str().ok().map(str::to_owned))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_fields_are_decoded() {
        let html = r#"<input type="hidden" name="csrf" value="a&#43;b&amp;c"><input name="req" value="r1">"#;
        assert_eq!(hidden(html, "csrf"), "a+b&c");
        assert_eq!(hidden(html, "req"), "r1");
    }

    #[tokio::test]
    async fn the_browser_keeps_cookies_across_redirects() {
        use axum::{
            http::HeaderMap,
            response::{IntoResponse, Redirect},
            routing::get,
            Router,
        };
        let app = Router::new()
            .route(
                "/start",
                get(|| async {
                    (
                        [(header::SET_COOKIE, "seen=1; Path=/")],
                        Redirect::to("/end"),
                    )
                        .into_response()
                }),
            )
            .route(
                "/end",
                get(|headers: HeaderMap| async move {
                    let cookie = headers
                        .get(header::COOKIE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    format!("cookie={cookie}")
                }),
            );
        let served = crate::serve_router(app).await;
        let b = Browser::new();
        let page = b.open(&served.url("/start")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.html, "cookie=seen=1");
        assert!(page.passed(&served.url("/end")));
        assert_eq!(page.trail.len(), 2);
        assert_eq!(b.cookies_for(&served.base), "seen=1");
        let res = no_redirects()
            .get(served.url("/start"))
            .send()
            .await
            .unwrap();
        assert_eq!(location(&res), "/end");
    }
}
