//! Registered clients (relying parties and machine clients) and the rules on their metadata.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{crypto, oidc::keys::SigningAlg};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    /// A public client: no secret, PKCE is mandatory.
    None,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 4] = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::PrivateKeyJwt,
        AuthMethod::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

#[derive(Clone, Debug)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    /// Hex SHA-256 of the secret; the secret itself is shown once and never stored.
    pub secret_hash: Option<String>,
    pub auth_method: AuthMethod,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: Vec<GrantType>,
    pub allowed_scopes: Vec<String>,
    pub signing_alg: SigningAlg,
    /// The subsystem this client represents (`incubator`, `makerspace`…), if any.
    pub subsystem_code: Option<String>,
    /// First-party clients skip the consent page.
    pub first_party: bool,
    /// The client's public keys (a JWK Set) for `private_key_jwt`.
    pub jwks: Option<String>,
    /// OpenID Connect Registration 1.0 `initiate_login_uri`: opening it makes the RP start a
    /// login here (the portal's launcher links to it).
    pub initiate_login_uri: Option<String>,
    /// False once a platform admin disabled it: it is then treated as unknown.
    pub enabled: bool,
}

/// Why a client definition was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClientRuleError {
    #[error("client_id must be 3-64 characters of letters, digits, '-', '_' or '.'")]
    BadId,
    #[error("redirect URI {0:?} must be an absolute http(s) URL without a fragment")]
    BadRedirect(String),
    #[error("an authorization_code client needs at least one redirect URI")]
    NoRedirect,
    #[error("a public client (auth method none) cannot use client_credentials")]
    PublicMachine,
    #[error("private_key_jwt needs the client's JWK Set")]
    NoJwks,
    #[error("the client's JWK Set is not valid JSON with a `keys` array")]
    BadJwks,
    #[error("grant type refresh_token needs authorization_code too")]
    RefreshWithoutCode,
}

impl Client {
    pub fn allows_grant(&self, g: GrantType) -> bool {
        self.grant_types.contains(&g)
    }

    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    /// Exact string comparison, as RFC 9700 §4.1.3 requires: no prefix or pattern matching.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|u| u == uri)
    }

    pub fn has_post_logout_uri(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|u| u == uri)
    }

    pub fn secret_matches(&self, presented: &str) -> bool {
        match &self.secret_hash {
            Some(stored) => crypto::constant_time_eq(
                stored.as_bytes(),
                crypto::sha256_hex(presented.as_bytes()).as_bytes(),
            ),
            None => false,
        }
    }

    /// Checks the metadata rules that a registration must satisfy.
    pub fn check(&self) -> Result<(), ClientRuleError> {
        let id_ok = (3..=64).contains(&self.client_id.len())
            && self
                .client_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !id_ok {
            return Err(ClientRuleError::BadId);
        }
        for uri in self
            .redirect_uris
            .iter()
            .chain(&self.post_logout_redirect_uris)
            .chain(self.backchannel_logout_uri.iter())
            .chain(self.initiate_login_uri.iter())
        {
            let ok = url::Url::parse(uri)
                .map(|u| matches!(u.scheme(), "http" | "https") && u.fragment().is_none())
                .unwrap_or(false);
            if !ok {
                return Err(ClientRuleError::BadRedirect(uri.clone()));
            }
        }
        if self.allows_grant(GrantType::AuthorizationCode) && self.redirect_uris.is_empty() {
            return Err(ClientRuleError::NoRedirect);
        }
        if self.allows_grant(GrantType::RefreshToken)
            && !self.allows_grant(GrantType::AuthorizationCode)
        {
            return Err(ClientRuleError::RefreshWithoutCode);
        }
        if self.is_public() && self.allows_grant(GrantType::ClientCredentials) {
            return Err(ClientRuleError::PublicMachine);
        }
        if self.auth_method == AuthMethod::PrivateKeyJwt {
            let jwks = self.jwks.as_deref().ok_or(ClientRuleError::NoJwks)?;
            let v: serde_json::Value =
                serde_json::from_str(jwks).map_err(|_| ClientRuleError::BadJwks)?;
            if !v.get("keys").is_some_and(|k| k.is_array()) {
                return Err(ClientRuleError::BadJwks);
            }
        }
        Ok(())
    }
}

/// Clients read per request would cost a database round trip on the token hot path; a short
/// cache bounds how long a changed or removed client keeps its old record (`client_cache_secs`).
/// A cached lookup: the client (or `None` for an unknown id) and when it was read.
type CacheEntry = (Option<Arc<Client>>, Instant);

#[derive(Clone, Default)]
pub struct ClientCache {
    entries: Arc<Mutex<HashMap<String, CacheEntry>>>,
    ttl: Duration,
}

impl ClientCache {
    pub fn new(ttl: Duration) -> Self {
        ClientCache {
            entries: Default::default(),
            ttl,
        }
    }

    /// `Some(entry)` when cached and fresh; the entry itself is `None` for a known-unknown id.
    pub fn get(&self, client_id: &str) -> Option<Option<Arc<Client>>> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(client_id)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(c, _)| c.clone())
    }

    pub fn insert(&self, client_id: &str, client: Option<Arc<Client>>) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            // Unknown ids sent by a scanner must not grow the cache without bound.
            map.retain(|_, (c, _)| c.is_some());
        }
        map.insert(client_id.to_owned(), (client, Instant::now()));
    }

    pub fn forget(&self, client_id: &str) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(client_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Client {
        Client {
            client_id: "portal".into(),
            name: "门户".into(),
            secret_hash: Some(crypto::sha256_hex(b"s3cret")),
            auth_method: AuthMethod::ClientSecretBasic,
            redirect_uris: vec!["https://portal.example/cb".into()],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            allowed_scopes: vec!["openid".into()],
            signing_alg: SigningAlg::Rs256,
            subsystem_code: None,
            first_party: true,
            jwks: None,
            initiate_login_uri: None,
            enabled: true,
        }
    }

    #[test]
    fn redirect_uris_match_exactly() {
        let c = sample();
        assert!(c.has_redirect_uri("https://portal.example/cb"));
        assert!(!c.has_redirect_uri("https://portal.example/cb/"));
        assert!(!c.has_redirect_uri("https://portal.example/cb?x=1"));
        assert!(!c.has_redirect_uri("HTTPS://portal.example/cb"));
    }

    #[test]
    fn secrets_compare_by_digest() {
        let c = sample();
        assert!(c.secret_matches("s3cret"));
        assert!(!c.secret_matches("s3cret "));
        assert!(!c.secret_matches(""));
    }

    #[test]
    fn metadata_rules() {
        assert_eq!(sample().check(), Ok(()));
        let mut c = sample();
        c.client_id = "a b".into();
        assert_eq!(c.check(), Err(ClientRuleError::BadId));
        let mut c = sample();
        c.redirect_uris = vec!["https://x/cb#frag".into()];
        assert!(matches!(c.check(), Err(ClientRuleError::BadRedirect(_))));
        let mut c = sample();
        c.auth_method = AuthMethod::None;
        c.grant_types.push(GrantType::ClientCredentials);
        assert_eq!(c.check(), Err(ClientRuleError::PublicMachine));
        let mut c = sample();
        c.auth_method = AuthMethod::PrivateKeyJwt;
        assert_eq!(c.check(), Err(ClientRuleError::NoJwks));
        c.jwks = Some("{\"nokeys\":1}".into());
        assert_eq!(c.check(), Err(ClientRuleError::BadJwks));
    }
}
