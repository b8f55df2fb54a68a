//! The IdP's Prometheus metrics: one registry per process, counted where things happen
//! (requests in the HTTP layer, logins and tokens in the domain), exposed as text by the IdP
//! on `metrics_bind`, never on the public port. Labels never carry personal data: routes are
//! the router's templates (`/api/units/{id}`), not paths.

use std::{
    collections::HashSet,
    sync::{Arc, RwLock},
};

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

type StaticLabels = Vec<(&'static str, &'static str)>;

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

/// Every metric of the process. Cheap to clone (shared handles).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    routes: Arc<Interned>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    logins: Family<StaticLabels, Counter>,
    tokens: Family<StaticLabels, Counter>,
    sms: Family<StaticLabels, Counter>,
    backchannel_failed: Counter,
    argon2_in_flight: Gauge,
    argon2_wait: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let logins = Family::<StaticLabels, Counter>::default();
        let tokens = Family::<StaticLabels, Counter>::default();
        let sms = Family::<StaticLabels, Counter>::default();
        let backchannel_failed = Counter::default();
        let argon2_in_flight = Gauge::default();
        let argon2_wait = Histogram::new(exponential_buckets(0.001, 2.0, 12));
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
        registry.register(
            "tongyi_logins",
            "Login attempts by method (password, sms) and outcome",
            logins.clone(),
        );
        registry.register(
            "tongyi_tokens_issued",
            "Token responses by grant type",
            tokens.clone(),
        );
        registry.register(
            "tongyi_sms",
            "SMS one-time codes by outcome (sent, refused, failed)",
            sms.clone(),
        );
        registry.register(
            "tongyi_backchannel_logout_failed",
            "Back-channel logout deliveries that failed",
            backchannel_failed.clone(),
        );
        registry.register(
            "tongyi_argon2_in_flight",
            "Password verifications running now",
            argon2_in_flight.clone(),
        );
        registry.register(
            "tongyi_argon2_wait_seconds",
            "Time a password verification waited for a free slot",
            argon2_wait.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            routes: Arc::default(),
            requests,
            latency,
            logins,
            tokens,
            sms,
            backchannel_failed,
            argon2_in_flight,
            argon2_wait,
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

    pub fn login(&self, method: &'static str, outcome: &'static str) {
        self.logins
            .get_or_create(&vec![("method", method), ("outcome", outcome)])
            .inc();
    }

    pub fn token_issued(&self, grant_type: &'static str) {
        self.tokens
            .get_or_create(&vec![("grant_type", grant_type)])
            .inc();
    }

    pub fn sms(&self, outcome: &'static str) {
        self.sms.get_or_create(&vec![("outcome", outcome)]).inc();
    }

    pub fn backchannel_failed(&self) {
        self.backchannel_failed.inc();
    }

    /// A password verification starts after waiting `seconds` for its slot; the guard ends
    /// it.
    pub fn argon2_started(&self, waited_seconds: f64) -> Argon2Guard {
        self.argon2_wait.observe(waited_seconds);
        self.argon2_in_flight.inc();
        Argon2Guard(self.argon2_in_flight.clone())
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Ends one password verification in the in-flight gauge when dropped.
pub struct Argon2Guard(Gauge);

impl Drop for Argon2Guard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_in_the_text_format() {
        let m = Metrics::new();
        m.request("/token", "POST", 200, 0.002);
        m.request("/token", "POST", 200, 0.003);
        m.login("password", "invalid");
        m.token_issued("client_credentials");
        {
            let _g = m.argon2_started(0.0);
            assert!(m.render().contains("tongyi_argon2_in_flight 1"));
        }
        let text = m.render();
        assert!(
            text.contains(
                r#"tongyi_http_requests_total{route="/token",method="POST",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"tongyi_logins_total{method="password",outcome="invalid"} 1"#));
        assert!(text.contains(r#"tongyi_tokens_issued_total{grant_type="client_credentials"} 1"#));
        assert!(text.contains("tongyi_argon2_in_flight 0"));
        assert!(text.contains(
            "tongyi_http_request_duration_seconds_count{route=\"/token\",method=\"POST\"} 2"
        ));
    }
}
