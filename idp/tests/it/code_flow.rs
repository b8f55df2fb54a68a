//! The whole authorization code flow as a certified RP library performs it.

use openidconnect::{
    core::{CoreGenderClaim, CoreIdTokenClaims},
    AccessTokenHash, OAuth2TokenResponse, TokenResponse, UserInfoClaims,
};
use tongyi_shared::claims::TongyiClaims;

use crate::{
    both_backends,
    harness::{authorize_as, browser, Backend, TestIdp, SECRET_BASIC, USER_SCOPES},
    rp,
};

#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(transparent)]
struct Extra(TongyiClaims);
impl openidconnect::AdditionalClaims for Extra {}

both_backends!(full_flow, |backend: Backend| async move {
    let idp = TestIdp::start(backend).await;
    let client = rp::client(&idp.issuer, "rp-basic", Some(SECRET_BASIC)).await;
    let http = rp::http();
    let req = rp::start(&client, USER_SCOPES);
    let b = browser();
    let redirect = authorize_as(&b, &idp.base, &req.url, "alice").await;
    assert_eq!(redirect.host_str(), Some("rp-basic.test"));
    let code = rp::code_from(&redirect, &req, &idp.issuer);

    let tokens = client
        .exchange_code(code)
        .unwrap()
        .set_pkce_verifier(req.verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let claims: &CoreIdTokenClaims = id_token
        .claims(&verifier, &req.nonce)
        .expect("ID token verifies");
    assert_eq!(claims.subject().as_str(), "acct-alice");
    assert!(claims.auth_time().is_some());
    let expected = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(expected, &actual);
    let raw = rp::payload(&id_token.to_string());
    assert_eq!(raw["azp"], "rp-basic");
    assert_eq!(raw["amr"][0], "pwd");
    assert!(raw["sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(raw["account_type"], "natural_person");
    assert_eq!(raw["org"]["name"], "天津测试孵化器有限公司");
    assert_eq!(raw["grants"][0], "incubator");
    assert!(rp::header(&id_token.to_string())["kid"].is_string());
    assert_eq!(rp::header(&id_token.to_string())["alg"], "RS256");

    let at = rp::payload(tokens.access_token().secret());
    assert_eq!(rp::header(tokens.access_token().secret())["typ"], "at+jwt");
    assert_eq!(at["client_id"], "rp-basic");
    assert_eq!(at["grants"][0], "incubator");

    let info: UserInfoClaims<Extra, CoreGenderClaim> = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), "acct-alice");
    assert_eq!(info.preferred_username().unwrap().as_str(), "alice");
    assert!(info.additional_claims().0.grants_subsystem("incubator"));
    assert_eq!(
        info.additional_claims().0.org.as_ref().unwrap().role,
        tongyi_shared::org::OrgRole::Member
    );

    // POST form variant of userinfo.
    let res = http
        .post(idp.url("/userinfo"))
        .form(&[("access_token", tokens.access_token().secret().as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Refresh: rotation gives a new refresh token and a fresh ID token for the same user.
    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    let refreshed = client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let new_refresh = refreshed.refresh_token().expect("rotated refresh token");
    assert_ne!(new_refresh.secret(), refresh.secret());
    let new_id = refreshed.id_token().expect("ID token on refresh");
    assert_eq!(rp::payload(&new_id.to_string())["sub"], "acct-alice");
});
