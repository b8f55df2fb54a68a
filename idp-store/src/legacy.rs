//! Legacy records (migration 0006): what the import writes inside its batch transactions, the
//! lookups of 账号检索, 老用户绑定 and history linking, and the upgrade of imported hashes.

use std::collections::{HashMap, HashSet};

use crate::error::StoreError;
use sqlx::{any::AnyRow, Row};
use tongyi_shared::claims::AccountType;

use super::{accounts::login_key, to_json_list, Db};

pub type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// A record as the import finds it again on a re-run.
#[derive(Clone, Debug)]
pub struct ImportedRecord {
    pub outcome: String,
    pub login_name: Option<String>,
    pub row_digest: String,
}

// Keys per lookup statement. Not more, for the reason of `bulk.rs`'s bind limit: SQLite
// finds a `$N` parameter by a linear search, so a statement's cost grows with the square of
// its parameters.
const KEYS_PER_LOOKUP: usize = 300;

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `sql` (which ends in `IN (` and names `fixed` leading parameters) once per slice of
/// `keys`, binding `fixed` first, and hands every row to `each`.
async fn lookup_in(
    tx: &mut Tx<'_>,
    sql: &str,
    fixed: &[&str],
    keys: &[&str],
    mut each: impl FnMut(&AnyRow) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    for chunk in keys.chunks(KEYS_PER_LOOKUP) {
        let text = format!("{sql}{})", placeholders(fixed.len() + 1, chunk.len()));
        // Planned at every run, not prepared once: PostgreSQL keeps the generic plan of a
        // prepared statement, made while the import's tables were empty (a sequential scan:
        // over a second a lookup once they held 100,000 rows).
        let mut query = sqlx::query(&text).persistent(false);
        for v in fixed.iter().chain(chunk) {
            query = query.bind(*v);
        }
        for row in query.fetch_all(&mut **tx).await? {
            each(&row)?;
        }
    }
    Ok(())
}

/// The records an earlier run wrote for these legacy ids of one source and kind, by
/// legacy_id.
pub async fn imported_among(
    tx: &mut Tx<'_>,
    source: &str,
    kind: &str,
    legacy_ids: &[&str],
) -> Result<HashMap<String, ImportedRecord>, StoreError> {
    let mut out = HashMap::new();
    lookup_in(
        tx,
        "SELECT legacy_id, outcome, login_name, row_digest FROM legacy_records \
         WHERE source = $1 AND kind = $2 AND legacy_id IN (",
        &[source, kind],
        legacy_ids,
        |r| {
            let record = ImportedRecord {
                outcome: r.try_get("outcome")?,
                login_name: r.try_get("login_name")?,
                row_digest: r.try_get("row_digest")?,
            };
            out.insert(r.try_get("legacy_id")?, record);
            Ok(())
        },
    )
    .await?;
    Ok(out)
}

/// The accounts holding these login names (case-insensitive), by [`login_key`]: id, login
/// name and type.
pub async fn accounts_by_login(
    tx: &mut Tx<'_>,
    login_names: &[&str],
) -> Result<HashMap<String, (String, String, AccountType)>, StoreError> {
    let keys: Vec<String> = login_names.iter().map(|n| login_key(n)).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut out = HashMap::new();
    lookup_in(
        tx,
        "SELECT login_key, id, login_name, account_type FROM accounts WHERE login_key IN (",
        &[],
        &keys,
        |r| {
            let t: String = r.try_get("account_type")?;
            let account = (
                r.try_get("id")?,
                r.try_get("login_name")?,
                AccountType::parse(&t).unwrap_or(AccountType::NaturalPerson),
            );
            out.insert(r.try_get("login_key")?, account);
            Ok(())
        },
    )
    .await?;
    Ok(out)
}

/// The units registered with these USCCs: USCC to unit id.
pub async fn orgs_by_uscc(
    tx: &mut Tx<'_>,
    usccs: &[&str],
) -> Result<HashMap<String, String>, StoreError> {
    let mut out = HashMap::new();
    lookup_in(
        tx,
        "SELECT uscc, id FROM organizations WHERE uscc IN (",
        &[],
        usccs,
        |r| {
            out.insert(r.try_get("uscc")?, r.try_get("id")?);
            Ok(())
        },
    )
    .await?;
    Ok(out)
}

/// Each unit's own (legal-entity) account, the oldest when there are several: unit id to
/// account id.
pub async fn unit_accounts(
    tx: &mut Tx<'_>,
    org_ids: &[&str],
) -> Result<HashMap<String, String>, StoreError> {
    let mut out = HashMap::new();
    lookup_in(
        tx,
        "SELECT org_id, id, created_at FROM accounts WHERE account_type = 'legal_entity' \
         AND org_id IN (",
        &[],
        org_ids,
        |r| {
            let created: i64 = r.try_get("created_at")?;
            let account = (created, r.try_get::<String, _>("id")?);
            out.entry(r.try_get::<String, _>("org_id")?)
                .and_modify(|a: &mut (i64, String)| {
                    if account.0 < a.0 {
                        *a = account.clone();
                    }
                })
                .or_insert(account);
            Ok(())
        },
    )
    .await?;
    Ok(out.into_iter().map(|(org, (_, id))| (org, id)).collect())
}

/// Which of these mobile or email lookup keys an account of the type already reserves.
pub async fn contacts_reserved(
    tx: &mut Tx<'_>,
    account_type: AccountType,
    column: &'static str,
    keys: &[&str],
) -> Result<HashSet<String>, StoreError> {
    let sql =
        format!("SELECT {column} AS k FROM accounts WHERE account_type = $1 AND {column} IN (");
    let mut out = HashSet::new();
    lookup_in(tx, &sql, &[account_type.as_str()], keys, |r| {
        out.insert(r.try_get("k")?);
        Ok(())
    })
    .await?;
    Ok(out)
}

/// The persons who registered documents with these lookup keys: (id_type, id_number_key)
/// to account id.
pub async fn documents_among(
    tx: &mut Tx<'_>,
    id_number_keys: &[&str],
) -> Result<HashMap<(String, String), String>, StoreError> {
    let mut out = HashMap::new();
    lookup_in(
        tx,
        "SELECT id_type, id_number_key, account_id FROM person_identities \
         WHERE id_number_key IN (",
        &[],
        id_number_keys,
        |r| {
            let key = (r.try_get("id_type")?, r.try_get("id_number_key")?);
            out.insert(key, r.try_get("account_id")?);
            Ok(())
        },
    )
    .await?;
    Ok(out)
}

/// Adds subsystem grants an account does not have yet.
pub async fn add_grants(
    tx: &mut Tx<'_>,
    account_id: &str,
    grants: &[String],
    now: i64,
) -> Result<(), StoreError> {
    for g in grants {
        sqlx::query(
            "INSERT INTO account_grants (account_id, subsystem_code, granted_at) \
             VALUES ($1, $2, $3) ON CONFLICT (account_id, subsystem_code) DO NOTHING",
        )
        .bind(account_id)
        .bind(g)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A legacy record to write, personal values already sealed.
#[derive(Clone, Debug)]
pub struct NewRecord<'a> {
    pub id: &'a str,
    pub source: &'a str,
    pub kind: &'a str,
    pub legacy_id: &'a str,
    pub user_type: Option<&'a str>,
    pub old_login_name: Option<&'a str>,
    pub display_name: &'a str,
    pub uscc: Option<&'a str>,
    pub id_type: Option<&'a str>,
    pub id_number_sealed: Option<String>,
    pub id_number_key: Option<String>,
    pub mobile_sealed: Option<String>,
    pub mobile_key: Option<String>,
    pub subsystems: &'a [String],
    pub outcome: &'a str,
    pub account_id: Option<&'a str>,
    pub linked_via: Option<&'a str>,
    pub login_name: Option<&'a str>,
    pub row_digest: &'a str,
}

pub async fn insert_record(tx: &mut Tx<'_>, r: &NewRecord<'_>, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO legacy_records (id, source, kind, legacy_id, user_type, old_login_name, \
         display_name, uscc, id_type, id_number_sealed, id_number_key, mobile_sealed, \
         mobile_key, subsystems, outcome, account_id, linked_via, linked_at, login_name, \
         row_digest, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
         $13, $14, $15, $16, $17, $18, $19, $20, $21)",
    )
    .bind(r.id)
    .bind(r.source)
    .bind(r.kind)
    .bind(r.legacy_id)
    .bind(r.user_type)
    .bind(r.old_login_name)
    .bind(r.display_name)
    .bind(r.uscc)
    .bind(r.id_type)
    .bind(&r.id_number_sealed)
    .bind(&r.id_number_key)
    .bind(&r.mobile_sealed)
    .bind(&r.mobile_key)
    .bind(to_json_list(r.subsystems))
    .bind(r.outcome)
    .bind(r.account_id)
    .bind(r.linked_via)
    .bind(r.account_id.map(|_| now))
    .bind(r.login_name)
    .bind(r.row_digest)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Replaces an imported hash by its argon2id upgrade, only while it is still the one that
/// was verified (a concurrent password change wins).
pub async fn replace_legacy_hash(
    db: &Db,
    account_id: &str,
    legacy_hash: &str,
    new_hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let res = sqlx::query(
        "UPDATE accounts SET password_hash = $1, updated_at = $2 \
         WHERE id = $3 AND password_hash = $4",
    )
    .bind(new_hash)
    .bind(now)
    .bind(account_id)
    .bind(legacy_hash)
    .execute(&db.pool)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// A record as 账号检索, 老用户绑定 and the history API read it.
#[derive(Clone, Debug)]
pub struct RecordView {
    pub id: String,
    pub source: String,
    pub kind: String,
    pub legacy_id: String,
    pub user_type: Option<String>,
    pub display_name: String,
    pub outcome: String,
    pub login_name: Option<String>,
    pub account_id: Option<String>,
    pub linked_via: Option<String>,
    pub linked_at: Option<i64>,
    pub id_number_key: Option<String>,
    pub subsystems: Vec<String>,
}

const VIEW: &str = "SELECT id, source, kind, legacy_id, user_type, display_name, outcome, \
    login_name, account_id, linked_via, linked_at, id_number_key, subsystems FROM legacy_records";

fn decode_view(r: &AnyRow) -> Result<RecordView, StoreError> {
    let subsystems: String = r.try_get("subsystems")?;
    Ok(RecordView {
        id: r.try_get("id")?,
        source: r.try_get("source")?,
        kind: r.try_get("kind")?,
        legacy_id: r.try_get("legacy_id")?,
        user_type: r.try_get("user_type")?,
        display_name: r.try_get("display_name")?,
        outcome: r.try_get("outcome")?,
        login_name: r.try_get("login_name")?,
        account_id: r.try_get("account_id")?,
        linked_via: r.try_get("linked_via")?,
        linked_at: r.try_get("linked_at")?,
        id_number_key: r.try_get("id_number_key")?,
        subsystems: super::from_json_list(&subsystems),
    })
}

/// Unit records with this USCC.
pub async fn units_by_uscc(db: &Db, uscc: &str) -> Result<Vec<RecordView>, StoreError> {
    let sql = format!("{VIEW} WHERE kind = 'unit' AND uscc = $1 ORDER BY imported_at, id");
    let rows = sqlx::query(&sql).bind(uscc).fetch_all(&db.pool).await?;
    rows.iter().map(decode_view).collect()
}

/// Person records with this mobile (by its lookup key).
pub async fn persons_by_mobile(db: &Db, mobile_key: &str) -> Result<Vec<RecordView>, StoreError> {
    let sql = format!("{VIEW} WHERE kind = 'person' AND mobile_key = $1 ORDER BY imported_at, id");
    let rows = sqlx::query(&sql)
        .bind(mobile_key)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(decode_view).collect()
}

/// Records that belong to an account, by any route.
pub async fn records_of_account(db: &Db, account_id: &str) -> Result<Vec<RecordView>, StoreError> {
    let sql = format!("{VIEW} WHERE account_id = $1 ORDER BY linked_at, id");
    let rows = sqlx::query(&sql)
        .bind(account_id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(decode_view).collect()
}

/// Person records without an account that share a document (the same person's other
/// records).
pub async fn unbound_by_document(
    db: &Db,
    id_number_key: &str,
) -> Result<Vec<RecordView>, StoreError> {
    let sql = format!(
        "{VIEW} WHERE kind = 'person' AND id_number_key = $1 AND account_id IS NULL \
         AND outcome = 'record_only'"
    );
    let rows = sqlx::query(&sql)
        .bind(id_number_key)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(decode_view).collect()
}

/// Why a binding was not written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindRefusal {
    /// Someone bound the record first.
    RecordTaken,
    /// The account already has a bound record.
    AccountHasOne,
}

/// Binds a record to an account and grants its subsystems, in one transaction: at most once
/// per record (the `account_id IS NULL` condition) and per account (a partial unique index).
pub async fn bind(
    db: &Db,
    record_id: &str,
    account_id: &str,
    grants: &[String],
    now: i64,
) -> Result<Result<(), BindRefusal>, StoreError> {
    let mut tx = db.pool.begin().await?;
    let has = sqlx::query(
        "SELECT 1 AS one FROM legacy_records WHERE account_id = $1 AND linked_via = 'binding'",
    )
    .bind(account_id)
    .fetch_optional(&mut *tx)
    .await?;
    if has.is_some() {
        return Ok(Err(BindRefusal::AccountHasOne));
    }
    let res = sqlx::query(
        "UPDATE legacy_records SET account_id = $1, linked_via = 'binding', linked_at = $2 \
         WHERE id = $3 AND account_id IS NULL AND outcome = 'record_only'",
    )
    .bind(account_id)
    .bind(now)
    .bind(record_id)
    .execute(&mut *tx)
    .await;
    match res {
        Ok(r) if r.rows_affected() == 1 => {}
        Ok(_) => return Ok(Err(BindRefusal::RecordTaken)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Ok(Err(BindRefusal::AccountHasOne))
        }
        Err(e) => return Err(e.into()),
    }
    add_grants(&mut tx, account_id, grants, now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Links records without an account to a newly registered one: person records with the same
/// document, or unit records with the same USCC. Returns how many. No grant comes with it: a
/// registration proves the document only once real-name verification has run, so a
/// subsystem decides from the linked history itself.
pub async fn link_registration(
    db: &Db,
    account_id: &str,
    by_document: Option<(&str, &str)>,
    by_uscc: Option<&str>,
    now: i64,
) -> Result<u64, StoreError> {
    let mut tx = db.pool.begin().await?;
    let mut linked = 0;
    let ids: Vec<(String, String)> = if let Some((id_type, key)) = by_document {
        sqlx::query(
            "SELECT id, subsystems FROM legacy_records WHERE kind = 'person' AND id_type = $1 \
             AND id_number_key = $2 AND account_id IS NULL AND outcome = 'record_only'",
        )
        .bind(id_type)
        .bind(key)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("subsystems")?)))
        .collect::<Result<_, StoreError>>()?
    } else if let Some(uscc) = by_uscc {
        sqlx::query(
            "SELECT id, subsystems FROM legacy_records WHERE kind = 'unit' AND uscc = $1 \
             AND account_id IS NULL AND outcome = 'record_only'",
        )
        .bind(uscc)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("subsystems")?)))
        .collect::<Result<_, StoreError>>()?
    } else {
        Vec::new()
    };
    for (id, _subsystems) in ids {
        let res = sqlx::query(
            "UPDATE legacy_records SET account_id = $1, linked_via = 'registration', \
             linked_at = $2 WHERE id = $3 AND account_id IS NULL",
        )
        .bind(account_id)
        .bind(now)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        linked += res.rows_affected();
    }
    tx.commit().await?;
    Ok(linked)
}

/// How many records the import wrote for a source and kind (the benchmark and tests).
pub async fn count(db: &Db, source: &str, kind: &str) -> Result<i64, StoreError> {
    let row =
        sqlx::query("SELECT COUNT(*) AS n FROM legacy_records WHERE source = $1 AND kind = $2")
            .bind(source)
            .bind(kind)
            .fetch_one(&db.pool)
            .await?;
    Ok(row.try_get("n")?)
}
