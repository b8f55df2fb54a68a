//! The attachments of a unit's completion: one row per file in `unit_attachments`, its bytes
//! sealed in `uploads`, both written (and deleted) in one transaction.

use crate::error::StoreError;
use sqlx::{any::AnyRow, Row};

use super::{
    directory::in_list,
    uploads::{self, NewUpload},
    Db,
};
use crate::pii::PiiVault;

#[derive(Clone, Debug)]
pub struct Attachment {
    pub id: String,
    pub org_id: String,
    pub slot: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub created_at: i64,
    pub upload_id: String,
}

const SELECT: &str = "SELECT f.id, f.org_id, f.slot, f.filename, f.created_at, f.upload_id, \
    u.content_type, u.size_bytes FROM unit_attachments f JOIN uploads u ON u.id = f.upload_id";

fn decode(r: &AnyRow) -> Result<Attachment, StoreError> {
    Ok(Attachment {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        slot: r.try_get("slot")?,
        filename: r.try_get("filename")?,
        content_type: r.try_get("content_type")?,
        size: r.try_get("size_bytes")?,
        created_at: r.try_get("created_at")?,
        upload_id: r.try_get("upload_id")?,
    })
}

/// Locks the unit's row while it is in one of `statuses` (its `updated_at` is touched);
/// false when it is not.
async fn hold_unit(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    org_id: &str,
    statuses: &[&str],
    now: i64,
) -> Result<bool, StoreError> {
    let sql = format!(
        "UPDATE organizations SET updated_at = $1 WHERE id = $2 AND status IN ({})",
        in_list(3, statuses.len())
    );
    let mut q = sqlx::query(&sql).bind(now).bind(org_id);
    for s in statuses {
        q = q.bind(*s);
    }
    Ok(q.execute(&mut **tx).await?.rows_affected() == 1)
}

/// Stores `file` as attachment `a` while the unit is in one of `statuses` and its slot holds
/// fewer than `max_per_slot` files; `Ok(false)` (nothing written) otherwise.
pub async fn insert(
    db: &Db,
    pii: &PiiVault,
    a: &Attachment,
    file: &NewUpload,
    statuses: &[&str],
    max_per_slot: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let mut tx = db.pool.begin().await?;
    if !hold_unit(&mut tx, &a.org_id, statuses, now).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    let n: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM unit_attachments WHERE org_id = $1 AND slot = $2")
            .bind(&a.org_id)
            .bind(&a.slot)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
    if n >= max_per_slot {
        tx.rollback().await?;
        return Ok(false);
    }
    uploads::insert_in(&mut tx, pii, file, now).await?;
    sqlx::query(
        "INSERT INTO unit_attachments (id, org_id, slot, filename, upload_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&a.id)
    .bind(&a.org_id)
    .bind(&a.slot)
    .bind(&a.filename)
    .bind(&file.id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The unit's attachments by slot, then upload time.
pub async fn list(db: &Db, org_id: &str) -> Result<Vec<Attachment>, StoreError> {
    let sql = format!("{SELECT} WHERE f.org_id = $1 ORDER BY f.slot, f.created_at, f.id");
    let rows = sqlx::query(&sql).bind(org_id).fetch_all(&db.pool).await?;
    rows.iter().map(decode).collect()
}

pub async fn find(db: &Db, org_id: &str, id: &str) -> Result<Option<Attachment>, StoreError> {
    let sql = format!("{SELECT} WHERE f.org_id = $1 AND f.id = $2");
    let row = sqlx::query(&sql)
        .bind(org_id)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// How many files each slot of the unit holds.
pub async fn count_by_slot(db: &Db, org_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT slot, COUNT(*) AS n FROM unit_attachments WHERE org_id = $1 GROUP BY slot",
    )
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("slot")?, r.try_get("n")?)))
        .collect()
}

/// Deletes the attachment and its bytes while the unit is in one of `statuses`: `Ok(None)`
/// when there is no such attachment, `Ok(Some(false))` when the unit is not editable.
pub async fn delete(
    db: &Db,
    org_id: &str,
    id: &str,
    statuses: &[&str],
    now: i64,
) -> Result<Option<bool>, StoreError> {
    let mut tx = db.pool.begin().await?;
    let row = sqlx::query("SELECT upload_id FROM unit_attachments WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        tx.rollback().await?;
        return Ok(None);
    };
    let upload_id: String = row.try_get("upload_id")?;
    if !hold_unit(&mut tx, org_id, statuses, now).await? {
        tx.rollback().await?;
        return Ok(Some(false));
    }
    sqlx::query("DELETE FROM unit_attachments WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM uploads WHERE id = $1")
        .bind(&upload_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(true))
}
