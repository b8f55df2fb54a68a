//! The attachments of a unit's completion (附件材料): three slots, several files each, at most
//! 10 MB per file, PDF, JPEG or PNG as told by the content. A file named `.pdf`, `.jpg`,
//! `.jpeg` or `.png` must have that content (a PNG named `x.pdf` is refused, not stored as
//! either); a name without one of these extensions is refused too, since a download would
//! hand it to the reviewer under a misleading name.

use super::{completion, Actor, DirResult, DirectoryError};
use crate::{
    services::Services,
    store::{self, directory::UnitRecord, unit_files::Attachment, uploads::NewUpload},
};

/// The slots: code and what the completion page calls them.
pub const SLOTS: [(&str, &str); 3] = [
    ("business_licence", "企业营业执照或事业单位法人证书"),
    ("risk_commitment", "签字盖章的风险承诺书"),
    ("bank_permit", "开户许可证或开户银行出具的账户信息"),
];

/// Largest accepted file (SPEC §3: ≤ 10 MB).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Files per slot; a bound on what one unit may store.
pub const MAX_FILES_PER_SLOT: i64 = 10;
const MAX_NAME_CHARS: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Pdf,
    Jpeg,
    Png,
}

impl FileKind {
    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Png => "image/png",
        }
    }

    fn label(self) -> &'static str {
        match self {
            FileKind::Pdf => "PDF 文件",
            FileKind::Jpeg => "JPG 图片",
            FileKind::Png => "PNG 图片",
        }
    }

    /// What the content says, from its signature.
    pub fn sniff(data: &[u8]) -> Option<FileKind> {
        if data.starts_with(b"%PDF-") {
            Some(FileKind::Pdf)
        } else if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(FileKind::Jpeg)
        } else if data.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(FileKind::Png)
        } else {
            None
        }
    }

    /// What the file name claims.
    fn from_name(name: &str) -> Option<FileKind> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "pdf" => Some(FileKind::Pdf),
            "jpg" | "jpeg" => Some(FileKind::Jpeg),
            "png" => Some(FileKind::Png),
            _ => None,
        }
    }
}

/// Why a file was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadRefusal {
    /// More than [`MAX_FILE_BYTES`] (413).
    TooLarge,
    /// Neither PDF, JPEG nor PNG, or an empty file (415).
    Unsupported,
    /// The content is `actual`, the name says otherwise (415).
    Mismatch { actual: FileKind },
}

impl UploadRefusal {
    pub fn code(self) -> &'static str {
        match self {
            UploadRefusal::TooLarge => "file_too_large",
            UploadRefusal::Unsupported => "unsupported_type",
            UploadRefusal::Mismatch { .. } => "type_mismatch",
        }
    }

    pub fn message(self) -> String {
        match self {
            UploadRefusal::TooLarge => "文件不能超过 10 MB".into(),
            UploadRefusal::Unsupported => "只能上传 PDF、JPG 或 PNG 文件".into(),
            UploadRefusal::Mismatch { actual } => {
                format!("文件内容是{}，与文件扩展名不符", actual.label())
            }
        }
    }
}

/// The kind of an uploaded file, checked by its content against its name.
pub fn check_file(filename: &str, data: &[u8]) -> Result<FileKind, UploadRefusal> {
    if data.len() > MAX_FILE_BYTES {
        return Err(UploadRefusal::TooLarge);
    }
    let actual = FileKind::sniff(data).ok_or(UploadRefusal::Unsupported)?;
    match FileKind::from_name(filename) {
        Some(claimed) if claimed == actual => Ok(actual),
        Some(_) => Err(UploadRefusal::Mismatch { actual }),
        None => Err(UploadRefusal::Unsupported),
    }
}

fn slot_known(slot: &str) -> DirResult<()> {
    if SLOTS.iter().any(|(s, _)| *s == slot) {
        Ok(())
    } else {
        Err(DirectoryError::NotFound(format!(
            "no attachment slot {slot:?}"
        )))
    }
}

/// Who may see a unit's files: its admin, its department's reviewers, platform admins.
pub fn may_read(actor: &Actor, unit: &UnitRecord) -> bool {
    actor.is_admin_of(&unit.id)
        || actor.is_platform_admin()
        || unit
            .department_id
            .as_deref()
            .is_some_and(|d| actor.reviews(d))
}

fn require_read(actor: &Actor, unit: &UnitRecord) -> DirResult<()> {
    if may_read(actor, unit) {
        Ok(())
    } else {
        Err(DirectoryError::Forbidden(
            "only the unit's admin, its department's reviewers and platform admins may see its files"
                .into(),
        ))
    }
}

/// The unit's admin stores `data` as a file of `slot` while the unit is editable.
pub async fn upload(
    state: &Services,
    actor: &Actor,
    unit: &UnitRecord,
    slot: &str,
    filename: &str,
    data: Vec<u8>,
) -> DirResult<Attachment> {
    actor.require_unit_admin(&unit.id)?;
    slot_known(slot)?;
    completion::require_editable(unit)?;
    let filename = filename.trim();
    if filename.is_empty()
        || filename.chars().count() > MAX_NAME_CHARS
        || filename
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
    {
        return Err(DirectoryError::Invalid(format!(
            "filename must be 1 to {MAX_NAME_CHARS} characters without / \\ or control characters"
        )));
    }
    let kind = check_file(filename, &data).map_err(DirectoryError::Upload)?;
    let now = state.clock.now();
    let upload = NewUpload {
        id: uuid::Uuid::new_v4().to_string(),
        owner_account_id: Some(actor.account.id.clone()),
        purpose: format!("unit_{slot}"),
        content_type: kind.content_type(),
        data,
    };
    let a = Attachment {
        id: uuid::Uuid::new_v4().to_string(),
        org_id: unit.id.clone(),
        slot: slot.to_owned(),
        filename: filename.to_owned(),
        content_type: kind.content_type().to_owned(),
        size: upload.data.len() as i64,
        created_at: now,
        upload_id: upload.id.clone(),
    };
    if !store::unit_files::insert(
        &state.db,
        &state.pii,
        &a,
        &upload,
        &completion::EDITABLE,
        MAX_FILES_PER_SLOT,
        now,
    )
    .await?
    {
        return Err(DirectoryError::Conflict(format!(
            "the unit is not editable, or the slot already holds {MAX_FILES_PER_SLOT} files"
        )));
    }
    Ok(a)
}

pub async fn list(
    state: &Services,
    actor: &Actor,
    unit: &UnitRecord,
) -> DirResult<Vec<Attachment>> {
    require_read(actor, unit)?;
    Ok(store::unit_files::list(&state.db, &unit.id).await?)
}

/// One file and its bytes.
pub async fn download(
    state: &Services,
    actor: &Actor,
    unit: &UnitRecord,
    id: &str,
) -> DirResult<(Attachment, Vec<u8>)> {
    require_read(actor, unit)?;
    let a = store::unit_files::find(&state.db, &unit.id, id)
        .await?
        .ok_or_else(|| DirectoryError::NotFound("no such attachment".into()))?;
    let (_, data, _) = store::uploads::get(&state.db, &state.pii, &a.upload_id)
        .await?
        .ok_or_else(|| DirectoryError::NotFound("no such attachment".into()))?;
    Ok((a, data))
}

pub async fn delete(state: &Services, actor: &Actor, unit: &UnitRecord, id: &str) -> DirResult<()> {
    actor.require_unit_admin(&unit.id)?;
    match store::unit_files::delete(
        &state.db,
        &unit.id,
        id,
        &completion::EDITABLE,
        state.clock.now(),
    )
    .await?
    {
        None => Err(DirectoryError::NotFound("no such attachment".into())),
        Some(false) => Err(DirectoryError::Conflict(
            "files can be deleted only while the unit is registered or returned".into(),
        )),
        Some(true) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0];

    #[test]
    fn attachments_checked_by_content() {
        assert_eq!(check_file("a.pdf", b"%PDF-1.7\n"), Ok(FileKind::Pdf));
        assert_eq!(check_file("A.PNG", PNG), Ok(FileKind::Png));
        assert_eq!(
            check_file("x.jpeg", &[0xFF, 0xD8, 0xFF, 0xE0]),
            Ok(FileKind::Jpeg)
        );
        assert_eq!(
            check_file("licence.pdf", PNG),
            Err(UploadRefusal::Mismatch {
                actual: FileKind::Png
            })
        );
        assert_eq!(
            check_file("a.pdf", b"MZ\x90"),
            Err(UploadRefusal::Unsupported)
        );
        assert_eq!(check_file("a.exe", PNG), Err(UploadRefusal::Unsupported));
        assert_eq!(check_file("a.pdf", b""), Err(UploadRefusal::Unsupported));
        let big = vec![b'%'; MAX_FILE_BYTES + 1];
        assert_eq!(check_file("a.pdf", &big), Err(UploadRefusal::TooLarge));
    }
}
