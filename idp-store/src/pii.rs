//! Personal data at rest (SPEC §3): ID numbers, mobiles, bank accounts, emails and a person's
//! gender and 民族 are stored sealed, so that a database dump alone does not reveal them, and
//! found through a keyed lookup hash, so that uniqueness and "who has this mobile" work
//! without decrypting a table.
//!
//! Both keys are derived from the KEK ([`crypto::derive_key`]), each under its own label:
//! knowing a lookup hash helps nothing against the sealed values, and neither helps against
//! the signing keys the KEK seals directly. A plain SHA-256 would not do for lookups: an
//! 11-digit mobile or an 18-character ID number is reversed by trying them all.
//!
//! Showing these values is a separate matter: pages and logs use the masking helpers of
//! `tongyi_shared::mask`, never [`PiiVault::open`] output as it is.

use crate::crypto::{self, KeyPurpose};

/// A kind of personal data. The field is bound into every sealed value (as AES-GCM associated
/// data) and every lookup hash, so that a sealed mobile cannot be passed off as an ID number
/// and equal texts in two fields do not share a hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PiiField {
    /// Any identity document number (resident ID, passport, permit…).
    IdNumber,
    Mobile,
    Email,
    BankAccount,
    /// Uploaded images of identity documents and licences (sealed bytes only).
    Document,
    /// Lookup hashes only (e.g. an unknown login name in the audit log); login names are
    /// stored and shown in clear.
    LoginName,
    /// A person's gender as its GB/T 2261.1 code (sealed only, never looked up).
    Gender,
    /// A person's 民族 as its GB/T 3304 code: sensitive personal information (PIPL art. 28),
    /// sealed only, never looked up.
    Ethnicity,
}

impl PiiField {
    pub const ALL: [PiiField; 8] = [
        PiiField::IdNumber,
        PiiField::Mobile,
        PiiField::Email,
        PiiField::BankAccount,
        PiiField::Document,
        PiiField::LoginName,
        PiiField::Gender,
        PiiField::Ethnicity,
    ];

    /// The stable name bound into sealed values and hashes. Changing it makes every stored
    /// value of the field unreadable.
    pub fn as_str(self) -> &'static str {
        match self {
            PiiField::IdNumber => "id_number",
            PiiField::Mobile => "mobile",
            PiiField::Email => "email",
            PiiField::BankAccount => "bank_account",
            PiiField::Document => "document",
            PiiField::LoginName => "login_name",
            PiiField::Gender => "gender",
            PiiField::Ethnicity => "ethnicity",
        }
    }

    /// The canonical spelling that lookups compare: surrounding blanks dropped, ID numbers in
    /// upper case (the check character `x` is `X`), emails and login names in lower case,
    /// spaces inside bank account numbers dropped (they are printed in groups of four).
    pub fn normalize(self, text: &str) -> String {
        let text = text.trim();
        match self {
            PiiField::IdNumber => text.to_uppercase(),
            PiiField::Email | PiiField::LoginName => text.to_lowercase(),
            PiiField::BankAccount => text.chars().filter(|c| !c.is_whitespace()).collect(),
            PiiField::Mobile | PiiField::Document | PiiField::Gender | PiiField::Ethnicity => {
                text.to_owned()
            }
        }
    }
}

/// Version tag of the sealed format, so that a later key rotation can tell generations apart.
const SEALED_V1: &str = "v1.";

/// Seals and looks up personal data with keys derived from the KEK. Built once at start-up
/// and kept in `AppState`; instances sharing a KEK read each other's values.
#[derive(Clone)]
pub struct PiiVault {
    seal_key: [u8; 32],
    lookup_key: [u8; 32],
}

// Hand-written so that the keys never reach a log through `{:?}`.
impl std::fmt::Debug for PiiVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PiiVault(..)")
    }
}

impl PiiVault {
    pub fn new(kek: &[u8; 32]) -> PiiVault {
        PiiVault {
            seal_key: crypto::derive_key(kek, KeyPurpose::PiiSeal),
            lookup_key: crypto::derive_key(kek, KeyPurpose::PiiLookup),
        }
    }

    fn aad(field: PiiField) -> Vec<u8> {
        format!("tongyi/pii/{}", field.as_str()).into_bytes()
    }

    /// AES-256-GCM with a fresh random nonce: text for a `TEXT` column (`v1.` + base64url of
    /// nonce‖ciphertext‖tag). Sealing one value twice gives two different texts, so sealed
    /// columns cannot be compared or indexed: use [`PiiVault::lookup_key`] for that.
    pub fn seal(&self, field: PiiField, plaintext: &str) -> String {
        let sealed = crypto::seal(&self.seal_key, &Self::aad(field), plaintext.as_bytes());
        format!("{SEALED_V1}{}", crypto::b64url(&sealed))
    }

    /// The plaintext of a value sealed for `field`; `None` when it was sealed for another
    /// field or under another KEK, or was altered.
    pub fn open(&self, field: PiiField, sealed: &str) -> Option<String> {
        let raw = crypto::b64url_decode(sealed.strip_prefix(SEALED_V1)?)?;
        let plain = crypto::open(&self.seal_key, &Self::aad(field), &raw)?;
        String::from_utf8(plain).ok()
    }

    /// Hex HMAC-SHA256 of the field's [normalized](PiiField::normalize) text: equal for equal
    /// values of one field, whatever their spelling, and the same on every instance sharing the
    /// KEK. For unique indexes and lookups; it reveals nothing without the KEK.
    pub fn lookup_key(&self, field: PiiField, plaintext: &str) -> String {
        let message = format!("{}\0{}", field.as_str(), field.normalize(plaintext));
        crypto::hex(&crypto::hmac_sha256(&self.lookup_key, message.as_bytes()))
    }
}

impl PiiVault {
    /// A reserved mobile and email as the accounts table stores them: sealed, with lookup
    /// hashes; neither proven (callers that proved one say so on the result).
    pub fn seal_contact(
        &self,
        mobile: Option<&str>,
        email: Option<&str>,
    ) -> crate::accounts::SealedContact {
        crate::accounts::SealedContact {
            mobile_sealed: mobile.map(|m| self.seal(PiiField::Mobile, m)),
            mobile_key: mobile.map(|m| self.lookup_key(PiiField::Mobile, m)),
            email_sealed: email.map(|e| self.seal(PiiField::Email, e)),
            email_key: email.map(|e| self.lookup_key(PiiField::Email, e)),
            mobile_verified: false,
            email_verified: false,
        }
    }

    /// Seals bytes (an uploaded image) for `field`, as text for a `TEXT` column.
    pub fn seal_bytes(&self, field: PiiField, data: &[u8]) -> String {
        let sealed = crypto::seal(&self.seal_key, &Self::aad(field), data);
        format!("{SEALED_V1}{}", crypto::b64url(&sealed))
    }

    /// The bytes of a value sealed with [`PiiVault::seal_bytes`].
    pub fn open_bytes(&self, field: PiiField, sealed: &str) -> Option<Vec<u8>> {
        let raw = crypto::b64url_decode(sealed.strip_prefix(SEALED_V1)?)?;
        crypto::open(&self.seal_key, &Self::aad(field), &raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "11010519491231002X";
    const MOBILE: &str = "13812345656";

    fn vault() -> PiiVault {
        PiiVault::new(&[7u8; 32])
    }

    #[test]
    fn seal_round_trips_as_column_text() {
        let v = vault();
        for field in PiiField::ALL {
            for text in [ID, MOBILE, "张三@example.cn", ""] {
                let sealed = v.seal(field, text);
                assert!(sealed.starts_with("v1."));
                assert!(sealed.is_ascii() && !sealed.contains(ID) && !sealed.contains(MOBILE));
                assert_eq!(v.open(field, &sealed).as_deref(), Some(text));
            }
        }
        assert_ne!(
            v.seal(PiiField::Mobile, MOBILE),
            v.seal(PiiField::Mobile, MOBILE),
            "a fresh nonce every time"
        );
    }

    #[test]
    fn a_value_sealed_for_one_field_is_refused_as_another() {
        let v = vault();
        let sealed = v.seal(PiiField::Mobile, MOBILE);
        for field in PiiField::ALL {
            if field != PiiField::Mobile {
                assert_eq!(v.open(field, &sealed), None, "{field:?}");
            }
        }
    }

    #[test]
    fn tampering_and_other_keks_are_refused() {
        let v = vault();
        let sealed = v.seal(PiiField::IdNumber, ID);
        let body = sealed.strip_prefix("v1.").unwrap();
        let mut raw = crypto::b64url_decode(body).unwrap();
        for i in [0, 12, raw.len() - 1] {
            raw[i] ^= 1;
            let bad = format!("v1.{}", crypto::b64url(&raw));
            assert_eq!(v.open(PiiField::IdNumber, &bad), None, "byte {i}");
            raw[i] ^= 1;
        }
        assert_eq!(v.open(PiiField::IdNumber, body), None, "no version tag");
        assert_eq!(v.open(PiiField::IdNumber, &format!("v2.{body}")), None);
        assert_eq!(v.open(PiiField::IdNumber, "v1.!!"), None);
        assert_eq!(v.open(PiiField::IdNumber, "v1.AAAA"), None, "too short");
        let other = PiiVault::new(&[8u8; 32]);
        assert_eq!(other.open(PiiField::IdNumber, &sealed), None);
    }

    #[test]
    fn lookup_keys_are_stable_normalized_and_separated() {
        let v = vault();
        let k = v.lookup_key(PiiField::Mobile, MOBILE);
        assert_eq!(k.len(), 64);
        assert!(k.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!k.contains("5656"));
        assert_eq!(k, vault().lookup_key(PiiField::Mobile, MOBILE), "stable");
        assert_eq!(k, v.lookup_key(PiiField::Mobile, &format!(" {MOBILE} ")));
        assert_ne!(k, v.lookup_key(PiiField::Mobile, "13812345657"));
        assert_eq!(
            v.lookup_key(PiiField::IdNumber, ID),
            v.lookup_key(PiiField::IdNumber, &ID.to_lowercase())
        );
        assert_eq!(
            v.lookup_key(PiiField::Email, "Zhang.San@Example.CN"),
            v.lookup_key(PiiField::Email, "zhang.san@example.cn")
        );
        assert_eq!(
            v.lookup_key(PiiField::BankAccount, "6222 0202 0000 1234"),
            v.lookup_key(PiiField::BankAccount, "6222020200001234")
        );
        // The same text in two fields hashes apart.
        let mut all: Vec<String> = PiiField::ALL
            .iter()
            .map(|f| v.lookup_key(*f, MOBILE))
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), PiiField::ALL.len());
    }

    #[test]
    fn another_kek_gives_other_keys() {
        let (a, b) = (vault(), PiiVault::new(&[8u8; 32]));
        assert_ne!(
            a.lookup_key(PiiField::Mobile, MOBILE),
            b.lookup_key(PiiField::Mobile, MOBILE)
        );
        // Neither derived key is the KEK, nor each other.
        assert_ne!(a.seal_key, [7u8; 32]);
        assert_ne!(a.lookup_key, [7u8; 32]);
        assert_ne!(a.seal_key, a.lookup_key);
        assert_ne!(a.seal_key, b.seal_key);
        assert_eq!(format!("{a:?}"), "PiiVault(..)");
    }
}
