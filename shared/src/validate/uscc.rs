//! 统一社会信用代码 (unified social credit code, GB 32100-2015).

use std::fmt;

use super::{normalize_code, string_newtype, FieldError};

/// The 31 characters a USCC may contain; a character's value is its index (I, O, S, V and Z
/// are not used).
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of the first 17 characters.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

const ERR_REQUIRED: FieldError = FieldError::new("uscc.required", "请输入统一社会信用代码");
const ERR_LENGTH: FieldError = FieldError::new("uscc.length", "统一社会信用代码应为18位");
const ERR_CHARSET: FieldError = FieldError::new(
    "uscc.charset",
    "统一社会信用代码只能包含数字和大写字母（不含I、O、S、V、Z）",
);
const ERR_AUTHORITY: FieldError = FieldError::new(
    "uscc.authority",
    "统一社会信用代码第1位（登记管理部门代码）不正确",
);
const ERR_DIVISION: FieldError = FieldError::new(
    "uscc.division",
    "统一社会信用代码第3-8位（登记管理机关行政区划码）应为数字",
);
const ERR_CHECK_DIGIT: FieldError =
    FieldError::new("uscc.check_digit", "统一社会信用代码校验位不正确");

fn value(c: u8) -> Option<u32> {
    CHARSET.iter().position(|x| *x == c).map(|i| i as u32)
}

/// The check character for the first 17 characters of a USCC, or `None` if they are not 17
/// characters from the charset.
pub(crate) fn check_char(first17: &[u8]) -> Option<u8> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in first17.iter().zip(WEIGHTS) {
        sum += value(*c)? * w;
    }
    // 31 - (sum mod 31), where 31 means 0.
    let check = (31 - sum % 31) % 31;
    Some(CHARSET[check as usize])
}

/// A 统一社会信用代码 (GB 32100-2015), upper-case.
///
/// Valid means: 18 characters from `0-9A-HJ-NPQRTUWXY`; the first (登记管理部门代码) one of
/// `1`–`9`, `A`, `N`, `Y`; the third to eighth (行政区划码) digits; the last the check
/// character computed over the first 17. The embedded organisation code (characters 9–17) is
/// not checked separately.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Uscc(String);

impl Uscc {
    /// The USCC whose first 17 characters are `first17`, with its check character appended
    /// (generated fixtures); an error when the result is not a valid USCC.
    pub fn completing(first17: &str) -> Result<Uscc, FieldError> {
        let check = check_char(first17.as_bytes()).ok_or(ERR_CHARSET)?;
        Uscc::parse(&format!("{first17}{}", char::from(check)))
    }

    /// Parse a USCC, trimming whitespace, accepting full-width and lower-case letters.
    pub fn parse(input: &str) -> Result<Uscc, FieldError> {
        let s = normalize_code(input).to_ascii_uppercase();
        if s.is_empty() {
            return Err(ERR_REQUIRED);
        }
        if s.chars().count() != 18 {
            return Err(ERR_LENGTH);
        }
        let b = s.as_bytes();
        if b.len() != 18 || !b.iter().all(|c| value(*c).is_some()) {
            return Err(ERR_CHARSET);
        }
        if !matches!(b[0], b'1'..=b'9' | b'A' | b'N' | b'Y') {
            return Err(ERR_AUTHORITY);
        }
        if !b[2..8].iter().all(u8::is_ascii_digit) {
            return Err(ERR_DIVISION);
        }
        if check_char(&b[..17]) != Some(b[17]) {
            return Err(ERR_CHECK_DIGIT);
        }
        Ok(Uscc(s))
    }

    /// The normalised (upper-case) code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Character 1: the registration authority (`9` = market regulation, `5` = civil
    /// affairs, `1` = institutional staffing …).
    pub fn registration_authority(&self) -> char {
        char::from(self.0.as_bytes()[0])
    }

    /// Characters 3–8: the administrative division code of the registering office.
    pub fn division_code(&self) -> &str {
        &self.0[2..8]
    }

    /// Characters 9–17: the organisation code (主体标识码).
    pub fn organization_code(&self) -> &str {
        &self.0[8..17]
    }
}

string_newtype!(Uscc);

impl fmt::Debug for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not personal data: shown in full.
        write!(f, "Uscc({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_check(first17: &str) -> String {
        let c = check_char(first17.as_bytes()).expect("17 charset characters");
        format!("{first17}{}", c as char)
    }

    #[test]
    fn completing_appends_the_check_character() {
        assert_eq!(
            Uscc::completing("91120116MA05JJ1X4").unwrap().as_str(),
            "91120116MA05JJ1X4B"
        );
        assert!(
            Uscc::completing("91120116MA05JJ1X").is_err(),
            "16 characters"
        );
        assert!(
            Uscc::completing("01120116MA05JJ1X4").is_err(),
            "authority 0"
        );
    }

    #[test]
    fn known_codes_are_valid() {
        // The demo unit of the SPEC, and published codes of well-known organisations.
        for s in [
            "91120116MA05JJ1X4B",
            "91350100M000100Y43",
            "91110000600037341L",
            "51100000500010993L",
        ] {
            assert_eq!(
                Uscc::parse(s)
                    .unwrap_or_else(|e| panic!("{s}: {e:?}"))
                    .as_str(),
                s
            );
        }
    }

    #[test]
    fn normalises_case_and_whitespace() {
        let u = Uscc::parse(" 91120116ma05jj1x4b\t").unwrap();
        assert_eq!(u.as_str(), "91120116MA05JJ1X4B");
        assert_eq!(u.registration_authority(), '9');
        assert_eq!(u.division_code(), "120116");
        assert_eq!(u.organization_code(), "MA05JJ1X4");
        assert_eq!(
            Uscc::parse("９１１２０１１６ＭＡ０５ＪＪ１Ｘ４Ｂ")
                .unwrap()
                .as_str(),
            "91120116MA05JJ1X4B"
        );
    }

    #[test]
    fn check_value_31_maps_to_zero() {
        // Find a prefix whose check character is '0' (31 - 0 = 31 → 0).
        let zero = (0..10_000u32)
            .map(|n| format!("91120116MA{n:07}"))
            .find(|p| check_char(p.as_bytes()) == Some(b'0'))
            .expect("some prefix has check 0");
        assert!(Uscc::parse(&format!("{zero}0")).is_ok());
    }

    #[test]
    fn rejections_have_specific_codes() {
        let cases = [
            ("", "uscc.required"),
            ("91120116MA05JJ1X4", "uscc.length"),
            ("91120116MA05JJ1X4BB", "uscc.length"),
            ("91120116MA05JJ1I4B", "uscc.charset"),
            ("91120116MA05JJ1O4B", "uscc.charset"),
            ("91120116MA05JJ1S4B", "uscc.charset"),
            ("91120116MA05JJ1V4B", "uscc.charset"),
            ("91120116MA05JJ1Z4B", "uscc.charset"),
            ("91120116MA05JJ1-4B", "uscc.charset"),
            ("91120116MA05JJ1统4B", "uscc.charset"),
            ("91120116MA05JJ1X4C", "uscc.check_digit"),
            ("91120116MA05JJ1X5B", "uscc.check_digit"),
        ];
        for (input, code) in cases {
            assert_eq!(Uscc::parse(input).unwrap_err().code(), code, "{input}");
        }
        // Authority and division are checked before the check character.
        assert_eq!(
            Uscc::parse(&with_check("01120116MA05JJ1X4"))
                .unwrap_err()
                .code(),
            "uscc.authority"
        );
        assert_eq!(
            Uscc::parse(&with_check("B1120116MA05JJ1X4"))
                .unwrap_err()
                .code(),
            "uscc.authority"
        );
        assert_eq!(
            Uscc::parse(&with_check("9112A116MA05JJ1X4"))
                .unwrap_err()
                .code(),
            "uscc.division"
        );
        for authority in ['1', '5', '9', 'A', 'N', 'Y'] {
            let code = with_check(&format!("{authority}1120116MA05JJ1X4"));
            assert!(Uscc::parse(&code).is_ok(), "{code}");
        }
    }
}
