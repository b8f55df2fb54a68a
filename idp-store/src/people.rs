//! What natural persons add after registration: their profile (个人信息补全), their expert
//! application (评审专家信息完善), and a unit they register themselves (the Zhengzhou model).

use crate::error::StoreError;
use sqlx::{any::AnyRow, Row};

use super::{
    from_json_list,
    identities::{unit_name_key, Taken},
    to_json_list, Db,
};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub gender: Option<String>,
    pub phone: Option<String>,
    pub position: Option<String>,
    pub title: Option<String>,
}

pub async fn profile(db: &Db, account_id: &str) -> Result<Profile, StoreError> {
    let row = sqlx::query(
        "SELECT gender, phone, position, title FROM person_profiles WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else {
        return Ok(Profile::default());
    };
    Ok(Profile {
        gender: r.try_get("gender")?,
        phone: r.try_get("phone")?,
        position: r.try_get("position")?,
        title: r.try_get("title")?,
    })
}

pub async fn set_profile(
    db: &Db,
    account_id: &str,
    p: &Profile,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO person_profiles (account_id, gender, phone, position, title, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id) DO UPDATE SET \
         gender = excluded.gender, phone = excluded.phone, position = excluded.position, \
         title = excluded.title, updated_at = excluded.updated_at",
    )
    .bind(account_id)
    .bind(&p.gender)
    .bind(&p.phone)
    .bind(&p.position)
    .bind(&p.title)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// An expert application as stored (the email sealed).
#[derive(Clone, Debug)]
pub struct ExpertApplication {
    pub account_id: String,
    pub gender: String,
    pub email_sealed: Option<String>,
    pub institution: String,
    pub position: String,
    pub title: String,
    pub fields: Vec<String>,
    pub status: String,
    pub reason: Option<String>,
    pub submitted_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
}

const EXPERT: &str = "SELECT account_id, gender, email_sealed, institution, position, title, \
    fields, status, reason, submitted_at, decided_at, decided_by FROM expert_applications";

fn decode_expert(r: &AnyRow) -> Result<ExpertApplication, StoreError> {
    Ok(ExpertApplication {
        account_id: r.try_get("account_id")?,
        gender: r.try_get("gender")?,
        email_sealed: r.try_get("email_sealed")?,
        institution: r.try_get("institution")?,
        position: r.try_get("position")?,
        title: r.try_get("title")?,
        fields: from_json_list(&r.try_get::<String, _>("fields")?),
        status: r.try_get("status")?,
        reason: r.try_get("reason")?,
        submitted_at: r.try_get("submitted_at")?,
        decided_at: r.try_get("decided_at")?,
        decided_by: r.try_get("decided_by")?,
    })
}

pub async fn expert(db: &Db, account_id: &str) -> Result<Option<ExpertApplication>, StoreError> {
    let sql = format!("{EXPERT} WHERE account_id = $1");
    let row = sqlx::query(&sql)
        .bind(account_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(decode_expert).transpose()
}

/// Stores a (re)submitted application as pending, unless one is pending or approved already
/// (false then, nothing written).
pub async fn submit_expert(db: &Db, a: &ExpertApplication) -> Result<bool, StoreError> {
    let res = sqlx::query(
        "INSERT INTO expert_applications (account_id, gender, email_sealed, institution, \
         position, title, fields, status, reason, submitted_at, decided_at, decided_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', NULL, $8, NULL, NULL) \
         ON CONFLICT (account_id) DO UPDATE SET gender = excluded.gender, \
         email_sealed = excluded.email_sealed, institution = excluded.institution, \
         position = excluded.position, title = excluded.title, fields = excluded.fields, \
         status = 'pending', reason = NULL, submitted_at = excluded.submitted_at, \
         decided_at = NULL, decided_by = NULL \
         WHERE expert_applications.status = 'rejected'",
    )
    .bind(&a.account_id)
    .bind(&a.gender)
    .bind(&a.email_sealed)
    .bind(&a.institution)
    .bind(&a.position)
    .bind(&a.title)
    .bind(to_json_list(&a.fields))
    .bind(a.submitted_at)
    .execute(&db.pool)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Decides a pending application; an approval gives the role `expert` in the same
/// transaction. False when it was not pending.
pub async fn decide_expert(
    db: &Db,
    account_id: &str,
    approve: bool,
    reason: Option<&str>,
    by: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let mut tx = db.pool.begin().await?;
    let res = sqlx::query(
        "UPDATE expert_applications SET status = $1, reason = $2, decided_at = $3, \
         decided_by = $4 WHERE account_id = $5 AND status = 'pending'",
    )
    .bind(if approve { "approved" } else { "rejected" })
    .bind(reason)
    .bind(now)
    .bind(by)
    .bind(account_id)
    .execute(&mut *tx)
    .await?;
    if res.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    if approve {
        sqlx::query(
            "INSERT INTO account_roles (account_id, role) VALUES ($1, 'expert') \
             ON CONFLICT (account_id, role) DO NOTHING",
        )
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Applications in `status`, oldest submission first: one page and the total.
pub async fn experts(
    db: &Db,
    status: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<ExpertApplication>, i64), StoreError> {
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM expert_applications WHERE status = $1")
        .bind(status)
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    let sql =
        format!("{EXPERT} WHERE status = $1 ORDER BY submitted_at, account_id LIMIT $2 OFFSET $3");
    let rows = sqlx::query(&sql)
        .bind(status)
        .bind(limit)
        .bind(offset)
        .fetch_all(&db.pool)
        .await?;
    let list = rows.iter().map(decode_expert).collect::<Result<_, _>>()?;
    Ok((list, total))
}

/// A unit a natural person registers.
pub struct PersonUnit<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub uscc: &'a str,
    /// `enterprise` | `institution` | `social_org` | `other`
    pub entity_type: &'a str,
}

/// Why a unit registration was refused.
#[derive(Debug, thiserror::Error)]
pub enum UnitRegistrationError {
    #[error("already registered: {0:?}")]
    Taken(Taken),
    /// The account belongs to a unit already (or is gone).
    #[error("the account already belongs to a unit")]
    InUnit,
    #[error(transparent)]
    Db(#[from] StoreError),
}

impl From<sqlx::Error> for UnitRegistrationError {
    fn from(e: sqlx::Error) -> Self {
        UnitRegistrationError::Db(e.into())
    }
}

/// Creates unit `u` in `registered` with `account_id` as its admin, in one transaction; the
/// account must not belong to a unit.
pub async fn register_unit(
    db: &Db,
    account_id: &str,
    u: &PersonUnit<'_>,
    now: i64,
) -> Result<(), UnitRegistrationError> {
    let mut tx = db.pool.begin().await?;
    // The account moves last (its org_id must point at the new row); a concurrent join or
    // second registration finds org_id set by then and this one rolls back.
    let moved = sqlx::query(
        "UPDATE accounts SET org_id = $1, org_role = 'admin', updated_at = $2 \
         WHERE id = $3 AND org_id IS NULL",
    )
    .bind(u.id)
    .bind(now)
    .bind(account_id);
    let name_key = unit_name_key(u.name);
    // Units seeded before name_key existed have none: their name is compared too.
    let name_taken =
        sqlx::query("SELECT id FROM organizations WHERE name_key = $1 OR LOWER(name) = $1")
            .bind(&name_key)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
    if name_taken {
        tx.rollback().await?;
        return Err(UnitRegistrationError::Taken(Taken::UnitName));
    }
    let uscc_taken = sqlx::query("SELECT id FROM organizations WHERE uscc = $1")
        .bind(u.uscc)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if uscc_taken {
        tx.rollback().await?;
        return Err(UnitRegistrationError::Taken(Taken::Uscc));
    }
    let inserted = sqlx::query(
        "INSERT INTO organizations (id, name, uscc, status, created_at, name_key, entity_type, \
         registration_region, updated_at) VALUES ($1, $2, $3, 'registered', $4, $5, $6, \
         'domestic', $4)",
    )
    .bind(u.id)
    .bind(u.name)
    .bind(u.uscc)
    .bind(now)
    .bind(&name_key)
    .bind(u.entity_type)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(UnitRegistrationError::Taken(Taken::Uscc));
        }
        Err(e) => return Err(e.into()),
    }
    if moved.execute(&mut *tx).await?.rows_affected() != 1 {
        tx.rollback().await?;
        return Err(UnitRegistrationError::InUnit);
    }
    tx.commit().await?;
    Ok(())
}
