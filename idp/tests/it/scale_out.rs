//! Two IdP processes sharing PostgreSQL and Redis act as one: a login on one is a session on
//! the other, a code issued by one is redeemed at the other, and so are refresh tokens.

use openidconnect::{OAuth2TokenResponse, TokenResponse, TokenUrl, UserInfoUrl};

use crate::{
    harness::{
        authorize_as, browser, follow, Backend, Storage, TestIdp, SECRET_BASIC, USER_SCOPES,
    },
    rp,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_act_as_one() {
    let storage = Storage::new(Backend::PostgresRedis).await;
    let a = TestIdp::start_on(storage.clone(), None, true).await;
    let b = TestIdp::start_on(storage.clone(), Some(a.issuer.clone()), false).await;
    assert_eq!(
        a.state.keys.current().jwks(),
        b.state.keys.current().jwks(),
        "both instances publish the same keys"
    );
    let http = rp::http();
    let browser = browser();

    // Log in at A.
    let at_a = rp::client(&a.issuer, "rp-basic", Some(SECRET_BASIC)).await;
    let req = rp::start(&at_a, USER_SCOPES);
    let redirect = authorize_as(&browser, &a.base, &req.url, "alice").await;
    let code = rp::code_from(&redirect, &req, &a.issuer);

    // Redeem the code and refresh at B.
    let at_b = at_a
        .clone()
        .set_token_uri(TokenUrl::new(b.url("/token")).unwrap())
        .set_user_info_url(UserInfoUrl::new(b.url("/userinfo")).unwrap());
    let tokens = at_b
        .exchange_code(code)
        .set_pkce_verifier(req.verifier)
        .request_async(&http)
        .await
        .expect("B redeems a code issued by A");
    tokens
        .id_token()
        .unwrap()
        .claims(&at_a.id_token_verifier(), &req.nonce)
        .expect("B's ID token verifies with the shared keys");
    let refreshed = at_b
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await
        .expect("B refreshes");

    // A serves userinfo for B's access token, and refuses the refresh token B rotated away.
    let res = http
        .get(a.url("/userinfo"))
        .bearer_auth(refreshed.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let reuse = at_a
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .request_async(&http)
        .await;
    assert!(reuse.is_err(), "the rotated refresh token is dead at A too");

    // The login session made at A is single sign-on at B (cookies do not depend on the port).
    let req2 = rp::start(&at_a, USER_SCOPES);
    let at_b_authorize = req2.url.replace(&a.base, &b.base);
    let redirect = follow(&browser, &b.base, &at_b_authorize).await.rp();
    assert!(rp::query_code(&redirect).is_some(), "{redirect}");
}
