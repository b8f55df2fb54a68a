//! The one failure type of the domain: what went wrong on our side (storage, the short-lived
//! store, encoding), as opposed to the refusals each domain error names. It carries no HTTP
//! status; `tongyi-idp` decides the response (error.rs).

use crate::store::StoreError;

/// A failure of ours that the user cannot fix by changing the request.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Storage could not be reached (database down, no pool connection in time, Redis
    /// unreachable): an outage rather than a bug, worth retrying later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Anything else: logged, never shown.
    #[error("{0}")]
    Internal(String),
}

pub type FailureResult<T> = Result<T, Failure>;

impl Failure {
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Failure::Internal(detail.to_string())
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            Failure::Unavailable(e.to_string())
        } else {
            Failure::Internal(e.to_string())
        }
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from(e).into()
    }
}

impl From<redis::RedisError> for Failure {
    fn from(e: redis::RedisError) -> Self {
        if e.is_io_error()
            || e.is_connection_refusal()
            || e.is_timeout()
            || e.is_connection_dropped()
        {
            Failure::Unavailable(format!("redis: {e}"))
        } else {
            Failure::Internal(format!("redis: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_database_is_unavailable() {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        let err = sqlx::AnyConnection::connect("postgres://postgres@127.0.0.1:1/none")
            .await
            .map(|_| ())
            .expect_err("nothing listens on port 1");
        assert!(matches!(Failure::from(err), Failure::Unavailable(_)));
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_unavailable() {
        let client = redis::Client::open("redis://127.0.0.1:1/").expect("url");
        let err = client
            .get_multiplexed_async_connection()
            .await
            .map(|_| ())
            .expect_err("nothing listens on port 1");
        assert!(matches!(Failure::from(err), Failure::Unavailable(_)));
    }

    #[test]
    fn a_refused_query_is_internal() {
        let err = sqlx::Error::Protocol("unexpected message".into());
        assert!(matches!(Failure::from(err), Failure::Internal(_)));
    }
}
