//! OpenID Connect as relying-party libraries expect it (issue 17): unknown scopes ignored and
//! the granted scope returned, `openid` required, the refresh-token rule and `offline_access`,
//! the `email` and `phone` scopes, introspection only for the token's own client, and CORS
//! for the web origins of public clients.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tongyi_idp::{
    crypto,
    oidc::{
        client::{AuthMethod, Client, GrantType},
        keys::{SigningAlg, TokenKind},
    },
    store,
};

use crate::{
    both_backends,
    harness::{authorize_as, browser, Backend, TestIdp, ALICE_MOBILE},
    proto::{
        self, assert_error_redirect, code_in, code_request, introspect, redirect_uri, seeded,
        token, Auth, Reply,
    },
    rp,
};

const SECRET: &str = "secret-for-standards";

/// Registers a first-party client with this authentication, grants and scopes; its redirect
/// URI is `http://{id}.test/cb` like the seeded ones.
async fn register(
    idp: &TestIdp,
    id: &str,
    auth_method: AuthMethod,
    grants: &[GrantType],
    scopes: &[&str],
) {
    let client = Client {
        client_id: id.into(),
        name: format!("标准测试 {id}"),
        secret_hash: (auth_method != AuthMethod::None)
            .then(|| crypto::sha256_hex(SECRET.as_bytes())),
        auth_method,
        redirect_uris: vec![redirect_uri(id)],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        grant_types: grants.to_vec(),
        allowed_scopes: scopes.iter().map(|s| s.to_string()).collect(),
        signing_alg: SigningAlg::Rs256,
        subsystem_code: None,
        first_party: true,
        jwks: None,
        initiate_login_uri: None,
        enabled: true,
        resource_uri: None,
        require_pushed_authorization_requests: false,
        dpop_bound_access_tokens: false,
    };
    let now = idp.state.clock.now();
    assert!(store::clients::insert(&idp.state.db, &client, now)
        .await
        .unwrap());
}

/// How a client registered by [`register`] authenticates.
fn auth(id: &str, public: bool) -> Auth<'_> {
    if public {
        Auth::Public(id)
    } else {
        Auth::Basic(id, SECRET)
    }
}

/// Alice's tokens at `client` for an authorization request with `scope`.
async fn tokens_for(idp: &TestIdp, client: &str, client_auth: Auth<'_>, scope: &str) -> Reply {
    let req = code_request(idp, client, &[("scope", scope)]);
    let redirect = authorize_as(&browser(), &idp.base, &req.url, "alice").await;
    let code = code_in(idp, &redirect, &req);
    let cb = redirect_uri(client);
    let r = token(
        idp,
        client_auth,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &cb),
            ("code_verifier", &req.verifier),
        ],
    )
    .await;
    r.assert_ok();
    r
}

async fn refresh_with(idp: &TestIdp, client: &str, rt: &str, scope: Option<&str>) -> Reply {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    token(idp, seeded(client), &form).await
}

async fn userinfo_json(idp: &TestIdp, access_token: &str) -> Value {
    let res = proto::userinfo(idp, access_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

both_backends!(
    unknown_and_not_allowed_scopes_are_ignored,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        // rp-basic may have openid profile account org grants; `email` is known but not
        // registered for it, `admin` unknown, `reports.read` a machine scope.
        let tokens = tokens_for(
            &idp,
            "rp-basic",
            seeded("rp-basic"),
            "openid admin profile email reports.read openid",
        )
        .await;
        assert_eq!(tokens.str("scope"), "openid profile");
        let access = tokens.str("access_token").to_owned();
        assert_eq!(rp::payload(&access)["scope"], "openid profile");
        let i = introspect(&idp, seeded("rp-basic"), &access).await;
        assert_eq!(i.body["active"], true);
        assert_eq!(i.body["scope"], "openid profile");
        let info = userinfo_json(&idp, &access).await;
        assert_eq!(info["name"], "张三");
        assert!(info.get("email").is_none(), "{info}");
        assert!(info.get("account_type").is_none(), "{info}");

        // A refresh may narrow the scope, never widen it (RFC 6749 §6)...
        let rt = tokens.str("refresh_token").to_owned();
        refresh_with(&idp, "rp-basic", &rt, Some("openid profile email"))
            .await
            .assert_error(400, "invalid_scope");
        let narrowed = refresh_with(&idp, "rp-basic", &rt, Some("openid")).await;
        narrowed.assert_ok();
        assert_eq!(narrowed.str("scope"), "openid");
        let i = introspect(&idp, seeded("rp-basic"), narrowed.str("refresh_token")).await;
        assert_eq!(
            i.body["scope"], "openid profile",
            "the refresh token keeps the grant"
        );
        // ...and the next refresh without `scope` gets the whole grant back.
        let again = refresh_with(&idp, "rp-basic", narrowed.str("refresh_token"), None).await;
        again.assert_ok();
        assert_eq!(again.str("scope"), "openid profile");
    }
);

both_backends!(
    a_request_without_openid_is_refused,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        for scope in ["profile email", "openidx profile", ""] {
            let req = code_request(&idp, "rp-basic", &[("scope", scope)]);
            let res = TestIdp::http().get(&req.url).send().await.unwrap();
            assert_error_redirect(&idp, &res, "rp-basic", Some(&req.state), "invalid_scope");
        }
    }
);

both_backends!(
    refresh_tokens_follow_the_client_grant_not_offline_access,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        // With the refresh_token grant: a refresh token, and offline_access is not granted.
        let tokens = tokens_for(
            &idp,
            "rp-basic",
            seeded("rp-basic"),
            "openid offline_access profile",
        )
        .await;
        assert_eq!(tokens.str("scope"), "openid profile");
        assert!(!tokens.str("refresh_token").is_empty());
        // Without it: no refresh token, even when offline_access is asked and registered.
        register(
            &idp,
            "rp-online",
            AuthMethod::ClientSecretBasic,
            &[GrantType::AuthorizationCode],
            &["openid", "profile", "offline_access"],
        )
        .await;
        let tokens = tokens_for(
            &idp,
            "rp-online",
            auth("rp-online", false),
            "openid offline_access",
        )
        .await;
        assert_eq!(tokens.str("scope"), "openid");
        assert!(
            tokens.body.get("refresh_token").is_none(),
            "{:?}",
            tokens.body
        );
        assert!(tokens.body.get("id_token").is_some());

        // Discovery says so.
        let doc: Value = TestIdp::http()
            .get(idp.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let scopes = doc["scopes_supported"].as_array().unwrap();
        assert!(!scopes.contains(&json!("offline_access")), "{scopes:?}");
        assert!(doc["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("refresh_token")));
    }
);

both_backends!(email_and_phone_claims, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    register(
        &idp,
        "rp-contact",
        AuthMethod::ClientSecretBasic,
        &[GrantType::AuthorizationCode],
        &["openid", "profile", "email", "phone"],
    )
    .await;
    let contact = auth("rp-contact", false);

    // The seeded mobile was never proven by an SMS code; no flow proves an email.
    let tokens = tokens_for(&idp, "rp-contact", contact, "openid email phone").await;
    assert_eq!(tokens.str("scope"), "openid email phone");
    let info = userinfo_json(&idp, tokens.str("access_token")).await;
    assert_eq!(info["sub"], "acct-alice");
    assert_eq!(info["email"], "alice@example.com");
    assert_eq!(info["email_verified"], false);
    assert_eq!(info["phone_number"], format!("+86{ALICE_MOBILE}"));
    assert_eq!(info["phone_number_verified"], false);
    assert!(info.get("name").is_none(), "{info}");
    // Userinfo only (OIDC Core §5.4): neither the ID token nor the access token carries them.
    for jwt in [tokens.str("id_token"), tokens.str("access_token")] {
        let claims = rp::payload(jwt);
        for name in [
            "email",
            "email_verified",
            "phone_number",
            "phone_number_verified",
        ] {
            assert!(claims.get(name).is_none(), "{name} in {claims}");
        }
    }

    // A mobile proven by an SMS code (the console's change of mobile stores it this way).
    let now = idp.state.clock.now();
    store::identities::set_mobile(
        &idp.state.db,
        &idp.state.pii,
        "acct-alice",
        ALICE_MOBILE,
        now,
    )
    .await
    .unwrap();
    let tokens = tokens_for(&idp, "rp-contact", contact, "openid phone").await;
    let info = userinfo_json(&idp, tokens.str("access_token")).await;
    assert_eq!(info["phone_number"], format!("+86{ALICE_MOBILE}"));
    assert_eq!(info["phone_number_verified"], true);
    assert!(info.get("email").is_none(), "{info}");
    assert!(info.get("email_verified").is_none(), "{info}");

    // An account without an email: no email claims at all, not nulls.
    store::identities::set_email(&idp.state.db, &idp.state.pii, "acct-alice", None, now)
        .await
        .unwrap();
    let tokens = tokens_for(&idp, "rp-contact", contact, "openid email").await;
    let info = userinfo_json(&idp, tokens.str("access_token")).await;
    assert_eq!(info, json!({ "sub": "acct-alice" }));

    // Discovery advertises the scopes and claims.
    let doc: Value = TestIdp::http()
        .get(idp.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for scope in ["email", "phone"] {
        assert!(doc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(scope)));
    }
    for claim in [
        "email",
        "email_verified",
        "phone_number",
        "phone_number_verified",
    ] {
        assert!(doc["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(claim)));
    }
});

both_backends!(
    introspection_answers_only_the_tokens_client,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let tokens = proto::user_tokens(&idp, "rp-basic").await;
        let access = tokens.str("access_token").to_owned();
        let rt = tokens.str("refresh_token").to_owned();
        for t in [&access, &rt] {
            let own = introspect(&idp, seeded("rp-basic"), t).await;
            own.assert_ok();
            assert_eq!(own.body["active"], true);
            assert_eq!(own.body["client_id"], "rp-basic");
            assert_eq!(own.body["sub"], "acct-alice");
            // Any other authenticated client learns nothing (RFC 7662 §4).
            for foreign in ["rp-post", "rp-incubator", "machine-es"] {
                let r = introspect(&idp, seeded(foreign), t).await;
                r.assert_ok();
                assert_eq!(r.body, json!({ "active": false }), "{foreign}");
            }
        }
        // The machine client's own token: to itself only.
        let machine = proto::client_credentials(&idp, seeded("machine-es"), "reports.read").await;
        machine.assert_ok();
        let at = machine.str("access_token");
        assert_eq!(
            introspect(&idp, seeded("machine-es"), at).await.body["active"],
            true
        );
        assert_eq!(
            introspect(&idp, seeded("machine-rs"), at).await.body,
            json!({ "active": false })
        );
    }
);

const CORS_PATHS: [&str; 5] = [
    "/.well-known/openid-configuration",
    "/jwks",
    "/token",
    "/userinfo",
    "/revoke",
];

async fn preflight(idp: &TestIdp, path: &str, origin: &str) -> reqwest::Response {
    TestIdp::http()
        .request(reqwest::Method::OPTIONS, idp.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

fn acao(res: &reqwest::Response) -> Option<&str> {
    res.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap())
}

both_backends!(
    cors_for_the_web_origins_of_public_clients,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        // rp-public is a public client with the redirect URI http://rp-public.test/cb.
        let spa = "http://rp-public.test";
        for path in CORS_PATHS {
            let res = preflight(&idp, path, spa).await;
            assert_eq!(res.status(), StatusCode::NO_CONTENT, "{path}");
            assert_eq!(acao(&res), Some(spa), "{path}");
            let methods = res.headers()["access-control-allow-methods"]
                .to_str()
                .unwrap();
            assert!(methods.contains("POST"), "{path}: {methods}");
            assert!(res
                .headers()
                .get("access-control-allow-credentials")
                .is_none());
            // A confidential client's origin and an unknown one get no CORS headers at all.
            for other in ["http://rp-basic.test", "http://evil.test", "null"] {
                let res = preflight(&idp, path, other).await;
                assert_eq!(acao(&res), None, "{path} {other}");
                assert!(res.headers().get("access-control-allow-methods").is_none());
            }
        }

        // The answers themselves, success or error, carry the header for the registered origin.
        let get = |path: &'static str, origin: &'static str| {
            TestIdp::http()
                .get(idp.url(path))
                .header("origin", origin)
                .send()
        };
        let res = get("/.well-known/openid-configuration", spa).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(acao(&res), Some(spa));
        let res = get("/jwks", "http://evil.test").await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(acao(&res), None);
        let res = get("/userinfo", spa).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(acao(&res), Some(spa));
        for (origin, expected) in [(spa, Some(spa)), ("http://evil.test", None)] {
            let res = TestIdp::http()
                .post(idp.url("/token"))
                .header("origin", origin)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("client_id", "rp-public"),
                    ("code", "no-such-code"),
                    ("redirect_uri", "http://rp-public.test/cb"),
                    ("code_verifier", &"v".repeat(43)),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::BAD_REQUEST);
            assert_eq!(acao(&res), expected, "{origin}");
        }

        // A public client registered later is answered once the client cache is told (as the
        // admin API does) or expires.
        let new_spa = "http://spa-later.test";
        assert_eq!(acao(&preflight(&idp, "/token", new_spa).await), None);
        register(
            &idp,
            "spa-later",
            AuthMethod::None,
            &[GrantType::AuthorizationCode],
            &["openid"],
        )
        .await;
        idp.state.clients.forget("spa-later");
        assert_eq!(
            acao(&preflight(&idp, "/token", new_spa).await),
            Some(new_spa)
        );
    }
);

/// An ID token signed with the IdP's own key, as an `id_token_hint` naming `sub` for `aud`.
fn signed_hint(idp: &TestIdp, iss: &str, sub: &str, aud: &str) -> String {
    let now = idp.state.clock.now();
    let claims = json!({
        "iss": iss, "sub": sub, "aud": aud, "azp": aud,
        "iat": now, "exp": now + 300, "auth_time": now,
    });
    idp.state
        .keys
        .current()
        .sign(SigningAlg::Rs256, TokenKind::Id, &claims)
        .unwrap()
}

both_backends!(id_token_hint_at_authorize, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let b = browser();
    let (code, verifier) = proto::code_for(&idp, &b, "rp-basic", "alice").await;
    let tokens = proto::exchange(&idp, "rp-basic", &code, &verifier).await;
    let id_token = tokens.str("id_token").to_owned();
    let open = |extra: Vec<(&'static str, String)>| {
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        code_request(&idp, "rp-basic", &extra)
    };

    // The session's own subject, silently, also once the hint has expired (Core §3.1.2.1).
    let req = open(vec![
        ("prompt", "none".into()),
        ("id_token_hint", id_token.clone()),
    ]);
    let res = b.get(&req.url).send().await.unwrap();
    code_in(
        &idp,
        &url::Url::parse(&crate::harness::location(&res)).unwrap(),
        &req,
    );
    idp.state.clock.advance(400);
    let req = open(vec![
        ("prompt", "none".into()),
        ("id_token_hint", id_token.clone()),
    ]);
    let res = b.get(&req.url).send().await.unwrap();
    code_in(
        &idp,
        &url::Url::parse(&crate::harness::location(&res)).unwrap(),
        &req,
    );

    // Another subject than the session's: login_required with prompt=none...
    let other = signed_hint(&idp, &idp.issuer, "acct-unit", "rp-basic");
    let req = open(vec![
        ("prompt", "none".into()),
        ("id_token_hint", other.clone()),
    ]);
    let res = b.get(&req.url).send().await.unwrap();
    assert_error_redirect(&idp, &res, "rp-basic", Some(&req.state), "login_required");
    // ...otherwise the login page, opened on the hinted account.
    let req = open(vec![("id_token_hint", other)]);
    let res = b.get(&req.url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = crate::harness::location(&res);
    assert!(to.starts_with("/login?req="), "{to}");
    let html = b
        .get(idp.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("value=\"unit_admin\""), "{html}");

    // Hints that are not our ID tokens for this client are invalid_request.
    for bad in [
        proto::tamper(&id_token),
        "not-a-jwt".to_owned(),
        signed_hint(&idp, "https://other.example", "acct-alice", "rp-basic"),
        signed_hint(&idp, &idp.issuer, "acct-alice", "rp-post"),
        tokens.str("access_token").to_owned(),
    ] {
        let req = open(vec![("id_token_hint", bad)]);
        let res = b.get(&req.url).send().await.unwrap();
        assert_error_redirect(&idp, &res, "rp-basic", Some(&req.state), "invalid_request");
    }
});

both_backends!(
    select_account_is_refused_honestly,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let b = browser();
        proto::code_for(&idp, &b, "rp-basic", "alice").await;
        for prompt in ["select_account", "login select_account"] {
            let req = code_request(&idp, "rp-basic", &[("prompt", prompt)]);
            let res = b.get(&req.url).send().await.unwrap();
            assert_error_redirect(
                &idp,
                &res,
                "rp-basic",
                Some(&req.state),
                "account_selection_required",
            );
        }
        let doc: Value = TestIdp::http()
            .get(idp.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            doc["prompt_values_supported"],
            json!(["none", "login", "consent"])
        );
    }
);
