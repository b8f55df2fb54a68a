//! SMS delivery. [`SmsSender`] is chosen from `[sms]` in the configuration:
//!
//! - [`DevOutbox`] keeps the last messages in memory (for a development-only outbox page) and
//!   writes them to the log. It cannot be built in production mode.
//! - [`HttpGateway`] POSTs `{ "mobile", "template", "params" }` as JSON to the configured
//!   gateway with an API key header.
//!
//! Mobiles reach the log only masked ([`mask_mobile`]); message parameters (the codes) never
//! reach it, except in the development outbox's own log line.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use reqwest::header::{HeaderName, HeaderValue};

use super::outbox::Ring;
use crate::{
    clock::Clock,
    config::{Config, SmsProviderKind},
};

/// One message to one mobile. `Debug` masks the mobile and hides the parameters and text.
#[derive(Clone)]
pub struct SmsMessage {
    /// A validated mainland mobile, digits only.
    pub mobile: String,
    /// The gateway's template id.
    pub template: String,
    /// Values for the template's placeholders (e.g. `code`, `minutes`).
    pub params: BTreeMap<String, String>,
    /// The message as the user would read it; shown by the development outbox only (a real
    /// gateway renders its own registered template).
    pub text: String,
}

impl std::fmt::Debug for SmsMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsMessage")
            .field("mobile", &mask_mobile(&self.mobile))
            .field("template", &self.template)
            .field("params", &"<hidden>")
            .finish_non_exhaustive()
    }
}

/// Why a message could not be delivered. No variant carries the mobile, the code or the key.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("the development SMS outbox cannot be used in production")]
    DevInProduction,
    #[error("SMS gateway configuration: {0}")]
    Config(String),
    #[error("SMS gateway did not answer in time")]
    Timeout,
    #[error("SMS gateway unreachable: {0}")]
    Transport(String),
    #[error("SMS gateway refused the message with HTTP {status}")]
    Rejected { status: u16 },
}

/// Masks a mobile for logs and pages, the platform's one rule (SPEC §3: `13*****656`).
pub use tongyi_shared::mask::mask_mobile;

/// The configured SMS provider. Cheap to clone; clones share the outbox or HTTP client.
#[derive(Clone, Debug)]
pub enum SmsSender {
    Dev(DevOutbox),
    Http(HttpGateway),
}

impl SmsSender {
    /// Builds the provider named by `config.sms.provider`.
    pub fn from_config(config: &Config, clock: Clock) -> Result<SmsSender, SmsError> {
        match config.sms.provider {
            SmsProviderKind::Dev => Ok(SmsSender::Dev(DevOutbox::new(config, clock)?)),
            SmsProviderKind::Http => Ok(SmsSender::Http(HttpGateway::new(config)?)),
        }
    }

    pub async fn send(&self, message: &SmsMessage) -> Result<(), SmsError> {
        match self {
            SmsSender::Dev(d) => {
                d.send(message);
                Ok(())
            }
            SmsSender::Http(h) => h.send(message).await,
        }
    }

    /// The development outbox, when that is the provider (for the dev-only outbox page).
    pub fn outbox(&self) -> Option<&DevOutbox> {
        match self {
            SmsSender::Dev(d) => Some(d),
            SmsSender::Http(_) => None,
        }
    }
}

/// A message as the development outbox recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    pub mobile: String,
    pub template: String,
    pub text: String,
    /// Seconds since the Unix epoch, by the IdP's clock.
    pub sent_at: i64,
}

/// Development provider: nothing leaves the process.
#[derive(Clone, Debug)]
pub struct DevOutbox {
    entries: Ring<OutboxEntry>,
    clock: Clock,
}

impl DevOutbox {
    /// Refuses production mode: a real user's code must never end up in a log or a page.
    pub fn new(config: &Config, clock: Clock) -> Result<DevOutbox, SmsError> {
        if config.production {
            return Err(SmsError::DevInProduction);
        }
        Ok(DevOutbox {
            entries: Ring::new(config.sms.outbox_size),
            clock,
        })
    }

    fn send(&self, message: &SmsMessage) {
        let entry = OutboxEntry {
            mobile: message.mobile.clone(),
            template: message.template.clone(),
            text: message.text.clone(),
            sent_at: self.clock.now(),
        };
        self.entries.push(entry);
        // The text (with the code) is logged on purpose: showing it to the developer is this
        // provider's whole job, and it cannot be built in production. The mobile stays masked.
        tracing::info!(
            mobile = %mask_mobile(&message.mobile),
            template = %message.template,
            text = %message.text,
            "development SMS outbox"
        );
    }

    /// Recorded messages, newest first.
    pub fn messages(&self) -> Vec<OutboxEntry> {
        self.entries.all()
    }

    /// The newest message to `mobile`.
    pub fn latest_for(&self, mobile: &str) -> Option<OutboxEntry> {
        self.entries.newest(|e| e.mobile == mobile)
    }
}

/// Delivers through an HTTP gateway.
#[derive(Clone)]
pub struct HttpGateway {
    client: reqwest::Client,
    url: Arc<str>,
    auth_name: HeaderName,
    auth_value: HeaderValue,
}

impl std::fmt::Debug for HttpGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpGateway")
            .field("url", &self.url)
            .field("auth_header", &self.auth_name)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize)]
struct GatewayRequest<'a> {
    mobile: &'a str,
    template: &'a str,
    params: &'a BTreeMap<String, String>,
}

impl HttpGateway {
    pub fn new(config: &Config) -> Result<HttpGateway, SmsError> {
        let sms = &config.sms;
        url::Url::parse(&sms.gateway_url)
            .map_err(|e| SmsError::Config(format!("gateway_url is not a URL: {e}")))?;
        let auth_name = HeaderName::from_bytes(sms.api_key_header.as_bytes())
            .map_err(|_| SmsError::Config("api_key_header is not a header name".into()))?;
        let value = if auth_name == reqwest::header::AUTHORIZATION {
            format!("Bearer {}", sms.api_key.trim())
        } else {
            sms.api_key.trim().to_owned()
        };
        let mut auth_value = HeaderValue::from_str(&value)
            .map_err(|_| SmsError::Config("api_key cannot be sent in a header".into()))?;
        auth_value.set_sensitive(true);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(sms.timeout_secs.max(1)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SmsError::Config(e.without_url().to_string()))?;
        Ok(HttpGateway {
            client,
            url: Arc::from(sms.gateway_url.as_str()),
            auth_name,
            auth_value,
        })
    }

    async fn send(&self, message: &SmsMessage) -> Result<(), SmsError> {
        let body = GatewayRequest {
            mobile: &message.mobile,
            template: &message.template,
            params: &message.params,
        };
        let result = self
            .client
            .post(&*self.url)
            .header(self.auth_name.clone(), self.auth_value.clone())
            .json(&body)
            .send()
            .await;
        let mobile = mask_mobile(&message.mobile);
        match result {
            Ok(res) if res.status().is_success() => {
                tracing::info!(%mobile, template = %message.template, "SMS handed to the gateway");
                Ok(())
            }
            Ok(res) => {
                let status = res.status().as_u16();
                // The body is not logged: a gateway may echo the request, code included.
                tracing::warn!(%mobile, status, "SMS gateway refused a message");
                Err(SmsError::Rejected { status })
            }
            Err(e) => {
                // Without the URL: some gateways take credentials in the query string.
                let e = e.without_url();
                tracing::warn!(%mobile, error = %e, "SMS gateway request failed");
                if e.is_timeout() {
                    Err(SmsError::Timeout)
                } else {
                    Err(SmsError::Transport(e.to_string()))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{extract::State, http::HeaderMap, http::StatusCode, routing::post, Json, Router};
    use std::sync::Mutex;

    fn config() -> Config {
        toml::from_str(include_str!("../../../config/idp.toml")).unwrap()
    }

    fn message(mobile: &str, code: &str) -> SmsMessage {
        SmsMessage {
            mobile: mobile.into(),
            template: "SMS_LOGIN".into(),
            params: BTreeMap::from([
                ("code".to_string(), code.to_string()),
                ("minutes".to_string(), "5".to_string()),
            ]),
            text: format!("code {code}"),
        }
    }

    #[test]
    fn masks_mobiles() {
        let debug = format!("{:?}", message("13812345656", "123456"));
        assert!(debug.contains("13*****656"), "{debug}");
        assert!(
            !debug.contains("123456") && !debug.contains("13812345656"),
            "{debug}"
        );
    }

    #[tokio::test]
    async fn dev_outbox_keeps_the_newest_and_refuses_production() {
        let mut c = config();
        c.sms.outbox_size = 2;
        let clock = Clock::default();
        let sender = SmsSender::from_config(&c, clock.clone()).unwrap();
        for (i, m) in ["13800000001", "13800000002", "13800000003"]
            .iter()
            .enumerate()
        {
            sender
                .send(&message(m, &format!("00000{i}")))
                .await
                .unwrap();
        }
        let outbox = sender.outbox().unwrap();
        let all = outbox.messages();
        assert_eq!(all.len(), 2, "only the last N are kept");
        assert_eq!(all[0].mobile, "13800000003", "newest first");
        assert_eq!(all[0].text, "code 000002");
        assert!(outbox.latest_for("13800000001").is_none());
        assert!((all[0].sent_at - clock.now()).abs() <= 1);

        c.production = true;
        assert!(matches!(
            SmsSender::from_config(&c, clock),
            Err(SmsError::DevInProduction)
        ));
    }

    type Seen = Arc<Mutex<Vec<(HeaderMap, serde_json::Value)>>>;

    /// A gateway on 127.0.0.1:0 that records requests and answers with `status` after `delay`.
    async fn gateway(status: StatusCode, delay: Duration) -> (String, Seen) {
        let seen: Seen = Arc::default();
        let app = Router::new()
            .route(
                "/send",
                post(
                    move |State(seen): State<Seen>,
                          headers: HeaderMap,
                          Json(body): Json<serde_json::Value>| async move {
                        seen.lock().unwrap().push((headers, body));
                        tokio::time::sleep(delay).await;
                        status
                    },
                ),
            )
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/send"), seen)
    }

    fn http_config(url: &str, header: &str) -> Config {
        let mut c = config();
        c.sms.provider = SmsProviderKind::Http;
        c.sms.gateway_url = url.into();
        c.sms.api_key = "test-key-1".into();
        c.sms.api_key_header = header.into();
        c.sms.timeout_secs = 1;
        c.validate().unwrap();
        c
    }

    #[tokio::test]
    async fn http_gateway_posts_json_with_the_key() {
        let (url, seen) = gateway(StatusCode::OK, Duration::ZERO).await;
        let sender =
            SmsSender::from_config(&http_config(&url, "Authorization"), Clock::default()).unwrap();
        assert!(sender.outbox().is_none());
        assert!(!format!("{sender:?}").contains("test-key-1"));
        sender
            .send(&message("13812345656", "654321"))
            .await
            .unwrap();
        let (headers, body) = seen.lock().unwrap().pop().unwrap();
        assert_eq!(headers["authorization"], "Bearer test-key-1");
        assert_eq!(
            body,
            serde_json::json!({
                "mobile": "13812345656",
                "template": "SMS_LOGIN",
                "params": { "code": "654321", "minutes": "5" }
            })
        );

        let sender =
            SmsSender::from_config(&http_config(&url, "X-Api-Key"), Clock::default()).unwrap();
        sender.send(&message("13812345656", "1")).await.unwrap();
        let (headers, _) = seen.lock().unwrap().pop().unwrap();
        assert_eq!(headers["x-api-key"], "test-key-1");
        assert!(headers.get("authorization").is_none());
    }

    #[tokio::test]
    async fn http_gateway_errors_are_typed() {
        let (url, _) = gateway(StatusCode::BAD_GATEWAY, Duration::ZERO).await;
        let sender =
            SmsSender::from_config(&http_config(&url, "Authorization"), Clock::default()).unwrap();
        let err = sender.send(&message("13812345656", "1")).await.unwrap_err();
        assert!(matches!(err, SmsError::Rejected { status: 502 }), "{err:?}");

        let (url, _) = gateway(StatusCode::OK, Duration::from_secs(3)).await;
        let sender =
            SmsSender::from_config(&http_config(&url, "Authorization"), Clock::default()).unwrap();
        let err = sender.send(&message("13812345656", "1")).await.unwrap_err();
        assert!(matches!(err, SmsError::Timeout), "{err:?}");

        // A port that was just free: nothing listens there any more.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let sender = SmsSender::from_config(
            &http_config(&format!("http://{closed}/send"), "Authorization"),
            Clock::default(),
        )
        .unwrap();
        let err = sender.send(&message("13812345656", "1")).await.unwrap_err();
        assert!(matches!(err, SmsError::Transport(_)), "{err:?}");
        assert!(!err.to_string().contains("13812345656"));
    }
}
