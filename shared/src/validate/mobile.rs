//! Mainland mobile numbers (SPEC §3: `1[3-9]\d{9}`).

use std::fmt;

use super::{normalize_code, string_newtype, FieldError};

const ERR_REQUIRED: FieldError = FieldError::new("mobile.required", "请输入手机号码");
const ERR_FORMAT: FieldError = FieldError::new("mobile.format", "请输入正确的11位手机号码");

/// A mainland China mobile number: 11 digits, `1` then `3`–`9`, stored without a country code.
///
/// `Debug` shows the number masked; `Display` and `as_str` give it in full.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Mobile(String);

impl Mobile {
    /// Parse a mobile number. Surrounding whitespace is trimmed, full-width digits are
    /// accepted, and a country code `+86`, `0086` or `86` (optionally followed by a space or
    /// `-`) is removed; `86` alone is removed only when 11 digits follow.
    pub fn parse(input: &str) -> Result<Mobile, FieldError> {
        let s = normalize_code(input);
        if s.is_empty() {
            return Err(ERR_REQUIRED);
        }
        let national = strip_country_code(&s);
        let b = national.as_bytes();
        let ok = b.len() == 11
            && b.iter().all(u8::is_ascii_digit)
            && b[0] == b'1'
            && (b'3'..=b'9').contains(&b[1]);
        if !ok {
            return Err(ERR_FORMAT);
        }
        Ok(Mobile(national.to_owned()))
    }

    /// The 11-digit number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number masked for display (see [`crate::mask::mask_mobile`]).
    pub fn masked(&self) -> String {
        crate::mask::mask_mobile(&self.0)
    }
}

fn strip_country_code(s: &str) -> &str {
    let rest = if let Some(r) = s.strip_prefix("+86").or_else(|| s.strip_prefix("0086")) {
        r
    } else if s.len() == 13 || s.len() == 14 {
        // "86" + 11 digits, or "86 " / "86-" + 11 digits.
        match s.strip_prefix("86") {
            Some(r) if r.trim_start_matches([' ', '-']).len() == 11 => r,
            _ => s,
        }
    } else {
        s
    };
    rest.strip_prefix([' ', '-']).unwrap_or(rest)
}

string_newtype!(Mobile);

impl fmt::Debug for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mobile({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_mainland_numbers() {
        for (input, want) in [
            ("13812345656", "13812345656"),
            (" 19912345678 ", "19912345678"),
            ("+8613812345656", "13812345656"),
            ("+86 13812345656", "13812345656"),
            ("+86-13812345656", "13812345656"),
            ("008613812345656", "13812345656"),
            ("8613812345656", "13812345656"),
            ("86 13812345656", "13812345656"),
            ("１３８１２３４５６５６", "13812345656"),
        ] {
            assert_eq!(Mobile::parse(input).unwrap().as_str(), want, "{input}");
        }
    }

    #[test]
    fn rejects_other_numbers() {
        assert_eq!(Mobile::parse("  ").unwrap_err().code(), "mobile.required");
        for bad in [
            "12812345656",
            "10812345656",
            "23812345656",
            "1381234565",
            "138123456560",
            "138-1234-5656",
            "1381234565a",
            "+1 13812345656",
            "+86",
            "86",
            "+8686",
            "+86  13812345656",
        ] {
            assert_eq!(
                Mobile::parse(bad).unwrap_err().code(),
                "mobile.format",
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_is_masked() {
        let m = Mobile::parse("13812345656").unwrap();
        assert_eq!(format!("{m:?}"), "Mobile(13*****656)");
        assert_eq!(m.to_string(), "13812345656");
    }
}
