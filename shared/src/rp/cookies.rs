//! The cookies of a relying party. Cookies ignore ports, so the IdP, the portal and every
//! subsystem on one host would overwrite each other's cookies if they shared names: each name
//! therefore carries the client id.

use axum::http::{HeaderMap, HeaderValue};

use super::config::RpConfig;
use crate::cookie::{self, CookiePolicy, SameSite};

/// The names of one app's cookies, fixed at start-up.
#[derive(Clone, Debug)]
pub(crate) struct CookieJar {
    pub session: String,
    /// Binds pending logins to the browser that started them.
    pub login: String,
    /// The `state` of an RP-initiated logout, to recognise the IdP's redirect back.
    pub logout: String,
    policy: CookiePolicy,
}

impl CookieJar {
    pub fn new(config: &RpConfig) -> Self {
        let policy = CookiePolicy::new(config.secure_cookies());
        let name = |what: &str| policy.name(&format!("tongyi_{}_{what}", config.client_id));
        CookieJar {
            session: name("session"),
            login: name("login"),
            logout: name("logout"),
            policy,
        }
    }

    /// A `Set-Cookie` value: SameSite=Lax, because the IdP's redirects back are top-level
    /// navigations that must carry it.
    pub fn set(&self, name: &str, value: &str, max_age: i64) -> HeaderValue {
        self.policy.set(name, value, SameSite::Lax, Some(max_age))
    }

    pub fn clear(&self, name: &str) -> HeaderValue {
        self.policy.clear(name)
    }
}

/// The value of cookie `name` in the request, if present.
pub(crate) fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    cookie::get(headers, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base: &str) -> RpConfig {
        serde_json::from_value(serde_json::json!({
            "base_url": base, "issuer": "http://i", "client_id": "incubator", "client_secret": "s",
        }))
        .unwrap()
    }

    #[test]
    fn names_and_attributes() {
        let jar = CookieJar::new(&config("http://127.0.0.1:8082"));
        assert_eq!(jar.session, "tongyi_incubator_session");
        let set = jar.set(&jar.session, "abc", 60);
        assert_eq!(
            set.to_str().unwrap(),
            "tongyi_incubator_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
        );
        let jar = CookieJar::new(&config("https://sub.example"));
        assert_eq!(jar.session, "__Host-tongyi_incubator_session");
        assert!(jar
            .clear(&jar.session)
            .to_str()
            .unwrap()
            .ends_with("; Secure"));
    }
}
