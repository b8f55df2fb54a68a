//! The cookies of a relying party. Cookies ignore ports, so the IdP, the portal and every
//! subsystem on one host would overwrite each other's cookies if they shared names: each name
//! therefore carries the client id.

use axum::http::{header, HeaderMap, HeaderValue};

use super::config::RpConfig;

/// The names of one app's cookies, fixed at start-up.
#[derive(Clone, Debug)]
pub(crate) struct CookieJar {
    pub session: String,
    /// Binds pending logins to the browser that started them.
    pub login: String,
    /// The `state` of an RP-initiated logout, to recognise the IdP's redirect back.
    pub logout: String,
    secure: bool,
}

impl CookieJar {
    pub fn new(config: &RpConfig) -> Self {
        let secure = config.secure_cookies();
        // `__Host-` pins a cookie to this origin, but browsers take it only with `Secure`.
        let prefix = if secure { "__Host-" } else { "" };
        let name = |what: &str| format!("{prefix}tongyi_{}_{what}", config.client_id);
        CookieJar {
            session: name("session"),
            login: name("login"),
            logout: name("logout"),
            secure,
        }
    }

    /// A `Set-Cookie` value: HttpOnly, SameSite=Lax (the IdP's redirects back are top-level
    /// navigations that must carry it), Path=/, Secure on https.
    pub fn set(&self, name: &str, value: &str, max_age: i64) -> HeaderValue {
        let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}");
        if self.secure {
            c.push_str("; Secure");
        }
        // Names and values are ASCII tokens we generated, so this cannot fail in practice.
        HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    pub fn clear(&self, name: &str) -> HeaderValue {
        self.set(name, "", 0)
    }
}

/// The value of cookie `name` in the request, if present.
pub(crate) fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
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

    #[test]
    fn reads_one_cookie_among_many() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; tongyi_portal_session=xyz; b="),
        );
        assert_eq!(get(&h, "tongyi_portal_session").as_deref(), Some("xyz"));
        assert_eq!(get(&h, "b"), None);
        assert_eq!(get(&h, "c"), None);
    }
}
