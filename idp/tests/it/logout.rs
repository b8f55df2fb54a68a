//! Single sign-on across clients, RP-initiated logout and back-channel logout delivery.

use josekit::{
    jwk::JwkSet,
    jws::{JwsVerifier, ES256, RS256},
};
use openidconnect::{AuthType, OAuth2TokenResponse, TokenResponse};

use crate::{
    both_backends,
    harness::{
        authorize_as, browser, follow, hidden, location, Backend, Outcome, TestIdp, SECRET_BASIC,
        SECRET_POST, USER_SCOPES,
    },
    rp,
};

/// Verifies a logout token the way a relying party must (Back-Channel Logout 1.0 §2.6),
/// independently of the IdP's own code: JWKS fetched over HTTP, josekit verification.
async fn verify_logout_token(idp: &TestIdp, token: &str, client_id: &str) -> serde_json::Value {
    let jwks = reqwest::get(idp.url("/jwks"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let set = JwkSet::from_bytes(&jwks).unwrap();
    let header = rp::header(token);
    assert_eq!(header["typ"], "logout+jwt");
    let kid = header["kid"].as_str().expect("kid");
    let jwk = set.get(kid)[0];
    let verifier: Box<dyn JwsVerifier> = match header["alg"].as_str().unwrap() {
        "RS256" => Box::new(RS256.verifier_from_jwk(jwk).unwrap()),
        "ES256" => Box::new(ES256.verifier_from_jwk(jwk).unwrap()),
        other => panic!("unexpected alg {other}"),
    };
    let (signed, sig) = token.rsplit_once('.').unwrap();
    let sig =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig).unwrap();
    verifier
        .verify(signed.as_bytes(), &sig)
        .expect("logout token signature");
    let claims = rp::payload(token);
    assert_eq!(claims["iss"], idp.issuer.as_str());
    assert_eq!(claims["aud"], client_id);
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(
        claims.get("nonce").is_none(),
        "a logout token must not carry a nonce"
    );
    assert!(claims["iat"].as_i64().unwrap() <= claims["exp"].as_i64().unwrap());
    assert!(claims["jti"].is_string());
    claims
}

both_backends!(
    sso_then_rp_initiated_logout_reaches_every_client,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let http = rp::http();
        let b = browser();

        let a = rp::client(&idp.issuer, "rp-basic", Some(SECRET_BASIC)).await;
        let req_a = rp::start(&a, USER_SCOPES);
        let redirect = authorize_as(&b, &idp.base, &req_a.url, "alice").await;
        let tokens_a = a
            .exchange_code(rp::code_from(&redirect, &req_a, &idp.issuer))
            .unwrap()
            .set_pkce_verifier(req_a.verifier)
            .request_async(&http)
            .await
            .unwrap();
        let id_a = tokens_a.id_token().unwrap().to_string();

        // Single sign-on: the second client gets its code without any login page.
        let p = rp::client(&idp.issuer, "rp-post", Some(SECRET_POST))
            .await
            .set_auth_type(AuthType::RequestBody);
        let req_p = rp::start(&p, USER_SCOPES);
        let redirect = follow(&b, &idp.base, &req_p.url).await.rp();
        let tokens_p = p
            .exchange_code(rp::code_from(&redirect, &req_p, &idp.issuer))
            .unwrap()
            .set_pkce_verifier(req_p.verifier)
            .request_async(&http)
            .await
            .unwrap();
        let id_p = tokens_p.id_token().unwrap().to_string();
        let sid = rp::payload(&id_a)["sid"].as_str().unwrap().to_owned();
        assert_eq!(
            rp::payload(&id_p)["sid"],
            sid.as_str(),
            "one session, one sid"
        );

        // RP-initiated logout with id_token_hint: no confirmation, redirect with state.
        let logout = format!(
            "{}/logout?id_token_hint={id_a}&post_logout_redirect_uri={}&state=bye-123",
            idp.base,
            urlencode("http://rp-basic.test/bye")
        );
        let res = b.get(&logout).send().await.unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(location(&res), "http://rp-basic.test/bye?state=bye-123");

        let mut received = idp.logouts.lock().unwrap().clone();
        received.sort();
        let clients: Vec<&str> = received.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(
            clients,
            ["rp-basic", "rp-post"],
            "every participating client is told"
        );
        for (client, token) in &received {
            let claims = verify_logout_token(&idp, token, client).await;
            assert_eq!(claims["sid"], sid.as_str());
            assert_eq!(claims["sub"], "acct-alice");
        }
        assert_eq!(rp::header(&received[0].1)["alg"], "RS256");
        assert_eq!(rp::header(&received[1].1)["alg"], "ES256");

        // The IdP session is gone: a new authorization asks for the password again.
        let again = rp::start(&a, USER_SCOPES);
        let (url, _, _) = follow(&b, &idp.base, &again.url).await.page();
        assert!(url.contains("/login"), "{url}");

        // Refresh tokens bound to the session were revoked with it.
        let err = a
            .exchange_refresh_token(tokens_a.refresh_token().unwrap())
            .unwrap()
            .request_async(&http)
            .await
            .expect_err("refresh after logout");
        assert!(format!("{err:?}").contains("invalid_grant"), "{err:?}");
        // And the access tokens issued in it no longer open userinfo.
        let res = http
            .get(idp.url("/userinfo"))
            .bearer_auth(tokens_p.access_token().secret())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
);

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

both_backends!(
    logout_refuses_unregistered_post_logout_uri,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = browser();
        let a = rp::client(&idp.issuer, "rp-basic", Some(SECRET_BASIC)).await;
        let req = rp::start(&a, USER_SCOPES);
        let redirect = authorize_as(&b, &idp.base, &req.url, "alice").await;
        let tokens = a
            .exchange_code(rp::code_from(&redirect, &req, &idp.issuer))
            .unwrap()
            .set_pkce_verifier(req.verifier)
            .request_async(&rp::http())
            .await
            .unwrap();
        let id = tokens.id_token().unwrap().to_string();
        for target in [
            "http://evil.test/bye",
            "http://rp-basic.test/bye/",
            "http://rp-post.test/bye",
        ] {
            let url = format!(
                "{}/logout?id_token_hint={id}&post_logout_redirect_uri={}",
                idp.base,
                urlencode(target)
            );
            let res = b.get(&url).send().await.unwrap();
            assert_eq!(res.status(), 400, "{target}");
            assert!(
                res.headers().get("location").is_none(),
                "never redirect to {target}"
            );
        }
        // Without a hint or client_id, a redirect target cannot be validated.
        let url = format!(
            "{}/logout?post_logout_redirect_uri={}",
            idp.base,
            urlencode("http://rp-basic.test/bye")
        );
        assert_eq!(b.get(&url).send().await.unwrap().status(), 400);
        // A forged ID token is not a hint.
        let mut forged = id.clone();
        forged.push('x');
        let url = format!("{}/logout?id_token_hint={forged}", idp.base);
        assert_eq!(b.get(&url).send().await.unwrap().status(), 400);
        assert!(
            idp.logouts.lock().unwrap().is_empty(),
            "nothing was logged out"
        );
    }
);

both_backends!(
    logout_without_hint_asks_first,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = browser();
        let a = rp::client(&idp.issuer, "rp-basic", Some(SECRET_BASIC)).await;
        let req = rp::start(&a, USER_SCOPES);
        authorize_as(&b, &idp.base, &req.url, "alice").await;

        // A bare GET (e.g. an <img> on another site) must not end the session.
        let res = b.get(idp.url("/logout")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let page = res.text().await.unwrap();
        assert!(page.contains("确定要退出"), "{page}");
        assert!(idp.logouts.lock().unwrap().is_empty());

        // Confirming without the CSRF token fails; with it, the session ends.
        let res = b
            .post(idp.url("/logout/confirm"))
            .form(&[("csrf", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        let res = b
            .post(idp.url("/logout/confirm"))
            .form(&[("csrf", hidden(&page, "csrf"))])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("已退出登录"));
        assert_eq!(idp.logouts.lock().unwrap().len(), 1);
        let again = rp::start(&a, USER_SCOPES);
        match follow(&b, &idp.base, &again.url).await {
            Outcome::Page { url, .. } => assert!(url.contains("/login")),
            Outcome::ToRp(u) => panic!("still logged in: {u}"),
        }
    }
);

both_backends!(relogin_keeps_single_logout, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let b = browser();
    let http = rp::http();
    let a = rp::client(&idp.issuer, "rp-basic", Some(SECRET_BASIC)).await;
    let first = rp::start(&a, USER_SCOPES);
    let redirect = authorize_as(&b, &idp.base, &first.url, "alice").await;
    let tokens = a
        .exchange_code(rp::code_from(&redirect, &first, &idp.issuer))
        .unwrap()
        .set_pkce_verifier(first.verifier)
        .request_async(&http)
        .await
        .unwrap();
    let sid = rp::payload(&tokens.id_token().unwrap().to_string())["sid"].clone();

    // prompt=login at another client: the same account logs in again, the session (and its
    // sid) continues, and the earlier client is still part of it.
    let p = rp::client(&idp.issuer, "rp-post", Some(SECRET_POST))
        .await
        .set_auth_type(AuthType::RequestBody);
    let again = rp::start(&p, USER_SCOPES);
    let url = format!("{}&prompt=login", again.url);
    let redirect = authorize_as(&b, &idp.base, &url, "alice").await;
    let tokens_p = p
        .exchange_code(rp::code_from(&redirect, &again, &idp.issuer))
        .unwrap()
        .set_pkce_verifier(again.verifier)
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(
        rp::payload(&tokens_p.id_token().unwrap().to_string())["sid"],
        sid
    );

    // Logging in as somebody else ends alice's session everywhere first.
    let third = rp::start(&a, USER_SCOPES);
    let url = format!("{}&prompt=login", third.url);
    let redirect = authorize_as(&b, &idp.base, &url, "unit_admin").await;
    let code = rp::code_from(&redirect, &third, &idp.issuer);
    let mut told: Vec<String> = idp
        .logouts
        .lock()
        .unwrap()
        .iter()
        .map(|(c, _)| c.clone())
        .collect();
    told.sort();
    assert_eq!(
        told,
        ["rp-basic", "rp-post"],
        "both clients of alice's session are told"
    );
    let unit = a
        .exchange_code(code)
        .unwrap()
        .set_pkce_verifier(third.verifier)
        .request_async(&http)
        .await
        .unwrap();
    let unit_claims = rp::payload(&unit.id_token().unwrap().to_string());
    assert_eq!(unit_claims["sub"], "acct-unit");
    assert_ne!(unit_claims["sid"], sid, "a new account gets a new session");
    let err = a
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .request_async(&http)
        .await;
    assert!(err.is_err(), "alice's refresh token ended with her session");
});
