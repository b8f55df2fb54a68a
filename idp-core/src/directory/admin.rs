//! The platform admin's directory operations: departments (create, rename, delete when
//! unused), their reviewers (role `department_reviewer:{id}`), and subsystem clients (the same
//! operations as `idp client`, through [`crate::oidc::registration`]).

use super::{
    fields_ok, required_text, Actor, DirResult, DirectoryError, FieldErrors, REVIEWER_PREFIX,
};
use crate::{
    audit::{self, AuditEntry, AuditEvent},
    oidc::{
        client::Client,
        registration::{self, MetadataChange, Registered, RegistrationError},
    },
    seed::SeedClient,
    services::Services,
    store::{self, accounts::Account, directory::Department},
};

/// A department with how many units chose it and how many reviewers it has.
pub struct DepartmentUse {
    pub department: Department,
    pub units: i64,
    pub reviewers: i64,
}

async fn changed(state: &Services, actor: &Actor, change: &'static str, id: &str) {
    let entry = AuditEntry::new(AuditEvent::DirectoryChanged)
        .actor(&actor.account.id)
        .detail("change", change)
        .detail("id", id);
    audit::record(state, entry).await;
}

pub async fn departments(state: &Services, actor: &Actor) -> DirResult<Vec<DepartmentUse>> {
    actor.require_platform_admin()?;
    Ok(store::directory::department_use(&state.db)
        .await?
        .into_iter()
        .map(|(department, units, reviewers)| DepartmentUse {
            department,
            units,
            reviewers,
        })
        .collect())
}

fn check_name(e: &mut FieldErrors, name: &str) -> String {
    required_text(e, "name", name, 100, "部门名称")
}

pub async fn create_department(
    state: &Services,
    actor: &Actor,
    id: &str,
    name: &str,
) -> DirResult<Department> {
    actor.require_platform_admin()?;
    let mut e = FieldErrors::new();
    let id = id.trim();
    let id_ok = (1..=40).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !id_ok {
        e.insert(
            "id".into(),
            "编号为 1 到 40 位小写字母、数字、- 或 _".into(),
        );
    }
    let name = check_name(&mut e, name);
    fields_ok(e)?;
    let d = Department {
        id: id.to_owned(),
        name,
    };
    if !store::directory::create_department(&state.db, &d, state.clock.now()).await? {
        return Err(DirectoryError::Conflict(format!("department {id} exists")));
    }
    changed(state, actor, "department_created", id).await;
    Ok(d)
}

pub async fn rename_department(
    state: &Services,
    actor: &Actor,
    id: &str,
    name: &str,
) -> DirResult<Department> {
    actor.require_platform_admin()?;
    let mut e = FieldErrors::new();
    let name = check_name(&mut e, name);
    fields_ok(e)?;
    if !store::directory::rename_department(&state.db, id, &name).await? {
        return Err(DirectoryError::NotFound("no such department".into()));
    }
    changed(state, actor, "department_renamed", id).await;
    Ok(Department {
        id: id.to_owned(),
        name,
    })
}

pub async fn delete_department(state: &Services, actor: &Actor, id: &str) -> DirResult<()> {
    actor.require_platform_admin()?;
    match store::directory::delete_unused_department(&state.db, id).await? {
        None => Err(DirectoryError::NotFound("no such department".into())),
        Some(false) => Err(DirectoryError::InUse(
            "units, reviewers or review records use this department".into(),
        )),
        Some(true) => {
            changed(state, actor, "department_deleted", id).await;
            Ok(())
        }
    }
}

async fn department(state: &Services, id: &str) -> DirResult<Department> {
    store::directory::find_department(&state.db, id)
        .await?
        .ok_or_else(|| DirectoryError::NotFound("no such department".into()))
}

pub async fn reviewers(
    state: &Services,
    actor: &Actor,
    department_id: &str,
) -> DirResult<Vec<Account>> {
    actor.require_platform_admin()?;
    department(state, department_id).await?;
    let role = format!("{REVIEWER_PREFIX}{department_id}");
    Ok(store::directory::accounts_with_role(&state.db, &role).await?)
}

pub async fn add_reviewer(
    state: &Services,
    actor: &Actor,
    department_id: &str,
    login_name: &str,
) -> DirResult<Account> {
    actor.require_platform_admin()?;
    department(state, department_id).await?;
    let account = store::accounts::find_by_login(&state.db, login_name.trim())
        .await?
        .ok_or_else(|| DirectoryError::NotFound("no account with this login name".into()))?;
    let role = format!("{REVIEWER_PREFIX}{department_id}");
    store::directory::add_role(&state.db, &account.id, &role).await?;
    changed(state, actor, "reviewer_added", department_id).await;
    Ok(account)
}

pub async fn remove_reviewer(
    state: &Services,
    actor: &Actor,
    department_id: &str,
    account_id: &str,
) -> DirResult<()> {
    actor.require_platform_admin()?;
    department(state, department_id).await?;
    let role = format!("{REVIEWER_PREFIX}{department_id}");
    if !store::directory::remove_role(&state.db, account_id, &role).await? {
        return Err(DirectoryError::NotFound(
            "not a reviewer of this department".into(),
        ));
    }
    changed(state, actor, "reviewer_removed", department_id).await;
    Ok(())
}

fn registration_error(e: RegistrationError) -> DirectoryError {
    match e {
        RegistrationError::Invalid(m) => {
            let mut f = FieldErrors::new();
            f.insert("client".into(), m);
            DirectoryError::Fields(f)
        }
        RegistrationError::Exists(_)
        | RegistrationError::NoSecret(..)
        | RegistrationError::ResourceTaken(_) => DirectoryError::Conflict(e.to_string()),
        RegistrationError::NotFound(_) => DirectoryError::NotFound(e.to_string()),
        RegistrationError::Db(e) => e.into(),
    }
}

pub async fn clients(state: &Services, actor: &Actor) -> DirResult<Vec<Client>> {
    actor.require_platform_admin()?;
    Ok(store::clients::list(&state.db).await?)
}

pub async fn client(state: &Services, actor: &Actor, client_id: &str) -> DirResult<Client> {
    actor.require_platform_admin()?;
    store::clients::find(&state.db, client_id)
        .await?
        .ok_or_else(|| DirectoryError::NotFound("no such client".into()))
}

pub async fn register_client(
    state: &Services,
    actor: &Actor,
    def: SeedClient,
) -> DirResult<Registered> {
    actor.require_platform_admin()?;
    let r = registration::register(&state.db, def, state.clock.now())
        .await
        .map_err(registration_error)?;
    state.clients.forget(&r.client.client_id);
    let entry = AuditEntry::new(AuditEvent::ClientRegistered)
        .actor(&actor.account.id)
        .client(&r.client.client_id)
        .detail("via", "api")
        .detail("auth_method", r.client.auth_method.as_str());
    audit::record(state, entry).await;
    Ok(r)
}

pub async fn update_client(
    state: &Services,
    actor: &Actor,
    client_id: &str,
    change: MetadataChange,
) -> DirResult<Client> {
    actor.require_platform_admin()?;
    let c = registration::update(&state.db, client_id, change, state.clock.now())
        .await
        .map_err(registration_error)?;
    state.clients.forget(client_id);
    let entry = AuditEntry::new(AuditEvent::ClientUpdated)
        .actor(&actor.account.id)
        .client(client_id)
        .detail("change", "metadata");
    audit::record(state, entry).await;
    Ok(c)
}

pub async fn rotate_secret(state: &Services, actor: &Actor, client_id: &str) -> DirResult<String> {
    actor.require_platform_admin()?;
    let secret = registration::rotate_secret(&state.db, client_id, state.clock.now())
        .await
        .map_err(registration_error)?;
    state.clients.forget(client_id);
    let entry = AuditEntry::new(AuditEvent::ClientSecretRotated)
        .actor(&actor.account.id)
        .client(client_id)
        .detail("via", "api");
    audit::record(state, entry).await;
    Ok(secret)
}

pub async fn set_client_enabled(
    state: &Services,
    actor: &Actor,
    client_id: &str,
    enabled: bool,
) -> DirResult<Client> {
    actor.require_platform_admin()?;
    if !store::clients::set_enabled(&state.db, client_id, enabled, state.clock.now()).await? {
        return Err(DirectoryError::NotFound("no such client".into()));
    }
    state.clients.forget(client_id);
    let entry = AuditEntry::new(AuditEvent::ClientUpdated)
        .actor(&actor.account.id)
        .client(client_id)
        .detail("change", if enabled { "enabled" } else { "disabled" });
    audit::record(state, entry).await;
    client(state, actor, client_id).await
}
