//! OpenID Provider metadata (Discovery 1.0, RFC 8414) and the JWK Set. Both are served from
//! memory: the document is built once, the key set whenever keys change.

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::{client::AuthMethod, cors, keys::SigningAlg, scope, Endpoints};
use crate::{config::Config, state::AppState};
use tongyi_idp_core::oidc::dpop;

/// The scopes a client may request. `openid` is required in every authorization request.
pub fn supported_scopes() -> Vec<&'static str> {
    scope::supported()
}

pub fn document(e: &Endpoints, config: &Config) -> Bytes {
    let algs: Vec<&str> = SigningAlg::ALL.iter().map(|a| a.as_str()).collect();
    // Client assertions (private_key_jwt) may also use PS256; see client_auth.rs.
    let assertion_algs = ["RS256", "PS256", "ES256", "EdDSA"];
    let auth_methods: Vec<&str> = AuthMethod::ALL.iter().map(|m| m.as_str()).collect();
    let confidential_methods: Vec<&str> = AuthMethod::ALL
        .iter()
        .filter(|m| **m != AuthMethod::None)
        .map(|m| m.as_str())
        .collect();
    let doc = json!({
        "issuer": e.issuer,
        "authorization_endpoint": e.authorization,
        "token_endpoint": e.token,
        "userinfo_endpoint": e.userinfo,
        "jwks_uri": e.jwks,
        "end_session_endpoint": e.end_session,
        "revocation_endpoint": e.revocation,
        "introspection_endpoint": e.introspection,
        "pushed_authorization_request_endpoint": e.pushed_authorization_request,
        "require_pushed_authorization_requests": config.par.required,
        "scopes_supported": supported_scopes(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "introspection_endpoint_auth_methods_supported": confidential_methods,
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": dpop::ALGS,
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_supported": [
            "iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "amr", "at_hash",
            "sid", "name", "preferred_username", "email", "email_verified", "phone_number",
            "phone_number_verified", "account_type", "realname_status", "org", "grants", "roles"
        ],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        // OIDC request objects passed by reference (a URI we would fetch) are not supported.
        // The `request_uri` of a pushed request (RFC 9126) is a reference to what was pushed
        // here, announced by pushed_authorization_request_endpoint, not by this member.
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
        "ui_locales_supported": ["zh-CN"],
        "claim_types_supported": ["normal"],
    });
    Bytes::from(serde_json::to_vec(&doc).unwrap_or_default())
}

fn json_bytes(body: Bytes, max_age: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(max_age));
    res
}

pub async fn openid_configuration(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let res = json_bytes(state.discovery.clone(), "public, max-age=3600");
    cors::allow(&state, &headers, res).await
}

pub async fn jwks(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // Short enough that relying parties pick up a rotated key well before tokens signed with
    // it are common; kid misses make certified RP libraries refetch anyway.
    let res = json_bytes(state.keys.current().jwks(), "public, max-age=300");
    cors::allow(&state, &headers, res).await
}
