//! The subsystem's own database through sqlx: one code path for SQLite and PostgreSQL (the
//! `Any` driver, `$n` placeholders both accept), migrations per backend in
//! `subsystems/migrations/`. Repositories are the only place with SQL.

pub mod attachments;
pub mod declarations;

use sqlx::AnyPool;
use tongyi_shared::db::{self, Migrations, PoolSize};

pub use tongyi_shared::db::Backend;

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
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        let size = PoolSize {
            sqlite: 4,
            postgres: 8,
            acquire_timeout: db::DEFAULT_ACQUIRE_TIMEOUT,
        };
        let (pool, backend) = db::connect(url, size, &MIGRATIONS).await?;
        Ok(Db { pool, backend })
    }
}
