//! Form bodies as the portal's pages post them, and the field-level errors shown back.

use tongyi_shared::rp::{RpError, RpSession};

use crate::error::Error;

/// A parsed `application/x-www-form-urlencoded` body; repeated names (checkboxes) are kept.
pub struct FormData(Vec<(String, String)>);

impl FormData {
    /// Parses the body and checks its `csrf` field against the session's token.
    pub fn parse_checked(body: &[u8], session: &RpSession) -> Result<FormData, Error> {
        let form = FormData(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        );
        if !session.csrf_matches(form.raw("csrf")) {
            return Err(RpError::Csrf.into());
        }
        Ok(form)
    }

    /// The first value of `name` as sent, or "".
    pub fn raw(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// The first value of `name` without surrounding whitespace, or "".
    pub fn get(&self, name: &str) -> &str {
        self.raw(name).trim()
    }

    /// Every value of `name` (the checked boxes of a group).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Messages by field name; each is shown next to its input and tied to it by
/// `aria-describedby="{field}-error"`.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        let field = field.into();
        if self.get(&field).is_none() {
            self.0.push((field, message.into()));
        }
    }

    /// The IdP's `invalid_fields` messages (422), under the form's field names: nested API
    /// names (`registered_address.city`) become `registered_address_city`.
    pub fn from_api(fields: &std::collections::BTreeMap<String, String>) -> FieldErrors {
        let mut errors = FieldErrors::default();
        for (field, message) in fields {
            errors.add(field.replace('.', "_"), message.clone());
        }
        errors
    }

    /// Whether any message is about a field outside `known` (then the page shows it on top).
    pub fn others(&self, known: &[&str]) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(f, _)| !known.contains(&f.as_str()))
            .map(|(_, m)| m.as_str())
            .collect()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongyi_shared::claims::TongyiClaims;

    fn session() -> RpSession {
        let mut s = RpSession::detached("sub", TongyiClaims::default());
        s.csrf = "tok".into();
        s
    }

    #[test]
    fn csrf_is_checked_and_repeated_fields_kept() {
        let s = session();
        assert!(FormData::parse_checked(b"a=1", &s).is_err());
        assert!(FormData::parse_checked(b"csrf=nope&a=1", &s).is_err());
        let f = FormData::parse_checked(b"csrf=tok&g=incubator&g=makerspace&n=+x+", &s).unwrap();
        assert_eq!(f.all("g"), ["incubator", "makerspace"]);
        assert_eq!(f.get("n"), "x");
        assert_eq!(f.get("missing"), "");
    }

    #[test]
    fn first_message_per_field_wins() {
        let mut e = FieldErrors::default();
        assert!(e.is_empty());
        e.add("reason", "请填写退回原因");
        e.add("reason", "其他");
        assert_eq!(e.get("reason"), Some("请填写退回原因"));
        assert_eq!(e.get("x"), None);
        let api = [
            (
                "registered_address.city".to_owned(),
                "请选择城市".to_owned(),
            ),
            ("mystery".to_owned(), "其他错误".to_owned()),
        ]
        .into_iter()
        .collect();
        let e = FieldErrors::from_api(&api);
        assert_eq!(e.get("registered_address_city"), Some("请选择城市"));
        assert_eq!(e.others(&["registered_address_city"]), ["其他错误"]);
    }
}
