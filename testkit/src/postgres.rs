//! A fresh PostgreSQL database per test.

use sqlx::{AnyConnection, Connection};

/// Every test database's name starts with this, so that `.ci/run` can drop the ones an
/// interrupted run left behind (`tongyi\_t\_%`).
pub const DB_PREFIX: &str = "tongyi_t_";

/// A database created for one test on the server of [`crate::pg_admin_url`], dropped (with
/// whatever still connects to it) when this is dropped.
#[derive(Debug)]
pub struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    /// Creates `tongyi_t_{tag}`. Panics when PostgreSQL is not running: the PostgreSQL
    /// variants of the tests need it.
    pub async fn create(tag: &str) -> PgDatabase {
        let admin_url = crate::pg_admin_url();
        let name = format!("{DB_PREFIX}{tag}");
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL must be running for this test ({e})"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = conn.close().await;
        let server = admin_url
            .rsplit_once('/')
            .map(|(server, _)| server)
            .unwrap_or(&admin_url);
        let url = format!("{server}/{name}");
        PgDatabase {
            admin_url,
            name,
            url,
        }
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot block on itself: a thread with a
        // runtime of its own runs the async driver while this one waits.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = AnyConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}
