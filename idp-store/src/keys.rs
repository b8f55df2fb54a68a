//! Signing-key rows. Private keys are stored sealed under the key-encryption key. Which key
//! signs when is derived from `generation` and `activates_at` (idp-core `key_timeline`); the
//! stored state only tells a published key from a withdrawn one.

use crate::error::StoreError;
use sqlx::{any::AnyRow, Row};

use super::Db;

#[derive(Clone, Debug)]
pub struct KeyRow {
    pub kid: String,
    pub alg: String,
    /// `published` or `retired`.
    pub state: String,
    pub private_key_sealed: String,
    pub public_jwk: String,
    pub created_at: i64,
    /// Position in the algorithm's timeline; a rotation appends the next one.
    pub generation: i64,
    /// When the key starts signing.
    pub activates_at: i64,
}

const COLUMNS: &str =
    "kid, alg, state, private_key_sealed, public_jwk, created_at, generation, activates_at";

fn row(r: &AnyRow) -> Result<KeyRow, StoreError> {
    Ok(KeyRow {
        kid: r.try_get("kid")?,
        alg: r.try_get("alg")?,
        state: r.try_get("state")?,
        private_key_sealed: r.try_get("private_key_sealed")?,
        public_jwk: r.try_get("public_jwk")?,
        created_at: r.try_get("created_at")?,
        generation: r.try_get("generation")?,
        activates_at: r.try_get("activates_at")?,
    })
}

/// The keys not yet withdrawn, in timeline order per algorithm.
pub async fn published(db: &Db) -> Result<Vec<KeyRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM signing_keys WHERE state = 'published' ORDER BY alg, generation"
    ))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(row).collect()
}

/// A fingerprint of the published key ids, cheap enough to poll for rotations.
pub async fn published_fingerprint(db: &Db) -> Result<String, StoreError> {
    let rows = sqlx::query("SELECT kid FROM signing_keys WHERE state = 'published' ORDER BY kid")
        .fetch_all(&db.pool)
        .await?;
    let mut out = String::new();
    for r in rows {
        let kid: String = r.try_get("kid")?;
        out.push_str(&kid);
        out.push(';');
    }
    Ok(out)
}

/// Appends `row` to its algorithm's timeline; false when that generation exists already
/// (another instance created the first key, or another rotation came first).
pub async fn append(db: &Db, row: &KeyRow) -> Result<bool, StoreError> {
    let res = sqlx::query(&format!(
        "INSERT INTO signing_keys ({COLUMNS}) VALUES ($1, $2, 'published', $3, $4, $5, $6, $7)"
    ))
    .bind(&row.kid)
    .bind(&row.alg)
    .bind(&row.private_key_sealed)
    .bind(&row.public_jwk)
    .bind(row.created_at)
    .bind(row.generation)
    .bind(row.activates_at)
    .execute(&db.pool)
    .await;
    match res {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Withdraws keys whose every token has expired, so that they are no longer read.
pub async fn withdraw(db: &Db, kids: &[&str]) -> Result<(), StoreError> {
    for kid in kids {
        sqlx::query("UPDATE signing_keys SET state = 'retired' WHERE kid = $1")
            .bind(*kid)
            .execute(&db.pool)
            .await?;
    }
    Ok(())
}

/// All keys, withdrawn ones too, in timeline order per algorithm, for `keys list`.
pub async fn all(db: &Db) -> Result<Vec<KeyRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM signing_keys ORDER BY alg, generation"
    ))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(row).collect()
}
