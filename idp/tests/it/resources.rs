//! Resource servers and audiences (RFC 8707): clients registered as resource servers, the
//! `resource` parameter at /authorize and /token, the access token's `aud`, and introspection
//! answered only to the token's client and the resource servers in its audience.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tongyi_idp::cli::{run_client, ClientCommand};

use crate::{
    both_backends,
    harness::{authorize_as, browser, Backend, TestIdp},
    proto::{
        self, assert_error_redirect, code_in, code_request, introspect, machine_client_args,
        redirect_uri, secret_in, seeded, token, Auth, Reply,
    },
    rp,
};

const REPORTS: &str = "https://reports.example/api";
const LEDGER: &str = "urn:tongyi:ledger";

/// Registers a resource server with `idp client add --resource-uri` and returns its secret.
async fn resource_server(idp: &TestIdp, id: &str, uri: &str) -> String {
    let mut args = machine_client_args(id);
    args.resource_uri = Some(uri.into());
    let out = run_client(&idp.state.db, ClientCommand::Add(Box::new(args)))
        .await
        .unwrap();
    assert!(out.contains(&format!("resource_uri: {uri}\n")), "{out}");
    secret_in(&out)
}

fn aud(jwt: &str) -> Value {
    rp::payload(jwt)["aud"].clone()
}

async fn machine_token(idp: &TestIdp, resources: &[&str]) -> Reply {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("scope", "reports.read"),
    ];
    form.extend(resources.iter().map(|r| ("resource", *r)));
    token(idp, seeded("machine-es"), &form).await
}

/// Alice's code for rp-basic from an authorization request naming `resources`.
async fn code_with_resources(idp: &TestIdp, resources: &[&str]) -> (String, String) {
    let req = code_request(idp, "rp-basic", &[]);
    let mut url = url::Url::parse(&req.url).unwrap();
    for r in resources {
        url.query_pairs_mut().append_pair("resource", r);
    }
    let redirect = authorize_as(&browser(), &idp.base, url.as_str(), "alice").await;
    (code_in(idp, &redirect, &req), req.verifier)
}

async fn redeem(idp: &TestIdp, code: &str, verifier: &str, resources: &[&str]) -> Reply {
    let cb = redirect_uri("rp-basic");
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &cb),
        ("code_verifier", verifier),
    ];
    form.extend(resources.iter().map(|r| ("resource", *r)));
    token(idp, seeded("rp-basic"), &form).await
}

async fn refresh(idp: &TestIdp, rt: &str, resources: &[&str]) -> Reply {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    form.extend(resources.iter().map(|r| ("resource", *r)));
    token(idp, seeded("rp-basic"), &form).await
}

fn is_active(r: &Reply) -> bool {
    r.assert_ok();
    r.body["active"].as_bool().unwrap()
}

both_backends!(
    client_credentials_for_resources,
    |backend: Backend| async move {
        let idp = TestIdp::start(backend).await;
        let reports_secret = resource_server(&idp, "api-reports", REPORTS).await;
        let ledger_secret = resource_server(&idp, "api-ledger", LEDGER).await;
        let reports = Auth::Basic("api-reports", &reports_secret);
        let ledger = Auth::Basic("api-ledger", &ledger_secret);

        // Without a resource the audience is the client itself, as before resource servers.
        let own = machine_token(&idp, &[]).await;
        own.assert_ok();
        assert_eq!(aud(own.str("access_token")), json!("machine-es"));
        // One resource: aud is that string; two: an array of both; a repeat counts once.
        let one = machine_token(&idp, &[REPORTS]).await;
        one.assert_ok();
        let at = one.str("access_token");
        assert_eq!(aud(at), json!(REPORTS));
        let two = machine_token(&idp, &[REPORTS, LEDGER, REPORTS]).await;
        two.assert_ok();
        assert_eq!(aud(two.str("access_token")), json!([REPORTS, LEDGER]));

        // Introspection: the audience and the token's client see it; anyone else does not.
        let by_audience = introspect(&idp, reports, at).await;
        assert!(is_active(&by_audience));
        assert_eq!(by_audience.body["aud"], json!(REPORTS));
        assert_eq!(by_audience.body["client_id"], json!("machine-es"));
        assert!(is_active(&introspect(&idp, seeded("machine-es"), at).await));
        let by_other_resource = introspect(&idp, ledger, at).await;
        assert_eq!(by_other_resource.body, json!({ "active": false }));
        let by_foreign_client = introspect(&idp, seeded("rp-basic"), at).await;
        assert_eq!(by_foreign_client.body, json!({ "active": false }));
        // A token without that resource in its audience is not the resource server's to read.
        assert!(!is_active(
            &introspect(&idp, reports, own.str("access_token")).await
        ));
        assert!(is_active(
            &introspect(&idp, ledger, two.str("access_token")).await
        ));

        // invalid_target (RFC 8707 §2): unregistered, relative, with a fragment.
        for bad in [
            "https://unknown.example/api",
            "/relative",
            "https://reports.example/api#frag",
        ] {
            machine_token(&idp, &[bad])
                .await
                .assert_error(400, "invalid_target");
        }
        // A disabled resource server is unknown.
        tongyi_idp::store::clients::set_enabled(&idp.state.db, "api-ledger", false, 0)
            .await
            .unwrap();
        idp.state.clients.forget("api-ledger");
        machine_token(&idp, &[LEDGER])
            .await
            .assert_error(400, "invalid_target");

        // The audience identifier is unique, and must be an absolute URI without a fragment.
        let mut dup = machine_client_args("api-copy");
        dup.resource_uri = Some(REPORTS.into());
        let err = run_client(&idp.state.db, ClientCommand::Add(Box::new(dup)))
            .await
            .unwrap_err();
        assert!(err.contains("already registered"), "{err}");
        let mut bad = machine_client_args("api-bad");
        bad.resource_uri = Some("reports".into());
        let err = run_client(&idp.state.db, ClientCommand::Add(Box::new(bad)))
            .await
            .unwrap_err();
        assert!(err.contains("absolute URI"), "{err}");
    }
);

both_backends!(code_flow_resources, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let reports_secret = resource_server(&idp, "api-reports", REPORTS).await;
    let ledger_secret = resource_server(&idp, "api-ledger", LEDGER).await;
    let reports = Auth::Basic("api-reports", &reports_secret);
    let ledger = Auth::Basic("api-ledger", &ledger_secret);

    // Granted at /authorize; a code redeemed without `resource` is for all of them.
    let (code, verifier) = code_with_resources(&idp, &[REPORTS, LEDGER]).await;
    let tokens = redeem(&idp, &code, &verifier, &[]).await;
    tokens.assert_ok();
    let at = tokens.str("access_token");
    assert_eq!(aud(at), json!([REPORTS, LEDGER]));
    assert!(is_active(&introspect(&idp, reports, at).await));
    // The ID token is always for the client; userinfo accepts the token whatever its audience.
    assert_eq!(aud(tokens.str("id_token")), json!("rp-basic"));
    assert_eq!(proto::userinfo(&idp, at).await.status(), StatusCode::OK);

    // Each refresh may ask for one of the granted resources; the family keeps them all.
    let rt = tokens.str("refresh_token");
    let narrowed = refresh(&idp, rt, &[LEDGER]).await;
    narrowed.assert_ok();
    let ledger_at = narrowed.str("access_token");
    assert_eq!(aud(ledger_at), json!(LEDGER));
    assert!(!is_active(&introspect(&idp, reports, ledger_at).await));
    assert!(is_active(&introspect(&idp, ledger, ledger_at).await));
    // Not granted: refused, and the refresh token survives the refusal.
    let rt2 = narrowed.str("refresh_token");
    refresh(&idp, rt2, &["https://reports.example/other"])
        .await
        .assert_error(400, "invalid_target");
    let again = refresh(&idp, rt2, &[]).await;
    again.assert_ok();
    assert_eq!(aud(again.str("access_token")), json!([REPORTS, LEDGER]));

    // A code redeemed for one granted resource; a resource not granted is refused.
    let (code, verifier) = code_with_resources(&idp, &[REPORTS]).await;
    redeem(&idp, &code, &verifier, &[LEDGER])
        .await
        .assert_error(400, "invalid_target");
    let (code, verifier) = code_with_resources(&idp, &[REPORTS]).await;
    let one = redeem(&idp, &code, &verifier, &[REPORTS]).await;
    one.assert_ok();
    assert_eq!(aud(one.str("access_token")), json!(REPORTS));
    // Without resources the audience stays the client's own id.
    let plain = proto::user_tokens(&idp, "rp-basic").await;
    assert_eq!(aud(plain.str("access_token")), json!("rp-basic"));
    assert!(!is_active(
        &introspect(&idp, reports, plain.str("access_token")).await
    ));

    // Through a pushed request (RFC 9126) the repeated `resource` parameters arrive as well.
    let req = code_request(&idp, "rp-basic", &[]);
    let mut form: Vec<(String, String)> = url::Url::parse(&req.url)
        .unwrap()
        .query_pairs()
        .filter(|(k, _)| k != "client_id")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    form.push(("resource".into(), REPORTS.into()));
    form.push(("resource".into(), LEDGER.into()));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let pushed = proto::post_form(&idp, "/par", seeded("rp-basic"), &form).await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{pushed:?}");
    let mut url = url::Url::parse(&idp.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", "rp-basic")
        .append_pair("request_uri", pushed.str("request_uri"));
    let redirect = authorize_as(&browser(), &idp.base, url.as_str(), "alice").await;
    let code = code_in(&idp, &redirect, &req);
    let via_par = redeem(&idp, &code, &req.verifier, &[]).await;
    via_par.assert_ok();
    assert_eq!(aud(via_par.str("access_token")), json!([REPORTS, LEDGER]));

    // /authorize refuses an unknown resource with an error redirect to the client.
    let req = code_request(&idp, "rp-basic", &[]);
    let mut url = url::Url::parse(&req.url).unwrap();
    url.query_pairs_mut()
        .append_pair("resource", "https://unknown.example/api");
    let res = TestIdp::http().get(url.as_str()).send().await.unwrap();
    assert_error_redirect(&idp, &res, "rp-basic", Some(&req.state), "invalid_target");
});
