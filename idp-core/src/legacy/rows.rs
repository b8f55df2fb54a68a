//! The rows of a legacy export: reading the file (UTF-8 or GBK), the columns of the unit and
//! person files (docs/legacy-import.md), and the checks every row passes before anything is
//! written. A row that fails a check becomes a [`RowError`] with a stable code and a Chinese
//! message that never repeats the value it refused.

use std::collections::HashMap;

use tongyi_shared::validate::{IdDocument, IdDocumentType, Mobile, Uscc};

use super::hashes::{self, HashScheme, SaltPosition};
use crate::crypto;

/// Which kind of legacy file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum RecordKind {
    /// Legacy unit (enterprise) accounts: `legacy_id, login_name, password_hash,
    /// password_salt, unit_name, uscc, contact_mobile, email, subsystems`.
    Unit,
    /// Legacy personal accounts and declarant / expert records: `legacy_id, user_type,
    /// login_name, password_hash, password_salt, name, id_type, id_number, mobile, email,
    /// subsystems`.
    Person,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Unit => "unit",
            RecordKind::Person => "person",
        }
    }

    fn columns(self) -> &'static [&'static str] {
        match self {
            RecordKind::Unit => &[
                "legacy_id",
                "login_name",
                "password_hash",
                "password_salt",
                "unit_name",
                "uscc",
                "contact_mobile",
                "email",
                "subsystems",
                "approved",
            ],
            RecordKind::Person => &[
                "legacy_id",
                "user_type",
                "login_name",
                "password_hash",
                "password_salt",
                "name",
                "id_type",
                "id_number",
                "mobile",
                "email",
                "subsystems",
            ],
        }
    }

    fn required(self) -> &'static [&'static str] {
        match self {
            RecordKind::Unit => &["legacy_id", "unit_name", "uscc"],
            RecordKind::Person => &["legacy_id", "user_type", "name", "mobile"],
        }
    }
}

/// The file's text encoding (`--encoding`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Encoding {
    /// UTF-8 when the bytes are valid UTF-8, GBK (GB18030) otherwise.
    #[default]
    Auto,
    Utf8,
    Gbk,
}

/// An encoding a file was found to be in (what [`Encoding::Auto`] resolves to).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Gbk,
}

impl TextEncoding {
    fn decoder(self) -> encoding_rs::Decoder {
        match self {
            // A UTF-8 byte order mark is dropped.
            TextEncoding::Utf8 => encoding_rs::UTF_8.new_decoder_with_bom_removal(),
            // With BOM sniffing, as `Encoding::decode` does.
            TextEncoding::Gbk => encoding_rs::GB18030.new_decoder(),
        }
    }

    fn invalid(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "the file is not valid UTF-8 text",
            TextEncoding::Gbk => "the file is not valid GBK text",
        }
    }
}

/// The file's bytes read as UTF-8 text, decoded as they come (a few kilobytes at a time,
/// whatever the file's size). Bytes that are not valid in the encoding end the text with an
/// [`std::io::ErrorKind::InvalidData`] error, whose message is [`DecodingReader::invalid`].
pub struct DecodingReader<R> {
    inner: R,
    encoding: TextEncoding,
    decoder: encoding_rs::Decoder,
    input: Box<[u8]>,
    in_start: usize,
    in_end: usize,
    eof: bool,
    output: Box<[u8]>,
    out_start: usize,
    out_end: usize,
    done: bool,
}

const DECODE_BUFFER: usize = 64 * 1024;

impl<R: std::io::Read> DecodingReader<R> {
    pub fn new(inner: R, encoding: TextEncoding) -> DecodingReader<R> {
        DecodingReader {
            inner,
            encoding,
            decoder: encoding.decoder(),
            input: vec![0; DECODE_BUFFER].into_boxed_slice(),
            in_start: 0,
            in_end: 0,
            eof: false,
            output: vec![0; DECODE_BUFFER].into_boxed_slice(),
            out_start: 0,
            out_end: 0,
            done: false,
        }
    }

    /// The message of the error this reader gives on bytes invalid in its encoding.
    pub fn invalid(&self) -> &'static str {
        self.encoding.invalid()
    }
}

impl<R: std::io::Read> std::io::Read for DecodingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use encoding_rs::DecoderResult;
        loop {
            if self.out_start < self.out_end {
                let n = buf.len().min(self.out_end - self.out_start);
                buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
                self.out_start += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            if self.in_start == self.in_end && !self.eof {
                let n = self.inner.read(&mut self.input)?;
                self.eof = n == 0;
                self.in_start = 0;
                self.in_end = n;
            }
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.input[self.in_start..self.in_end],
                &mut self.output,
                self.eof,
            );
            self.in_start += read;
            self.out_start = 0;
            self.out_end = written;
            match result {
                DecoderResult::Malformed(..) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        self.encoding.invalid(),
                    ))
                }
                DecoderResult::InputEmpty if self.eof => self.done = true,
                DecoderResult::InputEmpty | DecoderResult::OutputFull => {}
            }
        }
    }
}

/// The encoding error inside a CSV error, when the decoding reader gave it.
pub fn decoding_error(e: &csv::Error) -> Option<String> {
    match e.kind() {
        csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            Some(io.to_string())
        }
        _ => None,
    }
}

/// The CSV reader of a legacy file's text.
pub fn csv_reader<R: std::io::Read>(text: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new().flexible(true).from_reader(text)
}

/// How many records (rows after the header, good or bad) the text holds, reading it once
/// without keeping it; an error when its bytes are not valid in the encoding.
pub fn count_records<R: std::io::Read>(bytes: R, encoding: TextEncoding) -> Result<u64, String> {
    let mut reader = csv_reader(DecodingReader::new(bytes, encoding));
    let mut record = csv::ByteRecord::new();
    let mut n = 0u64;
    // The header is not a record; an encoding error in it is the file's.
    if let Err(e) = reader.byte_headers() {
        if let Some(message) = decoding_error(&e) {
            return Err(message);
        }
    }
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => n += 1,
            Ok(false) => return Ok(n),
            Err(e) => match decoding_error(&e) {
                Some(message) => return Err(message),
                None => n += 1,
            },
        }
    }
}

/// Which encodings [`Encoding`] lets a file be read in, in the order to try them.
pub fn candidates(encoding: Encoding) -> &'static [TextEncoding] {
    match encoding {
        Encoding::Utf8 => &[TextEncoding::Utf8],
        Encoding::Gbk => &[TextEncoding::Gbk],
        Encoding::Auto => &[TextEncoding::Utf8, TextEncoding::Gbk],
    }
}

/// Decodes a whole file's bytes (as the import decodes them, piece by piece); a UTF-8 byte
/// order mark is dropped.
pub fn decode(bytes: &[u8], encoding: Encoding) -> Result<String, String> {
    use std::io::Read;
    let mut last = String::new();
    for e in candidates(encoding) {
        let mut text = String::new();
        match DecodingReader::new(bytes, *e).read_to_string(&mut text) {
            Ok(_) => return Ok(text),
            Err(_) => last = e.invalid().to_owned(),
        }
    }
    Err(last)
}

/// 申报用户 or 专家用户 (seed 003).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserType {
    Declarant,
    Expert,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::Declarant => "declarant",
            UserType::Expert => "expert",
        }
    }

    pub fn parse(text: &str) -> Option<UserType> {
        match text.trim() {
            "declarant" | "申报用户" => Some(UserType::Declarant),
            "expert" | "专家用户" => Some(UserType::Expert),
            _ => None,
        }
    }
}

/// An imported login with its password hash, ready to store.
#[derive(Clone)]
pub struct LegacyLogin {
    pub login_name: String,
    /// The `legacy:` text of [`hashes::encode`].
    pub password_hash: String,
}

/// What distinguishes a unit row from a person row.
#[derive(Clone)]
pub enum Subject {
    Unit {
        uscc: String,
        /// The old system had approved the unit: it starts active, with its subsystems,
        /// instead of going through review again (a unit that worked for years must work on
        /// day one).
        approved: bool,
    },
    Person {
        user_type: UserType,
        mobile: String,
        document: Option<(String, String)>,
    },
}

/// A row that passed every check.
#[derive(Clone)]
pub struct LegacyRow {
    /// 1-based line of the row in the file (the header is line 1).
    pub line: u64,
    pub legacy_id: String,
    pub display_name: String,
    pub login: Option<LegacyLogin>,
    pub subject: Subject,
    /// A unit's contact mobile; a person's is in [`Subject::Person`].
    pub contact_mobile: Option<String>,
    pub email: Option<String>,
    pub subsystems: Vec<String>,
    /// SHA-256 of the row's fields as read: a re-run knows the same row.
    pub digest: String,
}

impl LegacyRow {
    pub fn kind(&self) -> RecordKind {
        match self.subject {
            Subject::Unit { .. } => RecordKind::Unit,
            Subject::Person { .. } => RecordKind::Person,
        }
    }

    /// The mobile that reaches the row's owner.
    pub fn mobile(&self) -> Option<&str> {
        match &self.subject {
            Subject::Person { mobile, .. } => Some(mobile),
            Subject::Unit { .. } => self.contact_mobile.as_deref(),
        }
    }
}

/// Why a row was skipped: a stable code and a Chinese message for the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub code: &'static str,
    pub message: String,
}

impl RowError {
    pub fn new(code: &'static str, message: impl Into<String>) -> RowError {
        RowError {
            code,
            message: message.into(),
        }
    }
}

/// How the rows of one file are read.
#[derive(Clone, Copy, Debug)]
pub struct RowRules {
    pub kind: RecordKind,
    pub scheme: HashScheme,
    pub salt_position: SaltPosition,
}

/// Column positions found in the header.
pub struct Header {
    index: HashMap<&'static str, usize>,
}

impl Header {
    /// Checks the header names the required columns; unknown columns are ignored.
    pub fn parse(kind: RecordKind, header: &csv::StringRecord) -> Result<Header, String> {
        let mut index = HashMap::new();
        for (i, name) in header.iter().enumerate() {
            let name = name.trim().trim_start_matches('\u{feff}');
            if let Some(col) = kind.columns().iter().find(|c| **c == name) {
                index.insert(*col, i);
            }
        }
        let missing: Vec<&str> = kind
            .required()
            .iter()
            .filter(|c| !index.contains_key(*c))
            .copied()
            .collect();
        if missing.is_empty() {
            Ok(Header { index })
        } else {
            Err(format!("missing columns: {}", missing.join(", ")))
        }
    }

    fn get<'r>(&self, record: &'r csv::StringRecord, column: &str) -> &'r str {
        self.index
            .get(column)
            .and_then(|i| record.get(*i))
            .map(str::trim)
            .unwrap_or("")
    }
}

/// Legacy login names: letters, digits and `_ - . @`, 1–64 characters (old systems used
/// USCCs, mobiles and emails as login names, which platform registration would refuse).
fn legacy_login_name(text: &str) -> Result<String, RowError> {
    let ok = (1..=64).contains(&text.chars().count())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(RowError::new(
            "bad_login_name",
            "登录名只能包含字母、数字和 _ - . @，长度 1–64 位",
        ))
    }
}

fn required(value: &str, column: &str) -> Result<(), RowError> {
    if value.is_empty() {
        Err(RowError::new(
            "missing_field",
            format!("缺少必填字段 {column}"),
        ))
    } else {
        Ok(())
    }
}

fn field_error(
    code: &'static str,
    column: &str,
    e: tongyi_shared::validate::FieldError,
) -> RowError {
    RowError::new(code, format!("{column}：{}", e.message()))
}

/// Checks one record of the file.
pub fn parse_row(
    rules: &RowRules,
    header: &Header,
    record: &csv::StringRecord,
    line: u64,
) -> Result<LegacyRow, RowError> {
    let get = |c: &str| header.get(record, c);
    for column in rules.kind.required() {
        required(get(column), column)?;
    }
    let legacy_id = get("legacy_id");
    if legacy_id.chars().count() > 64 {
        return Err(RowError::new(
            "bad_legacy_id",
            "legacy_id 长度不能超过 64 位",
        ));
    }
    let login = match get("login_name") {
        "" => None,
        name => {
            let login_name = legacy_login_name(name)?;
            required(get("password_hash"), "password_hash")?;
            let password_hash = hashes::encode(
                rules.scheme,
                rules.salt_position,
                get("password_hash"),
                get("password_salt"),
            )
            .map_err(|_| {
                RowError::new(
                    "bad_password_hash",
                    format!("password_hash 不是 {} 格式", rules.scheme.as_str()),
                )
            })?;
            Some(LegacyLogin {
                login_name,
                password_hash,
            })
        }
    };
    let email = match get("email") {
        "" => None,
        e if e.contains('@') && e.len() <= 100 => Some(e.to_owned()),
        _ => return Err(RowError::new("bad_email", "email：电子邮箱格式不正确")),
    };
    let mut subsystems: Vec<String> = get("subsystems")
        .split([';', '；', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    subsystems.sort();
    subsystems.dedup();
    if subsystems.iter().any(|s| {
        !s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }) {
        return Err(RowError::new(
            "bad_subsystems",
            "subsystems：子系统编码格式不正确",
        ));
    }
    let (display_name, subject, contact_mobile) = match rules.kind {
        RecordKind::Unit => {
            let name = get("unit_name");
            if name.chars().count() > 100 {
                return Err(RowError::new(
                    "bad_unit_name",
                    "unit_name 长度不能超过 100 字",
                ));
            }
            let uscc = Uscc::parse(get("uscc")).map_err(|e| field_error("bad_uscc", "uscc", e))?;
            let mobile = match get("contact_mobile") {
                "" => None,
                m => Some(
                    Mobile::parse(m)
                        .map_err(|e| field_error("bad_mobile", "contact_mobile", e))?
                        .as_str()
                        .to_owned(),
                ),
            };
            let approved = match get("approved") {
                "" | "0" | "否" | "no" | "false" => false,
                "1" | "是" | "yes" | "true" => true,
                _ => {
                    return Err(RowError::new(
                        "bad_approved",
                        "approved：请填写 是/否（或 1/0）",
                    ))
                }
            };
            (
                name.to_owned(),
                Subject::Unit {
                    uscc: uscc.as_str().to_owned(),
                    approved,
                },
                mobile,
            )
        }
        RecordKind::Person => {
            let user_type = UserType::parse(get("user_type")).ok_or_else(|| {
                RowError::new(
                    "bad_user_type",
                    "user_type 须为 declarant（申报用户）或 expert（专家用户）",
                )
            })?;
            let name = get("name");
            if name.chars().count() > 50 {
                return Err(RowError::new("bad_name", "name 长度不能超过 50 字"));
            }
            let mobile =
                Mobile::parse(get("mobile")).map_err(|e| field_error("bad_mobile", "mobile", e))?;
            let document = match get("id_number") {
                "" => None,
                number => {
                    let kind = match get("id_type") {
                        "" => IdDocumentType::ResidentIdCard,
                        code => IdDocumentType::from_code(code).ok_or_else(|| {
                            RowError::new("bad_id_type", "id_type：证件类型不正确")
                        })?,
                    };
                    let doc = IdDocument::parse(kind, number)
                        .map_err(|e| field_error("bad_id_number", "id_number", e))?;
                    Some((kind.code().to_owned(), doc.number().to_owned()))
                }
            };
            (
                name.to_owned(),
                Subject::Person {
                    user_type,
                    mobile: mobile.as_str().to_owned(),
                    document,
                },
                None,
            )
        }
    };
    let mut digest_input = String::new();
    for column in rules.kind.columns() {
        digest_input.push_str(get(column));
        digest_input.push('\u{1f}');
    }
    digest_input.push_str(rules.scheme.as_str());
    Ok(LegacyRow {
        line,
        legacy_id: legacy_id.to_owned(),
        display_name,
        login,
        subject,
        contact_mobile,
        email,
        subsystems,
        digest: crypto::sha256_hex(digest_input.as_bytes()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(kind: RecordKind) -> RowRules {
        RowRules {
            kind,
            scheme: HashScheme::Md5,
            salt_position: SaltPosition::Suffix,
        }
    }

    fn parse(kind: RecordKind, text: &str) -> Vec<Result<LegacyRow, RowError>> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let header = Header::parse(kind, reader.headers().unwrap()).unwrap();
        reader
            .records()
            .enumerate()
            .map(|(i, r)| parse_row(&rules(kind), &header, &r.unwrap(), i as u64 + 2))
            .collect()
    }

    const MD5: &str = "5f4dcc3b5aa765d61d8327deb882cf99";

    #[test]
    fn unit_rows_are_checked() {
        let text = format!(
            "legacy_id,login_name,password_hash,password_salt,unit_name,uscc,subsystems\n\
             u1,91110108MA01ET88XL,{MD5},,火炬测试公司,91110108MA01ET88XL,gaoqi;kexiao\n\
             u2,91110108MA01ET88XL,{MD5},,火炬测试公司,91110108MA01ET88XA,\n\
             u3,x,nothex,,火炬测试公司,91110108MA01ET88XL,\n\
             ,x,{MD5},,火炬测试公司,91110108MA01ET88XL,\n\
             u5,,,,只有历史的公司,91110108MA01ET88XL,\n"
        );
        let rows = parse(RecordKind::Unit, &text);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.subsystems, ["gaoqi", "kexiao"]);
        assert!(first
            .login
            .as_ref()
            .unwrap()
            .password_hash
            .starts_with("legacy:md5:"));
        assert_eq!(rows[1].as_ref().err().unwrap().code, "bad_uscc");
        assert_eq!(rows[2].as_ref().err().unwrap().code, "bad_password_hash");
        assert_eq!(rows[3].as_ref().err().unwrap().code, "missing_field");
        assert!(rows[4].as_ref().unwrap().login.is_none());
    }

    #[test]
    fn person_rows_are_checked() {
        let text = "legacy_id,user_type,name,id_type,id_number,mobile\n\
             p1,专家用户,王五,,11010519491231002X,13800001111\n\
             p2,declarant,王五,,110105194912310021,13800001111\n\
             p3,boss,王五,,,13800001111\n\
             p4,expert,王五,,,1380000\n";
        let rows = parse(RecordKind::Person, text);
        let Subject::Person {
            user_type,
            document,
            ..
        } = &rows[0].as_ref().unwrap().subject
        else {
            panic!()
        };
        assert_eq!(*user_type, UserType::Expert);
        assert_eq!(document.as_ref().unwrap().0, "resident_id_card");
        assert_eq!(rows[1].as_ref().err().unwrap().code, "bad_id_number");
        assert_eq!(rows[2].as_ref().err().unwrap().code, "bad_user_type");
        assert_eq!(rows[3].as_ref().err().unwrap().code, "bad_mobile");
        // Messages never carry the value refused.
        assert!(!rows[1].as_ref().err().unwrap().message.contains("110105"));
    }

    #[test]
    fn gbk_and_utf8_decode_alike() {
        let text = "legacy_id,unit_name\nu1,火炬测试公司\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        assert_ne!(&gbk[..], text.as_bytes());
        assert_eq!(decode(&gbk, Encoding::Auto).unwrap(), text);
        assert_eq!(decode(&gbk, Encoding::Gbk).unwrap(), text);
        assert!(decode(&gbk, Encoding::Utf8).is_err());
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(decode(&bom, Encoding::Auto).unwrap(), text);
    }

    /// A reader that hands out one byte a call, so every multi-byte character is split
    /// between reads.
    struct ByteByByte<'a>(&'a [u8]);

    impl std::io::Read for ByteByByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((b, rest)), Some(slot)) => {
                    *slot = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn decoding_streams_across_split_characters() {
        use std::io::Read;
        let text = format!(
            "legacy_id,unit_name\n{}",
            "u1,火炬测试公司\nu2,𠀋𠀋 ok\n".repeat(3000)
        );
        let (gbk, _, _) = encoding_rs::GB18030.encode(&text);
        for (bytes, encoding) in [
            (text.as_bytes(), TextEncoding::Utf8),
            (&gbk[..], TextEncoding::Gbk),
        ] {
            let mut out = String::new();
            DecodingReader::new(ByteByByte(bytes), encoding)
                .read_to_string(&mut out)
                .unwrap();
            assert_eq!(out, text, "{encoding:?}");
            assert_eq!(count_records(ByteByByte(bytes), encoding).unwrap(), 6000);
        }
        // A bad byte near the end is an error, not a replacement character.
        let mut bad = text.as_bytes().to_vec();
        let at = bad.len() - 3;
        bad[at] = 0xFF;
        assert_eq!(
            count_records(&bad[..], TextEncoding::Utf8),
            Err("the file is not valid UTF-8 text".to_owned())
        );
    }
}
