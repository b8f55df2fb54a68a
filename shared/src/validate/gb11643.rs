//! 公民身份号码 (GB 11643-1999): the 18-character number on the resident ID card and in the
//! household register.

use std::fmt;

use super::{normalize_code, string_newtype, Date, FieldError};

/// Weights of the first 17 characters in the GB 11643 (ISO 7064 MOD 11-2) check.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each value of `sum mod 11`.
const CHECK_CHARS: [u8; 11] = *b"10X98765432";

/// The GB 11643 check character (`b'0'..=b'9'` or `b'X'`) for 17 ASCII digits, or `None` if
/// the input is not exactly 17 ASCII digits. Also used by the 2023 foreign permanent resident
/// ID card, which follows the same rule.
pub(crate) fn check_char(first17: &[u8]) -> Option<u8> {
    if first17.len() != 17 || !first17.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(CHECK_CHARS[(sum % 11) as usize])
}

/// Province-level codes (the first two digits of the address code), including 71 Taiwan,
/// 81 Hong Kong, 82 Macao and 83 (830000, the residence permit for Taiwan, Hong Kong and
/// Macao residents).
fn is_province_code(code: u8) -> bool {
    matches!(code, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83)
}

const EARLIEST_BIRTH: Date = match Date::new(1900, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};

pub(crate) const ERR_REQUIRED: FieldError = FieldError::new("id_number.required", "请输入证件号码");
const ERR_LENGTH: FieldError = FieldError::new("id_number.length", "身份证号码应为18位");
const ERR_FORMAT: FieldError = FieldError::new(
    "id_number.format",
    "身份证号码格式不正确：前17位应为数字，最后一位为数字或X",
);
const ERR_REGION: FieldError = FieldError::new("id_number.region", "身份证号码的地区码不正确");
pub(crate) const ERR_BIRTH_DATE: FieldError =
    FieldError::new("id_number.birth_date", "证件号码中的出生日期不正确");
const ERR_CHECK_DIGIT: FieldError =
    FieldError::new("id_number.check_digit", "身份证号码校验位不正确");

/// Gender encoded in an ID number (the 17th character: odd for men, even for women).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    /// Both, in the order forms offer them (男, 女).
    pub const ALL: [Gender; 2] = [Gender::Male, Gender::Female];

    /// `"男"` or `"女"`.
    pub fn label(self) -> &'static str {
        match self {
            Gender::Male => "男",
            Gender::Female => "女",
        }
    }

    /// The GB/T 2261.1 code, for storage and form values: `"1"` (男) or `"2"` (女). The
    /// standard's 0 (未知的性别) and 9 (未说明的性别) are not offered: a person states one of
    /// the two that their document shows. One character either way, so that a sealed value's
    /// length does not tell which it is.
    pub fn code(self) -> &'static str {
        match self {
            Gender::Male => "1",
            Gender::Female => "2",
        }
    }

    /// The gender of a [`Gender::code`]; `None` for anything else (including 0 and 9).
    pub fn from_code(code: &str) -> Option<Gender> {
        Gender::ALL.into_iter().find(|g| g.code() == code.trim())
    }
}

/// A 公民身份号码 (resident ID number, GB 11643-1999), also the number in a 户口簿.
///
/// Valid means: 17 digits and a check character (`X` upper-case), a province-level region
/// code, a birth date (characters 7–14) that exists and is not before 1900, and a correct
/// check character. [`ResidentId::parse_as_of`] also rejects a birth date after `today`.
///
/// `Debug` shows the number masked; `Display` and `as_str` give it in full.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResidentId(String);

impl ResidentId {
    /// The ID number whose first 17 digits are `first17`, with its check character appended
    /// (generated fixtures); an error when the result is not a valid number.
    pub fn completing(first17: &str) -> Result<ResidentId, FieldError> {
        let check = check_char(first17.as_bytes()).ok_or(ERR_FORMAT)?;
        ResidentId::parse(&format!("{first17}{}", char::from(check)))
    }

    /// Parse a resident ID number, trimming whitespace, accepting full-width digits and a
    /// lower-case `x`. Does not check the birth date against today: use
    /// [`ResidentId::parse_as_of`] on registration.
    pub fn parse(input: &str) -> Result<ResidentId, FieldError> {
        let s = normalize_code(input).to_ascii_uppercase();
        if s.is_empty() {
            return Err(ERR_REQUIRED);
        }
        if s.chars().count() != 18 {
            return Err(ERR_LENGTH);
        }
        let b = s.as_bytes();
        // 18 chars; if all are ASCII then b.len() == 18.
        if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
            return Err(ERR_FORMAT);
        }
        if !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(ERR_FORMAT);
        }
        if !is_province_code((b[0] - b'0') * 10 + (b[1] - b'0')) {
            return Err(ERR_REGION);
        }
        match Date::from_yyyymmdd(&b[6..14]) {
            Some(d) if d >= EARLIEST_BIRTH => {}
            _ => return Err(ERR_BIRTH_DATE),
        }
        if check_char(&b[..17]) != Some(b[17]) {
            return Err(ERR_CHECK_DIGIT);
        }
        Ok(ResidentId(s))
    }

    /// [`ResidentId::parse`], and the birth date must not be after `today`.
    pub fn parse_as_of(input: &str, today: Date) -> Result<ResidentId, FieldError> {
        let id = ResidentId::parse(input)?;
        if id.birth_date() > today {
            return Err(ERR_BIRTH_DATE);
        }
        Ok(id)
    }

    /// The normalised number: 18 characters, check character `0-9` or `X`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The six-digit address code of the place of first registration.
    pub fn region_code(&self) -> &str {
        &self.0[..6]
    }

    /// The birth date (characters 7–14).
    pub fn birth_date(&self) -> Date {
        // Checked in `parse`; the fallback is unreachable.
        Date::from_yyyymmdd(&self.0.as_bytes()[6..14]).unwrap_or(EARLIEST_BIRTH)
    }

    /// Gender from the 17th character: odd = male, even = female.
    pub fn gender(&self) -> Gender {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    /// The number masked for display (see [`crate::mask::mask_id_number`]).
    pub fn masked(&self) -> String {
        crate::mask::mask_id_number(&self.0)
    }
}

string_newtype!(ResidentId);

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Build a valid number from its first 17 digits.
    pub(crate) fn with_check(first17: &str) -> String {
        let c = check_char(first17.as_bytes()).expect("17 digits");
        format!("{first17}{}", c as char)
    }

    #[test]
    fn completing_appends_the_check_character() {
        assert_eq!(
            ResidentId::completing("11010519491231002")
                .unwrap()
                .as_str(),
            "11010519491231002X"
        );
        assert!(
            ResidentId::completing("1101051949123100").is_err(),
            "16 digits"
        );
        assert!(
            ResidentId::completing("99010519491231002").is_err(),
            "region 99"
        );
    }

    #[test]
    fn public_samples_are_valid() {
        // The GB 11643 example and the well-known sample numbers.
        for s in ["11010519491231002X", "110101199003077870"] {
            let id = ResidentId::parse(s).unwrap_or_else(|e| panic!("{s}: {e:?}"));
            assert_eq!(id.as_str(), s);
        }
    }

    #[test]
    fn accessors() {
        let id = ResidentId::parse(" 11010519491231002x ").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), Date::new(1949, 12, 31).unwrap());
        assert_eq!(id.gender(), Gender::Female);
        assert_eq!(id.region_code(), "110105");
        let id = ResidentId::parse("440524188001010014").unwrap_err();
        // Born 1880: before 1900.
        assert_eq!(id.code(), "id_number.birth_date");
        let m = ResidentId::parse(&with_check("12010119900307271")).unwrap();
        assert_eq!(m.gender(), Gender::Male);
        assert_eq!(m.birth_date().to_string(), "1990-03-07");
    }

    #[test]
    fn gender_codes_are_gb_t_2261_1() {
        assert_eq!(Gender::from_code("1"), Some(Gender::Male));
        assert_eq!(Gender::from_code(" 2 "), Some(Gender::Female));
        for g in Gender::ALL {
            assert_eq!(Gender::from_code(g.code()), Some(g));
        }
        for bad in ["", "0", "9", "3", "男", "male"] {
            assert_eq!(Gender::from_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn full_width_input_is_normalised() {
        let id = ResidentId::parse("１１０１０５１９４９１２３１００２ｘ").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn debug_is_masked() {
        let id = ResidentId::parse("11010519491231002X").unwrap();
        let dbg = format!("{id:?}");
        assert!(!dbg.contains("19491231"), "{dbg}");
        assert!(dbg.contains("002X"), "{dbg}");
    }

    #[test]
    fn rejections_have_specific_codes() {
        let cases = [
            ("", "id_number.required"),
            ("   ", "id_number.required"),
            ("11010519491231002", "id_number.length"),
            ("11010519491231002X1", "id_number.length"),
            ("1101051949123100AX", "id_number.format"),
            ("11010519491231002Y", "id_number.format"),
            ("11010519491231002身", "id_number.format"),
            ("X10105194912310021", "id_number.format"),
            ("10010519491231002X", "id_number.region"),
            ("90010519491231002X", "id_number.region"),
            ("11010519491331002X", "id_number.birth_date"),
            ("11010519490229002X", "id_number.birth_date"),
            ("11010518991231002X", "id_number.birth_date"),
            ("110105194912310021", "id_number.check_digit"),
            ("11010519491231003X", "id_number.check_digit"),
        ];
        for (input, code) in cases {
            assert_eq!(
                ResidentId::parse(input).unwrap_err().code(),
                code,
                "{input}"
            );
        }
        assert_eq!(
            ResidentId::parse("110105194912310021")
                .unwrap_err()
                .message(),
            "身份证号码校验位不正确"
        );
    }

    #[test]
    fn residence_permit_and_special_regions() {
        for prefix in [
            "81000019800101123",
            "82000019800101123",
            "83000019800101123",
        ] {
            assert!(ResidentId::parse(&with_check(prefix)).is_ok(), "{prefix}");
        }
    }

    #[test]
    fn birth_in_future_is_rejected_as_of_today() {
        let id = with_check("11010520300101123");
        assert!(ResidentId::parse(&id).is_ok());
        let today = Date::new(2025, 6, 1).unwrap();
        assert_eq!(
            ResidentId::parse_as_of(&id, today).unwrap_err().code(),
            "id_number.birth_date"
        );
        let born_today = with_check("11010520250601123");
        assert!(ResidentId::parse_as_of(&born_today, today).is_ok());
    }

    #[test]
    fn serde_round_trip_revalidates() {
        let id: ResidentId = serde_json::from_str("\"11010519491231002x\"").unwrap();
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"11010519491231002X\""
        );
        assert!(serde_json::from_str::<ResidentId>("\"110105194912310021\"").is_err());
    }
}
