//! The bulk import of a legacy export (`idp legacy import`). Every row ends in one outcome
//! of seed 004 ([`Outcome`]) or in an error; rows are written in batches, each batch one
//! transaction with its audit entries. A record is keyed by (source, kind, legacy_id), so a
//! re-run of the same file finds every written row unchanged, and a run killed halfway
//! resumes where its last committed batch ended, without duplicates.
//!
//! A batch that meets a database error (a registration racing the import, say) is rolled
//! back and its rows retried one transaction each, so one bad row never takes others with it.

use std::collections::{BTreeMap, HashSet};

use serde_json::json;
use tongyi_shared::{
    claims::{AccountType, RealnameStatus},
    org::OrgRole,
};

use super::{
    hashes::{HashScheme, SaltPosition},
    outcome::Outcome,
    rows::{self, Encoding, Header, LegacyRow, RecordKind, RowError, RowRules, Subject},
};
use crate::{
    crypto,
    pii::{PiiField, PiiVault},
    store::{
        accounts::{self, NewAccount, SealedContact},
        legacy::{self as repo, NewRecord, Tx},
        Db,
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
    let text = rows::decode(bytes, opts.encoding).map_err(ImportError::File)?;
    let parsed = parse_all(&text, opts)?;
    let mut summary = Summary::default();
    progress.start(parsed.len() as u64);
    let mut done = 0u64;
    let batch_size = opts.batch_size.max(1);
    for chunk in parsed.chunks(batch_size) {
        let results = write_batch(db, pii, now, opts, chunk).await?;
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

/// A row of the file: its line, its legacy_id as read, and the row or why it is refused.
type Parsed = (u64, String, Result<LegacyRow, RowError>);

/// Reads every record and applies the checks of one row and of the file as a whole: a
/// legacy_id, a unit's USCC or a person's (user type, mobile) seen earlier in the file makes
/// the later row a duplicate.
fn parse_all(text: &str, opts: &ImportOptions) -> Result<Vec<Parsed>, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| ImportError::File(format!("header: {e}")))?
        .clone();
    let header = Header::parse(opts.kind, &header).map_err(ImportError::File)?;
    let rules = RowRules {
        kind: opts.kind,
        scheme: opts.scheme,
        salt_position: opts.salt_position,
    };
    let mut ids = HashSet::new();
    let mut subjects = HashSet::new();
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let fallback_line = i as u64 + 2;
        let record = match record {
            Ok(r) => r,
            Err(_) => {
                let e = RowError::new("bad_csv", "该行不是有效的 CSV 记录");
                out.push((fallback_line, String::new(), Err(e)));
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(fallback_line);
        let parsed = rows::parse_row(&rules, &header, &record, line).and_then(|row| {
            if !ids.insert(row.legacy_id.clone()) {
                return Err(RowError::new("duplicate_in_file", "legacy_id 在文件中重复"));
            }
            let subject = match &row.subject {
                Subject::Unit { uscc, .. } => uscc.clone(),
                Subject::Person {
                    user_type, mobile, ..
                } => format!("{}:{mobile}", user_type.as_str()),
            };
            if !subjects.insert(subject) {
                return Err(match opts.kind {
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
        out.push((line, legacy_id, parsed));
    }
    Ok(out)
}

enum ApplyError {
    Row(RowError),
    Db(crate::store::StoreError),
}

impl From<sqlx::Error> for ApplyError {
    fn from(e: sqlx::Error) -> Self {
        ApplyError::Db(e.into())
    }
}

impl From<crate::store::StoreError> for ApplyError {
    fn from(e: crate::store::StoreError) -> Self {
        ApplyError::Db(e)
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
    let mut reports = Vec::with_capacity(chunk.len());
    let mut failed = false;
    for (line, legacy_id, parsed) in chunk {
        let report = match parsed {
            Err(e) => error_report(*line, legacy_id, e.clone()),
            Ok(row) => match apply(&mut tx, pii, now, opts, row).await {
                Ok(a) => applied_report(row, a),
                Err(ApplyError::Row(e)) => error_report(*line, legacy_id, e),
                Err(ApplyError::Db(_)) => {
                    failed = true;
                    break;
                }
            },
        };
        reports.push(report);
    }
    if !failed {
        tx.commit().await?;
        return Ok(reports);
    }
    tx.rollback().await?;
    // One transaction per row, so that only the row that fails is lost.
    let mut reports = Vec::with_capacity(chunk.len());
    for (line, legacy_id, parsed) in chunk {
        let report = match parsed {
            Err(e) => error_report(*line, legacy_id, e.clone()),
            Ok(row) => {
                let mut tx = db.pool.begin().await?;
                match apply(&mut tx, pii, now, opts, row).await {
                    Ok(a) => {
                        tx.commit().await?;
                        applied_report(row, a)
                    }
                    Err(ApplyError::Row(e)) => error_report(*line, legacy_id, e),
                    Err(ApplyError::Db(e)) => {
                        tx.rollback().await?;
                        // The database's text may quote the values it refused; keep it out.
                        let kind = match &e {
                            e if e.is_unique_violation() => "unique",
                            crate::store::StoreError::Db(sqlx::Error::Database(_)) => "constraint",
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

/// Decides the outcome of one row and writes it (account, unit, grants, record, audit entry)
/// in the caller's transaction. Every check comes before the first write, so a row error
/// leaves nothing of the row behind.
async fn apply(
    tx: &mut Tx<'_>,
    pii: &PiiVault,
    now: i64,
    opts: &ImportOptions,
    row: &LegacyRow,
) -> Result<Applied, ApplyError> {
    let kind = row.kind().as_str();
    if let Some(existing) = repo::find_imported(tx, &opts.source, kind, &row.legacy_id).await? {
        if existing.row_digest != row.digest {
            return Err(ApplyError::Row(RowError::new(
                "changed_since_import",
                "该 legacy_id 已导入过且内容不同，未作修改",
            )));
        }
        let outcome = Outcome::parse(&existing.outcome).unwrap_or(Outcome::RecordOnly);
        return Ok(Applied {
            status: RowStatus::Unchanged,
            outcome,
            login_name: existing.login_name,
        });
    }
    let plan = plan(tx, pii, row).await?;
    let record_id = new_id("lgc");
    let account_id = match &plan {
        Plan::RecordOnly { linked_to } => linked_to.clone(),
        Plan::Link { account_id, .. } => {
            repo::add_grants(tx, account_id, &row.subsystems, now).await?;
            Some(account_id.clone())
        }
        Plan::Create {
            login_name,
            account_type,
            org,
            ..
        } => Some(create_account(tx, pii, now, row, login_name, *account_type, org).await?),
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
    repo::insert_record(tx, &record, now).await?;
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
    repo::insert_audit(
        tx,
        now,
        crate::audit::AuditEvent::LegacyImported.as_str(),
        account_id.as_deref(),
        &detail,
    )
    .await?;
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
async fn free_login_name(tx: &mut Tx<'_>, old: &str) -> Result<(String, bool), ApplyError> {
    if repo::account_by_login(tx, old).await?.is_none() {
        return Ok((old.to_owned(), false));
    }
    let renamed = format!("{RENAMED_PREFIX}{old}");
    if repo::account_by_login(tx, &renamed).await?.is_none() {
        return Ok((renamed, true));
    }
    Err(ApplyError::Row(RowError::new(
        "login_name_taken",
        "原登录名和 HJ_ 加原登录名均已被占用",
    )))
}

async fn plan(tx: &mut Tx<'_>, pii: &PiiVault, row: &LegacyRow) -> Result<Plan, ApplyError> {
    let Some(login) = &row.login else {
        let linked_to = match &row.subject {
            Subject::Unit { uscc, .. } => match repo::org_by_uscc(tx, uscc).await? {
                Some(org) => repo::unit_account(tx, &org).await?,
                None => None,
            },
            Subject::Person {
                document: Some((id_type, number)),
                ..
            } => {
                let key = pii.lookup_key(PiiField::IdNumber, number);
                repo::account_with_document(tx, id_type, &key).await?
            }
            Subject::Person { .. } => None,
        };
        return Ok(Plan::RecordOnly { linked_to });
    };
    match &row.subject {
        Subject::Unit { uscc, .. } => {
            // (2) The platform's legal-entity account named by the USCC.
            if let Some((id, name, AccountType::LegalEntity)) =
                repo::account_by_login(tx, uscc).await?
            {
                return Ok(Plan::Link {
                    account_id: id,
                    login_name: name,
                });
            }
            // (4) The unit registered under another login name: the old login becomes a
            // natural person of that unit, with the unit's subsystems.
            if let Some(org_id) = repo::org_by_uscc(tx, uscc).await? {
                let (login_name, _) = free_login_name(tx, &login.login_name).await?;
                return Ok(Plan::Create {
                    outcome: Outcome::BecamePerson,
                    login_name,
                    account_type: AccountType::NaturalPerson,
                    org: OrgPlan::JoinAsMember(org_id),
                });
            }
            // (1) or (3).
            let (login_name, renamed) = free_login_name(tx, &login.login_name).await?;
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
            if let Some((id, name, AccountType::NaturalPerson)) =
                repo::account_by_login(tx, mobile).await?
            {
                return Ok(Plan::Link {
                    account_id: id,
                    login_name: name,
                });
            }
            let (login_name, renamed) = free_login_name(tx, &login.login_name).await?;
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

/// Creates the account of outcomes 1, 3 and 4 with the imported hash. A mobile, email or
/// document another account of the type already holds stays on the legacy record only (the
/// platform's uniqueness rules win over the old system's data).
async fn create_account(
    tx: &mut Tx<'_>,
    pii: &PiiVault,
    now: i64,
    row: &LegacyRow,
    login_name: &str,
    account_type: AccountType,
    org: &OrgPlan,
) -> Result<String, ApplyError> {
    let account_id = new_id("acct");
    let (org_id, org_role) = match (org, &row.subject) {
        (OrgPlan::New, Subject::Unit { uscc, approved }) => {
            let org_id = new_id("org");
            repo::insert_org(tx, &org_id, &row.display_name, uscc, *approved, now).await?;
            (Some(org_id), Some(OrgRole::Admin))
        }
        (OrgPlan::JoinAsMember(org_id), _) => (Some(org_id.clone()), Some(OrgRole::Member)),
        _ => (None, None),
    };
    let mut contact = SealedContact::default();
    if let Some(m) = row.mobile() {
        let key = pii.lookup_key(PiiField::Mobile, m);
        if !repo::contact_reserved(tx, account_type, "mobile_key", &key).await? {
            contact.mobile_sealed = Some(pii.seal(PiiField::Mobile, m));
            contact.mobile_key = Some(key);
        }
    }
    if let Some(e) = &row.email {
        let key = pii.lookup_key(PiiField::Email, e);
        if !repo::contact_reserved(tx, account_type, "email_key", &key).await? {
            contact.email_sealed = Some(pii.seal(PiiField::Email, e));
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
    accounts::insert_in(tx, &account, &contact, now).await?;
    if let Subject::Person {
        document: Some((id_type, number)),
        ..
    } = &row.subject
    {
        let key = pii.lookup_key(PiiField::IdNumber, number);
        if !repo::document_taken(tx, id_type, &key).await? {
            let sealed = pii.seal(PiiField::IdNumber, number);
            repo::insert_identity(
                tx,
                &account_id,
                &row.display_name,
                id_type,
                &sealed,
                &key,
                now,
            )
            .await?;
        }
    }
    Ok(account_id)
}
