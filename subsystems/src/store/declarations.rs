//! Declarations and their transitions. A state change happens only from the state it was
//! decided on (`WHERE state = $from`), in the same transaction as its history row.

use sqlx::{any::AnyRow, Row};

use super::Db;
use crate::declaration::{State, Values};

const COLUMNS: &str = "id, owner_sub, owner_name, org_id, org_name, title, state, field_values, \
                       return_reason, created_at, updated_at, submitted_at";

/// A stored declaration.
#[derive(Clone, Debug)]
pub struct Declaration {
    pub id: String,
    pub owner_sub: String,
    pub owner_name: String,
    pub org_id: Option<String>,
    pub org_name: Option<String>,
    /// The carrier's name at the last save, for lists.
    pub title: String,
    pub state: State,
    pub values: Values,
    /// The reason of the last return, while returned.
    pub return_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub submitted_at: Option<i64>,
}

/// One recorded state change.
#[derive(Clone, Debug)]
pub struct Transition {
    pub actor_name: String,
    pub from: Option<State>,
    pub to: State,
    pub reason: Option<String>,
    pub at: i64,
}

/// Who creates or acts, as recorded.
#[derive(Clone, Copy, Debug)]
pub struct Who<'a> {
    pub sub: &'a str,
    pub name: &'a str,
}

pub struct NewDeclaration<'a> {
    pub id: &'a str,
    pub form_code: &'a str,
    pub owner: Who<'a>,
    pub org_id: Option<&'a str>,
    pub org_name: Option<&'a str>,
    pub title: &'a str,
    pub values: &'a Values,
    pub now: i64,
}

fn from_row(row: &AnyRow) -> Result<Declaration, sqlx::Error> {
    let state: String = row.try_get("state")?;
    Ok(Declaration {
        id: row.try_get("id")?,
        owner_sub: row.try_get("owner_sub")?,
        owner_name: row.try_get("owner_name")?,
        org_id: row.try_get("org_id")?,
        org_name: row.try_get("org_name")?,
        title: row.try_get("title")?,
        state: State::parse(&state).ok_or_else(|| sqlx::Error::Decode("unknown state".into()))?,
        values: Values::from_json(&row.try_get::<String, _>("field_values")?),
        return_reason: row.try_get("return_reason")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        submitted_at: row.try_get("submitted_at")?,
    })
}

/// Creates a draft and records its creation (— → 草稿).
pub async fn create(db: &Db, new: NewDeclaration<'_>) -> Result<(), sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    sqlx::query(
        "INSERT INTO declarations (id, form_code, owner_sub, owner_name, org_id, org_name, title, \
         state, field_values, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'draft', $8, $9, $9)",
    )
    .bind(new.id)
    .bind(new.form_code)
    .bind(new.owner.sub)
    .bind(new.owner.name)
    .bind(new.org_id)
    .bind(new.org_name)
    .bind(new.title)
    .bind(new.values.to_json())
    .bind(new.now)
    .execute(&mut *tx)
    .await?;
    insert_transition(
        &mut tx,
        new.id,
        new.owner,
        None,
        State::Draft,
        None,
        new.now,
    )
    .await?;
    tx.commit().await
}

async fn insert_transition(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    who: Who<'_>,
    from: Option<State>,
    to: State,
    reason: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO declaration_transitions (declaration_id, actor_sub, actor_name, from_state, \
         to_state, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(who.sub)
    .bind(who.name)
    .bind(from.map(State::as_str))
    .bind(to.as_str())
    .bind(reason)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Declaration>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM declarations WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The account's own declarations, the last changed first.
pub async fn list_by_owner(db: &Db, owner_sub: &str) -> Result<Vec<Declaration>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM declarations WHERE owner_sub = $1 ORDER BY updated_at DESC, id"
    ))
    .bind(owner_sub)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// How many declarations a list page shows.
pub const PAGE_SIZE: u32 = 20;

/// What a list shows besides its scope: both filters are optional and combine.
#[derive(Clone, Copy, Debug, Default)]
pub struct Filter<'a> {
    /// A part of the unit's name as recorded at creation (`org_name`), matched literally
    /// (`%` and `_` are no wildcards) and, for Latin letters, regardless of case.
    pub unit_name: Option<&'a str>,
    pub state: Option<State>,
}

/// Which page of a list, counted from 1, of how many rows.
#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    pub number: u32,
    pub size: u32,
}

/// One page of a list.
#[derive(Clone, Debug)]
pub struct ListPage {
    pub rows: Vec<Declaration>,
    /// How many declarations match, over all pages.
    pub total: u64,
    /// The page shown: the one asked for, or the last one when that lies beyond it.
    pub number: u32,
    /// How many pages there are; at least 1 (an empty list is one empty page).
    pub pages: u32,
}

/// Whose declarations a list shows.
#[derive(Clone, Copy, Debug)]
enum Scope<'a> {
    /// The bureau's: every declaration that was ever submitted, those waiting first.
    Review,
    /// One unit's (`org_id` recorded at creation), drafts included, the last changed first.
    Unit(&'a str),
}

/// What the bureau sees: every declaration that was ever submitted (never a draft), those
/// waiting first, then the most recently submitted.
pub async fn list_for_review(
    db: &Db,
    filter: Filter<'_>,
    page: PageRequest,
) -> Result<ListPage, sqlx::Error> {
    list_page(db, Scope::Review, filter, page).await
}

/// What a unit's admin sees: every declaration its members created while in the unit, in
/// any state, the last changed first. `filter.unit_name` is beside the point here but
/// applies if given.
pub async fn list_for_unit(
    db: &Db,
    org_id: &str,
    filter: Filter<'_>,
    page: PageRequest,
) -> Result<ListPage, sqlx::Error> {
    list_page(db, Scope::Unit(org_id), filter, page).await
}

/// `%`, `_` and the escape character itself stand for themselves in a LIKE pattern.
fn like_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

async fn list_page(
    db: &Db,
    scope: Scope<'_>,
    filter: Filter<'_>,
    page: PageRequest,
) -> Result<ListPage, sqlx::Error> {
    // Conditions are fixed SQL text; every value goes in as a parameter ($1, $2…).
    let mut conditions: Vec<String> = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let order = match scope {
        Scope::Review => {
            conditions.push("state <> 'draft'".into());
            "CASE state WHEN 'submitted' THEN 0 ELSE 1 END, submitted_at DESC, id"
        }
        Scope::Unit(org_id) => {
            args.push(org_id.to_owned());
            conditions.push(format!("org_id = ${}", args.len()));
            "updated_at DESC, id"
        }
    };
    if let Some(state) = filter.state {
        args.push(state.as_str().to_owned());
        conditions.push(format!("state = ${}", args.len()));
    }
    if let Some(name) = filter.unit_name.filter(|n| !n.is_empty()) {
        args.push(like_literal(name));
        // LOWER on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
        conditions.push(format!(
            "LOWER(org_name) LIKE LOWER(${}) ESCAPE '\\'",
            args.len()
        ));
    }
    let predicate = conditions.join(" AND ");

    let count_sql = format!("SELECT COUNT(*) AS n FROM declarations WHERE {predicate}");
    let mut count = sqlx::query(&count_sql);
    for a in &args {
        count = count.bind(a.as_str());
    }
    let total: i64 = count.fetch_one(&db.pool).await?.try_get("n")?;
    let total = u64::try_from(total).unwrap_or(0);

    let size = page.size.max(1);
    let pages = u32::try_from(total.div_ceil(u64::from(size)))
        .unwrap_or(u32::MAX)
        .max(1);
    let number = page.number.clamp(1, pages);
    let offset = i64::from(number - 1) * i64::from(size);
    let rows_sql = format!(
        "SELECT {COLUMNS} FROM declarations WHERE {predicate} ORDER BY {order} \
         LIMIT ${} OFFSET ${}",
        args.len() + 1,
        args.len() + 2
    );
    let mut query = sqlx::query(&rows_sql);
    for a in &args {
        query = query.bind(a.as_str());
    }
    let rows = query
        .bind(i64::from(size))
        .bind(offset)
        .fetch_all(&db.pool)
        .await?;
    Ok(ListPage {
        rows: rows.iter().map(from_row).collect::<Result<_, _>>()?,
        total,
        number,
        pages,
    })
}

/// Saves the values while the declaration is still the owner's to edit. `false`: it is not
/// (any more), and nothing changed.
pub async fn save_values(
    db: &Db,
    id: &str,
    owner_sub: &str,
    title: &str,
    values: &Values,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE declarations SET field_values = $1, title = $2, updated_at = $3 \
         WHERE id = $4 AND owner_sub = $5 AND state IN ('draft', 'returned')",
    )
    .bind(values.to_json())
    .bind(title)
    .bind(now)
    .bind(id)
    .bind(owner_sub)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves the declaration from `from` to `to` and records it. `false`: it was no longer in
/// `from` (someone else acted first), and nothing changed.
pub async fn transition(
    db: &Db,
    id: &str,
    from: State,
    to: State,
    who: Who<'_>,
    reason: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let done = sqlx::query(
        "UPDATE declarations SET state = $1, return_reason = $2, updated_at = $3, \
         submitted_at = CASE WHEN $1 = 'submitted' THEN $3 ELSE submitted_at END \
         WHERE id = $4 AND state = $5",
    )
    .bind(to.as_str())
    .bind(if to == State::Returned { reason } else { None })
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    insert_transition(&mut tx, id, who, Some(from), to, reason, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// The declaration's history, oldest first.
pub async fn transitions(db: &Db, id: &str) -> Result<Vec<Transition>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT actor_name, from_state, to_state, reason, at FROM declaration_transitions \
         WHERE declaration_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let from: Option<String> = row.try_get("from_state")?;
            let to: String = row.try_get("to_state")?;
            Ok(Transition {
                actor_name: row.try_get("actor_name")?,
                from: from.as_deref().and_then(State::parse),
                to: State::parse(&to).ok_or_else(|| sqlx::Error::Decode("unknown state".into()))?,
                reason: row.try_get("reason")?,
                at: row.try_get("at")?,
            })
        })
        .collect()
}
