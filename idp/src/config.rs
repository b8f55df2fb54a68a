//! Typed configuration: a TOML file (`config/idp.toml` by default) with environment overrides,
//! validated once at start-up so that a bad value stops the process with a clear message.

use std::{net::SocketAddr, path::Path};

use base64::Engine;
use serde::Deserialize;

/// The key-encryption key that ships in `config/idp.toml` for the embedded demo. Production
/// mode refuses to start with it.
pub const DEMO_KEK: &str = "ZGVtby1vbmx5LWtlay1kby1ub3QtdXNlLWluLXByb2Q=";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The issuer identifier; every endpoint URL is derived from it.
    pub issuer: String,
    /// Address the HTTP server listens on.
    pub bind: String,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Empty: short-lived state stays in this process. `redis://…`: shared between instances.
    #[serde(default)]
    pub redis_url: String,
    /// Prefix for every Redis key, so that deployments and test runs never collide.
    #[serde(default = "default_redis_prefix")]
    pub redis_prefix: String,
    /// Base64 of the 32-byte key that encrypts signing keys at rest.
    pub kek: String,
    /// Production mode refuses demo secrets and insists on an https issuer.
    #[serde(default)]
    pub production: bool,
    /// TOML file with demo clients and accounts to create when missing (empty: none).
    #[serde(default)]
    pub seed_file: String,
    #[serde(default)]
    pub tokens: TokenConfig,
    #[serde(default)]
    pub login: LoginConfig,
    #[serde(default)]
    pub sms: SmsConfig,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    pub code_ttl_secs: i64,
    pub access_ttl_secs: i64,
    pub id_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    pub session_ttl_secs: i64,
    /// How long a running instance may serve a cached client record before reading it again.
    pub client_cache_secs: u64,
    /// How often a running instance checks the database for rotated signing keys.
    pub key_reload_secs: u64,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            code_ttl_secs: 60,
            access_ttl_secs: 300,
            id_ttl_secs: 300,
            refresh_ttl_secs: 8 * 3600,
            session_ttl_secs: 8 * 3600,
            client_cache_secs: 30,
            key_reload_secs: 30,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginConfig {
    /// Failed password attempts per account before a temporary lockout.
    pub max_failures_per_account: i64,
    /// Failed password attempts per client address before a temporary lockout.
    pub max_failures_per_address: i64,
    pub lockout_secs: i64,
    /// argon2id memory cost in KiB, iterations and parallelism for new password hashes.
    pub argon2_m_kib: u32,
    pub argon2_t: u32,
    pub argon2_p: u32,
}

impl Default for LoginConfig {
    fn default() -> Self {
        LoginConfig {
            max_failures_per_account: 5,
            max_failures_per_address: 30,
            lockout_secs: 900,
            argon2_m_kib: 19 * 1024,
            argon2_t: 2,
            argon2_p: 1,
        }
    }
}

/// Which SMS provider delivers one-time codes.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmsProviderKind {
    /// Development outbox: messages stay in memory and in the log. Refused in production.
    #[default]
    Dev,
    /// An HTTP gateway that accepts `{ "mobile", "template", "params" }` as JSON.
    Http,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    pub provider: SmsProviderKind,
    /// The gateway endpoint messages are POSTed to (`provider = "http"` only).
    pub gateway_url: String,
    /// Credential sent with every gateway request; prefer `TONGYI_SMS_API_KEY` to the file.
    pub api_key: String,
    /// Header that carries the key: `Authorization` sends `Bearer <key>`, any other name
    /// (e.g. `X-Api-Key`) sends the key as it is.
    pub api_key_header: String,
    /// Gateway request timeout, connection included.
    pub timeout_secs: u64,
    /// How many recent messages the development outbox keeps.
    pub outbox_size: usize,
    /// Codes sent to one mobile per day (Asia/Shanghai calendar day), all purposes together.
    pub daily_per_mobile: i64,
    /// Codes requested from one client address per day (an IPv6 /64 counts as one address).
    pub daily_per_address: i64,
    pub templates: SmsTemplates,
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            provider: SmsProviderKind::Dev,
            gateway_url: String::new(),
            api_key: String::new(),
            api_key_header: "Authorization".into(),
            timeout_secs: 5,
            outbox_size: 100,
            daily_per_mobile: 10,
            daily_per_address: 50,
            templates: SmsTemplates::default(),
        }
    }
}

// Hand-written so that the API key never reaches a log through `{:?}`.
impl std::fmt::Debug for SmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsConfig")
            .field("provider", &self.provider)
            .field("gateway_url", &self.gateway_url)
            .field("api_key", &if self.api_key.is_empty() { "" } else { "***" })
            .field("api_key_header", &self.api_key_header)
            .field("timeout_secs", &self.timeout_secs)
            .field("outbox_size", &self.outbox_size)
            .field("daily_per_mobile", &self.daily_per_mobile)
            .field("daily_per_address", &self.daily_per_address)
            .field("templates", &self.templates)
            .finish()
    }
}

/// Template ids registered at the SMS gateway, one per purpose. Each template receives the
/// parameters `code` and `minutes`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsTemplates {
    pub register: String,
    pub login: String,
    pub recover_password: String,
    pub change_mobile: String,
    pub bind_legacy: String,
    /// A unit admin reset a member's password: parameter `password` (the temporary one).
    pub member_password_reset: String,
    pub appeal: String,
    /// The result of an appeal; parameters `result` and `detail` instead of a code.
    pub appeal_result: String,
}

impl Default for SmsTemplates {
    fn default() -> Self {
        SmsTemplates {
            register: "SMS_REGISTER".into(),
            login: "SMS_LOGIN".into(),
            recover_password: "SMS_RECOVER_PASSWORD".into(),
            change_mobile: "SMS_CHANGE_MOBILE".into(),
            bind_legacy: "SMS_BIND_LEGACY".into(),
            member_password_reset: "SMS_MEMBER_PASSWORD_RESET".into(),
            appeal: "SMS_APPEAL".into(),
            appeal_result: "SMS_APPEAL_RESULT".into(),
        }
    }
}

fn default_redis_prefix() -> String {
    "tongyi:".into()
}

/// A configuration problem found at start-up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {source}")]
    Parse {
        path: String,
        source: toml::de::Error,
    },
    #[error("config value `{field}` is invalid: {reason}")]
    Invalid { field: &'static str, reason: String },
}

impl Config {
    /// Reads the file, applies environment overrides and validates the result.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut config: Config = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.display().to_string(),
            source,
        })?;
        config.apply_env(|k| std::env::var(k).ok())?;
        config.validate()?;
        Ok(config)
    }

    /// Environment variables win over the file; the names are listed in `config/README.md`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let set = |target: &mut String, name: &str| {
            if let Some(v) = var(name) {
                *target = v;
            }
        };
        set(&mut self.issuer, "TONGYI_IDP_ISSUER");
        set(&mut self.bind, "TONGYI_IDP_BIND");
        set(&mut self.database_url, "DATABASE_URL");
        set(&mut self.redis_url, "REDIS_URL");
        set(&mut self.redis_prefix, "TONGYI_REDIS_PREFIX");
        set(&mut self.kek, "TONGYI_KEK");
        set(&mut self.seed_file, "TONGYI_SEED_FILE");
        set(&mut self.sms.api_key, "TONGYI_SMS_API_KEY");
        set(&mut self.sms.gateway_url, "TONGYI_SMS_GATEWAY_URL");
        if let Some(v) = var("TONGYI_SMS_PROVIDER") {
            self.sms.provider = match v.as_str() {
                "dev" => SmsProviderKind::Dev,
                "http" => SmsProviderKind::Http,
                _ => {
                    return Err(ConfigError::Invalid {
                        field: "TONGYI_SMS_PROVIDER",
                        reason: format!("expected dev or http, got {v:?}"),
                    })
                }
            };
        }
        if let Some(v) = var("TONGYI_PRODUCTION") {
            self.production = match v.as_str() {
                "1" | "true" => true,
                "0" | "false" | "" => false,
                _ => {
                    return Err(ConfigError::Invalid {
                        field: "TONGYI_PRODUCTION",
                        reason: format!("expected true or false, got {v:?}"),
                    })
                }
            };
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: &str| ConfigError::Invalid {
            field,
            reason: reason.to_owned(),
        };
        let issuer = url::Url::parse(&self.issuer)
            .map_err(|e| invalid("issuer", &format!("not a URL: {e}")))?;
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(invalid("issuer", "must not have a query or fragment"));
        }
        if self.issuer.ends_with('/') {
            return Err(invalid("issuer", "must not end with '/'"));
        }
        match issuer.scheme() {
            "https" => {}
            "http" if !self.production => {}
            _ => return Err(invalid("issuer", "must be https in production")),
        }
        self.bind
            .parse::<SocketAddr>()
            .map_err(|e| invalid("bind", &format!("not an address:port: {e}")))?;
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database_url",
                "must start with sqlite: or postgres://",
            ));
        }
        let redis_ok = self.redis_url.is_empty()
            || self.redis_url.starts_with("redis://")
            || self.redis_url.starts_with("rediss://");
        if !redis_ok {
            return Err(invalid("redis_url", "must be empty or start with redis://"));
        }
        self.kek_bytes()?;
        if self.production && self.kek == DEMO_KEK {
            return Err(invalid(
                "kek",
                "the demo key-encryption key cannot be used in production; set TONGYI_KEK",
            ));
        }
        let t = &self.tokens;
        for (field, v) in [
            ("tokens.code_ttl_secs", t.code_ttl_secs),
            ("tokens.access_ttl_secs", t.access_ttl_secs),
            ("tokens.id_ttl_secs", t.id_ttl_secs),
            ("tokens.refresh_ttl_secs", t.refresh_ttl_secs),
            ("tokens.session_ttl_secs", t.session_ttl_secs),
        ] {
            if v <= 0 {
                return Err(invalid(field, "must be a positive number of seconds"));
            }
        }
        if t.access_ttl_secs > 300 {
            // SPEC §6: a revoked grant must stop working within five minutes.
            return Err(invalid("tokens.access_ttl_secs", "must be at most 300"));
        }
        let l = &self.login;
        if l.argon2_m_kib < 8 * 1024 || l.argon2_t == 0 || l.argon2_p == 0 {
            return Err(invalid(
                "login.argon2_*",
                "argon2id needs at least 8 MiB, t >= 1, p >= 1",
            ));
        }
        self.validate_sms()
    }

    fn validate_sms(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: &str| ConfigError::Invalid {
            field,
            reason: reason.to_owned(),
        };
        let s = &self.sms;
        match s.provider {
            SmsProviderKind::Dev if self.production => {
                return Err(invalid(
                    "sms.provider",
                    "the development outbox cannot be used in production; set provider = \"http\"",
                ));
            }
            SmsProviderKind::Dev => {}
            SmsProviderKind::Http => {
                let url = url::Url::parse(&s.gateway_url)
                    .map_err(|e| invalid("sms.gateway_url", &format!("not a URL: {e}")))?;
                match url.scheme() {
                    "https" => {}
                    "http" if !self.production => {}
                    _ => return Err(invalid("sms.gateway_url", "must be https in production")),
                }
                if s.api_key.trim().is_empty() {
                    return Err(invalid(
                        "sms.api_key",
                        "required by the http provider; set TONGYI_SMS_API_KEY",
                    ));
                }
                if reqwest::header::HeaderName::from_bytes(s.api_key_header.as_bytes()).is_err() {
                    return Err(invalid("sms.api_key_header", "not a valid header name"));
                }
            }
        }
        if s.timeout_secs == 0 || s.timeout_secs > 60 {
            return Err(invalid("sms.timeout_secs", "must be between 1 and 60"));
        }
        if s.outbox_size == 0 {
            return Err(invalid("sms.outbox_size", "must be at least 1"));
        }
        if s.daily_per_mobile < 1 || s.daily_per_address < 1 {
            return Err(invalid("sms.daily_per_*", "must be at least 1"));
        }
        let t = &s.templates;
        for (field, v) in [
            ("sms.templates.register", &t.register),
            ("sms.templates.login", &t.login),
            ("sms.templates.recover_password", &t.recover_password),
            ("sms.templates.change_mobile", &t.change_mobile),
            ("sms.templates.bind_legacy", &t.bind_legacy),
        ] {
            if v.trim().is_empty() {
                return Err(invalid(field, "must not be empty"));
            }
        }
        Ok(())
    }

    pub fn kek_bytes(&self) -> Result<[u8; 32], ConfigError> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(self.kek.trim())
            .map_err(|_| ConfigError::Invalid {
                field: "kek",
                reason: "not base64".into(),
            })?;
        raw.try_into().map_err(|_| ConfigError::Invalid {
            field: "kek",
            reason: "must decode to exactly 32 bytes".into(),
        })
    }

    /// Secure cookies need https; on a plain-http development issuer browsers would drop them.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Config {
        toml::from_str(include_str!("../../config/idp.toml")).unwrap()
    }

    #[test]
    fn shipped_config_is_valid() {
        base().validate().unwrap();
    }

    #[test]
    fn production_refuses_demo_kek_and_http() {
        let mut c = base();
        c.production = true;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("issuer"), "{err}");
        c.issuer = "https://id.example.gov.cn".into();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("demo key-encryption key"), "{err}");
    }

    #[test]
    fn env_overrides_and_bad_values() {
        let mut c = base();
        c.apply_env(|k| (k == "TONGYI_IDP_BIND").then(|| "not-an-address".to_string()))
            .unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("`bind`"), "{err}");
        let mut c = base();
        let err = c
            .apply_env(|k| (k == "TONGYI_PRODUCTION").then(|| "maybe".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("TONGYI_PRODUCTION"));
        let mut c = base();
        c.kek = "c2hvcnQ=".into();
        assert!(c.validate().unwrap_err().to_string().contains("32 bytes"));
    }

    #[test]
    fn sms_provider_rules() {
        let mut c = base();
        assert_eq!(c.sms.provider, SmsProviderKind::Dev);
        // A production configuration that is otherwise fine still refuses the dev outbox.
        c.production = true;
        c.issuer = "https://id.example.gov.cn".into();
        c.kek = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("sms.provider"), "{err}");

        c.apply_env(|k| (k == "TONGYI_SMS_PROVIDER").then(|| "http".to_string()))
            .unwrap();
        c.sms.gateway_url = "http://sms.example.cn/send".into();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("sms.gateway_url"), "{err}");
        c.sms.gateway_url = "https://sms.example.cn/send".into();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("sms.api_key"), "{err}");
        c.apply_env(|k| (k == "TONGYI_SMS_API_KEY").then(|| "k-123".to_string()))
            .unwrap();
        c.validate().unwrap();
        assert!(
            !format!("{:?}", c.sms).contains("k-123"),
            "the key stays out of Debug"
        );

        let mut c = base();
        let err = c
            .apply_env(|k| (k == "TONGYI_SMS_PROVIDER").then(|| "carrier-pigeon".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("TONGYI_SMS_PROVIDER"));
        c.sms.daily_per_mobile = 0;
        assert!(c.validate().unwrap_err().to_string().contains("daily"));
    }
}
