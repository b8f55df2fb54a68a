//! Refresh tokens, stored by digest. Each one belongs to a family (everything issued from one
//! authorization code); rotation marks the old token used, and presenting a used token again
//! revokes the whole family (RFC 9700 §4.14.2).

use crate::error::StoreError;
use sqlx::{any::AnyRow, Row};

use super::{from_json_list, to_json_list, Backend, Db};

#[derive(Clone, Debug)]
pub struct RefreshToken {
    pub token_hash: String,
    pub family_id: String,
    pub client_id: String,
    pub account_id: String,
    pub scope: String,
    pub sid: String,
    pub auth_time: i64,
    pub amr: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The access token issued alongside, revoked with the family.
    pub access_jti: String,
    pub access_exp: i64,
    /// The resources (RFC 8707) granted to the family; empty: the client's own audience.
    pub resources: Vec<String>,
    /// The RFC 7638 thumbprint of the DPoP key a public client's token is bound to: a refresh
    /// needs a proof signed by that key (RFC 9449 §5). Kept through rotation.
    pub dpop_jkt: Option<String>,
}

const COLUMNS: &str = "token_hash, family_id, client_id, account_id, scope, sid, auth_time, amr, \
    issued_at, expires_at, used_at, revoked_at, access_jti, access_exp, resources, dpop_jkt";

fn decode(r: &AnyRow) -> Result<RefreshToken, StoreError> {
    Ok(RefreshToken {
        token_hash: r.try_get("token_hash")?,
        family_id: r.try_get("family_id")?,
        client_id: r.try_get("client_id")?,
        account_id: r.try_get("account_id")?,
        scope: r.try_get("scope")?,
        sid: r.try_get("sid")?,
        auth_time: r.try_get("auth_time")?,
        amr: r.try_get("amr")?,
        issued_at: r.try_get("issued_at")?,
        expires_at: r.try_get("expires_at")?,
        used_at: r.try_get("used_at")?,
        revoked_at: r.try_get("revoked_at")?,
        access_jti: r.try_get("access_jti")?,
        access_exp: r.try_get("access_exp")?,
        resources: from_json_list(&r.try_get::<String, _>("resources")?),
        dpop_jkt: r.try_get("dpop_jkt")?,
    })
}

pub async fn find(db: &Db, token_hash: &str) -> Result<Option<RefreshToken>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM refresh_tokens WHERE token_hash = $1");
    let row = sqlx::query(&sql)
        .bind(token_hash)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(decode).transpose()
}

pub async fn insert(db: &Db, t: &RefreshToken) -> Result<(), StoreError> {
    bind_token(sqlx::query(&insert_sql()), t)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Marks `old` used and stores its successor, atomically. False when `old` was already used
/// or revoked — by a concurrent request on this or another instance — and nothing changed.
///
/// On PostgreSQL this is one statement (the successor is inserted from the `UPDATE …
/// RETURNING` of the old row), so one round trip instead of the four of a transaction; SQLite
/// has no data-modifying CTEs, and a local transaction costs it no round trips.
pub async fn rotate(
    db: &Db,
    old_hash: &str,
    next: &RefreshToken,
    now: i64,
) -> Result<bool, StoreError> {
    const MARK_USED: &str = "UPDATE refresh_tokens SET used_at = $1 \
        WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL";
    if db.backend == Backend::Postgres {
        let sql = format!(
            "WITH used AS ({MARK_USED} RETURNING 1) \
             INSERT INTO refresh_tokens ({COLUMNS}) \
             SELECT $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18 \
             FROM used"
        );
        let query = sqlx::query(&sql).bind(now).bind(old_hash);
        let res = bind_token(query, next).execute(&db.pool).await?;
        return Ok(res.rows_affected() == 1);
    }
    let mut tx = db.pool.begin().await?;
    let res = sqlx::query(MARK_USED)
        .bind(now)
        .bind(old_hash)
        .execute(&mut *tx)
        .await?;
    if res.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    bind_token(sqlx::query(&insert_sql()), next)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

fn insert_sql() -> String {
    format!(
        "INSERT INTO refresh_tokens ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    )
}

/// Binds the sixteen columns of `t`, in [`COLUMNS`] order, after whatever `query` has bound.
fn bind_token<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    t: &'q RefreshToken,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(&t.token_hash)
        .bind(&t.family_id)
        .bind(&t.client_id)
        .bind(&t.account_id)
        .bind(&t.scope)
        .bind(&t.sid)
        .bind(t.auth_time)
        .bind(&t.amr)
        .bind(t.issued_at)
        .bind(t.expires_at)
        .bind(t.used_at)
        .bind(t.revoked_at)
        .bind(&t.access_jti)
        .bind(t.access_exp)
        .bind(to_json_list(&t.resources))
        .bind(&t.dpop_jkt)
}

/// Revokes every token matching `column = value` (except those of session `keep_sid`) and
/// returns the access-token ids (with expiry) that were issued alongside them, for the caller
/// to deny.
async fn revoke_where(
    db: &Db,
    column: &'static str,
    value: &str,
    keep_sid: Option<&str>,
    now: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    let keep = if keep_sid.is_some() {
        " AND sid <> $3"
    } else {
        ""
    };
    let mut tx = db.pool.begin().await?;
    let sql = format!(
        "SELECT access_jti, access_exp FROM refresh_tokens \
         WHERE {column} = $1 AND access_exp > $2{keep}"
    );
    let mut select = sqlx::query(&sql).bind(value).bind(now);
    if let Some(sid) = keep_sid {
        select = select.bind(sid);
    }
    let rows = select.fetch_all(&mut *tx).await?;
    let sql = format!(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE {column} = $1 AND revoked_at IS NULL{keep}"
    );
    let mut update = sqlx::query(&sql).bind(value).bind(now);
    if let Some(sid) = keep_sid {
        update = update.bind(sid);
    }
    update.execute(&mut *tx).await?;
    tx.commit().await?;
    rows.iter()
        .map(|r| Ok((r.try_get("access_jti")?, r.try_get("access_exp")?)))
        .collect()
}

pub async fn revoke_family(
    db: &Db,
    family_id: &str,
    now: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    revoke_where(db, "family_id", family_id, None, now).await
}

pub async fn revoke_session(
    db: &Db,
    sid: &str,
    now: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    revoke_where(db, "sid", sid, None, now).await
}

pub async fn revoke_account(
    db: &Db,
    account_id: &str,
    now: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    revoke_where(db, "account_id", account_id, None, now).await
}

/// Like [`revoke_account`], but keeps the tokens of one session (the one that changed the
/// password).
pub async fn revoke_account_except_session(
    db: &Db,
    account_id: &str,
    keep_sid: &str,
    now: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    revoke_where(db, "account_id", account_id, Some(keep_sid), now).await
}

/// Deletes tokens past their expiry: an expired token is refused anyway, so a used one no
/// longer needs keeping for reuse detection.
pub async fn purge_expired(db: &Db, now: i64) -> Result<u64, StoreError> {
    let res = sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1")
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(res.rows_affected())
}

/// Revokes the tokens of `account_id` issued to `client_id` (a revoked subsystem grant) and
/// returns the access-token ids issued alongside them, for the caller to deny.
pub async fn revoke_account_client(
    db: &Db,
    account_id: &str,
    client_id: &str,
    now: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut tx = db.pool.begin().await?;
    let rows = sqlx::query(
        "SELECT access_jti, access_exp FROM refresh_tokens \
         WHERE account_id = $1 AND client_id = $2 AND access_exp > $3",
    )
    .bind(account_id)
    .bind(client_id)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $3 \
         WHERE account_id = $1 AND client_id = $2 AND revoked_at IS NULL",
    )
    .bind(account_id)
    .bind(client_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.iter()
        .map(|r| Ok((r.try_get("access_jti")?, r.try_get("access_exp")?)))
        .collect()
}
