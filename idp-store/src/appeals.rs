//! Appeals (申诉) for a forgotten login name or a lost mobile: filed with their uploads in one
//! transaction, listed for the admins, decided once.

use crate::{error::StoreError, states::ReviewState};
use sqlx::Row;

use super::{
    uploads::{self, NewUpload},
    Db,
};
use crate::pii::{PiiField, PiiVault};

/// An appeal as filed, personal values in clear (sealed here on the way in).
#[derive(Clone, Debug)]
pub struct NewAppeal {
    pub id: String,
    /// `forgot_login_name` | `forgot_mobile`
    pub kind: String,
    /// `natural_person` | `legal_entity`
    pub account_type: String,
    /// The real name (persons) or the agent's name (units).
    pub claimant_name: String,
    pub id_type: Option<String>,
    pub id_number: Option<String>,
    pub unit_name: Option<String>,
    pub uscc: Option<String>,
    pub contact_mobile: String,
    pub description: String,
    pub matched_account_id: Option<String>,
}

/// A stored appeal, opened.
#[derive(Clone, Debug)]
pub struct Appeal {
    pub id: String,
    pub kind: String,
    pub account_type: String,
    pub claimant_name: String,
    pub id_type: Option<String>,
    pub id_number: Option<String>,
    pub unit_name: Option<String>,
    pub uscc: Option<String>,
    pub contact_mobile: String,
    pub description: String,
    pub upload_ids: Vec<String>,
    pub matched_account_id: Option<String>,
    pub state: ReviewState,
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub created_at: i64,
}

/// Stores the appeal and its uploads: both or neither.
pub async fn insert(
    db: &Db,
    pii: &PiiVault,
    a: &NewAppeal,
    files: &[NewUpload],
    now: i64,
) -> Result<(), StoreError> {
    let ids: Vec<&str> = files.iter().map(|f| f.id.as_str()).collect();
    let upload_ids = serde_json::to_string(&ids)
        .map_err(|e| sqlx::Error::Encode(format!("upload ids: {e}").into()))?;
    let mut tx = db.pool.begin().await?;
    for f in files {
        uploads::insert_in(&mut tx, pii, f, now).await?;
    }
    sqlx::query(
        "INSERT INTO appeals (id, kind, account_type, claimant_name, id_type, id_number_sealed, \
         id_number_key, unit_name, uscc, contact_mobile_sealed, description, upload_ids, \
         matched_account_id, state, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'pending', $14)",
    )
    .bind(&a.id)
    .bind(&a.kind)
    .bind(&a.account_type)
    .bind(&a.claimant_name)
    .bind(&a.id_type)
    .bind(
        a.id_number
            .as_deref()
            .map(|n| pii.seal(PiiField::IdNumber, n)),
    )
    .bind(
        a.id_number
            .as_deref()
            .map(|n| pii.lookup_key(PiiField::IdNumber, n)),
    )
    .bind(&a.unit_name)
    .bind(&a.uscc)
    .bind(pii.seal(PiiField::Mobile, &a.contact_mobile))
    .bind(&a.description)
    .bind(upload_ids)
    .bind(&a.matched_account_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(tx.commit().await?)
}

const SELECT: &str = "SELECT id, kind, account_type, claimant_name, id_type, id_number_sealed, \
    unit_name, uscc, contact_mobile_sealed, description, upload_ids, matched_account_id, state, \
    reason, decided_by, decided_at, created_at FROM appeals";

fn decode(r: &sqlx::any::AnyRow, pii: &PiiVault) -> Result<Appeal, StoreError> {
    let fail = || sqlx::Error::Decode("a sealed appeal value does not open under this KEK".into());
    let id_sealed: Option<String> = r.try_get("id_number_sealed")?;
    let id_number = match id_sealed {
        Some(s) => Some(pii.open(PiiField::IdNumber, &s).ok_or_else(fail)?),
        None => None,
    };
    let mobile_sealed: String = r.try_get("contact_mobile_sealed")?;
    let upload_ids: String = r.try_get("upload_ids")?;
    Ok(Appeal {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        account_type: r.try_get("account_type")?,
        claimant_name: r.try_get("claimant_name")?,
        id_type: r.try_get("id_type")?,
        id_number,
        unit_name: r.try_get("unit_name")?,
        uscc: r.try_get("uscc")?,
        contact_mobile: pii
            .open(PiiField::Mobile, &mobile_sealed)
            .ok_or_else(fail)?,
        description: r.try_get("description")?,
        upload_ids: serde_json::from_str(&upload_ids)
            .map_err(|e| sqlx::Error::Decode(format!("upload ids: {e}").into()))?,
        matched_account_id: r.try_get("matched_account_id")?,
        state: {
            let v: String = r.try_get("state")?;
            ReviewState::parse(&v)
                .ok_or_else(|| sqlx::Error::Decode(format!("appeal state {v:?}").into()))?
        },
        reason: r.try_get("reason")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn get(db: &Db, pii: &PiiVault, id: &str) -> Result<Option<Appeal>, StoreError> {
    let row = sqlx::query(&format!("{SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| decode(&r, pii)).transpose()
}

/// One page of pending appeals, oldest first, and the number of pending appeals.
pub async fn pending(
    db: &Db,
    pii: &PiiVault,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Appeal>, i64), StoreError> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE state = 'pending' ORDER BY created_at, id LIMIT $1 OFFSET $2"
    ))
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM appeals WHERE state = 'pending'")
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    let list = rows
        .iter()
        .map(|r| decode(r, pii))
        .collect::<Result<_, _>>()?;
    Ok((list, total))
}

/// Records the decision of a pending appeal; false when it was no longer pending (another
/// admin decided first).
pub async fn decide(
    db: &Db,
    id: &str,
    approved: bool,
    reason: Option<&str>,
    admin_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let res = sqlx::query(
        "UPDATE appeals SET state = $1, reason = $2, decided_by = $3, decided_at = $4 \
         WHERE id = $5 AND state = 'pending'",
    )
    .bind(if approved { "approved" } else { "rejected" })
    .bind(reason)
    .bind(admin_id)
    .bind(now)
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Puts a decided appeal back to pending, when the action its approval called for failed.
pub async fn reopen(db: &Db, id: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE appeals SET state = 'pending', reason = NULL, decided_by = NULL, \
         decided_at = NULL WHERE id = $1",
    )
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The account holding that person's document (any document type), for matching an appeal.
pub async fn person_by_id_number(
    db: &Db,
    pii: &PiiVault,
    id_type: &str,
    id_number: &str,
) -> Result<Option<(String, String)>, StoreError> {
    let row = sqlx::query(
        "SELECT p.account_id, p.real_name FROM person_identities p \
         JOIN accounts a ON a.id = p.account_id \
         WHERE p.id_type = $1 AND p.id_number_key = $2 AND a.account_type = 'natural_person'",
    )
    .bind(id_type)
    .bind(pii.lookup_key(PiiField::IdNumber, id_number))
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| Ok((r.try_get("account_id")?, r.try_get("real_name")?)))
        .transpose()
}

/// The unit account of a legal entity by its USCC: (account id, unit id, unit name).
pub async fn unit_by_uscc(
    db: &Db,
    uscc: &str,
) -> Result<Option<(String, String, String)>, StoreError> {
    let row = sqlx::query(
        "SELECT a.id AS account_id, o.id AS org_id, o.name AS org_name FROM accounts a \
         JOIN organizations o ON o.id = a.org_id \
         WHERE o.uscc = $1 AND a.account_type = 'legal_entity' ORDER BY a.created_at LIMIT 1",
    )
    .bind(uscc)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok((
            r.try_get("account_id")?,
            r.try_get("org_id")?,
            r.try_get("org_name")?,
        ))
    })
    .transpose()
}
