//! DPoP proofs (RFC 9449): checking a proof JWT against the request it came with (§4.3),
//! the JWK thumbprint a token is bound to (RFC 7638), the `ath` of an access token, the
//! replay cache of proof ids and the server nonces (§8).
//!
//! The checks that need no storage are [`verify`]; [`check`] adds the nonce and the replay
//! cache. The endpoints take the `DPoP` header and the request's method and URL; they decide
//! what a refusal looks like.

use josekit::{
    jwk::Jwk,
    jws::{EdDSA, JwsVerifier, ES256, PS256, RS256},
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::{
    crypto::{self, KeyPurpose},
    failure::Failure,
    services::Services,
};

/// The proof algorithms we verify (advertised as `dpop_signing_alg_values_supported`).
pub const ALGS: [&str; 4] = ["ES256", "RS256", "PS256", "EdDSA"];

/// The longest proof we read; a proof is a few hundred bytes, an RSA one about 1.5 KB.
const MAX_PROOF_LEN: usize = 8 * 1024;

/// Why a proof was refused.
#[derive(Debug, thiserror::Error)]
pub enum DpopError {
    /// `invalid_dpop_proof` with this description.
    #[error("invalid_dpop_proof: {0}")]
    Invalid(&'static str),
    /// `use_dpop_nonce`: the proof lacks the current server nonce; send this one.
    #[error("use_dpop_nonce")]
    UseNonce(String),
    #[error(transparent)]
    Failure(Failure),
}

impl<E: Into<Failure>> From<E> for DpopError {
    fn from(e: E) -> Self {
        DpopError::Failure(e.into())
    }
}

/// The `cnf` (confirmation) claim of a DPoP-bound token (RFC 9449 §6.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The RFC 7638 SHA-256 thumbprint of the proof key, base64url.
    pub jkt: String,
}

/// What the request a proof came with looked like.
pub struct Expected<'a> {
    /// The request method (`htm`).
    pub method: &'a str,
    /// The endpoint's public URL, without query and fragment (`htu`).
    pub url: &'a str,
    /// The access token presented with the proof, at a resource (`ath` is then required).
    pub access_token: Option<&'a str>,
}

/// A proof that passed every check.
#[derive(Debug)]
pub struct Proof {
    /// Thumbprint of the key that signed it.
    pub jkt: String,
    pub jti: String,
    pub iat: i64,
    pub nonce: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    typ: Option<String>,
    alg: String,
    jwk: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct Claims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// JWK members that only a private (or symmetric) key has: a proof's key must be public.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The checks of RFC 9449 §4.3 that need no storage: one well-formed JWS with `typ`
/// `dpop+jwt`, a supported asymmetric `alg`, a public `jwk` that verifies the signature,
/// `htm`, `htu`, `iat` within `window` seconds of `now`, a `jti`, and `ath` when an access
/// token came with it. Nonce and replay are [`check`]'s.
pub fn verify(
    proof: &str,
    expected: &Expected<'_>,
    now: i64,
    window: i64,
) -> Result<Proof, DpopError> {
    let bad = DpopError::Invalid;
    if proof.len() > MAX_PROOF_LEN {
        return Err(bad("the proof is too long"));
    }
    let mut parts = proof.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("the proof is not a compact JWS"));
    };
    let header: Header = crypto::b64url_decode(h)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(bad("the proof header is malformed"))?;
    if header.typ.as_deref() != Some("dpop+jwt") {
        return Err(bad("typ must be dpop+jwt"));
    }
    // `none` and the symmetric algorithms are refused first: a proof must be signed by a key
    // only the client holds.
    if !ALGS.contains(&header.alg.as_str()) {
        return Err(bad("unsupported proof alg"));
    }
    let jwk_map = header.jwk.ok_or(bad("the proof header has no jwk"))?;
    if PRIVATE_MEMBERS.iter().any(|m| jwk_map.contains_key(*m)) {
        return Err(bad("the proof key must be a public key"));
    }
    let jkt = thumbprint(&jwk_map).ok_or(bad("the proof key is not a usable public key"))?;
    let jwk = Jwk::from_map(jwk_map).map_err(|_| bad("the proof key is malformed"))?;
    let mismatch = |_| bad("key and alg do not match");
    let verifier: Box<dyn JwsVerifier> = match header.alg.as_str() {
        "ES256" => Box::new(ES256.verifier_from_jwk(&jwk).map_err(mismatch)?),
        "RS256" => Box::new(RS256.verifier_from_jwk(&jwk).map_err(mismatch)?),
        "PS256" => Box::new(PS256.verifier_from_jwk(&jwk).map_err(mismatch)?),
        _ => Box::new(EdDSA.verifier_from_jwk(&jwk).map_err(mismatch)?),
    };
    let sig = crypto::b64url_decode(s).ok_or(bad("the proof signature is malformed"))?;
    verifier
        .verify(&proof.as_bytes()[..h.len() + 1 + p.len()], &sig)
        .map_err(|_| bad("the proof signature does not verify"))?;
    let claims: Claims = crypto::b64url_decode(p)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(bad("the proof claims are malformed"))?;
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or(bad("the proof has no usable jti"))?;
    if claims.htm.as_deref() != Some(expected.method) {
        return Err(bad("htm does not match the request method"));
    }
    let htu = claims.htu.ok_or(bad("the proof has no htu"))?;
    if !same_target(&htu, expected.url) {
        return Err(bad("htu does not match the request URL"));
    }
    let iat = claims.iat.ok_or(bad("the proof has no iat"))?;
    if (iat - now).abs() > window {
        return Err(bad("the proof is too old or from the future"));
    }
    if let Some(token) = expected.access_token {
        let ath = claims.ath.ok_or(bad("the proof has no ath"))?;
        if !crypto::constant_time_eq(ath.as_bytes(), access_token_hash(token).as_bytes()) {
            return Err(bad("ath does not match the access token"));
        }
    }
    Ok(Proof {
        jkt,
        jti,
        iat,
        nonce: claims.nonce,
    })
}

/// [`verify`], then the server nonce when configured (§8) and the replay cache: a `jti` is
/// accepted once per key within twice the `iat` window (§11.1). The id is recorded last, so
/// that a proof refused for another reason can be corrected and sent again.
pub async fn check(
    state: &Services,
    proof: &str,
    expected: &Expected<'_>,
) -> Result<Proof, DpopError> {
    let cfg = &state.config.dpop;
    let now = state.clock.now();
    let proof = verify(proof, expected, now, cfg.iat_window_secs)?;
    if cfg.require_nonce {
        let key = nonce_key(state)?;
        if !proof
            .nonce
            .as_deref()
            .is_some_and(|n| nonce_is_current(&key, cfg.nonce_slot_secs, now, n))
        {
            return Err(DpopError::UseNonce(nonce_at(
                &key,
                cfg.nonce_slot_secs,
                now,
            )));
        }
    }
    let id = crypto::sha256_hex(format!("{}.{}", proof.jkt, proof.jti).as_bytes());
    let first = state
        .store
        .put_if_absent(&format!("dpop_jti:{id}"), "1", 2 * cfg.iat_window_secs + 1)
        .await?;
    if !first {
        return Err(DpopError::Invalid("the proof was already used"));
    }
    Ok(proof)
}

/// The current server nonce, for a `DPoP-Nonce` header; `None` when nonces are not demanded.
pub fn current_nonce(state: &Services) -> Result<Option<String>, Failure> {
    let cfg = &state.config.dpop;
    if !cfg.require_nonce {
        return Ok(None);
    }
    let key = nonce_key(state)?;
    Ok(Some(nonce_at(&key, cfg.nonce_slot_secs, state.clock.now())))
}

fn nonce_key(state: &Services) -> Result<[u8; 32], Failure> {
    let kek = state.config.kek_bytes().map_err(Failure::internal)?;
    Ok(crypto::derive_key(&kek, KeyPurpose::DpopNonce))
}

/// The nonce of the time slot `now` falls in: an HMAC of the slot number, so that every
/// instance with the same KEK derives it without sharing anything.
fn nonce_at(key: &[u8; 32], slot_secs: i64, now: i64) -> String {
    nonce_of_slot(key, now.div_euclid(slot_secs))
}

fn nonce_of_slot(key: &[u8; 32], slot: i64) -> String {
    crypto::b64url(&crypto::hmac_sha256(key, format!("dpop-nonce:{slot}").as_bytes())[..18])
}

/// Whether `nonce` is the current slot's or the previous one's: a nonce handed out just
/// before a slot ends stays good for at least one full slot.
fn nonce_is_current(key: &[u8; 32], slot_secs: i64, now: i64, nonce: &str) -> bool {
    let slot = now.div_euclid(slot_secs);
    [slot, slot - 1]
        .iter()
        .any(|s| crypto::constant_time_eq(nonce_of_slot(key, *s).as_bytes(), nonce.as_bytes()))
}

/// `ath`: base64url SHA-256 of the access token (§4.2).
pub fn access_token_hash(token: &str) -> String {
    crypto::b64url(&Sha256::digest(token.as_bytes()))
}

/// The RFC 7638 SHA-256 thumbprint of a public JWK: the required members of its key type in
/// lexicographic order, as compact JSON. `None` for a key type a proof cannot use.
pub fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = String::from("{");
    for (i, m) in members.iter().enumerate() {
        let v = jwk.get(*m)?.as_str()?;
        if i > 0 {
            canonical.push(',');
        }
        // serde_json escapes the value exactly as RFC 7638 §3.3 asks (no extra whitespace).
        canonical.push_str(&serde_json::to_string(m).ok()?);
        canonical.push(':');
        canonical.push_str(&serde_json::to_string(v).ok()?);
    }
    canonical.push('}');
    Some(crypto::b64url(&Sha256::digest(canonical.as_bytes())))
}

/// Whether `htu` names the endpoint `url`, ignoring query and fragment and comparing after
/// the syntax-based normalization of RFC 3986 §6.2.2 (scheme and host case, default port),
/// as RFC 9449 §4.3 check 9 allows.
fn same_target(htu: &str, url: &str) -> bool {
    let normal = |s: &str| {
        url::Url::parse(s).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u
        })
    };
    match (normal(htu), normal(url)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::{
        jwk::alg::{ec::EcCurve, ec::EcKeyPair},
        jws::JwsHeader,
        jwt::{self, JwtPayload},
    };

    const URL: &str = "https://idp.example/token";
    const NOW: i64 = 1_700_000_000;

    fn key() -> EcKeyPair {
        EcKeyPair::generate(EcCurve::P256).unwrap()
    }

    fn proof_with(key: &EcKeyPair, typ: &str, edit: impl FnOnce(&mut JwtPayload)) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_jwk(key.to_jwk_public_key());
        let mut payload = JwtPayload::new();
        payload.set_jwt_id(crypto::random_token(12));
        payload.set_claim("htm", Some("POST".into())).unwrap();
        payload.set_claim("htu", Some(URL.into())).unwrap();
        payload.set_claim("iat", Some(NOW.into())).unwrap();
        edit(&mut payload);
        let signer = ES256.signer_from_jwk(&key.to_jwk_private_key()).unwrap();
        jwt::encode_with_signer(&payload, &header, &signer).unwrap()
    }

    fn expected() -> Expected<'static> {
        Expected {
            method: "POST",
            url: URL,
            access_token: None,
        }
    }

    fn refused(proof: &str, e: &Expected<'_>) -> &'static str {
        match verify(proof, e, NOW, 60) {
            Err(DpopError::Invalid(why)) => why,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_good_proof_gives_the_key_thumbprint() {
        let k = key();
        let p = verify(&proof_with(&k, "dpop+jwt", |_| {}), &expected(), NOW, 60).unwrap();
        let jwk = k.to_jwk_public_key();
        assert_eq!(p.jkt, thumbprint(jwk.as_ref()).unwrap());
        // htu is compared after normalization, without query and fragment.
        let e = Expected {
            url: "HTTPS://IDP.example:443/token",
            ..expected()
        };
        verify(&proof_with(&k, "dpop+jwt", |_| {}), &e, NOW, 60).unwrap();
        let q = proof_with(&k, "dpop+jwt", |c| {
            c.set_claim("htu", Some(format!("{URL}?x=1#f").into()))
                .unwrap();
        });
        verify(&q, &expected(), NOW, 60).unwrap();
    }

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        // RFC 7638 §3.1.
        let jwk: Map<String, Value> = serde_json::from_str(
            r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#,
        )
        .unwrap();
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn each_check_refuses() {
        let k = key();
        assert_eq!(
            refused(&proof_with(&k, "JWT", |_| {}), &expected()),
            "typ must be dpop+jwt"
        );
        let wrong_method = Expected {
            method: "GET",
            ..expected()
        };
        assert_eq!(
            refused(&proof_with(&k, "dpop+jwt", |_| {}), &wrong_method),
            "htm does not match the request method"
        );
        let wrong_url = Expected {
            url: "https://idp.example/userinfo",
            ..expected()
        };
        assert_eq!(
            refused(&proof_with(&k, "dpop+jwt", |_| {}), &wrong_url),
            "htu does not match the request URL"
        );
        let old = proof_with(&k, "dpop+jwt", |c| {
            c.set_claim("iat", Some((NOW - 61).into())).unwrap();
        });
        assert_eq!(
            refused(&old, &expected()),
            "the proof is too old or from the future"
        );
        let future = proof_with(&k, "dpop+jwt", |c| {
            c.set_claim("iat", Some((NOW + 61).into())).unwrap();
        });
        assert_eq!(
            refused(&future, &expected()),
            "the proof is too old or from the future"
        );
        let no_jti = proof_with(&k, "dpop+jwt", |c| {
            c.set_claim("jti", None).unwrap();
        });
        assert_eq!(refused(&no_jti, &expected()), "the proof has no usable jti");
    }

    #[test]
    fn ath_is_required_with_an_access_token() {
        let k = key();
        let at = Expected {
            access_token: Some("the-token"),
            ..expected()
        };
        assert_eq!(
            refused(&proof_with(&k, "dpop+jwt", |_| {}), &at),
            "the proof has no ath"
        );
        let wrong = proof_with(&k, "dpop+jwt", |c| {
            c.set_claim("ath", Some(access_token_hash("other").into()))
                .unwrap();
        });
        assert_eq!(refused(&wrong, &at), "ath does not match the access token");
        let right = proof_with(&k, "dpop+jwt", |c| {
            c.set_claim("ath", Some(access_token_hash("the-token").into()))
                .unwrap();
        });
        verify(&right, &at, NOW, 60).unwrap();
    }

    #[test]
    fn a_foreign_signature_or_a_private_key_is_refused() {
        let k = key();
        let other = key();
        // Signed by one key, naming another in the header.
        let mut header = JwsHeader::new();
        header.set_token_type("dpop+jwt");
        header.set_jwk(other.to_jwk_public_key());
        let mut payload = JwtPayload::new();
        payload.set_jwt_id("x");
        payload.set_claim("htm", Some("POST".into())).unwrap();
        payload.set_claim("htu", Some(URL.into())).unwrap();
        payload.set_claim("iat", Some(NOW.into())).unwrap();
        let signer = ES256.signer_from_jwk(&k.to_jwk_private_key()).unwrap();
        let forged = jwt::encode_with_signer(&payload, &header, &signer).unwrap();
        assert_eq!(
            refused(&forged, &expected()),
            "the proof signature does not verify"
        );
        header.set_jwk(k.to_jwk_private_key());
        let leaky = jwt::encode_with_signer(&payload, &header, &signer).unwrap();
        assert_eq!(
            refused(&leaky, &expected()),
            "the proof key must be a public key"
        );
        // A symmetric algorithm is never a proof.
        let h = crypto::b64url(
            br#"{"typ":"dpop+jwt","alg":"HS256","jwk":{"kty":"EC","crv":"P-256","x":"a","y":"b"}}"#,
        );
        let hs = format!("{h}.{}.c2ln", crypto::b64url(b"{}"));
        assert_eq!(refused(&hs, &expected()), "unsupported proof alg");
    }

    #[test]
    fn nonces_rotate_by_slot_and_the_previous_one_stays_good() {
        let key = [3u8; 32];
        let n = nonce_at(&key, 300, 3_000);
        assert!(nonce_is_current(&key, 300, 3_000, &n));
        assert!(nonce_is_current(&key, 300, 3_299, &n));
        assert!(nonce_is_current(&key, 300, 3_599, &n), "previous slot");
        assert!(!nonce_is_current(&key, 300, 3_600, &n), "two slots later");
        assert!(!nonce_is_current(&[4u8; 32], 300, 3_000, &n), "another key");
        assert_ne!(n, nonce_at(&key, 300, 3_300));
    }
}
