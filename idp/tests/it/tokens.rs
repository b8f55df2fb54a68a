//! Using and checking tokens: the UserInfo endpoint as an RFC 6750 resource, introspection
//! (RFC 7662) and revocation (RFC 7009).

use base64::Engine;
use reqwest::StatusCode;

use crate::{
    both_backends,
    harness::{Backend, TestIdp},
    proto::{
        self, active, assert_invalid_token, introspect, refresh, revoke, seeded, tamper,
        user_tokens, userinfo, www_authenticate, Auth,
    },
};

/// Re-encodes a JWT's payload with one claim changed, keeping the original signature.
fn forge(jwt: &str, claim: &str, value: serde_json::Value) -> String {
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut payload = crate::rp::payload(jwt);
    payload[claim] = value;
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&payload).unwrap());
    format!("{}.{encoded}.{}", parts[0], parts[2])
}

both_backends!(userinfo_rejects_bad_tokens, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let tokens = user_tokens(&idp, "rp-basic").await;
    let access = tokens.str("access_token").to_owned();
    let res = userinfo(&idp, &access).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");

    // One character of the payload changed.
    assert_invalid_token(&idp, &tamper(&access)).await;
    // Another user's id put into the payload.
    assert_invalid_token(&idp, &forge(&access, "sub", "acct-unit".into())).await;
    // The signature of another token.
    let other = user_tokens(&idp, "rp-basic").await;
    let sig = other.str("access_token").rsplit('.').next().unwrap();
    let (signed, _) = access.rsplit_once('.').unwrap();
    assert_invalid_token(&idp, &format!("{signed}.{sig}")).await;
    // The ID token is not an access token.
    assert_invalid_token(&idp, tokens.str("id_token")).await;
    // Garbage, and an unsigned token.
    assert_invalid_token(&idp, "not-a-jwt").await;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
    let (_, rest) = access.split_once('.').unwrap();
    let (payload, _) = rest.split_once('.').unwrap();
    assert_invalid_token(&idp, &format!("{header}.{payload}.")).await;

    // No token at all: a bare challenge without an error code (RFC 6750 §3.1).
    let res = TestIdp::http()
        .get(idp.url("/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let challenge = www_authenticate(&res);
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(!challenge.contains("error="), "{challenge}");

    // A token in both the header and the body is a bad request.
    let res = TestIdp::http()
        .post(idp.url("/userinfo"))
        .bearer_auth(&access)
        .form(&[("access_token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(www_authenticate(&res).contains("error=\"invalid_request\""));

    // A client_credentials token has no user behind it.
    let machine = proto::client_credentials(&idp, seeded("machine-es"), "reports.read").await;
    machine.assert_ok();
    assert_invalid_token(&idp, machine.str("access_token")).await;

    // Still valid before expiry, refused after it.
    assert_eq!(userinfo(&idp, &access).await.status(), StatusCode::OK);
    idp.state.clock.advance(400);
    assert_invalid_token(&idp, &access).await;
});

both_backends!(
    userinfo_needs_the_openid_scope,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let tokens = user_tokens(&idp, "rp-basic").await;
        // A refresh narrowed to no openid scope gives an access token without it.
        let narrowed = proto::token(
            &idp,
            seeded("rp-basic"),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens.str("refresh_token")),
                ("scope", "profile"),
            ],
        )
        .await;
        narrowed.assert_ok();
        assert!(narrowed.body.get("id_token").is_none());
        let res = userinfo(&idp, narrowed.str("access_token")).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(www_authenticate(&res).contains("error=\"insufficient_scope\""));
    }
);

both_backends!(introspection, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let tokens = user_tokens(&idp, "rp-basic").await;
    let access = tokens.str("access_token").to_owned();
    let refresh_token = tokens.str("refresh_token").to_owned();

    let r = introspect(&idp, seeded("rp-basic"), &access).await;
    r.assert_ok();
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["sub"], "acct-alice");
    assert_eq!(r.body["client_id"], "rp-basic");
    assert_eq!(r.body["scope"], "openid profile account org grants");
    assert_eq!(r.body["iss"], idp.issuer.as_str());
    assert_eq!(r.body["token_type"], "Bearer");
    let exp = r.body["exp"].as_i64().expect("exp");
    let iat = r.body["iat"].as_i64().expect("iat");
    assert_eq!(exp - iat, 300);
    // Another confidential client learns nothing but `active: false` (RFC 7662 §4).
    for foreign in ["machine-rs", "rp-post"] {
        let r = introspect(&idp, seeded(foreign), &access).await;
        r.assert_ok();
        assert_eq!(r.body, serde_json::json!({ "active": false }), "{foreign}");
    }

    // Inactive answers carry nothing but `active: false`.
    for bad in [tamper(&access), "garbage".to_owned(), String::new()] {
        let r = introspect(&idp, seeded("rp-basic"), &bad).await;
        if bad.is_empty() {
            r.assert_error(400, "invalid_request");
            continue;
        }
        r.assert_ok();
        assert_eq!(r.body, serde_json::json!({ "active": false }), "{bad}");
    }

    // Refresh tokens are described to their owner only.
    let r = introspect(&idp, seeded("rp-basic"), &refresh_token).await;
    r.assert_ok();
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["token_type"], "refresh_token");
    assert_eq!(r.body["sub"], "acct-alice");
    assert_eq!(r.body["client_id"], "rp-basic");
    let r = proto::post_form(
        &idp,
        "/introspect",
        seeded("rp-basic"),
        &[
            ("token", &refresh_token),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await;
    assert_eq!(r.body["active"], true);
    let r = introspect(&idp, seeded("rp-post"), &refresh_token).await;
    r.assert_ok();
    assert_eq!(r.body, serde_json::json!({ "active": false }));
    assert!(!active(&idp, "machine-es", &refresh_token).await);

    // Only authenticated confidential clients may ask.
    let r = introspect(&idp, Auth::Anonymous, &access).await;
    r.assert_error(401, "invalid_client");
    assert!(r.body.get("active").is_none());
    introspect(&idp, Auth::Basic("rp-basic", "wrong"), &access)
        .await
        .assert_error(401, "invalid_client");
    introspect(&idp, Auth::Public("rp-public"), &access)
        .await
        .assert_error(401, "invalid_client");

    // A used (rotated) refresh token is inactive, its successor active.
    let rotated = refresh(&idp, "rp-basic", &refresh_token).await;
    rotated.assert_ok();
    assert!(!active(&idp, "rp-basic", &refresh_token).await);
    assert!(active(&idp, "rp-basic", rotated.str("refresh_token")).await);

    // Expired access tokens are inactive.
    idp.state.clock.advance(400);
    let r = introspect(&idp, seeded("rp-basic"), &access).await;
    assert_eq!(r.body, serde_json::json!({ "active": false }));
});

both_backends!(revocation, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;

    // Revoking an access token.
    let tokens = user_tokens(&idp, "rp-basic").await;
    let access = tokens.str("access_token").to_owned();
    // Another client cannot revoke it: answered 200 (RFC 7009 §2.2), but nothing happens.
    let r = revoke(&idp, seeded("rp-post"), &access).await;
    r.assert_ok();
    assert!(active(&idp, "rp-basic", &access).await);
    let r = revoke(&idp, seeded("rp-basic"), &access).await;
    r.assert_ok();
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(!active(&idp, "rp-basic", &access).await);
    assert_invalid_token(&idp, &access).await;
    // Revoking the access token leaves the refresh token alone.
    refresh(&idp, "rp-basic", tokens.str("refresh_token"))
        .await
        .assert_ok();

    // Revoking a refresh token: not by another client...
    let tokens = user_tokens(&idp, "rp-post").await;
    let access = tokens.str("access_token").to_owned();
    let rt = tokens.str("refresh_token").to_owned();
    revoke(&idp, seeded("rp-basic"), &rt).await.assert_ok();
    assert!(active(&idp, "rp-post", &rt).await);
    assert!(active(&idp, "rp-post", &access).await);
    // ...but by its owner, and the access token issued with it goes too.
    let r = proto::post_form(
        &idp,
        "/revoke",
        seeded("rp-post"),
        &[("token", &rt), ("token_type_hint", "refresh_token")],
    )
    .await;
    r.assert_ok();
    refresh(&idp, "rp-post", &rt)
        .await
        .assert_error(400, "invalid_grant");
    assert!(!active(&idp, "rp-post", &rt).await);
    assert!(!active(&idp, "rp-post", &access).await);
    assert_invalid_token(&idp, &access).await;

    // Revoking a rotated refresh token revokes the whole family, earlier access tokens included.
    let tokens = user_tokens(&idp, "rp-basic").await;
    let at1 = tokens.str("access_token").to_owned();
    let rotated = refresh(&idp, "rp-basic", tokens.str("refresh_token")).await;
    rotated.assert_ok();
    let at2 = rotated.str("access_token").to_owned();
    let rt2 = rotated.str("refresh_token").to_owned();
    revoke(&idp, seeded("rp-basic"), &rt2).await.assert_ok();
    refresh(&idp, "rp-basic", &rt2)
        .await
        .assert_error(400, "invalid_grant");
    assert_invalid_token(&idp, &at1).await;
    assert_invalid_token(&idp, &at2).await;

    // Garbage and unknown tokens: 200 all the same.
    for junk in ["garbage", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"] {
        let r = revoke(&idp, seeded("rp-basic"), junk).await;
        r.assert_ok();
    }
    // But the client must authenticate, and the token parameter is required.
    revoke(&idp, Auth::Anonymous, "garbage")
        .await
        .assert_error(401, "invalid_client");
    revoke(&idp, Auth::Basic("rp-basic", "wrong"), "garbage")
        .await
        .assert_error(401, "invalid_client");
    proto::post_form(&idp, "/revoke", seeded("rp-basic"), &[])
        .await
        .assert_error(400, "invalid_request");
});
