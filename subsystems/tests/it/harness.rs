//! A fresh database per test: a SQLite file in a temporary directory, or a PostgreSQL
//! database created for the test and dropped after it (both from `tongyi_testkit`).

use std::path::PathBuf;

use tongyi_subsystems::store::Db;
use tongyi_testkit::{PgDatabase, TempDir};

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs the body once per backend as two tests.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)($crate::harness::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)($crate::harness::Backend::Postgres).await
            }
        }
    };
}

pub struct TestDb {
    pub db: Db,
    /// A directory of this test's own, removed at the end (the SQLite file, attachments).
    pub dir: PathBuf,
    // Dropped after `db` (fields drop in order): the database, then the directory.
    _pg: Option<PgDatabase>,
    _tmp: TempDir,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let tag = tongyi_testkit::unique_tag();
        let tmp = TempDir::new("tongyi-sub-test", &tag);
        let (url, pg) = match backend {
            Backend::Sqlite => (tmp.sqlite_url("sub.db"), None),
            Backend::Postgres => {
                let pg = PgDatabase::create(&tag).await;
                (pg.url().to_owned(), Some(pg))
            }
        };
        TestDb {
            db: Db::connect(&url).await.unwrap(),
            dir: tmp.path().to_path_buf(),
            _pg: pg,
            _tmp: tmp,
        }
    }
}
