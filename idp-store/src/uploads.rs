//! Uploaded images (ID cards, licences) kept sealed in the database, so that they share the
//! transaction of the review or appeal they belong to: either both exist or neither.

use crate::error::StoreError;
use sqlx::Row;

use super::Db;
use crate::pii::{PiiField, PiiVault};

/// A checked upload, ready to store.
#[derive(Clone, Debug)]
pub struct NewUpload {
    pub id: String,
    pub owner_account_id: Option<String>,
    /// `id_front` | `id_back` | `licence` | `other`
    pub purpose: String,
    pub content_type: &'static str,
    pub data: Vec<u8>,
}

pub(crate) async fn insert_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    pii: &PiiVault,
    u: &NewUpload,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO uploads (id, owner_account_id, purpose, content_type, size_bytes, \
         data_sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&u.id)
    .bind(&u.owner_account_id)
    .bind(&u.purpose)
    .bind(u.content_type)
    .bind(u.data.len() as i64)
    .bind(pii.seal_bytes(PiiField::Document, &u.data))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An upload, opened: (content type, bytes, owner).
pub async fn get(
    db: &Db,
    pii: &PiiVault,
    id: &str,
) -> Result<Option<(String, Vec<u8>, Option<String>)>, StoreError> {
    let row = sqlx::query(
        "SELECT content_type, data_sealed, owner_account_id FROM uploads WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let sealed: String = r.try_get("data_sealed")?;
    let data = pii
        .open_bytes(PiiField::Document, &sealed)
        .ok_or_else(|| sqlx::Error::Decode("an upload does not open under this KEK".into()))?;
    Ok(Some((
        r.try_get("content_type")?,
        data,
        r.try_get("owner_account_id")?,
    )))
}
