//! Login names and the password policy (SPEC §3, 法人账号 / 用户账号 and 登录密码).

use std::fmt;

use super::{normalize_code, string_newtype, FieldError};

const NAME_REQUIRED: FieldError = FieldError::new("login_name.required", "请输入账号");
const NAME_LENGTH: FieldError = FieldError::new("login_name.length", "账号长度应为4-30位");
const NAME_CHARSET: FieldError =
    FieldError::new("login_name.charset", "账号只能包含字母、数字或下划线");
const NAME_FIRST: FieldError = FieldError::new("login_name.first_char", "账号必须以字母开头");

/// A login name (法人账号 / 用户账号): an ASCII letter followed by letters, digits or
/// underscores, 4–30 characters in all.
///
/// Case is kept as typed for display; uniqueness is case-insensitive, so store and look up
/// [`LoginName::key`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LoginName(String);

impl LoginName {
    /// Parse a login name, trimming surrounding whitespace (full-width letters and digits are
    /// turned into ASCII).
    pub fn parse(input: &str) -> Result<LoginName, FieldError> {
        let s = normalize_code(input);
        if s.is_empty() {
            return Err(NAME_REQUIRED);
        }
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(NAME_CHARSET);
        }
        if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(NAME_FIRST);
        }
        if !(4..=30).contains(&s.len()) {
            return Err(NAME_LENGTH);
        }
        Ok(LoginName(s))
    }

    /// The login name as typed (after trimming).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lower-case form that must be unique among accounts.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

string_newtype!(LoginName);

const PW_REQUIRED: FieldError = FieldError::new("password.required", "请输入登录密码");
const PW_LENGTH: FieldError = FieldError::new("password.length", "密码长度应为8-20位");
const PW_CHARSET: FieldError = FieldError::new(
    "password.charset",
    "密码只能包含英文字母、数字和英文特殊字符，不能包含空格或中文",
);
const PW_CLASSES: FieldError = FieldError::new(
    "password.classes",
    "密码须包含大写字母、小写字母、数字和特殊字符中的至少三种",
);
const PW_SAME_AS_LOGIN: FieldError =
    FieldError::new("password.same_as_login_name", "密码不能与账号相同");
const PW_CONFIRMATION: FieldError =
    FieldError::new("password.confirmation", "两次输入的密码不一致");

/// A new password that satisfies the policy of SPEC §3.
///
/// The value is never shown: `Debug` prints `NewPassword(***)` and there is no `Display`.
/// Use [`NewPassword::expose`] only to hash it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    /// Check a new password and its confirmation:
    ///
    /// - 8–20 characters, each a printable ASCII character other than space
    ///   (`password.charset`; the input is not trimmed, a space is simply not allowed);
    /// - at least three of four classes: upper-case letter, lower-case letter, digit, special
    ///   character (any other printable ASCII) (`password.classes`);
    /// - not equal to the login name, ignoring case (`password.same_as_login_name`);
    /// - `confirmation` identical to `password` (`password.confirmation`).
    ///
    /// `login_name` is the raw form value; it is trimmed before comparing.
    pub fn parse(
        password: &str,
        confirmation: &str,
        login_name: Option<&str>,
    ) -> Result<NewPassword, FieldError> {
        if password.is_empty() {
            return Err(PW_REQUIRED);
        }
        if !password.chars().all(|c| c.is_ascii_graphic()) {
            return Err(PW_CHARSET);
        }
        // All ASCII from here, so bytes are characters.
        if !(8..=20).contains(&password.len()) {
            return Err(PW_LENGTH);
        }
        let b = password.as_bytes();
        let classes = [
            b.iter().any(u8::is_ascii_uppercase),
            b.iter().any(u8::is_ascii_lowercase),
            b.iter().any(u8::is_ascii_digit),
            b.iter().any(|c| !c.is_ascii_alphanumeric()),
        ];
        if classes.iter().filter(|c| **c).count() < 3 {
            return Err(PW_CLASSES);
        }
        if let Some(name) = login_name {
            let name = normalize_code(name);
            if password.eq_ignore_ascii_case(&name) {
                return Err(PW_SAME_AS_LOGIN);
            }
        }
        if password != confirmation {
            return Err(PW_CONFIRMATION);
        }
        Ok(NewPassword(password.to_owned()))
    }

    /// The password itself, for hashing. Do not log or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

/// [`NewPassword::parse`] without keeping the value: `Ok(())` if `password` meets the policy,
/// differs from `login_name` and matches `confirmation`.
pub fn check_new_password(
    password: &str,
    confirmation: &str,
    login_name: Option<&str>,
) -> Result<(), FieldError> {
    NewPassword::parse(password, confirmation, login_name).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_names() {
        for ok in [
            "abcd",
            "Zhang_San01",
            "a___",
            "a23456789012345678901234567890",
        ] {
            assert_eq!(LoginName::parse(ok).unwrap().as_str(), ok);
        }
        let n = LoginName::parse("  TianJin_Lab ").unwrap();
        assert_eq!(n.as_str(), "TianJin_Lab");
        assert_eq!(n.key(), "tianjin_lab");
        let cases = [
            ("", "login_name.required"),
            (" \t", "login_name.required"),
            ("abc", "login_name.length"),
            ("a234567890123456789012345678901", "login_name.length"),
            ("1abcd", "login_name.first_char"),
            ("_abcd", "login_name.first_char"),
            ("ab cd", "login_name.charset"),
            ("abc-d", "login_name.charset"),
            ("张三abcd", "login_name.charset"),
            ("abcé", "login_name.charset"),
        ];
        for (input, code) in cases {
            assert_eq!(LoginName::parse(input).unwrap_err().code(), code, "{input}");
        }
        assert_eq!(LoginName::parse("ａｂｃｄ").unwrap().as_str(), "abcd");
    }

    #[test]
    fn passwords_meeting_policy() {
        for ok in [
            "Abcdefg1",
            "abcdefg1!",
            "ABCDEFG1!",
            "Abcdefgh!",
            "Aa1!Aa1!Aa1!Aa1!Aa1!",
        ] {
            assert!(check_new_password(ok, ok, Some("zhangsan")).is_ok(), "{ok}");
        }
    }

    #[test]
    fn passwords_breaking_policy() {
        let cases = [
            ("", "password.required"),
            ("Abc1!", "password.length"),
            ("Aa1!Aa1!Aa1!Aa1!Aa1!x", "password.length"),
            ("abcdefgh", "password.classes"),
            ("abcdefg1", "password.classes"),
            ("ABCDEFG!", "password.classes"),
            ("12345678!", "password.classes"),
            ("Abcd efg1", "password.charset"),
            ("Abcdefg1密码", "password.charset"),
            ("Abcdefg1\n", "password.charset"),
        ];
        for (pw, code) in cases {
            assert_eq!(
                check_new_password(pw, pw, None).unwrap_err().code(),
                code,
                "{pw}"
            );
        }
    }

    #[test]
    fn password_must_differ_from_login_name_and_match_confirmation() {
        let err = check_new_password("Zhang_San1", "Zhang_San1", Some(" zhang_san1 ")).unwrap_err();
        assert_eq!(err.code(), "password.same_as_login_name");
        let err = check_new_password("Abcdefg1", "Abcdefg2", None).unwrap_err();
        assert_eq!(err.code(), "password.confirmation");
        assert_eq!(err.message(), "两次输入的密码不一致");
    }

    #[test]
    fn password_never_leaks() {
        let pw = NewPassword::parse("Secret#123", "Secret#123", None).unwrap();
        assert_eq!(format!("{pw:?}"), "NewPassword(***)");
        assert_eq!(pw.expose(), "Secret#123");
        let err = NewPassword::parse("Secret#123", "Secret#124", None).unwrap_err();
        let shown = format!("{err:?} {err}");
        assert!(!shown.contains("Secret"), "{shown}");
    }
}
