//! A fresh PostgreSQL database per test (and a Redis key prefix), dropped at the end, the way
//! the IdP's own tests do it. `TONGYI_TEST_PG` and `TONGYI_TEST_REDIS` point elsewhere.

use crate::harness::PlatformOptions;

fn admin_url() -> String {
    std::env::var("TONGYI_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn redis_url() -> String {
    std::env::var("TONGYI_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Dropped with the test.
pub struct PgDatabase {
    admin: String,
    name: String,
}

impl PgDatabase {
    pub async fn create() -> PgDatabase {
        sqlx::any::install_default_drivers();
        let name = format!("tongyi_x_{}", uuid::Uuid::new_v4().simple());
        let admin = admin_url();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("PostgreSQL must be running for the PostgreSQL variant");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        PgDatabase { admin, name }
    }

    /// Platform options on this database and on Redis under a key prefix of its own.
    pub fn options(&self) -> PlatformOptions {
        let base = self
            .admin
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&self.admin);
        PlatformOptions {
            database_url: Some(format!("{base}/{}", self.name)),
            redis: Some((redis_url(), format!("{}:", self.name))),
            ..PlatformOptions::default()
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // A thread with its own runtime, so that the async driver can run while we wait.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) =
                    <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await
                {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}
