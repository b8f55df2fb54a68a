//! Attachment records. A file's row and the file itself appear together: the row is
//! inserted, the staged file moved into the file store, then the transaction commits; a
//! failure on the way leaves neither (see [`crate::files`]).

use sqlx::{any::AnyRow, Row};

use super::Db;
use crate::files::{FileStore, StagedFile};

const COLUMNS: &str =
    "id, declaration_id, slot, file_name, content_type, size, storage_key, uploaded_at";

#[derive(Clone, Debug)]
pub struct Attachment {
    pub id: String,
    pub declaration_id: String,
    pub slot: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub storage_key: String,
    pub uploaded_at: i64,
}

fn from_row(row: &AnyRow) -> Result<Attachment, sqlx::Error> {
    Ok(Attachment {
        id: row.try_get("id")?,
        declaration_id: row.try_get("declaration_id")?,
        slot: row.try_get("slot")?,
        file_name: row.try_get("file_name")?,
        content_type: row.try_get("content_type")?,
        size: row.try_get("size")?,
        storage_key: row.try_get("storage_key")?,
        uploaded_at: row.try_get("uploaded_at")?,
    })
}

pub struct NewAttachment<'a> {
    pub id: &'a str,
    pub declaration_id: &'a str,
    pub owner_sub: &'a str,
    pub slot: &'a str,
    pub file_name: &'a str,
    pub now: i64,
}

/// Why an attachment was not added.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// The declaration is not the owner's to edit (any more).
    #[error("the declaration is not editable")]
    NotEditable,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("file store: {0}")]
    Store(#[from] std::io::Error),
}

/// Records `staged` as an attachment of a declaration its owner may still edit, and moves it
/// into `files` in the same step.
pub async fn add(
    db: &Db,
    files: &dyn FileStore,
    new: NewAttachment<'_>,
    staged: StagedFile,
) -> Result<Attachment, AddError> {
    let mut tx = db.pool.begin().await?;
    // Taking the declaration's row first orders this upload after a concurrent submit.
    let editable = sqlx::query(
        "UPDATE declarations SET updated_at = $1 \
         WHERE id = $2 AND owner_sub = $3 AND state IN ('draft', 'returned')",
    )
    .bind(new.now)
    .bind(new.declaration_id)
    .bind(new.owner_sub)
    .execute(&mut *tx)
    .await?;
    if editable.rows_affected() != 1 {
        return Err(AddError::NotEditable);
    }
    let key = new.id.to_owned();
    let attachment = Attachment {
        id: new.id.to_owned(),
        declaration_id: new.declaration_id.to_owned(),
        slot: new.slot.to_owned(),
        file_name: new.file_name.to_owned(),
        content_type: staged.kind().mime().to_owned(),
        size: staged.size() as i64,
        storage_key: key.clone(),
        uploaded_at: new.now,
    };
    sqlx::query(
        "INSERT INTO attachments (id, declaration_id, slot, file_name, content_type, size, \
         storage_key, uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&attachment.id)
    .bind(&attachment.declaration_id)
    .bind(&attachment.slot)
    .bind(&attachment.file_name)
    .bind(&attachment.content_type)
    .bind(attachment.size)
    .bind(&attachment.storage_key)
    .bind(new.owner_sub)
    .bind(new.now)
    .execute(&mut *tx)
    .await?;
    // Dropping `tx` on an error rolls the row back; the staged file removes itself.
    files.commit(staged, &key).await?;
    if let Err(e) = tx.commit().await {
        if let Err(cleanup) = files.delete(&key).await {
            tracing::error!(error = %cleanup, "an unrecorded attachment file could not be removed");
        }
        return Err(e.into());
    }
    Ok(attachment)
}

pub async fn list(db: &Db, declaration_id: &str) -> Result<Vec<Attachment>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM attachments WHERE declaration_id = $1 ORDER BY uploaded_at, id"
    ))
    .bind(declaration_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Attachment>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM attachments WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Removes an attachment of a declaration its owner may still edit; `None` if it is not.
/// The file goes after the row is gone, so a crash between leaves an orphan file at worst,
/// never a row without its file.
pub async fn remove(
    db: &Db,
    files: &dyn FileStore,
    id: &str,
    owner_sub: &str,
    now: i64,
) -> Result<Option<Attachment>, sqlx::Error> {
    let Some(attachment) = get(db, id).await? else {
        return Ok(None);
    };
    let mut tx = db.pool.begin().await?;
    let editable = sqlx::query(
        "UPDATE declarations SET updated_at = $1 \
         WHERE id = $2 AND owner_sub = $3 AND state IN ('draft', 'returned')",
    )
    .bind(now)
    .bind(&attachment.declaration_id)
    .bind(owner_sub)
    .execute(&mut *tx)
    .await?;
    if editable.rows_affected() != 1 {
        return Ok(None);
    }
    sqlx::query("DELETE FROM attachments WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if let Err(e) = files.delete(&attachment.storage_key).await {
        tracing::warn!(error = %e, "a removed attachment's file stays behind");
    }
    Ok(Some(attachment))
}
