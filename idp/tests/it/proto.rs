//! Raw protocol calls for the tests that probe error paths, where a certified RP library would
//! refuse to send what we need to send: hand-built authorization requests, and token,
//! introspection, revocation and userinfo requests with each client authentication method.

use base64::Engine;
use reqwest::{header, header::HeaderMap, StatusCode};
use sha2::{Digest, Sha256};

use crate::harness::{
    authorize_as, location, query_param, TestIdp, SECRET_BASIC, SECRET_INCUBATOR, SECRET_MACHINE,
    SECRET_POST, SECRET_THIRD,
};

/// How a request authenticates its client.
#[derive(Clone, Copy, Debug)]
pub enum Auth<'a> {
    /// `Authorization: Basic` (client_secret_basic).
    Basic(&'a str, &'a str),
    /// `client_id` and `client_secret` in the form (client_secret_post).
    Post(&'a str, &'a str),
    /// Only `client_id` in the form (public clients).
    Public(&'a str),
    /// No client credentials at all.
    Anonymous,
}

/// The registered authentication method and secret of a seeded client.
pub fn seeded(client_id: &str) -> Auth<'_> {
    match client_id {
        "rp-basic" => Auth::Basic(client_id, SECRET_BASIC),
        "rp-post" => Auth::Post(client_id, SECRET_POST),
        "rp-third" => Auth::Basic(client_id, SECRET_THIRD),
        "rp-public" => Auth::Public(client_id),
        "machine-es" | "machine-rs" => Auth::Basic(client_id, SECRET_MACHINE),
        "rp-incubator" => Auth::Basic(client_id, SECRET_INCUBATOR),
        other => panic!("no seeded client {other}"),
    }
}

/// A JSON answer of a protocol endpoint.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The parsed body; `Null` when it was empty or not JSON.
    pub body: serde_json::Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body's `error` code.
    pub fn error(&self) -> Option<&str> {
        self.body["error"].as_str()
    }

    pub fn str(&self, field: &str) -> &str {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string {field} in {:?}", self.body))
    }

    /// Asserts an RFC 6749 §5.2 error with this status and code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, error: &str) {
        assert_eq!(
            (self.status.as_u16(), self.error()),
            (status, Some(error)),
            "expected {status} {error}, got {self:?}"
        );
    }

    #[track_caller]
    pub fn assert_ok(&self) {
        assert_eq!(self.status, StatusCode::OK, "expected 200, got {self:?}");
    }
}

async fn reply(res: reqwest::Response) -> Reply {
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.unwrap();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    }
}

/// POSTs a form to `path` at the IdP with the client authentication `auth`.
pub async fn post_form(idp: &TestIdp, path: &str, auth: Auth<'_>, form: &[(&str, &str)]) -> Reply {
    post_form_with(idp, path, auth, form, &[]).await
}

/// [`post_form`] with extra request headers (a DPoP proof, say).
pub async fn post_form_with(
    idp: &TestIdp,
    path: &str,
    auth: Auth<'_>,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Reply {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    let mut req = TestIdp::http().post(idp.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    match auth {
        Auth::Basic(id, secret) => req = req.basic_auth(id, Some(secret)),
        Auth::Post(id, secret) => {
            fields.push(("client_id", id));
            fields.push(("client_secret", secret));
        }
        Auth::Public(id) => fields.push(("client_id", id)),
        Auth::Anonymous => {}
    }
    reply(req.form(&fields).send().await.unwrap()).await
}

/// A token endpoint request. Every answer of the token endpoint, success or error, must
/// forbid caching (RFC 6749 §5.1, §5.2); this is checked here for all of them.
pub async fn token(idp: &TestIdp, auth: Auth<'_>, form: &[(&str, &str)]) -> Reply {
    let r = post_form(idp, "/token", auth, form).await;
    assert_eq!(
        r.header("cache-control"),
        Some("no-store"),
        "token response without Cache-Control: no-store: {r:?}"
    );
    r
}

pub async fn introspect(idp: &TestIdp, auth: Auth<'_>, token: &str) -> Reply {
    post_form(idp, "/introspect", auth, &[("token", token)]).await
}

/// Whether the token is active according to introspection by `client`.
pub async fn active(idp: &TestIdp, client: &str, token: &str) -> bool {
    let r = introspect(idp, seeded(client), token).await;
    r.assert_ok();
    r.body["active"]
        .as_bool()
        .unwrap_or_else(|| panic!("no active member in {r:?}"))
}

pub async fn revoke(idp: &TestIdp, auth: Auth<'_>, token: &str) -> Reply {
    post_form(idp, "/revoke", auth, &[("token", token)]).await
}

pub async fn refresh(idp: &TestIdp, client: &str, refresh_token: &str) -> Reply {
    token(
        idp,
        seeded(client),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

pub async fn client_credentials(idp: &TestIdp, auth: Auth<'_>, scope: &str) -> Reply {
    token(
        idp,
        auth,
        &[("grant_type", "client_credentials"), ("scope", scope)],
    )
    .await
}

/// GET /userinfo with a Bearer token.
pub async fn userinfo(idp: &TestIdp, access_token: &str) -> reqwest::Response {
    TestIdp::http()
        .get(idp.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

pub fn www_authenticate(res: &reqwest::Response) -> String {
    res.headers()
        .get(header::WWW_AUTHENTICATE)
        .unwrap_or_else(|| panic!("no WWW-Authenticate in a {} response", res.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// Asserts the RFC 6750 answer to a bad token: 401 with an `invalid_token` challenge.
pub async fn assert_invalid_token(idp: &TestIdp, access_token: &str) {
    let res = userinfo(idp, access_token).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let challenge = www_authenticate(&res);
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""),
        "{challenge}"
    );
}

/// A fresh PKCE pair: (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    let verifier = tongyi_idp::crypto::random_token(32);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub fn redirect_uri(client_id: &str) -> String {
    format!("http://{client_id}.test/cb")
}

/// An authorization request URL with exactly these parameters.
pub fn authorize_url(idp: &TestIdp, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&idp.url("/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

/// A valid authorization request for `client_id`, with its PKCE verifier; `extra` parameters
/// are added (or replace the defaults of the same name).
pub struct CodeRequest {
    pub url: String,
    pub state: String,
    pub verifier: String,
}

pub fn code_request(idp: &TestIdp, client_id: &str, extra: &[(&str, &str)]) -> CodeRequest {
    let (verifier, challenge) = pkce();
    let state = tongyi_idp::crypto::random_token(12);
    let nonce = tongyi_idp::crypto::random_token(12);
    let redirect = redirect_uri(client_id);
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", &redirect),
        ("scope", "openid profile account org grants"),
        ("state", &state),
        ("nonce", &nonce),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        params.retain(|(name, _)| name != k);
        params.push((k, v));
    }
    CodeRequest {
        url: authorize_url(idp, &params),
        state,
        verifier,
    }
}

/// The code in a redirect to the client, after checking `state` and `iss` (RFC 9207).
#[track_caller]
pub fn code_in(idp: &TestIdp, redirect: &url::Url, req: &CodeRequest) -> String {
    assert_eq!(query_param(redirect, "error"), None, "{redirect}");
    assert_eq!(query_param(redirect, "state"), Some(req.state.clone()));
    assert_eq!(query_param(redirect, "iss"), Some(idp.issuer.clone()));
    query_param(redirect, "code").unwrap_or_else(|| panic!("no code in {redirect}"))
}

/// Logs `login_name` in with `browser` for `client_id` and returns (code, verifier).
pub async fn code_for(
    idp: &TestIdp,
    browser: &reqwest::Client,
    client_id: &str,
    login_name: &str,
) -> (String, String) {
    let req = code_request(idp, client_id, &[]);
    let redirect = authorize_as(browser, &idp.base, &req.url, login_name).await;
    let code = code_in(idp, &redirect, &req);
    (code, req.verifier)
}

/// Redeems a code at the token endpoint with the client's registered authentication.
pub async fn exchange(idp: &TestIdp, client_id: &str, code: &str, verifier: &str) -> Reply {
    let redirect = redirect_uri(client_id);
    token(
        idp,
        seeded(client_id),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// Tokens for alice at `client_id` through the whole code flow in a fresh browser.
pub async fn user_tokens(idp: &TestIdp, client_id: &str) -> Reply {
    let b = crate::harness::browser();
    let (code, verifier) = code_for(idp, &b, client_id, "alice").await;
    let r = exchange(idp, client_id, &code, &verifier).await;
    r.assert_ok();
    r
}

/// Asserts an RFC 6749 §4.1.2.1 error redirect (303 to the client's redirect URI, with
/// `error`, the request's `state` and `iss`) and returns the redirect.
#[track_caller]
pub fn assert_error_redirect(
    idp: &TestIdp,
    res: &reqwest::Response,
    client_id: &str,
    state: Option<&str>,
    error: &str,
) -> url::Url {
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "expected a redirect with error={error}"
    );
    let to = url::Url::parse(&location(res)).unwrap();
    assert_eq!(
        format!("{}://{}{}", to.scheme(), to.host_str().unwrap(), to.path()),
        redirect_uri(client_id),
        "{to}"
    );
    assert_eq!(query_param(&to, "error").as_deref(), Some(error), "{to}");
    assert_eq!(query_param(&to, "state").as_deref(), state, "{to}");
    assert_eq!(query_param(&to, "iss"), Some(idp.issuer.clone()), "{to}");
    assert_eq!(query_param(&to, "code"), None, "{to}");
    to
}

/// Changes one character in the middle of a JWT's payload.
pub fn tamper(jwt: &str) -> String {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let mut payload: Vec<char> = parts[1].chars().collect();
    let i = payload.len() / 2;
    payload[i] = if payload[i] == 'A' { 'B' } else { 'A' };
    let payload: String = payload.into_iter().collect();
    assert_ne!(payload, parts[1]);
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// Arguments of `idp client add` for a client_credentials machine client.
pub fn machine_client_args(client_id: &str) -> tongyi_idp::cli::ClientArgs {
    tongyi_idp::cli::ClientArgs {
        client_id: client_id.into(),
        name: format!("命令行应用 {client_id}"),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        grant_types: vec!["client_credentials".into()],
        auth_method: "client_secret_basic".into(),
        alg: "ES256".into(),
        scopes: vec!["reports.read".into()],
        subsystem: None,
        first_party: true,
        jwks_file: None,
        initiate_login_uri: None,
        resource_uri: None,
        require_pushed_authorization_requests: false,
        dpop_bound_access_tokens: false,
    }
}

/// The secret in the output of `client add` or `client rotate-secret`.
pub fn secret_in(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap_or_else(|| panic!("no secret in:\n{out}"))
        .to_owned()
}
