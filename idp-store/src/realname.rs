//! Real-name verification records: the queue of automatic checks (`realname_checks`, one row
//! per account while a check waits for the upstream) and the manual reviews
//! (`realname_reviews`) with their uploaded images.

use crate::{error::StoreError, states::ReviewState};
use sqlx::{any::AnyRow, Row};
use tongyi_shared::claims::RealnameStatus;

use super::{
    uploads::{self, NewUpload},
    Db,
};
use crate::pii::PiiVault;

/// A queued or finished automatic check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// `queued` | `done`
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    /// A short reason of ours (`timeout`, `http 503`), never personal data.
    pub last_error: Option<String>,
}

/// Queues a fresh check of an account for `next_attempt_at` (attempts start again at 0).
pub async fn queue(
    db: &Db,
    account_id: &str,
    next_attempt_at: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO realname_checks (account_id, state, attempts, next_attempt_at, last_error, \
         created_at, updated_at) VALUES ($1, 'queued', 0, $2, NULL, $3, $3) \
         ON CONFLICT (account_id) DO UPDATE SET state = 'queued', attempts = 0, \
         last_error = NULL, next_attempt_at = excluded.next_attempt_at, \
         updated_at = excluded.updated_at",
    )
    .bind(account_id)
    .bind(next_attempt_at)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Records a failed attempt (provider error) and when to try again; returns the attempts
/// made so far.
pub async fn attempt_failed(
    db: &Db,
    account_id: &str,
    error: &str,
    next_attempt_at: i64,
    now: i64,
) -> Result<i64, StoreError> {
    sqlx::query(
        "INSERT INTO realname_checks (account_id, state, attempts, next_attempt_at, last_error, \
         created_at, updated_at) VALUES ($1, 'queued', 1, $2, $3, $4, $4) \
         ON CONFLICT (account_id) DO UPDATE SET state = 'queued', \
         attempts = realname_checks.attempts + 1, next_attempt_at = excluded.next_attempt_at, \
         last_error = excluded.last_error, updated_at = excluded.updated_at",
    )
    .bind(account_id)
    .bind(next_attempt_at)
    .bind(error)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(check(db, account_id).await?.map_or(1, |c| c.attempts))
}

/// Marks the check of an account as done (a verdict was reached, or it gave up).
pub async fn finish(db: &Db, account_id: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE realname_checks SET state = 'done', updated_at = $1 WHERE account_id = $2")
        .bind(now)
        .bind(account_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn check(db: &Db, account_id: &str) -> Result<Option<Check>, StoreError> {
    let row = sqlx::query(
        "SELECT state, attempts, next_attempt_at, last_error FROM realname_checks \
         WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(Check {
            state: r.try_get("state")?,
            attempts: r.try_get("attempts")?,
            next_attempt_at: r.try_get("next_attempt_at")?,
            last_error: r.try_get("last_error")?,
        })
    })
    .transpose()
}

/// How many checks wait in the queue, due or not (the `realname_checks_due` index covers it).
pub async fn queued(db: &Db) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM realname_checks WHERE state = 'queued'")
        .fetch_one(&db.pool)
        .await?;
    Ok(row.try_get("n")?)
}

/// Accounts whose queued check is due at `now`, oldest first.
pub async fn due(db: &Db, now: i64, limit: i64) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT account_id FROM realname_checks WHERE state = 'queued' AND next_attempt_at <= $1 \
         ORDER BY next_attempt_at, account_id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get("account_id"))
        .collect::<Result<_, sqlx::Error>>()?)
}

/// Takes a due check for `lease_secs`, so that another instance running the same job leaves
/// it alone; false when someone else took it first.
pub async fn claim(
    db: &Db,
    account_id: &str,
    now: i64,
    lease_secs: i64,
) -> Result<bool, StoreError> {
    let res = sqlx::query(
        "UPDATE realname_checks SET next_attempt_at = $1, updated_at = $2 \
         WHERE account_id = $3 AND state = 'queued' AND next_attempt_at <= $2",
    )
    .bind(now + lease_secs)
    .bind(now)
    .bind(account_id)
    .execute(&db.pool)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// A manual review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Review {
    pub id: String,
    pub account_id: String,
    pub front_upload_id: String,
    pub back_upload_id: String,
    pub state: ReviewState,
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub created_at: i64,
}

const REVIEW_COLUMNS: &str = "id, account_id, front_upload_id, back_upload_id, state, reason, \
    decided_by, decided_at, created_at";

fn decode_review(r: &AnyRow) -> Result<Review, StoreError> {
    Ok(Review {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        front_upload_id: r.try_get("front_upload_id")?,
        back_upload_id: r.try_get("back_upload_id")?,
        state: {
            let v: String = r.try_get("state")?;
            ReviewState::parse(&v)
                .ok_or_else(|| sqlx::Error::Decode(format!("review state {v:?}").into()))?
        },
        reason: r.try_get("reason")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Stores the two images, the pending review and the account's new status in one
/// transaction: a review never exists without its images, nor images without their review.
pub async fn create_review(
    db: &Db,
    pii: &PiiVault,
    review_id: &str,
    account_id: &str,
    front: &NewUpload,
    back: &NewUpload,
    now: i64,
) -> Result<(), StoreError> {
    let mut tx = db.pool.begin().await?;
    uploads::insert_in(&mut tx, pii, front, now).await?;
    uploads::insert_in(&mut tx, pii, back, now).await?;
    sqlx::query(
        "INSERT INTO realname_reviews (id, account_id, front_upload_id, back_upload_id, state, \
         created_at) VALUES ($1, $2, $3, $4, 'pending', $5)",
    )
    .bind(review_id)
    .bind(account_id)
    .bind(&front.id)
    .bind(&back.id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE accounts SET realname_status = $1, updated_at = $2 WHERE id = $3")
        .bind(RealnameStatus::PendingReview.as_str())
        .bind(now)
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    Ok(tx.commit().await?)
}

pub async fn review(db: &Db, id: &str) -> Result<Option<Review>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {REVIEW_COLUMNS} FROM realname_reviews WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(decode_review).transpose()
}

/// The newest review of an account: the pending one if any (there is at most one), else the
/// last decided. Ids are random, so times (to the second) and state order them.
pub async fn latest_for(db: &Db, account_id: &str) -> Result<Option<Review>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {REVIEW_COLUMNS} FROM realname_reviews WHERE account_id = $1 \
         ORDER BY CASE WHEN state = 'pending' THEN 0 ELSE 1 END, created_at DESC, \
         decided_at DESC LIMIT 1"
    ))
    .bind(account_id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(decode_review).transpose()
}

/// Pending reviews, newest first.
pub async fn pending(db: &Db, offset: i64, limit: i64) -> Result<Vec<Review>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {REVIEW_COLUMNS} FROM realname_reviews WHERE state = 'pending' \
         ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"
    ))
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(decode_review).collect()
}

pub async fn count_pending(db: &Db) -> Result<i64, StoreError> {
    Ok(
        sqlx::query("SELECT COUNT(*) AS n FROM realname_reviews WHERE state = 'pending'")
            .fetch_one(&db.pool)
            .await?
            .try_get("n")?,
    )
}

/// Decides a pending review and sets the account's status with it, in one transaction;
/// false when the review was not pending (decided meanwhile by another admin).
pub async fn decide(
    db: &Db,
    review: &Review,
    approve: bool,
    reason: Option<&str>,
    admin_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let (state, status) = if approve {
        ("approved", RealnameStatus::Verified)
    } else {
        ("rejected", RealnameStatus::Failed)
    };
    let mut tx = db.pool.begin().await?;
    let res = sqlx::query(
        "UPDATE realname_reviews SET state = $1, reason = $2, decided_by = $3, decided_at = $4 \
         WHERE id = $5 AND state = 'pending'",
    )
    .bind(state)
    .bind(reason)
    .bind(admin_id)
    .bind(now)
    .bind(&review.id)
    .execute(&mut *tx)
    .await?;
    if res.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("UPDATE accounts SET realname_status = $1, updated_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now)
        .bind(&review.account_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}
