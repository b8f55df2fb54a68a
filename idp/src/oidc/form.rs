//! `application/x-www-form-urlencoded` request bodies of the protocol endpoints. Parsed by
//! hand instead of through axum's `Form` so that a wrong content type or a repeated parameter
//! becomes an RFC 6749 `invalid_request` rather than a plain-text 4xx.

use std::collections::HashMap;

use axum::http::{header, HeaderMap};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Parameters that may be repeated: RFC 8707 §2 sends one `resource` per resource.
const REPEATABLE: [&str; 1] = ["resource"];

/// Serializable so that a pushed authorization request (RFC 9126) can be stored as it came and
/// read back by /authorize as if it had been sent there.
#[derive(Serialize, Deserialize)]
pub struct Params {
    single: HashMap<String, String>,
    /// The values of the repeatable parameters, in request order, empty ones left out.
    repeated: HashMap<String, Vec<String>>,
}

impl Params {
    /// Parses a form body; `what` names the endpoint in error descriptions.
    pub fn from_body(headers: &HeaderMap, body: &[u8]) -> Result<Params, AppError> {
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
            .unwrap_or(false);
        if !is_form && !body.is_empty() {
            return Err(AppError::oauth(
                "invalid_request",
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        Self::parse(body)
    }

    pub fn parse(body: &[u8]) -> Result<Params, AppError> {
        let mut map = HashMap::new();
        let mut repeated: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            if let Some(name) = REPEATABLE.iter().find(|n| **n == k) {
                if !v.is_empty() {
                    repeated
                        .entry((*name).to_owned())
                        .or_default()
                        .push(v.into_owned());
                }
                continue;
            }
            // RFC 6749 §3.1/§3.2: parameters must not be included more than once.
            if map.insert(k.clone().into_owned(), v.into_owned()).is_some() {
                return Err(AppError::oauth(
                    "invalid_request",
                    format!("parameter {k} is repeated"),
                ));
            }
        }
        Ok(Params {
            single: map,
            repeated,
        })
    }

    pub fn empty() -> Params {
        Params {
            single: HashMap::new(),
            repeated: HashMap::new(),
        }
    }

    /// Every value of a repeatable parameter (see `REPEATABLE`).
    pub fn all(&self, name: &str) -> &[String] {
        self.repeated.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A parameter; empty values count as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.single
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.single.insert(name.to_owned(), value.to_owned());
    }

    /// Removes a parameter, repeatable or not.
    pub fn remove(&mut self, name: &str) {
        self.repeated.remove(name);
        self.single.remove(name);
    }

    pub fn require(&self, name: &str) -> Result<&str, AppError> {
        self.get(name)
            .ok_or_else(|| AppError::oauth("invalid_request", format!("{name} is required")))
    }
}
