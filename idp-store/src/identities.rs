//! Identity data of accounts: a natural person's document, a legal entity's unit with its
//! legal representative and primary agent, and the transactions that create an account with
//! all of it at once. Personal values arrive here in clear and validated; they are sealed and
//! hashed with the [`PiiVault`] on the way in and opened on the way out.

use crate::error::StoreError;
use sqlx::{any::AnyRow, Row};
use tongyi_shared::claims::AccountType;

use super::{
    accounts::{self, Account, NewAccount, NewOrg},
    Db,
};
use crate::pii::{PiiField, PiiVault};

/// A natural person's identity document, in clear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonIdentity {
    pub real_name: String,
    /// `mainland` | `hk_macao_taiwan` | `other`
    pub identity_region: String,
    /// [`IdDocumentType::code`](tongyi_shared::validate::IdDocumentType::code)
    pub id_type: String,
    pub id_number: String,
    /// `YYYY-MM-DD`
    pub id_valid_from: Option<String>,
    /// `None`: long-term (长期) or not applicable.
    pub id_valid_to: Option<String>,
    pub id_country: Option<String>,
    /// [`Gender::code`](tongyi_shared::validate::Gender::code) (GB/T 2261.1); `None`: not
    /// given (documents saved before the form asked, registration without the question).
    pub gender: Option<String>,
    /// [`Ethnicity::code`](tongyi_shared::validate::Ethnicity::code) (GB/T 3304); `None`: not
    /// given. Sensitive personal information: only ever opened to show its owner.
    pub ethnicity: Option<String>,
}

/// The legal representative or the primary agent of a unit, in clear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgPerson {
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub id_valid_from: Option<String>,
    pub id_valid_to: Option<String>,
    pub mobile: String,
}

/// Which of a unit's people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgPersonRole {
    LegalRepresentative,
    Agent,
}

impl OrgPersonRole {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgPersonRole::LegalRepresentative => "legal_rep",
            OrgPersonRole::Agent => "agent",
        }
    }
}

/// A legal entity's unit as registered.
#[derive(Clone, Debug)]
pub struct NewLegalEntity {
    pub org: NewOrg,
    /// `enterprise` | `institution` | `social_org` | `other`
    pub entity_type: String,
    /// `domestic` | `hk_macao_taiwan` | `overseas`
    pub registration_region: String,
    pub legal_rep: OrgPerson,
    pub agent: OrgPerson,
}

/// The unique value that another account or unit already holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taken {
    LoginName,
    Mobile,
    Email,
    IdNumber,
    Uscc,
    UnitName,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("already registered: {0:?}")]
    Taken(Taken),
    #[error(transparent)]
    Db(#[from] StoreError),
}

impl From<sqlx::Error> for CreateError {
    fn from(e: sqlx::Error) -> Self {
        CreateError::Db(e.into())
    }
}

/// Which unique value a unique violation is about, from the index or column it names (the
/// names of migration 0003 and 0001; SQLite names columns, PostgreSQL names indexes).
fn taken_from(e: &StoreError) -> Option<Taken> {
    let StoreError::Db(sqlx::Error::Database(db)) = e else {
        return None;
    };
    if !db.is_unique_violation() {
        return None;
    }
    let text = format!("{} {}", db.message(), db.constraint().unwrap_or(""));
    let checks = [
        ("login_key", Taken::LoginName),
        ("mobile", Taken::Mobile),
        ("email", Taken::Email),
        ("id_number", Taken::IdNumber),
        ("person_identities", Taken::IdNumber),
        ("uscc", Taken::Uscc),
    ];
    checks
        .into_iter()
        .find(|(needle, _)| text.contains(needle))
        .map(|(_, t)| t)
}

fn create_error(e: impl Into<StoreError>) -> CreateError {
    let e = e.into();
    match taken_from(&e) {
        Some(t) => CreateError::Taken(t),
        None => CreateError::Db(e),
    }
}

/// The case-insensitive key under which unit names are compared.
pub fn unit_name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Creates a natural person's account with its reserved contact data and, unless the person
/// skipped it (quick registration), its identity document — all or nothing. The `mobile` is
/// recorded as proven: every registration verifies the SMS code sent to it first.
pub async fn create_person(
    db: &Db,
    pii: &PiiVault,
    account: &NewAccount,
    mobile: Option<&str>,
    email: Option<&str>,
    identity: Option<&PersonIdentity>,
    now: i64,
) -> Result<(), CreateError> {
    let mut contact = pii.seal_contact(mobile, email);
    contact.mobile_verified = mobile.is_some();
    let mut tx = db.pool.begin().await?;
    accounts::insert_in(&mut tx, account, &contact, now)
        .await
        .map_err(create_error)?;
    if let Some(identity) = identity {
        insert_identity_in(&mut tx, pii, &account.id, identity, now)
            .await
            .map_err(create_error)?;
    }
    tx.commit().await.map_err(create_error)?;
    Ok(())
}

async fn insert_identity_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    pii: &PiiVault,
    account_id: &str,
    i: &PersonIdentity,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO person_identities (account_id, real_name, identity_region, id_type, \
         id_number_sealed, id_number_key, id_valid_from, id_valid_to, id_country, \
         gender_sealed, ethnicity_sealed, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
    )
    .bind(account_id)
    .bind(&i.real_name)
    .bind(&i.identity_region)
    .bind(&i.id_type)
    .bind(pii.seal(PiiField::IdNumber, &i.id_number))
    .bind(pii.lookup_key(PiiField::IdNumber, &i.id_number))
    .bind(&i.id_valid_from)
    .bind(&i.id_valid_to)
    .bind(&i.id_country)
    .bind(i.gender.as_deref().map(|g| pii.seal(PiiField::Gender, g)))
    .bind(
        i.ethnicity
            .as_deref()
            .map(|e| pii.seal(PiiField::Ethnicity, e)),
    )
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds or replaces the identity document of an account (verification done later, or an
/// edit from the account console).
pub async fn set_identity(
    db: &Db,
    pii: &PiiVault,
    account_id: &str,
    identity: &PersonIdentity,
    now: i64,
) -> Result<(), CreateError> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("DELETE FROM person_identities WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    insert_identity_in(&mut tx, pii, account_id, identity, now)
        .await
        .map_err(create_error)?;
    sqlx::query("UPDATE accounts SET display_name = $1, updated_at = $2 WHERE id = $3")
        .bind(&identity.real_name)
        .bind(now)
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await.map_err(create_error)?;
    Ok(())
}

/// Creates a legal entity: its unit (with legal representative and agent) and the unit's own
/// account as the unit's admin — all or nothing. A unit name already registered is refused.
/// The agent's `mobile` is recorded as proven, like in [`create_person`].
pub async fn create_legal_entity(
    db: &Db,
    pii: &PiiVault,
    account: &NewAccount,
    mobile: Option<&str>,
    email: Option<&str>,
    unit: &NewLegalEntity,
    now: i64,
) -> Result<(), CreateError> {
    let mut contact = pii.seal_contact(mobile, email);
    contact.mobile_verified = mobile.is_some();
    let mut tx = db.pool.begin().await?;
    let name_key = unit_name_key(&unit.org.name);
    let existing = sqlx::query("SELECT id FROM organizations WHERE name_key = $1")
        .bind(&name_key)
        .fetch_optional(&mut *tx)
        .await?;
    if existing.is_some() {
        return Err(CreateError::Taken(Taken::UnitName));
    }
    sqlx::query(
        "INSERT INTO organizations (id, name, uscc, status, created_at, name_key, entity_type, \
         registration_region, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $5)",
    )
    .bind(&unit.org.id)
    .bind(&unit.org.name)
    .bind(&unit.org.uscc)
    .bind(unit.org.status.as_str())
    .bind(now)
    .bind(&name_key)
    .bind(&unit.entity_type)
    .bind(&unit.registration_region)
    .execute(&mut *tx)
    .await
    .map_err(create_error)?;
    for (role, person) in [
        (OrgPersonRole::LegalRepresentative, &unit.legal_rep),
        (OrgPersonRole::Agent, &unit.agent),
    ] {
        sqlx::query(
            "INSERT INTO org_people (org_id, role, name, id_type, id_number_sealed, \
             id_number_key, id_valid_from, id_valid_to, mobile_sealed, mobile_key, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&unit.org.id)
        .bind(role.as_str())
        .bind(&person.name)
        .bind(&person.id_type)
        .bind(pii.seal(PiiField::IdNumber, &person.id_number))
        .bind(pii.lookup_key(PiiField::IdNumber, &person.id_number))
        .bind(&person.id_valid_from)
        .bind(&person.id_valid_to)
        .bind(pii.seal(PiiField::Mobile, &person.mobile))
        .bind(pii.lookup_key(PiiField::Mobile, &person.mobile))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    accounts::insert_in(&mut tx, account, &contact, now)
        .await
        .map_err(create_error)?;
    tx.commit().await.map_err(create_error)?;
    Ok(())
}

/// The identity document of an account, opened; `None` when it has none.
pub async fn person_identity(
    db: &Db,
    pii: &PiiVault,
    account_id: &str,
) -> Result<Option<PersonIdentity>, StoreError> {
    let row = sqlx::query(
        "SELECT real_name, identity_region, id_type, id_number_sealed, id_valid_from, \
         id_valid_to, id_country, gender_sealed, ethnicity_sealed FROM person_identities \
         WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| decode_identity(&r, pii)).transpose()
}

fn open_or_fail(pii: &PiiVault, field: PiiField, sealed: &str) -> Result<String, StoreError> {
    pii.open(field, sealed).ok_or_else(|| {
        sqlx::Error::Decode("a sealed value does not open under this KEK".into()).into()
    })
}

fn decode_identity(r: &AnyRow, pii: &PiiVault) -> Result<PersonIdentity, StoreError> {
    let sealed: String = r.try_get("id_number_sealed")?;
    let open_optional = |column: &str, field: PiiField| -> Result<Option<String>, StoreError> {
        let sealed: Option<String> = r.try_get(column)?;
        sealed.map(|s| open_or_fail(pii, field, &s)).transpose()
    };
    Ok(PersonIdentity {
        real_name: r.try_get("real_name")?,
        identity_region: r.try_get("identity_region")?,
        id_type: r.try_get("id_type")?,
        id_number: open_or_fail(pii, PiiField::IdNumber, &sealed)?,
        id_valid_from: r.try_get("id_valid_from")?,
        id_valid_to: r.try_get("id_valid_to")?,
        id_country: r.try_get("id_country")?,
        gender: open_optional("gender_sealed", PiiField::Gender)?,
        ethnicity: open_optional("ethnicity_sealed", PiiField::Ethnicity)?,
    })
}

/// The legal representative or the agent of a unit, opened.
pub async fn org_person(
    db: &Db,
    pii: &PiiVault,
    org_id: &str,
    role: OrgPersonRole,
) -> Result<Option<OrgPerson>, StoreError> {
    let row = sqlx::query(
        "SELECT name, id_type, id_number_sealed, id_valid_from, id_valid_to, mobile_sealed \
         FROM org_people WHERE org_id = $1 AND role = $2",
    )
    .bind(org_id)
    .bind(role.as_str())
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let id_sealed: String = r.try_get("id_number_sealed")?;
    let mobile_sealed: String = r.try_get("mobile_sealed")?;
    Ok(Some(OrgPerson {
        name: r.try_get("name")?,
        id_type: r.try_get("id_type")?,
        id_number: open_or_fail(pii, PiiField::IdNumber, &id_sealed)?,
        id_valid_from: r.try_get("id_valid_from")?,
        id_valid_to: r.try_get("id_valid_to")?,
        mobile: open_or_fail(pii, PiiField::Mobile, &mobile_sealed)?,
    }))
}

/// A unit's registration data besides its name and USCC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgDetails {
    pub entity_type: Option<String>,
    pub registration_region: Option<String>,
}

pub async fn org_details(db: &Db, org_id: &str) -> Result<Option<OrgDetails>, StoreError> {
    let row =
        sqlx::query("SELECT entity_type, registration_region FROM organizations WHERE id = $1")
            .bind(org_id)
            .fetch_optional(&db.pool)
            .await?;
    row.map(|r| {
        Ok(OrgDetails {
            entity_type: r.try_get("entity_type")?,
            registration_region: r.try_get("registration_region")?,
        })
    })
    .transpose()
}

/// The reserved mobile and email of an account, opened.
pub fn contact_of(pii: &PiiVault, account: &Account) -> (Option<String>, Option<String>) {
    let open = |field, sealed: &Option<String>| sealed.as_deref().and_then(|s| pii.open(field, s));
    (
        open(PiiField::Mobile, &account.mobile_sealed),
        open(PiiField::Email, &account.email_sealed),
    )
}

/// The account of `account_type` that an identifier typed on the login page names: a login
/// name, a reserved mobile, an email, an ID number (natural persons) or a USCC (legal
/// entities). Login names are tried first, so a login name that looks like a mobile still
/// logs in its own account.
pub async fn find_by_identifier(
    db: &Db,
    pii: &PiiVault,
    account_type: AccountType,
    identifier: &str,
) -> Result<Option<Account>, StoreError> {
    let identifier = identifier.trim();
    if identifier.is_empty() {
        return Ok(None);
    }
    if let Some(a) = accounts::find_by_login(db, identifier).await? {
        if a.account_type == account_type {
            return Ok(Some(a));
        }
    }
    if identifier.contains('@') {
        let key = pii.lookup_key(PiiField::Email, identifier);
        return accounts::find_by_key(db, account_type, "email_key", &key).await;
    }
    if identifier.len() == 11 && identifier.bytes().all(|b| b.is_ascii_digit()) {
        let key = pii.lookup_key(PiiField::Mobile, identifier);
        if let Some(a) = accounts::find_by_key(db, account_type, "mobile_key", &key).await? {
            return Ok(Some(a));
        }
    }
    let account_id: Option<String> = match account_type {
        AccountType::NaturalPerson => {
            let key = pii.lookup_key(PiiField::IdNumber, identifier);
            sqlx::query("SELECT account_id FROM person_identities WHERE id_number_key = $1")
                .bind(key)
                .fetch_optional(&db.pool)
                .await?
                .map(|r| r.try_get("account_id"))
                .transpose()?
        }
        AccountType::LegalEntity => sqlx::query(
            "SELECT a.id FROM accounts a JOIN organizations o ON o.id = a.org_id \
             WHERE o.uscc = $1 AND a.account_type = 'legal_entity' ORDER BY a.created_at LIMIT 1",
        )
        .bind(identifier.to_uppercase())
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()?,
    };
    match account_id {
        Some(id) => accounts::find_by_id(db, &id).await,
        None => Ok(None),
    }
}

/// The account of `account_type` whose reserved mobile is `mobile`.
pub async fn find_by_mobile(
    db: &Db,
    pii: &PiiVault,
    account_type: AccountType,
    mobile: &str,
) -> Result<Option<Account>, StoreError> {
    let key = pii.lookup_key(PiiField::Mobile, mobile);
    accounts::find_by_key(db, account_type, "mobile_key", &key).await
}

/// Whether a login name is taken (case-insensitive).
pub async fn login_name_taken(db: &Db, login_name: &str) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT 1 AS one FROM accounts WHERE login_key = $1")
        .bind(accounts::login_key(login_name))
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.is_some())
}

/// Whether a unit of that name is registered (case-insensitive).
pub async fn unit_name_taken(db: &Db, name: &str) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT 1 AS one FROM organizations WHERE name_key = $1 OR name = $2")
        .bind(unit_name_key(name))
        .bind(name.trim())
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.is_some())
}

/// Whether a unit with that USCC is registered.
pub async fn uscc_taken(db: &Db, uscc: &str) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT 1 AS one FROM organizations WHERE uscc = $1")
        .bind(uscc.trim().to_uppercase())
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.is_some())
}

/// Whether an account of `account_type` already reserves that mobile.
pub async fn mobile_taken(
    db: &Db,
    pii: &PiiVault,
    account_type: AccountType,
    mobile: &str,
) -> Result<bool, StoreError> {
    Ok(find_by_mobile(db, pii, account_type, mobile)
        .await?
        .is_some())
}

/// Whether a person already registered that document.
pub async fn id_number_taken(
    db: &Db,
    pii: &PiiVault,
    id_type: &str,
    id_number: &str,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT 1 AS one FROM person_identities WHERE id_type = $1 AND id_number_key = $2",
    )
    .bind(id_type)
    .bind(pii.lookup_key(PiiField::IdNumber, id_number))
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.is_some())
}

/// Replaces the reserved mobile of an account with one the caller has proven by an SMS code
/// (the console's change of mobile, an approved appeal).
pub async fn set_mobile(
    db: &Db,
    pii: &PiiVault,
    account_id: &str,
    mobile: &str,
    now: i64,
) -> Result<(), CreateError> {
    sqlx::query(
        "UPDATE accounts SET mobile_sealed = $1, mobile_key = $2, mobile_verified = 1, \
         updated_at = $3 WHERE id = $4",
    )
    .bind(pii.seal(PiiField::Mobile, mobile))
    .bind(pii.lookup_key(PiiField::Mobile, mobile))
    .bind(now)
    .bind(account_id)
    .execute(&db.pool)
    .await
    .map_err(create_error)?;
    Ok(())
}

/// Marks the reserved email of an account as proven, if it is still `email` (a change made
/// since the code was sent leaves the new address unproven). False when it is not.
pub async fn mark_email_verified(
    db: &Db,
    pii: &PiiVault,
    account_id: &str,
    email: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE accounts SET email_verified = 1, updated_at = $1 \
         WHERE id = $2 AND email_key = $3",
    )
    .bind(now)
    .bind(account_id)
    .bind(pii.lookup_key(PiiField::Email, email))
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces (or, with `None`, removes) the reserved email of an account; the new one is
/// unproven.
pub async fn set_email(
    db: &Db,
    pii: &PiiVault,
    account_id: &str,
    email: Option<&str>,
    now: i64,
) -> Result<(), CreateError> {
    sqlx::query(
        "UPDATE accounts SET email_sealed = $1, email_key = $2, email_verified = 0, \
         updated_at = $3 WHERE id = $4",
    )
    .bind(email.map(|e| pii.seal(PiiField::Email, e)))
    .bind(email.map(|e| pii.lookup_key(PiiField::Email, e)))
    .bind(now)
    .bind(account_id)
    .execute(&db.pool)
    .await
    .map_err(create_error)?;
    Ok(())
}
