//! Writes a [`Shape`]'s population into the configured database through the store's bulk
//! path ([`store::bulk::Batch`]): departments and their reviewers, units (legal
//! representative, agent, the unit's own legal-entity account, review history, legacy
//! record), then persons (identity document, membership, grants, last login in the audit
//! log, legacy record), in transactions of a few thousand records.
//!
//! Every personal value is sealed and hashed by the [`PiiVault`] exactly as registration
//! does. Passwords are the exception that makes a million feasible: argon2id takes tens of
//! milliseconds by design, so the password is hashed once and that PHC string is stored for
//! every generated account (each still verifies on login like any other).

use std::time::{Duration, Instant};

use tongyi_shared::{
    claims::{AccountType, RealnameStatus},
    org::{OrgRole, UnitStatus},
    validate::IdDocumentType,
};

use super::population::{self, Person, Shape, Unit};
use crate::{
    audit::AuditEvent,
    pii::{PiiField, PiiVault},
    store::{
        self,
        accounts::{NewAccount, NewOrg, SealedContact},
        audit::NewAuditRow,
        bulk::{Batch, UnitReviewState},
        directory::{Department, ReviewEntry},
        identities::{OrgPerson, PersonIdentity},
        legacy::NewRecord,
        Db, StoreError,
    },
};

/// What `idp scale generate` was asked for.
#[derive(Clone, Debug)]
pub struct Options {
    pub shape: Shape,
    /// The password of every generated account, hashed once.
    pub password_hash: String,
    /// Records (units or persons) per transaction.
    pub batch: u64,
    /// "Now" of the generated data.
    pub now: i64,
}

/// What was written and how fast.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub rows: u64,
    pub persons: u64,
    pub units: u64,
    pub elapsed: Duration,
}

impl Report {
    pub fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The source name of generated legacy records.
pub const LEGACY_SOURCE: &str = "scale";

/// Writes the whole population; `progress` is called after every transaction with the report
/// so far.
pub async fn generate(
    db: &Db,
    pii: &PiiVault,
    options: &Options,
    mut progress: impl FnMut(&Report),
) -> Result<Report, StoreError> {
    let started = Instant::now();
    let mut report = Report::default();
    let shape = options.shape;
    let now = options.now;

    let mut batch = Batch::new();
    for d in 0..shape.departments {
        let dept = Department {
            id: population::department_id(d),
            name: population::department_name(d),
        };
        store::directory::insert_department(db, &dept, now).await?;
        report.rows += 1;
        batch.account(
            &staff_account(
                &population::reviewer_id(d),
                &population::reviewer_login(d),
                &format!("审核员{:02}", d + 1),
                vec![format!(
                    "{}{}",
                    tongyi_shared::roles::DEPARTMENT_REVIEWER_PREFIX,
                    dept.id
                )],
                options,
            ),
            &SealedContact::default(),
            now,
        );
    }
    batch.account(
        &staff_account(
            population::PLATFORM_ADMIN_ID,
            population::PLATFORM_ADMIN_LOGIN,
            "平台管理员",
            vec![tongyi_shared::roles::PLATFORM_ADMIN.to_owned()],
            options,
        ),
        &SealedContact::default(),
        now,
    );
    report.rows += write(db, &mut batch).await? as u64;

    let mut k = 0;
    while k < shape.units {
        let end = (k + options.batch).min(shape.units);
        for k in k..end {
            add_unit(&mut batch, pii, &shape, &shape.unit(k), options);
        }
        report.rows += write(db, &mut batch).await? as u64;
        report.units = end;
        report.elapsed = started.elapsed();
        progress(&report);
        k = end;
    }

    let mut i = 0;
    while i < shape.persons {
        let end = (i + options.batch).min(shape.persons);
        for i in i..end {
            add_person(&mut batch, pii, i, &shape.person(i), options);
        }
        report.rows += write(db, &mut batch).await? as u64;
        report.persons = end;
        report.elapsed = started.elapsed();
        progress(&report);
        i = end;
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

async fn write(db: &Db, batch: &mut Batch) -> Result<usize, StoreError> {
    let mut tx = db.pool.begin().await?;
    let n = batch.write(&mut tx).await?;
    tx.commit().await?;
    Ok(n)
}

fn staff_account(
    id: &str,
    login: &str,
    name: &str,
    roles: Vec<String>,
    options: &Options,
) -> NewAccount {
    NewAccount {
        id: id.to_owned(),
        login_name: login.to_owned(),
        password_hash: options.password_hash.clone(),
        account_type: AccountType::NaturalPerson,
        display_name: name.to_owned(),
        realname_status: RealnameStatus::Verified,
        org_id: None,
        org_role: None,
        grants: Vec::new(),
        roles,
        login_name_chosen: true,
    }
}

fn org_person((name, id_number, mobile): &(String, String, String)) -> OrgPerson {
    OrgPerson {
        name: name.clone(),
        id_type: IdDocumentType::ResidentIdCard.code().into(),
        id_number: id_number.clone(),
        id_valid_from: Some("2016-05-01".into()),
        id_valid_to: Some("2036-05-01".into()),
        mobile: mobile.clone(),
    }
}

fn add_unit(batch: &mut Batch, pii: &PiiVault, shape: &Shape, u: &Unit, options: &Options) {
    let now = options.now;
    let department_id = u.department.map(population::department_id);
    let submitted_at = u.submitted_ago.map(|ago| now - ago);
    batch.unit(
        pii,
        &NewOrg {
            id: u.id.clone(),
            name: u.name.clone(),
            uscc: Some(u.uscc.clone()),
            status: UnitStatus::parse(u.status).unwrap_or(UnitStatus::Registered),
        },
        "enterprise",
        "domestic",
        &UnitReviewState {
            department_id: department_id.clone(),
            submitted_at,
        },
        &org_person(&u.legal_rep),
        &org_person(&u.agent),
        now,
    );
    let mut contact = pii.seal_contact(Some(&u.agent.2), None);
    contact.mobile_verified = true;
    batch.account(
        &NewAccount {
            id: u.account_id.clone(),
            login_name: u.login_name.clone(),
            password_hash: options.password_hash.clone(),
            account_type: AccountType::LegalEntity,
            display_name: u.name.clone(),
            realname_status: if u.status == "registered" {
                RealnameStatus::Unverified
            } else {
                RealnameStatus::Verified
            },
            org_id: Some(u.id.clone()),
            org_role: Some(OrgRole::Admin),
            grants: u.subsystems.clone(),
            roles: vec!["unit_admin".into()],
            login_name_chosen: true,
        },
        &contact,
        now,
    );
    // The history: each step a day after the one before, the last at the submission time.
    let history = shape.review_history(u);
    let last = submitted_at.unwrap_or(now);
    let reviewer = u
        .department
        .map(population::reviewer_id)
        .unwrap_or_default();
    for (step, (action, from, to)) in history.iter().enumerate() {
        let at = last - (history.len() - 1 - step) as i64 * 86_400;
        let by_unit = *action == "submit";
        let entry = ReviewEntry {
            id: 0,
            org_id: u.id.clone(),
            actor_account_id: if by_unit {
                u.account_id.clone()
            } else {
                reviewer.clone()
            },
            action: (*action).to_owned(),
            from_status: (*from).to_owned(),
            to_status: (*to).to_owned(),
            department_id: department_id.clone(),
            reason: (*action == "return").then(|| "营业执照照片不清晰，请重新上传".to_owned()),
            at,
        };
        batch.review(&entry);
        if !by_unit {
            let detail =
                serde_json::json!({"org_id": u.id, "action": action, "from": from, "to": to})
                    .to_string();
            batch.audit(&NewAuditRow {
                at,
                event: AuditEvent::UnitReviewed.as_str(),
                actor_account_id: Some(&reviewer),
                subject_account_id: None,
                client_id: None,
                client_ip: Some("10.0.0.8"),
                detail: &detail,
            });
        }
    }
    if u.has_legacy_record {
        let legacy_id = format!("U{}", u.id);
        let digest = crate::crypto::sha256_hex(legacy_id.as_bytes());
        batch.legacy_record(
            &NewRecord {
                id: &format!("scale-lu-{}", u.id),
                source: LEGACY_SOURCE,
                kind: "unit",
                legacy_id: &legacy_id,
                user_type: None,
                old_login_name: Some(&u.login_name),
                display_name: &u.name,
                uscc: Some(&u.uscc),
                id_type: None,
                id_number_sealed: None,
                id_number_key: None,
                mobile_sealed: None,
                mobile_key: None,
                subsystems: &u.subsystems,
                outcome: "kept_login",
                account_id: Some(&u.account_id),
                linked_via: Some("import"),
                login_name: Some(&u.login_name),
                row_digest: &digest,
            },
            now,
        );
    }
}

fn add_person(batch: &mut Batch, pii: &PiiVault, i: u64, p: &Person, options: &Options) {
    let now = options.now;
    let mut contact = pii.seal_contact(Some(&p.mobile), p.email.as_deref());
    contact.mobile_verified = true;
    let (org_id, org_role) = match p.membership {
        Some((k, role)) => (Some(population::unit_id(k)), OrgRole::parse(role)),
        None => (None, None),
    };
    batch.account(
        &NewAccount {
            id: p.id.clone(),
            login_name: p.login_name.clone(),
            password_hash: options.password_hash.clone(),
            account_type: AccountType::NaturalPerson,
            display_name: p.display_name.clone(),
            realname_status: p.realname_status,
            org_id,
            org_role,
            grants: p.grants.clone(),
            roles: Vec::new(),
            login_name_chosen: true,
        },
        &contact,
        now,
    );
    batch.identity(
        pii,
        &p.id,
        &PersonIdentity {
            real_name: p.display_name.clone(),
            identity_region: "mainland".into(),
            id_type: IdDocumentType::ResidentIdCard.code().into(),
            id_number: p.id_number.clone(),
            id_valid_from: Some("2015-03-01".into()),
            id_valid_to: Some("2035-03-01".into()),
            id_country: None,
            gender: Some(p.gender.to_owned()),
            ethnicity: Some(p.ethnicity.to_owned()),
        },
        now,
    );
    batch.audit(&NewAuditRow {
        at: now - p.last_login_ago,
        event: AuditEvent::LoginSucceeded.as_str(),
        actor_account_id: None,
        subject_account_id: Some(&p.id),
        client_id: None,
        client_ip: Some("10.0.0.9"),
        detail: r#"{"method":"password"}"#,
    });
    if p.has_legacy_record {
        // One record the person's account kept (found by the lookup through its mobile), and
        // one of an old account nobody has bound yet.
        let kept_id = format!("P{i}");
        let kept_digest = crate::crypto::sha256_hex(kept_id.as_bytes());
        let subsystems = p.grants.clone();
        batch.legacy_record(
            &NewRecord {
                id: &format!("scale-lp-{i}"),
                source: LEGACY_SOURCE,
                kind: "person",
                legacy_id: &kept_id,
                user_type: Some("declarant"),
                old_login_name: Some(&p.login_name),
                display_name: &p.display_name,
                uscc: None,
                id_type: Some(IdDocumentType::ResidentIdCard.code()),
                id_number_sealed: Some(pii.seal(PiiField::IdNumber, &p.id_number)),
                id_number_key: Some(pii.lookup_key(PiiField::IdNumber, &p.id_number)),
                mobile_sealed: Some(pii.seal(PiiField::Mobile, &p.mobile)),
                mobile_key: Some(pii.lookup_key(PiiField::Mobile, &p.mobile)),
                subsystems: &subsystems,
                outcome: "kept_login",
                account_id: Some(&p.id),
                linked_via: Some("import"),
                login_name: Some(&p.login_name),
                row_digest: &kept_digest,
            },
            now,
        );
        let orphan_id = format!("Q{i}");
        let orphan_digest = crate::crypto::sha256_hex(orphan_id.as_bytes());
        let orphan_mobile = population::mobile(options.shape.seed, 80_000_000 + i);
        let orphan_doc = population::id_number(options.shape.seed, 80_000_000 + i);
        batch.legacy_record(
            &NewRecord {
                id: &format!("scale-lq-{i}"),
                source: LEGACY_SOURCE,
                kind: "person",
                legacy_id: &orphan_id,
                user_type: Some("expert"),
                old_login_name: Some(&format!("old{i}")),
                display_name: &p.display_name,
                uscc: None,
                id_type: Some(IdDocumentType::ResidentIdCard.code()),
                id_number_sealed: Some(pii.seal(PiiField::IdNumber, &orphan_doc)),
                id_number_key: Some(pii.lookup_key(PiiField::IdNumber, &orphan_doc)),
                mobile_sealed: Some(pii.seal(PiiField::Mobile, &orphan_mobile)),
                mobile_key: Some(pii.lookup_key(PiiField::Mobile, &orphan_mobile)),
                subsystems: &[],
                outcome: "record_only",
                account_id: None,
                linked_via: None,
                login_name: None,
                row_digest: &orphan_digest,
            },
            now,
        );
    }
}
