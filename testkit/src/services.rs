//! Where the tests find PostgreSQL and Redis, and the names that keep one test's data apart
//! from another's.

/// The PostgreSQL URL the tests create their databases from (`TONGYI_TEST_PG`). The default's
/// database `test` is created by `scripts/services.sh`; only the server part of the URL is
/// kept for the databases themselves.
pub fn pg_admin_url() -> String {
    std::env::var("TONGYI_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The Redis URL of the tests (`TONGYI_TEST_REDIS`).
pub fn redis_url() -> String {
    std::env::var("TONGYI_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A fresh tag for one test's names (32 hex digits).
pub fn unique_tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A Redis key prefix of its own for the test tagged `tag`.
pub fn redis_prefix(tag: &str) -> String {
    format!("tongyi-test:{tag}:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_differ_and_fit_in_names() {
        let (a, b) = (unique_tag(), unique_tag());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(redis_prefix(&a), format!("tongyi-test:{a}:"));
    }
}
