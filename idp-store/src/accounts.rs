//! Accounts and the data behind the claims contract (organization, grants, roles). This is the
//! minimal model of the OIDC core; registration and the directory extend it.

use crate::error::StoreError;
use sqlx::{any::AnyRow, Row};
use tongyi_shared::{
    claims::{AccountType, OrgClaim, RealnameStatus},
    org::{OrgRole, UnitStatus},
};

use super::{states::AccountStatus, Db};

#[derive(Clone, Debug)]
pub struct Account {
    pub id: String,
    pub login_name: String,
    pub password_hash: String,
    pub account_type: AccountType,
    pub display_name: String,
    pub realname_status: RealnameStatus,
    pub status: AccountStatus,
    pub org: Option<OrgClaim>,
    /// Sealed reserved mobile and email ([`PiiVault::open`](crate::pii::PiiVault::open) with
    /// `PiiField::Mobile` / `PiiField::Email`).
    pub mobile_sealed: Option<String>,
    pub email_sealed: Option<String>,
    /// Whether the reserved mobile was proven by an SMS code to it (registration, the
    /// console's change of mobile, an approved appeal); the `phone_number_verified` claim.
    pub mobile_verified: bool,
    /// Whether the reserved email was proven to belong to the account; the `email_verified`
    /// claim. No flow proves an email yet, so this is false for now.
    pub email_verified: bool,
    /// False while the login name is the generated one of a quick registration.
    pub login_name_chosen: bool,
    /// Set by a unit admin's reset: the next login must choose a new password.
    pub must_change_password: bool,
}

impl Account {
    pub fn is_active(&self) -> bool {
        self.status == AccountStatus::Active
    }
}

/// The case-insensitive uniqueness key of a login name.
pub fn login_key(login_name: &str) -> String {
    login_name.trim().to_lowercase()
}

pub(crate) const SELECT: &str = "SELECT a.id, a.login_name, a.password_hash, a.account_type, \
    a.display_name, a.realname_status, a.status, a.org_role, a.mobile_sealed, a.email_sealed, \
    a.mobile_verified, a.email_verified, a.login_name_chosen, a.must_change_password, o.id AS org_id, o.name AS org_name, \
    o.uscc AS org_uscc, o.status AS org_status \
    FROM accounts a LEFT JOIN organizations o ON o.id = a.org_id";

pub(crate) fn decode(r: &AnyRow) -> Result<Account, StoreError> {
    let bad = |col: &str, v: &str| sqlx::Error::ColumnDecode {
        index: col.to_owned(),
        source: format!("unexpected value {v:?}").into(),
    };
    let account_type: String = r.try_get("account_type")?;
    let realname: String = r.try_get("realname_status")?;
    let org_id: Option<String> = r.try_get("org_id")?;
    let org = match org_id {
        Some(id) => Some(OrgClaim {
            id,
            name: r.try_get("org_name")?,
            uscc: r.try_get("org_uscc")?,
            status: {
                let v: String = r.try_get("org_status")?;
                UnitStatus::parse(&v).ok_or_else(|| bad("org_status", &v))?
            },
            role: match r.try_get::<Option<String>, _>("org_role")? {
                Some(v) => OrgRole::parse(&v).ok_or_else(|| bad("org_role", &v))?,
                None => OrgRole::Member,
            },
        }),
        None => None,
    };
    Ok(Account {
        id: r.try_get("id")?,
        login_name: r.try_get("login_name")?,
        password_hash: r.try_get("password_hash")?,
        account_type: AccountType::parse(&account_type)
            .ok_or_else(|| bad("account_type", &account_type))?,
        display_name: r.try_get("display_name")?,
        realname_status: RealnameStatus::parse(&realname)
            .ok_or_else(|| bad("realname_status", &realname))?,
        status: {
            let v: String = r.try_get("status")?;
            AccountStatus::parse(&v).ok_or_else(|| bad("status", &v))?
        },
        org,
        mobile_sealed: r.try_get("mobile_sealed")?,
        email_sealed: r.try_get("email_sealed")?,
        mobile_verified: r.try_get::<i64, _>("mobile_verified")? != 0,
        email_verified: r.try_get::<i64, _>("email_verified")? != 0,
        login_name_chosen: r.try_get::<i64, _>("login_name_chosen")? != 0,
        must_change_password: r.try_get::<i64, _>("must_change_password")? != 0,
    })
}

pub async fn find_by_login(db: &Db, login_name: &str) -> Result<Option<Account>, StoreError> {
    let sql = format!("{SELECT} WHERE a.login_key = $1");
    let row = sqlx::query(&sql)
        .bind(login_key(login_name))
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// The account of `account_type` whose column `key_column` (a keyed lookup hash) is `key`.
pub(crate) async fn find_by_key(
    db: &Db,
    account_type: AccountType,
    key_column: &'static str,
    key: &str,
) -> Result<Option<Account>, StoreError> {
    let sql = format!("{SELECT} WHERE a.account_type = $1 AND a.{key_column} = $2");
    let row = sqlx::query(&sql)
        .bind(account_type.as_str())
        .bind(key)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(decode).transpose()
}

pub async fn find_by_id(db: &Db, id: &str) -> Result<Option<Account>, StoreError> {
    let sql = format!("{SELECT} WHERE a.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&db.pool).await?;
    row.as_ref().map(decode).transpose()
}

/// The subsystem grants and the roles of an account, in one round trip.
pub async fn grants_and_roles(
    db: &Db,
    account_id: &str,
) -> Result<(Vec<String>, Vec<String>), StoreError> {
    let rows = sqlx::query(
        "SELECT 'g' AS kind, subsystem_code AS value FROM account_grants WHERE account_id = $1 \
         UNION ALL SELECT 'r' AS kind, role AS value FROM account_roles WHERE account_id = $1 \
         ORDER BY kind, value",
    )
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?;
    let mut grants = Vec::new();
    let mut roles = Vec::new();
    for r in rows {
        let kind: String = r.try_get("kind")?;
        let value: String = r.try_get("value")?;
        if kind == "g" {
            grants.push(value);
        } else {
            roles.push(value);
        }
    }
    Ok((grants, roles))
}

/// A unit to create together with its accounts.
#[derive(Clone, Debug)]
pub struct NewOrg {
    pub id: String,
    pub name: String,
    pub uscc: Option<String>,
    pub status: UnitStatus,
}

/// An account to create, with its unit membership, grants and roles.
#[derive(Clone, Debug)]
pub struct NewAccount {
    pub id: String,
    pub login_name: String,
    pub password_hash: String,
    pub account_type: AccountType,
    pub display_name: String,
    pub realname_status: RealnameStatus,
    pub org_id: Option<String>,
    pub org_role: Option<OrgRole>,
    pub grants: Vec<String>,
    pub roles: Vec<String>,
    /// False for a generated login name (quick registration) that the user may still choose.
    pub login_name_chosen: bool,
}

/// Creates the unit if it is missing (by id).
pub async fn ensure_org(db: &Db, org: &NewOrg, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO organizations (id, name, uscc, status, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&org.id)
    .bind(&org.name)
    .bind(&org.uscc)
    .bind(org.status.as_str())
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Creates an account with its grants and roles in one transaction; false when the login name
/// is taken (nothing is written then).
pub async fn insert(db: &Db, a: &NewAccount, now: i64) -> Result<bool, StoreError> {
    insert_with_contact(db, a, &SealedContact::default(), now).await
}

/// Like [`insert`], with a reserved mobile and email.
pub async fn insert_with_contact(
    db: &Db,
    a: &NewAccount,
    contact: &SealedContact,
    now: i64,
) -> Result<bool, StoreError> {
    let mut tx = db.pool.begin().await?;
    match insert_in(&mut tx, a, contact, now).await {
        Ok(()) => {}
        Err(e) if e.is_unique_violation() => return Ok(false),
        Err(e) => return Err(e),
    }
    tx.commit().await?;
    Ok(true)
}

/// A reserved mobile and email, sealed, with their lookup hashes.
#[derive(Clone, Debug, Default)]
pub struct SealedContact {
    pub mobile_sealed: Option<String>,
    pub mobile_key: Option<String>,
    pub email_sealed: Option<String>,
    pub email_key: Option<String>,
    /// The mobile was proven by an SMS code to it (see [`Account::mobile_verified`]).
    pub mobile_verified: bool,
    /// The email was proven to belong to the account.
    pub email_verified: bool,
}

/// Inserts the account row, its grants and roles inside the caller's transaction.
pub async fn insert_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    a: &NewAccount,
    contact: &SealedContact,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO accounts (id, login_name, login_key, password_hash, account_type, \
         display_name, realname_status, status, org_id, org_role, created_at, updated_at, \
         mobile_sealed, mobile_key, email_sealed, email_key, login_name_chosen, \
         mobile_verified, email_verified) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $10, $10, $11, $12, $13, $14, $15, \
         $16, $17)",
    )
    .bind(&a.id)
    .bind(&a.login_name)
    .bind(login_key(&a.login_name))
    .bind(&a.password_hash)
    .bind(a.account_type.as_str())
    .bind(&a.display_name)
    .bind(a.realname_status.as_str())
    .bind(&a.org_id)
    .bind(a.org_role.map(OrgRole::as_str))
    .bind(now)
    .bind(&contact.mobile_sealed)
    .bind(&contact.mobile_key)
    .bind(&contact.email_sealed)
    .bind(&contact.email_key)
    .bind(i64::from(a.login_name_chosen))
    .bind(i64::from(contact.mobile_verified))
    .bind(i64::from(contact.email_verified))
    .execute(&mut **tx)
    .await?;
    for g in &a.grants {
        sqlx::query(
            "INSERT INTO account_grants (account_id, subsystem_code, granted_at) VALUES ($1, $2, $3)",
        )
        .bind(&a.id)
        .bind(g)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    for r in &a.roles {
        sqlx::query("INSERT INTO account_roles (account_id, role) VALUES ($1, $2)")
            .bind(&a.id)
            .bind(r)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub async fn set_status(
    db: &Db,
    id: &str,
    status: AccountStatus,
    now: i64,
) -> Result<bool, StoreError> {
    let res = sqlx::query("UPDATE accounts SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(res.rows_affected() == 1)
}

pub async fn set_grants(db: &Db, id: &str, grants: &[String], now: i64) -> Result<(), StoreError> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("DELETE FROM account_grants WHERE account_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for g in grants {
        sqlx::query(
            "INSERT INTO account_grants (account_id, subsystem_code, granted_at) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(g)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    Ok(tx.commit().await?)
}

/// Sets a new password hash; `must_change` marks a temporary password (a unit admin's reset)
/// that the next login must replace.
pub async fn set_password(
    db: &Db,
    id: &str,
    password_hash: &str,
    must_change: bool,
    now: i64,
) -> Result<bool, StoreError> {
    let res = sqlx::query(
        "UPDATE accounts SET password_hash = $1, must_change_password = $2, updated_at = $3 \
         WHERE id = $4",
    )
    .bind(password_hash)
    .bind(i64::from(must_change))
    .bind(now)
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Chooses the login name of an account (quick registration sets it later); false when the
/// name is taken.
pub async fn set_login_name(
    db: &Db,
    id: &str,
    login_name: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let res = sqlx::query(
        "UPDATE accounts SET login_name = $1, login_key = $2, login_name_chosen = 1, \
         updated_at = $3 WHERE id = $4",
    )
    .bind(login_name)
    .bind(login_key(login_name))
    .bind(now)
    .bind(id)
    .execute(&db.pool)
    .await;
    match res {
        Ok(r) => Ok(r.rows_affected() == 1),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Sets a generated login name to a chosen one, once: `Ok(None)` when the name is taken,
/// `Ok(Some(false))` when the account had already chosen one (checked in the same statement,
/// so two concurrent requests cannot both succeed).
pub async fn choose_login_name(
    db: &Db,
    id: &str,
    login_name: &str,
    now: i64,
) -> Result<Option<bool>, StoreError> {
    let res = sqlx::query(
        "UPDATE accounts SET login_name = $1, login_key = $2, login_name_chosen = 1, \
         updated_at = $3 WHERE id = $4 AND login_name_chosen = 0",
    )
    .bind(login_name)
    .bind(login_key(login_name))
    .bind(now)
    .bind(id)
    .execute(&db.pool)
    .await;
    match res {
        Ok(r) => Ok(Some(r.rows_affected() == 1)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub async fn set_realname_status(
    db: &Db,
    id: &str,
    status: RealnameStatus,
    now: i64,
) -> Result<bool, StoreError> {
    let res =
        sqlx::query("UPDATE accounts SET realname_status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(now)
            .bind(id)
            .execute(&db.pool)
            .await?;
    Ok(res.rows_affected() == 1)
}

/// The roles of an account (platform admin, reviewers…).
pub async fn roles(db: &Db, account_id: &str) -> Result<Vec<String>, StoreError> {
    Ok(grants_and_roles(db, account_id).await?.1)
}
