//! A fresh database per test: a SQLite file in a temporary directory, or a PostgreSQL
//! database created for the test and dropped after it.

use std::path::PathBuf;

use tongyi_subsystems::store::Db;

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
    pg: Option<(String, String)>,
}

fn pg_admin_url() -> String {
    std::env::var("TONGYI_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("tongyi-sub-test-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}/sub.db?mode=rwc", dir.display());
                TestDb {
                    db: Db::connect(&url).await.unwrap(),
                    dir,
                    pg: None,
                }
            }
            Backend::Postgres => {
                let admin = pg_admin_url();
                let name = format!("tongyi_sub_{tag}");
                sqlx::any::install_default_drivers();
                let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .expect("PostgreSQL must be running for the postgres tests");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                TestDb {
                    db: Db::connect(&format!("{base}/{name}")).await.unwrap(),
                    dir,
                    pg: Some((admin, name)),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some((admin, name)) = self.pg.take() {
            let pool = self.db.pool.clone();
            // Drop runs inside the test's runtime: a thread with its own runtime may block.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    pool.close().await;
                    if let Ok(mut conn) =
                        <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await
                    {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut conn)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}
