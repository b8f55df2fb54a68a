//! Client types and authentication methods: machine clients with client_credentials (ES256 and
//! RS256 tokens), client_secret_post and public clients in full code flows through the
//! `openidconnect` crate, `private_key_jwt` (RFC 7523) with a key registered at test time, and
//! clients that use a method other than the one they registered.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use josekit::{
    jwk::JwkSet,
    jws::{EdDSA, JwsSigner, JwsVerifier, ES256, RS256},
};
use openidconnect::{
    core::{CoreErrorResponseType, CoreIdTokenClaims},
    AccessTokenHash, AuthType, OAuth2TokenResponse, RequestTokenError, TokenResponse,
};
use serde_json::json;
use tongyi_idp::{
    oidc::{
        client::{AuthMethod, Client, ClientRules, GrantType},
        keys::SigningAlg,
    },
    store,
};

use crate::{
    both_backends,
    harness::{authorize_as, browser, Backend, TestIdp, SECRET_BASIC, SECRET_MACHINE, SECRET_POST},
    proto::{self, client_credentials, seeded, token, Auth},
    rp,
};

/// Verifies a JWT against the IdP's published JWKS, independently of the IdP's code, and
/// returns its payload.
async fn verify_with_jwks(idp: &TestIdp, jwt: &str) -> serde_json::Value {
    let jwks = reqwest::get(idp.url("/jwks"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let set = JwkSet::from_bytes(&jwks).unwrap();
    let header = rp::header(jwt);
    let kid = header["kid"].as_str().expect("a kid");
    let jwk = *set.get(kid).first().expect("the kid is published");
    let verifier: Box<dyn JwsVerifier> = match header["alg"].as_str().unwrap() {
        "RS256" => Box::new(RS256.verifier_from_jwk(jwk).unwrap()),
        "ES256" => Box::new(ES256.verifier_from_jwk(jwk).unwrap()),
        "EdDSA" => Box::new(EdDSA.verifier_from_jwk(jwk).unwrap()),
        other => panic!("unexpected alg {other}"),
    };
    let (signed, sig) = jwt.rsplit_once('.').unwrap();
    verifier
        .verify(signed.as_bytes(), &URL_SAFE_NO_PAD.decode(sig).unwrap())
        .expect("the signature verifies with the published key");
    rp::payload(jwt)
}

async fn machine_token(idp: &TestIdp, client_id: &str, alg: &str) {
    let r = client_credentials(idp, Auth::Basic(client_id, SECRET_MACHINE), "reports.read").await;
    r.assert_ok();
    assert_eq!(r.str("token_type"), "Bearer");
    assert_eq!(r.body["expires_in"], 300);
    assert_eq!(r.str("scope"), "reports.read");
    assert!(r.body.get("refresh_token").is_none(), "{:?}", r.body);
    assert!(r.body.get("id_token").is_none(), "{:?}", r.body);
    let at = r.str("access_token");
    let header = rp::header(at);
    assert_eq!(header["alg"], alg);
    assert_eq!(header["typ"], "at+jwt");
    let claims = verify_with_jwks(idp, at).await;
    assert_eq!(claims["iss"], idp.issuer.as_str());
    assert_eq!(claims["sub"], client_id);
    assert_eq!(claims["client_id"], client_id);
    assert_eq!(claims["scope"], "reports.read");
    assert!(claims.get("acct").is_none(), "{claims}");
    assert!(claims.get("grants").is_none(), "{claims}");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    // The client it was issued to can introspect it; another client cannot (RFC 7662 §4).
    let i = proto::introspect(idp, seeded(client_id), at).await;
    assert_eq!(i.body["active"], true);
    assert_eq!(i.body["sub"], client_id);
    let i = proto::introspect(idp, seeded("rp-basic"), at).await;
    assert_eq!(i.body, serde_json::json!({ "active": false }));
}

both_backends!(client_credentials_tokens, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    machine_token(&idp, "machine-es", "ES256").await;
    machine_token(&idp, "machine-rs", "RS256").await;

    // Without a scope parameter: an empty scope, still a token.
    let r = token(
        &idp,
        seeded("machine-es"),
        &[("grant_type", "client_credentials")],
    )
    .await;
    r.assert_ok();
    assert_eq!(r.str("scope"), "");
    // openid and unregistered scopes are refused.
    for scope in ["openid", "reports.read openid", "reports.write", "profile"] {
        client_credentials(&idp, seeded("machine-es"), scope)
            .await
            .assert_error(400, "invalid_scope");
    }
    // Wrong secret.
    client_credentials(
        &idp,
        Auth::Basic("machine-es", SECRET_BASIC),
        "reports.read",
    )
    .await
    .assert_error(401, "invalid_client");
});

both_backends!(
    client_secret_post_code_flow,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let http = rp::http();
        let client = rp::client(&idp.issuer, "rp-post", Some(SECRET_POST))
            .await
            .set_auth_type(AuthType::RequestBody);
        let req = rp::start(&client, &["openid", "profile"]);
        let b = browser();
        let redirect = authorize_as(&b, &idp.base, &req.url, "alice").await;
        assert_eq!(redirect.host_str(), Some("rp-post.test"));
        let code = rp::code_from(&redirect, &req, &idp.issuer);
        let tokens = client
            .exchange_code(code)
            .unwrap()
            .set_pkce_verifier(req.verifier)
            .request_async(&http)
            .await
            .expect("code exchange with client_secret_post");
        let id_token = tokens.id_token().expect("an ID token");
        let claims: &CoreIdTokenClaims = id_token
            .claims(&client.id_token_verifier(), &req.nonce)
            .expect("the ID token verifies");
        assert_eq!(claims.subject().as_str(), "acct-alice");
        assert_eq!(rp::header(&id_token.to_string())["alg"], "ES256");
        assert_eq!(rp::header(tokens.access_token().secret())["alg"], "ES256");
        assert!(tokens.refresh_token().is_some());
        let refreshed = client
            .exchange_refresh_token(tokens.refresh_token().unwrap())
            .unwrap()
            .request_async(&http)
            .await
            .expect("refresh with client_secret_post");
        assert!(refreshed.id_token().is_some());

        // The same client using HTTP Basic (the library's default) is refused.
        let basic = rp::client(&idp.issuer, "rp-post", Some(SECRET_POST)).await;
        let req = rp::start(&basic, &["openid"]);
        let redirect = authorize_as(&b, &idp.base, &req.url, "alice").await;
        let code = rp::code_from(&redirect, &req, &idp.issuer);
        match basic
            .exchange_code(code)
            .unwrap()
            .set_pkce_verifier(req.verifier)
            .request_async(&http)
            .await
        {
            Err(RequestTokenError::ServerResponse(e)) => {
                assert_eq!(e.error(), &CoreErrorResponseType::InvalidClient)
            }
            other => panic!("expected invalid_client, got {other:?}"),
        }
    }
);

both_backends!(public_client_code_flow, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let http = rp::http();
    let client = rp::client(&idp.issuer, "rp-public", None).await;
    let req = rp::start(&client, &["openid", "profile", "grants"]);
    let b = browser();
    let redirect = authorize_as(&b, &idp.base, &req.url, "alice").await;
    let code = rp::code_from(&redirect, &req, &idp.issuer);
    let tokens = client
        .exchange_code(code)
        .unwrap()
        .set_pkce_verifier(req.verifier)
        .request_async(&http)
        .await
        .expect("code exchange by a public client");
    let id_token = tokens.id_token().expect("an ID token");
    assert_eq!(rp::header(&id_token.to_string())["alg"], "EdDSA");
    let verifier = client.id_token_verifier();
    let claims: &CoreIdTokenClaims = id_token
        .claims(&verifier, &req.nonce)
        .expect("the EdDSA ID token verifies");
    assert_eq!(claims.subject().as_str(), "acct-alice");
    let expected = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(expected, &actual, "at_hash uses SHA-512 for Ed25519");
    let rt = tokens.refresh_token().expect("a refresh token").clone();
    client
        .exchange_refresh_token(&rt)
        .unwrap()
        .request_async(&http)
        .await
        .expect("a public client refreshes with its client_id only");

    // A public client cannot redeem a code without the verifier, nor present a secret.
    let (code, verifier) = proto::code_for(&idp, &b, "rp-public", "alice").await;
    let redirect_uri = proto::redirect_uri("rp-public");
    token(
        &idp,
        Auth::Public("rp-public"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect_uri),
        ],
    )
    .await
    .assert_error(400, "invalid_grant");
    let (code, _) = proto::code_for(&idp, &b, "rp-public", "alice").await;
    token(
        &idp,
        Auth::Post("rp-public", "made-up-secret"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", &verifier),
        ],
    )
    .await
    .assert_error(401, "invalid_client");
});

/// A compact JWS built by hand, so that every header and claim is under the test's control.
fn sign(signer: &dyn JwsSigner, header: serde_json::Value, claims: serde_json::Value) -> String {
    let h = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
    let p = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let sig = signer.sign(format!("{h}.{p}").as_bytes()).unwrap();
    format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(sig))
}

const PKJWT: &str = "machine-pkjwt";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

struct Assertion<'a> {
    kid: &'a str,
    iss: &'a str,
    sub: &'a str,
    aud: serde_json::Value,
    exp: i64,
    jti: String,
}

impl<'a> Assertion<'a> {
    fn new(idp: &TestIdp, kid: &'a str) -> Self {
        Assertion {
            kid,
            iss: PKJWT,
            sub: PKJWT,
            aud: json!(idp.url("/token")),
            exp: idp.state.clock.now() + 60,
            jti: tongyi_idp::crypto::random_token(16),
        }
    }

    fn sign(&self, signer: &dyn JwsSigner) -> String {
        sign(
            signer,
            json!({ "alg": "ES256", "typ": "JWT", "kid": self.kid }),
            json!({
                "iss": self.iss,
                "sub": self.sub,
                "aud": self.aud,
                "exp": self.exp,
                "iat": self.exp - 60,
                "jti": self.jti,
            }),
        )
    }
}

async fn with_assertion(
    idp: &TestIdp,
    path: &str,
    assertion: &str,
    extra: &[(&str, &str)],
) -> proto::Reply {
    let mut form = vec![
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    form.extend_from_slice(extra);
    proto::post_form(idp, path, Auth::Anonymous, &form).await
}

async fn pkjwt_token(idp: &TestIdp, assertion: &str) -> proto::Reply {
    with_assertion(
        idp,
        "/token",
        assertion,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "reports.read"),
        ],
    )
    .await
}

both_backends!(private_key_jwt, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let key = ES256.generate_key_pair().unwrap();
    let mut jwk = key.to_jwk_public_key();
    jwk.set_key_id("k1");
    jwk.set_algorithm("ES256");
    let jwks = json!({ "keys": [serde_json::Value::Object(jwk.as_ref().clone())] }).to_string();
    let client = Client {
        client_id: PKJWT.into(),
        name: "测试机器客户端（私钥签名）".into(),
        secret_hash: None,
        auth_method: AuthMethod::PrivateKeyJwt,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        grant_types: vec![GrantType::ClientCredentials],
        allowed_scopes: vec!["reports.read".into()],
        signing_alg: SigningAlg::Es256,
        subsystem_code: None,
        first_party: true,
        jwks: Some(jwks),
        initiate_login_uri: None,
        enabled: true,
        resource_uri: None,
        require_pushed_authorization_requests: false,
        dpop_bound_access_tokens: false,
    };
    client.check().expect("a valid registration");
    assert!(
        store::clients::insert(&idp.state.db, &client, idp.state.clock.now())
            .await
            .unwrap()
    );
    let signer = ES256.signer_from_der(key.to_der_private_key()).unwrap();

    // A valid assertion.
    let first = Assertion::new(&idp, "k1").sign(&signer);
    let r = pkjwt_token(&idp, &first).await;
    r.assert_ok();
    let claims = verify_with_jwks(&idp, r.str("access_token")).await;
    assert_eq!(claims["sub"], PKJWT);
    assert_eq!(claims["client_id"], PKJWT);
    assert!(r.body.get("refresh_token").is_none());

    // Replayed: refused (RFC 7523 §3, single use).
    pkjwt_token(&idp, &first)
        .await
        .assert_error(401, "invalid_client");

    // Signed with a key that is not registered (same kid).
    let other = ES256.generate_key_pair().unwrap();
    let other_signer = ES256.signer_from_der(other.to_der_private_key()).unwrap();
    pkjwt_token(&idp, &Assertion::new(&idp, "k1").sign(&other_signer))
        .await
        .assert_error(401, "invalid_client");
    // An unknown kid.
    pkjwt_token(&idp, &Assertion::new(&idp, "k2").sign(&signer))
        .await
        .assert_error(401, "invalid_client");
    // Expired, or valid for too long.
    let mut a = Assertion::new(&idp, "k1");
    a.exp = idp.state.clock.now() - 5;
    pkjwt_token(&idp, &a.sign(&signer))
        .await
        .assert_error(401, "invalid_client");
    let mut a = Assertion::new(&idp, "k1");
    a.exp = idp.state.clock.now() + 3600;
    pkjwt_token(&idp, &a.sign(&signer))
        .await
        .assert_error(401, "invalid_client");
    // For another audience.
    let mut a = Assertion::new(&idp, "k1");
    a.aud = json!("https://elsewhere.example/token");
    pkjwt_token(&idp, &a.sign(&signer))
        .await
        .assert_error(401, "invalid_client");
    // iss and sub must both be the client.
    let mut a = Assertion::new(&idp, "k1");
    a.sub = "someone-else";
    pkjwt_token(&idp, &a.sign(&signer))
        .await
        .assert_error(401, "invalid_client");
    // A client_id parameter naming another client.
    with_assertion(
        &idp,
        "/token",
        &Assertion::new(&idp, "k1").sign(&signer),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "machine-es"),
        ],
    )
    .await
    .assert_error(401, "invalid_client");
    // A tampered assertion.
    pkjwt_token(
        &idp,
        &proto::tamper(&Assertion::new(&idp, "k1").sign(&signer)),
    )
    .await
    .assert_error(401, "invalid_client");
    // A wrong assertion type.
    let r = proto::post_form(
        &idp,
        "/token",
        Auth::Anonymous,
        &[
            ("client_assertion_type", "urn:example:other"),
            (
                "client_assertion",
                &Assertion::new(&idp, "k1").sign(&signer),
            ),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    r.assert_error(400, "invalid_request");
    // A client registered with a secret cannot switch to assertions.
    let mut a = Assertion::new(&idp, "k1");
    a.iss = "machine-es";
    a.sub = "machine-es";
    pkjwt_token(&idp, &a.sign(&signer))
        .await
        .assert_error(401, "invalid_client");
    // Nor can the private_key_jwt client send a secret.
    client_credentials(&idp, Auth::Post(PKJWT, "guess"), "reports.read")
        .await
        .assert_error(401, "invalid_client");
    client_credentials(&idp, Auth::Basic(PKJWT, "guess"), "reports.read")
        .await
        .assert_error(401, "invalid_client");

    // The audience may be the issuer, and an array; a fresh jti works after all these failures.
    let mut a = Assertion::new(&idp, "k1");
    a.aud = json!([idp.issuer]);
    pkjwt_token(&idp, &a.sign(&signer)).await.assert_ok();
    // The client authenticates the same way at the introspection endpoint.
    let mut a = Assertion::new(&idp, "k1");
    a.aud = json!(idp.url("/introspect"));
    let r = with_assertion(
        &idp,
        "/introspect",
        &a.sign(&signer),
        &[("token", "garbage")],
    )
    .await;
    r.assert_ok();
    assert_eq!(r.body, json!({ "active": false }));
    // At the pushed authorization request endpoint the assertion may name that endpoint
    // (RFC 9126 §2): the client authenticates, and its request is then refused for what it
    // is (this machine client has no redirect URI), not with 401.
    let mut a = Assertion::new(&idp, "k1");
    a.aud = json!(idp.url("/par"));
    let pushed = [
        ("response_type", "code"),
        ("redirect_uri", "http://machine-pkjwt.test/cb"),
        ("scope", "openid"),
    ];
    with_assertion(&idp, "/par", &a.sign(&signer), &pushed)
        .await
        .assert_error(400, "invalid_request");
    let mut a = Assertion::new(&idp, "k1");
    a.aud = json!("https://elsewhere.example/par");
    with_assertion(&idp, "/par", &a.sign(&signer), &pushed)
        .await
        .assert_error(401, "invalid_client");
});

both_backends!(wrong_registered_method, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let cc = [
        ("grant_type", "client_credentials"),
        ("scope", "reports.read"),
    ];
    // machine-es registered client_secret_basic: the right secret in the body is refused.
    token(&idp, Auth::Post("machine-es", SECRET_MACHINE), &cc)
        .await
        .assert_error(401, "invalid_client");
    token(&idp, Auth::Basic("machine-es", SECRET_MACHINE), &cc)
        .await
        .assert_ok();

    // rp-basic sending its secret in the body, rp-post using Basic: refused.
    let b = browser();
    let (code, verifier) = proto::code_for(&idp, &b, "rp-basic", "alice").await;
    let redirect = proto::redirect_uri("rp-basic");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    token(&idp, Auth::Post("rp-basic", SECRET_BASIC), &form)
        .await
        .assert_error(401, "invalid_client");
    let (code2, verifier2) = proto::code_for(&idp, &b, "rp-post", "alice").await;
    let redirect2 = proto::redirect_uri("rp-post");
    let r = token(
        &idp,
        Auth::Basic("rp-post", SECRET_POST),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code2),
            ("redirect_uri", &redirect2),
            ("code_verifier", &verifier2),
        ],
    )
    .await;
    r.assert_error(401, "invalid_client");
    assert!(r
        .header("www-authenticate")
        .is_some_and(|c| c.starts_with("Basic ")));
    // A public client trying Basic with an empty secret.
    token(&idp, Auth::Basic("rp-public", ""), &form)
        .await
        .assert_error(401, "invalid_client");

    // With the registered method, the same code still works: failures did not consume it.
    token(&idp, seeded("rp-basic"), &form).await.assert_ok();
});
