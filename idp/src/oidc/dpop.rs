//! DPoP (RFC 9449) at the endpoints: the `DPoP` header of a token request or of a request
//! to a protected resource (userinfo), checked by the core's `oidc::dpop`, and the server
//! nonce sent back in `DPoP-Nonce`.

use axum::{
    http::{HeaderMap, HeaderName, HeaderValue},
    response::Response,
};

use super::client::Client;
use crate::{error::AppError, state::AppState};
use tongyi_idp_core::oidc::dpop::{self as core, DpopError, Expected, Proof};

pub const DPOP: HeaderName = HeaderName::from_static("dpop");
pub const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// The request's one `DPoP` header, if any (§4.3 check 1: not more than one).
fn proof_header(headers: &HeaderMap) -> Result<Option<&str>, DpopError> {
    let mut all = headers.get_all(&DPOP).iter();
    let (Some(first), None) = (all.next(), all.next()) else {
        return if headers.contains_key(&DPOP) {
            Err(DpopError::Invalid("send exactly one DPoP header"))
        } else {
            Ok(None)
        };
    };
    first
        .to_str()
        .map(|s| Some(s.trim()))
        .map_err(|_| DpopError::Invalid("the DPoP header is not a JWT"))
}

/// A refused proof as the answer of the token endpoint (`at_resource` false: 400 with a JSON
/// body, §5) or of a protected resource (401 with a `DPoP` challenge, §7.1).
pub fn refusal(e: DpopError, at_resource: bool) -> AppError {
    match e {
        DpopError::Invalid(description) => AppError::Dpop {
            at_resource,
            error: "invalid_dpop_proof",
            description: description.into(),
            nonce: None,
        },
        DpopError::UseNonce(nonce) => AppError::Dpop {
            at_resource,
            error: "use_dpop_nonce",
            description: "the proof must carry the server's DPoP-Nonce".into(),
            nonce: Some(nonce),
        },
        DpopError::Failure(f) => AppError::from(f).in_protocol(),
    }
}

/// The DPoP key a token request binds its tokens to: its proof's thumbprint, `None` without a
/// proof. A client registered with `dpop_bound_access_tokens` must send one (§5.2).
pub async fn token_request(
    state: &AppState,
    headers: &HeaderMap,
    client: &Client,
) -> Result<Option<String>, AppError> {
    let Some(proof) = proof_header(headers).map_err(|e| refusal(e, false))? else {
        if client.dpop_bound_access_tokens {
            return Err(refusal(
                DpopError::Invalid("this client must send a DPoP proof"),
                false,
            ));
        }
        return Ok(None);
    };
    let expected = Expected {
        method: "POST",
        url: &state.endpoints.token,
        access_token: None,
    };
    let proof = core::check(state, proof, &expected)
        .await
        .map_err(|e| refusal(e, false))?;
    Ok(Some(proof.jkt))
}

/// Checks the proof that must come with a DPoP-bound `access_token` at a resource: sent to
/// `url` with `method`, its `ath` the token's hash, signed by the key `jkt` the token is
/// bound to (§7.1).
pub async fn resource_request(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    url: &str,
    access_token: &str,
    jkt: &str,
) -> Result<Proof, AppError> {
    let proof = proof_header(headers)
        .map_err(|e| refusal(e, true))?
        .ok_or_else(|| refusal(DpopError::Invalid("a DPoP proof is required"), true))?;
    let expected = Expected {
        method,
        url,
        access_token: Some(access_token),
    };
    let proof = core::check(state, proof, &expected)
        .await
        .map_err(|e| refusal(e, true))?;
    if proof.jkt != jkt {
        return Err(refusal(
            DpopError::Invalid("the proof is not signed by the key the token is bound to"),
            true,
        ));
    }
    Ok(proof)
}

/// Adds the current server nonce to an answer when nonces are demanded (§8.2: a server may
/// hand out the next nonce with any response).
pub fn with_nonce(state: &AppState, mut res: Response) -> Response {
    match core::current_nonce(state) {
        Ok(Some(nonce)) => {
            if let Ok(v) = HeaderValue::from_str(&nonce) {
                res.headers_mut().insert(DPOP_NONCE, v);
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "no DPoP nonce could be derived"),
    }
    res
}

/// The `algs` auth-param of our `DPoP` challenges (§7.1).
pub fn challenge_algs() -> String {
    core::ALGS.join(" ")
}
