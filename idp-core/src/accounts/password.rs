//! argon2id password hashes. Hashing and verification are CPU- and memory-heavy by design, so
//! they run on the blocking pool, a bounded number at a time, never on the async workers.

use std::{
    sync::{Mutex, OnceLock},
    time::{Duration, Instant},
};

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};

use crate::{config::LoginConfig, services::Services};

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

/// Argon2 work areas kept between verifications. A fresh 19 MiB area costs about as much in
/// page faults as the hashing itself (measured: 17 ms instead of 10 ms per verification), so
/// areas are reused while logins keep coming, and handed back to the OS once idle (see
/// `memory.rs`), so an idle IdP stays small. At most one area per password slot exists.
#[derive(Default)]
pub struct WorkAreas {
    idle: Mutex<Vec<(Vec<Block>, Instant)>>,
}

impl WorkAreas {
    fn take(&self, blocks: usize) -> Vec<Block> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        match idle.iter().position(|(area, _)| area.len() >= blocks) {
            Some(i) => idle.swap_remove(i).0,
            None => vec![Block::default(); blocks],
        }
    }

    fn give_back(&self, area: Vec<Block>) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.push((area, Instant::now()));
    }

    /// Frees the areas unused for `max_idle`; called periodically.
    pub fn release_idle(&self, max_idle: Duration) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.retain(|(_, since)| since.elapsed() < max_idle);
    }
}

/// Verifies like [`verify_blocking`], in a work area from `areas`: what the server does per
/// login (public for the `argon2_cost` bound, which must measure the same work).
pub fn verify_with(areas: &WorkAreas, password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let mut area = areas.take(params.block_count());
    let hashed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        salt,
        &mut out,
        &mut area[..],
    );
    areas.give_back(area);
    hashed.is_ok() && crate::crypto::constant_time_eq(&out, expected.as_bytes())
}

/// A hash of a random password with the configured cost: verifying against it when an account
/// does not exist makes that answer take as long as a wrong password does.
fn decoy_hash(cfg: &LoginConfig) -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_blocking(&crate::crypto::random_token(16), cfg).unwrap_or_default())
}

/// Verifies on the blocking pool; `phc = None` spends the same effort on the decoy hash.
pub async fn verify(state: &Services, password: String, phc: Option<String>) -> bool {
    let queued = std::time::Instant::now();
    let Ok(_slot) = state.password_slots.acquire().await else {
        return false;
    };
    let _in_flight = state.metrics.argon2_started(queued.elapsed().as_secs_f64());
    let cfg = state.config.login.clone();
    let areas = state.password_work.clone();
    tokio::task::spawn_blocking(move || match phc {
        // An imported hash still waiting for its upgrade: the argon2 work is spent as well, so
        // that a legacy account answers in the time any other account does.
        Some(phc) if crate::legacy::hashes::is_legacy(&phc) => {
            verify_with(&areas, &password, decoy_hash(&cfg));
            crate::legacy::hashes::verify_blocking(&password, &phc)
        }
        Some(phc) => verify_with(&areas, &password, &phc),
        None => {
            verify_with(&areas, &password, decoy_hash(&cfg));
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

    #[test]
    fn pooled_verification_agrees_with_the_crate() {
        let cfg = LoginConfig {
            argon2_m_kib: 8 * 1024,
            argon2_t: 1,
            ..LoginConfig::default()
        };
        let areas = WorkAreas::default();
        let h = hash_blocking("Correct-Horse-9", &cfg).unwrap();
        for _ in 0..2 {
            assert!(verify_with(&areas, "Correct-Horse-9", &h));
            assert!(!verify_with(&areas, "Correct-Horse-8", &h));
        }
        assert_eq!(areas.idle.lock().unwrap().len(), 1, "one area, reused");
        // A hash with a bigger cost than the pooled area gets its own.
        let big = LoginConfig {
            argon2_m_kib: 9 * 1024,
            ..cfg.clone()
        };
        let h2 = hash_blocking("Other-Pass-7", &big).unwrap();
        assert!(verify_with(&areas, "Other-Pass-7", &h2));
        assert!(!verify_with(
            &areas,
            "Correct-Horse-9",
            "$argon2id$v=19$garbage"
        ));
        // Hashes made elsewhere (other salts, argon2i/argon2d) verify too.
        let i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        )
        .hash_password(
            b"x-Pass-1",
            &SaltString::encode_b64(b"0123456789abcdef").unwrap(),
        )
        .unwrap()
        .to_string();
        assert!(verify_with(&areas, "x-Pass-1", &i));
        areas.release_idle(Duration::ZERO);
        assert!(areas.idle.lock().unwrap().is_empty());
    }
}
