//! A relying party built on the `openidconnect` crate, the way a subsystem team would use it.

use openidconnect::{
    core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata},
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};

pub type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn discover(issuer: &str) -> CoreProviderMetadata {
    CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.to_owned()).unwrap(), &http())
        .await
        .expect("discovery succeeds")
}

pub async fn client(issuer: &str, client_id: &str, secret: Option<&str>) -> Rp {
    let meta = discover(issuer).await;
    CoreClient::from_provider_metadata(
        meta,
        ClientId::new(client_id.to_owned()),
        secret.map(|s| ClientSecret::new(s.to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(format!("http://{client_id}.test/cb")).unwrap())
}

/// One authorization request in flight.
pub struct Request {
    pub url: String,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub verifier: PkceCodeVerifier,
}

pub fn start(rp: &Rp, scopes: &[&str]) -> Request {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for s in scopes.iter().filter(|s| **s != "openid") {
        req = req.add_scope(Scope::new(s.to_string()));
    }
    let (url, state, nonce) = req.url();
    Request {
        url: url.to_string(),
        state,
        nonce,
        verifier,
    }
}

pub fn code_from(redirect: &url::Url, req: &Request, issuer: &str) -> AuthorizationCode {
    assert_eq!(
        crate::harness::query_param(redirect, "state").as_deref(),
        Some(req.state.secret().as_str()),
        "state is echoed"
    );
    assert_eq!(
        crate::harness::query_param(redirect, "iss").as_deref(),
        Some(issuer),
        "RFC 9207 iss parameter"
    );
    AuthorizationCode::new(
        crate::harness::query_param(redirect, "code")
            .unwrap_or_else(|| panic!("no code in {redirect}")),
    )
}

/// Decodes a JWT's payload without verifying it (the caller verified it already, or wants to
/// tamper with it).
pub fn payload(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let p = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(p)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub fn header(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let p = jwt.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(p)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub fn query_code(redirect: &url::Url) -> Option<String> {
    crate::harness::query_param(redirect, "code")
}
