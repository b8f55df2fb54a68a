//! The log of claim changes (migration 0013): rows written by database triggers whenever an
//! account's claims may have changed, read by each instance's claims cache to forget them.

use sqlx::Row;

use crate::{Backend, Db, StoreError};

/// One change: the account whose claims changed, or the unit whose members' claims did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimChange {
    pub seq: i64,
    pub account_id: Option<String>,
    pub org_id: Option<String>,
    pub at_ms: i64,
}

fn decode(r: &sqlx::any::AnyRow) -> Result<ClaimChange, StoreError> {
    Ok(ClaimChange {
        seq: r.try_get("seq")?,
        account_id: r.try_get("account_id")?,
        org_id: r.try_get("org_id")?,
        at_ms: r.try_get("at_ms")?,
    })
}

/// The changes after `seq`, oldest first, at most `limit`.
pub async fn after_seq(db: &Db, seq: i64, limit: i64) -> Result<Vec<ClaimChange>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, account_id, org_id, at_ms FROM claim_changes \
         WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(seq)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(decode).collect()
}

/// The changes of the last `window_ms`, by the database's clock, at most `limit`: on
/// PostgreSQL a transaction can commit after a later-numbered one was already read, so a
/// reader that only follows `seq` could step over it; re-reading a window by time catches it.
pub async fn recent(db: &Db, window_ms: i64, limit: i64) -> Result<Vec<ClaimChange>, StoreError> {
    let sql = format!(
        "SELECT seq, account_id, org_id, at_ms FROM claim_changes \
         WHERE at_ms > {} - $1 ORDER BY seq LIMIT $2",
        now_ms(db)
    );
    let rows = sqlx::query(&sql)
        .bind(window_ms)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(decode).collect()
}

/// The database's clock in milliseconds, as the triggers of migration 0013 write it.
fn now_ms(db: &Db) -> &'static str {
    match db.backend {
        Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
        Backend::Postgres => "(extract(epoch FROM clock_timestamp()) * 1000)::BIGINT",
    }
}

/// The newest change's number (0 when there is none): where a new reader starts.
pub async fn last_seq(db: &Db) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS seq FROM claim_changes")
        .fetch_one(&db.pool)
        .await?;
    Ok(row.try_get("seq")?)
}

/// Deletes the changes older than `keep_ms`.
pub async fn purge(db: &Db, keep_ms: i64) -> Result<u64, StoreError> {
    let sql = format!(
        "DELETE FROM claim_changes WHERE at_ms < {} - $1",
        now_ms(db)
    );
    let res = sqlx::query(&sql).bind(keep_ms).execute(&db.pool).await?;
    Ok(res.rows_affected())
}
