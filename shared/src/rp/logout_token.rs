//! Validation of back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.6).
//!
//! A logout token is a JWT, not an ID token, so `openidconnect`'s ID token verifier does not
//! apply; the signature is checked with its JWK types and every claim rule here. The function
//! is pure (keys and time come in) so each rule is unit-tested on its own.

use base64::Engine;
use openidconnect::{
    core::{CoreJsonWebKey, CoreJsonWebKeySet, CoreJwsSigningAlgorithm},
    JsonWebKey, JwsSigningAlgorithm,
};
use serde::Deserialize;
use serde_json::Value;

/// The event a logout token must carry (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Clock skew tolerated on `iat` and `exp`.
const LEEWAY_SECS: i64 = 60;

/// What the token must be checked against.
#[derive(Clone, Copy, Debug)]
pub struct LogoutTokenRules<'a> {
    /// The issuer from discovery.
    pub issuer: &'a str,
    /// Our client id: the required audience.
    pub client_id: &'a str,
    /// Unix seconds.
    pub now: i64,
}

/// Whom a valid logout token logs out: a session (`sid`), an account (`sub`), or both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutSubject {
    pub sid: Option<String>,
    pub sub: Option<String>,
}

/// Why a logout token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LogoutTokenError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("signing algorithm not accepted")]
    Algorithm,
    #[error("typ header is not logout+jwt")]
    Type,
    /// No published key matches the token's `kid`; the caller may refetch the JWKS once.
    #[error("no published key matches the token")]
    UnknownKey,
    #[error("signature does not verify")]
    Signature,
    #[error("iss is not the issuer")]
    Issuer,
    #[error("aud does not include our client id")]
    Audience,
    #[error("iat is missing or in the future")]
    IssuedAt,
    #[error("exp is missing or past")]
    Expired,
    #[error("jti is missing")]
    Jti,
    #[error("events lacks the back-channel logout event")]
    Events,
    #[error("neither sid nor sub is present")]
    NoSubject,
    #[error("a logout token must not contain a nonce")]
    Nonce,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    crit: Option<Value>,
}

fn b64(part: &str) -> Result<Vec<u8>, LogoutTokenError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| LogoutTokenError::Malformed)
}

/// Checks signature and claims of `token` and returns whom it logs out.
pub fn validate(
    token: &str,
    keys: &CoreJsonWebKeySet,
    rules: &LogoutTokenRules<'_>,
) -> Result<LogoutSubject, LogoutTokenError> {
    use LogoutTokenError as E;
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(E::Malformed);
    };
    let header: Header = serde_json::from_slice(&b64(h)?).map_err(|_| E::Malformed)?;
    if header.crit.is_some() {
        // We understand no critical extension, so RFC 7515 §4.1.11 says reject.
        return Err(E::Malformed);
    }
    // §2.6 step 3 recommends explicit typing; a plain JWT (or none) is still allowed.
    match header
        .typ
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("jwt") | Some("logout+jwt") | Some("application/logout+jwt") => {}
        Some(_) => return Err(E::Type),
    }
    let alg: CoreJwsSigningAlgorithm =
        serde_json::from_value(Value::String(header.alg)).map_err(|_| E::Algorithm)?;
    // Only the IdP's published asymmetric keys may sign: no `none`, no shared-secret MACs.
    if alg.uses_shared_secret() || alg.key_type().is_none() {
        return Err(E::Algorithm);
    }
    let candidates: Vec<&CoreJsonWebKey> = keys
        .keys()
        .iter()
        .filter(|k| match &header.kid {
            Some(kid) => k.key_id().is_some_and(|id| id.as_str() == kid),
            None => true,
        })
        .collect();
    if candidates.is_empty() {
        return Err(E::UnknownKey);
    }
    let signature = b64(s)?;
    let signed = &token.as_bytes()[..h.len() + 1 + p.len()];
    if !candidates
        .iter()
        .any(|k| k.verify_signature(&alg, signed, &signature).is_ok())
    {
        return Err(E::Signature);
    }

    let claims: Value = serde_json::from_slice(&b64(p)?).map_err(|_| E::Malformed)?;
    let claims = claims.as_object().ok_or(E::Malformed)?;
    if claims.get("iss").and_then(Value::as_str) != Some(rules.issuer) {
        return Err(E::Issuer);
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == rules.client_id,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(rules.client_id)),
        _ => false,
    };
    if !aud_ok {
        return Err(E::Audience);
    }
    match claims.get("iat").and_then(Value::as_i64) {
        Some(iat) if iat <= rules.now + LEEWAY_SECS => {}
        _ => return Err(E::IssuedAt),
    }
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp + LEEWAY_SECS > rules.now => {}
        _ => return Err(E::Expired),
    }
    if claims
        .get("jti")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(E::Jti);
    }
    let event_ok = claims
        .get("events")
        .and_then(Value::as_object)
        .and_then(|events| events.get(BACKCHANNEL_LOGOUT_EVENT))
        .is_some_and(Value::is_object);
    if !event_ok {
        return Err(E::Events);
    }
    // A nonce would make the token usable as an ID token, so §2.4 forbids it.
    if claims.contains_key("nonce") {
        return Err(E::Nonce);
    }
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let subject = LogoutSubject {
        sid: text("sid"),
        sub: text("sub"),
    };
    if subject.sid.is_none() && subject.sub.is_none() {
        return Err(E::NoSubject);
    }
    Ok(subject)
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jws::{JwsSigner, ES256, RS256};
    use serde_json::json;

    const ISS: &str = "http://idp.test";
    const NOW: i64 = 1_800_000_000;

    struct Key {
        kid: &'static str,
        alg: &'static str,
        signer: Box<dyn JwsSigner>,
        public: Value,
    }

    fn es256(kid: &'static str) -> Key {
        let pair = ES256.generate_key_pair().unwrap();
        let mut jwk = pair.to_jwk_public_key();
        jwk.set_key_id(kid);
        jwk.set_algorithm("ES256");
        jwk.set_key_use("sig");
        Key {
            kid,
            alg: "ES256",
            signer: Box::new(ES256.signer_from_der(pair.to_der_private_key()).unwrap()),
            public: Value::Object(jwk.as_ref().clone()),
        }
    }

    fn rs256(kid: &'static str) -> Key {
        let pair = RS256.generate_key_pair(2048).unwrap();
        let mut jwk = pair.to_jwk_public_key();
        jwk.set_key_id(kid);
        jwk.set_algorithm("RS256");
        Key {
            kid,
            alg: "RS256",
            signer: Box::new(RS256.signer_from_der(pair.to_der_private_key()).unwrap()),
            public: Value::Object(jwk.as_ref().clone()),
        }
    }

    fn jwks(keys: &[&Key]) -> CoreJsonWebKeySet {
        let doc = json!({ "keys": keys.iter().map(|k| k.public.clone()).collect::<Vec<_>>() });
        serde_json::from_value(doc).unwrap()
    }

    fn enc(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn sign_with(key: &Key, header: Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            enc(&serde_json::to_vec(&header).unwrap()),
            enc(&serde_json::to_vec(claims).unwrap())
        );
        let sig = key.signer.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", enc(&sig))
    }

    fn sign(key: &Key, claims: &Value) -> String {
        sign_with(
            key,
            json!({ "alg": key.alg, "kid": key.kid, "typ": "logout+jwt" }),
            claims,
        )
    }

    fn good_claims() -> Value {
        json!({
            "iss": ISS,
            "aud": "incubator",
            "iat": NOW - 5,
            "exp": NOW + 115,
            "jti": "j-1",
            "sub": "acct-1",
            "sid": "sid-1",
            "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        })
    }

    fn rules() -> LogoutTokenRules<'static> {
        LogoutTokenRules {
            issuer: ISS,
            client_id: "incubator",
            now: NOW,
        }
    }

    fn with(mut claims: Value, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
        f(claims.as_object_mut().unwrap());
        claims
    }

    #[test]
    fn good_token_names_session_and_account() {
        for key in [es256("es-1"), rs256("rs-1")] {
            let token = sign(&key, &good_claims());
            let subject = validate(&token, &jwks(&[&key]), &rules()).unwrap();
            assert_eq!(subject.sid.as_deref(), Some("sid-1"));
            assert_eq!(subject.sub.as_deref(), Some("acct-1"));
        }
    }

    #[test]
    fn audience_may_be_a_list_but_must_include_us() {
        let key = es256("k");
        let keys = jwks(&[&key]);
        let listed = with(good_claims(), |c| {
            c.insert("aud".into(), json!(["other", "incubator"]));
        });
        assert!(validate(&sign(&key, &listed), &keys, &rules()).is_ok());
        let wrong = with(good_claims(), |c| {
            c.insert("aud".into(), json!("makerspace"));
        });
        assert_eq!(
            validate(&sign(&key, &wrong), &keys, &rules()),
            Err(LogoutTokenError::Audience)
        );
    }

    #[test]
    fn events_are_required() {
        let key = es256("k");
        let keys = jwks(&[&key]);
        let missing = with(good_claims(), |c| {
            c.remove("events");
        });
        assert_eq!(
            validate(&sign(&key, &missing), &keys, &rules()),
            Err(LogoutTokenError::Events)
        );
        let other_event = with(good_claims(), |c| {
            c.insert("events".into(), json!({ "urn:other": {} }));
        });
        assert_eq!(
            validate(&sign(&key, &other_event), &keys, &rules()),
            Err(LogoutTokenError::Events)
        );
    }

    #[test]
    fn nonce_is_forbidden() {
        let key = es256("k");
        let claims = with(good_claims(), |c| {
            c.insert("nonce".into(), json!("n"));
        });
        assert_eq!(
            validate(&sign(&key, &claims), &jwks(&[&key]), &rules()),
            Err(LogoutTokenError::Nonce)
        );
    }

    #[test]
    fn bad_signatures_are_refused() {
        let key = es256("k");
        let impostor = es256("k");
        let keys = jwks(&[&key]);
        assert_eq!(
            validate(&sign(&impostor, &good_claims()), &keys, &rules()),
            Err(LogoutTokenError::Signature),
            "same kid, other key"
        );
        // A valid signature over other claims, spliced onto a tampered payload.
        let token = sign(&key, &good_claims());
        let mut parts: Vec<&str> = token.split('.').collect();
        let tampered = enc(&serde_json::to_vec(&with(good_claims(), |c| {
            c.insert("sub".into(), json!("acct-2"));
        }))
        .unwrap());
        parts[1] = &tampered;
        assert_eq!(
            validate(&parts.join("."), &keys, &rules()),
            Err(LogoutTokenError::Signature)
        );
        assert_eq!(
            validate(&sign(&es256("other"), &good_claims()), &keys, &rules()),
            Err(LogoutTokenError::UnknownKey)
        );
    }

    #[test]
    fn algorithms_and_types() {
        let key = es256("k");
        let keys = jwks(&[&key]);
        let claims = good_claims();
        let unsigned = format!(
            "{}.{}.",
            enc(br#"{"alg":"none","kid":"k"}"#),
            enc(&serde_json::to_vec(&claims).unwrap())
        );
        assert_eq!(
            validate(&unsigned, &keys, &rules()),
            Err(LogoutTokenError::Algorithm)
        );
        let hs = sign_with(&key, json!({ "alg": "HS256", "kid": "k" }), &claims);
        assert_eq!(
            validate(&hs, &keys, &rules()),
            Err(LogoutTokenError::Algorithm)
        );
        let at = sign_with(
            &key,
            json!({ "alg": "ES256", "kid": "k", "typ": "at+jwt" }),
            &claims,
        );
        assert_eq!(validate(&at, &keys, &rules()), Err(LogoutTokenError::Type));
        let plain = sign_with(&key, json!({ "alg": "ES256", "kid": "k" }), &claims);
        assert!(validate(&plain, &keys, &rules()).is_ok(), "typ is optional");
        assert_eq!(
            validate("a.b", &keys, &rules()),
            Err(LogoutTokenError::Malformed)
        );
    }

    #[test]
    fn claim_rules() {
        let key = es256("k");
        let keys = jwks(&[&key]);
        let check = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
            let mut claims = good_claims();
            f(claims.as_object_mut().unwrap());
            validate(&sign(&key, &claims), &keys, &rules())
        };
        assert_eq!(
            check(&|c| {
                c.insert("iss".into(), json!("http://evil.test"));
            }),
            Err(LogoutTokenError::Issuer)
        );
        assert_eq!(
            check(&|c| {
                c.insert("exp".into(), json!(NOW - 61));
            }),
            Err(LogoutTokenError::Expired)
        );
        assert_eq!(
            check(&|c| {
                c.remove("exp");
            }),
            Err(LogoutTokenError::Expired)
        );
        assert_eq!(
            check(&|c| {
                c.insert("iat".into(), json!(NOW + 3600));
            }),
            Err(LogoutTokenError::IssuedAt)
        );
        assert_eq!(
            check(&|c| {
                c.remove("jti");
            }),
            Err(LogoutTokenError::Jti)
        );
        assert_eq!(
            check(&|c| {
                c.remove("sid");
                c.remove("sub");
            }),
            Err(LogoutTokenError::NoSubject)
        );
        let only_sub = check(&|c| {
            c.remove("sid");
        })
        .unwrap();
        assert_eq!(only_sub.sid, None);
        assert_eq!(only_sub.sub.as_deref(), Some("acct-1"));
    }
}
