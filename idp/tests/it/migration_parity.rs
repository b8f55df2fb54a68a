//! The SQLite and the PostgreSQL migrations (idp-store/migrations/{sqlite,postgres}) build the same
//! database: tables, columns (nullability, type family), keys, unique constraints, indexes and
//! foreign keys, read back from a fresh database of each kind migrated by `Db::connect`.

use tongyi_idp::store::Db;
use tongyi_testkit::{
    schema::{assert_parity, read_postgres, read_sqlite},
    unique_tag, PgDatabase, TempDir,
};

/// Known differences, each line exactly as the diff prints it, with why it may stay.
const ALLOWED: &[&str] = &[];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_migrations_build_the_same_schema() {
    let tag = unique_tag();
    let dir = TempDir::new("tongyi-parity", &tag);
    let sqlite_url = dir.sqlite_url("idp.db");
    let pg = PgDatabase::create(&tag).await;
    let sqlite = Db::connect(&sqlite_url).await.expect("SQLite migrates");
    let postgres = Db::connect(pg.url()).await.expect("PostgreSQL migrates");
    sqlite.pool.close().await;
    postgres.pool.close().await;

    let lite = read_sqlite(&sqlite_url).await.unwrap();
    let pgs = read_postgres(pg.url()).await.unwrap();
    // The reader sees each kind of thing (an empty read on one side would show in the diff).
    let accounts = &lite.tables["accounts"];
    assert_eq!(accounts.primary_key, ["id"]);
    assert!(accounts.unique.contains(&vec!["login_key".to_owned()]));
    assert_eq!(
        accounts.indexes["accounts_mobile"].to_string(),
        "unique (account_type, mobile_key)"
    );
    assert!(accounts
        .foreign_keys
        .iter()
        .any(|k| k.to_string() == "(org_id) -> organizations(id) ON DELETE NO ACTION"));
    assert_eq!(
        lite.tables["signing_keys"].indexes["signing_keys_generation"].to_string(),
        "unique (alg, generation)"
    );
    let diff = lite.diff(&pgs, "sqlite", "postgres");
    assert_parity(&diff, ALLOWED);
}
