//! Cookie reading and the attributes of the cookies we set.

use axum::http::{header, HeaderMap, HeaderValue};

use crate::config::Config;

/// The `__Host-` prefix pins a cookie to this origin, but browsers accept it only with
/// `Secure`, so a plain-http development issuer uses the bare name.
pub fn session_name(config: &Config) -> String {
    prefixed(config, "tongyi_session")
}

pub fn csrf_name(config: &Config) -> String {
    prefixed(config, "tongyi_csrf")
}

fn prefixed(config: &Config, base: &str) -> String {
    if config.secure_cookies() {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: HttpOnly always, Secure on https, Path=/ (required by `__Host-`).
pub fn set(
    config: &Config,
    name: &str,
    value: &str,
    same_site: &str,
    max_age: Option<i64>,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
    if config.secure_cookies() {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn clear(config: &Config, name: &str) -> HeaderValue {
    set(config, name, "", "Lax", Some(0))
}
