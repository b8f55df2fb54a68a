//! Signing keys: generated on first start, sealed at rest, parsed once into signers and
//! verifiers, published as a JWK Set, and rotated without breaking tokens already issued.
//!
//! Tokens are assembled here by hand (header and payload serialized once, then signed) rather
//! than through a generic claims map, because the token endpoint is the hot path.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use bytes::Bytes;
use josekit::{
    jwk::{alg::ed::EdCurve, Jwk},
    jws::{EdDSA, JwsSigner, JwsVerifier, ES256, RS256},
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::{
    crypto,
    store::{self, keys::KeyRow, Db},
};

pub use crate::store::clients::SigningAlg;

/// The `typ` header of each kind of token we sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// ID tokens: `JWT`.
    Id,
    /// RFC 9068 access tokens: `at+jwt`.
    Access,
    /// Back-channel logout tokens: `logout+jwt`.
    Logout,
}

impl TokenKind {
    fn typ(self) -> &'static str {
        match self {
            TokenKind::Id => "JWT",
            TokenKind::Access => "at+jwt",
            TokenKind::Logout => "logout+jwt",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error("signing key {0} cannot be opened with the configured key-encryption key")]
    Unseal(String),
    #[error("signing key {kid} is unusable: {reason}")]
    Corrupt { kid: String, reason: String },
    #[error(transparent)]
    Db(#[from] crate::store::StoreError),
}

struct SigningKey {
    kid: String,
    alg: SigningAlg,
    signer: Box<dyn JwsSigner>,
    /// base64url(header JSON) for each token kind, computed once.
    headers: [String; 3],
}

struct VerifyingKey {
    alg: SigningAlg,
    verifier: Box<dyn JwsVerifier>,
}

/// An immutable snapshot of the published keys; replaced whole on rotation.
pub struct KeySet {
    active: [Option<SigningKey>; 3],
    verifiers: HashMap<String, VerifyingKey>,
    jwks: Bytes,
    fingerprint: String,
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    kid: &'a str,
    typ: &'a str,
}

#[derive(Deserialize)]
struct ParsedHeader {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
}

/// Why a token failed verification; callers map it to their protocol's error.
#[derive(Debug, PartialEq, Eq)]
pub enum VerifyError {
    Malformed,
    UnknownKey,
    BadSignature,
    WrongType,
}

impl KeySet {
    fn build(rows: &[KeyRow], kek: &[u8; 32], fingerprint: String) -> Result<KeySet, KeyError> {
        let mut active: [Option<SigningKey>; 3] = [None, None, None];
        let mut verifiers = HashMap::new();
        let mut jwks = Vec::new();
        for row in rows {
            let corrupt = |reason: String| KeyError::Corrupt {
                kid: row.kid.clone(),
                reason,
            };
            let alg = SigningAlg::parse(&row.alg).ok_or_else(|| corrupt("unknown alg".into()))?;
            let jwk =
                Jwk::from_bytes(row.public_jwk.as_bytes()).map_err(|e| corrupt(e.to_string()))?;
            let verifier: Box<dyn JwsVerifier> = match alg {
                SigningAlg::Rs256 => Box::new(
                    RS256
                        .verifier_from_jwk(&jwk)
                        .map_err(|e| corrupt(e.to_string()))?,
                ),
                SigningAlg::Es256 => Box::new(
                    ES256
                        .verifier_from_jwk(&jwk)
                        .map_err(|e| corrupt(e.to_string()))?,
                ),
                SigningAlg::EdDsa => Box::new(
                    EdDSA
                        .verifier_from_jwk(&jwk)
                        .map_err(|e| corrupt(e.to_string()))?,
                ),
            };
            verifiers.insert(row.kid.clone(), VerifyingKey { alg, verifier });
            jwks.push(serde_json::Value::Object(jwk.as_ref().clone()));
            if row.state == "active" {
                let sealed = crypto::b64url_decode(&row.private_key_sealed)
                    .ok_or_else(|| corrupt("sealed key is not base64url".into()))?;
                let der = crypto::open(kek, row.kid.as_bytes(), &sealed)
                    .ok_or_else(|| KeyError::Unseal(row.kid.clone()))?;
                let signer: Box<dyn JwsSigner> = match alg {
                    SigningAlg::Rs256 => Box::new(
                        RS256
                            .signer_from_der(&der)
                            .map_err(|e| corrupt(e.to_string()))?,
                    ),
                    SigningAlg::Es256 => Box::new(
                        ES256
                            .signer_from_der(&der)
                            .map_err(|e| corrupt(e.to_string()))?,
                    ),
                    SigningAlg::EdDsa => Box::new(
                        EdDSA
                            .signer_from_der(&der)
                            .map_err(|e| corrupt(e.to_string()))?,
                    ),
                };
                let header = |kind: TokenKind| {
                    let h = Header {
                        alg: alg.as_str(),
                        kid: &row.kid,
                        typ: kind.typ(),
                    };
                    crypto::b64url(&serde_json::to_vec(&h).unwrap_or_default())
                };
                active[alg.index()] = Some(SigningKey {
                    kid: row.kid.clone(),
                    alg,
                    signer,
                    headers: [
                        header(TokenKind::Id),
                        header(TokenKind::Access),
                        header(TokenKind::Logout),
                    ],
                });
            }
        }
        let jwks = serde_json::to_vec(&serde_json::json!({ "keys": jwks }))
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        Ok(KeySet {
            active,
            verifiers,
            jwks: Bytes::from(jwks),
            fingerprint,
        })
    }

    /// The JWK Set document, serialized once per key set.
    pub fn jwks(&self) -> Bytes {
        self.jwks.clone()
    }

    pub fn active_kid(&self, alg: SigningAlg) -> Option<&str> {
        self.active[alg.index()].as_ref().map(|k| k.kid.as_str())
    }

    /// Signs `claims` as a compact JWS with the active key for `alg`.
    pub fn sign<T: Serialize>(
        &self,
        alg: SigningAlg,
        kind: TokenKind,
        claims: &T,
    ) -> Result<String, KeyError> {
        let key = self.active[alg.index()]
            .as_ref()
            .ok_or_else(|| KeyError::Generate(format!("no active {} key", alg.as_str())))?;
        let payload = serde_json::to_vec(claims).map_err(|e| KeyError::Generate(e.to_string()))?;
        let header = &key.headers[kind.index()];
        let mut out = String::with_capacity(header.len() + payload.len() * 4 / 3 + 400);
        out.push_str(header);
        out.push('.');
        base64::Engine::encode_string(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            &payload,
            &mut out,
        );
        let sig = key
            .signer
            .sign(out.as_bytes())
            .map_err(|e| KeyError::Generate(format!("{} signing failed: {e}", key.alg.as_str())))?;
        out.push('.');
        base64::Engine::encode_string(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            &sig,
            &mut out,
        );
        Ok(out)
    }

    /// Verifies a compact JWS signed by one of our published keys and returns its claims.
    /// Expiry and audience are the caller's to check: their meaning differs per use.
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        kind: TokenKind,
    ) -> Result<T, VerifyError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifyError::Malformed);
        };
        let header: ParsedHeader = crypto::b64url_decode(h)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(VerifyError::Malformed)?;
        let kid = header.kid.ok_or(VerifyError::UnknownKey)?;
        let key = self.verifiers.get(&kid).ok_or(VerifyError::UnknownKey)?;
        if key.alg.as_str() != header.alg {
            return Err(VerifyError::BadSignature);
        }
        if header.typ.as_deref().unwrap_or("JWT") != kind.typ() {
            return Err(VerifyError::WrongType);
        }
        let sig = crypto::b64url_decode(s).ok_or(VerifyError::Malformed)?;
        let signed_len = h.len() + 1 + p.len();
        key.verifier
            .verify(&token.as_bytes()[..signed_len], &sig)
            .map_err(|_| VerifyError::BadSignature)?;
        let payload = crypto::b64url_decode(p).ok_or(VerifyError::Malformed)?;
        serde_json::from_slice(&payload).map_err(|_| VerifyError::Malformed)
    }
}

/// Holds the current [`KeySet`] and swaps in a new one after a rotation.
#[derive(Clone)]
pub struct Keys {
    current: Arc<RwLock<Arc<KeySet>>>,
    kek: [u8; 32],
}

impl Keys {
    /// Loads the published keys, creating a first active key per algorithm when missing.
    pub async fn load_or_create(db: &Db, kek: [u8; 32], now: i64) -> Result<Keys, KeyError> {
        let rows = store::keys::published(db).await?;
        for alg in SigningAlg::ALL {
            if !rows
                .iter()
                .any(|r| r.alg == alg.as_str() && r.state == "active")
            {
                let row = generate(alg, &kek, now)?;
                store::keys::insert_first_active(db, &row).await?;
            }
        }
        let set = Self::read(db, &kek).await?;
        Ok(Keys {
            current: Arc::new(RwLock::new(Arc::new(set))),
            kek,
        })
    }

    async fn read(db: &Db, kek: &[u8; 32]) -> Result<KeySet, KeyError> {
        let fingerprint = store::keys::published_fingerprint(db).await?;
        let rows = store::keys::published(db).await?;
        KeySet::build(&rows, kek, fingerprint)
    }

    pub fn current(&self) -> Arc<KeySet> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Re-reads the keys when another instance or the CLI rotated them.
    pub async fn reload_if_changed(&self, db: &Db) -> Result<bool, KeyError> {
        let fingerprint = store::keys::published_fingerprint(db).await?;
        if fingerprint == self.current().fingerprint {
            return Ok(false);
        }
        let set = Self::read(db, &self.kek).await?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
        Ok(true)
    }
}

/// Creates a new active key for `alg`; the old active one stays published as previous.
pub async fn rotate(
    db: &Db,
    kek: &[u8; 32],
    alg: SigningAlg,
    now: i64,
) -> Result<String, KeyError> {
    let row = generate(alg, kek, now)?;
    store::keys::rotate(db, &row).await?;
    Ok(row.kid)
}

fn generate(alg: SigningAlg, kek: &[u8; 32], now: i64) -> Result<KeyRow, KeyError> {
    let gen_err = |e: josekit::JoseError| KeyError::Generate(e.to_string());
    let (der, mut jwk) = match alg {
        SigningAlg::Rs256 => {
            let kp = RS256.generate_key_pair(2048).map_err(gen_err)?;
            (kp.to_der_private_key(), kp.to_jwk_public_key())
        }
        SigningAlg::Es256 => {
            let kp = ES256.generate_key_pair().map_err(gen_err)?;
            (kp.to_der_private_key(), kp.to_jwk_public_key())
        }
        SigningAlg::EdDsa => {
            let kp = EdDSA.generate_key_pair(EdCurve::Ed25519).map_err(gen_err)?;
            (kp.to_der_private_key(), kp.to_jwk_public_key())
        }
    };
    let kid = format!(
        "{}-{}",
        alg.as_str().to_ascii_lowercase(),
        &crypto::random_token(12)
    );
    jwk.set_key_id(&kid);
    jwk.set_algorithm(alg.as_str());
    jwk.set_key_use("sig");
    let sealed = crypto::seal(kek, kid.as_bytes(), &der);
    Ok(KeyRow {
        kid,
        alg: alg.as_str().to_owned(),
        state: "active".into(),
        private_key_sealed: crypto::b64url(&sealed),
        public_jwk: jwk.to_string(),
        created_at: now,
    })
}
