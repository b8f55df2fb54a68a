//! The audit log: who did what to which account, from where. Logins, failures, lockouts,
//! logouts, password changes, verifications, appeals and admin actions each leave one entry.
//!
//! Recording never fails the caller's request: an entry that cannot be written is reported
//! as a warning in the log, and the request goes on. Entries name accounts and clients by id
//! only; their `detail` must never carry personal data (names, mobiles, ID numbers, login
//! names typed by someone) or secrets — use a [`PiiVault::lookup_key`](crate::pii::PiiVault)
//! when a value must be recognisable later.

use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::{
    services::Services,
    store::{self, audit::NewAuditRow, Db},
};

/// What happened. The names ([`AuditEvent::as_str`]) are stored and must stay as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditEvent {
    LoginSucceeded,
    /// A password login refused: wrong password, unknown or disabled account, or a lockout in
    /// force (`detail.reason`).
    LoginFailed,
    /// Repeated failures locked an account. No longer written (failures now lead to captchas
    /// and delays, [`AuditEvent::LoginThrottled`]); kept for the rows of earlier versions.
    AccountLocked,
    /// Repeated failures locked a client address. No longer written, like `AccountLocked`.
    AddressLocked,
    /// Repeated failures reached an escalation step (`detail.scope`: account | address |
    /// account_at_address; `detail.step`: captcha | delay | slowdown).
    LoginThrottled,
    /// The user logged out (RP-initiated logout).
    LoggedOut,
    /// A session ended for another reason, e.g. another account logged in in that browser.
    SessionEnded,
    PasswordChanged,
    RealnameVerified,
    RealnameReviewDecided,
    AppealFiled,
    AppealDecided,
    AccountDisabled,
    AccountEnabled,
    ClientRegistered,
    ClientSecretRotated,
    ClientRemoved,
    KeysRotated,
    /// The account's own reserved mobile or email changed (`detail.field`).
    ContactChanged,
    /// A generated login name was replaced by a chosen one.
    LoginNameChosen,
    /// A new account from a registration form (`detail.kind`: legal_entity | natural_person |
    /// quick).
    AccountRegistered,
    /// A unit's status changed in its review (`detail.action`: submit | approve | return).
    UnitReviewed,
    /// A natural person asked to join a unit (`detail.org_id`).
    MembershipRequested,
    /// A unit admin accepted a pending member.
    MembershipApproved,
    /// A member's subsystem grants changed (`detail.added`, `detail.removed`).
    GrantsChanged,
    /// A client's metadata changed, or it was disabled or enabled (`detail.change`).
    ClientUpdated,
    /// A platform admin changed the directory (`detail.change`: department_created,
    /// department_renamed, department_deleted, reviewer_added, reviewer_removed,
    /// unit_subsystems), or a person registered a unit (unit_registered).
    DirectoryChanged,
    /// A platform admin decided an expert application (`detail.decision`).
    ExpertReviewed,
    /// A legacy record was imported (`detail.outcome`, `detail.kind`, `detail.source`,
    /// `detail.record`: the legacy record's platform id); subject: the account it ended in.
    LegacyImported,
    /// An imported password hash was replaced by argon2id at the first login
    /// (`detail.scheme`).
    LegacyPasswordUpgraded,
    /// 老用户绑定: a signed-in account bound a legacy record (`detail.record`,
    /// `detail.user_type`), or a binding was refused (`detail.reason`).
    LegacyBound,
    /// A registration was linked to legacy records with the same document or USCC
    /// (`detail.records`: how many).
    LegacyHistoryLinked,
}

impl AuditEvent {
    pub const ALL: [AuditEvent; 32] = [
        AuditEvent::LoginSucceeded,
        AuditEvent::LoginFailed,
        AuditEvent::AccountLocked,
        AuditEvent::AddressLocked,
        AuditEvent::LoginThrottled,
        AuditEvent::LoggedOut,
        AuditEvent::SessionEnded,
        AuditEvent::PasswordChanged,
        AuditEvent::RealnameVerified,
        AuditEvent::RealnameReviewDecided,
        AuditEvent::AppealFiled,
        AuditEvent::AppealDecided,
        AuditEvent::AccountDisabled,
        AuditEvent::AccountEnabled,
        AuditEvent::ClientRegistered,
        AuditEvent::ClientSecretRotated,
        AuditEvent::ClientRemoved,
        AuditEvent::KeysRotated,
        AuditEvent::ContactChanged,
        AuditEvent::LoginNameChosen,
        AuditEvent::AccountRegistered,
        AuditEvent::UnitReviewed,
        AuditEvent::MembershipRequested,
        AuditEvent::MembershipApproved,
        AuditEvent::GrantsChanged,
        AuditEvent::ClientUpdated,
        AuditEvent::DirectoryChanged,
        AuditEvent::ExpertReviewed,
        AuditEvent::LegacyImported,
        AuditEvent::LegacyPasswordUpgraded,
        AuditEvent::LegacyBound,
        AuditEvent::LegacyHistoryLinked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditEvent::LoginSucceeded => "login_succeeded",
            AuditEvent::LoginFailed => "login_failed",
            AuditEvent::AccountLocked => "account_locked",
            AuditEvent::AddressLocked => "address_locked",
            AuditEvent::LoginThrottled => "login_throttled",
            AuditEvent::LoggedOut => "logged_out",
            AuditEvent::SessionEnded => "session_ended",
            AuditEvent::PasswordChanged => "password_changed",
            AuditEvent::RealnameVerified => "realname_verified",
            AuditEvent::RealnameReviewDecided => "realname_review_decided",
            AuditEvent::AppealFiled => "appeal_filed",
            AuditEvent::AppealDecided => "appeal_decided",
            AuditEvent::AccountDisabled => "account_disabled",
            AuditEvent::AccountEnabled => "account_enabled",
            AuditEvent::ClientRegistered => "client_registered",
            AuditEvent::ClientSecretRotated => "client_secret_rotated",
            AuditEvent::ClientRemoved => "client_removed",
            AuditEvent::KeysRotated => "keys_rotated",
            AuditEvent::ContactChanged => "contact_changed",
            AuditEvent::LoginNameChosen => "login_name_chosen",
            AuditEvent::AccountRegistered => "account_registered",
            AuditEvent::UnitReviewed => "unit_reviewed",
            AuditEvent::MembershipRequested => "membership_requested",
            AuditEvent::MembershipApproved => "membership_approved",
            AuditEvent::GrantsChanged => "grants_changed",
            AuditEvent::ClientUpdated => "client_updated",
            AuditEvent::DirectoryChanged => "directory_changed",
            AuditEvent::ExpertReviewed => "expert_reviewed",
            AuditEvent::LegacyImported => "legacy_imported",
            AuditEvent::LegacyPasswordUpgraded => "legacy_password_upgraded",
            AuditEvent::LegacyBound => "legacy_bound",
            AuditEvent::LegacyHistoryLinked => "legacy_history_linked",
        }
    }

    /// The event a stored name stands for; `None` for a name this version does not know.
    pub fn parse(name: &str) -> Option<AuditEvent> {
        AuditEvent::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

/// One entry to record, built from its event:
/// `AuditEntry::new(AuditEvent::LoginFailed).subject(id).ip(ip).detail("reason", "invalid")`.
#[derive(Clone, Debug)]
pub struct AuditEntry {
    event: AuditEvent,
    actor: Option<String>,
    subject: Option<String>,
    client_id: Option<String>,
    client_ip: Option<IpAddr>,
    detail: Map<String, Value>,
}

impl AuditEntry {
    pub fn new(event: AuditEvent) -> AuditEntry {
        AuditEntry {
            event,
            actor: None,
            subject: None,
            client_id: None,
            client_ip: None,
            detail: Map::new(),
        }
    }

    /// The account that acted (an administrator, or the user on their own account).
    pub fn actor(mut self, account_id: &str) -> Self {
        self.actor = Some(account_id.to_owned());
        self
    }

    /// The account acted upon.
    pub fn subject(mut self, account_id: &str) -> Self {
        self.subject = Some(account_id.to_owned());
        self
    }

    /// The user acting on their own account: actor and subject both.
    pub fn by_subject(self, account_id: &str) -> Self {
        self.actor(account_id).subject(account_id)
    }

    /// The relying party involved, or the client an admin command changed.
    pub fn client(mut self, client_id: &str) -> Self {
        self.client_id = Some(client_id.to_owned());
        self
    }

    pub fn client_opt(mut self, client_id: Option<&str>) -> Self {
        self.client_id = client_id.map(str::to_owned);
        self
    }

    /// The address the request came from.
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.client_ip = Some(ip);
        self
    }

    /// One fact about the event. Never personal data or a secret (see the module docs).
    pub fn detail(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.detail.insert(key.to_owned(), value.into());
        self
    }

    pub fn event(&self) -> AuditEvent {
        self.event
    }
}

/// Records `entry` at the state's clock time. Never fails: see the module docs.
pub async fn record(state: &Services, entry: AuditEntry) {
    record_at(&state.db, state.clock.now(), entry).await
}

/// Records `entry` at `at` (Unix seconds), for callers without the `Services` (the CLI).
pub async fn record_at(db: &Db, at: i64, entry: AuditEntry) {
    let detail = Value::Object(entry.detail).to_string();
    // An IPv4 client seen through an IPv6 socket is stored as the IPv4 address it is.
    let ip = entry.client_ip.map(|ip| ip.to_canonical().to_string());
    let row = NewAuditRow {
        at,
        event: entry.event.as_str(),
        actor_account_id: entry.actor.as_deref(),
        subject_account_id: entry.subject.as_deref(),
        client_id: entry.client_id.as_deref(),
        client_ip: ip.as_deref(),
        detail: &detail,
    };
    if let Err(e) = store::audit::record(db, row).await {
        tracing::warn!(
            event = entry.event.as_str(),
            subject = entry.subject.as_deref().unwrap_or("-"),
            error = %e,
            "audit entry not recorded"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for e in AuditEvent::ALL {
            let name = e.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
            assert_eq!(AuditEvent::parse(name), Some(e));
        }
        assert_eq!(AuditEvent::parse("LoginSucceeded"), None);
        // Stored names: a rename here would orphan the entries already written.
        assert_eq!(AuditEvent::LoginFailed.as_str(), "login_failed");
        assert_eq!(AuditEvent::KeysRotated.as_str(), "keys_rotated");
    }

    #[test]
    fn entries_build_up() {
        let ip: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        let e = AuditEntry::new(AuditEvent::LoggedOut)
            .by_subject("acct-1")
            .client("rp")
            .ip(ip)
            .detail("sid", "s-1");
        assert_eq!(e.event(), AuditEvent::LoggedOut);
        assert_eq!(e.actor.as_deref(), Some("acct-1"));
        assert_eq!(e.subject.as_deref(), Some("acct-1"));
        assert_eq!(e.client_id.as_deref(), Some("rp"));
        assert_eq!(
            e.client_ip.map(|i| i.to_canonical().to_string()).as_deref(),
            Some("192.0.2.7")
        );
        assert_eq!(Value::Object(e.detail).to_string(), r#"{"sid":"s-1"}"#);
    }
}
