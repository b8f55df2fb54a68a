//! History linking (seeds 000 / 002): a person or unit who registers anew with the same
//! document type and number, or the same USCC, as a legacy record without an account is
//! linked to that record. Subsystems read the links through `GET /api/me/legacy-records`
//! (docs/integration.md).

use crate::{
    audit::{self, AuditEntry, AuditEvent},
    pii::PiiField,
    services::Services,
    store,
};

/// What a registration identifies its owner by.
pub enum RegisteredBy<'a> {
    Document {
        id_type: &'a str,
        id_number: &'a str,
    },
    Uscc(&'a str),
}

/// Links the legacy records of a new registration. Runs after the registration committed; a
/// failure is logged and leaves the registration as it is (the records stay unlinked).
pub async fn link_registration(state: &Services, account_id: &str, by: RegisteredBy<'_>) {
    let key;
    let (document, uscc) = match by {
        RegisteredBy::Document { id_type, id_number } => {
            key = state.pii.lookup_key(PiiField::IdNumber, id_number);
            (Some((id_type, key.as_str())), None)
        }
        RegisteredBy::Uscc(uscc) => (None, Some(uscc)),
    };
    match store::legacy::link_registration(&state.db, account_id, document, uscc, state.clock.now())
        .await
    {
        Ok(0) => {}
        Ok(n) => {
            let entry = AuditEntry::new(AuditEvent::LegacyHistoryLinked)
                .by_subject(account_id)
                .detail("records", n);
            audit::record(state, entry).await;
        }
        Err(e) => tracing::warn!(error = %e, "legacy history not linked"),
    }
}
