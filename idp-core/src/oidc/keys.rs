//! Signing keys: generated on first start, sealed at rest, parsed once into signers and
//! verifiers, published as a JWK Set, and rotated without breaking tokens already issued:
//! a new key is published before it signs, and an old one stays published until the last
//! token it signed has expired (the timeline in `key_timeline`).
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

use super::key_timeline::{self, KeyState, Slot};
use crate::{
    clock::Clock,
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
    #[error("{alg} already has key {kid} scheduled to sign from {activates_at}; rotate again once it signs")]
    RotationPending {
        alg: &'static str,
        kid: String,
        activates_at: i64,
    },
    #[error("another rotation of {0} happened at the same time; run the command again")]
    Concurrent(&'static str),
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

/// An immutable snapshot of the published keys, good until `valid_until`; replaced whole when
/// the stored keys change or a key's time comes.
pub struct KeySet {
    active: [Option<SigningKey>; 3],
    verifiers: HashMap<String, VerifyingKey>,
    jwks: Bytes,
    fingerprint: String,
    /// The next time a key of this set changes state (Unix seconds; `i64::MAX`: never).
    valid_until: i64,
    /// The rows this set was built from, to rebuild it at `valid_until` without the database.
    rows: Arc<Vec<KeyRow>>,
    /// Keys found past their retention: withdrawn from the database at the next reload.
    expired: Vec<String>,
    retention_secs: i64,
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
    fn build(
        rows: Arc<Vec<KeyRow>>,
        kek: &[u8; 32],
        fingerprint: String,
        now: i64,
        retention_secs: i64,
    ) -> Result<KeySet, KeyError> {
        let mut active: [Option<SigningKey>; 3] = [None, None, None];
        let mut verifiers = HashMap::new();
        let mut jwks = Vec::new();
        let (states, valid_until) = timeline_states(&rows, now, retention_secs);
        let mut expired = Vec::new();
        for (row, state) in rows.iter().zip(states) {
            if !state.is_published() {
                expired.push(row.kid.clone());
                continue;
            }
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
            if state == KeyState::Active {
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
            valid_until,
            rows,
            expired,
            retention_secs,
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

/// The timeline state of every row (rows of one algorithm in generation order, as the store
/// returns them) and the next time one changes.
fn timeline_states(rows: &[KeyRow], now: i64, retention_secs: i64) -> (Vec<KeyState>, i64) {
    let mut states = Vec::with_capacity(rows.len());
    let mut valid_until = i64::MAX;
    for chunk in rows.chunk_by(|a, b| a.alg == b.alg) {
        let slots: Vec<Slot> = chunk
            .iter()
            .map(|r| Slot {
                generation: r.generation,
                activates_at: r.activates_at,
            })
            .collect();
        let (s, next) = key_timeline::states(&slots, now, retention_secs);
        states.extend(s);
        valid_until = valid_until.min(next);
    }
    (states, valid_until)
}

/// Holds the current [`KeySet`] and swaps in a new one after a rotation, or when a scheduled
/// key starts signing or an old one's retention ends.
#[derive(Clone)]
pub struct Keys {
    current: Arc<RwLock<Arc<KeySet>>>,
    kek: [u8; 32],
    clock: Clock,
}

impl Keys {
    /// Loads the published keys, creating a first key per algorithm when there is none.
    /// `retention_secs`: how long a key stays published after it stopped signing.
    pub async fn load_or_create(
        db: &Db,
        kek: [u8; 32],
        clock: Clock,
        retention_secs: i64,
    ) -> Result<Keys, KeyError> {
        let now = clock.now();
        let rows = store::keys::published(db).await?;
        for alg in SigningAlg::ALL {
            if !rows.iter().any(|r| r.alg == alg.as_str()) {
                let row = generate(alg, &kek, now, 1, now)?;
                // False: another instance starting at the same time created it; read theirs.
                store::keys::append(db, &row).await?;
            }
        }
        let set = Self::read(db, &kek, now, retention_secs).await?;
        Ok(Keys {
            current: Arc::new(RwLock::new(Arc::new(set))),
            kek,
            clock,
        })
    }

    async fn read(
        db: &Db,
        kek: &[u8; 32],
        now: i64,
        retention_secs: i64,
    ) -> Result<KeySet, KeyError> {
        let fingerprint = store::keys::published_fingerprint(db).await?;
        let rows = store::keys::published(db).await?;
        KeySet::build(Arc::new(rows), kek, fingerprint, now, retention_secs)
    }

    /// The key set in force now. When a key's time has come since the set was built, the
    /// set is rebuilt from the rows it holds (no database), once, by whichever caller sees it.
    pub fn current(&self) -> Arc<KeySet> {
        let set = self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let now = self.clock.now();
        if now < set.valid_until {
            return set;
        }
        let mut slot = self.current.write().unwrap_or_else(|p| p.into_inner());
        if now < slot.valid_until {
            return slot.clone();
        }
        match KeySet::build(
            slot.rows.clone(),
            &self.kek,
            slot.fingerprint.clone(),
            now,
            slot.retention_secs,
        ) {
            Ok(next) => *slot = Arc::new(next),
            // The same rows built before; if they no longer do, keep serving the old set and
            // let the periodic reload report it.
            Err(e) => tracing::error!(error = %e, "signing keys could not be rebuilt"),
        }
        slot.clone()
    }

    /// Re-reads the keys when another instance or the CLI rotated them, and withdraws keys
    /// whose retention has ended so that they are no longer read.
    pub async fn reload_if_changed(&self, db: &Db) -> Result<bool, KeyError> {
        let set = self.current();
        if !set.expired.is_empty() {
            let kids: Vec<&str> = set.expired.iter().map(String::as_str).collect();
            store::keys::withdraw(db, &kids).await?;
        }
        let fingerprint = store::keys::published_fingerprint(db).await?;
        if fingerprint == set.fingerprint {
            return Ok(false);
        }
        let next = Self::read(db, &self.kek, self.clock.now(), set.retention_secs).await?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        Ok(true)
    }
}

/// A scheduled rotation: the new key and when it starts signing.
#[derive(Debug)]
pub struct Rotation {
    pub kid: String,
    pub activates_at: i64,
}

/// Appends a new key for `alg` that is published at once and signs from `activates_at`
/// (`now` for an emergency rotation). Refused while another rotation of `alg` is pending.
pub async fn rotate(
    db: &Db,
    kek: &[u8; 32],
    alg: SigningAlg,
    now: i64,
    activates_at: i64,
) -> Result<Rotation, KeyError> {
    let rows = store::keys::all(db).await?;
    let of_alg = || rows.iter().filter(|r| r.alg == alg.as_str());
    if let Some(pending) = of_alg().find(|r| r.state == "published" && r.activates_at > now) {
        return Err(KeyError::RotationPending {
            alg: alg.as_str(),
            kid: pending.kid.clone(),
            activates_at: pending.activates_at,
        });
    }
    let generation = of_alg().map(|r| r.generation).max().unwrap_or(0) + 1;
    // Never before the newest key: the timeline assumes starts only move forward.
    let newest_start = of_alg().map(|r| r.activates_at).max().unwrap_or(now);
    let row = generate(alg, kek, now, generation, activates_at.max(newest_start))?;
    if !store::keys::append(db, &row).await? {
        return Err(KeyError::Concurrent(alg.as_str()));
    }
    Ok(Rotation {
        kid: row.kid,
        activates_at: row.activates_at,
    })
}

/// Every key with its state at `now`, in timeline order per algorithm, for `keys list`.
pub async fn list(
    db: &Db,
    now: i64,
    retention_secs: i64,
) -> Result<Vec<(KeyRow, KeyState)>, KeyError> {
    let rows = store::keys::all(db).await?;
    let (states, _) = timeline_states(&rows, now, retention_secs);
    Ok(rows
        .into_iter()
        .zip(states)
        .map(|(row, state)| {
            let state = if row.state == "retired" {
                KeyState::Retired
            } else {
                state
            };
            (row, state)
        })
        .collect())
}

fn generate(
    alg: SigningAlg,
    kek: &[u8; 32],
    now: i64,
    generation: i64,
    activates_at: i64,
) -> Result<KeyRow, KeyError> {
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
        state: "published".into(),
        private_key_sealed: crypto::b64url(&sealed),
        public_jwk: jwk.to_string(),
        created_at: now,
        generation,
        activates_at,
    })
}
