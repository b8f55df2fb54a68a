//! The one error type of the storage layer.

/// Why a storage operation failed. The layers above see this one type whatever the backend,
/// and can ask whether the store is unreachable (an outage, to be answered with 503) or
/// refused the write (a uniqueness constraint, usually a race the caller can explain).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl StoreError {
    /// A unique constraint refused the write.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::Database(d)) if d.is_unique_violation())
    }

    /// The database could not be reached or gave no connection in time.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Db(
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed,
            ) => true,
            // A server shutting down or starting up says so on the connections it had:
            // SQLSTATE class 08 (connection exception) and 57P0x (admin or crash shutdown,
            // cannot connect now).
            StoreError::Db(sqlx::Error::Database(e)) => e
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
            _ => false,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_database_that_does_not_answer_is_unavailable() {
        use sqlx::Connection;
        // Port 1 on loopback: nothing listens, the connection is refused at once. (A pool
        // would retry until its acquire timeout; one connection shows the error itself.)
        sqlx::any::install_default_drivers();
        let err = sqlx::AnyConnection::connect("postgres://postgres@127.0.0.1:1/none")
            .await
            .map(|_| ())
            .expect_err("nothing listens on port 1");
        let err = StoreError::from(err);
        assert!(err.is_unavailable(), "{err:?}");
        assert!(!err.is_unique_violation());
    }

    #[tokio::test]
    async fn a_duplicate_key_is_a_unique_violation_not_an_outage() {
        let dir = std::env::temp_dir().join(format!("tongyi-store-err-{}", std::process::id()));
        let url = format!("sqlite:{}?mode=rwc", dir.join("t.db").display());
        let db = crate::Db::connect(&url).await.expect("sqlite");
        sqlx::query("CREATE TABLE t (k TEXT PRIMARY KEY)")
            .execute(&db.pool)
            .await
            .expect("create");
        let insert = || sqlx::query("INSERT INTO t (k) VALUES ('a')").execute(&db.pool);
        insert().await.expect("first insert");
        let err = StoreError::from(insert().await.expect_err("duplicate"));
        assert!(err.is_unique_violation(), "{err:?}");
        assert!(!err.is_unavailable());
        let _ = std::fs::remove_dir_all(dir);
    }
}
