//! Identity documents of natural persons (SPEC §3, 证件类型 and 证件号码).

use std::fmt;

use super::gb11643::{self, ERR_BIRTH_DATE, ERR_REQUIRED};
use super::{normalize_code, Date, FieldError, ResidentId};

/// The document types a natural person (or a legal representative / agent) may register with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdDocumentType {
    /// 居民身份证.
    ResidentIdCard,
    /// 普通护照 (with a country or region).
    Passport,
    /// 港澳居民来往内地通行证.
    HkMacaoPermit,
    /// 台湾居民来往大陆通行证.
    TaiwanPermit,
    /// 外国人永久居留身份证 (with a country or region).
    ForeignPermanentResidentCard,
    /// 户口簿: carries the same 公民身份号码 as the resident ID card.
    HouseholdRegister,
    /// 军官证.
    MilitaryOfficerCard,
    /// 出生医学证明.
    BirthCertificate,
    /// 武警警官证 (中国人民武装警察部队警官证).
    ArmedPoliceOfficerCard,
    /// 其他.
    Other,
}

impl IdDocumentType {
    /// Every type, in the order of the registration form's select box.
    pub const ALL: [IdDocumentType; 10] = [
        IdDocumentType::ResidentIdCard,
        IdDocumentType::Passport,
        IdDocumentType::HkMacaoPermit,
        IdDocumentType::TaiwanPermit,
        IdDocumentType::ForeignPermanentResidentCard,
        IdDocumentType::HouseholdRegister,
        IdDocumentType::MilitaryOfficerCard,
        IdDocumentType::BirthCertificate,
        IdDocumentType::ArmedPoliceOfficerCard,
        IdDocumentType::Other,
    ];

    /// Stable code for storage and form values (the serde name), e.g. `"resident_id_card"`.
    pub fn code(self) -> &'static str {
        match self {
            IdDocumentType::ResidentIdCard => "resident_id_card",
            IdDocumentType::Passport => "passport",
            IdDocumentType::HkMacaoPermit => "hk_macao_permit",
            IdDocumentType::TaiwanPermit => "taiwan_permit",
            IdDocumentType::ForeignPermanentResidentCard => "foreign_permanent_resident_card",
            IdDocumentType::HouseholdRegister => "household_register",
            IdDocumentType::MilitaryOfficerCard => "military_officer_card",
            IdDocumentType::BirthCertificate => "birth_certificate",
            IdDocumentType::ArmedPoliceOfficerCard => "armed_police_officer_card",
            IdDocumentType::Other => "other",
        }
    }

    /// The type for a [`IdDocumentType::code`].
    pub fn from_code(code: &str) -> Option<IdDocumentType> {
        IdDocumentType::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The Chinese name shown in forms, e.g. `"居民身份证"`.
    pub fn label(self) -> &'static str {
        match self {
            IdDocumentType::ResidentIdCard => "居民身份证",
            IdDocumentType::Passport => "普通护照",
            IdDocumentType::HkMacaoPermit => "港澳居民来往内地通行证",
            IdDocumentType::TaiwanPermit => "台湾居民来往大陆通行证",
            IdDocumentType::ForeignPermanentResidentCard => "外国人永久居留身份证",
            IdDocumentType::HouseholdRegister => "户口簿",
            IdDocumentType::MilitaryOfficerCard => "军官证",
            IdDocumentType::BirthCertificate => "出生医学证明",
            IdDocumentType::ArmedPoliceOfficerCard => "武警警官证",
            IdDocumentType::Other => "其他",
        }
    }

    /// Whether the form also asks for the issuing country or region (SPEC §3).
    pub fn requires_country(self) -> bool {
        matches!(
            self,
            IdDocumentType::Passport | IdDocumentType::ForeignPermanentResidentCard
        )
    }

    /// Whether the number is a 公民身份号码 (GB 11643), usable as a [`ResidentId`].
    pub fn is_resident_id_number(self) -> bool {
        matches!(
            self,
            IdDocumentType::ResidentIdCard | IdDocumentType::HouseholdRegister
        )
    }
}

impl fmt::Display for IdDocumentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

const ERR_PASSPORT: FieldError =
    FieldError::new("id_number.format", "护照号码应为5-20位字母或数字");
const ERR_CN_PASSPORT: FieldError = FieldError::new(
    "id_number.format",
    "中国护照号码格式不正确，应为E或G加8位数字，或E加1位字母和7位数字",
);
const ERR_HK_MACAO: FieldError = FieldError::new(
    "id_number.format",
    "港澳居民来往内地通行证号码格式不正确，应为H或M加8位（或10位）数字",
);
const ERR_TAIWAN: FieldError = FieldError::new(
    "id_number.format",
    "台湾居民来往大陆通行证号码应为8位（或10位）数字",
);
const ERR_FOREIGN_PR: FieldError = FieldError::new(
    "id_number.format",
    "外国人永久居留身份证号码格式不正确，应为18位（以9开头）或15位（3位字母加12位数字）",
);
const ERR_FOREIGN_PR_CHECK: FieldError = FieldError::new(
    "id_number.check_digit",
    "外国人永久居留身份证号码校验位不正确",
);
const ERR_GENERIC: FieldError = FieldError::new(
    "id_number.format",
    "证件号码应为4-30位，只能包含文字、字母、数字和“-”“(”“)”",
);

/// A document type and a number valid for that type, normalised (trimmed, upper-case).
///
/// The checks per type:
///
/// | type | number |
/// |---|---|
/// | 居民身份证, 户口簿 | a [`ResidentId`] |
/// | 普通护照 | 5–20 letters or digits (any country); [`IdDocument::parse_chinese_passport`] for a Chinese one |
/// | 港澳居民来往内地通行证 | `H` or `M` + 8 digits (current card) or + 10 digits (older booklet: 8 digits + 2-digit issue count) |
/// | 台湾居民来往大陆通行证 | 8 digits (current card) or 10 digits (older booklet) |
/// | 外国人永久居留身份证 | 2023 card: 18 characters, `9` + 16 digits + a GB 11643 check character, digits 7–14 a birth date; 2004 card: 3 letters (nationality) + 12 digits |
/// | 军官证, 出生医学证明, 武警警官证, 其他 | 4–30 letters (Chinese included), digits, `-`, `(`, `)` |
///
/// `Debug` shows the number masked.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "RawIdDocument")]
pub struct IdDocument {
    kind: IdDocumentType,
    number: String,
}

#[derive(serde::Deserialize)]
struct RawIdDocument {
    kind: IdDocumentType,
    number: String,
}

impl TryFrom<RawIdDocument> for IdDocument {
    type Error = FieldError;
    fn try_from(raw: RawIdDocument) -> Result<Self, FieldError> {
        IdDocument::parse(raw.kind, &raw.number)
    }
}

impl IdDocument {
    /// Check `number` against the rules for `kind` (see the table above).
    pub fn parse(kind: IdDocumentType, number: &str) -> Result<IdDocument, FieldError> {
        let s = normalize_code(number).to_ascii_uppercase();
        if s.is_empty() {
            return Err(ERR_REQUIRED);
        }
        let b = s.as_bytes();
        let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
        match kind {
            IdDocumentType::ResidentIdCard | IdDocumentType::HouseholdRegister => {
                let id = ResidentId::parse(&s)?;
                return Ok(IdDocument {
                    kind,
                    number: id.into(),
                });
            }
            IdDocumentType::Passport => {
                if !((5..=20).contains(&b.len()) && b.iter().all(u8::is_ascii_alphanumeric)) {
                    return Err(ERR_PASSPORT);
                }
            }
            IdDocumentType::HkMacaoPermit => {
                let ok = matches!(b.first(), Some(b'H' | b'M'))
                    && (b.len() == 9 || b.len() == 11)
                    && digits(&b[1..]);
                if !ok {
                    return Err(ERR_HK_MACAO);
                }
            }
            IdDocumentType::TaiwanPermit => {
                if !((b.len() == 8 || b.len() == 10) && digits(b)) {
                    return Err(ERR_TAIWAN);
                }
            }
            IdDocumentType::ForeignPermanentResidentCard => check_foreign_permanent(b)?,
            IdDocumentType::MilitaryOfficerCard
            | IdDocumentType::BirthCertificate
            | IdDocumentType::ArmedPoliceOfficerCard
            | IdDocumentType::Other => {
                let ok = (4..=30).contains(&s.chars().count())
                    && s.chars()
                        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '(' | ')'));
                if !ok {
                    return Err(ERR_GENERIC);
                }
            }
        }
        Ok(IdDocument { kind, number: s })
    }

    /// A 普通护照 issued by the People's Republic of China: `E` or `G` + 8 digits, or `E` + a
    /// letter + 7 digits (issued since the `E` + 8-digit series ran out).
    pub fn parse_chinese_passport(number: &str) -> Result<IdDocument, FieldError> {
        let doc = IdDocument::parse(IdDocumentType::Passport, number)?;
        let b = doc.number.as_bytes();
        let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
        let ok = b.len() == 9
            && match b[0] {
                b'G' => digits(&b[1..]),
                b'E' => (b[1].is_ascii_digit() || b[1].is_ascii_uppercase()) && digits(&b[2..]),
                _ => false,
            };
        if ok {
            Ok(doc)
        } else {
            Err(ERR_CN_PASSPORT)
        }
    }

    pub fn kind(&self) -> IdDocumentType {
        self.kind
    }

    /// The normalised number.
    pub fn number(&self) -> &str {
        &self.number
    }

    /// The number as a [`ResidentId`] for 居民身份证 and 户口簿, `None` for other types.
    pub fn resident_id(&self) -> Option<ResidentId> {
        if self.kind.is_resident_id_number() {
            ResidentId::parse(&self.number).ok()
        } else {
            None
        }
    }

    /// The number masked for display (see [`crate::mask::mask_id_number`]).
    pub fn masked_number(&self) -> String {
        crate::mask::mask_id_number(&self.number)
    }
}

fn check_foreign_permanent(b: &[u8]) -> Result<(), FieldError> {
    match b.len() {
        15 if b[..3].iter().all(u8::is_ascii_uppercase)
            && b[3..].iter().all(u8::is_ascii_digit) =>
        {
            Ok(())
        }
        18 if b[0] == b'9'
            && b[..17].iter().all(u8::is_ascii_digit)
            && (b[17].is_ascii_digit() || b[17] == b'X') =>
        {
            match Date::from_yyyymmdd(&b[6..14]) {
                Some(d) if d.year() >= 1900 => {}
                _ => return Err(ERR_BIRTH_DATE),
            }
            if gb11643::check_char(&b[..17]) != Some(b[17]) {
                return Err(ERR_FOREIGN_PR_CHECK);
            }
            Ok(())
        }
        _ => Err(ERR_FOREIGN_PR),
    }
}

impl fmt::Debug for IdDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdDocument")
            .field("kind", &self.kind)
            .field("number", &self.masked_number())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::gb11643::tests::with_check;
    use IdDocumentType as T;

    fn code(kind: IdDocumentType, number: &str) -> &'static str {
        IdDocument::parse(kind, number).unwrap_err().code()
    }

    #[test]
    fn type_codes_round_trip() {
        for t in IdDocumentType::ALL {
            assert_eq!(IdDocumentType::from_code(t.code()), Some(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.code()));
            assert!(!t.label().is_empty());
        }
        assert_eq!(IdDocumentType::from_code("nope"), None);
        assert_eq!(T::ArmedPoliceOfficerCard.to_string(), "武警警官证");
        assert!(T::Passport.requires_country());
        assert!(!T::ResidentIdCard.requires_country());
    }

    #[test]
    fn resident_id_and_household_register() {
        for kind in [T::ResidentIdCard, T::HouseholdRegister] {
            let doc = IdDocument::parse(kind, "11010519491231002x").unwrap();
            assert_eq!(doc.number(), "11010519491231002X");
            assert_eq!(doc.resident_id().unwrap().as_str(), "11010519491231002X");
            assert_eq!(code(kind, "110105194912310021"), "id_number.check_digit");
        }
        assert_eq!(code(T::ResidentIdCard, " "), "id_number.required");
        let passport = IdDocument::parse(T::Passport, "E12345678").unwrap();
        assert!(passport.resident_id().is_none());
    }

    #[test]
    fn passports() {
        for ok in [
            "E12345678",
            "g12345678",
            "EA1234567",
            "X1234",
            "123456789",
            "AB1234567890",
        ] {
            assert!(IdDocument::parse(T::Passport, ok).is_ok(), "{ok}");
        }
        assert_eq!(
            IdDocument::parse(T::Passport, "e12345678")
                .unwrap()
                .number(),
            "E12345678"
        );
        for bad in ["E123", "E1234567-8", "E1234 5678", "A123456789012345678901"] {
            assert_eq!(code(T::Passport, bad), "id_number.format", "{bad}");
        }
        for ok in ["E12345678", "G12345678", "EA1234567", "ej1234567"] {
            assert!(IdDocument::parse_chinese_passport(ok).is_ok(), "{ok}");
        }
        for bad in [
            "E1234567",
            "E123456789",
            "P12345678",
            "GA1234567",
            "EAB123456",
            "12345678A",
        ] {
            let err = IdDocument::parse_chinese_passport(bad).unwrap_err();
            assert_eq!(err.code(), "id_number.format", "{bad}");
        }
    }

    #[test]
    fn hk_macao_and_taiwan_permits() {
        for ok in ["H12345678", "m12345678", "H1234567801", "M1234567802"] {
            assert!(IdDocument::parse(T::HkMacaoPermit, ok).is_ok(), "{ok}");
        }
        for bad in [
            "H1234567",
            "H123456789",
            "K12345678",
            "12345678",
            "HA2345678",
        ] {
            assert_eq!(code(T::HkMacaoPermit, bad), "id_number.format", "{bad}");
        }
        for ok in ["12345678", "1234567801"] {
            assert!(IdDocument::parse(T::TaiwanPermit, ok).is_ok(), "{ok}");
        }
        for bad in ["1234567", "123456789", "T1234567", "12345678(B)"] {
            assert_eq!(code(T::TaiwanPermit, bad), "id_number.format", "{bad}");
        }
    }

    #[test]
    fn foreign_permanent_resident_cards() {
        let new = with_check("93160019800101123");
        let doc = IdDocument::parse(T::ForeignPermanentResidentCard, &new).unwrap();
        assert_eq!(doc.number(), new);
        assert!(IdDocument::parse(T::ForeignPermanentResidentCard, "usa110080010112").is_ok());
        let bad_check = format!(
            "{}{}",
            &new[..17],
            if new.ends_with('0') { '1' } else { '0' }
        );
        assert_eq!(
            code(T::ForeignPermanentResidentCard, &bad_check),
            "id_number.check_digit"
        );
        let bad_date = with_check("93160019801301123");
        assert_eq!(
            code(T::ForeignPermanentResidentCard, &bad_date),
            "id_number.birth_date"
        );
        // Not starting with 9: an ordinary resident ID number is not a permanent resident card.
        assert_eq!(
            code(T::ForeignPermanentResidentCard, "11010519491231002X"),
            "id_number.format"
        );
        for bad in ["US1100800101123", "USA11008001011", "USA1100800101A2"] {
            assert_eq!(
                code(T::ForeignPermanentResidentCard, bad),
                "id_number.format",
                "{bad}"
            );
        }
    }

    #[test]
    fn generic_documents() {
        for kind in [
            T::MilitaryOfficerCard,
            T::BirthCertificate,
            T::ArmedPoliceOfficerCard,
            T::Other,
        ] {
            for ok in ["南字第1234567号", "O110123456", "ab-12(3)", "（武）1234"] {
                assert!(IdDocument::parse(kind, ok).is_ok(), "{kind:?} {ok}");
            }
            assert_eq!(IdDocument::parse(kind, "ab-12").unwrap().number(), "AB-12");
            for bad in [
                "abc",
                "<script>",
                "12 34 56",
                "1234;DROP",
                "1234567890123456789012345678901",
            ] {
                assert_eq!(code(kind, bad), "id_number.format", "{kind:?} {bad}");
            }
        }
    }

    #[test]
    fn serde_revalidates_and_debug_masks() {
        let doc = IdDocument::parse(T::ResidentIdCard, "11010519491231002X").unwrap();
        let json = serde_json::to_string(&doc).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"resident_id_card","number":"11010519491231002X"}"#
        );
        assert_eq!(serde_json::from_str::<IdDocument>(&json).unwrap(), doc);
        let bad = r#"{"kind":"resident_id_card","number":"110105194912310021"}"#;
        assert!(serde_json::from_str::<IdDocument>(bad).is_err());
        assert!(!format!("{doc:?}").contains("19491231"));
    }
}
