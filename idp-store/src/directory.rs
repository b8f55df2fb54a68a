//! The directory's tables: departments, the review state of units with its history, and
//! memberships (`accounts.org_id` + `accounts.org_role`: `pending`, `member` or `admin`).

use crate::error::StoreError;
use sqlx::{any::AnyRow, Row};

use super::{accounts, accounts::Account, Db};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Department {
    pub id: String,
    pub name: String,
}

/// A unit as the review sees it.
#[derive(Clone, Debug)]
pub struct UnitRecord {
    pub id: String,
    pub name: String,
    pub uscc: Option<String>,
    pub status: String,
    pub department_id: Option<String>,
    pub department_name: Option<String>,
    pub submitted_at: Option<i64>,
    /// The real-name status of the unit's legal-entity account (企业三要素); `None` for a unit
    /// without one (e.g. created by an import before its account).
    pub realname_status: Option<String>,
}

/// One recorded transition of a unit's status.
#[derive(Clone, Debug)]
pub struct ReviewEntry {
    /// Increasing with each decision; 0 for an entry not yet stored.
    pub id: i64,
    pub org_id: String,
    pub actor_account_id: String,
    pub action: String,
    pub from_status: String,
    pub to_status: String,
    pub department_id: Option<String>,
    pub reason: Option<String>,
    pub at: i64,
}

pub async fn insert_department(db: &Db, d: &Department, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO departments (id, name, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&d.id)
    .bind(&d.name)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn departments(db: &Db) -> Result<Vec<Department>, StoreError> {
    let rows = sqlx::query("SELECT id, name FROM departments ORDER BY id")
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Department {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
            })
        })
        .collect()
}

pub async fn find_department(db: &Db, id: &str) -> Result<Option<Department>, StoreError> {
    let row = sqlx::query("SELECT id, name FROM departments WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| {
        Ok(Department {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
        })
    })
    .transpose()
}

// The unit's real-name status is its legal-entity account's (the one the unit registered as;
// found through the accounts_org index, one row per unit).
const UNIT: &str = "SELECT o.id, o.name, o.uscc, o.status, o.department_id, o.submitted_at, \
    d.name AS department_name, \
    (SELECT a.realname_status FROM accounts a WHERE a.org_id = o.id \
     AND a.account_type = 'legal_entity' ORDER BY a.id LIMIT 1) AS realname_status \
    FROM organizations o LEFT JOIN departments d ON d.id = o.department_id";

fn decode_unit(r: &AnyRow) -> Result<UnitRecord, StoreError> {
    Ok(UnitRecord {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        uscc: r.try_get("uscc")?,
        status: r.try_get("status")?,
        department_id: r.try_get("department_id")?,
        department_name: r.try_get("department_name")?,
        submitted_at: r.try_get("submitted_at")?,
        realname_status: r.try_get("realname_status")?,
    })
}

pub async fn find_unit(db: &Db, org_id: &str) -> Result<Option<UnitRecord>, StoreError> {
    let sql = format!("{UNIT} WHERE o.id = $1");
    let row = sqlx::query(&sql)
        .bind(org_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(decode_unit).transpose()
}

/// Moves a unit from one of `from` to `entry.to_status` and records `entry`, in one
/// transaction; a submit also stores the chosen department. False (nothing written) when the
/// unit was not in one of `from` — also when a concurrent decision got there first.
pub async fn transition(
    db: &Db,
    from: &[&str],
    entry: &ReviewEntry,
    submitted_department: Option<&str>,
) -> Result<bool, StoreError> {
    let mut tx = db.pool.begin().await?;
    let placeholders = (0..from.len())
        .map(|i| format!("${}", i + 5))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE organizations SET status = $1, updated_at = $2, \
         department_id = COALESCE($3, department_id), \
         submitted_at = CASE WHEN $3 IS NULL THEN submitted_at ELSE $2 END \
         WHERE id = $4 AND status IN ({placeholders})"
    );
    let mut update = sqlx::query(&sql)
        .bind(&entry.to_status)
        .bind(entry.at)
        .bind(submitted_department)
        .bind(&entry.org_id);
    for f in from {
        update = update.bind(*f);
    }
    if update.execute(&mut *tx).await?.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO unit_reviews (org_id, actor_account_id, action, from_status, to_status, \
         department_id, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&entry.org_id)
    .bind(&entry.actor_account_id)
    .bind(&entry.action)
    .bind(&entry.from_status)
    .bind(&entry.to_status)
    .bind(&entry.department_id)
    .bind(&entry.reason)
    .bind(entry.at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The review history of a unit, oldest first.
pub async fn history(db: &Db, org_id: &str) -> Result<Vec<ReviewEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, org_id, actor_account_id, action, from_status, to_status, department_id, \
         reason, at FROM unit_reviews WHERE org_id = $1 ORDER BY id",
    )
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ReviewEntry {
                id: r.try_get("id")?,
                org_id: r.try_get("org_id")?,
                actor_account_id: r.try_get("actor_account_id")?,
                action: r.try_get("action")?,
                from_status: r.try_get("from_status")?,
                to_status: r.try_get("to_status")?,
                department_id: r.try_get("department_id")?,
                reason: r.try_get("reason")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
}

/// A `LIKE` pattern matching `q` anywhere, with `\` as the escape character.
fn contains_pattern(q: &str) -> String {
    let escaped = q
        .trim()
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Units in `status` for review, newest submission first: only those that chose one of
/// `departments` (all departments when `None`), whose name contains `q`. Returns one page and
/// the total count.
pub async fn units_for_review(
    db: &Db,
    departments: Option<&[String]>,
    statuses: &[&str],
    q: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<UnitRecord>, i64), StoreError> {
    let mut filter = format!(
        "LOWER(o.name) LIKE $1 ESCAPE '\\' AND o.status IN ({})",
        in_list(2, statuses.len())
    );
    let first = 2 + statuses.len();
    if let Some(ds) = departments {
        if ds.is_empty() {
            return Ok((Vec::new(), 0));
        }
        filter.push_str(&format!(
            " AND o.department_id IN ({})",
            in_list(first, ds.len())
        ));
    }
    let pattern = contains_pattern(q);
    let count_sql = format!("SELECT COUNT(*) AS n FROM organizations o WHERE {filter}");
    let n = first + departments.map_or(0, <[String]>::len);
    let page_sql = format!(
        "{UNIT} WHERE {filter} ORDER BY o.submitted_at DESC, o.id LIMIT ${} OFFSET ${}",
        n,
        n + 1
    );
    let mut count = sqlx::query(&count_sql).bind(&pattern);
    let mut page = sqlx::query(&page_sql).bind(&pattern);
    for s in statuses {
        count = count.bind(*s);
        page = page.bind(*s);
    }
    for d in departments.unwrap_or(&[]) {
        count = count.bind(d);
        page = page.bind(d);
    }
    let total: i64 = count.fetch_one(&db.pool).await?.try_get("n")?;
    let rows = page.bind(limit).bind(offset).fetch_all(&db.pool).await?;
    let units = rows.iter().map(decode_unit).collect::<Result<_, _>>()?;
    Ok((units, total))
}

/// Where a page of the review list ends: the last unit's submission time and id. The next
/// page starts after it, so a unit submitted meanwhile neither shifts nor repeats rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewCursor {
    pub submitted_at: Option<i64>,
    pub id: String,
}

impl ReviewCursor {
    pub fn of(unit: &UnitRecord) -> ReviewCursor {
        ReviewCursor {
            submitted_at: unit.submitted_at,
            id: unit.id.clone(),
        }
    }
}

/// Like [`units_for_review`], by keyset instead of offset: the `limit` units after `after`
/// (from the start when `None`), newest submission first, ties by id, then the units never
/// submitted (by id; PostgreSQL would sort them first, SQLite last, so they are asked for
/// apart). Each part is one range of the `organizations_review` or
/// `organizations_department_order` index from the cursor on, so a deep page costs what the
/// first does; no total (count with [`units_for_review`] if a page needs one).
pub async fn units_for_review_after(
    db: &Db,
    departments: Option<&[String]>,
    statuses: &[&str],
    q: &str,
    limit: i64,
    after: Option<&ReviewCursor>,
) -> Result<Vec<UnitRecord>, StoreError> {
    if departments.is_some_and(<[String]>::is_empty) {
        return Ok(Vec::new());
    }
    let mut units = Vec::new();
    // Submitted units after the cursor (all of them when the cursor is past them).
    if after.is_none_or(|c| c.submitted_at.is_some()) {
        let at = after.and_then(|c| c.submitted_at.map(|s| (s, c.id.as_str())));
        units = review_part(
            db,
            departments,
            statuses,
            q,
            limit,
            ReviewPart::Submitted(at),
        )
        .await?;
    }
    let left = limit - units.len() as i64;
    if left > 0 {
        let from_id = after
            .filter(|c| c.submitted_at.is_none())
            .map(|c| c.id.as_str());
        units.extend(
            review_part(
                db,
                departments,
                statuses,
                q,
                left,
                ReviewPart::NeverSubmitted(from_id),
            )
            .await?,
        );
    }
    Ok(units)
}

/// Which part of the review list [`review_part`] reads.
enum ReviewPart<'a> {
    /// Submitted units, after (submitted_at, id) when given.
    Submitted(Option<(i64, &'a str)>),
    /// Never-submitted units, after this id when given.
    NeverSubmitted(Option<&'a str>),
}

async fn review_part(
    db: &Db,
    departments: Option<&[String]>,
    statuses: &[&str],
    q: &str,
    limit: i64,
    part: ReviewPart<'_>,
) -> Result<Vec<UnitRecord>, StoreError> {
    let mut filter = format!(
        "LOWER(o.name) LIKE $1 ESCAPE '\\' AND o.status IN ({})",
        in_list(2, statuses.len())
    );
    let mut next = 2 + statuses.len();
    if let Some(ds) = departments {
        filter.push_str(&format!(
            " AND o.department_id IN ({})",
            in_list(next, ds.len())
        ));
        next += ds.len();
    }
    // `submitted_at <= $a` is the index range; the OR only trims the ties at its start.
    let (cursor, order) = match part {
        ReviewPart::Submitted(Some(_)) => {
            let c = format!(
                " AND o.submitted_at <= ${a} AND (o.submitted_at < ${a} OR o.id > ${b})",
                a = next,
                b = next + 1
            );
            next += 2;
            (c, "o.submitted_at DESC, o.id")
        }
        ReviewPart::Submitted(None) => (
            " AND o.submitted_at IS NOT NULL".into(),
            "o.submitted_at DESC, o.id",
        ),
        ReviewPart::NeverSubmitted(Some(_)) => {
            let c = format!(" AND o.submitted_at IS NULL AND o.id > ${next}");
            next += 1;
            (c, "o.id")
        }
        ReviewPart::NeverSubmitted(None) => (" AND o.submitted_at IS NULL".into(), "o.id"),
    };
    let sql = format!("{UNIT} WHERE {filter}{cursor} ORDER BY {order} LIMIT ${next}");
    let mut page = sqlx::query(&sql).bind(contains_pattern(q));
    for s in statuses {
        page = page.bind(*s);
    }
    for d in departments.unwrap_or(&[]) {
        page = page.bind(d);
    }
    match part {
        ReviewPart::Submitted(Some((at, id))) => page = page.bind(at).bind(id.to_owned()),
        ReviewPart::NeverSubmitted(Some(id)) => page = page.bind(id.to_owned()),
        _ => {}
    }
    let rows = page.bind(limit).fetch_all(&db.pool).await?;
    rows.iter().map(decode_unit).collect()
}

/// Active units whose name is exactly `name` (after trimming; case-insensitive for Latin
/// letters).
///
/// The status is compared as `o.status || ''` so that no index on it can be used: SQLite,
/// planning without statistics, would otherwise walk every active unit in
/// `organizations_status_order` instead of looking the name up (migration 0012).
pub async fn active_units_named(db: &Db, name: &str) -> Result<Vec<UnitRecord>, StoreError> {
    let sql = format!(
        "{UNIT} WHERE (o.name_key = $1 OR LOWER(o.name) = $1) AND o.status || '' = 'active' \
         ORDER BY o.id"
    );
    let rows = sqlx::query(&sql)
        .bind(super::identities::unit_name_key(name))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(decode_unit).collect()
}

/// Puts the account in unit `org_id` with membership `role` and clears its grants (a new unit
/// must authorize it again), in one transaction. Returns the grants it held.
pub async fn set_membership(
    db: &Db,
    account_id: &str,
    org_id: &str,
    role: &str,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let mut tx = db.pool.begin().await?;
    // The account row first: a concurrent grant change (which updates it first too) waits
    // for this transaction, so no grant of the old unit survives the move.
    sqlx::query("UPDATE accounts SET org_id = $1, org_role = $2, updated_at = $3 WHERE id = $4")
        .bind(org_id)
        .bind(role)
        .bind(now)
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    let old = take_grants(&mut tx, account_id).await?;
    tx.commit().await?;
    Ok(old)
}

/// Deletes the account's grants inside the caller's transaction and returns them.
async fn take_grants(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account_id: &str,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query("SELECT subsystem_code FROM account_grants WHERE account_id = $1")
        .bind(account_id)
        .fetch_all(&mut **tx)
        .await?;
    let old = rows
        .iter()
        .map(|r| r.try_get("subsystem_code"))
        .collect::<Result<Vec<String>, _>>()?;
    sqlx::query("DELETE FROM account_grants WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    Ok(old)
}

/// Replaces the grants of `account_id` while it is still in unit `org_id` with a membership
/// in `roles`, in one transaction; returns the grants it held, or `None` (nothing written)
/// when it is no longer such a member — e.g. it moved to another unit meanwhile.
pub async fn replace_member_grants(
    db: &Db,
    org_id: &str,
    account_id: &str,
    roles: &[&str],
    grants: &[String],
    now: i64,
) -> Result<Option<Vec<String>>, StoreError> {
    let mut tx = db.pool.begin().await?;
    let list = (0..roles.len())
        .map(|i| format!("${}", i + 4))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE accounts SET updated_at = $1 WHERE id = $2 AND org_id = $3 AND org_role IN ({list})"
    );
    let mut update = sqlx::query(&sql).bind(now).bind(account_id).bind(org_id);
    for r in roles {
        update = update.bind(*r);
    }
    if update.execute(&mut *tx).await?.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(None);
    }
    let old = take_grants(&mut tx, account_id).await?;
    for g in grants {
        sqlx::query(
            "INSERT INTO account_grants (account_id, subsystem_code, granted_at) VALUES ($1, $2, $3)",
        )
        .bind(account_id)
        .bind(g)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Some(old))
}

/// Turns a pending membership in `org_id` into `member`; false when it was not pending there.
pub async fn approve_membership(
    db: &Db,
    org_id: &str,
    account_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let res = sqlx::query(
        "UPDATE accounts SET org_role = 'member', updated_at = $1 \
         WHERE id = $2 AND org_id = $3 AND org_role = 'pending'",
    )
    .bind(now)
    .bind(account_id)
    .bind(org_id)
    .execute(&db.pool)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// The members of a unit (pending and approved, not its admins), by login name, whose login
/// name or name contains `q`: one page and the total count.
pub async fn members(
    db: &Db,
    org_id: &str,
    q: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Account>, i64), StoreError> {
    let filter = "a.org_id = $1 AND a.org_role IN ('member', 'pending') \
        AND (LOWER(a.login_name) LIKE $2 ESCAPE '\\' OR LOWER(a.display_name) LIKE $2 ESCAPE '\\')";
    let pattern = contains_pattern(q);
    let total: i64 = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM accounts a WHERE {filter}"
    ))
    .bind(org_id)
    .bind(&pattern)
    .fetch_one(&db.pool)
    .await?
    .try_get("n")?;
    let sql = format!(
        "{} WHERE {filter} ORDER BY a.login_key LIMIT $3 OFFSET $4",
        accounts::SELECT
    );
    let rows = sqlx::query(&sql)
        .bind(org_id)
        .bind(&pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(&db.pool)
        .await?;
    let list = rows
        .iter()
        .map(accounts::decode)
        .collect::<Result<_, _>>()?;
    Ok((list, total))
}

/// Like [`members`], by keyset instead of offset: the `limit` members after login key
/// `after` (from the start when `None`), by login name, walking the `accounts_org_login`
/// index from there; no total.
pub async fn members_after(
    db: &Db,
    org_id: &str,
    q: &str,
    limit: i64,
    after: Option<&str>,
) -> Result<Vec<Account>, StoreError> {
    let sql = format!(
        "{} WHERE a.org_id = $1 AND a.org_role IN ('member', 'pending') \
         AND (LOWER(a.login_name) LIKE $2 ESCAPE '\\' OR LOWER(a.display_name) LIKE $2 ESCAPE '\\') \
         {} ORDER BY a.login_key LIMIT {}",
        accounts::SELECT,
        if after.is_some() { "AND a.login_key > $3" } else { "" },
        if after.is_some() { "$4" } else { "$3" },
    );
    let mut query = sqlx::query(&sql).bind(org_id).bind(contains_pattern(q));
    if let Some(key) = after {
        query = query.bind(key);
    }
    let rows = query.bind(limit).fetch_all(&db.pool).await?;
    rows.iter().map(accounts::decode).collect()
}

/// The subsystem codes of the registered clients.
pub async fn subsystem_codes(db: &Db) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT subsystem_code FROM clients WHERE subsystem_code IS NOT NULL \
         ORDER BY subsystem_code",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get("subsystem_code"))
        .collect::<Result<_, sqlx::Error>>()?)
}

/// The clients registered for any of `codes`.
pub async fn clients_of_subsystems(db: &Db, codes: &[String]) -> Result<Vec<String>, StoreError> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let list = (0..codes.len())
        .map(|i| format!("${}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT client_id FROM clients WHERE subsystem_code IN ({list}) ORDER BY client_id"
    );
    let mut query = sqlx::query(&sql);
    for c in codes {
        query = query.bind(c);
    }
    let rows = query.fetch_all(&db.pool).await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get("client_id"))
        .collect::<Result<_, sqlx::Error>>()?)
}

/// The stored completion JSON of a unit.
pub async fn completion(db: &Db, org_id: &str) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT completion FROM organizations WHERE id = $1")
        .bind(org_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(match row {
        Some(r) => r.try_get("completion")?,
        None => None,
    })
}

/// Stores the completion JSON while the unit is in one of `statuses`; false otherwise.
pub async fn set_completion(
    db: &Db,
    org_id: &str,
    json: &str,
    statuses: &[&str],
    now: i64,
) -> Result<bool, StoreError> {
    let list = in_list(4, statuses.len());
    let sql = format!(
        "UPDATE organizations SET completion = $1, updated_at = $2 WHERE id = $3 \
         AND status IN ({list})"
    );
    let mut q = sqlx::query(&sql).bind(json).bind(now).bind(org_id);
    for s in statuses {
        q = q.bind(*s);
    }
    Ok(q.execute(&db.pool).await?.rows_affected() == 1)
}

/// `$first, $first+1, …` for `n` bound values.
pub(crate) fn in_list(first: usize, n: usize) -> String {
    (0..n)
        .map(|i| format!("${}", i + first))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The reason of the unit's last return, if it was returned.
pub async fn last_return_reason(db: &Db, org_id: &str) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "SELECT reason FROM unit_reviews WHERE org_id = $1 AND action = 'return' \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(org_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(match row {
        Some(r) => r.try_get("reason")?,
        None => None,
    })
}

/// The accounts that administer unit `org_id` (`org_role = admin`).
pub async fn unit_admin_ids(db: &Db, org_id: &str) -> Result<Vec<String>, StoreError> {
    let rows =
        sqlx::query("SELECT id FROM accounts WHERE org_id = $1 AND org_role = 'admin' ORDER BY id")
            .bind(org_id)
            .fetch_all(&db.pool)
            .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, sqlx::Error>>()?)
}

/// Every account of unit `org_id` (admins, members, pending).
pub async fn unit_account_ids(db: &Db, org_id: &str) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query("SELECT id FROM accounts WHERE org_id = $1 ORDER BY id")
        .bind(org_id)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, sqlx::Error>>()?)
}

/// The subsystems enabled for unit `org_id`: the grants of its admin accounts.
pub async fn unit_subsystems(db: &Db, org_id: &str) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT g.subsystem_code FROM account_grants g \
         JOIN accounts a ON a.id = g.account_id \
         WHERE a.org_id = $1 AND a.org_role = 'admin' ORDER BY g.subsystem_code",
    )
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get("subsystem_code"))
        .collect::<Result<_, sqlx::Error>>()?)
}

/// Sets the subsystems enabled for a unit to exactly `codes` (the grants of its admin
/// accounts) and removes the others from its members, in one transaction. Returns, per
/// account, the codes it lost.
pub async fn set_unit_subsystems(
    db: &Db,
    org_id: &str,
    codes: &[String],
    now: i64,
) -> Result<Vec<(String, Vec<String>)>, StoreError> {
    let mut tx = db.pool.begin().await?;
    let rows = sqlx::query("SELECT id, org_role FROM accounts WHERE org_id = $1 ORDER BY id")
        .bind(org_id)
        .fetch_all(&mut *tx)
        .await?;
    let mut lost = Vec::new();
    for r in rows {
        let id: String = r.try_get("id")?;
        let role: Option<String> = r.try_get("org_role")?;
        sqlx::query("UPDATE accounts SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        let held = take_grants(&mut tx, &id).await?;
        let keep: Vec<String> = if role.as_deref() == Some("admin") {
            codes.to_vec()
        } else {
            held.iter().filter(|g| codes.contains(g)).cloned().collect()
        };
        for g in &keep {
            sqlx::query(
                "INSERT INTO account_grants (account_id, subsystem_code, granted_at) \
                 VALUES ($1, $2, $3)",
            )
            .bind(&id)
            .bind(g)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let gone: Vec<String> = held.into_iter().filter(|g| !keep.contains(g)).collect();
        if !gone.is_empty() {
            lost.push((id, gone));
        }
    }
    tx.commit().await?;
    Ok(lost)
}

/// Departments with how many units chose each and how many reviewers each has.
pub async fn department_use(db: &Db) -> Result<Vec<(Department, i64, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT d.id, d.name, \
         (SELECT COUNT(*) FROM organizations o WHERE o.department_id = d.id) AS units, \
         (SELECT COUNT(*) FROM account_roles r WHERE r.role = $1 || d.id) AS reviewers \
         FROM departments d ORDER BY d.id",
    )
    .bind(tongyi_shared::roles::DEPARTMENT_REVIEWER_PREFIX)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                Department {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                },
                r.try_get("units")?,
                r.try_get("reviewers")?,
            ))
        })
        .collect()
}

/// Creates a department; false when the id is taken.
pub async fn create_department(db: &Db, d: &Department, now: i64) -> Result<bool, StoreError> {
    let res = sqlx::query("INSERT INTO departments (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&d.id)
        .bind(&d.name)
        .bind(now)
        .execute(&db.pool)
        .await;
    match res {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub async fn rename_department(db: &Db, id: &str, name: &str) -> Result<bool, StoreError> {
    let res = sqlx::query("UPDATE departments SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(res.rows_affected() == 1)
}

/// Deletes a department no unit chose and no reviewer holds, in one transaction: `Ok(None)`
/// when there is no such department, `Ok(Some(false))` when it is in use.
pub async fn delete_unused_department(db: &Db, id: &str) -> Result<Option<bool>, StoreError> {
    let mut tx = db.pool.begin().await?;
    let exists = sqlx::query("SELECT id FROM departments WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !exists {
        tx.rollback().await?;
        return Ok(None);
    }
    let role = format!("{}{id}", tongyi_shared::roles::DEPARTMENT_REVIEWER_PREFIX);
    let used: i64 = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM organizations WHERE department_id = $1) + \
         (SELECT COUNT(*) FROM account_roles WHERE role = $2) + \
         (SELECT COUNT(*) FROM unit_reviews WHERE department_id = $1) AS n",
    )
    .bind(id)
    .bind(&role)
    .fetch_one(&mut *tx)
    .await?
    .try_get("n")?;
    if used > 0 {
        tx.rollback().await?;
        return Ok(Some(false));
    }
    sqlx::query("DELETE FROM departments WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(true))
}

/// The accounts holding `role`, by login name.
pub async fn accounts_with_role(db: &Db, role: &str) -> Result<Vec<Account>, StoreError> {
    let sql = format!(
        "{} WHERE a.id IN (SELECT account_id FROM account_roles WHERE role = $1) \
         ORDER BY a.login_key",
        accounts::SELECT
    );
    let rows = sqlx::query(&sql).bind(role).fetch_all(&db.pool).await?;
    rows.iter().map(accounts::decode).collect()
}

/// Gives `role` to the account (nothing when it holds it already).
pub async fn add_role(db: &Db, account_id: &str, role: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO account_roles (account_id, role) VALUES ($1, $2) \
         ON CONFLICT (account_id, role) DO NOTHING",
    )
    .bind(account_id)
    .bind(role)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Takes `role` from the account; false when it did not hold it.
pub async fn remove_role(db: &Db, account_id: &str, role: &str) -> Result<bool, StoreError> {
    let res = sqlx::query("DELETE FROM account_roles WHERE account_id = $1 AND role = $2")
        .bind(account_id)
        .bind(role)
        .execute(&db.pool)
        .await?;
    Ok(res.rows_affected() == 1)
}

/// The display names of accounts, for the review history.
pub async fn display_names(
    db: &Db,
    ids: &[String],
) -> Result<std::collections::HashMap<String, String>, StoreError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let sql = format!(
        "SELECT id, display_name FROM accounts WHERE id IN ({})",
        in_list(1, ids.len())
    );
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(id);
    }
    let rows = q.fetch_all(&db.pool).await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("display_name")?)))
        .collect()
}
