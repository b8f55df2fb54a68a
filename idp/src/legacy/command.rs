//! `idp legacy import` and `idp legacy bench`: the command-line side of the import (reading
//! the file, the report, progress on a terminal or as plain lines, the summary).

use std::{
    io::{IsTerminal, Write},
    path::{Path, PathBuf},
    time::Instant,
};

use clap::{Args, Subcommand};

use super::{
    bench,
    hashes::{HashScheme, SaltPosition},
    import::{self, ImportOptions, Progress, RowReport},
    rows::{Encoding, RecordKind},
};
use crate::{clock::Clock, config::Config, pii::PiiVault, store::Db};

#[derive(Subcommand)]
pub enum LegacyCommand {
    /// Import a legacy export (CSV, UTF-8 or GBK; columns in docs/legacy-import.md).
    Import(ImportArgs),
    /// Generate legacy rows and import them into a fresh SQLite database (or the empty
    /// database of `--database-url`): rows/s, peak memory.
    Bench(BenchArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    /// unit: legacy unit accounts; person: personal accounts and declarant/expert records.
    #[arg(long, value_enum)]
    pub kind: RecordKind,
    /// The CSV file.
    #[arg(long)]
    pub file: PathBuf,
    /// The legacy system's name, part of every record's key (re-runs must use the same).
    #[arg(long, default_value = "legacy")]
    pub source: String,
    /// How the file's password hashes were made.
    #[arg(long, value_enum, default_value = "md5")]
    pub hash_scheme: HashScheme,
    /// Salted MD5 / SHA-1 / SHA-256: digest(password ‖ salt) or digest(salt ‖ password).
    #[arg(long, value_enum, default_value = "suffix")]
    pub salt_position: SaltPosition,
    #[arg(long, value_enum, default_value = "auto")]
    pub encoding: Encoding,
    /// Where the per-row report goes (default: FILE.report.csv).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Rows per transaction.
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
}

#[derive(Args)]
pub struct BenchArgs {
    #[arg(long, default_value_t = 100_000)]
    pub rows: usize,
    /// Working directory for the generated file, its report and the SQLite database.
    #[arg(long, default_value = "data/legacy-bench")]
    pub dir: PathBuf,
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
    /// Import into this database instead of a fresh SQLite file in `--dir` (PostgreSQL, say:
    /// create an empty database first; the import migrates it). Not the configuration's
    /// `database_url`, so that a benchmark never writes into the platform's data.
    #[arg(long, env = "LEGACY_BENCH_DATABASE_URL")]
    pub database_url: Option<String>,
}

/// A bar on a terminal; a plain line per 10% (and at the end) otherwise.
struct Shown {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    next_line: u64,
}

impl Shown {
    fn new() -> Shown {
        Shown {
            bar: None,
            total: 0,
            next_line: 0,
        }
    }
}

impl Progress for Shown {
    fn start(&mut self, total: u64) {
        self.total = total;
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} rows ({per_sec}, {eta} left)",
            ) {
                bar.set_style(style);
            }
            self.bar = Some(bar);
        } else {
            eprintln!("legacy import: {total} rows");
            self.next_line = (total / 10).max(1);
        }
    }

    fn advance(&mut self, done: u64) {
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None if done >= self.next_line || done == self.total => {
                eprintln!("legacy import: {done}/{} rows", self.total);
                self.next_line = done + (self.total / 10).max(1);
            }
            None => {}
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

const REPORT_HEADER: [&str; 8] = [
    "line",
    "legacy_id",
    "status",
    "outcome",
    "login_name",
    "login_window",
    "error_code",
    "error",
];

fn report_line(r: &RowReport) -> [String; 8] {
    [
        r.line.to_string(),
        r.legacy_id.clone(),
        r.status.as_str().to_owned(),
        r.outcome.map(|o| o.as_str().to_owned()).unwrap_or_default(),
        r.login_name.clone().unwrap_or_default(),
        r.window.unwrap_or("").to_owned(),
        r.error
            .as_ref()
            .map(|e| e.code.to_owned())
            .unwrap_or_default(),
        r.error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_default(),
    ]
}

/// Imports one file into `db`; returns the summary text.
pub async fn import_file(
    db: &Db,
    pii: &PiiVault,
    now: i64,
    args: &ImportArgs,
) -> Result<import::Summary, String> {
    let report_path = args
        .report
        .clone()
        .unwrap_or_else(|| with_suffix(&args.file, ".report.csv"));
    let mut writer = csv::Writer::from_path(&report_path)
        .map_err(|e| format!("{}: {e}", report_path.display()))?;
    writer
        .write_record(REPORT_HEADER)
        .map_err(|e| e.to_string())?;
    let opts = ImportOptions {
        kind: args.kind,
        source: args.source.clone(),
        scheme: args.hash_scheme,
        salt_position: args.salt_position,
        encoding: args.encoding,
        batch_size: args.batch_size,
    };
    let mut progress = Shown::new();
    let mut write = |r: &RowReport| {
        writer
            .write_record(report_line(r))
            .map_err(|e| e.to_string())
    };
    let input = import::Input::File(&args.file);
    let summary = import::import_from(db, pii, now, input, &opts, &mut progress, &mut write)
        .await
        .map_err(|e| e.to_string())?;
    writer.flush().map_err(|e| e.to_string())?;
    Ok(summary)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

pub async fn run_legacy(config: &Config, cmd: LegacyCommand) -> Result<String, String> {
    let kek = config.kek_bytes().map_err(|e| e.to_string())?;
    let pii = PiiVault::new(&kek);
    let now = Clock::default().now();
    match cmd {
        LegacyCommand::Import(args) => {
            let db = Db::connect(&config.database_url)
                .await
                .map_err(|e| format!("database: {e}"))?;
            let summary = import_file(&db, &pii, now, &args).await?;
            let report = args
                .report
                .clone()
                .unwrap_or_else(|| with_suffix(&args.file, ".report.csv"));
            Ok(format!(
                "{}report: {}\n",
                summary.render(),
                report.display()
            ))
        }
        LegacyCommand::Bench(args) => {
            std::fs::create_dir_all(&args.dir).map_err(|e| e.to_string())?;
            let file = args.dir.join("persons.csv");
            let db_path = args.dir.join("bench.db");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(with_suffix(&db_path, suffix));
            }
            let mut out = std::io::BufWriter::new(
                std::fs::File::create(&file).map_err(|e| format!("{}: {e}", file.display()))?,
            );
            bench::write_rows(args.rows, &mut out)
                .and_then(|_| out.flush())
                .map_err(|e| format!("{}: {e}", file.display()))?;
            drop(out);
            let url = args
                .database_url
                .clone()
                .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", db_path.display()));
            let db = Db::connect(&url)
                .await
                .map_err(|e| format!("database: {e}"))?;
            let import_args = ImportArgs {
                kind: RecordKind::Person,
                file,
                source: "bench".into(),
                hash_scheme: HashScheme::Md5,
                salt_position: SaltPosition::Suffix,
                encoding: Encoding::Auto,
                report: None,
                batch_size: args.batch_size,
            };
            let started = Instant::now();
            let summary = import_file(&db, &pii, now, &import_args).await?;
            let secs = started.elapsed().as_secs_f64();
            let mut out = summary.render();
            out.push_str(&format!(
                "{} rows in {secs:.1} s: {:.0} rows/s; peak memory {} MiB\n",
                summary.rows,
                summary.rows as f64 / secs.max(1e-9),
                bench::peak_rss_kib().map(|k| k / 1024).unwrap_or(0)
            ));
            let _ = std::io::stdout().flush();
            Ok(out)
        }
    }
}
