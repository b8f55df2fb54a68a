//! The values of one declaration, and the check that runs on submit.
//!
//! Drafts take anything: a half-typed number or an over-long text is kept as typed so that
//! the user finds it again, and only [`validate`] (on submit) says what is wrong, per field, in
//! Chinese. What a draft may hold is still bounded, so that a draft cannot grow without limit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tongyi_shared::validate::{Date, Uscc};

use super::form::{FieldKind, FormDef};

/// The most characters a draft keeps of one value, whatever the field's own limit.
const DRAFT_MAX_CHARS: usize = 20_000;
/// The most options a draft keeps of one multi-choice field.
const DRAFT_MAX_PICKS: usize = 64;

/// Field key → the values (one for every kind but multi-choice). Empty values are not kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Values(BTreeMap<String, Vec<String>>);

impl Values {
    /// The values a form post carries for the fields of `form`; other names are ignored.
    /// Text is kept as typed except for surrounding whitespace (and `\r\n` → `\n`).
    pub fn from_pairs<'a>(
        form: &FormDef,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Values {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in pairs {
            let Some(field) = form.field(name) else {
                continue;
            };
            let value: String = value
                .replace("\r\n", "\n")
                .trim()
                .chars()
                .take(DRAFT_MAX_CHARS)
                .collect();
            if value.is_empty() {
                continue;
            }
            let slot = map.entry(field.key.clone()).or_default();
            if field.is_multi() {
                if slot.len() < DRAFT_MAX_PICKS && !slot.contains(&value) {
                    slot.push(value);
                }
            } else {
                // A single-valued field posted twice keeps its first value.
                if slot.is_empty() {
                    slot.push(value);
                }
            }
        }
        Values(map)
    }

    /// The value of a single-valued field, or "".
    pub fn get(&self, key: &str) -> &str {
        self.0
            .get(key)
            .and_then(|v| v.first())
            .map(String::as_str)
            .unwrap_or("")
    }

    /// The values of a field (the picks of a multi-choice).
    pub fn all(&self, key: &str) -> &[String] {
        self.0.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether the field holds this option.
    pub fn has(&self, key: &str, option: &str) -> bool {
        self.all(key).iter().any(|v| v == option)
    }

    pub fn is_empty(&self, key: &str) -> bool {
        self.all(key).is_empty()
    }

    /// What a page or the Word export shows for a field: picks joined with "、".
    pub fn display(&self, key: &str) -> String {
        self.all(key).join("、")
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn from_json(text: &str) -> Values {
        serde_json::from_str(text).unwrap_or_default()
    }
}

/// Field key → the Chinese message to show next to it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors(pub BTreeMap<String, String>);

impl FieldErrors {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn insert(&mut self, key: &str, message: String) {
        self.0.entry(key.to_owned()).or_insert(message);
    }
}

/// Whether a field is required with these values: always, or while its condition holds.
pub fn is_required(form: &FormDef, key: &str, values: &Values) -> bool {
    form.field(key).is_some_and(|f| {
        f.required
            || f.required_when
                .as_ref()
                .is_some_and(|c| values.has(&c.field, &c.equals))
    })
}

/// The submit check: every rule of every field. Attachments are checked by the workflow,
/// which knows the uploaded files.
pub fn validate(form: &FormDef, values: &Values) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::default();
    for field in form.fields() {
        let label = &field.label;
        let picked = values.all(&field.key);
        if picked.is_empty() {
            if field.required {
                let verb = match field.kind {
                    FieldKind::Choice | FieldKind::YesNo | FieldKind::MultiChoice => "请选择",
                    _ => "请填写",
                };
                errors.insert(&field.key, format!("{verb}{label}"));
            } else if let Some(c) = &field.required_when {
                if values.has(&c.field, &c.equals) {
                    let cond = form.field(&c.field).map(|f| f.label.as_str()).unwrap_or("");
                    errors.insert(
                        &field.key,
                        format!("{cond}为“{}”时，请填写{label}", c.equals),
                    );
                }
            }
            continue;
        }
        if let Some(message) =
            check_value(field.kind, label, picked, &field.choices(), field.max_chars)
        {
            errors.insert(&field.key, message);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_value(
    kind: FieldKind,
    label: &str,
    picked: &[String],
    choices: &[&str],
    max_chars: Option<usize>,
) -> Option<String> {
    let value = picked[0].as_str();
    if let Some(max) = max_chars {
        if let Some(long) = picked.iter().find(|v| v.chars().count() > max) {
            return Some(format!(
                "{label}最多{max}个字符，当前{}个字符",
                long.chars().count()
            ));
        }
    }
    match kind {
        FieldKind::Text | FieldKind::Textarea => None,
        FieldKind::Integer => (!is_integer(value)).then(|| format!("{label}应为不小于0的整数")),
        FieldKind::Decimal => {
            (!is_decimal(value)).then(|| format!("{label}应为不小于0的数字，最多两位小数"))
        }
        FieldKind::Date => Date::parse(value)
            .err()
            .map(|e| format!("{label}：{}", e.message())),
        FieldKind::Uscc => Uscc::parse(value)
            .err()
            .map(|e| format!("{label}：{}", e.message())),
        FieldKind::Choice | FieldKind::YesNo | FieldKind::MultiChoice => picked
            .iter()
            .any(|v| !choices.contains(&v.as_str()))
            .then(|| format!("{label}的选项无效，请从列表中选择")),
    }
}

fn is_integer(s: &str) -> bool {
    !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_decimal(s: &str) -> bool {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac_ok = if s.contains('.') {
        (1..=2).contains(&frac.len())
    } else {
        true
    };
    is_integer(whole) && frac_ok && frac.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        for ok in ["0", "12", "1234567890"] {
            assert!(is_integer(ok), "{ok}");
        }
        for bad in ["", "-1", "1.5", "12345678901", "１２"] {
            assert!(!is_integer(bad), "{bad}");
        }
        for ok in ["0", "12.5", "3.25", "100"] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["", ".5", "1.", "1.234", "-2", "1e3", "1.2.3"] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }
}
