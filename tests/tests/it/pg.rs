//! A fresh PostgreSQL database per test (and a Redis key prefix), dropped at the end, from
//! `tongyi_testkit` like the IdP's own tests. `TONGYI_TEST_PG` and `TONGYI_TEST_REDIS` point
//! elsewhere.

use tongyi_testkit::{redis_prefix, redis_url, unique_tag, PgDatabase};

use crate::harness::PlatformOptions;

/// The IdP's storage of a PostgreSQL variant; dropped with the test.
pub struct PgStorage {
    db: PgDatabase,
    redis_prefix: String,
}

impl PgStorage {
    pub async fn create() -> PgStorage {
        let tag = unique_tag();
        PgStorage {
            db: PgDatabase::create(&tag).await,
            redis_prefix: redis_prefix(&tag),
        }
    }

    /// Platform options on this database and on Redis under a key prefix of its own.
    pub fn options(&self) -> PlatformOptions {
        PlatformOptions {
            database_url: Some(self.db.url().to_owned()),
            redis: Some((redis_url(), self.redis_prefix.clone())),
            ..PlatformOptions::default()
        }
    }
}
