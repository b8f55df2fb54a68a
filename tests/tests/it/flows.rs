//! What the cross-app tests do behind the browser: tokens straight from the IdP's endpoints (to
//! call the directory API as a given account, and to read the claims a new token carries).

use reqwest::Url;
use serde_json::Value;

use crate::harness::{log_in_at_idp, Browser, Platform};

/// The demo secret of the portal's client in `config/demo.toml`.
const PORTAL_SECRET: &str = "demo-portal-secret";

/// What the token endpoint answered to one code.
pub struct UserTokens {
    pub access_token: String,
    pub id_token: String,
}

impl UserTokens {
    /// The claims of the ID token (the IdP signed it; these tests only read it).
    pub fn id_claims(&self) -> Value {
        jwt_payload(&self.id_token)
    }
}

/// Decodes a JWT's payload without verifying it.
pub fn jwt_payload(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// Logs `login_name` in with a fresh browser through the portal's client registration and
/// redeems the code itself (the portal's callback never sees a state it knows, so it refuses
/// and leaves the code unused). The portal is a confidential client, so no PKCE is needed.
pub async fn user_tokens(p: &Platform, login_name: &str, password: &str) -> UserTokens {
    let b = Browser::new();
    let redirect_uri = format!("{}/auth/callback", p.portal);
    let authorize = Url::parse_with_params(
        &format!("{}/authorize", p.idp),
        [
            ("response_type", "code"),
            ("client_id", "portal"),
            ("redirect_uri", redirect_uri.as_str()),
            ("scope", "openid profile account org grants"),
            ("state", "direct-state"),
            ("nonce", "direct-nonce"),
        ],
    )
    .unwrap();
    let login = b.open(authorize.as_str()).await;
    let done = log_in_at_idp(&b, &p.idp, &login, login_name, password).await;
    let callback = done
        .trail
        .iter()
        .find(|u| u.starts_with(&redirect_uri))
        .unwrap_or_else(|| panic!("no redirect to the callback: {:?}", done.trail));
    let code = Url::parse(callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let res = reqwest::Client::new()
        .post(format!("{}/token", p.idp))
        .basic_auth("portal", Some(PORTAL_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "token: {}", res.status());
    let body: Value = res.json().await.unwrap();
    UserTokens {
        access_token: body["access_token"].as_str().unwrap().to_owned(),
        id_token: body["id_token"].as_str().unwrap().to_owned(),
    }
}

/// A directory API call as the holder of `token`; returns the status and the JSON body.
pub async fn api(
    p: &Platform,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (reqwest::StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", p.idp))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body)
}
