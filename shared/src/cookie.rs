//! Cookies as every Tongyi app reads and sets them: one parser and one set of attributes, so
//! that the IdP, the portal and the subsystems cannot drift apart on `Secure`, `HttpOnly` or
//! the `__Host-` prefix. Each app keeps only its own cookie names.

use axum::http::{header, HeaderMap, HeaderValue};

/// The `SameSite` attribute of a cookie we set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameSite {
    Strict,
    Lax,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
        }
    }
}

/// Whether the app is served over https, which decides `Secure` and the `__Host-` prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookiePolicy {
    secure: bool,
}

impl CookiePolicy {
    pub fn new(secure: bool) -> Self {
        CookiePolicy { secure }
    }

    /// The `__Host-` prefix pins a cookie to this origin, but browsers accept it only with
    /// `Secure`, so a plain-http development app uses the bare name.
    pub fn name(&self, base: &str) -> String {
        if self.secure {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    /// A `Set-Cookie` value: HttpOnly always, Path=/ (required by `__Host-`), Secure on https;
    /// without `max_age` a session cookie.
    pub fn set(
        &self,
        name: &str,
        value: &str,
        same_site: SameSite,
        max_age: Option<i64>,
    ) -> HeaderValue {
        let mut c = format!(
            "{name}={value}; Path=/; HttpOnly; SameSite={}",
            same_site.as_str()
        );
        if let Some(age) = max_age {
            c.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            c.push_str("; Secure");
        }
        // Names and values are ASCII tokens we generated, so this cannot fail in practice.
        HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// Tells the browser to drop the cookie now.
    pub fn clear(&self, name: &str) -> HeaderValue {
        self.set(name, "", SameSite::Lax, Some(0))
    }
}

/// The value of cookie `name` in the request; an empty value (a cleared cookie) is absent.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
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

    #[test]
    fn attributes_follow_the_scheme() {
        let plain = CookiePolicy::new(false);
        assert_eq!(plain.name("tongyi_session"), "tongyi_session");
        assert_eq!(
            plain
                .set("tongyi_session", "abc", SameSite::Lax, Some(60))
                .to_str()
                .unwrap(),
            "tongyi_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
        );
        let https = CookiePolicy::new(true);
        assert_eq!(https.name("tongyi_csrf"), "__Host-tongyi_csrf");
        assert_eq!(
            https
                .set("__Host-tongyi_csrf", "t", SameSite::Strict, None)
                .to_str()
                .unwrap(),
            "__Host-tongyi_csrf=t; Path=/; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(https
            .clear("__Host-tongyi_csrf")
            .to_str()
            .unwrap()
            .contains("=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"));
    }

    #[test]
    fn reads_one_cookie_among_many() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; tongyi_portal_session=xyz; b="),
        );
        h.append(header::COOKIE, HeaderValue::from_static("c=3"));
        assert_eq!(get(&h, "tongyi_portal_session").as_deref(), Some("xyz"));
        assert_eq!(get(&h, "c").as_deref(), Some("3"));
        assert_eq!(get(&h, "b"), None);
        assert_eq!(get(&h, "d"), None);
    }
}
