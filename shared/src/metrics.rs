//! What every Tongyi app counts about its HTTP answers, in Prometheus form: requests by route
//! template, method and status, and their latency. Each app registers these into its own
//! registry next to its own metrics and exposes the registry on a separate bind address, never
//! on the public port. Labels never carry personal data: routes are the router's templates
//! (`/api/units/{id}`), not paths.

use std::{
    collections::HashSet,
    sync::{Arc, RwLock},
};

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

/// The labels of one answered request. Route templates and method names are interned
/// (`&'static str`), so that counting a request allocates nothing on the hot paths (token,
/// JWKS, userinfo).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
    method: &'static str,
}

/// The route templates seen so far: a router has a fixed, small set of them, so each is
/// leaked once and then found by a read lock.
#[derive(Default)]
struct Interned(RwLock<HashSet<&'static str>>);

impl Interned {
    fn get(&self, s: &str) -> &'static str {
        if let Some(hit) = self.0.read().ok().and_then(|set| set.get(s).copied()) {
            return hit;
        }
        let Ok(mut set) = self.0.write() else {
            return "unknown";
        };
        if let Some(hit) = set.get(s) {
            return hit;
        }
        let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
        set.insert(leaked);
        leaked
    }
}

/// Standard methods by their static names; anything else is `other`, so that a client cannot
/// create label values.
fn method_name(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 4 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

/// The request counter and latency histogram of one app. Cheap to clone (shared handles).
#[derive(Clone)]
pub struct HttpMetrics {
    routes: Arc<Interned>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
}

impl HttpMetrics {
    /// Registers `tongyi_http_requests` and `tongyi_http_request_duration_seconds`.
    pub fn register(registry: &mut Registry) -> HttpMetrics {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "tongyi_http_requests",
            "HTTP requests by route template, method and status",
            requests.clone(),
        );
        registry.register(
            "tongyi_http_request_duration_seconds",
            "HTTP request latency by route template and method",
            latency.clone(),
        );
        HttpMetrics {
            routes: Arc::default(),
            requests,
            latency,
        }
    }

    /// One answered request: `route` is the matched template (or `unmatched`).
    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let route = self.routes.get(route);
        let method = method_name(method);
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route, method })
            .observe(seconds);
    }
}

/// The text exposition format of `registry`.
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, registry);
    out
}

/// Counts every answer of `router` by its route template (never the path, which may hold ids)
/// and status. Put it on the router with [`axum::Router::layer`], so that the matched route is
/// known.
pub async fn count_request(
    axum::extract::State(metrics): axum::extract::State<HttpMetrics>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    // Cheap clones (an Arc and a small enum), so that nothing is allocated per request.
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned();
    let method = req.method().clone();
    let res = next.run(req).await;
    metrics.request(
        route.as_ref().map_or("unmatched", |r| r.as_str()),
        method.as_str(),
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    res
}

/// `GET /metrics` in the text format of `registry`, for a listener apart from the public one.
pub fn router(registry: Arc<Registry>) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let text = render(&registry);
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    text,
                )
            }
        }),
    )
}

/// Serves [`router`] on `bind` in the background, for the life of the process; nothing when
/// `bind` is empty. Fails when the address cannot be listened on, so a typo shows at start-up.
pub async fn listen(bind: &str, registry: Arc<Registry>) -> Result<(), String> {
    if bind.is_empty() {
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind} for metrics: {e}"))?;
    tracing::info!(metrics_bind = %bind, "metrics listening");
    let router = router(registry);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_show_in_the_text_format_without_client_made_labels() {
        let mut registry = Registry::default();
        let m = HttpMetrics::register(&mut registry);
        m.request("/token", "POST", 200, 0.002);
        m.request("/token", "POST", 200, 0.003);
        m.request("/token", "BREW", 405, 0.001);
        let text = render(&registry);
        assert!(
            text.contains(
                r#"tongyi_http_requests_total{route="/token",method="POST",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"method="other",status="405"} 1"#), "{text}");
        assert!(text.contains(
            "tongyi_http_request_duration_seconds_count{route=\"/token\",method=\"POST\"} 2"
        ));
    }
}
