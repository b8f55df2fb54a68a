//! Probes, the discovery document and the published key set.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::{
    both_backends,
    harness::{Backend, TestIdp},
};

both_backends!(probes, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let res = TestIdp::http()
        .get(idp.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "ok");
    let res = TestIdp::http()
        .get(idp.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "ready");
});

both_backends!(discovery_document, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let res = TestIdp::http()
        .get(idp.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let doc: Value = res.json().await.unwrap();
    let at = |path: &str| json!(format!("{}{path}", idp.issuer));
    assert_eq!(doc["issuer"], json!(idp.issuer));
    assert_eq!(doc["authorization_endpoint"], at("/authorize"));
    assert_eq!(doc["token_endpoint"], at("/token"));
    assert_eq!(doc["userinfo_endpoint"], at("/userinfo"));
    assert_eq!(doc["jwks_uri"], at("/jwks"));
    assert_eq!(doc["end_session_endpoint"], at("/logout"));
    assert_eq!(doc["revocation_endpoint"], at("/revoke"));
    assert_eq!(doc["introspection_endpoint"], at("/introspect"));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["request_parameter_supported"], json!(false));
    assert_eq!(doc["request_uri_parameter_supported"], json!(false));
    assert_eq!(
        doc["authorization_response_iss_parameter_supported"],
        json!(true)
    );
    assert_eq!(doc["backchannel_logout_supported"], json!(true));
    assert_eq!(doc["backchannel_logout_session_supported"], json!(true));
    let algs = doc["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    for alg in ["RS256", "ES256", "EdDSA"] {
        assert!(algs.contains(&json!(alg)), "{alg}");
    }
    assert!(!algs.contains(&json!("none")));
    let methods = doc["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    for m in [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ] {
        assert!(methods.contains(&json!(m)), "{m}");
    }
    assert!(!doc["introspection_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("none")));
    let scopes = doc["scopes_supported"].as_array().unwrap();
    assert!(scopes.contains(&json!("openid")));

    // The openidconnect crate accepts the document (it checks issuer and endpoints).
    crate::rp::discover(&idp.issuer).await;
});

both_backends!(jwks_document, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let res = TestIdp::http().get(idp.url("/jwks")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cache = res.headers()["cache-control"].to_str().unwrap().to_owned();
    assert!(cache.contains("max-age="), "{cache}");
    let jwks: Value = res.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    for alg in ["RS256", "ES256", "EdDSA"] {
        let found: Vec<&Value> = keys.iter().filter(|k| k["alg"] == alg).collect();
        assert_eq!(found.len(), 1, "one {alg} key before any rotation");
        let k = found[0];
        assert!(k["kid"].as_str().is_some_and(|kid| !kid.is_empty()), "{k}");
        assert_eq!(k["use"], "sig", "{k}");
    }
    let mut kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    kids.sort();
    kids.dedup();
    assert_eq!(kids.len(), keys.len(), "kids are unique");
    for k in keys {
        // Public parts only.
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(k.get(private).is_none(), "private member {private} in {k}");
        }
    }
    let rsa = keys.iter().find(|k| k["alg"] == "RS256").unwrap();
    assert_eq!(rsa["kty"], "RSA");
    let ec = keys.iter().find(|k| k["alg"] == "ES256").unwrap();
    assert_eq!(
        (ec["kty"].as_str(), ec["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    let ed = keys.iter().find(|k| k["alg"] == "EdDSA").unwrap();
    assert_eq!(
        (ed["kty"].as_str(), ed["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
});
