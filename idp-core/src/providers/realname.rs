//! Real-name verification: does this name belong to this ID number, and (企业三要素) are this
//! unit name, USCC and legal representative's name one registered enterprise?
//! [`RealnameProvider`] is chosen from `[realname]` in the configuration:
//!
//! - [`DevVerifier`], deterministic and local. It cannot be built in production mode. It
//!   answers **mismatch** when
//!   - the name is not 2–30 characters long (after trimming),
//!   - the name contains `测试失败`,
//!   - the document type is unknown or the number is not well-formed for it (resident ID
//!     numbers via [`ResidentId::parse`], check character included; others via
//!     [`IdDocument::parse`]),
//!   - the four characters before the last one of the number are `0000` (for an 18-digit ID
//!     number: the last birth-date digit and the three sequence digits, e.g.
//!     `11010119900110000` + check character);
//!
//!   it answers with a **retryable error** (as a real upstream that timed out would) when the
//!   name contains `测试超时`, and **match** otherwise. For an enterprise it answers
//!   **mismatch** when the USCC is not well-formed (check character included), the unit name
//!   is shorter than 2 characters, the representative's name is not 2–30 characters, or either
//!   name contains `测试失败`; a **retryable error** when the unit name contains `测试超时`;
//!   **match** otherwise.
//! - [`HttpVerifier`] POSTs `{ "name", "id_type", "id_number" }` (a person) or
//!   `{ "kind": "enterprise", "unit_name", "uscc", "legal_representative" }` (a unit, to
//!   `enterprise_url` when set) as JSON with an API key header and reads
//!   `{ "result": "match" | "mismatch" }`. A 5xx, a timeout or a connection
//!   failure is a retryable error, never a verdict on the person.
//!
//! Names and numbers never reach the log.

use std::{sync::Arc, time::Duration};

use reqwest::header::{HeaderName, HeaderValue};
use tongyi_shared::validate::{IdDocument, IdDocumentType, ResidentId, Uscc};

use crate::config::{Config, RealnameProviderKind};

/// What the provider says about a name and a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Match,
    Mismatch,
}

/// Why no verdict could be had. No variant carries the name, the number or the key.
#[derive(Debug, thiserror::Error)]
pub enum RealnameError {
    #[error("the development real-name provider cannot be used in production")]
    DevInProduction,
    #[error("real-name provider configuration: {0}")]
    Config(String),
    #[error("real-name provider did not answer in time")]
    Timeout,
    #[error("real-name provider unreachable: {0}")]
    Transport(String),
    #[error("real-name provider answered HTTP {status}")]
    Status { status: u16 },
    #[error("real-name provider answered something unreadable")]
    BadAnswer,
}

impl RealnameError {
    /// Whether the same question may get an answer later (upstream down, slow or closed).
    pub fn is_retryable(&self) -> bool {
        match self {
            RealnameError::Timeout | RealnameError::Transport(_) => true,
            RealnameError::Status { status } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// The question asked: a name and an identity document.
#[derive(Clone)]
pub struct RealnameQuery<'a> {
    pub name: &'a str,
    /// [`IdDocumentType::code`]
    pub id_type: &'a str,
    pub id_number: &'a str,
}

impl std::fmt::Debug for RealnameQuery<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealnameQuery")
            .field("id_type", &self.id_type)
            .finish_non_exhaustive()
    }
}

/// The enterprise question (企业三要素): a unit's name, its USCC and its legal representative.
#[derive(Clone)]
pub struct EnterpriseQuery<'a> {
    pub unit_name: &'a str,
    pub uscc: &'a str,
    pub legal_representative: &'a str,
}

impl std::fmt::Debug for EnterpriseQuery<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnterpriseQuery").finish_non_exhaustive()
    }
}

/// The configured provider. Cheap to clone.
#[derive(Clone, Debug)]
pub enum RealnameProvider {
    Dev(DevVerifier),
    Http(HttpVerifier),
}

impl RealnameProvider {
    pub fn from_config(config: &Config) -> Result<RealnameProvider, RealnameError> {
        match config.realname.provider {
            RealnameProviderKind::Dev => Ok(RealnameProvider::Dev(DevVerifier::new(config)?)),
            RealnameProviderKind::Http => Ok(RealnameProvider::Http(HttpVerifier::new(config)?)),
        }
    }

    pub async fn verify(&self, q: &RealnameQuery<'_>) -> Result<Verdict, RealnameError> {
        match self {
            RealnameProvider::Dev(d) => d.verify(q),
            RealnameProvider::Http(h) => h.verify(q).await,
        }
    }

    pub async fn verify_enterprise(
        &self,
        q: &EnterpriseQuery<'_>,
    ) -> Result<Verdict, RealnameError> {
        match self {
            RealnameProvider::Dev(d) => d.verify_enterprise(q),
            RealnameProvider::Http(h) => h.verify_enterprise(q).await,
        }
    }
}

/// Development provider: the rules in the module docs, nothing leaves the process.
#[derive(Clone, Debug)]
pub struct DevVerifier(());

impl DevVerifier {
    /// Refuses production mode: it would verify anybody with a well-formed number.
    pub fn new(config: &Config) -> Result<DevVerifier, RealnameError> {
        if config.production {
            return Err(RealnameError::DevInProduction);
        }
        Ok(DevVerifier(()))
    }

    pub fn verify(&self, q: &RealnameQuery<'_>) -> Result<Verdict, RealnameError> {
        let name = q.name.trim();
        if name.contains("测试超时") {
            return Err(RealnameError::Timeout);
        }
        let len = name.chars().count();
        if !(2..=30).contains(&len) || name.contains("测试失败") {
            return Ok(Verdict::Mismatch);
        }
        let Some(kind) = IdDocumentType::from_code(q.id_type) else {
            return Ok(Verdict::Mismatch);
        };
        let number = if kind.is_resident_id_number() {
            ResidentId::parse(q.id_number).map(|id| id.as_str().to_owned())
        } else {
            IdDocument::parse(kind, q.id_number).map(|d| d.number().to_owned())
        };
        let Ok(number) = number else {
            return Ok(Verdict::Mismatch);
        };
        let chars: Vec<char> = number.chars().collect();
        let n = chars.len();
        if n >= 5 && chars[n - 5..n - 1].iter().all(|c| *c == '0') {
            return Ok(Verdict::Mismatch);
        }
        Ok(Verdict::Match)
    }

    pub fn verify_enterprise(&self, q: &EnterpriseQuery<'_>) -> Result<Verdict, RealnameError> {
        let unit = q.unit_name.trim();
        let rep = q.legal_representative.trim();
        if unit.contains("测试超时") {
            return Err(RealnameError::Timeout);
        }
        let rep_len = rep.chars().count();
        let failed = unit.chars().count() < 2
            || !(2..=30).contains(&rep_len)
            || unit.contains("测试失败")
            || rep.contains("测试失败")
            || Uscc::parse(q.uscc).is_err();
        Ok(if failed {
            Verdict::Mismatch
        } else {
            Verdict::Match
        })
    }
}

/// Asks an HTTP verification service.
#[derive(Clone)]
pub struct HttpVerifier {
    client: reqwest::Client,
    url: Arc<str>,
    enterprise_url: Arc<str>,
    auth_name: HeaderName,
    auth_value: HeaderValue,
}

impl std::fmt::Debug for HttpVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpVerifier")
            .field("url", &self.url)
            .field("auth_header", &self.auth_name)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize)]
struct VerifyRequest<'a> {
    name: &'a str,
    id_type: &'a str,
    id_number: &'a str,
}

#[derive(serde::Serialize)]
struct EnterpriseRequest<'a> {
    kind: &'static str,
    unit_name: &'a str,
    uscc: &'a str,
    legal_representative: &'a str,
}

#[derive(serde::Deserialize)]
struct VerifyAnswer {
    result: String,
}

impl HttpVerifier {
    pub fn new(config: &Config) -> Result<HttpVerifier, RealnameError> {
        let r = &config.realname;
        url::Url::parse(&r.url)
            .map_err(|e| RealnameError::Config(format!("url is not a URL: {e}")))?;
        let auth_name = HeaderName::from_bytes(r.api_key_header.as_bytes())
            .map_err(|_| RealnameError::Config("api_key_header is not a header name".into()))?;
        let value = if auth_name == reqwest::header::AUTHORIZATION {
            format!("Bearer {}", r.api_key.trim())
        } else {
            r.api_key.trim().to_owned()
        };
        let mut auth_value = HeaderValue::from_str(&value)
            .map_err(|_| RealnameError::Config("api_key cannot be sent in a header".into()))?;
        auth_value.set_sensitive(true);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(r.timeout_secs.max(1)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| RealnameError::Config(e.without_url().to_string()))?;
        Ok(HttpVerifier {
            client,
            url: Arc::from(r.url.as_str()),
            enterprise_url: Arc::from(if r.enterprise_url.is_empty() {
                r.url.as_str()
            } else {
                r.enterprise_url.as_str()
            }),
            auth_name,
            auth_value,
        })
    }

    async fn verify(&self, q: &RealnameQuery<'_>) -> Result<Verdict, RealnameError> {
        let body = VerifyRequest {
            name: q.name.trim(),
            id_type: q.id_type,
            id_number: q.id_number,
        };
        self.ask(&self.url, &body).await
    }

    async fn verify_enterprise(&self, q: &EnterpriseQuery<'_>) -> Result<Verdict, RealnameError> {
        let body = EnterpriseRequest {
            kind: "enterprise",
            unit_name: q.unit_name.trim(),
            uscc: q.uscc.trim(),
            legal_representative: q.legal_representative.trim(),
        };
        self.ask(&self.enterprise_url, &body).await
    }

    async fn ask(&self, url: &str, body: &impl serde::Serialize) -> Result<Verdict, RealnameError> {
        let res = self
            .client
            .post(url)
            .header(self.auth_name.clone(), self.auth_value.clone())
            .json(body)
            .send()
            .await
            .map_err(|e| {
                // Without the URL: some services take credentials in the query string.
                let e = e.without_url();
                tracing::warn!(error = %e, "real-name provider request failed");
                if e.is_timeout() {
                    RealnameError::Timeout
                } else {
                    RealnameError::Transport(e.to_string())
                }
            })?;
        let status = res.status();
        if !status.is_success() {
            // The body is not logged: a service may echo the request, name and number included.
            tracing::warn!(
                status = status.as_u16(),
                "real-name provider refused a check"
            );
            return Err(RealnameError::Status {
                status: status.as_u16(),
            });
        }
        let answer: VerifyAnswer = res.json().await.map_err(|e| {
            if e.is_timeout() {
                RealnameError::Timeout
            } else {
                RealnameError::BadAnswer
            }
        })?;
        match answer.result.as_str() {
            "match" => Ok(Verdict::Match),
            "mismatch" => Ok(Verdict::Mismatch),
            _ => Err(RealnameError::BadAnswer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev() -> DevVerifier {
        let c: Config = toml::from_str(include_str!("../../../config/idp.toml")).unwrap();
        DevVerifier::new(&c).unwrap()
    }

    fn ask(name: &str, id_type: &str, number: &str) -> Result<Verdict, RealnameError> {
        dev().verify(&RealnameQuery {
            name,
            id_type,
            id_number: number,
        })
    }

    #[test]
    fn dev_enterprise_rules() {
        let d = dev();
        let ask = |unit: &str, uscc: &str, rep: &str| {
            d.verify_enterprise(&EnterpriseQuery {
                unit_name: unit,
                uscc,
                legal_representative: rep,
            })
        };
        let uscc = "91120116MA05JJ1X4B";
        assert_eq!(
            ask("天津测试科技有限公司", uscc, "王建国").unwrap(),
            Verdict::Match
        );
        assert_eq!(
            ask("天津测试科技有限公司", "91120116MA05JJ1X4C", "王建国").unwrap(),
            Verdict::Mismatch,
            "check character"
        );
        assert_eq!(
            ask("天津测试失败有限公司", uscc, "王建国").unwrap(),
            Verdict::Mismatch
        );
        assert_eq!(
            ask("天津测试科技有限公司", uscc, "王").unwrap(),
            Verdict::Mismatch
        );
        assert!(ask("天津测试超时有限公司", uscc, "王建国")
            .unwrap_err()
            .is_retryable());
        let debug = format!(
            "{:?}",
            EnterpriseQuery {
                unit_name: "甲公司",
                uscc,
                legal_representative: "王建国"
            }
        );
        assert!(
            !debug.contains("王建国") && !debug.contains(uscc),
            "{debug}"
        );
    }

    #[test]
    fn dev_rules() {
        let id = "11010519491231002X";
        assert_eq!(ask("张三", "resident_id_card", id).unwrap(), Verdict::Match);
        assert_eq!(
            ask(" 张三 ", "household_register", id).unwrap(),
            Verdict::Match
        );
        assert_eq!(
            ask("张", "resident_id_card", id).unwrap(),
            Verdict::Mismatch
        );
        let long = "张".repeat(31);
        assert_eq!(
            ask(&long, "resident_id_card", id).unwrap(),
            Verdict::Mismatch
        );
        assert_eq!(
            ask("张测试失败", "resident_id_card", id).unwrap(),
            Verdict::Mismatch
        );
        assert_eq!(
            ask("张三", "resident_id_card", "110105194912310021").unwrap(),
            Verdict::Mismatch,
            "wrong check character"
        );
        assert_eq!(ask("张三", "no_such_type", id).unwrap(), Verdict::Mismatch);
        assert_eq!(
            ask("John Smith", "passport", "E12345678").unwrap(),
            Verdict::Match
        );
        assert_eq!(
            ask("John Smith", "passport", "E12300001").unwrap(),
            Verdict::Mismatch
        );
        assert!(ask("测试超时", "resident_id_card", id)
            .unwrap_err()
            .is_retryable());
        let debug = format!(
            "{:?}",
            RealnameQuery {
                name: "张三",
                id_type: "passport",
                id_number: "E12345678"
            }
        );
        assert!(!debug.contains("张三") && !debug.contains("E12345678"));
    }

    #[test]
    fn dev_refuses_production() {
        let mut c: Config = toml::from_str(include_str!("../../../config/idp.toml")).unwrap();
        c.production = true;
        assert!(matches!(
            RealnameProvider::from_config(&c),
            Err(RealnameError::DevInProduction)
        ));
    }
}
