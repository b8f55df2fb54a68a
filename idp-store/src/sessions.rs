//! The index of login sessions per account. A session itself lives in the short-lived store
//! (it expires by itself); this table lets a password change or a disable find and end every
//! session of an account, and lets the account console list them.

use crate::error::StoreError;
use sqlx::Row;

use super::Db;

/// One login session as the index knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub sid: String,
    pub account_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

pub async fn record(db: &Db, s: &SessionRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO login_sessions (sid, account_id, created_at, expires_at, client_ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (sid) DO UPDATE SET expires_at = EXCLUDED.expires_at",
    )
    .bind(&s.sid)
    .bind(&s.account_id)
    .bind(s.created_at)
    .bind(s.expires_at)
    .bind(&s.client_ip)
    .bind(&s.user_agent)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn extend(db: &Db, sid: &str, expires_at: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE login_sessions SET expires_at = $1 WHERE sid = $2")
        .bind(expires_at)
        .bind(sid)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn remove(db: &Db, sid: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM login_sessions WHERE sid = $1")
        .bind(sid)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The unexpired sessions of an account, newest first.
pub async fn list_for_account(
    db: &Db,
    account_id: &str,
    now: i64,
) -> Result<Vec<SessionRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT sid, account_id, created_at, expires_at, client_ip, user_agent FROM login_sessions \
         WHERE account_id = $1 AND expires_at > $2 ORDER BY created_at DESC, sid",
    )
    .bind(account_id)
    .bind(now)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SessionRecord {
                sid: r.try_get("sid")?,
                account_id: r.try_get("account_id")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
                client_ip: r.try_get("client_ip")?,
                user_agent: r.try_get("user_agent")?,
            })
        })
        .collect()
}

/// Forgets sessions that have expired by themselves.
pub async fn purge_expired(db: &Db, now: i64) -> Result<u64, StoreError> {
    let res = sqlx::query("DELETE FROM login_sessions WHERE expires_at < $1")
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(res.rows_affected())
}
