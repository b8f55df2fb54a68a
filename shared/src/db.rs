//! Connecting an app to its relational database: one code path for SQLite and PostgreSQL
//! through sqlx's `Any` driver, the schema brought up to date by the app's own migrations.
//! The IdP's store and every subsystem connect through [`connect`].

use sqlx::{any::AnyPoolOptions, migrate::Migrator, AnyPool};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names: `sqlite:` URLs are SQLite, anything else PostgreSQL.
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }
}

/// An app's migrations, one directory per backend.
pub struct Migrations {
    pub sqlite: &'static Migrator,
    pub postgres: &'static Migrator,
}

/// How many connections each backend's pool may open. SQLite serializes writers anyway, so a
/// few connections are enough; PostgreSQL gains from more.
#[derive(Clone, Copy, Debug)]
pub struct PoolSize {
    pub sqlite: u32,
    pub postgres: u32,
    /// How long a request waits for a connection before the store counts as unavailable (an
    /// outage then answers 503 within this, instead of hanging for sqlx's 30 s).
    pub acquire_timeout: std::time::Duration,
}

/// The acquire timeout of every app unless configured otherwise.
pub const DEFAULT_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Connects and migrates. SQLite runs in WAL mode, so that readers go on while a writer
/// commits (the mode persists in the file).
pub async fn connect(
    url: &str,
    size: PoolSize,
    migrations: &Migrations,
) -> Result<(AnyPool, Backend), sqlx::Error> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of_url(url);
    if backend == Backend::Sqlite {
        ensure_sqlite_dir(url);
    }
    let max = match backend {
        Backend::Sqlite => size.sqlite,
        Backend::Postgres => size.postgres,
    };
    let pool = AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(size.acquire_timeout)
        .connect(url)
        .await?;
    let migrator = match backend {
        Backend::Sqlite => {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
            migrations.sqlite
        }
        Backend::Postgres => migrations.postgres,
    };
    migrator.run(&pool).await?;
    Ok((pool, backend))
}

/// SQLite creates the file but not its directory.
fn ensure_sqlite_dir(url: &str) {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return;
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            let _ = std::fs::create_dir_all(parent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_names_the_backend() {
        assert_eq!(
            Backend::of_url("sqlite:data/idp.db?mode=rwc"),
            Backend::Sqlite
        );
        assert_eq!(Backend::of_url("sqlite::memory:"), Backend::Sqlite);
        assert_eq!(
            Backend::of_url("postgres://127.0.0.1/test"),
            Backend::Postgres
        );
    }
}
