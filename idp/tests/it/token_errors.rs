//! The token endpoint's refusals (RFC 6749 §5.2, RFC 7636 §4.6, RFC 9700): replayed,
//! expired and misbound codes, PKCE failures, client authentication failures, refresh-token
//! reuse, and malformed requests. `proto::token` checks `Cache-Control: no-store` on every
//! answer, successful or not.

use reqwest::StatusCode;

use crate::{
    both_backends,
    harness::{browser, Backend, TestIdp, SECRET_BASIC, SECRET_POST},
    proto::{
        self, active, code_for, exchange, redirect_uri, refresh, seeded, token, user_tokens, Auth,
    },
};

both_backends!(
    code_replay_revokes_what_it_issued,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = browser();
        let (code, verifier) = code_for(&idp, &b, "rp-basic", "alice").await;
        let first = exchange(&idp, "rp-basic", &code, &verifier).await;
        first.assert_ok();
        let access = first.str("access_token").to_owned();
        let refresh_token = first.str("refresh_token").to_owned();
        assert!(active(&idp, "rp-basic", &access).await);
        assert_eq!(
            proto::userinfo(&idp, &access).await.status(),
            StatusCode::OK
        );

        let second = exchange(&idp, "rp-basic", &code, &verifier).await;
        second.assert_error(400, "invalid_grant");
        assert!(second.body.get("access_token").is_none());

        // RFC 6749 §4.1.2: the tokens issued for the code are revoked.
        assert!(!active(&idp, "rp-basic", &access).await);
        proto::assert_invalid_token(&idp, &access).await;
        refresh(&idp, "rp-basic", &refresh_token)
            .await
            .assert_error(400, "invalid_grant");
        // A third attempt is still refused.
        exchange(&idp, "rp-basic", &code, &verifier)
            .await
            .assert_error(400, "invalid_grant");

        // Tokens obtained by refreshing before the replay are revoked with the family.
        let (code, verifier) = code_for(&idp, &b, "rp-basic", "alice").await;
        let first = exchange(&idp, "rp-basic", &code, &verifier).await;
        first.assert_ok();
        let rotated = refresh(&idp, "rp-basic", first.str("refresh_token")).await;
        rotated.assert_ok();
        let at2 = rotated.str("access_token").to_owned();
        assert!(active(&idp, "rp-basic", &at2).await);
        exchange(&idp, "rp-basic", &code, &verifier)
            .await
            .assert_error(400, "invalid_grant");
        assert!(!active(&idp, "rp-basic", first.str("access_token")).await);
        assert!(!active(&idp, "rp-basic", &at2).await);
        refresh(&idp, "rp-basic", rotated.str("refresh_token"))
            .await
            .assert_error(400, "invalid_grant");
    }
);

both_backends!(pkce_and_binding_failures, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let b = browser();
    let redirect = redirect_uri("rp-basic");

    // Wrong verifier (well-formed, but not the one behind the challenge).
    let (code, _) = code_for(&idp, &b, "rp-basic", "alice").await;
    let (other_verifier, _) = proto::pkce();
    exchange(&idp, "rp-basic", &code, &other_verifier)
        .await
        .assert_error(400, "invalid_grant");

    // Missing verifier.
    let (code, _) = code_for(&idp, &b, "rp-basic", "alice").await;
    token(
        &idp,
        seeded("rp-basic"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
        ],
    )
    .await
    .assert_error(400, "invalid_grant");

    // A verifier of the wrong form (too short) even though nothing else is wrong.
    let (code, verifier) = code_for(&idp, &b, "rp-basic", "alice").await;
    exchange(&idp, "rp-basic", &code, &verifier[..42])
        .await
        .assert_error(400, "invalid_grant");

    // redirect_uri differing from the authorization request, or missing.
    let (code, verifier) = code_for(&idp, &b, "rp-basic", "alice").await;
    token(
        &idp,
        seeded("rp-basic"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://rp-basic.test/other"),
            ("code_verifier", &verifier),
        ],
    )
    .await
    .assert_error(400, "invalid_grant");
    let (code, verifier) = code_for(&idp, &b, "rp-basic", "alice").await;
    token(
        &idp,
        seeded("rp-basic"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
        ],
    )
    .await
    .assert_error(400, "invalid_grant");

    // A code issued to rp-basic, redeemed by rp-post with rp-post's own valid credentials.
    let (code, verifier) = code_for(&idp, &b, "rp-basic", "alice").await;
    token(
        &idp,
        Auth::Post("rp-post", SECRET_POST),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("code_verifier", &verifier),
        ],
    )
    .await
    .assert_error(400, "invalid_grant");

    // A code that was never issued.
    exchange(&idp, "rp-basic", "made-up-code", &verifier)
        .await
        .assert_error(400, "invalid_grant");

    // After all this, a correct exchange still works.
    let (code, verifier) = code_for(&idp, &b, "rp-basic", "alice").await;
    exchange(&idp, "rp-basic", &code, &verifier)
        .await
        .assert_ok();
});

both_backends!(expired_code, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let b = browser();
    let (code, verifier) = code_for(&idp, &b, "rp-basic", "alice").await;
    idp.state.clock.advance(120);
    exchange(&idp, "rp-basic", &code, &verifier)
        .await
        .assert_error(400, "invalid_grant");
});

both_backends!(
    client_authentication_failures,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = browser();
        let (code, verifier) = code_for(&idp, &b, "rp-basic", "alice").await;
        let redirect = redirect_uri("rp-basic");
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("code_verifier", verifier.as_str()),
        ];

        // Basic with a wrong secret: 401 with a Basic challenge (RFC 6749 §5.2).
        let r = token(&idp, Auth::Basic("rp-basic", "wrong-secret"), &form).await;
        r.assert_error(401, "invalid_client");
        let challenge = r.header("www-authenticate").expect("a challenge");
        assert!(challenge.starts_with("Basic "), "{challenge}");

        // Unknown client with Basic: the same answer.
        let r = token(&idp, Auth::Basic("no-such-client", "x"), &form).await;
        r.assert_error(401, "invalid_client");
        assert!(r
            .header("www-authenticate")
            .is_some_and(|c| c.starts_with("Basic ")));

        // Unknown client in the body.
        token(&idp, Auth::Post("no-such-client", "x"), &form)
            .await
            .assert_error(401, "invalid_client");
        token(&idp, Auth::Public("no-such-client"), &form)
            .await
            .assert_error(401, "invalid_client");
        // No client authentication at all.
        token(&idp, Auth::Anonymous, &form)
            .await
            .assert_error(401, "invalid_client");
        // A confidential client sending only its id, as if it were public.
        token(&idp, Auth::Public("rp-basic"), &form)
            .await
            .assert_error(401, "invalid_client");
        // Two methods at once.
        let mut both = form.to_vec();
        both.push(("client_secret", SECRET_BASIC));
        token(&idp, Auth::Basic("rp-basic", SECRET_BASIC), &both)
            .await
            .assert_error(400, "invalid_request");

        // client_secret_post with a wrong secret.
        let b2 = browser();
        let (code, verifier) = code_for(&idp, &b2, "rp-post", "alice").await;
        let post_redirect = redirect_uri("rp-post");
        let post_form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", post_redirect.as_str()),
            ("code_verifier", verifier.as_str()),
        ];
        let r = token(&idp, Auth::Post("rp-post", "wrong-secret"), &post_form).await;
        r.assert_error(401, "invalid_client");

        // The failed attempts did not consume the codes: the right credentials still redeem them.
        token(&idp, Auth::Post("rp-post", SECRET_POST), &post_form)
            .await
            .assert_ok();
        token(&idp, Auth::Basic("rp-basic", SECRET_BASIC), &form)
            .await
            .assert_ok();
    }
);

both_backends!(
    refresh_token_reuse_revokes_the_family,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let tokens = user_tokens(&idp, "rp-basic").await;
        let rt1 = tokens.str("refresh_token").to_owned();

        let rotated = refresh(&idp, "rp-basic", &rt1).await;
        rotated.assert_ok();
        let rt2 = rotated.str("refresh_token").to_owned();
        let at2 = rotated.str("access_token").to_owned();
        assert_ne!(rt1, rt2);
        assert!(active(&idp, "rp-basic", &at2).await);

        // The old token again: refused, and everything of its family with it.
        refresh(&idp, "rp-basic", &rt1)
            .await
            .assert_error(400, "invalid_grant");
        refresh(&idp, "rp-basic", &rt2)
            .await
            .assert_error(400, "invalid_grant");
        assert!(!active(&idp, "rp-basic", &at2).await);
        proto::assert_invalid_token(&idp, &at2).await;

        // Another family (another login) is unaffected.
        let other = user_tokens(&idp, "rp-basic").await;
        refresh(&idp, "rp-basic", other.str("refresh_token"))
            .await
            .assert_ok();
    }
);

both_backends!(refresh_token_rules, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let tokens = user_tokens(&idp, "rp-basic").await;
    let rt = tokens.str("refresh_token").to_owned();

    // Another client cannot use it.
    refresh(&idp, "rp-post", &rt)
        .await
        .assert_error(400, "invalid_grant");
    // Widening the scope is refused; narrowing is allowed.
    token(
        &idp,
        seeded("rp-basic"),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("scope", "openid profile reports.read"),
        ],
    )
    .await
    .assert_error(400, "invalid_scope");
    let narrowed = token(
        &idp,
        seeded("rp-basic"),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("scope", "openid profile"),
        ],
    )
    .await;
    narrowed.assert_ok();
    assert_eq!(narrowed.str("scope"), "openid profile");
    // Refresh tokens expire (8 hours in the test configuration).
    let rt = narrowed.str("refresh_token").to_owned();
    idp.state.clock.advance(8 * 3600 + 1);
    refresh(&idp, "rp-basic", &rt)
        .await
        .assert_error(400, "invalid_grant");
    // Unknown refresh token; missing parameter.
    refresh(&idp, "rp-basic", "not-a-refresh-token")
        .await
        .assert_error(400, "invalid_grant");
    token(&idp, seeded("rp-basic"), &[("grant_type", "refresh_token")])
        .await
        .assert_error(400, "invalid_request");
});

both_backends!(malformed_requests, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;

    // Unsupported grant types.
    for grant in [
        "password",
        "implicit",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        token(&idp, seeded("rp-basic"), &[("grant_type", grant)])
            .await
            .assert_error(400, "unsupported_grant_type");
    }
    // Missing grant_type.
    token(&idp, seeded("rp-basic"), &[("code", "x")])
        .await
        .assert_error(400, "invalid_request");

    // Grants the client is not registered for.
    token(
        &idp,
        seeded("rp-basic"),
        &[("grant_type", "client_credentials")],
    )
    .await
    .assert_error(400, "unauthorized_client");
    token(
        &idp,
        seeded("rp-post"),
        &[("grant_type", "client_credentials")],
    )
    .await
    .assert_error(400, "unauthorized_client");
    token(
        &idp,
        seeded("machine-es"),
        &[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", "http://machine-es.test/cb"),
        ],
    )
    .await
    .assert_error(400, "unauthorized_client");
    token(
        &idp,
        seeded("machine-rs"),
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await
    .assert_error(400, "unauthorized_client");

    // Missing code.
    token(
        &idp,
        seeded("rp-basic"),
        &[("grant_type", "authorization_code")],
    )
    .await
    .assert_error(400, "invalid_request");

    // A repeated parameter (RFC 6749 §3.2).
    token(
        &idp,
        seeded("machine-es"),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "reports.read"),
            ("scope", "reports.read"),
        ],
    )
    .await
    .assert_error(400, "invalid_request");

    // A JSON body instead of a form.
    let res = TestIdp::http()
        .post(idp.url("/token"))
        .basic_auth("machine-es", Some(crate::harness::SECRET_MACHINE))
        .json(&serde_json::json!({ "grant_type": "client_credentials" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    // A form body under a wrong content type.
    let res = TestIdp::http()
        .post(idp.url("/token"))
        .basic_auth("machine-es", Some(crate::harness::SECRET_MACHINE))
        .header("content-type", "text/plain")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");

    // The token endpoint accepts only POST.
    let res = TestIdp::http().get(idp.url("/token")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);

    // A successful answer is not cached either (checked inside proto::token).
    let ok = proto::client_credentials(&idp, seeded("machine-es"), "reports.read").await;
    ok.assert_ok();
    assert_eq!(ok.header("pragma"), Some("no-cache"));
});

both_backends!(
    expired_refresh_tokens_are_purged,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let tokens = crate::proto::user_tokens(&idp, "rp-basic").await;
        let later = idp.state.clock.now() + idp.state.config.tokens.refresh_ttl_secs + 1;
        let purged =
            tongyi_idp::store::refresh::purge_expired(&idp.state.db, idp.state.clock.now())
                .await
                .unwrap();
        assert_eq!(purged, 0, "a live refresh token stays");
        let purged = tongyi_idp::store::refresh::purge_expired(&idp.state.db, later)
            .await
            .unwrap();
        assert_eq!(purged, 1);
        crate::proto::refresh(&idp, "rp-basic", tokens.str("refresh_token"))
            .await
            .assert_error(400, "invalid_grant");
    }
);
