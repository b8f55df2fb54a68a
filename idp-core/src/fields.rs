//! The one type for a form's refused fields on the IdP's pages: registration, real-name
//! identity, appeal, recovery, password change. A domain function returns it inside its error;
//! the page renders each message next to its field (`errors.get("mobile")`) and counts them
//! for the summary.
//!
//! The directory API has its own wire shape (`ErrorBody::fields`, a JSON object), which the
//! portal reads; that stays a map of strings.

use std::borrow::Cow;

/// Messages by field name, in the order the fields were refused. One message per field: the
/// first wins, because checks run from the most basic (missing) to the most specific.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<(&'static str, Cow<'static, str>)>);

impl FieldErrors {
    pub fn new() -> Self {
        FieldErrors(Vec::new())
    }

    /// A single refused field.
    pub fn one(field: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        let mut e = FieldErrors::new();
        e.insert(field, message);
        e
    }

    /// Refuse `field` with `message`, unless it is refused already.
    pub fn insert(&mut self, field: &'static str, message: impl Into<Cow<'static, str>>) {
        if !self.contains(field) {
            self.0.push((field, message.into()));
        }
    }

    /// The message of `field`, if it was refused.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_ref())
    }

    pub fn contains(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| *f == field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many fields were refused.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(f, m)| (*f, m.as_ref()))
    }

    /// `Ok(())` when nothing was refused.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl<M: Into<Cow<'static, str>>, const N: usize> From<[(&'static str, M); N]> for FieldErrors {
    fn from(pairs: [(&'static str, M); N]) -> Self {
        let mut e = FieldErrors::new();
        for (field, message) in pairs {
            e.insert(field, message);
        }
        e
    }
}

/// Compares with `[("field", "message"), …]` in order, as tests write it.
impl<const N: usize> PartialEq<[(&str, &str); N]> for FieldErrors {
    fn eq(&self, other: &[(&str, &str); N]) -> bool {
        self.len() == N && self.iter().zip(other).all(|(a, b)| a == *b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_message_of_a_field_wins_and_order_is_kept() {
        let mut e = FieldErrors::new();
        assert!(e.is_empty());
        e.insert("mobile", "请输入手机号");
        e.insert("captcha", String::from("图形验证码错误"));
        e.insert("mobile", "手机号格式不正确");
        assert_eq!(e.len(), 2);
        assert_eq!(e.get("mobile"), Some("请输入手机号"));
        assert!(e.contains("captcha"));
        assert_eq!(e.get("password"), None);
        let fields: Vec<_> = e.iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["mobile", "captcha"]);
        assert!(e.clone().into_result().is_err());
        assert_eq!(FieldErrors::new().into_result(), Ok(()));
        assert_eq!(
            e,
            [("mobile", "请输入手机号"), ("captcha", "图形验证码错误")]
        );
        assert_ne!(
            e,
            [("captcha", "图形验证码错误"), ("mobile", "请输入手机号")]
        );
        assert_eq!(
            FieldErrors::from([("code", "验证码错误")]),
            FieldErrors::one("code", "验证码错误")
        );
    }
}
