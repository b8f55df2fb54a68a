//! The authorization endpoint's error handling (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6):
//! requests whose client or redirect URI cannot be trusted end on an error page and are never
//! redirected; every other error goes back to the client with `error`, `state` and `iss`.

use reqwest::{header, StatusCode};

use crate::{
    both_backends,
    harness::{Backend, TestIdp},
    proto::{assert_error_redirect, authorize_url, pkce, redirect_uri},
};

/// A valid request for `client_id` with some parameters replaced (`Some`) or removed (`None`).
fn request(
    idp: &TestIdp,
    client_id: &str,
    state: &str,
    changes: &[(&str, Option<&str>)],
) -> String {
    let (_, challenge) = pkce();
    let redirect = redirect_uri(client_id);
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", &redirect),
        ("scope", "openid profile"),
        ("state", state),
        ("nonce", "n-0S6_WzA2Mj"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in changes {
        params.retain(|(k, _)| k != name);
        if let Some(v) = value {
            params.push((name, v));
        }
    }
    authorize_url(idp, &params)
}

async fn get(url: &str) -> reqwest::Response {
    TestIdp::http().get(url).send().await.unwrap()
}

/// A 400 HTML error page, with no redirect anywhere.
async fn assert_error_page(url: &str, case: &str) {
    let res = get(url).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{case}");
    assert!(
        res.headers().get(header::LOCATION).is_none(),
        "{case}: an untrusted request must not be redirected"
    );
    let ct = res.headers()[header::CONTENT_TYPE].to_str().unwrap();
    assert!(ct.starts_with("text/html"), "{case}: {ct}");
    let html = res.text().await.unwrap();
    assert!(html.contains("无效的登录请求"), "{case}: {html}");
}

both_backends!(
    untrusted_requests_end_on_a_page,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let s = "st-1";
        let cases: Vec<(&str, String)> = vec![
            (
                "unregistered redirect_uri",
                request(
                    &idp,
                    "rp-basic",
                    s,
                    &[("redirect_uri", Some("http://evil.test/cb"))],
                ),
            ),
            (
                "redirect_uri that only starts like the registered one",
                request(
                    &idp,
                    "rp-basic",
                    s,
                    &[("redirect_uri", Some("http://rp-basic.test/cb/evil"))],
                ),
            ),
            (
                "redirect_uri registered for another client",
                request(
                    &idp,
                    "rp-basic",
                    s,
                    &[("redirect_uri", Some("http://rp-post.test/cb"))],
                ),
            ),
            (
                "unknown client_id",
                request(
                    &idp,
                    "rp-basic",
                    s,
                    &[("client_id", Some("no-such-client"))],
                ),
            ),
            (
                "missing client_id",
                request(&idp, "rp-basic", s, &[("client_id", None)]),
            ),
            (
                "missing redirect_uri",
                request(&idp, "rp-basic", s, &[("redirect_uri", None)]),
            ),
            (
                "a client without the code grant",
                request(
                    &idp,
                    "machine-es",
                    s,
                    &[("redirect_uri", Some("http://machine-es.test/cb"))],
                ),
            ),
            (
                "a repeated parameter",
                format!("{}&state=second", request(&idp, "rp-basic", s, &[])),
            ),
        ];
        for (case, url) in cases {
            assert_error_page(&url, case).await;
        }
    }
);

/// (what is wrong, client, changed parameters, expected error code)
type RedirectCase = (
    &'static str,
    &'static str,
    Vec<(&'static str, Option<&'static str>)>,
    &'static str,
);

both_backends!(
    errors_go_back_to_the_client,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let cases: Vec<RedirectCase> = vec![
            (
                "unsupported response_type",
                "rp-basic",
                vec![("response_type", Some("token"))],
                "unsupported_response_type",
            ),
            (
                "hybrid response_type",
                "rp-basic",
                vec![("response_type", Some("code id_token"))],
                "unsupported_response_type",
            ),
            (
                "missing response_type",
                "rp-basic",
                vec![("response_type", None)],
                "invalid_request",
            ),
            (
                "no openid scope",
                "rp-basic",
                vec![("scope", Some("profile grants"))],
                "invalid_scope",
            ),
            (
                "no scope at all",
                "rp-basic",
                vec![("scope", None)],
                "invalid_scope",
            ),
            (
                "public client without PKCE",
                "rp-public",
                vec![("code_challenge", None), ("code_challenge_method", None)],
                "invalid_request",
            ),
            (
                "PKCE plain",
                "rp-basic",
                vec![("code_challenge_method", Some("plain"))],
                "invalid_request",
            ),
            (
                "PKCE plain at a public client",
                "rp-public",
                vec![("code_challenge_method", Some("plain"))],
                "invalid_request",
            ),
            (
                "PKCE challenge without method",
                "rp-public",
                vec![("code_challenge_method", None)],
                "invalid_request",
            ),
            (
                "PKCE method without challenge",
                "rp-basic",
                vec![("code_challenge", None)],
                "invalid_request",
            ),
            (
                "PKCE challenge that is no SHA-256",
                "rp-basic",
                vec![("code_challenge", Some("too-short"))],
                "invalid_request",
            ),
            (
                "request object",
                "rp-basic",
                vec![("request", Some("eyJhbGciOiJub25lIn0.e30."))],
                "request_not_supported",
            ),
            (
                "request_uri",
                "rp-basic",
                vec![("request_uri", Some("https://rp-basic.test/req.jwt"))],
                "request_uri_not_supported",
            ),
            (
                "fragment response mode",
                "rp-basic",
                vec![("response_mode", Some("fragment"))],
                "invalid_request",
            ),
            (
                "prompt=none without a session",
                "rp-basic",
                vec![("prompt", Some("none"))],
                "login_required",
            ),
            (
                "prompt=none with login",
                "rp-basic",
                vec![("prompt", Some("none login"))],
                "invalid_request",
            ),
            (
                "prompt=none with consent",
                "rp-third",
                vec![("prompt", Some("consent none"))],
                "invalid_request",
            ),
            (
                "unknown prompt value",
                "rp-basic",
                vec![("prompt", Some("create"))],
                "invalid_request",
            ),
            (
                "negative max_age",
                "rp-basic",
                vec![("max_age", Some("-1"))],
                "invalid_request",
            ),
            (
                "max_age that is not a number",
                "rp-basic",
                vec![("max_age", Some("ten"))],
                "invalid_request",
            ),
        ];
        for (i, (case, client, changes, error)) in cases.into_iter().enumerate() {
            let state = format!("state-{i}");
            let url = request(&idp, client, &state, &changes);
            let res = get(&url).await;
            let to = assert_error_redirect(&idp, &res, client, Some(&state), error);
            assert!(
                crate::harness::query_param(&to, "error_description").is_some(),
                "{case}: {to}"
            );
        }

        // Without `state` in the request there is none in the error either.
        let url = request(
            &idp,
            "rp-basic",
            "",
            &[("state", None), ("response_type", Some("token"))],
        );
        let res = get(&url).await;
        assert_error_redirect(&idp, &res, "rp-basic", None, "unsupported_response_type");

        // The same checks apply to a POSTed authorization request.
        let (_, challenge) = pkce();
        let res = TestIdp::http()
            .post(idp.url("/authorize"))
            .form(&[
                ("response_type", "code"),
                ("client_id", "rp-basic"),
                ("redirect_uri", "http://rp-basic.test/cb"),
                ("scope", "openid"),
                ("state", "posted"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("request", "x"),
            ])
            .send()
            .await
            .unwrap();
        assert_error_redirect(
            &idp,
            &res,
            "rp-basic",
            Some("posted"),
            "request_not_supported",
        );
        let res = TestIdp::http()
            .post(idp.url("/authorize"))
            .form(&[
                ("response_type", "code"),
                ("client_id", "rp-basic"),
                ("redirect_uri", "http://evil.test/cb"),
                ("scope", "openid"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(res.headers().get(header::LOCATION).is_none());
    }
);

both_backends!(
    a_valid_request_asks_for_login,
    |backend: Backend| async move {
        // The baseline the error cases are variations of: without them, the user is asked to log in.
        let idp = TestIdp::start(backend).await;
        for client in ["rp-basic", "rp-post", "rp-public", "rp-third"] {
            let res = get(&request(&idp, client, "ok", &[])).await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{client}");
            let to = crate::harness::location(&res);
            assert!(to.starts_with("/login?req="), "{client}: {to}");
        }
        // Scope values the server does not know, or the client may not have, are ignored, not
        // refused (OIDC Core §3.1.2.1); standards.rs follows such requests to the token.
        for (client, scope) in [
            ("rp-basic", "openid reports.read"),
            ("rp-post", "openid admin"),
        ] {
            let res = get(&request(&idp, client, "ok", &[("scope", Some(scope))])).await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{client}");
            let to = crate::harness::location(&res);
            assert!(to.starts_with("/login?req="), "{client} {scope}: {to}");
        }
    }
);
