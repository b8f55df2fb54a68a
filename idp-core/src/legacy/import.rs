//! The bulk import of a legacy export (`idp legacy import`). Every row ends in one outcome
//! of seed 004 ([`Outcome`]) or in an error; rows are written in batches, each batch one
//! transaction with its audit entries. A record is keyed by (source, kind, legacy_id), so a
//! re-run of the same file finds every written row unchanged, and a run killed halfway
//! resumes where its last committed batch ended, without duplicates.
//!
//! A batch that meets a database error (a registration racing the import, say) is rolled
//! back and its rows retried one transaction each, so one bad row never takes others with it.
//!
//! The file streams: it is read twice, a few kilobytes at a time (once to count its rows and
//! settle its encoding, once to import), and only one batch of rows is held at a time. A
//! batch reads what it needs from the database in a few statements (`… IN (…)`), decides
//! every row's outcome in memory, in file order, over what the database held and what the
//! batch's earlier rows add, and then writes all its rows through [`Batch`] (multi-row
//! inserts). A retried row goes through the same steps as a batch of one.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    hash::{BuildHasher, Hash, RandomState},
    io::Read,
    path::Path,
};

use serde_json::json;
use tongyi_shared::{
    claims::{AccountType, RealnameStatus},
    org::{OrgRole, UnitStatus},
};

use super::{
    hashes::{HashScheme, SaltPosition},
    outcome::Outcome,
    rows::{
        self, DecodingReader, Encoding, Header, LegacyRow, RecordKind, RowError, RowRules, Subject,
        TextEncoding,
    },
};
use crate::{
    crypto,
    pii::{PiiField, PiiVault},
    store::{
        accounts::{login_key, NewAccount, NewOrg, SealedContact},
        audit::NewAuditRow,
        bulk::{Batch, UnitReviewState},
        identities::PersonIdentity,
        legacy::{self as repo, ImportedRecord, NewRecord, Tx},
        Db, StoreError,
    },
};

/// How one file is imported.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub kind: RecordKind,
    /// The legacy system's name; part of every record's key.
    pub source: String,
    pub scheme: HashScheme,
    pub salt_position: SaltPosition,
    pub encoding: Encoding,
    /// Rows per transaction.
    pub batch_size: usize,
}

/// The prefix of a migrated login name whose old name was taken (outcome 3).
pub const RENAMED_PREFIX: &str = "HJ_";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowStatus {
    /// Written by this run.
    Imported,
    /// Written by an earlier run of the same row; nothing changed.
    Unchanged,
    Error,
}

impl RowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Imported => "imported",
            RowStatus::Unchanged => "unchanged",
            RowStatus::Error => "error",
        }
    }
}

/// One line of the report.
#[derive(Clone, Debug)]
pub struct RowReport {
    pub line: u64,
    pub legacy_id: String,
    pub status: RowStatus,
    pub outcome: Option<Outcome>,
    pub login_name: Option<String>,
    /// 法人 or 自然人: the login window the login name belongs to.
    pub window: Option<&'static str>,
    pub error: Option<RowError>,
}

/// Counts of one run.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub rows: u64,
    pub imported: u64,
    pub unchanged: u64,
    pub errors: u64,
    /// Every row that has an outcome (imported now or before).
    pub by_outcome: BTreeMap<Outcome, u64>,
    pub by_error: BTreeMap<&'static str, u64>,
}

impl Summary {
    fn count(&mut self, r: &RowReport) {
        self.rows += 1;
        match r.status {
            RowStatus::Imported => self.imported += 1,
            RowStatus::Unchanged => self.unchanged += 1,
            RowStatus::Error => self.errors += 1,
        }
        if let Some(o) = r.outcome {
            *self.by_outcome.entry(o).or_default() += 1;
        }
        if let Some(e) = &r.error {
            *self.by_error.entry(e.code).or_default() += 1;
        }
    }

    /// The lines printed at the end of a run.
    pub fn render(&self) -> String {
        let mut out = format!(
            "rows {}: imported {}, unchanged {}, errors {}\n",
            self.rows, self.imported, self.unchanged, self.errors
        );
        for o in Outcome::ALL {
            let n = self.by_outcome.get(&o).copied().unwrap_or(0);
            out.push_str(&format!("  {:<16} {:>8}  {}\n", o.as_str(), n, o.label()));
        }
        for (code, n) in &self.by_error {
            out.push_str(&format!("  error {code:<20} {n:>8}\n"));
        }
        out
    }
}

/// Where progress goes: a bar on a terminal, plain lines otherwise (see `cli.rs`).
pub trait Progress {
    fn start(&mut self, total: u64);
    fn advance(&mut self, done: u64);
    fn finish(&mut self);
}

/// Progress nobody watches (tests).
pub struct Silent;

impl Progress for Silent {
    fn start(&mut self, _: u64) {}
    fn advance(&mut self, _: u64) {}
    fn finish(&mut self) {}
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read as the kind asked for (encoding, header).
    #[error("{0}")]
    File(String),
    #[error("report: {0}")]
    Report(String),
    #[error("{0}")]
    Db(#[from] crate::store::StoreError),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Db(e.into())
    }
}

/// Imports the bytes of a legacy file; every row's result goes to `report`.
pub async fn import(
    db: &Db,
    pii: &PiiVault,
    now: i64,
    bytes: &[u8],
    opts: &ImportOptions,
    progress: &mut dyn Progress,
    report: &mut dyn FnMut(&RowReport) -> Result<(), String>,
) -> Result<Summary, ImportError> {
    import_from(db, pii, now, Input::Bytes(bytes), opts, progress, report).await
}

/// Where a legacy file's bytes come from. It is opened twice and never held whole.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

impl<'a> Input<'a> {
    fn open(self) -> Result<Box<dyn Read + 'a>, ImportError> {
        match self {
            Input::Bytes(b) => Ok(Box::new(b)),
            Input::File(path) => match std::fs::File::open(path) {
                Ok(f) => Ok(Box::new(f)),
                Err(e) => Err(ImportError::File(format!("{}: {e}", path.display()))),
            },
        }
    }
}

/// Imports a legacy file as it reads it; every row's result goes to `report`, batch after
/// batch.
pub async fn import_from(
    db: &Db,
    pii: &PiiVault,
    now: i64,
    input: Input<'_>,
    opts: &ImportOptions,
    progress: &mut dyn Progress,
    report: &mut dyn FnMut(&RowReport) -> Result<(), String>,
) -> Result<Summary, ImportError> {
    // A first pass settles the encoding before any row is written, as reading the whole
    // file did: `auto` is UTF-8 only when every byte of the file is.
    let (encoding, total) = survey(input, opts.encoding)?;
    let mut rows = RowStream::open(input, encoding, opts)?;
    let mut summary = Summary::default();
    progress.start(total);
    let mut done = 0u64;
    let batch_size = opts.batch_size.max(1);
    let mut chunk = Vec::with_capacity(batch_size);
    loop {
        chunk.clear();
        while chunk.len() < batch_size {
            match rows.next_row()? {
                Some(parsed) => chunk.push(parsed),
                None => break,
            }
        }
        if chunk.is_empty() {
            break;
        }
        let results = write_batch(db, pii, now, opts, &chunk).await?;
        for r in &results {
            summary.count(r);
            report(r).map_err(ImportError::Report)?;
        }
        done += chunk.len() as u64;
        progress.advance(done);
    }
    progress.finish();
    Ok(summary)
}

/// The file's encoding and its number of records, or why it cannot be read.
fn survey(input: Input<'_>, encoding: Encoding) -> Result<(TextEncoding, u64), ImportError> {
    let mut last = String::new();
    for e in rows::candidates(encoding) {
        match rows::count_records(input.open()?, *e) {
            Ok(n) => return Ok((*e, n)),
            Err(message) => last = message,
        }
    }
    Err(ImportError::File(last))
}

/// A row of the file: its line, its legacy_id as read, and the row or why it is refused.
type Parsed = (u64, String, Result<LegacyRow, RowError>);

/// Keys seen earlier in the file, kept as 64-bit keyed hashes (8 bytes a key, whatever the
/// key's length): new keys go to a small hash set, merged now and then into one sorted
/// vector. Two different keys with one hash would make the later row a false duplicate (an
/// error in the report, nothing written); with a million keys the odds are about 3 in 10⁸.
struct SeenKeys {
    hasher: RandomState,
    sorted: Vec<u64>,
    recent: HashSet<u64>,
}

/// Keys in the hash set before they are merged into the sorted vector.
const RECENT_KEYS: usize = 1 << 14;

impl SeenKeys {
    fn new() -> SeenKeys {
        SeenKeys {
            hasher: RandomState::new(),
            sorted: Vec::new(),
            recent: HashSet::with_capacity(RECENT_KEYS),
        }
    }

    /// Whether the key is new (and remembers it).
    fn insert(&mut self, key: impl Hash) -> bool {
        let h = self.hasher.hash_one(key);
        if self.sorted.binary_search(&h).is_ok() || !self.recent.insert(h) {
            return false;
        }
        if self.recent.len() >= RECENT_KEYS {
            self.merge();
        }
        true
    }

    /// Moves the recent keys into the sorted vector, merging from the back in place.
    fn merge(&mut self) {
        let mut add: Vec<u64> = self.recent.drain().collect();
        add.sort_unstable();
        let (mut i, mut j) = (self.sorted.len(), add.len());
        self.sorted.reserve_exact(j);
        self.sorted.resize(i + j, 0);
        while j > 0 {
            let w = i + j - 1;
            if i > 0 && self.sorted[i - 1] > add[j - 1] {
                self.sorted[w] = self.sorted[i - 1];
                i -= 1;
            } else {
                self.sorted[w] = add[j - 1];
                j -= 1;
            }
        }
    }
}

/// The rows of the file, read one at a time, with the checks of one row and of the file as
/// a whole: a legacy_id, a unit's USCC or a person's (user type, mobile) seen earlier in the
/// file makes the later row a duplicate.
struct RowStream<'a> {
    reader: csv::Reader<DecodingReader<Box<dyn Read + 'a>>>,
    header: Header,
    rules: RowRules,
    record: csv::StringRecord,
    index: u64,
    ids: SeenKeys,
    subjects: SeenKeys,
}

impl<'a> RowStream<'a> {
    fn open(
        input: Input<'a>,
        encoding: TextEncoding,
        opts: &ImportOptions,
    ) -> Result<RowStream<'a>, ImportError> {
        let mut reader = rows::csv_reader(DecodingReader::new(input.open()?, encoding));
        let header = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                return Err(ImportError::File(
                    rows::decoding_error(&e).unwrap_or_else(|| format!("header: {e}")),
                ))
            }
        };
        let header = Header::parse(opts.kind, &header).map_err(ImportError::File)?;
        Ok(RowStream {
            reader,
            header,
            rules: RowRules {
                kind: opts.kind,
                scheme: opts.scheme,
                salt_position: opts.salt_position,
            },
            record: csv::StringRecord::new(),
            index: 0,
            ids: SeenKeys::new(),
            subjects: SeenKeys::new(),
        })
    }

    fn next_row(&mut self) -> Result<Option<Parsed>, ImportError> {
        let fallback_line = self.index + 2;
        let read = self.reader.read_record(&mut self.record);
        self.index += 1;
        match read {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) => {
                // The file changed since the first pass read it whole.
                if let Some(message) = rows::decoding_error(&e) {
                    return Err(ImportError::File(message));
                }
                let e = RowError::new("bad_csv", "该行不是有效的 CSV 记录");
                return Ok(Some((fallback_line, String::new(), Err(e))));
            }
        }
        let record = &self.record;
        let line = record.position().map(|p| p.line()).unwrap_or(fallback_line);
        let kind = self.rules.kind;
        let (ids, subjects) = (&mut self.ids, &mut self.subjects);
        let parsed = rows::parse_row(&self.rules, &self.header, record, line).and_then(|row| {
            if !ids.insert(&row.legacy_id) {
                return Err(RowError::new("duplicate_in_file", "legacy_id 在文件中重复"));
            }
            let new_subject = match &row.subject {
                Subject::Unit { uscc, .. } => subjects.insert(uscc),
                Subject::Person {
                    user_type, mobile, ..
                } => subjects.insert((user_type.as_str(), mobile)),
            };
            if !new_subject {
                return Err(match kind {
                    RecordKind::Unit => {
                        RowError::new("duplicate_in_file", "统一社会信用代码在文件中重复")
                    }
                    RecordKind::Person => {
                        RowError::new("duplicate_in_file", "同一用户类型的手机号在文件中重复")
                    }
                });
            }
            Ok(row)
        });
        let legacy_id = match &parsed {
            Ok(r) => r.legacy_id.clone(),
            Err(_) => record
                .get(0)
                .unwrap_or("")
                .trim()
                .chars()
                .take(64)
                .collect(),
        };
        Ok(Some((line, legacy_id, parsed)))
    }
}

struct Applied {
    status: RowStatus,
    outcome: Outcome,
    login_name: Option<String>,
}

async fn write_batch(
    db: &Db,
    pii: &PiiVault,
    now: i64,
    opts: &ImportOptions,
    chunk: &[Parsed],
) -> Result<Vec<RowReport>, ImportError> {
    let mut tx = db.pool.begin().await?;
    match apply_batch(&mut tx, pii, now, opts, chunk).await {
        Ok(reports) => {
            tx.commit().await?;
            return Ok(reports);
        }
        Err(_) => tx.rollback().await?,
    }
    // One transaction per row, so that only the row that fails is lost.
    let mut reports = Vec::with_capacity(chunk.len());
    for one in chunk.chunks(1) {
        let (line, legacy_id, parsed) = &one[0];
        let report = match parsed {
            Err(e) => error_report(*line, legacy_id, e.clone()),
            Ok(_) => {
                let mut tx = db.pool.begin().await?;
                match apply_batch(&mut tx, pii, now, opts, one).await {
                    Ok(mut r) => {
                        tx.commit().await?;
                        r.remove(0)
                    }
                    Err(e) => {
                        tx.rollback().await?;
                        // The database's text may quote the values it refused; keep it out.
                        let kind = match &e {
                            e if e.is_unique_violation() => "unique",
                            StoreError::Db(sqlx::Error::Database(_)) => "constraint",
                            _ => "other",
                        };
                        tracing::warn!(line, kind, "legacy row not written: database error");
                        error_report(
                            *line,
                            legacy_id,
                            RowError::new("database", "写入数据库失败（与平台现有数据冲突）"),
                        )
                    }
                }
            }
        };
        reports.push(report);
    }
    Ok(reports)
}

/// Reads what the rows need, decides each row in file order and writes them all, in `tx`.
/// A row error only skips its row; a database error fails the batch.
async fn apply_batch(
    tx: &mut Tx<'_>,
    pii: &PiiVault,
    now: i64,
    opts: &ImportOptions,
    chunk: &[Parsed],
) -> Result<Vec<RowReport>, StoreError> {
    let rows: Vec<&LegacyRow> = chunk
        .iter()
        .filter_map(|(_, _, p)| p.as_ref().ok())
        .collect();
    let mut known = Known::read(tx, pii, opts, &rows).await?;
    let mut batch = Batch::new();
    let mut reports = Vec::with_capacity(chunk.len());
    for (line, legacy_id, parsed) in chunk {
        reports.push(match parsed {
            Err(e) => error_report(*line, legacy_id, e.clone()),
            Ok(row) => match apply(&mut known, &mut batch, pii, now, opts, row) {
                Ok(a) => applied_report(row, a),
                Err(e) => error_report(*line, legacy_id, e),
            },
        });
    }
    batch.write(tx).await?;
    Ok(reports)
}

fn error_report(line: u64, legacy_id: &str, e: RowError) -> RowReport {
    RowReport {
        line,
        legacy_id: legacy_id.to_owned(),
        status: RowStatus::Error,
        outcome: None,
        login_name: None,
        window: None,
        error: Some(e),
    }
}

fn applied_report(row: &LegacyRow, a: Applied) -> RowReport {
    let unit = row.kind() == RecordKind::Unit;
    RowReport {
        line: row.line,
        legacy_id: row.legacy_id.clone(),
        status: a.status,
        outcome: Some(a.outcome),
        window: a.login_name.as_ref().map(|_| {
            if a.outcome.natural_person_window(unit) {
                "自然人"
            } else {
                "法人"
            }
        }),
        login_name: a.login_name,
        error: None,
    }
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", crypto::random_token(16))
}

/// What the platform holds for one batch's rows: read from the database before the batch
/// writes anything, then kept current with what each row of the batch adds, so that a row
/// sees its predecessors in the file exactly as if they had been written one by one.
struct Known {
    /// Records of earlier runs, by legacy_id.
    imported: HashMap<String, ImportedRecord>,
    /// Accounts by login key: id, login name, type.
    logins: HashMap<String, (String, String, AccountType)>,
    /// Units by USCC.
    orgs: HashMap<String, String>,
    /// A unit's own account, by unit.
    unit_accounts: HashMap<String, String>,
    /// (account type, column, lookup key) of the mobiles and emails accounts reserve.
    contacts: HashSet<(&'static str, &'static str, String)>,
    /// Registered documents: (id_type, id_number_key) to account.
    documents: HashMap<(String, String), String>,
}

impl Known {
    async fn read(
        tx: &mut Tx<'_>,
        pii: &PiiVault,
        opts: &ImportOptions,
        rows: &[&LegacyRow],
    ) -> Result<Known, StoreError> {
        fn distinct(mut v: Vec<String>) -> Vec<String> {
            v.sort_unstable();
            v.dedup();
            v
        }
        fn strs(v: &[String]) -> Vec<&str> {
            v.iter().map(String::as_str).collect()
        }
        let ids: Vec<&str> = rows.iter().map(|r| r.legacy_id.as_str()).collect();
        let mut logins = Vec::new();
        let mut usccs = Vec::new();
        let mut mobiles = Vec::new();
        let mut emails = Vec::new();
        let mut documents = Vec::new();
        for row in rows {
            if let Some(login) = &row.login {
                logins.push(login.login_name.clone());
                logins.push(format!("{RENAMED_PREFIX}{}", login.login_name));
                if let Some(m) = row.mobile() {
                    mobiles.push(pii.lookup_key(PiiField::Mobile, m));
                }
                if let Some(e) = &row.email {
                    emails.push(pii.lookup_key(PiiField::Email, e));
                }
            }
            match &row.subject {
                Subject::Unit { uscc, .. } => {
                    usccs.push(uscc.clone());
                    if row.login.is_some() {
                        logins.push(uscc.clone());
                    }
                }
                Subject::Person {
                    mobile, document, ..
                } => {
                    if row.login.is_some() {
                        logins.push(mobile.clone());
                    }
                    if let Some((_, number)) = document {
                        documents.push(pii.lookup_key(PiiField::IdNumber, number));
                    }
                }
            }
        }
        let (logins, usccs) = (distinct(logins), distinct(usccs));
        let (mobiles, emails, documents) =
            (distinct(mobiles), distinct(emails), distinct(documents));
        let kind = opts.kind.as_str();
        let imported = repo::imported_among(tx, &opts.source, kind, &ids).await?;
        let logins = repo::accounts_by_login(tx, &strs(&logins)).await?;
        let orgs = if usccs.is_empty() {
            HashMap::new()
        } else {
            repo::orgs_by_uscc(tx, &strs(&usccs)).await?
        };
        let org_ids: Vec<&str> = orgs.values().map(String::as_str).collect();
        let unit_accounts = repo::unit_accounts(tx, &org_ids).await?;
        // A person file creates natural persons; a unit file legal entities, and natural
        // persons for units registered under another login (outcome 4).
        let types: &[AccountType] = match opts.kind {
            RecordKind::Person => &[AccountType::NaturalPerson],
            RecordKind::Unit => &[AccountType::LegalEntity, AccountType::NaturalPerson],
        };
        let mut contacts = HashSet::new();
        for t in types {
            for (column, keys) in [("mobile_key", &mobiles), ("email_key", &emails)] {
                for key in repo::contacts_reserved(tx, *t, column, &strs(keys)).await? {
                    contacts.insert((t.as_str(), column, key));
                }
            }
        }
        let documents = repo::documents_among(tx, &strs(&documents)).await?;
        Ok(Known {
            imported,
            logins,
            orgs,
            unit_accounts,
            contacts,
            documents,
        })
    }

    fn account_by_login(&self, login_name: &str) -> Option<&(String, String, AccountType)> {
        self.logins.get(&login_key(login_name))
    }

    fn contact_reserved(&self, t: AccountType, column: &'static str, key: &str) -> bool {
        self.contacts
            .contains(&(t.as_str(), column, key.to_owned()))
    }
}

/// Decides the outcome of one row and adds its rows (account, unit, grants, record, audit
/// entry) to the batch. Every check comes before the first addition, so a row error leaves
/// nothing of the row behind.
fn apply(
    known: &mut Known,
    batch: &mut Batch,
    pii: &PiiVault,
    now: i64,
    opts: &ImportOptions,
    row: &LegacyRow,
) -> Result<Applied, RowError> {
    let kind = row.kind().as_str();
    if let Some(existing) = known.imported.get(&row.legacy_id) {
        if existing.row_digest != row.digest {
            return Err(RowError::new(
                "changed_since_import",
                "该 legacy_id 已导入过且内容不同，未作修改",
            ));
        }
        let outcome = Outcome::parse(&existing.outcome).unwrap_or(Outcome::RecordOnly);
        return Ok(Applied {
            status: RowStatus::Unchanged,
            outcome,
            login_name: existing.login_name.clone(),
        });
    }
    let plan = plan(known, pii, row)?;
    let record_id = new_id("lgc");
    let account_id = match &plan {
        Plan::RecordOnly { linked_to } => linked_to.clone(),
        Plan::Link { account_id, .. } => {
            batch.add_grants(account_id, &row.subsystems, now);
            Some(account_id.clone())
        }
        Plan::Create {
            login_name,
            account_type,
            org,
            ..
        } => Some(create_account(
            known,
            batch,
            pii,
            now,
            row,
            login_name,
            *account_type,
            org,
        )),
    };
    let outcome = plan.outcome();
    let login_name = plan.login_name();
    let (user_type, uscc, document, mobile) = match &row.subject {
        Subject::Unit { uscc, .. } => (None, Some(uscc.as_str()), None, row.mobile()),
        Subject::Person {
            user_type,
            mobile,
            document,
        } => (
            Some(user_type.as_str()),
            None,
            document.as_ref(),
            Some(mobile.as_str()),
        ),
    };
    let record = NewRecord {
        id: &record_id,
        source: &opts.source,
        kind,
        legacy_id: &row.legacy_id,
        user_type,
        old_login_name: row.login.as_ref().map(|l| l.login_name.as_str()),
        display_name: &row.display_name,
        uscc,
        id_type: document.map(|(t, _)| t.as_str()),
        id_number_sealed: document.map(|(_, n)| pii.seal(PiiField::IdNumber, n)),
        id_number_key: document.map(|(_, n)| pii.lookup_key(PiiField::IdNumber, n)),
        mobile_sealed: mobile.map(|m| pii.seal(PiiField::Mobile, m)),
        mobile_key: mobile.map(|m| pii.lookup_key(PiiField::Mobile, m)),
        subsystems: &row.subsystems,
        outcome: outcome.as_str(),
        account_id: account_id.as_deref(),
        linked_via: account_id.as_ref().map(|_| "import"),
        login_name: login_name.as_deref(),
        row_digest: &row.digest,
    };
    batch.legacy_record(&record, now);
    known.imported.insert(
        row.legacy_id.clone(),
        ImportedRecord {
            outcome: outcome.as_str().to_owned(),
            login_name: login_name.clone(),
            row_digest: row.digest.clone(),
        },
    );
    // A unit created active because the old system had approved it skipped the review: the
    // audit log says so. An existing unit (outcomes 2 and 4) keeps its own state.
    let approved_unit = matches!(row.subject, Subject::Unit { approved: true, .. })
        && matches!(outcome, Outcome::KeptLogin | Outcome::RenamedHj);
    let mut detail = json!({
        "outcome": outcome.as_str(),
        "kind": kind,
        "source": opts.source,
        "record": record_id,
        "via": "cli",
    });
    if approved_unit {
        detail["unit_status"] = json!("active");
        detail["approved_in_old_system"] = json!(true);
    }
    let detail = detail.to_string();
    batch.audit(&NewAuditRow {
        at: now,
        event: crate::audit::AuditEvent::LegacyImported.as_str(),
        actor_account_id: None,
        subject_account_id: account_id.as_deref(),
        client_id: None,
        client_ip: None,
        detail: &detail,
    });
    Ok(Applied {
        status: RowStatus::Imported,
        outcome,
        login_name,
    })
}

/// What a row will become.
enum Plan {
    /// No login of its own; linked at once when the platform already has the person's
    /// document or the unit.
    RecordOnly { linked_to: Option<String> },
    /// Outcome 2.
    Link {
        account_id: String,
        login_name: String,
    },
    /// Outcomes 1, 3 and 4: a new account.
    Create {
        outcome: Outcome,
        login_name: String,
        account_type: AccountType,
        /// The unit to create (its name and USCC), or the existing unit to join.
        org: OrgPlan,
    },
}

enum OrgPlan {
    None,
    New,
    JoinAsMember(String),
}

impl Plan {
    fn outcome(&self) -> Outcome {
        match self {
            Plan::RecordOnly { .. } => Outcome::RecordOnly,
            Plan::Link { .. } => Outcome::LinkedExisting,
            Plan::Create { outcome, .. } => *outcome,
        }
    }

    fn login_name(&self) -> Option<String> {
        match self {
            Plan::RecordOnly { .. } => None,
            Plan::Link { login_name, .. } | Plan::Create { login_name, .. } => {
                Some(login_name.clone())
            }
        }
    }
}

/// The old login name, or `HJ_` + it when taken; an error when both are taken.
fn free_login_name(known: &Known, old: &str) -> Result<(String, bool), RowError> {
    if known.account_by_login(old).is_none() {
        return Ok((old.to_owned(), false));
    }
    let renamed = format!("{RENAMED_PREFIX}{old}");
    if known.account_by_login(&renamed).is_none() {
        return Ok((renamed, true));
    }
    Err(RowError::new(
        "login_name_taken",
        "原登录名和 HJ_ 加原登录名均已被占用",
    ))
}

fn plan(known: &Known, pii: &PiiVault, row: &LegacyRow) -> Result<Plan, RowError> {
    let Some(login) = &row.login else {
        let linked_to = match &row.subject {
            Subject::Unit { uscc, .. } => known
                .orgs
                .get(uscc)
                .and_then(|org| known.unit_accounts.get(org))
                .cloned(),
            Subject::Person {
                document: Some((id_type, number)),
                ..
            } => {
                let key = pii.lookup_key(PiiField::IdNumber, number);
                known.documents.get(&(id_type.clone(), key)).cloned()
            }
            Subject::Person { .. } => None,
        };
        return Ok(Plan::RecordOnly { linked_to });
    };
    match &row.subject {
        Subject::Unit { uscc, .. } => {
            // (2) The platform's legal-entity account named by the USCC.
            if let Some((id, name, AccountType::LegalEntity)) = known.account_by_login(uscc) {
                return Ok(Plan::Link {
                    account_id: id.clone(),
                    login_name: name.clone(),
                });
            }
            // (4) The unit registered under another login name: the old login becomes a
            // natural person of that unit, with the unit's subsystems.
            if let Some(org_id) = known.orgs.get(uscc) {
                let (login_name, _) = free_login_name(known, &login.login_name)?;
                return Ok(Plan::Create {
                    outcome: Outcome::BecamePerson,
                    login_name,
                    account_type: AccountType::NaturalPerson,
                    org: OrgPlan::JoinAsMember(org_id.clone()),
                });
            }
            // (1) or (3).
            let (login_name, renamed) = free_login_name(known, &login.login_name)?;
            Ok(Plan::Create {
                outcome: if renamed {
                    Outcome::RenamedHj
                } else {
                    Outcome::KeptLogin
                },
                login_name,
                account_type: AccountType::LegalEntity,
                org: OrgPlan::New,
            })
        }
        Subject::Person { mobile, .. } => {
            if let Some((id, name, AccountType::NaturalPerson)) = known.account_by_login(mobile) {
                return Ok(Plan::Link {
                    account_id: id.clone(),
                    login_name: name.clone(),
                });
            }
            let (login_name, renamed) = free_login_name(known, &login.login_name)?;
            Ok(Plan::Create {
                outcome: if renamed {
                    Outcome::RenamedHj
                } else {
                    Outcome::KeptLogin
                },
                login_name,
                account_type: AccountType::NaturalPerson,
                org: OrgPlan::None,
            })
        }
    }
}

/// Adds the account of outcomes 1, 3 and 4 with the imported hash. A mobile, email or
/// document another account of the type already holds stays on the legacy record only (the
/// platform's uniqueness rules win over the old system's data).
#[allow(clippy::too_many_arguments)] // the batch, what the batch knows, and the row's plan
fn create_account(
    known: &mut Known,
    batch: &mut Batch,
    pii: &PiiVault,
    now: i64,
    row: &LegacyRow,
    login_name: &str,
    account_type: AccountType,
    org: &OrgPlan,
) -> String {
    let account_id = new_id("acct");
    let (org_id, org_role) = match (org, &row.subject) {
        (OrgPlan::New, Subject::Unit { uscc, approved }) => {
            let org_id = new_id("org");
            let unit = NewOrg {
                id: org_id.clone(),
                name: row.display_name.clone(),
                uscc: Some(uscc.clone()),
                status: if *approved {
                    UnitStatus::Active
                } else {
                    UnitStatus::Registered
                },
            };
            batch.organization(
                &unit,
                "enterprise",
                "domestic",
                &UnitReviewState::default(),
                now,
            );
            known.orgs.insert(uscc.clone(), org_id.clone());
            known
                .unit_accounts
                .insert(org_id.clone(), account_id.clone());
            (Some(org_id), Some(OrgRole::Admin))
        }
        (OrgPlan::JoinAsMember(org_id), _) => (Some(org_id.clone()), Some(OrgRole::Member)),
        _ => (None, None),
    };
    let mut contact = SealedContact::default();
    if let Some(m) = row.mobile() {
        let key = pii.lookup_key(PiiField::Mobile, m);
        if !known.contact_reserved(account_type, "mobile_key", &key) {
            contact.mobile_sealed = Some(pii.seal(PiiField::Mobile, m));
            known
                .contacts
                .insert((account_type.as_str(), "mobile_key", key.clone()));
            contact.mobile_key = Some(key);
        }
    }
    if let Some(e) = &row.email {
        let key = pii.lookup_key(PiiField::Email, e);
        if !known.contact_reserved(account_type, "email_key", &key) {
            contact.email_sealed = Some(pii.seal(PiiField::Email, e));
            known
                .contacts
                .insert((account_type.as_str(), "email_key", key.clone()));
            contact.email_key = Some(key);
        }
    }
    let password_hash = row
        .login
        .as_ref()
        .map(|l| l.password_hash.clone())
        .unwrap_or_default();
    let account = NewAccount {
        id: account_id.clone(),
        login_name: login_name.to_owned(),
        password_hash,
        account_type,
        display_name: row.display_name.clone(),
        realname_status: RealnameStatus::Unverified,
        org_id,
        org_role,
        grants: row.subsystems.clone(),
        roles: vec![],
        login_name_chosen: true,
    };
    batch.account(&account, &contact, now);
    known.logins.insert(
        login_key(login_name),
        (account_id.clone(), login_name.to_owned(), account_type),
    );
    if let Subject::Person {
        document: Some((id_type, number)),
        ..
    } = &row.subject
    {
        let key = pii.lookup_key(PiiField::IdNumber, number);
        if let std::collections::hash_map::Entry::Vacant(free) =
            known.documents.entry((id_type.clone(), key))
        {
            let identity = PersonIdentity {
                real_name: row.display_name.clone(),
                identity_region: "mainland".into(),
                id_type: id_type.clone(),
                id_number: number.clone(),
                id_valid_from: None,
                id_valid_to: None,
                id_country: None,
                gender: None,
                ethnicity: None,
            };
            batch.identity(pii, &account_id, &identity, now);
            free.insert(account_id.clone());
        }
    }
    account_id
}
