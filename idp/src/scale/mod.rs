//! `idp scale generate` and `idp scale bench` (issue 18): a realistic population of persons
//! and units written into the configured database, and the latencies of the queries the
//! login, directory, legacy and audit paths rely on, measured over it (docs/benchmarks.md).

pub mod bench;
pub mod generate;
pub mod population;

use std::time::Instant;

use clap::{Args, Subcommand};

use crate::{config::Config, pii::PiiVault, store::Db};

#[derive(Subcommand)]
pub enum ScaleCommand {
    /// Write a generated population into the configured database (DATABASE_URL): persons,
    /// units, memberships, grants, review histories, legacy records, audit entries.
    Generate(GenerateArgs),
    /// Print p50/p99 latencies of the login, directory, legacy and audit queries over a
    /// population written by `generate` with the same shape.
    Bench(BenchArgs),
}

#[derive(Args, Clone, Copy)]
pub struct ShapeArgs {
    /// Natural persons.
    #[arg(long, default_value_t = 1_000_000)]
    pub persons: u64,
    /// Units (each with its legal-entity account).
    #[arg(long, default_value_t = 100_000)]
    pub units: u64,
    /// Review departments (each with one reviewer account).
    #[arg(long, default_value_t = 8)]
    pub departments: u64,
    /// The same seed and counts give the same population.
    #[arg(long, default_value_t = 18)]
    pub seed: u64,
}

impl ShapeArgs {
    pub fn shape(&self) -> population::Shape {
        population::Shape {
            seed: self.seed,
            persons: self.persons,
            units: self.units,
            departments: self.departments,
        }
    }
}

#[derive(Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub shape: ShapeArgs,
    /// The password of every generated account (hashed once with the configured argon2id
    /// cost, and that hash reused).
    #[arg(long, default_value = "Scale#Pass2026")]
    pub password: String,
    /// Persons or units per transaction.
    #[arg(long, default_value_t = 2_000)]
    pub batch: u64,
}

#[derive(Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub shape: ShapeArgs,
    /// Timed calls per query.
    #[arg(long, default_value_t = 2_000)]
    pub iterations: usize,
}

/// Runs a scale command against the configured database.
pub async fn run_scale(config: &Config, cmd: ScaleCommand) -> Result<String, String> {
    let db = Db::connect(&config.database_url)
        .await
        .map_err(|e| format!("database: {e}"))?;
    let pii = PiiVault::new(&config.kek_bytes().map_err(|e| e.to_string())?);
    match cmd {
        ScaleCommand::Generate(args) => {
            let cfg = config.login.clone();
            let password = args.password.clone();
            let hashed = Instant::now();
            let password_hash = tokio::task::spawn_blocking(move || {
                crate::accounts::password::hash_blocking(&password, &cfg)
            })
            .await
            .map_err(|e| e.to_string())??;
            eprintln!(
                "password hashed once in {:.0} ms (argon2id); every generated account shares that hash",
                hashed.elapsed().as_secs_f64() * 1000.0
            );
            let options = generate::Options {
                shape: args.shape.shape(),
                password_hash,
                batch: args.batch.max(1),
                now: crate::clock::Clock::default().now(),
            };
            let mut next_line = 0u64;
            let report = generate::generate(&db, &pii, &options, |r| {
                let done = r.units + r.persons;
                if done >= next_line {
                    eprintln!(
                        "{} units, {} persons, {} rows, {:.0} rows/s",
                        r.units,
                        r.persons,
                        r.rows,
                        r.rows_per_sec()
                    );
                    next_line = done + (options.shape.persons + options.shape.units) / 20;
                }
            })
            .await
            .map_err(|e| format!("database: {e}"))?;
            analyze(&db).await.map_err(|e| format!("database: {e}"))?;
            Ok(format!(
                "generated {} persons and {} units ({} departments, seed {}): {} rows in {:.1} s, {:.0} rows/s\n",
                report.persons,
                report.units,
                options.shape.departments,
                options.shape.seed,
                report.rows,
                report.elapsed.as_secs_f64(),
                report.rows_per_sec()
            ))
        }
        ScaleCommand::Bench(args) => bench::run(&db, &pii, &args.shape.shape(), args.iterations)
            .await
            .map_err(|e| format!("database: {e}")),
    }
}

/// Refreshes PostgreSQL's planner statistics after the bulk write, as its autovacuum would
/// a little later by itself. Not on SQLite: a deployed SQLite file has no statistics unless
/// someone runs ANALYZE, so the plans measured must be the ones it gets without them.
async fn analyze(db: &Db) -> Result<(), crate::store::StoreError> {
    if db.backend == crate::store::Backend::Postgres {
        sqlx::query("ANALYZE").execute(&db.pool).await?;
    }
    Ok(())
}
