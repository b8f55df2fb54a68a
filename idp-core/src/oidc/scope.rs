//! Which scopes a request is granted. OIDC Core §3.1.2.1 says scope values the server does not
//! understand SHOULD be ignored, and RFC 6749 §3.3 lets the server grant fewer than asked
//! for as long as the token response says which it granted; so an authorization request is
//! granted the intersection of what it asks with what the client may have, and only a request
//! without `openid` is refused (it is not an OpenID Connect request at all).

use tongyi_shared::claims::CUSTOM_SCOPES;

use super::client::Client;

pub const OPENID: &str = "openid";
pub const PROFILE: &str = "profile";
/// Releases `email` and `email_verified` at userinfo (OIDC Core §5.4).
pub const EMAIL: &str = "email";
/// Releases `phone_number` and `phone_number_verified` at userinfo (OIDC Core §5.4).
pub const PHONE: &str = "phone";

/// The scopes this server understands, as advertised in discovery. `offline_access` is not
/// among them: refresh tokens are bound to the login session (docs/integration.md), so there
/// is no offline access to grant, and the value is ignored like any other unknown one.
pub fn supported() -> Vec<&'static str> {
    let mut s = vec![OPENID, PROFILE, EMAIL, PHONE];
    s.extend(CUSTOM_SCOPES);
    s
}

/// The scope values of a space-separated `scope` parameter, in order, without repeats.
pub fn parse(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    out
}

/// Why an authorization request's scope was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// No `openid`: this server answers OpenID Connect requests only.
    #[error("the openid scope is required")]
    NoOpenid,
}

/// The scopes an authorization request by `client` is granted: those it asked for that the
/// server understands and the client is registered for (`openid` is always allowed). Unknown
/// and not-allowed values are dropped, not refused.
pub fn grant_for(client: &Client, requested: &str) -> Result<Vec<String>, ScopeError> {
    let requested = parse(requested);
    if !requested.iter().any(|s| s == OPENID) {
        return Err(ScopeError::NoOpenid);
    }
    let supported = supported();
    Ok(requested
        .into_iter()
        .filter(|s| {
            s == OPENID || (supported.contains(&s.as_str()) && client.allowed_scopes.contains(s))
        })
        .collect())
}

/// The scope of a refresh request (RFC 6749 §6): without `requested`, what was granted;
/// otherwise `requested`, which may only narrow it. `Err` names the first value that would
/// widen it.
pub fn narrow(granted: &str, requested: Option<&str>) -> Result<String, String> {
    let Some(requested) = requested else {
        return Ok(granted.to_owned());
    };
    let granted = parse(granted);
    let requested = parse(requested);
    if let Some(extra) = requested.iter().find(|s| !granted.contains(s)) {
        return Err(extra.clone());
    }
    Ok(requested.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{oidc::keys::SigningAlg, store::clients::AuthMethod};

    fn client(scopes: &[&str]) -> Client {
        Client {
            client_id: "rp".into(),
            name: "rp".into(),
            secret_hash: None,
            auth_method: AuthMethod::None,
            redirect_uris: vec!["https://rp.example/cb".into()],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            grant_types: vec![],
            allowed_scopes: scopes.iter().map(|s| s.to_string()).collect(),
            signing_alg: SigningAlg::Rs256,
            subsystem_code: None,
            first_party: true,
            jwks: None,
            initiate_login_uri: None,
            enabled: true,
            resource_uri: None,
            require_pushed_authorization_requests: false,
            dpop_bound_access_tokens: false,
        }
    }

    #[test]
    fn grants_the_intersection() {
        let c = client(&["openid", "profile", "email", "reports.read"]);
        assert_eq!(
            grant_for(&c, "openid profile email phone offline_access admin openid").unwrap(),
            ["openid", "profile", "email"]
        );
        // Registered but not understood by an authorization request: still dropped.
        assert_eq!(grant_for(&c, "openid reports.read").unwrap(), ["openid"]);
        // openid needs no registration.
        assert_eq!(grant_for(&client(&[]), "openid").unwrap(), ["openid"]);
    }

    #[test]
    fn openid_is_required() {
        let c = client(&["openid", "profile"]);
        assert_eq!(grant_for(&c, "profile"), Err(ScopeError::NoOpenid));
        assert_eq!(grant_for(&c, ""), Err(ScopeError::NoOpenid));
    }

    #[test]
    fn refresh_may_only_narrow() {
        assert_eq!(narrow("openid profile", None).unwrap(), "openid profile");
        assert_eq!(narrow("openid profile", Some("openid")).unwrap(), "openid");
        assert_eq!(
            narrow("openid profile", Some("openid email")),
            Err("email".to_owned())
        );
    }
}
