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
    /// CIDR ranges (or single addresses) of the reverse proxies whose `Forwarded` /
    /// `X-Forwarded-For` headers name the client. Empty: the socket's peer is the client.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Address of the Prometheus endpoint (`GET /metrics`), apart from the public port so that
    /// only the monitoring network reaches it. Empty: no metrics endpoint.
    #[serde(default)]
    pub metrics_bind: String,
    /// `Strict-Transport-Security: max-age=…` on every answer when the issuer is https
    /// (0: none, e.g. when the proxy sets it).
    #[serde(default = "default_hsts_max_age_secs")]
    pub hsts_max_age_secs: u64,
    /// How long a request waits for a database connection before it is answered 503.
    #[serde(default = "default_database_acquire_timeout_ms")]
    pub database_acquire_timeout_ms: u64,
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
    /// Pushed authorization requests (RFC 9126).
    #[serde(default)]
    pub par: ParConfig,
    #[serde(default)]
    pub login: LoginConfig,
    #[serde(default)]
    pub sms: SmsConfig,
    #[serde(default)]
    pub email: EmailConfig,
    #[serde(default)]
    pub realname: RealnameConfig,
    #[serde(default)]
    pub dev: DevConfig,
    #[serde(default)]
    pub dpop: DpopConfig,
}

/// DPoP proofs (RFC 9449): how fresh they must be and whether a server nonce is demanded.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DpopConfig {
    /// How far a proof's `iat` may lie from our clock, either way (§4.3 check 11). Its `jti`
    /// is remembered for twice as long, so a replay within the window is always caught.
    pub iat_window_secs: i64,
    /// Demand a server nonce in every proof (§8): a proof without the current one is answered
    /// `use_dpop_nonce` with a fresh `DPoP-Nonce`.
    pub require_nonce: bool,
    /// How long one nonce is current; the previous slot's nonce is accepted too.
    pub nonce_slot_secs: i64,
}

impl Default for DpopConfig {
    fn default() -> Self {
        DpopConfig {
            iat_window_secs: 60,
            require_nonce: false,
            nonce_slot_secs: 300,
        }
    }
}

/// Aids for automated tests of a development instance. Each is off unless switched on, and
/// production mode refuses to start with any of them.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DevConfig {
    /// `GET /dev/captcha/{id}` tells the answer of a live captcha challenge, so that a browser
    /// test can get past the picture it cannot read.
    pub captcha_answers: bool,
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
    /// How long `idp keys rotate` publishes a new key in the JWK Set before it signs: longer
    /// than relying parties cache the set (JWKS answers say max-age=300).
    pub key_prepublish_secs: i64,
    /// Accounts whose claims each instance keeps in memory for userinfo, introspection and
    /// refresh (`oidc::claims_cache`); 0 reads the database every time.
    pub claims_cache_entries: usize,
    /// The longest a cached account is used, whatever the change log says.
    pub claims_cache_ttl_secs: u64,
    /// How often an instance reads the change log for what others changed: the longest
    /// another instance's change can go unseen here.
    pub claims_cache_poll_ms: u64,
}

impl TokenConfig {
    /// How long a key stays published after it stopped signing: until the last token it
    /// signed (access, ID or logout token) has expired, with margins (`key_timeline`).
    pub fn key_retention_secs(&self) -> i64 {
        let longest = self
            .access_ttl_secs
            .max(self.id_ttl_secs)
            .max(crate::oidc::backchannel::LOGOUT_TOKEN_TTL_SECS);
        crate::oidc::key_timeline::retention_secs(longest, self.key_reload_secs as i64)
    }
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
            key_prepublish_secs: 3600,
            claims_cache_entries: 10_000,
            claims_cache_ttl_secs: 60,
            claims_cache_poll_ms: 1000,
        }
    }
}

/// Pushed authorization requests (RFC 9126): how long a `request_uri` stays usable and
/// whether every client must push its authorization requests.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParConfig {
    /// Server-wide `require_pushed_authorization_requests` (RFC 9126 §5): /authorize takes
    /// only pushed requests, from every client. A client can also require it for itself.
    pub required: bool,
    /// Lifetime of a `request_uri`; the client uses it at once, so a short one (RFC 9126 §2.2
    /// suggests 5 to 600 seconds) limits what a leaked one is good for.
    pub request_uri_ttl_secs: i64,
}

impl Default for ParConfig {
    fn default() -> Self {
        ParConfig {
            required: false,
            request_uri_ttl_secs: 60,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginConfig {
    /// How long failed logins are counted (a fixed window from the first failure), seconds.
    pub window_secs: i64,
    /// Failures of one identifier from one address after which its next attempt from there
    /// waits `first_delay_secs`, then twice as long after each further failure, up to
    /// `max_delay_secs`.
    pub delay_after_failures: i64,
    pub first_delay_secs: i64,
    pub max_delay_secs: i64,
    /// Failures from one address (any identifier) after which every password attempt from it
    /// is slowed down before the password is checked, growing up to `max_slowdown_ms`. Never a
    /// refusal: an office behind one address keeps logging in, with a captcha.
    pub slowdown_after_failures_per_address: i64,
    pub max_slowdown_ms: u64,
    /// argon2id memory cost in KiB, iterations and parallelism for new password hashes.
    pub argon2_m_kib: u32,
    pub argon2_t: u32,
    pub argon2_p: u32,
}

impl Default for LoginConfig {
    fn default() -> Self {
        LoginConfig {
            window_secs: 900,
            delay_after_failures: 5,
            first_delay_secs: 1,
            max_delay_secs: 300,
            slowdown_after_failures_per_address: 30,
            max_slowdown_ms: 2000,
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

/// Which provider delivers email one-time codes.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EmailProviderKind {
    /// No email: nothing is offered by email, and an email stays unverified. The default, so
    /// that an instance without a mail server says so instead of pretending to send.
    #[default]
    Off,
    /// Development outbox: messages stay in memory and in the log. Refused in production.
    Dev,
    /// An SMTP submission server.
    Smtp,
}

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only for a relay on the same host or a test server; refused in production.
    None,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    pub provider: EmailProviderKind,
    /// The SMTP server (`provider = "smtp"`).
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: SmtpTls,
    /// Empty: no authentication (a local relay).
    pub smtp_username: String,
    /// Never in the file: from `TONGYI_SMTP_PASSWORD`.
    #[serde(skip)]
    pub smtp_password: String,
    /// The sender, e.g. `统一身份认证平台 <noreply@kjj.example.gov.cn>`.
    pub from: String,
    /// SMTP timeout per command, connection included.
    pub timeout_secs: u64,
    /// How many recent messages the development outbox keeps.
    pub outbox_size: usize,
    /// Codes sent to one mailbox per day (Asia/Shanghai calendar day), all purposes together.
    pub daily_per_mailbox: i64,
    /// Email codes requested from one client address per day.
    pub daily_per_address: i64,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            provider: EmailProviderKind::Off,
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_tls: SmtpTls::Starttls,
            smtp_username: String::new(),
            smtp_password: String::new(),
            from: String::new(),
            timeout_secs: 10,
            outbox_size: 100,
            daily_per_mailbox: 10,
            daily_per_address: 50,
        }
    }
}

// Hand-written so that the SMTP password never reaches a log through `{:?}`.
impl std::fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailConfig")
            .field("provider", &self.provider)
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_tls", &self.smtp_tls)
            .field("smtp_username", &self.smtp_username)
            .field(
                "smtp_password",
                &if self.smtp_password.is_empty() {
                    ""
                } else {
                    "***"
                },
            )
            .field("from", &self.from)
            .field("timeout_secs", &self.timeout_secs)
            .field("outbox_size", &self.outbox_size)
            .field("daily_per_mailbox", &self.daily_per_mailbox)
            .field("daily_per_address", &self.daily_per_address)
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

/// Which provider checks a person's name against the ID number.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RealnameProviderKind {
    /// Deterministic development checks (see `providers::realname`). Refused in production.
    #[default]
    Dev,
    /// An HTTP service that answers `{ "result": "match" | "mismatch" }`.
    Http,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RealnameConfig {
    pub provider: RealnameProviderKind,
    /// Where `{ "name", "id_type", "id_number" }` is POSTed (`provider = "http"` only).
    pub url: String,
    /// Where the enterprise check (企业三要素) `{ "unit_name", "uscc", "legal_representative" }`
    /// is POSTed; empty: `url`, the body telling the two apart.
    pub enterprise_url: String,
    /// Prefer `TONGYI_REALNAME_API_KEY` to the file.
    pub api_key: String,
    /// `Authorization` sends `Bearer <key>`; any other name sends the key as it is.
    pub api_key_header: String,
    pub timeout_secs: u64,
    /// Opening time of the upstream, `HH:MM` Asia/Shanghai (UTC+8, no daylight saving).
    pub service_hours_start: String,
    /// Closing time, `HH:MM`, exclusive: at this minute checks are queued again (`24:00`:
    /// open until midnight).
    pub service_hours_end: String,
    /// Delay before a check that met a provider error (5xx, timeout) is tried again.
    pub retry_secs: i64,
    /// Attempts before an automatic check gives up and the user is offered manual review.
    pub max_attempts: i64,
}

impl Default for RealnameConfig {
    fn default() -> Self {
        RealnameConfig {
            provider: RealnameProviderKind::Dev,
            url: String::new(),
            enterprise_url: String::new(),
            api_key: String::new(),
            api_key_header: "Authorization".into(),
            timeout_secs: 10,
            service_hours_start: "08:00".into(),
            service_hours_end: "18:00".into(),
            retry_secs: 600,
            max_attempts: 10,
        }
    }
}

// Hand-written so that the API key never reaches a log through `{:?}`.
impl std::fmt::Debug for RealnameConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealnameConfig")
            .field("provider", &self.provider)
            .field("url", &self.url)
            .field("api_key", &if self.api_key.is_empty() { "" } else { "***" })
            .field("api_key_header", &self.api_key_header)
            .field("timeout_secs", &self.timeout_secs)
            .field("service_hours_start", &self.service_hours_start)
            .field("service_hours_end", &self.service_hours_end)
            .field("retry_secs", &self.retry_secs)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

impl RealnameConfig {
    /// The service window as minutes after local midnight: `[start, end)`.
    pub fn service_window(&self) -> Option<(i64, i64)> {
        let start = parse_hh_mm(&self.service_hours_start)?;
        // `24:00` as the end keeps the service open up to midnight (a day-long window).
        let end = match self.service_hours_end.trim() {
            "24:00" => 24 * 60,
            other => parse_hh_mm(other)?,
        };
        (start < end).then_some((start, end))
    }
}

/// `HH:MM` (24-hour clock) as minutes after midnight.
fn parse_hh_mm(s: &str) -> Option<i64> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: i64 = h.parse().ok()?;
    let m: i64 = m.parse().ok()?;
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

/// An on/off environment value.
fn default_hsts_max_age_secs() -> u64 {
    // One year, as browsers' preload lists ask.
    365 * 24 * 3600
}

fn default_database_acquire_timeout_ms() -> u64 {
    2000
}

fn flag(field: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v {
        "1" | "true" => Ok(true),
        "0" | "false" | "" => Ok(false),
        _ => Err(ConfigError::Invalid {
            field,
            reason: format!("expected true or false, got {v:?}"),
        }),
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
        set(&mut self.metrics_bind, "TONGYI_METRICS_BIND");
        if let Some(v) = var("TONGYI_TRUSTED_PROXIES") {
            // Comma-separated, like the list in the file; checked with it in `build_app`.
            self.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
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
        set(&mut self.email.smtp_password, "TONGYI_SMTP_PASSWORD");
        if let Some(v) = var("TONGYI_EMAIL_PROVIDER") {
            self.email.provider = match v.as_str() {
                "off" => EmailProviderKind::Off,
                "dev" => EmailProviderKind::Dev,
                "smtp" => EmailProviderKind::Smtp,
                _ => {
                    return Err(ConfigError::Invalid {
                        field: "TONGYI_EMAIL_PROVIDER",
                        reason: format!("expected off, dev or smtp, got {v:?}"),
                    })
                }
            };
        }
        set(&mut self.realname.api_key, "TONGYI_REALNAME_API_KEY");
        set(&mut self.realname.url, "TONGYI_REALNAME_URL");
        if let Some(v) = var("TONGYI_REALNAME_PROVIDER") {
            self.realname.provider = match v.as_str() {
                "dev" => RealnameProviderKind::Dev,
                "http" => RealnameProviderKind::Http,
                _ => {
                    return Err(ConfigError::Invalid {
                        field: "TONGYI_REALNAME_PROVIDER",
                        reason: format!("expected dev or http, got {v:?}"),
                    })
                }
            };
        }
        set(
            &mut self.realname.service_hours_start,
            "TONGYI_REALNAME_SERVICE_HOURS_START",
        );
        set(
            &mut self.realname.service_hours_end,
            "TONGYI_REALNAME_SERVICE_HOURS_END",
        );
        if let Some(v) = var("TONGYI_PRODUCTION") {
            self.production = flag("TONGYI_PRODUCTION", &v)?;
        }
        if let Some(v) = var("TONGYI_DEV_CAPTCHA_ANSWERS") {
            self.dev.captcha_answers = flag("TONGYI_DEV_CAPTCHA_ANSWERS", &v)?;
        }
        if let Some(v) = var("TONGYI_DPOP_REQUIRE_NONCE") {
            self.dpop.require_nonce = flag("TONGYI_DPOP_REQUIRE_NONCE", &v)?;
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
        if !self.metrics_bind.is_empty() {
            self.metrics_bind
                .parse::<SocketAddr>()
                .map_err(|e| invalid("metrics_bind", &format!("not an address:port: {e}")))?;
            if self.metrics_bind == self.bind {
                return Err(invalid(
                    "metrics_bind",
                    "must differ from bind: metrics stay off the public port",
                ));
            }
        }
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
        if !(1..=86_400).contains(&self.dpop.iat_window_secs) {
            return Err(invalid(
                "dpop.iat_window_secs",
                "must be between 1 and 86400 seconds",
            ));
        }
        if !(10..=3600).contains(&self.dpop.nonce_slot_secs) {
            return Err(invalid(
                "dpop.nonce_slot_secs",
                "must be between 10 and 3600 seconds",
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
        if t.key_prepublish_secs < 0 {
            // Zero is allowed: a new key then signs at once, as an emergency rotation does.
            return Err(invalid(
                "tokens.key_prepublish_secs",
                "must not be negative",
            ));
        }
        if t.access_ttl_secs > 300 {
            // SPEC §6: a revoked grant must stop working within five minutes.
            return Err(invalid("tokens.access_ttl_secs", "must be at most 300"));
        }
        if !(1..=600).contains(&self.par.request_uri_ttl_secs) {
            return Err(invalid(
                "par.request_uri_ttl_secs",
                "must be 1 to 600 seconds",
            ));
        }
        let l = &self.login;
        for (field, v) in [
            ("login.window_secs", l.window_secs),
            ("login.delay_after_failures", l.delay_after_failures),
            ("login.first_delay_secs", l.first_delay_secs),
            ("login.max_delay_secs", l.max_delay_secs),
            (
                "login.slowdown_after_failures_per_address",
                l.slowdown_after_failures_per_address,
            ),
        ] {
            if v <= 0 {
                return Err(invalid(field, "must be a positive number"));
            }
        }
        if self.database_acquire_timeout_ms == 0 {
            return Err(invalid(
                "database_acquire_timeout_ms",
                "must be a positive number of milliseconds",
            ));
        }
        if l.argon2_m_kib < 8 * 1024 || l.argon2_t == 0 || l.argon2_p == 0 {
            return Err(invalid(
                "login.argon2_*",
                "argon2id needs at least 8 MiB, t >= 1, p >= 1",
            ));
        }
        if self.production && self.dev.captcha_answers {
            return Err(invalid(
                "dev.captcha_answers",
                "test aids cannot be switched on in production",
            ));
        }
        self.validate_sms()?;
        self.validate_email()?;
        self.validate_realname()
    }

    fn validate_email(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: &str| ConfigError::Invalid {
            field,
            reason: reason.to_owned(),
        };
        let e = &self.email;
        match e.provider {
            EmailProviderKind::Off => return Ok(()),
            EmailProviderKind::Dev if self.production => {
                return Err(invalid(
                    "email.provider",
                    "the development outbox cannot be used in production; set provider = \"smtp\" or \"off\"",
                ));
            }
            EmailProviderKind::Dev => {}
            EmailProviderKind::Smtp => {
                if e.smtp_host.trim().is_empty() {
                    return Err(invalid("email.smtp_host", "required by the smtp provider"));
                }
                if e.smtp_port == 0 {
                    return Err(invalid("email.smtp_port", "must be a port number"));
                }
                if self.production && e.smtp_tls == SmtpTls::None {
                    return Err(invalid(
                        "email.smtp_tls",
                        "must be starttls or tls in production: codes must not cross the network in clear",
                    ));
                }
                if !e.smtp_username.is_empty() && e.smtp_password.is_empty() {
                    return Err(invalid(
                        "email.smtp_password",
                        "smtp_username is set: set TONGYI_SMTP_PASSWORD",
                    ));
                }
            }
        }
        if e.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "email.from",
                "must be a sender address such as 统一身份认证平台 <noreply@example.gov.cn>",
            ));
        }
        if e.timeout_secs == 0 || e.timeout_secs > 60 {
            return Err(invalid("email.timeout_secs", "must be between 1 and 60"));
        }
        if e.outbox_size == 0 {
            return Err(invalid("email.outbox_size", "must be at least 1"));
        }
        if e.daily_per_mailbox < 1 || e.daily_per_address < 1 {
            return Err(invalid("email.daily_per_*", "must be at least 1"));
        }
        Ok(())
    }

    fn validate_realname(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: &str| ConfigError::Invalid {
            field,
            reason: reason.to_owned(),
        };
        let r = &self.realname;
        match r.provider {
            RealnameProviderKind::Dev if self.production => {
                return Err(invalid(
                    "realname.provider",
                    "the development provider cannot be used in production; set provider = \"http\"",
                ));
            }
            RealnameProviderKind::Dev => {}
            RealnameProviderKind::Http => {
                let url = url::Url::parse(&r.url)
                    .map_err(|e| invalid("realname.url", &format!("not a URL: {e}")))?;
                match url.scheme() {
                    "https" => {}
                    "http" if !self.production => {}
                    _ => return Err(invalid("realname.url", "must be https in production")),
                }
                if !r.enterprise_url.is_empty() {
                    let url = url::Url::parse(&r.enterprise_url).map_err(|e| {
                        invalid("realname.enterprise_url", &format!("not a URL: {e}"))
                    })?;
                    match url.scheme() {
                        "https" => {}
                        "http" if !self.production => {}
                        _ => {
                            return Err(invalid(
                                "realname.enterprise_url",
                                "must be https in production",
                            ))
                        }
                    }
                }
                if r.api_key.trim().is_empty() {
                    return Err(invalid(
                        "realname.api_key",
                        "required by the http provider; set TONGYI_REALNAME_API_KEY",
                    ));
                }
                if reqwest::header::HeaderName::from_bytes(r.api_key_header.as_bytes()).is_err() {
                    return Err(invalid(
                        "realname.api_key_header",
                        "not a valid header name",
                    ));
                }
            }
        }
        if r.timeout_secs == 0 || r.timeout_secs > 60 {
            return Err(invalid("realname.timeout_secs", "must be between 1 and 60"));
        }
        if r.service_window().is_none() {
            return Err(invalid(
                "realname.service_hours_*",
                "must be HH:MM with the start before the end",
            ));
        }
        if r.retry_secs < 1 {
            return Err(invalid("realname.retry_secs", "must be at least 1"));
        }
        if r.max_attempts < 1 {
            return Err(invalid("realname.max_attempts", "must be at least 1"));
        }
        Ok(())
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
    fn pushed_request_lifetime_is_bounded() {
        let c = base();
        assert!(!c.par.required);
        assert_eq!(c.par.request_uri_ttl_secs, 60);
        for bad in [0, -1, 601] {
            let mut c = base();
            c.par.request_uri_ttl_secs = bad;
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains("par.request_uri_ttl_secs"), "{err}");
        }
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
    fn captcha_answers_only_outside_production() {
        let mut c = base();
        assert!(!c.dev.captcha_answers, "off unless switched on");
        c.apply_env(|k| (k == "TONGYI_DEV_CAPTCHA_ANSWERS").then(|| "1".to_string()))
            .unwrap();
        assert!(c.dev.captcha_answers);
        c.validate().unwrap();
        let err = base()
            .apply_env(|k| (k == "TONGYI_DEV_CAPTCHA_ANSWERS").then(|| "yes".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("TONGYI_DEV_CAPTCHA_ANSWERS"));

        // An otherwise valid production configuration is refused with the switch on.
        c.production = true;
        c.issuer = "https://id.example.gov.cn".into();
        c.kek = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into();
        c.sms.provider = SmsProviderKind::Http;
        c.sms.gateway_url = "https://sms.example.cn/send".into();
        c.sms.api_key = "k".into();
        c.email.provider = EmailProviderKind::Off;
        c.realname.provider = RealnameProviderKind::Http;
        c.realname.url = "https://rn.example.cn/check".into();
        c.realname.api_key = "rk".into();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("dev.captcha_answers"), "{err}");
        c.dev.captcha_answers = false;
        c.validate().unwrap();
    }

    #[test]
    fn realname_provider_rules() {
        let mut c = base();
        assert_eq!(c.realname.provider, RealnameProviderKind::Dev);
        assert_eq!(c.realname.service_window(), Some((8 * 60, 18 * 60)));
        c.production = true;
        c.issuer = "https://id.example.gov.cn".into();
        c.kek = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into();
        c.sms.provider = SmsProviderKind::Http;
        c.sms.gateway_url = "https://sms.example.cn/send".into();
        c.sms.api_key = "k".into();
        c.email.provider = EmailProviderKind::Off;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("realname.provider"), "{err}");
        c.apply_env(|k| match k {
            "TONGYI_REALNAME_PROVIDER" => Some("http".to_string()),
            "TONGYI_REALNAME_URL" => Some("https://rn.example.cn/check".to_string()),
            _ => None,
        })
        .unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("realname.api_key"), "{err}");
        c.apply_env(|k| (k == "TONGYI_REALNAME_API_KEY").then(|| "rk-9".to_string()))
            .unwrap();
        c.validate().unwrap();
        assert!(!format!("{:?}", c.realname).contains("rk-9"));
        c.realname.url = "http://rn.example.cn/check".into();
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("realname.url"));

        let mut c = base();
        for (start, end) in [
            ("18:00", "08:00"),
            ("8:00", "8:00"),
            ("24:00", "25:00"),
            ("08", "18:00"),
        ] {
            c.realname.service_hours_start = start.into();
            c.realname.service_hours_end = end.into();
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains("service_hours"), "{start}-{end}: {err}");
        }
        c.realname.service_hours_start = "7:30".into();
        c.realname.service_hours_end = "23:59".into();
        assert_eq!(c.realname.service_window(), Some((450, 1439)));
        c.validate().unwrap();
        c.realname.service_hours_start = "00:00".into();
        c.realname.service_hours_end = "24:00".into();
        assert_eq!(c.realname.service_window(), Some((0, 1440)));
        c.validate().unwrap();
        c.realname.service_hours_start = "24:00".into();
        assert!(c.validate().is_err(), "24:00 only ends a window");
        let mut c = base();
        c.apply_env(|k| match k {
            "TONGYI_REALNAME_SERVICE_HOURS_START" => Some("06:30".to_string()),
            "TONGYI_REALNAME_SERVICE_HOURS_END" => Some("22:00".to_string()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.realname.service_window(), Some((390, 1320)));
        c.realname.max_attempts = 0;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("max_attempts"));
        let err = base()
            .apply_env(|k| (k == "TONGYI_REALNAME_PROVIDER").then(|| "oracle".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("TONGYI_REALNAME_PROVIDER"));
    }

    #[test]
    fn email_provider_rules() {
        let mut c = base();
        assert_eq!(c.email.provider, EmailProviderKind::Dev, "the shipped file");
        assert_eq!(EmailConfig::default().provider, EmailProviderKind::Off);
        c.validate().unwrap();
        c.email.from = "not an address".into();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("email.from"), "{err}");
        c.email.from = "平台 <noreply@kjj.example.gov.cn>".into();
        // Production refuses the development outbox and SMTP in clear.
        c.production = true;
        c.issuer = "https://id.example.gov.cn".into();
        c.kek = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into();
        c.sms.provider = SmsProviderKind::Http;
        c.sms.gateway_url = "https://sms.example.cn/send".into();
        c.sms.api_key = "k".into();
        c.realname.provider = RealnameProviderKind::Http;
        c.realname.url = "https://rn.example.cn/check".into();
        c.realname.api_key = "rk".into();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("email.provider"), "{err}");
        c.apply_env(|k| (k == "TONGYI_EMAIL_PROVIDER").then(|| "smtp".to_string()))
            .unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("email.smtp_host"), "{err}");
        c.email.smtp_host = "smtp.example.gov.cn".into();
        c.email.smtp_tls = SmtpTls::None;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("email.smtp_tls"), "{err}");
        c.email.smtp_tls = SmtpTls::Starttls;
        c.email.smtp_username = "noreply".into();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("TONGYI_SMTP_PASSWORD"), "{err}");
        c.apply_env(|k| (k == "TONGYI_SMTP_PASSWORD").then(|| "pw-77".to_string()))
            .unwrap();
        c.validate().unwrap();
        assert!(!format!("{:?}", c.email).contains("pw-77"));
        // The password is never read from the file.
        let in_file = toml::from_str::<EmailConfig>("smtp_password = \"x\"");
        assert!(in_file.is_err());
        let err = base()
            .apply_env(|k| (k == "TONGYI_EMAIL_PROVIDER").then(|| "pigeon".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("TONGYI_EMAIL_PROVIDER"));
        c.email.provider = EmailProviderKind::Off;
        c.email.from = String::new();
        c.validate().unwrap();
    }

    #[test]
    fn sms_provider_rules() {
        let mut c = base();
        assert_eq!(c.sms.provider, SmsProviderKind::Dev);
        // A production configuration that is otherwise fine still refuses the dev outbox.
        c.production = true;
        c.issuer = "https://id.example.gov.cn".into();
        c.kek = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into();
        // Production also needs a real-name service and no development email; those rules
        // have their own tests.
        c.realname.provider = RealnameProviderKind::Http;
        c.realname.url = "https://rn.example.cn/check".into();
        c.realname.api_key = "rk".into();
        c.email.provider = EmailProviderKind::Off;
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
