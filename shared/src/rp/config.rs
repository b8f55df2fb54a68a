//! What a relying party must know about itself and its OpenID provider: the `[rp]` table of an
//! app's config file, with environment overrides.

use serde::Deserialize;

use super::{clock::Clock, error::RpError};
use crate::client_addr::TrustedProxies;

/// The scopes every Tongyi relying party asks for besides `openid`.
pub const DEFAULT_SCOPES: [&str; 4] = ["profile", "account", "org", "grants"];

/// The `[rp]` table of an app's configuration. `Debug` leaves the client secret out.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpConfig {
    /// This app's external base URL without a trailing slash, e.g. `http://127.0.0.1:8081`.
    /// The redirect URI (`{base_url}/auth/callback`) and the post-logout redirect URI
    /// (`{base_url}/`) derive from it and must be registered exactly at the IdP.
    pub base_url: String,
    /// The IdP's issuer identifier; discovery starts at `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// Sent with HTTP Basic authentication (`client_secret_basic`) to the token endpoint.
    pub client_secret: String,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// How long start-up keeps retrying discovery while the IdP is still starting.
    #[serde(default = "default_discovery_timeout")]
    pub discovery_timeout_secs: u64,
    /// Where sessions and pending logins are kept: empty (the default) for this process's
    /// memory (one instance; a restart logs users out), or a `redis://` URL shared by every
    /// instance of the app, which then act as one. Redis 7 or newer.
    #[serde(default)]
    pub redis_url: String,
    /// Prepended to every Redis key of this app (followed by `rp:{client_id}:`), so that
    /// several deployments can share one Redis.
    #[serde(default)]
    pub redis_prefix: String,
    /// The reverse proxies (CIDR ranges or addresses) whose `Forwarded` / `X-Forwarded-For`
    /// name the client; empty (the default) means the socket's peer is the client.
    #[serde(default, deserialize_with = "trusted_proxies")]
    pub trusted_proxies: TrustedProxies,
    /// Address of the Prometheus endpoint (`GET /metrics`), apart from the public port so that
    /// only the monitoring network reaches it. Empty (the default): no metrics endpoint.
    #[serde(default)]
    pub metrics_bind: String,
    /// The grant an account must hold to be let in (SPEC §6). Set by a subsystem app from its
    /// own config, never read from the `[rp]` table.
    #[serde(skip)]
    pub required_grant: Option<RequiredGrant>,
    /// The time the RP decides expiries by. The system clock unless a test installs a clone it
    /// keeps, to move time forward; never read from the `[rp]` table.
    #[serde(skip)]
    pub clock: Clock,
    /// Where the app counts its requests and logins; shared by the clones of this config, so
    /// the metrics endpoint shows what the app counted. Never read from the `[rp]` table.
    #[serde(skip)]
    pub metrics: super::RpMetrics,
}

/// A subsystem's admission rule: the `grants` claim must contain `code`.
#[derive(Clone, Debug)]
pub struct RequiredGrant {
    /// The subsystem code, e.g. `incubator`.
    pub code: String,
    /// The subsystem's name as users know it, for the refusal page.
    pub system_name: String,
    /// A role (`roles` claim) that admits without the grant: the bureau's reviewers, who
    /// belong to no applicant unit and so hold no grants.
    pub admitting_role: Option<crate::roles::Role>,
}

impl std::fmt::Debug for RpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpConfig")
            .field("base_url", &self.base_url)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("discovery_timeout_secs", &self.discovery_timeout_secs)
            .field("redis_url", &redacted_url(&self.redis_url))
            .field("redis_prefix", &self.redis_prefix)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("metrics_bind", &self.metrics_bind)
            .field("required_grant", &self.required_grant)
            .field("clock", &self.clock)
            .finish()
    }
}

fn default_scopes() -> Vec<String> {
    DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()
}

fn default_discovery_timeout() -> u64 {
    20
}

/// A bad entry names the setting, so that the start-up error says what to fix.
fn trusted_proxies<'de, D: serde::Deserializer<'de>>(d: D) -> Result<TrustedProxies, D::Error> {
    let entries = Vec::<String>::deserialize(d)?;
    TrustedProxies::parse(&entries)
        .map_err(|e| serde::de::Error::custom(format!("rp.trusted_proxies: {e}")))
}

/// A Redis URL may carry a password: `Debug` shows the scheme only.
fn redacted_url(url: &str) -> &str {
    match url.split_once("://") {
        Some((scheme, _)) => scheme,
        None if url.is_empty() => "",
        None => "<invalid>",
    }
}

impl RpConfig {
    /// Environment variables `{prefix}BASE_URL`, `{prefix}ISSUER`, `{prefix}CLIENT_ID`,
    /// `{prefix}CLIENT_SECRET`, `{prefix}REDIS_URL`, `{prefix}REDIS_PREFIX` and
    /// `{prefix}TRUSTED_PROXIES` (comma-separated) and `{prefix}METRICS_BIND` win over the file.
    pub fn apply_env(
        &mut self,
        prefix: &str,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<(), RpError> {
        let set = |target: &mut String, name: &str| {
            if let Some(v) = var(&format!("{prefix}{name}")) {
                *target = v;
            }
        };
        set(&mut self.base_url, "BASE_URL");
        set(&mut self.issuer, "ISSUER");
        set(&mut self.client_id, "CLIENT_ID");
        set(&mut self.client_secret, "CLIENT_SECRET");
        set(&mut self.redis_url, "REDIS_URL");
        set(&mut self.redis_prefix, "REDIS_PREFIX");
        set(&mut self.metrics_bind, "METRICS_BIND");
        if let Some(v) = var(&format!("{prefix}TRUSTED_PROXIES")) {
            let entries: Vec<&str> = v.split(',').filter(|e| !e.trim().is_empty()).collect();
            self.trusted_proxies = TrustedProxies::parse(&entries)
                .map_err(|e| RpError::config("rp.trusted_proxies", e))?;
        }
        Ok(())
    }

    /// Checks the values; `production` also refuses plain http and the public demo secrets.
    pub fn validate(&self, production: bool) -> Result<(), RpError> {
        let invalid = |field: &'static str, reason: &str| RpError::Config {
            field,
            reason: reason.to_owned(),
        };
        for (field, value) in [("rp.base_url", &self.base_url), ("rp.issuer", &self.issuer)] {
            let url =
                url::Url::parse(value).map_err(|e| invalid(field, &format!("not a URL: {e}")))?;
            if value.ends_with('/') || url.query().is_some() || url.fragment().is_some() {
                return Err(invalid(
                    field,
                    "must not end with '/' or carry a query or fragment",
                ));
            }
            match url.scheme() {
                "https" => {}
                "http" if !production => {}
                _ => return Err(invalid(field, "must be https in production")),
            }
        }
        let id_ok = !self.client_id.is_empty()
            && self.client_id.len() <= 64
            && self
                .client_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !id_ok {
            // The client id names our cookies, so it must be a plain token.
            return Err(invalid(
                "rp.client_id",
                "must be 1-64 letters, digits, '_' or '-'",
            ));
        }
        if self.client_secret.is_empty() {
            return Err(invalid("rp.client_secret", "must not be empty"));
        }
        if production && self.client_secret.starts_with("demo-") {
            return Err(invalid(
                "rp.client_secret",
                "the demo secret cannot be used in production; set the client secret from the IdP",
            ));
        }
        if !self.redis_url.is_empty()
            && !self.redis_url.starts_with("redis://")
            && !self.redis_url.starts_with("rediss://")
        {
            return Err(invalid(
                "rp.redis_url",
                "must be empty (sessions in memory) or a redis:// or rediss:// URL",
            ));
        }
        if !self.metrics_bind.is_empty()
            && self.metrics_bind.parse::<std::net::SocketAddr>().is_err()
        {
            return Err(invalid(
                "rp.metrics_bind",
                "must be empty (no metrics endpoint) or an address:port such as 127.0.0.1:9101",
            ));
        }
        if !self.scopes.iter().all(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        }) {
            return Err(invalid("rp.scopes", "each scope must be a plain token"));
        }
        Ok(())
    }

    /// Where the IdP sends the browser back with the authorization code.
    pub fn redirect_uri(&self) -> String {
        format!("{}/auth/callback", self.base_url)
    }

    /// Where the IdP sends the browser after logout.
    pub fn post_logout_redirect_uri(&self) -> String {
        format!("{}/", self.base_url)
    }

    /// Browsers drop `Secure` cookies on plain http, so they are set only on https.
    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RpConfig {
        serde_json::from_value(serde_json::json!({
            "base_url": "http://127.0.0.1:8081",
            "issuer": "http://127.0.0.1:8080",
            "client_id": "portal",
            "client_secret": "demo-portal-secret",
        }))
        .unwrap()
    }

    #[test]
    fn metrics_bind_is_empty_or_an_address_and_port() {
        let mut c = sample();
        c.apply_env("P_", |k| {
            (k == "P_METRICS_BIND").then(|| "127.0.0.1:9101".to_owned())
        })
        .unwrap();
        assert_eq!(c.metrics_bind, "127.0.0.1:9101");
        c.validate(false).unwrap();
        c.metrics_bind = "localhost".into();
        let err = c.validate(false).unwrap_err().to_string();
        assert!(err.contains("rp.metrics_bind"), "{err}");
    }

    #[test]
    fn demo_values_are_valid_outside_production_only() {
        let c = sample();
        c.validate(false).unwrap();
        assert_eq!(c.redirect_uri(), "http://127.0.0.1:8081/auth/callback");
        assert_eq!(c.post_logout_redirect_uri(), "http://127.0.0.1:8081/");
        assert_eq!(c.scopes, DEFAULT_SCOPES);
        let err = c.validate(true).unwrap_err().to_string();
        assert!(err.contains("https"), "{err}");
    }

    #[test]
    fn env_overrides_and_bad_values() {
        let mut c = sample();
        c.apply_env("TONGYI_PORTAL_", |k| {
            (k == "TONGYI_PORTAL_BASE_URL").then(|| "https://portal.example.gov.cn".to_string())
        })
        .unwrap();
        assert_eq!(c.base_url, "https://portal.example.gov.cn");
        assert!(c.secure_cookies());
        let mut c = sample();
        c.base_url.push('/');
        assert!(c.validate(false).is_err());
        let mut c = sample();
        c.client_id = "por tal".into();
        assert!(c.validate(false).is_err());
        let mut c = sample();
        c.base_url = "https://p.example".into();
        c.issuer = "https://id.example".into();
        let err = c.validate(true).unwrap_err().to_string();
        assert!(err.contains("demo secret"), "{err}");
        c.client_secret = "generated-secret".into();
        c.validate(true).unwrap();
        assert!(!format!("{c:?}").contains("generated-secret"));
    }

    #[test]
    fn redis_settings_default_to_memory_and_follow_the_environment() {
        let mut c = sample();
        assert_eq!((c.redis_url.as_str(), c.redis_prefix.as_str()), ("", ""));
        c.apply_env("P_", |k| match k {
            "P_REDIS_URL" => Some("redis://:pw@10.0.0.5:6379".into()),
            "P_REDIS_PREFIX" => Some("bureau:".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.redis_url, "redis://:pw@10.0.0.5:6379");
        assert_eq!(c.redis_prefix, "bureau:");
        c.validate(false).unwrap();
        assert!(!format!("{c:?}").contains("pw"), "{c:?}");
        c.redis_url = "10.0.0.5:6379".into();
        let err = c.validate(false).unwrap_err().to_string();
        assert!(err.contains("rp.redis_url"), "{err}");
    }

    #[test]
    fn trusted_proxies_are_parsed_and_a_bad_cidr_is_refused() {
        let base = "base_url = \"http://p\"\nissuer = \"http://i\"\nclient_id = \"p\"\nclient_secret = \"s\"\n";
        let c: RpConfig = toml::from_str(base).unwrap();
        assert!(c.trusted_proxies.is_empty(), "the socket's peer by default");
        let c: RpConfig = toml::from_str(&format!(
            "{base}trusted_proxies = [\"10.0.0.0/8\", \"::1\"]"
        ))
        .unwrap();
        assert!(!c.trusted_proxies.is_empty());
        let err = toml::from_str::<RpConfig>(&format!("{base}trusted_proxies = [\"10.0.0.0/33\"]"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("rp.trusted_proxies"), "{err}");
        assert!(
            err.contains("not an IP address or CIDR range: \"10.0.0.0/33\""),
            "{err}"
        );
        let mut c = sample();
        let err = c
            .apply_env("P_", |k| {
                (k == "P_TRUSTED_PROXIES").then(|| "10.0.0.1, proxy.lan".into())
            })
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("config value `rp.trusted_proxies` is invalid"),
            "{err}"
        );
        assert!(err.contains("\"proxy.lan\""), "{err}");
        c.apply_env("P_", |k| {
            (k == "P_TRUSTED_PROXIES").then(|| "10.0.0.1,fd00::/8".into())
        })
        .unwrap();
        assert!(!c.trusted_proxies.is_empty());
    }
}
