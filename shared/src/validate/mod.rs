//! Validated domain values for the registration forms (SPEC §3).
//!
//! Each value is a newtype whose only constructor validates ("parse, don't validate"): once you
//! hold a [`LoginName`], [`ResidentId`], [`Uscc`], [`Mobile`] or [`IdDocument`] it is well-formed.
//! Constructors trim surrounding whitespace and normalise case where the format allows it (the
//! ID check character `x` becomes `X`, a USCC is upper-cased).
//!
//! A failed parse returns a [`FieldError`]: a stable machine code (`"id_number.check_digit"`)
//! for logs, tests and API clients, and a Chinese message to show next to the form field.
//!
//! Nothing here reads the clock: checks that depend on the current date (a birth date in the
//! future, an expired document) take `today` as a [`Date`] argument.

mod date;
mod document;
mod ethnicity;
mod gb11643;
mod login;
mod mobile;
mod uscc;
mod validity;

pub use date::Date;
pub use document::{IdDocument, IdDocumentType};
pub use ethnicity::{Ethnicity, ETHNIC_GROUPS};
pub use gb11643::{Gender, ResidentId};
pub use login::{check_new_password, LoginName, NewPassword};
pub use mobile::Mobile;
pub use uscc::Uscc;
pub use validity::{IdValidity, ResidentCardTerm};

use std::fmt;

/// Why a form field was rejected.
///
/// `code` is stable (`"<field>.<rule>"`, e.g. `"uscc.check_digit"`) and safe to match on;
/// `message` is a short Chinese sentence for the user. Neither ever contains the rejected input,
/// so a `FieldError` may be logged even when the field was a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    code: &'static str,
    message: &'static str,
}

impl FieldError {
    /// Build an error from a stable code and a user-facing Chinese message.
    pub const fn new(code: &'static str, message: &'static str) -> Self {
        FieldError { code, message }
    }

    /// The stable machine code, e.g. `"id_number.check_digit"`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The Chinese message for the form, e.g. `"身份证号码校验位不正确"`.
    pub fn message(&self) -> &'static str {
        self.message
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for FieldError {}

/// Trim surrounding whitespace (including the ideographic space U+3000) and turn full-width
/// ASCII forms (`１２Ａ`, typed with a Chinese input method) into plain ASCII. Used for codes and
/// numbers only, never for passwords.
pub(crate) fn normalize_code(input: &str) -> String {
    input
        .trim()
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Implements `Display`, `AsRef<str>`, `TryFrom<String>`/`TryFrom<&str>`, `From<T> for String`
/// and string (de)serialization for a newtype with `parse(&str)` and `as_str()`.
/// Deserializing goes through `parse`, so a stored or submitted value is re-validated.
macro_rules! string_newtype {
    ($t:ty) => {
        impl ::std::fmt::Display for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl TryFrom<&str> for $t {
            type Error = $crate::validate::FieldError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                <$t>::parse(s)
            }
        }

        impl TryFrom<String> for $t {
            type Error = $crate::validate::FieldError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                <$t>::parse(&s)
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.as_str().to_owned()
            }
        }

        impl ::std::str::FromStr for $t {
            type Err = $crate::validate::FieldError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$t>::parse(s)
            }
        }

        impl ::serde::Serialize for $t {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $t {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                <$t>::parse(&s).map_err(|e| {
                    <D::Error as ::serde::de::Error>::custom(format_args!("{}", e.code()))
                })
            }
        }
    };
}
pub(crate) use string_newtype;

#[cfg(test)]
mod proptests;
