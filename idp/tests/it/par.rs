//! Pushed authorization requests (RFC 9126): the /par endpoint with each client authentication,
//! /authorize taking a `request_uri` once and before it expires, only from the client that
//! pushed it, and `require_pushed_authorization_requests` per client and server-wide.
//!
//! The `openidconnect` crate (4.1) cannot push requests; it builds the authorization request
//! and redeems the code here, and the push itself is a raw request.

use openidconnect::{core::CoreIdTokenClaims, OAuth2TokenResponse, TokenResponse};
use reqwest::{header, StatusCode};
use serde_json::Value;
use tongyi_idp::cli::{run_client, ClientArgs, ClientCommand};

use crate::{
    both_backends,
    harness::{authorize_as, browser, follow, query_param, Backend, Storage, TestIdp},
    proto::{
        assert_error_redirect, code_request, post_form, redirect_uri, secret_in, seeded, token,
        Auth, Reply,
    },
    rp,
};

const URN: &str = "urn:ietf:params:oauth:request_uri:";

/// The parameters of an authorization request URL, to push instead of sending.
fn params_of(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// POSTs the parameters of `url` to /par with the client authentication `auth`, which adds
/// `client_id` to the body when it goes there (client_secret_post, public clients); with HTTP
/// Basic the body has none.
async fn push_url(idp: &TestIdp, auth: Auth<'_>, url: &str) -> Reply {
    let owned = params_of(url);
    let form: Vec<(&str, &str)> = owned
        .iter()
        .filter(|(k, _)| k != "client_id")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    post_form(idp, "/par", auth, &form).await
}

/// Asserts a 201 from /par and returns its request_uri.
#[track_caller]
fn created(r: &Reply, expires_in: i64) -> String {
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{r:?}");
    assert_eq!(r.body["expires_in"], expires_in, "{r:?}");
    let uri = r.str("request_uri").to_owned();
    assert!(uri.starts_with(URN) && uri.len() > URN.len() + 40, "{uri}");
    uri
}

/// The /authorize URL that names a pushed request.
fn authorize_pushed(idp: &TestIdp, client_id: &str, request_uri: &str) -> String {
    let mut url = url::Url::parse(&idp.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("request_uri", request_uri);
    url.to_string()
}

/// Asserts that /authorize refuses `url` on a page (no redirect to anyone).
async fn assert_refused_page(url: &str, why: &str) {
    let res = TestIdp::http().get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{why}");
    assert!(res.headers().get(header::LOCATION).is_none(), "{why}");
    let html = res.text().await.unwrap();
    assert!(html.contains("invalid_request_uri"), "{why}: {html}");
}

both_backends!(
    a_pushed_request_completes_the_code_flow,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let doc: Value = reqwest::get(idp.url("/.well-known/openid-configuration"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            doc["pushed_authorization_request_endpoint"],
            idp.url("/par")
        );
        assert_eq!(doc["require_pushed_authorization_requests"], false);
        // PAR's request_uri is not the request object by reference this member is about.
        assert_eq!(doc["request_uri_parameter_supported"], false);

        // The RP library builds the request; its parameters are pushed with HTTP Basic.
        let client = rp::client(&idp.issuer, "rp-basic", Some(crate::harness::SECRET_BASIC)).await;
        let req = rp::start(&client, crate::harness::USER_SCOPES);
        let pushed = push_url(&idp, seeded("rp-basic"), &req.url).await;
        let request_uri = created(&pushed, 60);

        // Parameters besides client_id and request_uri are ignored (RFC 9126 §4): the evil
        // redirect URI and the other state do not count.
        let mut url = url::Url::parse(&authorize_pushed(&idp, "rp-basic", &request_uri)).unwrap();
        url.query_pairs_mut()
            .append_pair("redirect_uri", "http://evil.test/cb")
            .append_pair("state", "not-the-pushed-one")
            .append_pair("scope", "openid");
        let b = browser();
        let redirect = authorize_as(&b, &idp.base, url.as_str(), "alice").await;
        assert_eq!(redirect.host_str(), Some("rp-basic.test"), "{redirect}");
        let code = rp::code_from(&redirect, &req, &idp.issuer);
        let tokens = client
            .exchange_code(code)
            .unwrap()
            .set_pkce_verifier(req.verifier)
            .request_async(&rp::http())
            .await
            .expect("code exchange");
        let claims: &CoreIdTokenClaims = tokens
            .id_token()
            .expect("an ID token")
            .claims(&client.id_token_verifier(), &req.nonce)
            .expect("the ID token verifies");
        assert_eq!(claims.subject().as_str(), "acct-alice");
        let scopes: Vec<String> = tokens
            .scopes()
            .expect("the granted scope")
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(scopes.contains(&"org".to_owned()), "{scopes:?}");

        // One use only, even by the same browser with its session.
        let again = b
            .get(authorize_pushed(&idp, "rp-basic", &request_uri))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);
        assert!(again.headers().get(header::LOCATION).is_none());
        assert!(again.text().await.unwrap().contains("invalid_request_uri"));

        // client_secret_post, with client_id in the body, and a public client from a
        // registered web origin (CORS, like the token endpoint).
        let req = code_request(&idp, "rp-post", &[]);
        let request_uri = created(&push_url(&idp, seeded("rp-post"), &req.url).await, 60);
        let redirect = authorize_as(
            &browser(),
            &idp.base,
            &authorize_pushed(&idp, "rp-post", &request_uri),
            "alice",
        )
        .await;
        assert_eq!(query_param(&redirect, "state"), Some(req.state.clone()));
        assert!(query_param(&redirect, "code").is_some(), "{redirect}");

        let req = code_request(&idp, "rp-public", &[]);
        let form = params_of(&req.url);
        let res = TestIdp::http()
            .post(idp.url("/par"))
            .header(header::ORIGIN, "http://rp-public.test")
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(
            res.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://rp-public.test"
        );
        let preflight = TestIdp::http()
            .request(reqwest::Method::OPTIONS, idp.url("/par"))
            .header(header::ORIGIN, "http://rp-public.test")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            preflight.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://rp-public.test"
        );
    }
);

both_backends!(
    pushes_are_authenticated_and_checked,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let req = code_request(&idp, "rp-basic", &[]);

        // Authenticated exactly like the token endpoint (RFC 9126 §2.1).
        let r = push_url(&idp, Auth::Basic("rp-basic", "wrong"), &req.url).await;
        r.assert_error(401, "invalid_client");
        assert!(
            r.header("www-authenticate")
                .is_some_and(|c| c.starts_with("Basic")),
            "{r:?}"
        );
        let post_req = code_request(&idp, "rp-post", &[]);
        push_url(&idp, Auth::Post("rp-post", "wrong"), &post_req.url)
            .await
            .assert_error(401, "invalid_client");
        // A confidential client cannot push as if it were public.
        push_url(&idp, Auth::Public("rp-basic"), &req.url)
            .await
            .assert_error(401, "invalid_client");
        push_url(&idp, Auth::Anonymous, &req.url)
            .await
            .assert_error(401, "invalid_client");
        // The client_id of the request must be the authenticated client's.
        let third: Vec<(String, String)> = params_of(&code_request(&idp, "rp-third", &[]).url);
        let third: Vec<(&str, &str)> = third
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        post_form(&idp, "/par", seeded("rp-basic"), &third)
            .await
            .assert_error(400, "invalid_request");

        // Checked as /authorize would check it: the errors come back as JSON, never as a
        // redirect (RFC 9126 §2.3).
        let evil = code_request(&idp, "rp-basic", &[("redirect_uri", "http://evil.test/cb")]);
        push_url(&idp, seeded("rp-basic"), &evil.url)
            .await
            .assert_error(400, "invalid_request");
        let cases = [
            (
                "rp-basic",
                vec![("request_uri", "urn:ietf:params:oauth:request_uri:x")],
                "invalid_request",
            ),
            (
                "rp-basic",
                vec![("response_type", "token")],
                "unsupported_response_type",
            ),
            (
                "rp-public",
                vec![("code_challenge_method", "plain")],
                "invalid_request",
            ),
            ("rp-basic", vec![("prompt", "create")], "invalid_request"),
            (
                "rp-basic",
                vec![("request", "eyJhbGciOiJub25lIn0.e30.")],
                "request_not_supported",
            ),
        ];
        for (client, extra, error) in cases {
            let bad = code_request(&idp, client, &extra);
            let r = push_url(&idp, seeded(client), &bad.url).await;
            r.assert_error(400, error);
            assert_eq!(r.header("cache-control"), Some("no-store"), "{r:?}");
        }
        // A wrong content type is invalid_request too.
        let res = TestIdp::http()
            .post(idp.url("/par"))
            .basic_auth("rp-basic", Some(crate::harness::SECRET_BASIC))
            .header(header::CONTENT_TYPE, "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }
);

both_backends!(
    a_request_uri_is_for_its_client_and_expires,
    |backend: Backend| async move {
        let idp = TestIdp::start_configured(backend, |c| c.par.request_uri_ttl_secs = 30).await;
        let req = code_request(&idp, "rp-basic", &[]);

        // Another client's request_uri is refused, and used up by the attempt.
        let stolen = created(&push_url(&idp, seeded("rp-basic"), &req.url).await, 30);
        assert_refused_page(
            &authorize_pushed(&idp, "rp-post", &stolen),
            "another client",
        )
        .await;
        assert_refused_page(&authorize_pushed(&idp, "rp-basic", &stolen), "used up").await;

        // Unknown and malformed references; and client_id is required with it.
        let unknown = format!("{URN}{}", tongyi_idp::crypto::random_token(32));
        assert_refused_page(&authorize_pushed(&idp, "rp-basic", &unknown), "unknown").await;
        assert_refused_page(&authorize_pushed(&idp, "rp-basic", URN), "empty").await;
        let fresh = created(&push_url(&idp, seeded("rp-basic"), &req.url).await, 30);
        let mut no_client = url::Url::parse(&idp.url("/authorize")).unwrap();
        no_client
            .query_pairs_mut()
            .append_pair("request_uri", &fresh);
        let res = TestIdp::http()
            .get(no_client.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(res.headers().get(header::LOCATION).is_none());

        // Within its lifetime it works; once the lifetime has passed it does not.
        let expiring = created(&push_url(&idp, seeded("rp-basic"), &req.url).await, 30);
        let live = created(&push_url(&idp, seeded("rp-basic"), &req.url).await, 30);
        // (Far from the edge: real seconds pass too.)
        idp.state.clock.advance(20);
        let outcome = follow(
            &browser(),
            &idp.base,
            &authorize_pushed(&idp, "rp-basic", &live),
        )
        .await;
        let (url, status, _) = outcome.page();
        assert!(url.contains("/login"), "{url} {status}");
        idp.state.clock.advance(10);
        assert_refused_page(&authorize_pushed(&idp, "rp-basic", &expiring), "expired").await;
    }
);

/// `idp client add` arguments of a confidential code-flow client that requires PAR.
fn par_client_args(client_id: &str) -> ClientArgs {
    ClientArgs {
        name: format!("推送请求应用 {client_id}"),
        redirect_uris: vec![redirect_uri(client_id)],
        grant_types: vec!["authorization_code".into()],
        alg: "RS256".into(),
        scopes: vec!["openid".into(), "profile".into()],
        require_pushed_authorization_requests: true,
        ..crate::proto::machine_client_args(client_id)
    }
}

both_backends!(
    a_client_can_require_pushed_requests,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        const ID: &str = "rp-par";
        let out = run_client(
            &idp.state.db,
            ClientCommand::Add(Box::new(par_client_args(ID))),
        )
        .await
        .unwrap();
        assert!(
            out.contains("require_pushed_authorization_requests: true\n"),
            "{out}"
        );
        let secret = secret_in(&out);

        // Sent directly, the request is refused with an error redirect: the client and the
        // redirect URI are verified, so the client may learn why.
        let req = code_request(&idp, ID, &[("scope", "openid profile")]);
        let res = TestIdp::http().get(&req.url).send().await.unwrap();
        assert_error_redirect(&idp, &res, ID, Some(&req.state), "invalid_request");

        // Pushed, the same request goes through, up to the tokens.
        let request_uri = created(
            &push_url(&idp, Auth::Basic(ID, &secret), &req.url).await,
            60,
        );
        let redirect = authorize_as(
            &browser(),
            &idp.base,
            &authorize_pushed(&idp, ID, &request_uri),
            "alice",
        )
        .await;
        assert_eq!(query_param(&redirect, "state"), Some(req.state.clone()));
        let code = query_param(&redirect, "code").unwrap();
        let cb = redirect_uri(ID);
        let tokens = token(
            &idp,
            Auth::Basic(ID, &secret),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &cb),
                ("code_verifier", &req.verifier),
            ],
        )
        .await;
        tokens.assert_ok();
        assert_eq!(tokens.str("scope"), "openid profile");

        // Other clients still send requests directly.
        let other = code_request(&idp, "rp-basic", &[]);
        let outcome = follow(&browser(), &idp.base, &other.url).await;
        let (url, _, _) = outcome.page();
        assert!(url.contains("/login"), "{url}");
    }
);

both_backends!(
    the_server_can_require_pushed_requests,
    |backend: Backend| async move {
        let idp = TestIdp::start_configured(backend, |c| c.par.required = true).await;
        let doc: Value = reqwest::get(idp.url("/.well-known/openid-configuration"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["require_pushed_authorization_requests"], true);

        for client in ["rp-basic", "rp-public"] {
            let req = code_request(&idp, client, &[]);
            let res = TestIdp::http().get(&req.url).send().await.unwrap();
            assert_error_redirect(&idp, &res, client, Some(&req.state), "invalid_request");

            let request_uri = created(&push_url(&idp, seeded(client), &req.url).await, 60);
            let redirect = authorize_as(
                &browser(),
                &idp.base,
                &authorize_pushed(&idp, client, &request_uri),
                "alice",
            )
            .await;
            assert_eq!(query_param(&redirect, "state"), Some(req.state.clone()));
            assert!(query_param(&redirect, "code").is_some(), "{redirect}");
        }
    }
);

/// Two instances sharing PostgreSQL and Redis: a request pushed to one is taken at the other,
/// and only once across both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_pushed_to_one_instance_is_taken_at_another() {
    let storage = Storage::new(Backend::PostgresRedis).await;
    let a = TestIdp::start_on(storage.clone(), None, true).await;
    let b = TestIdp::start_on(storage.clone(), Some(a.issuer.clone()), false).await;
    let req = code_request(&a, "rp-basic", &[]);
    let request_uri = created(&push_url(&a, seeded("rp-basic"), &req.url).await, 60);

    let redirect = authorize_as(
        &browser(),
        &b.base,
        &authorize_pushed(&b, "rp-basic", &request_uri),
        "alice",
    )
    .await;
    assert_eq!(query_param(&redirect, "state"), Some(req.state.clone()));
    assert!(query_param(&redirect, "code").is_some(), "{redirect}");
    assert_refused_page(&authorize_pushed(&a, "rp-basic", &request_uri), "used at B").await;
}
