//! The IdP's Prometheus metrics: one registry per process, counted where things happen
//! (requests in the HTTP layer, [`tongyi_shared::metrics`]; logins and tokens in the domain), exposed as text by the IdP
//! on `metrics_bind`, never on the public port. Labels never carry personal data: routes are
//! the router's templates (`/api/units/{id}`), not paths.

use std::sync::Arc;

use prometheus_client::{
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};
use tongyi_shared::metrics::HttpMetrics;

type StaticLabels = Vec<(&'static str, &'static str)>;

/// Every metric of the process. Cheap to clone (shared handles).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    http: HttpMetrics,
    logins: Family<StaticLabels, Counter>,
    tokens: Family<StaticLabels, Counter>,
    sms: Family<StaticLabels, Counter>,
    email: Family<StaticLabels, Counter>,
    backchannel_failed: Counter,
    realname_queued: Gauge,
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
        let http = HttpMetrics::register(&mut registry);
        let logins = Family::<StaticLabels, Counter>::default();
        let tokens = Family::<StaticLabels, Counter>::default();
        let sms = Family::<StaticLabels, Counter>::default();
        let email = Family::<StaticLabels, Counter>::default();
        let backchannel_failed = Counter::default();
        let realname_queued = Gauge::default();
        let argon2_in_flight = Gauge::default();
        let argon2_wait = Histogram::new(exponential_buckets(0.001, 2.0, 12));
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
            "tongyi_email_codes",
            "Email one-time codes by outcome (sent, refused, failed)",
            email.clone(),
        );
        registry.register(
            "tongyi_backchannel_logout_failed",
            "Back-channel logout deliveries that failed",
            backchannel_failed.clone(),
        );
        registry.register(
            "tongyi_realname_queued",
            "Real-name checks waiting for the upstream (outside service hours or after a failure), as last counted by this instance",
            realname_queued.clone(),
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
            http,
            logins,
            tokens,
            sms,
            email,
            backchannel_failed,
            realname_queued,
            argon2_in_flight,
            argon2_wait,
        }
    }

    /// The request counter and latency histogram, which the HTTP layer feeds.
    pub fn http(&self) -> &HttpMetrics {
        &self.http
    }

    /// The registry, for the metrics endpoint.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
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

    pub fn email(&self, outcome: &'static str) {
        self.email.get_or_create(&vec![("outcome", outcome)]).inc();
    }

    pub fn backchannel_failed(&self) {
        self.backchannel_failed.inc();
    }

    /// The depth of the real-name queue, counted in the database.
    pub fn realname_queued(&self, depth: i64) {
        self.realname_queued.set(depth);
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
        tongyi_shared::metrics::render(&self.registry)
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
        m.http().request("/token", "POST", 200, 0.002);
        m.http().request("/token", "POST", 200, 0.003);
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
