//! Scopes an account has agreed to release to a client.

use crate::error::StoreError;
use sqlx::Row;

use super::{from_json_list, to_json_list, Db};

pub async fn granted_scopes(
    db: &Db,
    account_id: &str,
    client_id: &str,
) -> Result<Vec<String>, StoreError> {
    let row = sqlx::query("SELECT scopes FROM consents WHERE account_id = $1 AND client_id = $2")
        .bind(account_id)
        .bind(client_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(match row {
        Some(r) => from_json_list(&r.try_get::<String, _>("scopes")?),
        None => Vec::new(),
    })
}

pub async fn save(
    db: &Db,
    account_id: &str,
    client_id: &str,
    scopes: &[String],
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO consents (account_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id, client_id) DO UPDATE SET scopes = excluded.scopes, \
         granted_at = excluded.granted_at",
    )
    .bind(account_id)
    .bind(client_id)
    .bind(to_json_list(scopes))
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}
