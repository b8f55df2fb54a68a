//! Database schemas read back from SQLite and PostgreSQL in one normalized shape, so that a
//! test can check that an app's two migration sets build the same database.
//!
//! What counts: tables; columns by name with their nullability and a type family (integer,
//! text, real, blob/bytea, boolean); primary keys; unique constraints (by columns, since the
//! backends name them differently); explicitly created indexes (name, columns, unique,
//! partial); foreign keys (columns, referenced table and columns, `ON DELETE`). Column order,
//! defaults, checks and the exact types within a family do not count. sqlx's own
//! `_sqlx_migrations` table is left out.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{Connection, PgConnection, Row, SqliteConnection};

/// The table sqlx keeps its migration history in (different on each backend by design).
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// Which kind of value a column holds, whatever the backend calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TypeFamily {
    Integer,
    Text,
    Real,
    Blob,
    Boolean,
}

impl TypeFamily {
    /// A SQLite declared type, by SQLite's own affinity rules (§3.1 of its datatype page),
    /// except that `BOOLEAN` is taken as declared: the apps store booleans there.
    fn of_sqlite(declared: &str) -> TypeFamily {
        let t = declared.to_ascii_uppercase();
        if t.contains("BOOL") {
            TypeFamily::Boolean
        } else if t.contains("INT") {
            TypeFamily::Integer
        } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
            TypeFamily::Text
        } else if t.is_empty() || t.contains("BLOB") {
            TypeFamily::Blob
        } else {
            // REAL, FLOAT, DOUBLE and SQLite's numeric affinity (NUMERIC, DECIMAL…).
            TypeFamily::Real
        }
    }

    /// A PostgreSQL type as `information_schema.columns.data_type` names it.
    fn of_postgres(data_type: &str) -> TypeFamily {
        match data_type {
            "smallint" | "integer" | "bigint" => TypeFamily::Integer,
            "boolean" => TypeFamily::Boolean,
            "bytea" => TypeFamily::Blob,
            "real" | "double precision" | "numeric" => TypeFamily::Real,
            // text, character varying, character, and anything else stored as text (json…).
            _ => TypeFamily::Text,
        }
    }

    fn name(self) -> &'static str {
        match self {
            TypeFamily::Integer => "integer",
            TypeFamily::Text => "text",
            TypeFamily::Real => "real",
            TypeFamily::Blob => "blob",
            TypeFamily::Boolean => "boolean",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub family: TypeFamily,
    pub nullable: bool,
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let null = if self.nullable { "NULL" } else { "NOT NULL" };
        write!(f, "{} {null}", self.family.name())
    }
}

/// An index created by `CREATE [UNIQUE] INDEX`; an expression in it shows as `<expr>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Index {
    pub columns: Vec<String>,
    pub unique: bool,
    /// Has a `WHERE` clause.
    pub partial: bool,
}

impl std::fmt::Display for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unique = if self.unique { "unique " } else { "" };
        let partial = if self.partial { " partial" } else { "" };
        write!(f, "{unique}({}){partial}", self.columns.join(", "))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub references: String,
    pub referenced_columns: Vec<String>,
    /// `NO ACTION`, `RESTRICT`, `CASCADE`, `SET NULL` or `SET DEFAULT`.
    pub on_delete: String,
}

impl std::fmt::Display for ForeignKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "({}) -> {}({}) ON DELETE {}",
            self.columns.join(", "),
            self.references,
            self.referenced_columns.join(", "),
            self.on_delete
        )
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    pub columns: BTreeMap<String, Column>,
    pub primary_key: Vec<String>,
    /// Unique constraints (not unique indexes), by their columns.
    pub unique: BTreeSet<Vec<String>>,
    pub indexes: BTreeMap<String, Index>,
    pub foreign_keys: BTreeSet<ForeignKey>,
}

/// A database's tables by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schema {
    pub tables: BTreeMap<String, Table>,
}

impl Schema {
    /// Every way `other` differs from `self`, one readable line each, `left`/`right` naming
    /// the two (e.g. `sqlite`, `postgres`). Empty when they agree.
    pub fn diff(&self, other: &Schema, left: &str, right: &str) -> Vec<String> {
        let mut out = Vec::new();
        let names: BTreeSet<&String> = self.tables.keys().chain(other.tables.keys()).collect();
        for name in names {
            match (self.tables.get(name), other.tables.get(name)) {
                (Some(a), Some(b)) => a.diff(b, name, left, right, &mut out),
                (Some(_), None) => out.push(format!("table {name}: only in {left}")),
                (None, Some(_)) => out.push(format!("table {name}: only in {right}")),
                (None, None) => {}
            }
        }
        out
    }
}

/// Fails with a readable list when `diff` has a line `allowed` does not name, or `allowed` names
/// one that is no longer there (so that a fixed difference leaves the allow-list too).
pub fn assert_parity(diff: &[String], allowed: &[&str]) {
    let unexpected: Vec<&String> = diff
        .iter()
        .filter(|d| !allowed.contains(&d.as_str()))
        .collect();
    let stale: Vec<&&str> = allowed
        .iter()
        .filter(|a| !diff.iter().any(|d| d == **a))
        .collect();
    let mut report = String::new();
    for line in &unexpected {
        report.push_str(&format!("\n  differs: {line}"));
    }
    for line in &stale {
        report.push_str(&format!("\n  allowed but no longer different: {line}"));
    }
    assert!(
        report.is_empty(),
        "the two migration sets disagree:{report}"
    );
}

/// Lines for the entries of two maps that differ, `what` naming the kind of entry.
fn diff_maps<V: PartialEq + std::fmt::Display>(
    a: &BTreeMap<String, V>,
    b: &BTreeMap<String, V>,
    what: &str,
    table: &str,
    (left, right): (&str, &str),
    out: &mut Vec<String>,
) {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for key in keys {
        match (a.get(key), b.get(key)) {
            (Some(x), Some(y)) if x != y => {
                out.push(format!("{table}: {what} {key}: {left} {x}, {right} {y}"))
            }
            (Some(x), None) => out.push(format!("{table}: {what} {key} ({x}): only in {left}")),
            (None, Some(y)) => out.push(format!("{table}: {what} {key} ({y}): only in {right}")),
            _ => {}
        }
    }
}

/// Lines for the members of two sets that only one has.
fn diff_sets<V: Ord + Clone>(
    a: &BTreeSet<V>,
    b: &BTreeSet<V>,
    show: impl Fn(&V) -> String,
    what: &str,
    table: &str,
    (left, right): (&str, &str),
    out: &mut Vec<String>,
) {
    for v in a.difference(b) {
        out.push(format!("{table}: {what} {}: only in {left}", show(v)));
    }
    for v in b.difference(a) {
        out.push(format!("{table}: {what} {}: only in {right}", show(v)));
    }
}

impl Table {
    fn diff(&self, other: &Table, name: &str, left: &str, right: &str, out: &mut Vec<String>) {
        let sides = (left, right);
        diff_maps(&self.columns, &other.columns, "column", name, sides, out);
        if self.primary_key != other.primary_key {
            out.push(format!(
                "{name}: primary key: {left} ({}), {right} ({})",
                self.primary_key.join(", "),
                other.primary_key.join(", ")
            ));
        }
        let cols = |c: &Vec<String>| format!("({})", c.join(", "));
        diff_sets(
            &self.unique,
            &other.unique,
            cols,
            "unique",
            name,
            sides,
            out,
        );
        diff_maps(&self.indexes, &other.indexes, "index", name, sides, out);
        let fk = |k: &ForeignKey| k.to_string();
        let (a, b) = (&self.foreign_keys, &other.foreign_keys);
        diff_sets(a, b, fk, "foreign key", name, sides, out);
    }
}

/// Reads the schema of the SQLite database at `url`.
pub async fn read_sqlite(url: &str) -> Result<Schema, sqlx::Error> {
    let mut conn = SqliteConnection::connect(url).await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await?;
    let mut schema = Schema::default();
    for name in names.into_iter().filter(|n| n != MIGRATIONS_TABLE) {
        let mut table = Table::default();
        let mut pk: Vec<(i64, String)> = Vec::new();
        let columns = sqlx::query(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid",
        )
        .bind(&name)
        .fetch_all(&mut conn)
        .await?;
        for c in columns {
            let column: String = c.try_get("name")?;
            let pk_seq: i64 = c.try_get("pk")?;
            let not_null: i64 = c.try_get("notnull")?;
            if pk_seq > 0 {
                pk.push((pk_seq, column.clone()));
            }
            table.columns.insert(
                column,
                Column {
                    family: TypeFamily::of_sqlite(&c.try_get::<String, _>("type")?),
                    // SQLite lets a non-INTEGER primary key hold NULL unless declared NOT
                    // NULL; PostgreSQL never does. The apps always set their keys, so a
                    // key column counts as NOT NULL on both.
                    nullable: not_null == 0 && pk_seq == 0,
                },
            );
        }
        pk.sort();
        table.primary_key = pk.into_iter().map(|(_, c)| c).collect();

        let indexes = sqlx::query(
            "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1) ORDER BY name",
        )
        .bind(&name)
        .fetch_all(&mut conn)
        .await?;
        for i in indexes {
            let index: String = i.try_get("name")?;
            let origin: String = i.try_get("origin")?;
            let columns: Vec<Option<String>> =
                sqlx::query_scalar("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
                    .bind(&index)
                    .fetch_all(&mut conn)
                    .await?;
            let columns: Vec<String> = columns
                .into_iter()
                .map(|c| c.unwrap_or_else(|| "<expr>".into()))
                .collect();
            match origin.as_str() {
                // Created by CREATE INDEX.
                "c" => {
                    table.indexes.insert(
                        index,
                        Index {
                            columns,
                            unique: i.try_get::<i64, _>("unique")? != 0,
                            partial: i.try_get::<i64, _>("partial")? != 0,
                        },
                    );
                }
                // Behind a UNIQUE constraint.
                "u" => {
                    table.unique.insert(columns);
                }
                // Behind the primary key, already read from the columns.
                _ => {}
            }
        }

        let fks = sqlx::query(
            "SELECT id, \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
        )
        .bind(&name)
        .fetch_all(&mut conn)
        .await?;
        let mut by_id: BTreeMap<i64, ForeignKey> = BTreeMap::new();
        for f in fks {
            let key = by_id.entry(f.try_get("id")?).or_insert_with(|| ForeignKey {
                columns: Vec::new(),
                references: String::new(),
                referenced_columns: Vec::new(),
                on_delete: String::new(),
            });
            key.references = f.try_get("table")?;
            key.on_delete = f.try_get("on_delete")?;
            key.columns.push(f.try_get("from")?);
            // No column named: the referenced table's primary key, resolved below.
            if let Some(to) = f.try_get::<Option<String>, _>("to")? {
                key.referenced_columns.push(to);
            }
        }
        table.foreign_keys = by_id.into_values().collect();
        schema.tables.insert(name, table);
    }
    // `REFERENCES t` without columns means t's primary key.
    let keys: BTreeMap<String, Vec<String>> = schema
        .tables
        .iter()
        .map(|(n, t)| (n.clone(), t.primary_key.clone()))
        .collect();
    for table in schema.tables.values_mut() {
        table.foreign_keys = std::mem::take(&mut table.foreign_keys)
            .into_iter()
            .map(|mut k| {
                if k.referenced_columns.is_empty() {
                    k.referenced_columns = keys.get(&k.references).cloned().unwrap_or_default();
                }
                k
            })
            .collect();
    }
    conn.close().await?;
    Ok(schema)
}

/// Reads the schema `public` of the PostgreSQL database at `url`.
pub async fn read_postgres(url: &str) -> Result<Schema, sqlx::Error> {
    let mut conn = PgConnection::connect(url).await?;
    let mut schema = Schema::default();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&mut conn)
    .await?;
    for name in tables.into_iter().filter(|n| n != MIGRATIONS_TABLE) {
        schema.tables.insert(name, Table::default());
    }

    let columns = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty,
                is_nullable::text AS nullable
         FROM information_schema.columns WHERE table_schema = 'public'",
    )
    .fetch_all(&mut conn)
    .await?;
    for c in columns {
        let Some(table) = schema.tables.get_mut(&c.try_get::<String, _>("t")?) else {
            continue;
        };
        table.columns.insert(
            c.try_get("c")?,
            Column {
                family: TypeFamily::of_postgres(&c.try_get::<String, _>("ty")?),
                nullable: c.try_get::<String, _>("nullable")? == "YES",
            },
        );
    }

    // Primary keys, unique constraints and foreign keys, columns in key order.
    let constraints = sqlx::query(
        "SELECT t.relname::text AS t, c.contype::text AS kind,
                coalesce(r.relname::text, '') AS referenced,
                c.confdeltype::text AS on_delete,
                array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(num, pos)
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num
                      ORDER BY k.pos) AS columns,
                array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(num, pos)
                      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num
                      ORDER BY k.pos) AS referenced_columns
         FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         LEFT JOIN pg_class r ON r.oid = c.confrelid
         WHERE n.nspname = 'public' AND c.contype IN ('p', 'u', 'f')",
    )
    .fetch_all(&mut conn)
    .await?;
    for c in constraints {
        let Some(table) = schema.tables.get_mut(&c.try_get::<String, _>("t")?) else {
            continue;
        };
        let columns: Vec<String> = c.try_get("columns")?;
        match c.try_get::<String, _>("kind")?.as_str() {
            "p" => table.primary_key = columns,
            "u" => {
                table.unique.insert(columns);
            }
            _ => {
                let on_delete = match c.try_get::<String, _>("on_delete")?.as_str() {
                    "r" => "RESTRICT",
                    "c" => "CASCADE",
                    "n" => "SET NULL",
                    "d" => "SET DEFAULT",
                    _ => "NO ACTION",
                };
                table.foreign_keys.insert(ForeignKey {
                    columns,
                    references: c.try_get("referenced")?,
                    referenced_columns: c.try_get("referenced_columns")?,
                    on_delete: on_delete.into(),
                });
            }
        }
    }

    // Indexes of their own: not the ones behind a primary key or unique constraint.
    let indexes = sqlx::query(
        "SELECT t.relname::text AS t, i.relname::text AS name, x.indisunique AS is_unique,
                x.indpred IS NOT NULL AS partial,
                array(SELECT coalesce(a.attname::text, '<expr>')
                      FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(num, pos)
                      LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.num
                      ORDER BY k.pos) AS columns
         FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = 'public'
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid
                           AND c.contype IN ('p', 'u', 'x'))",
    )
    .fetch_all(&mut conn)
    .await?;
    for i in indexes {
        let Some(table) = schema.tables.get_mut(&i.try_get::<String, _>("t")?) else {
            continue;
        };
        table.indexes.insert(
            i.try_get("name")?,
            Index {
                columns: i.try_get("columns")?,
                unique: i.try_get("is_unique")?,
                partial: i.try_get("partial")?,
            },
        );
    }
    conn.close().await?;
    Ok(schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_families() {
        for (declared, family) in [
            ("INTEGER", TypeFamily::Integer),
            ("BIGINT", TypeFamily::Integer),
            ("TEXT", TypeFamily::Text),
            ("VARCHAR(20)", TypeFamily::Text),
            ("BLOB", TypeFamily::Blob),
            ("", TypeFamily::Blob),
            ("REAL", TypeFamily::Real),
            ("DOUBLE PRECISION", TypeFamily::Real),
            ("BOOLEAN", TypeFamily::Boolean),
        ] {
            assert_eq!(TypeFamily::of_sqlite(declared), family, "{declared}");
        }
        for (data_type, family) in [
            ("bigint", TypeFamily::Integer),
            ("text", TypeFamily::Text),
            ("character varying", TypeFamily::Text),
            ("bytea", TypeFamily::Blob),
            ("double precision", TypeFamily::Real),
            ("boolean", TypeFamily::Boolean),
        ] {
            assert_eq!(TypeFamily::of_postgres(data_type), family, "{data_type}");
        }
    }

    #[test]
    fn differences_read_as_lines() {
        let mut a = Schema::default();
        let mut t = Table::default();
        t.columns.insert(
            "id".into(),
            Column {
                family: TypeFamily::Text,
                nullable: false,
            },
        );
        t.primary_key = vec!["id".into()];
        a.tables.insert("accounts".into(), t.clone());
        let mut b = a.clone();
        assert!(a.diff(&b, "sqlite", "postgres").is_empty());
        let accounts = b.tables.get_mut("accounts").unwrap();
        accounts.columns.get_mut("id").unwrap().family = TypeFamily::Integer;
        accounts.unique.insert(vec!["id".into()]);
        accounts.indexes.insert(
            "accounts_by_id".into(),
            Index {
                columns: vec!["id".into()],
                unique: false,
                partial: true,
            },
        );
        b.tables.insert("extra".into(), Table::default());
        assert_eq!(
            a.diff(&b, "sqlite", "postgres"),
            [
                "accounts: column id: sqlite text NOT NULL, postgres integer NOT NULL",
                "accounts: unique (id): only in postgres",
                "accounts: index accounts_by_id ((id) partial): only in postgres",
                "table extra: only in postgres",
            ]
        );
    }
}
