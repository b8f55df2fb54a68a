//! The IdP's storage layer: sqlx repositories over SQLite or PostgreSQL (one code path through
//! sqlx's `Any` driver, tested on both) with their migrations, the short-lived store for
//! sessions, codes and throttles, the sealing of personal data at rest (`pii`, `crypto`) and
//! the clock. Nothing here knows HTTP: this crate depends on no web framework, and the layers
//! above (`tongyi-idp`) depend on it, never the reverse.
//!
//! Repositories are the only place with SQL. Times are Unix seconds in `BIGINT` columns and
//! lists are JSON text, so that one query text serves both backends.

pub mod accounts;
pub mod appeals;
pub mod audit;
pub mod bulk;
pub mod claim_changes;
pub mod clients;
pub mod clock;
pub mod consents;
pub mod crypto;
pub mod directory;
pub mod ephemeral;
pub mod error;
pub mod identities;
pub mod info_updates;
pub mod keys;
pub mod legacy;
pub mod people;
pub mod pii;
pub mod realname;
pub mod refresh;
pub mod sessions;
pub mod states;
pub mod unit_files;
pub mod uploads;

use sqlx::AnyPool;
use tongyi_shared::db::{self, Migrations, PoolSize};

pub use error::{StoreError, StoreResult};

pub use tongyi_shared::db::Backend;

/// The relational database and the backend behind it.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");
static MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE_MIGRATIONS,
    postgres: &POSTGRES_MIGRATIONS,
};

impl Db {
    /// Connects and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        Db::connect_with(url, db::DEFAULT_ACQUIRE_TIMEOUT).await
    }

    /// Connects with a chosen pool acquire timeout (`database_acquire_timeout_ms`).
    pub async fn connect_with(
        url: &str,
        acquire_timeout: std::time::Duration,
    ) -> Result<Db, StoreError> {
        let size = PoolSize {
            sqlite: 4,
            postgres: 10,
            acquire_timeout,
        };
        let (pool, backend) = db::connect(url, size, &MIGRATIONS).await?;
        Ok(Db { pool, backend })
    }

    /// Writes a consistent copy of a SQLite database to `to` while the IdP keeps serving
    /// (`VACUUM INTO`: one read transaction, a compact file). `None` on PostgreSQL, whose
    /// backups are `pg_dump`'s job.
    pub async fn backup_sqlite(&self, to: &std::path::Path) -> Option<Result<(), StoreError>> {
        if self.backend != Backend::Sqlite {
            return None;
        }
        let result = sqlx::query("VACUUM INTO $1")
            .bind(to.to_string_lossy().into_owned())
            .execute(&self.pool)
            .await;
        Some(result.map(|_| ()).map_err(StoreError::from))
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

pub(crate) fn to_json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn from_json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}
