//! Small cryptographic helpers: random tokens, digests, constant-time comparison, the
//! envelope encryption of signing keys at rest, and the keys derived from the KEK.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use openssl::{
    hash::MessageDigest,
    pkey::PKey,
    sign::Signer,
    symm::{decrypt_aead, encrypt_aead, Cipher},
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A URL-safe random token carrying `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    openssl::rand::rand_bytes(&mut buf).expect("the OS random source failed");
    URL_SAFE_NO_PAD.encode(buf)
}

/// Hex SHA-256 of a secret; codes, refresh tokens, session ids and client secrets are stored
/// only as this digest so that a database or Redis dump cannot be replayed.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Lower-case hex of arbitrary bytes.
pub fn hex(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() * 2);
    for b in data {
        out.push(char::from_digit((b >> 4) as u32, 16).unwrap_or('0'));
        out.push(char::from_digit((b & 0xf) as u32, 16).unwrap_or('0'));
    }
    out
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let run = || -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let pkey = PKey::hmac(key)?;
        let mut signer = Signer::new(MessageDigest::sha256(), &pkey)?;
        signer.update(data)?;
        signer.sign_to_vec()
    };
    run()
        .ok()
        .and_then(|mac| <[u8; 32]>::try_from(mac).ok())
        .expect("HMAC-SHA256 with an in-memory key cannot fail")
}

/// What a key derived from the KEK is for. Each use gets a key of its own, so that a value
/// computed for one use (an SMS store key, a lookup hash) says nothing about another, and the
/// KEK itself only ever keys these derivations and the sealing of signing keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPurpose {
    /// Keyed digests of mobiles and codes in the short-lived store (`accounts::sms_code`).
    SmsCode,
    /// AES-256-GCM data key for personal data at rest (`pii::PiiVault::seal`).
    PiiSeal,
    /// HMAC key for lookup and uniqueness hashes of personal data (`pii::PiiVault::lookup_key`).
    PiiLookup,
    /// HMAC key of the DPoP server nonces (RFC 9449 §8), so that every instance derives the
    /// same nonce for a time slot without sharing state.
    DpopNonce,
}

impl KeyPurpose {
    pub const ALL: [KeyPurpose; 4] = [
        KeyPurpose::SmsCode,
        KeyPurpose::PiiSeal,
        KeyPurpose::PiiLookup,
        KeyPurpose::DpopNonce,
    ];

    /// The derivation label. Changing one changes the key: data sealed or hashed under the
    /// old key can no longer be opened or found.
    fn label(self) -> &'static [u8] {
        match self {
            KeyPurpose::SmsCode => b"tongyi/sms-code/v1",
            KeyPurpose::PiiSeal => b"tongyi/pii-seal/v1",
            KeyPurpose::PiiLookup => b"tongyi/pii-lookup/v1",
            KeyPurpose::DpopNonce => b"tongyi/dpop-nonce/v1",
        }
    }
}

/// The key for `purpose`: HMAC-SHA256 of the purpose's label under the KEK (a PRF keyed by
/// the KEK, domain-separated by the label, as in HKDF-Expand with a single block).
pub fn derive_key(kek: &[u8; 32], purpose: KeyPurpose) -> [u8; 32] {
    hmac_sha256(kek, purpose.label())
}

pub fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

pub fn b64url_decode(data: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(data).ok()
}

/// AES-256-GCM under the key-encryption key, with `aad` binding the ciphertext to its row
/// (the key id) so that ciphertexts cannot be swapped between rows. Output: nonce‖ct‖tag.
pub fn seal(kek: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    openssl::rand::rand_bytes(&mut nonce).expect("the OS random source failed");
    let mut tag = [0u8; 16];
    let ct = encrypt_aead(
        Cipher::aes_256_gcm(),
        kek,
        Some(&nonce),
        aad,
        plaintext,
        &mut tag,
    )
    .expect("AES-256-GCM with a 32-byte key cannot fail");
    let mut out = Vec::with_capacity(12 + ct.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    out.extend_from_slice(&tag);
    out
}

/// Reverses [`seal`]; `None` when the key is wrong or the data was altered.
pub fn open(kek: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < 28 {
        return None;
    }
    let (nonce, rest) = sealed.split_at(12);
    let (ct, tag) = rest.split_at(rest.len() - 16);
    decrypt_aead(Cipher::aes_256_gcm(), kek, Some(nonce), aad, ct, tag).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_detects_tampering() {
        let kek = [7u8; 32];
        let sealed = seal(&kek, b"kid-1", b"private key");
        assert_eq!(open(&kek, b"kid-1", &sealed).unwrap(), b"private key");
        assert!(open(&kek, b"kid-2", &sealed).is_none(), "aad binds the row");
        assert!(open(&[8u8; 32], b"kid-1", &sealed).is_none(), "wrong key");
        let mut bad = sealed.clone();
        bad[15] ^= 1;
        assert!(open(&kek, b"kid-1", &bad).is_none(), "tampered ciphertext");
    }

    #[test]
    fn digests_and_comparison() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(constant_time_eq(b"same", b"same"));
        assert!(!constant_time_eq(b"same", b"diff"));
        assert!(!constant_time_eq(b"short", b"longer"));
        assert_ne!(random_token(32), random_token(32));
        assert_eq!(random_token(32).len(), 43);
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // RFC 4231 test case 2.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn derived_keys_are_separated_by_purpose_and_kek() {
        let kek = [7u8; 32];
        let keys: Vec<[u8; 32]> = KeyPurpose::ALL
            .iter()
            .map(|p| derive_key(&kek, *p))
            .collect();
        for (i, a) in keys.iter().enumerate() {
            assert_ne!(a, &kek);
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(derive_key(&kek, KeyPurpose::PiiSeal), keys[1]);
        assert_ne!(derive_key(&[8u8; 32], KeyPurpose::PiiSeal), keys[1]);
    }
}
