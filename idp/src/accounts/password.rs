//! argon2id password hashes. Hashing and verification are CPU- and memory-heavy by design, so
//! they run on the blocking pool, a bounded number at a time, never on the async workers.

use std::sync::OnceLock;

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};

use crate::{config::LoginConfig, state::AppState};

fn hasher(cfg: &LoginConfig) -> Result<Argon2<'static>, argon2::Error> {
    let params = Params::new(cfg.argon2_m_kib, cfg.argon2_t, cfg.argon2_p, None)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A PHC-format argon2id hash of `password` with a fresh random salt.
pub fn hash_blocking(password: &str, cfg: &LoginConfig) -> Result<String, String> {
    let mut salt = [0u8; 16];
    openssl::rand::rand_bytes(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    hasher(cfg)
        .map_err(|e| e.to_string())?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Verifies against the parameters stored in the hash itself, so old hashes keep working when
/// the configured cost changes.
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password with the configured cost: verifying against it when an account
/// does not exist makes that answer take as long as a wrong password does.
fn decoy_hash(cfg: &LoginConfig) -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_blocking(&crate::crypto::random_token(16), cfg).unwrap_or_default())
}

/// Verifies on the blocking pool; `phc = None` spends the same effort on the decoy hash.
pub async fn verify(state: &AppState, password: String, phc: Option<String>) -> bool {
    let Ok(_slot) = state.password_slots.acquire().await else {
        return false;
    };
    let cfg = state.config.login.clone();
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify_blocking(&password, &phc),
        None => {
            verify_blocking(&password, decoy_hash(&cfg));
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let cfg = LoginConfig {
            argon2_m_kib: 8 * 1024,
            argon2_t: 1,
            ..LoginConfig::default()
        };
        let h = hash_blocking("Correct-Horse-9", &cfg).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"), "{h}");
        assert!(verify_blocking("Correct-Horse-9", &h));
        assert!(!verify_blocking("correct-horse-9", &h));
        assert!(!verify_blocking("Correct-Horse-9", "not a hash"));
        assert_ne!(h, hash_blocking("Correct-Horse-9", &cfg).unwrap(), "salted");
    }
}
