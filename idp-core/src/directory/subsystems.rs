//! Subsystems: the launcher's list (registered subsystem clients, their
//! `initiate_login_uri`, whether the caller holds the grant) and the subsystems enabled for a
//! unit. What is enabled for a unit is what its own admin account(s) hold as grants — the
//! legal entity itself uses them (SPEC §2) — and bounds what its members can be granted.

use std::collections::BTreeSet;

use tongyi_shared::org::{OrgRole, UnitStatus};

use super::{membership, Actor, DirResult, DirectoryError};
use crate::{
    audit::{self, AuditEntry, AuditEvent},
    services::Services,
    store::{self, directory::UnitRecord},
};

/// One subsystem on the launcher.
pub struct LauncherEntry {
    pub code: String,
    pub name: String,
    pub initiate_login_uri: Option<String>,
    pub granted: bool,
    /// How to get it, when not granted.
    pub how_to_get: Option<&'static str>,
}

/// One subsystem and whether it is enabled for a unit.
pub struct UnitSubsystem {
    pub code: String,
    pub name: String,
    pub enabled: bool,
}

/// The enabled subsystem clients, one per code (the first by client id), as (code, name,
/// initiate_login_uri).
async fn registered(state: &Services) -> DirResult<Vec<(String, String, Option<String>)>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for c in store::clients::list(&state.db).await? {
        let Some(code) = c.subsystem_code.clone().filter(|_| c.enabled) else {
            continue;
        };
        if seen.insert(code.clone()) {
            out.push((code, c.name.clone(), c.initiate_login_uri.clone()));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The launcher for the caller: every registered subsystem, and whether new tokens of the
/// caller carry its grant (the same rule as the claims: none through a unit that is not
/// active, none while the membership is pending).
pub async fn launcher(state: &Services, actor: &Actor) -> DirResult<Vec<LauncherEntry>> {
    let (grants, _) = store::accounts::grants_and_roles(&state.db, &actor.account.id).await?;
    let org = actor.account.org.as_ref();
    let effective =
        org.is_none_or(|o| o.status == UnitStatus::Active && o.role != OrgRole::Pending);
    let enabled_for_unit = match org {
        Some(o) => store::directory::unit_subsystems(&state.db, &o.id).await?,
        None => Vec::new(),
    };
    Ok(registered(state)
        .await?
        .into_iter()
        .map(|(code, name, initiate_login_uri)| {
            let granted = effective && grants.contains(&code);
            let how_to_get = (!granted).then(|| match org {
                None => "先选择所属单位，由单位管理员授权",
                Some(o) if o.status != UnitStatus::Active && o.role == OrgRole::Admin => {
                    "完成单位信息补全并通过主管部门审核"
                }
                Some(o) if o.status != UnitStatus::Active => "所属单位尚未生效，请联系所属单位",
                Some(o) if o.role == OrgRole::Pending => "等待所属单位管理员审核并授权",
                Some(o) if o.role == OrgRole::Admin || !enabled_for_unit.contains(&code) => {
                    "本单位未开通该子系统，请联系平台管理员"
                }
                Some(_) => "请联系所属单位管理员授权",
            });
            LauncherEntry {
                code,
                name,
                initiate_login_uri,
                granted,
                how_to_get,
            }
        })
        .collect())
}

/// The subsystems of unit `unit` and which are enabled.
pub async fn of_unit(
    state: &Services,
    actor: &Actor,
    unit: &UnitRecord,
) -> DirResult<Vec<UnitSubsystem>> {
    if !super::attachments::may_read(actor, unit) {
        return Err(DirectoryError::Forbidden(
            "only the unit's admin, its department's reviewers and platform admins may see it"
                .into(),
        ));
    }
    let enabled = store::directory::unit_subsystems(&state.db, &unit.id).await?;
    Ok(registered(state)
        .await?
        .into_iter()
        .map(|(code, name, _)| UnitSubsystem {
            enabled: enabled.contains(&code),
            code,
            name,
        })
        .collect())
}

/// A platform admin sets the subsystems enabled for a unit; members lose the others, with
/// their sessions there.
pub async fn set_for_unit(
    state: &Services,
    actor: &Actor,
    org_id: &str,
    codes: &[String],
) -> DirResult<Vec<String>> {
    actor.require_platform_admin()?;
    super::review::unit(state, org_id).await?;
    let wanted: BTreeSet<String> = codes.iter().map(|c| c.trim().to_owned()).collect();
    let known: BTreeSet<String> = store::directory::subsystem_codes(&state.db)
        .await?
        .into_iter()
        .collect();
    if let Some(unknown) = wanted.difference(&known).next() {
        return Err(DirectoryError::Invalid(format!(
            "{unknown:?} is not the code of a registered subsystem"
        )));
    }
    let codes: Vec<String> = wanted.into_iter().collect();
    apply(state, org_id, &codes).await?;
    let entry = AuditEntry::new(AuditEvent::DirectoryChanged)
        .actor(&actor.account.id)
        .detail("change", "unit_subsystems")
        .detail("org_id", org_id)
        .detail("subsystems", codes.clone());
    audit::record(state, entry).await;
    Ok(codes)
}

async fn apply(state: &Services, org_id: &str, codes: &[String]) -> DirResult<()> {
    let now = state.clock.now();
    let lost = store::directory::set_unit_subsystems(&state.db, org_id, codes, now).await?;
    for (account_id, gone) in lost {
        membership::end_subsystem_sessions(state, &account_id, &gone).await?;
    }
    Ok(())
}

/// Enables every registered subsystem for the unit (its first approval).
pub async fn enable_all(state: &Services, org_id: &str) -> DirResult<()> {
    let codes = store::directory::subsystem_codes(&state.db).await?;
    apply(state, org_id, &codes).await
}

/// Ends the sessions of every account of the unit at every subsystem (the unit stopped being
/// active; its grants stay stored but new tokens carry none).
pub async fn end_unit_sessions(state: &Services, org_id: &str) -> DirResult<()> {
    let codes = store::directory::subsystem_codes(&state.db).await?;
    for account_id in store::directory::unit_account_ids(&state.db, org_id).await? {
        membership::end_subsystem_sessions(state, &account_id, &codes).await?;
    }
    Ok(())
}
