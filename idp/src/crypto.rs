//! Small cryptographic helpers: random tokens, digests, constant-time comparison and the
//! envelope encryption of signing keys at rest.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
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
    let digest = Sha256::digest(data);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from_digit((b >> 4) as u32, 16).unwrap_or('0'));
        out.push(char::from_digit((b & 0xf) as u32, 16).unwrap_or('0'));
    }
    out
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
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
}
