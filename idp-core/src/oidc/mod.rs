//! The OpenID Connect protocol's services, without the endpoints: signing keys, claims,
//! client rules and registration, granted scopes, DPoP proofs, minting tokens, redeeming codes and rotating refresh
//! tokens, login sessions and back-channel logout.

pub mod backchannel;
pub mod claims;
pub mod claims_cache;
pub mod client;
pub mod consent;
pub mod dpop;
pub mod grant;
pub mod issue;
pub mod key_timeline;
pub mod keys;
pub mod registration;
pub mod resource;
pub mod scope;
pub mod session;

/// Endpoint URLs, derived once from the issuer.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub issuer: String,
    pub authorization: String,
    pub token: String,
    pub userinfo: String,
    pub jwks: String,
    pub end_session: String,
    pub revocation: String,
    pub introspection: String,
    /// RFC 9126 pushed authorization requests.
    pub pushed_authorization_request: String,
}

impl Endpoints {
    pub fn new(issuer: &str) -> Self {
        let at = |path: &str| format!("{issuer}{path}");
        Endpoints {
            issuer: issuer.to_owned(),
            authorization: at("/authorize"),
            token: at("/token"),
            userinfo: at("/userinfo"),
            jwks: at("/jwks"),
            end_session: at("/logout"),
            revocation: at("/revoke"),
            introspection: at("/introspect"),
            pushed_authorization_request: at("/par"),
        }
    }
}
