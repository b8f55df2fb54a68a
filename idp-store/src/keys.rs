//! Signing-key rows. Private keys are stored sealed under the key-encryption key.

use crate::error::StoreError;
use sqlx::Row;

use super::Db;

#[derive(Clone, Debug)]
pub struct KeyRow {
    pub kid: String,
    pub alg: String,
    pub state: String,
    pub private_key_sealed: String,
    pub public_jwk: String,
    pub created_at: i64,
}

/// The active and previous keys: the ones JWKS publishes and tokens may be verified with.
pub async fn published(db: &Db) -> Result<Vec<KeyRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT kid, alg, state, private_key_sealed, public_jwk, created_at FROM signing_keys \
         WHERE state IN ('active', 'previous') ORDER BY created_at DESC, kid",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(KeyRow {
                kid: r.try_get("kid")?,
                alg: r.try_get("alg")?,
                state: r.try_get("state")?,
                private_key_sealed: r.try_get("private_key_sealed")?,
                public_jwk: r.try_get("public_jwk")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// A fingerprint of the published key ids, cheap enough to poll for rotations.
pub async fn published_fingerprint(db: &Db) -> Result<String, StoreError> {
    let rows = sqlx::query(
        "SELECT kid, state FROM signing_keys WHERE state IN ('active', 'previous') ORDER BY kid",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut out = String::new();
    for r in rows {
        let kid: String = r.try_get("kid")?;
        let state: String = r.try_get("state")?;
        out.push_str(&kid);
        out.push(':');
        out.push_str(&state);
        out.push(';');
    }
    Ok(out)
}

/// Inserts a first active key; false when another instance created one first.
pub async fn insert_first_active(db: &Db, row: &KeyRow) -> Result<bool, StoreError> {
    let res = sqlx::query(
        "INSERT INTO signing_keys (kid, alg, state, private_key_sealed, public_jwk, created_at) \
         VALUES ($1, $2, 'active', $3, $4, $5)",
    )
    .bind(&row.kid)
    .bind(&row.alg)
    .bind(&row.private_key_sealed)
    .bind(&row.public_jwk)
    .bind(row.created_at)
    .execute(&db.pool)
    .await;
    match res {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Retires the previous key, demotes the active one to previous and activates `row`, in one
/// transaction so that there is never an algorithm without an active key.
pub async fn rotate(db: &Db, row: &KeyRow) -> Result<(), StoreError> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("UPDATE signing_keys SET state = 'retired' WHERE alg = $1 AND state = 'previous'")
        .bind(&row.alg)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE signing_keys SET state = 'previous' WHERE alg = $1 AND state = 'active'")
        .bind(&row.alg)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO signing_keys (kid, alg, state, private_key_sealed, public_jwk, created_at) \
         VALUES ($1, $2, 'active', $3, $4, $5)",
    )
    .bind(&row.kid)
    .bind(&row.alg)
    .bind(&row.private_key_sealed)
    .bind(&row.public_jwk)
    .bind(row.created_at)
    .execute(&mut *tx)
    .await?;
    Ok(tx.commit().await?)
}

/// All keys with their state, newest first, for the `keys list` command.
pub async fn all(db: &Db) -> Result<Vec<(String, String, String, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT kid, alg, state, created_at FROM signing_keys ORDER BY created_at DESC, kid",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("kid")?,
                r.try_get("alg")?,
                r.try_get("state")?,
                r.try_get("created_at")?,
            ))
        })
        .collect()
}
