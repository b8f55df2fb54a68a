//! Multi-row inserts for writing many records at once (the scale fixture, `idp scale
//! generate`): the same record types and columns as the one-row repositories
//! ([`accounts::insert_in`], [`identities::create_person`], [`identities::create_legal_entity`],
//! [`legacy::insert_record`], [`directory::transition`]'s history row, [`audit::record`]),
//! sealed by the same [`PiiVault`], but sent as `INSERT … VALUES (…), (…), …` inside the
//! caller's transaction: one statement per few hundred rows instead of one per row.
//!
//! A [`Batch`] collects rows table by table and [`Batch::write`] sends them, parents before
//! children (units before their accounts, accounts before their grants), so the foreign keys
//! hold at every statement.

use crate::{
    accounts::{self, NewAccount, NewOrg, SealedContact},
    audit::NewAuditRow,
    directory::ReviewEntry,
    error::StoreError,
    identities::{self, OrgPerson, OrgPersonRole, PersonIdentity},
    legacy::NewRecord,
    pii::{PiiField, PiiVault},
};

/// One bound value.
#[derive(Clone, Debug)]
enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
}

impl From<String> for Cell {
    fn from(v: String) -> Cell {
        Cell::Text(Some(v))
    }
}
impl From<&str> for Cell {
    fn from(v: &str) -> Cell {
        Cell::Text(Some(v.to_owned()))
    }
}
impl From<Option<String>> for Cell {
    fn from(v: Option<String>) -> Cell {
        Cell::Text(v)
    }
}
impl From<Option<&str>> for Cell {
    fn from(v: Option<&str>) -> Cell {
        Cell::Text(v.map(str::to_owned))
    }
}
impl From<i64> for Cell {
    fn from(v: i64) -> Cell {
        Cell::Int(Some(v))
    }
}
impl From<Option<i64>> for Cell {
    fn from(v: Option<i64>) -> Cell {
        Cell::Int(v)
    }
}

/// Rows for one table, in column order.
struct Rows {
    table: &'static str,
    columns: &'static [&'static str],
    /// Appended to every statement (an `ON CONFLICT` clause), or empty.
    on_conflict: &'static str,
    cells: Vec<Cell>,
}

// Bound values per statement. Not more: SQLite finds a `$N` parameter by a linear search
// of the statement's names, when the statement is compiled and again when sqlx binds by
// name, so a statement's cost grows with the square of its parameters (8,000 made the
// search 75% of the generator's time). A few hundred spread the per-statement cost (parse,
// plan, round trip) over dozens of rows and keeps the search small (400: measured best of 8,000, 1,000 and 400).
const MAX_BINDS: usize = 400;

impl Rows {
    const fn new(table: &'static str, columns: &'static [&'static str]) -> Rows {
        Rows {
            table,
            columns,
            on_conflict: "",
            cells: Vec::new(),
        }
    }

    const fn on_conflict(mut self, clause: &'static str) -> Rows {
        self.on_conflict = clause;
        self
    }

    fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len(), "{}", self.table);
        self.cells.extend(row);
    }

    fn len(&self) -> usize {
        self.cells.len() / self.columns.len()
    }

    async fn write(
        &mut self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ) -> Result<usize, StoreError> {
        let width = self.columns.len();
        let rows_per_statement = (MAX_BINDS / width).max(1);
        let written = self.len();
        let cells = std::mem::take(&mut self.cells);
        for chunk in cells.chunks(rows_per_statement * width) {
            let n = chunk.len() / width;
            let mut sql = format!(
                "INSERT INTO {} ({}) VALUES ",
                self.table,
                self.columns.join(", ")
            );
            for r in 0..n {
                sql.push_str(if r == 0 { "(" } else { ", (" });
                for c in 0..width {
                    if c > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("${}", r * width + c + 1));
                }
                sql.push(')');
            }
            sql.push_str(self.on_conflict);
            let mut query = sqlx::query(&sql);
            for cell in chunk {
                query = match cell {
                    Cell::Text(v) => query.bind(v.clone()),
                    Cell::Int(v) => query.bind(*v),
                };
            }
            query.execute(&mut **tx).await?;
        }
        Ok(written)
    }
}

/// Rows to insert in one transaction, by table. Add records, then [`Batch::write`].
pub struct Batch {
    organizations: Rows,
    org_people: Rows,
    accounts: Rows,
    grants: Rows,
    /// Grants added to accounts that may hold them already (the legacy import's outcome 2).
    added_grants: Rows,
    roles: Rows,
    identities: Rows,
    reviews: Rows,
    legacy: Rows,
    audit: Rows,
}

/// A unit's place in the review, written with it (a registration leaves these empty; the
/// review's [`transition`](crate::directory::transition) sets them later).
#[derive(Clone, Debug, Default)]
pub struct UnitReviewState {
    pub department_id: Option<String>,
    pub submitted_at: Option<i64>,
}

impl Default for Batch {
    fn default() -> Self {
        Batch::new()
    }
}

impl Batch {
    pub fn new() -> Batch {
        Batch {
            organizations: Rows::new(
                "organizations",
                &[
                    "id",
                    "name",
                    "uscc",
                    "status",
                    "created_at",
                    "name_key",
                    "entity_type",
                    "registration_region",
                    "updated_at",
                    "department_id",
                    "submitted_at",
                ],
            ),
            org_people: Rows::new(
                "org_people",
                &[
                    "org_id",
                    "role",
                    "name",
                    "id_type",
                    "id_number_sealed",
                    "id_number_key",
                    "id_valid_from",
                    "id_valid_to",
                    "mobile_sealed",
                    "mobile_key",
                    "updated_at",
                ],
            ),
            accounts: Rows::new(
                "accounts",
                &[
                    "id",
                    "login_name",
                    "login_key",
                    "password_hash",
                    "account_type",
                    "display_name",
                    "realname_status",
                    "status",
                    "org_id",
                    "org_role",
                    "created_at",
                    "updated_at",
                    "mobile_sealed",
                    "mobile_key",
                    "email_sealed",
                    "email_key",
                    "login_name_chosen",
                    "mobile_verified",
                    "email_verified",
                ],
            ),
            grants: Rows::new(
                "account_grants",
                &["account_id", "subsystem_code", "granted_at"],
            ),
            added_grants: Rows::new(
                "account_grants",
                &["account_id", "subsystem_code", "granted_at"],
            )
            .on_conflict(" ON CONFLICT (account_id, subsystem_code) DO NOTHING"),
            roles: Rows::new("account_roles", &["account_id", "role"]),
            identities: Rows::new(
                "person_identities",
                &[
                    "account_id",
                    "real_name",
                    "identity_region",
                    "id_type",
                    "id_number_sealed",
                    "id_number_key",
                    "id_valid_from",
                    "id_valid_to",
                    "id_country",
                    "gender_sealed",
                    "ethnicity_sealed",
                    "created_at",
                    "updated_at",
                ],
            ),
            reviews: Rows::new(
                "unit_reviews",
                &[
                    "org_id",
                    "actor_account_id",
                    "action",
                    "from_status",
                    "to_status",
                    "department_id",
                    "reason",
                    "at",
                ],
            ),
            legacy: Rows::new(
                "legacy_records",
                &[
                    "id",
                    "source",
                    "kind",
                    "legacy_id",
                    "user_type",
                    "old_login_name",
                    "display_name",
                    "uscc",
                    "id_type",
                    "id_number_sealed",
                    "id_number_key",
                    "mobile_sealed",
                    "mobile_key",
                    "subsystems",
                    "outcome",
                    "account_id",
                    "linked_via",
                    "linked_at",
                    "login_name",
                    "row_digest",
                    "imported_at",
                ],
            ),
            audit: Rows::new(
                "audit_log",
                &[
                    "at",
                    "event",
                    "actor_account_id",
                    "subject_account_id",
                    "client_id",
                    "client_ip",
                    "detail",
                ],
            ),
        }
    }

    /// An account with its grants and roles, as [`accounts::insert_in`] writes it (status
    /// `active`).
    pub fn account(&mut self, a: &NewAccount, contact: &SealedContact, now: i64) {
        self.accounts.push(vec![
            a.id.as_str().into(),
            a.login_name.as_str().into(),
            accounts::login_key(&a.login_name).into(),
            a.password_hash.as_str().into(),
            a.account_type.as_str().into(),
            a.display_name.as_str().into(),
            a.realname_status.as_str().into(),
            "active".into(),
            a.org_id.clone().into(),
            a.org_role.map(tongyi_shared::org::OrgRole::as_str).into(),
            now.into(),
            now.into(),
            contact.mobile_sealed.clone().into(),
            contact.mobile_key.clone().into(),
            contact.email_sealed.clone().into(),
            contact.email_key.clone().into(),
            i64::from(a.login_name_chosen).into(),
            i64::from(contact.mobile_verified).into(),
            i64::from(contact.email_verified).into(),
        ]);
        for g in &a.grants {
            self.grants
                .push(vec![a.id.as_str().into(), g.as_str().into(), now.into()]);
        }
        for r in &a.roles {
            self.roles
                .push(vec![a.id.as_str().into(), r.as_str().into()]);
        }
    }

    /// A natural person's identity document, sealed as [`identities::create_person`] seals it.
    pub fn identity(&mut self, pii: &PiiVault, account_id: &str, i: &PersonIdentity, now: i64) {
        self.identities.push(vec![
            account_id.into(),
            i.real_name.as_str().into(),
            i.identity_region.as_str().into(),
            i.id_type.as_str().into(),
            pii.seal(PiiField::IdNumber, &i.id_number).into(),
            pii.lookup_key(PiiField::IdNumber, &i.id_number).into(),
            i.id_valid_from.clone().into(),
            i.id_valid_to.clone().into(),
            i.id_country.clone().into(),
            i.gender
                .as_deref()
                .map(|g| pii.seal(PiiField::Gender, g))
                .into(),
            i.ethnicity
                .as_deref()
                .map(|e| pii.seal(PiiField::Ethnicity, e))
                .into(),
            now.into(),
            now.into(),
        ]);
    }

    /// A legal entity's unit with its legal representative and agent, as
    /// [`identities::create_legal_entity`] writes them (its account goes through
    /// [`Batch::account`]).
    #[allow(clippy::too_many_arguments)] // the columns of one registration form
    pub fn unit(
        &mut self,
        pii: &PiiVault,
        org: &NewOrg,
        entity_type: &str,
        registration_region: &str,
        review: &UnitReviewState,
        legal_rep: &OrgPerson,
        agent: &OrgPerson,
        now: i64,
    ) {
        self.organization(org, entity_type, registration_region, review, now);
        for (role, p) in [
            (OrgPersonRole::LegalRepresentative, legal_rep),
            (OrgPersonRole::Agent, agent),
        ] {
            self.org_people.push(vec![
                org.id.as_str().into(),
                role.as_str().into(),
                p.name.as_str().into(),
                p.id_type.as_str().into(),
                pii.seal(PiiField::IdNumber, &p.id_number).into(),
                pii.lookup_key(PiiField::IdNumber, &p.id_number).into(),
                p.id_valid_from.clone().into(),
                p.id_valid_to.clone().into(),
                pii.seal(PiiField::Mobile, &p.mobile).into(),
                pii.lookup_key(PiiField::Mobile, &p.mobile).into(),
                now.into(),
            ]);
        }
    }

    /// A unit alone, without its people (the legacy import's units: the old system knew them
    /// by name and USCC only).
    pub fn organization(
        &mut self,
        org: &NewOrg,
        entity_type: &str,
        registration_region: &str,
        review: &UnitReviewState,
        now: i64,
    ) {
        self.organizations.push(vec![
            org.id.as_str().into(),
            org.name.as_str().into(),
            org.uscc.clone().into(),
            org.status.as_str().into(),
            now.into(),
            identities::unit_name_key(&org.name).into(),
            entity_type.into(),
            registration_region.into(),
            now.into(),
            review.department_id.clone().into(),
            review.submitted_at.into(),
        ]);
    }

    /// Grants an existing account may already hold (kept as they are, like
    /// [`crate::legacy::add_grants`]); written after the accounts of the batch.
    pub fn add_grants(&mut self, account_id: &str, grants: &[String], now: i64) {
        for g in grants {
            self.added_grants
                .push(vec![account_id.into(), g.as_str().into(), now.into()]);
        }
    }

    /// One recorded review decision, as [`crate::directory::transition`] records it.
    pub fn review(&mut self, e: &ReviewEntry) {
        self.reviews.push(vec![
            e.org_id.as_str().into(),
            e.actor_account_id.as_str().into(),
            e.action.as_str().into(),
            e.from_status.as_str().into(),
            e.to_status.as_str().into(),
            e.department_id.clone().into(),
            e.reason.clone().into(),
            e.at.into(),
        ]);
    }

    /// A legacy record, as [`crate::legacy::insert_record`] writes it.
    pub fn legacy_record(&mut self, r: &NewRecord<'_>, now: i64) {
        self.legacy.push(vec![
            r.id.into(),
            r.source.into(),
            r.kind.into(),
            r.legacy_id.into(),
            r.user_type.into(),
            r.old_login_name.into(),
            r.display_name.into(),
            r.uscc.into(),
            r.id_type.into(),
            r.id_number_sealed.clone().into(),
            r.id_number_key.clone().into(),
            r.mobile_sealed.clone().into(),
            r.mobile_key.clone().into(),
            crate::to_json_list(r.subsystems).into(),
            r.outcome.into(),
            r.account_id.into(),
            r.linked_via.into(),
            r.account_id.map(|_| now).into(),
            r.login_name.into(),
            r.row_digest.into(),
            now.into(),
        ]);
    }

    /// An audit entry, as [`crate::audit::record`] writes it.
    pub fn audit(&mut self, row: &NewAuditRow<'_>) {
        self.audit.push(vec![
            row.at.into(),
            row.event.into(),
            row.actor_account_id.into(),
            row.subject_account_id.into(),
            row.client_id.into(),
            row.client_ip.into(),
            row.detail.into(),
        ]);
    }

    /// How many rows are waiting, over all tables.
    pub fn len(&self) -> usize {
        self.tables().iter().map(|t| t.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn tables(&self) -> [&Rows; 10] {
        [
            &self.organizations,
            &self.org_people,
            &self.accounts,
            &self.grants,
            &self.added_grants,
            &self.roles,
            &self.identities,
            &self.reviews,
            &self.legacy,
            &self.audit,
        ]
    }

    /// Sends every waiting row inside `tx`, parents first; returns how many were written and
    /// leaves the batch empty.
    pub async fn write(
        &mut self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ) -> Result<usize, StoreError> {
        let mut n = 0;
        for rows in [
            &mut self.organizations,
            &mut self.org_people,
            &mut self.accounts,
            &mut self.grants,
            &mut self.added_grants,
            &mut self.roles,
            &mut self.identities,
            &mut self.reviews,
            &mut self.legacy,
            &mut self.audit,
        ] {
            n += rows.write(tx).await?;
        }
        Ok(n)
    }
}
