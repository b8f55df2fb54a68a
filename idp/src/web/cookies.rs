//! The IdP's cookie names and the policy for setting them (the parser and the attributes are
//! `tongyi_shared::cookie`, shared with the relying parties).

use axum::http::{HeaderMap, HeaderValue};
pub use tongyi_shared::cookie::SameSite;
use tongyi_shared::cookie::{self, CookiePolicy};

use crate::config::Config;

fn policy(config: &Config) -> CookiePolicy {
    CookiePolicy::new(config.secure_cookies())
}

pub fn session_name(config: &Config) -> String {
    policy(config).name("tongyi_session")
}

pub fn csrf_name(config: &Config) -> String {
    policy(config).name("tongyi_csrf")
}

pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    cookie::get(headers, name)
}

/// A `Set-Cookie` value: HttpOnly always, Secure on https, Path=/ (required by `__Host-`).
pub fn set(
    config: &Config,
    name: &str,
    value: &str,
    same_site: SameSite,
    max_age: Option<i64>,
) -> HeaderValue {
    policy(config).set(name, value, same_site, max_age)
}

pub fn clear(config: &Config, name: &str) -> HeaderValue {
    policy(config).clear(name)
}
