//! The audit log table: append and read back. What the entries mean lives in `crate::audit`.

use crate::error::StoreError;
use sqlx::{any::AnyRow, Row};

use super::Db;

/// An entry to append. `event` is a stable snake_case name; `detail` a JSON object text.
#[derive(Clone, Copy, Debug)]
pub struct NewAuditRow<'a> {
    pub at: i64,
    pub event: &'a str,
    pub actor_account_id: Option<&'a str>,
    pub subject_account_id: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub client_ip: Option<&'a str>,
    pub detail: &'a str,
}

/// An entry as stored; `id` grows with every entry, so it orders entries within one second.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub event: String,
    pub actor_account_id: Option<String>,
    pub subject_account_id: Option<String>,
    pub client_id: Option<String>,
    pub client_ip: Option<String>,
    pub detail: String,
}

const SELECT: &str = "SELECT id, at, event, actor_account_id, subject_account_id, client_id, \
    client_ip, detail FROM audit_log";

fn decode(r: &AnyRow) -> Result<AuditRow, StoreError> {
    Ok(AuditRow {
        id: r.try_get("id")?,
        at: r.try_get("at")?,
        event: r.try_get("event")?,
        actor_account_id: r.try_get("actor_account_id")?,
        subject_account_id: r.try_get("subject_account_id")?,
        client_id: r.try_get("client_id")?,
        client_ip: r.try_get("client_ip")?,
        detail: r.try_get("detail")?,
    })
}

pub async fn record(db: &Db, row: NewAuditRow<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, event, actor_account_id, subject_account_id, client_id, \
         client_ip, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(row.at)
    .bind(row.event)
    .bind(row.actor_account_id)
    .bind(row.subject_account_id)
    .bind(row.client_id)
    .bind(row.client_ip)
    .bind(row.detail)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The newest `limit` entries about one account, newest first.
pub async fn list_for_subject(
    db: &Db,
    subject_account_id: &str,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    let sql = format!("{SELECT} WHERE subject_account_id = $1 ORDER BY at DESC, id DESC LIMIT $2");
    let rows = sqlx::query(&sql)
        .bind(subject_account_id)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(decode).collect()
}

/// The newest `limit` entries, newest first.
pub async fn list_recent(db: &Db, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
    let sql = format!("{SELECT} ORDER BY at DESC, id DESC LIMIT $1");
    let rows = sqlx::query(&sql).bind(limit).fetch_all(&db.pool).await?;
    rows.iter().map(decode).collect()
}
