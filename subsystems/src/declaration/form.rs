//! A declaration form as data: grouped sections of typed fields with their rules, help texts
//! and choice lists, and the attachment slots. The two forms of this platform live in
//! `subsystems/forms/*.toml`; [`FormDef::parse`] refuses a definition whose rules cannot hold
//! (a condition naming a missing field or a value outside its list), so a bad form file stops
//! the app at start-up, not a user at submit.

use std::collections::HashSet;

use serde::Deserialize;

/// The kinds of value a field holds. Values are kept as the text the user typed or chose
/// (a choice stores its option's text), so a draft can hold anything half-typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// Several lines of text.
    Textarea,
    /// A whole number ≥ 0.
    Integer,
    /// A number ≥ 0 with up to two decimals (areas, amounts in 万元).
    Decimal,
    /// `YYYY-MM-DD`.
    Date,
    /// One option of `options`.
    Choice,
    /// 是 or 否.
    YesNo,
    /// Any number of `options`.
    MultiChoice,
    /// 统一社会信用代码, checked with its check character.
    Uscc,
}

/// The two answers of a [`FieldKind::YesNo`] field, as stored.
pub const YES: &str = "是";
pub const NO: &str = "否";

/// A field is required when another field holds a given value.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: String,
    pub equals: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Stable key: the form control's `name` and `id`, and the key of the stored value.
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// Required only while the condition holds (the manual's conditional fields).
    #[serde(default)]
    pub required_when: Option<Condition>,
    /// Limit in characters (Unicode scalar values), never bytes: 800 Chinese characters fit
    /// an 800-character limit.
    #[serde(default)]
    pub max_chars: Option<usize>,
    /// Shown next to the field on request (the manual's help marker).
    #[serde(default)]
    pub help: Option<String>,
    /// Unit shown after a number, e.g. 平方米.
    #[serde(default)]
    pub unit: Option<String>,
    /// The choice list of `choice` and `multi_choice` fields.
    #[serde(default)]
    pub options: Vec<String>,
}

impl Field {
    /// The options a user may pick: the list, or 是/否.
    pub fn choices(&self) -> Vec<&str> {
        match self.kind {
            FieldKind::YesNo => vec![YES, NO],
            _ => self.options.iter().map(String::as_str).collect(),
        }
    }

    pub fn is_multi(&self) -> bool {
        self.kind == FieldKind::MultiChoice
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// Stable key, the id of the section on the page.
    pub key: String,
    pub title: String,
    pub fields: Vec<Field>,
}

/// The content types an attachment slot accepts, recognised by content, never by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    Pdf,
    Png,
    Jpeg,
}

impl FileType {
    pub fn label(self) -> &'static str {
        match self {
            FileType::Pdf => "PDF",
            FileType::Png => "PNG",
            FileType::Jpeg => "JPG",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Png => "image/png",
            FileType::Jpeg => "image/jpeg",
        }
    }

    /// The type these first bytes of a file announce, if any we know.
    pub fn sniff(head: &[u8]) -> Option<FileType> {
        if head.starts_with(b"%PDF-") {
            Some(FileType::Pdf)
        } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(FileType::Png)
        } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(FileType::Jpeg)
        } else {
            None
        }
    }

    /// How many leading bytes [`FileType::sniff`] needs.
    pub const SNIFF_LEN: usize = 8;

    pub fn from_mime(mime: &str) -> Option<FileType> {
        [FileType::Pdf, FileType::Png, FileType::Jpeg]
            .into_iter()
            .find(|t| t.mime() == mime)
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentSlot {
    /// Stable key: the file input's `name` and `id`.
    pub key: String,
    pub label: String,
    #[serde(default)]
    pub help: Option<String>,
    pub accept: Vec<FileType>,
    /// At least one file before submit.
    #[serde(default)]
    pub required: bool,
    /// The signature page (签章页): the signed and stamped scan of the Word export.
    #[serde(default)]
    pub signature: bool,
}

impl AttachmentSlot {
    pub fn accept_labels(&self) -> String {
        self.accept
            .iter()
            .map(|t| t.label())
            .collect::<Vec<_>>()
            .join("、")
    }

    /// The `accept` attribute of the file input.
    pub fn accept_attr(&self) -> String {
        self.accept
            .iter()
            .map(|t| match t {
                FileType::Pdf => ".pdf,application/pdf",
                FileType::Png => ".png,image/png",
                FileType::Jpeg => ".jpg,.jpeg,image/jpeg",
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormDef {
    /// The subsystem code this form belongs to.
    pub code: String,
    /// The declaration's title, e.g. 天津市众创空间绩效评估申报书.
    pub title: String,
    /// The field whose value names a declaration in lists (the carrier's name).
    pub title_field: String,
    pub sections: Vec<Section>,
    pub attachments: Vec<AttachmentSlot>,
}

/// Why a form definition is unusable; names the offending key.
#[derive(Debug, thiserror::Error)]
pub enum FormDefError {
    #[error("form definition does not parse: {0}")]
    Syntax(String),
    #[error("form definition: {0}")]
    Rule(String),
}

impl FormDef {
    /// Parses and checks a form definition.
    pub fn parse(text: &str) -> Result<FormDef, FormDefError> {
        let form: FormDef =
            toml::from_str(text).map_err(|e| FormDefError::Syntax(e.to_string()))?;
        form.check()?;
        Ok(form)
    }

    fn check(&self) -> Result<(), FormDefError> {
        let rule = |m: String| Err(FormDefError::Rule(m));
        let mut keys = HashSet::new();
        let valid_key = |k: &str| {
            !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        for f in self.fields() {
            if !valid_key(&f.key) || !keys.insert(f.key.as_str()) {
                return rule(format!("field key `{}` is malformed or repeated", f.key));
            }
            let lists = matches!(f.kind, FieldKind::Choice | FieldKind::MultiChoice);
            if lists == f.options.is_empty() {
                return rule(format!(
                    "field `{}`: options belong to choice fields, and only to them",
                    f.key
                ));
            }
            if f.max_chars == Some(0) {
                return rule(format!("field `{}`: max_chars 0", f.key));
            }
        }
        for f in self.fields() {
            if let Some(c) = &f.required_when {
                let Some(target) = self.field(&c.field) else {
                    return rule(format!(
                        "field `{}`: condition on unknown `{}`",
                        f.key, c.field
                    ));
                };
                if !target.choices().contains(&c.equals.as_str()) {
                    return rule(format!(
                        "field `{}`: `{}` is not an option of `{}`",
                        f.key, c.equals, c.field
                    ));
                }
            }
        }
        if self.field(&self.title_field).is_none() {
            return rule(format!("title_field `{}` is not a field", self.title_field));
        }
        for s in &self.attachments {
            if !valid_key(&s.key) || !keys.insert(s.key.as_str()) || s.accept.is_empty() {
                return rule(format!("attachment slot `{}` is malformed", s.key));
            }
            if s.signature && s.accept != [FileType::Pdf] {
                return rule("the signature page is PDF only".into());
            }
        }
        if self.attachments.iter().filter(|s| s.signature).count() != 1 {
            return rule("exactly one attachment slot is the signature page".into());
        }
        Ok(())
    }

    /// Every field in page order.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.sections.iter().flat_map(|s| s.fields.iter())
    }

    pub fn field(&self, key: &str) -> Option<&Field> {
        self.fields().find(|f| f.key == key)
    }

    pub fn slot(&self, key: &str) -> Option<&AttachmentSlot> {
        self.attachments.iter().find(|s| s.key == key)
    }

    pub fn signature_slot(&self) -> &AttachmentSlot {
        // `check` guarantees exactly one.
        self.attachments
            .iter()
            .find(|s| s.signature)
            .unwrap_or(&self.attachments[0])
    }
}

/// The form of the subsystem with this code, from the definitions compiled into the binary.
pub fn builtin(code: &str) -> Option<Result<FormDef, FormDefError>> {
    let text = match code {
        "incubator" => include_str!("../../forms/incubator.toml"),
        "makerspace" => include_str!("../../forms/makerspace.toml"),
        _ => return None,
    };
    Some(FormDef::parse(text))
}
