//! 信息更新记录: who changed which field of an account or unit, when, from what to what.
//! Values of personal fields are recorded masked (as pages show them), never in clear.

use crate::error::StoreError;
use sqlx::Row;

use super::Db;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfoUpdate {
    pub account_id: Option<String>,
    pub org_id: Option<String>,
    /// Who made the change: the account itself, an admin, or `None` for the system.
    pub actor_account_id: Option<String>,
    /// A stable field name (`mobile`, `email`, `login_name`, `real_name`, `id_number`…).
    pub field: String,
    pub old_value: String,
    pub new_value: String,
    pub at: i64,
}

pub async fn record(db: &Db, u: &InfoUpdate) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO info_updates (account_id, org_id, actor_account_id, field, old_value, \
         new_value, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&u.account_id)
    .bind(&u.org_id)
    .bind(&u.actor_account_id)
    .bind(&u.field)
    .bind(&u.old_value)
    .bind(&u.new_value)
    .bind(u.at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The changes of an account, newest first.
pub async fn for_account(
    db: &Db,
    account_id: &str,
    limit: i64,
) -> Result<Vec<InfoUpdate>, StoreError> {
    let rows = sqlx::query(
        "SELECT account_id, org_id, actor_account_id, field, old_value, new_value, at \
         FROM info_updates WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(account_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(InfoUpdate {
                account_id: r.try_get("account_id")?,
                org_id: r.try_get("org_id")?,
                actor_account_id: r.try_get("actor_account_id")?,
                field: r.try_get("field")?,
                old_value: r.try_get("old_value")?,
                new_value: r.try_get("new_value")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
}
