//! A relying party's Prometheus metrics: its HTTP answers ([`crate::metrics`]) and what the
//! login glue did: logins completed or refused at the callback, back-channel logouts, token
//! refreshes. One registry per [`RpMetrics`], which lives in the [`super::RpConfig`] so that
//! the process serving the app and the one serving `rp.metrics_bind` share it.

use std::sync::Arc;

use prometheus_client::{
    metrics::{counter::Counter, family::Family},
    registry::Registry,
};

use crate::metrics::HttpMetrics;

type Outcome = Vec<(&'static str, &'static str)>;

/// Every metric of one relying party. Cheap to clone (shared handles).
#[derive(Clone)]
pub struct RpMetrics {
    registry: Arc<Registry>,
    http: HttpMetrics,
    logins: Family<Outcome, Counter>,
    backchannel: Family<Outcome, Counter>,
    refreshes: Family<Outcome, Counter>,
}

impl Default for RpMetrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let http = HttpMetrics::register(&mut registry);
        let logins = Family::<Outcome, Counter>::default();
        let backchannel = Family::<Outcome, Counter>::default();
        let refreshes = Family::<Outcome, Counter>::default();
        registry.register(
            "tongyi_rp_logins",
            "Logins at the callback by outcome (completed, not_granted, failed)",
            logins.clone(),
        );
        registry.register(
            "tongyi_rp_backchannel_logouts",
            "Back-channel logout requests by outcome (ended, refused, unavailable)",
            backchannel.clone(),
        );
        registry.register(
            "tongyi_rp_refreshes",
            "Token refreshes by outcome (renewed, ended, unreachable)",
            refreshes.clone(),
        );
        RpMetrics {
            registry: Arc::new(registry),
            http,
            logins,
            backchannel,
            refreshes,
        }
    }
}

impl std::fmt::Debug for RpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpMetrics").finish_non_exhaustive()
    }
}

impl RpMetrics {
    pub fn http(&self) -> &HttpMetrics {
        &self.http
    }

    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        crate::metrics::render(&self.registry)
    }

    pub(crate) fn login(&self, outcome: &'static str) {
        self.logins.get_or_create(&vec![("outcome", outcome)]).inc();
    }

    pub(crate) fn backchannel(&self, outcome: &'static str) {
        self.backchannel
            .get_or_create(&vec![("outcome", outcome)])
            .inc();
    }

    pub(crate) fn refresh(&self, outcome: &'static str) {
        self.refreshes
            .get_or_create(&vec![("outcome", outcome)])
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_instance_counts_apart() {
        let (a, b) = (RpMetrics::default(), RpMetrics::default());
        a.login("completed");
        a.refresh("renewed");
        a.backchannel("ended");
        a.http().request("/auth/callback", "GET", 303, 0.01);
        let text = a.render();
        for line in [
            r#"tongyi_rp_logins_total{outcome="completed"} 1"#,
            r#"tongyi_rp_refreshes_total{outcome="renewed"} 1"#,
            r#"tongyi_rp_backchannel_logouts_total{outcome="ended"} 1"#,
            r#"tongyi_http_requests_total{route="/auth/callback",method="GET",status="303"} 1"#,
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        assert!(!b.render().contains("outcome=\"completed\"} 1"));
        // A clone is the same registry.
        a.clone().login("completed");
        assert!(a
            .render()
            .contains(r#"tongyi_rp_logins_total{outcome="completed"} 2"#));
    }
}
