//! Registered clients (relying parties and machine clients) and the rules on their metadata.
//! The record itself lives in the store crate; the rules a registration must satisfy are here.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use crate::store::clients::{AuthMethod, Client, GrantType};

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
    #[error("resource URI {0:?} must be an absolute URI without a fragment")]
    BadResource(String),
}

/// The metadata rules of a registration (a trait because the record is defined in the
/// store crate).
pub trait ClientRules {
    /// Checks the metadata rules that a registration must satisfy.
    fn check(&self) -> Result<(), ClientRuleError>;
}

impl ClientRules for Client {
    fn check(&self) -> Result<(), ClientRuleError> {
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
        if let Some(uri) = &self.resource_uri {
            super::resource::parse(std::slice::from_ref(uri))
                .map_err(|_| ClientRuleError::BadResource(uri.clone()))?;
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

/// The web origins of the public clients, and when they were derived.
type OriginsEntry = (Arc<HashSet<String>>, Instant);

#[derive(Clone, Default)]
pub struct ClientCache {
    entries: Arc<Mutex<HashMap<String, CacheEntry>>>,
    /// [`public_web_origins`] of all clients, read on every CORS request to the protocol
    /// endpoints; it expires like the entries and is dropped whenever a client is forgotten.
    origins: Arc<Mutex<Option<OriginsEntry>>>,
    /// Resource servers by audience identifier (RFC 8707), read when a token request names a
    /// resource; dropped whenever a client is forgotten.
    resources: Arc<Mutex<HashMap<String, CacheEntry>>>,
    ttl: Duration,
}

/// The web origins (`scheme://host[:port]`) of the redirect URIs of the enabled public
/// clients: the browser applications that may call the protocol endpoints from script (CORS).
/// Confidential clients keep their secret on a server, which needs no CORS.
pub fn public_web_origins<'a>(clients: impl IntoIterator<Item = &'a Client>) -> HashSet<String> {
    clients
        .into_iter()
        .filter(|c| c.enabled && c.is_public())
        .flat_map(|c| &c.redirect_uris)
        .filter_map(|uri| url::Url::parse(uri).ok())
        .map(|u| u.origin())
        .filter(|o| o.is_tuple())
        .map(|o| o.ascii_serialization())
        .collect()
}

impl ClientCache {
    pub fn new(ttl: Duration) -> Self {
        ClientCache {
            entries: Default::default(),
            origins: Default::default(),
            resources: Default::default(),
            ttl,
        }
    }

    /// The cached web origins of the public clients, when fresh.
    pub fn origins(&self) -> Option<Arc<HashSet<String>>> {
        let cached = self.origins.lock().unwrap_or_else(|p| p.into_inner());
        cached
            .as_ref()
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(o, _)| o.clone())
    }

    pub fn set_origins(&self, origins: Arc<HashSet<String>>) {
        let mut cached = self.origins.lock().unwrap_or_else(|p| p.into_inner());
        *cached = Some((origins, Instant::now()));
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

    /// Like [`ClientCache::get`], for the resource server registered under `uri`.
    pub fn get_resource(&self, uri: &str) -> Option<Option<Arc<Client>>> {
        let map = self.resources.lock().unwrap_or_else(|p| p.into_inner());
        map.get(uri)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(c, _)| c.clone())
    }

    pub fn insert_resource(&self, uri: &str, client: Option<Arc<Client>>) {
        let mut map = self.resources.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, (c, _)| c.is_some());
        }
        map.insert(uri.to_owned(), (client, Instant::now()));
    }

    pub fn forget(&self, client_id: &str) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(client_id);
        drop(map);
        // Any change of a client may add or remove a web origin or a resource server.
        *self.origins.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.resources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{crypto, oidc::keys::SigningAlg};

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
            resource_uri: None,
            require_pushed_authorization_requests: false,
            dpop_bound_access_tokens: false,
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
    fn web_origins_of_public_clients_only() {
        let mut public = sample();
        public.client_id = "spa".into();
        public.auth_method = AuthMethod::None;
        public.redirect_uris = vec![
            "https://spa.example/cb".into(),
            "https://spa.example/other?x=1".into(),
            "http://localhost:5173/cb".into(),
        ];
        let mut disabled = public.clone();
        disabled.enabled = false;
        disabled.redirect_uris = vec!["https://old.example/cb".into()];
        let origins = public_web_origins([&sample(), &public, &disabled]);
        let mut origins: Vec<_> = origins.into_iter().collect();
        origins.sort();
        assert_eq!(origins, ["http://localhost:5173", "https://spa.example"]);
    }

    #[test]
    fn forgetting_a_client_drops_the_origins() {
        let cache = ClientCache::new(Duration::from_secs(60));
        cache.set_origins(Arc::new(["https://spa.example".to_owned()].into()));
        assert!(cache.origins().is_some());
        cache.forget("spa");
        assert!(cache.origins().is_none());
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
        let mut c = sample();
        c.resource_uri = Some("https://api.example/#x".into());
        assert!(matches!(c.check(), Err(ClientRuleError::BadResource(_))));
        c.resource_uri = Some("https://api.example/".into());
        assert_eq!(c.check(), Ok(()));
    }
}
