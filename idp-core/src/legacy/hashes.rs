//! Password hashes imported from legacy systems, kept as they were until the first successful
//! login replaces them with argon2id (`credentials.rs`). They live in `accounts.password_hash`
//! under the prefix `legacy:`, which no argon2 PHC string has:
//!
//! | scheme   | stored as                                             | digest compared            |
//! |----------|-------------------------------------------------------|----------------------------|
//! | `md5`    | `legacy:md5:<suffix\|prefix>:<salt hex>:<digest hex>` | MD5(password ‖ salt) or MD5(salt ‖ password) |
//! | `sha1`   | `legacy:sha1:…` (same shape)                          | SHA-1 of the same          |
//! | `sha256` | `legacy:sha256:…` (same shape)                        | SHA-256 of the same        |
//! | `pbkdf2` | `legacy:pbkdf2:pbkdf2_sha256$<iterations>$<salt>$<base64 key>` (or `pbkdf2_sha1$…`) | PBKDF2-HMAC |
//! | `bcrypt` | `legacy:bcrypt:$2b$<cost>$<salt+hash>` (`$2a$`, `$2y$` too) | bcrypt              |
//!
//! Every comparison is constant-time. Costs are bounded (PBKDF2 ≤ 1,000,000 iterations,
//! bcrypt cost ≤ 15) so that an imported row cannot make one login take minutes.

use openssl::hash::{hash, MessageDigest};

use crate::crypto;

const PREFIX: &str = "legacy:";
const MAX_PBKDF2_ITERATIONS: u32 = 1_000_000;
const MAX_BCRYPT_COST: u32 = 15;

/// The hash scheme of one import (`--hash-scheme`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum HashScheme {
    Md5,
    Sha1,
    Sha256,
    Pbkdf2,
    Bcrypt,
}

impl HashScheme {
    pub fn as_str(self) -> &'static str {
        match self {
            HashScheme::Md5 => "md5",
            HashScheme::Sha1 => "sha1",
            HashScheme::Sha256 => "sha256",
            HashScheme::Pbkdf2 => "pbkdf2",
            HashScheme::Bcrypt => "bcrypt",
        }
    }

    fn digest(self) -> Option<(MessageDigest, usize)> {
        match self {
            HashScheme::Md5 => Some((MessageDigest::md5(), 16)),
            HashScheme::Sha1 => Some((MessageDigest::sha1(), 20)),
            HashScheme::Sha256 => Some((MessageDigest::sha256(), 32)),
            HashScheme::Pbkdf2 | HashScheme::Bcrypt => None,
        }
    }
}

/// Where the salt goes for the salted digests (`--salt-position`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum SaltPosition {
    /// digest(password ‖ salt)
    #[default]
    Suffix,
    /// digest(salt ‖ password)
    Prefix,
}

impl SaltPosition {
    fn as_str(self) -> &'static str {
        match self {
            SaltPosition::Suffix => "suffix",
            SaltPosition::Prefix => "prefix",
        }
    }
}

/// Why an imported hash was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the password hash does not have the form of the scheme")]
pub struct BadHash;

/// Checks an imported hash (and salt) against the scheme and gives the text to store.
pub fn encode(
    scheme: HashScheme,
    salt_position: SaltPosition,
    hash_text: &str,
    salt: &str,
) -> Result<String, BadHash> {
    let hash_text = hash_text.trim();
    match scheme {
        HashScheme::Md5 | HashScheme::Sha1 | HashScheme::Sha256 => {
            let (_, len) = scheme.digest().ok_or(BadHash)?;
            let digest = unhex(hash_text).ok_or(BadHash)?;
            if digest.len() != len {
                return Err(BadHash);
            }
            Ok(format!(
                "{PREFIX}{}:{}:{}:{}",
                scheme.as_str(),
                salt_position.as_str(),
                crypto::hex(salt.as_bytes()),
                crypto::hex(&digest)
            ))
        }
        HashScheme::Pbkdf2 => {
            Pbkdf2::parse(hash_text).ok_or(BadHash)?;
            Ok(format!("{PREFIX}pbkdf2:{hash_text}"))
        }
        HashScheme::Bcrypt => {
            bcrypt_cost(hash_text).ok_or(BadHash)?;
            Ok(format!("{PREFIX}bcrypt:{hash_text}"))
        }
    }
}

/// Whether a stored password hash is an imported one still waiting for its upgrade.
pub fn is_legacy(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// Verifies `password` against a stored legacy hash; false for anything malformed. Runs on
/// the blocking pool like argon2 (PBKDF2 and bcrypt are slow by design).
pub fn verify_blocking(password: &str, stored: &str) -> bool {
    let Some(rest) = stored.strip_prefix(PREFIX) else {
        return false;
    };
    let Some((scheme, body)) = rest.split_once(':') else {
        return false;
    };
    match scheme {
        "md5" => verify_salted(HashScheme::Md5, password, body),
        "sha1" => verify_salted(HashScheme::Sha1, password, body),
        "sha256" => verify_salted(HashScheme::Sha256, password, body),
        "pbkdf2" => Pbkdf2::parse(body).is_some_and(|p| p.verify(password)),
        "bcrypt" => bcrypt_cost(body).is_some() && bcrypt::verify(password, body).unwrap_or(false),
        _ => false,
    }
}

fn verify_salted(scheme: HashScheme, password: &str, body: &str) -> bool {
    let mut parts = body.split(':');
    let (Some(position), Some(salt), Some(expected), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Some((md, _)), Some(salt), Some(expected)) =
        (scheme.digest(), unhex(salt), unhex(expected))
    else {
        return false;
    };
    let mut input = Vec::with_capacity(password.len() + salt.len());
    match position {
        "suffix" => {
            input.extend_from_slice(password.as_bytes());
            input.extend_from_slice(&salt);
        }
        "prefix" => {
            input.extend_from_slice(&salt);
            input.extend_from_slice(password.as_bytes());
        }
        _ => return false,
    }
    match hash(md, &input) {
        Ok(actual) => crypto::constant_time_eq(&actual, &expected),
        Err(_) => false,
    }
}

/// `pbkdf2_sha256$<iterations>$<salt>$<base64 key>` (the widespread Django layout).
struct Pbkdf2<'a> {
    digest: MessageDigest,
    iterations: u32,
    salt: &'a str,
    key: Vec<u8>,
}

impl<'a> Pbkdf2<'a> {
    fn parse(text: &'a str) -> Option<Pbkdf2<'a>> {
        use base64::Engine;
        let mut parts = text.split('$');
        let digest = match parts.next()? {
            "pbkdf2_sha256" => MessageDigest::sha256(),
            "pbkdf2_sha1" => MessageDigest::sha1(),
            _ => return None,
        };
        let iterations: u32 = parts.next()?.parse().ok()?;
        let salt = parts.next()?;
        let key = base64::engine::general_purpose::STANDARD
            .decode(parts.next()?)
            .ok()?;
        let valid = parts.next().is_none()
            && (1..=MAX_PBKDF2_ITERATIONS).contains(&iterations)
            && !salt.is_empty()
            && (16..=64).contains(&key.len());
        valid.then_some(Pbkdf2 {
            digest,
            iterations,
            salt,
            key,
        })
    }

    fn verify(&self, password: &str) -> bool {
        let mut out = vec![0u8; self.key.len()];
        openssl::pkcs5::pbkdf2_hmac(
            password.as_bytes(),
            self.salt.as_bytes(),
            self.iterations as usize,
            self.digest,
            &mut out,
        )
        .is_ok()
            && crypto::constant_time_eq(&out, &self.key)
    }
}

fn bcrypt_cost(text: &str) -> Option<u32> {
    let rest = ["$2a$", "$2b$", "$2y$"]
        .iter()
        .find_map(|p| text.strip_prefix(p))?;
    let (cost, hash) = rest.split_once('$')?;
    let cost: u32 = cost.parse().ok()?;
    ((4..=MAX_BCRYPT_COST).contains(&cost) && hash.len() == 53).then_some(cost)
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Hashes in each scheme as a legacy system would have stored them; for tests and the
/// benchmark's generated rows.
pub mod make {
    use super::*;

    /// The hex digest of `password` with `salt` (salted digests only).
    pub fn salted_hex(
        scheme: HashScheme,
        position: SaltPosition,
        password: &str,
        salt: &str,
    ) -> String {
        let (md, _) = scheme.digest().expect("a salted digest scheme");
        let input = match position {
            SaltPosition::Suffix => format!("{password}{salt}"),
            SaltPosition::Prefix => format!("{salt}{password}"),
        };
        crypto::hex(&hash(md, input.as_bytes()).expect("digest"))
    }

    /// `pbkdf2_sha256$<iterations>$<salt>$<base64 key>`.
    pub fn pbkdf2_sha256(password: &str, salt: &str, iterations: u32) -> String {
        use base64::Engine;
        let mut out = [0u8; 32];
        openssl::pkcs5::pbkdf2_hmac(
            password.as_bytes(),
            salt.as_bytes(),
            iterations as usize,
            MessageDigest::sha256(),
            &mut out,
        )
        .expect("pbkdf2");
        format!(
            "pbkdf2_sha256${iterations}${salt}${}",
            base64::engine::general_purpose::STANDARD.encode(out)
        )
    }

    /// A `$2b$` bcrypt hash.
    pub fn bcrypt(password: &str, cost: u32) -> String {
        bcrypt::hash(password, cost).expect("bcrypt")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PW: &str = "Old#Torch2019";

    #[test]
    fn salted_digests_verify_in_both_positions() {
        for scheme in [HashScheme::Md5, HashScheme::Sha1, HashScheme::Sha256] {
            for position in [SaltPosition::Suffix, SaltPosition::Prefix] {
                let hex = make::salted_hex(scheme, position, PW, "s@lt:1");
                let stored = encode(scheme, position, &hex.to_uppercase(), "s@lt:1").unwrap();
                assert!(is_legacy(&stored));
                assert!(verify_blocking(PW, &stored), "{stored}");
                assert!(!verify_blocking("Old#Torch2018", &stored));
                let other = match position {
                    SaltPosition::Suffix => SaltPosition::Prefix,
                    SaltPosition::Prefix => SaltPosition::Suffix,
                };
                let wrong_order = encode(scheme, other, &hex, "s@lt:1").unwrap();
                assert!(!verify_blocking(PW, &wrong_order));
            }
        }
        // A well-known value: MD5("password" ‖ "") = 5f4dcc3b5aa765d61d8327deb882cf99.
        let stored = encode(
            HashScheme::Md5,
            SaltPosition::Suffix,
            "5f4dcc3b5aa765d61d8327deb882cf99",
            "",
        )
        .unwrap();
        assert!(verify_blocking("password", &stored));
    }

    #[test]
    fn pbkdf2_and_bcrypt_verify() {
        let p = make::pbkdf2_sha256(PW, "NaCl", 1000);
        let stored = encode(HashScheme::Pbkdf2, SaltPosition::Suffix, &p, "").unwrap();
        assert!(verify_blocking(PW, &stored));
        assert!(!verify_blocking("x", &stored));
        let b = make::bcrypt(PW, 4);
        let stored = encode(HashScheme::Bcrypt, SaltPosition::Suffix, &b, "").unwrap();
        assert!(verify_blocking(PW, &stored));
        assert!(!verify_blocking("x", &stored));
    }

    #[test]
    fn malformed_hashes_are_refused_at_import_and_never_verify() {
        let s = SaltPosition::Suffix;
        assert_eq!(encode(HashScheme::Md5, s, "abc", ""), Err(BadHash));
        assert_eq!(
            encode(HashScheme::Md5, s, &"0".repeat(40), ""),
            Err(BadHash)
        );
        assert_eq!(
            encode(HashScheme::Sha256, s, &"zz".repeat(32), ""),
            Err(BadHash)
        );
        assert_eq!(
            encode(HashScheme::Pbkdf2, s, "pbkdf2_sha256$0$a$AAAA", ""),
            Err(BadHash)
        );
        assert_eq!(
            encode(
                HashScheme::Pbkdf2,
                s,
                "pbkdf2_sha256$99999999$salt$AAAAAAAAAAAAAAAAAAAAAA==",
                ""
            ),
            Err(BadHash),
            "too many iterations"
        );
        assert_eq!(
            encode(HashScheme::Bcrypt, s, "$2b$31$abc", ""),
            Err(BadHash)
        );
        assert_eq!(encode(HashScheme::Bcrypt, s, "plain", ""), Err(BadHash));
        for stored in [
            "legacy:",
            "legacy:md5",
            "legacy:md5:middle:00:00",
            "legacy:rot13:x",
            "$argon2id$x",
        ] {
            assert!(!verify_blocking(PW, stored), "{stored}");
        }
    }
}
