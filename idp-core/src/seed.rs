//! Demo data for the embedded platform: units, accounts and clients from a TOML file
//! (`config/demo.toml`), created when missing and never overwritten.

use std::path::Path;

use serde::Deserialize;
use tongyi_shared::{
    claims::{AccountType, RealnameStatus},
    org::{OrgRole, UnitStatus},
};

use crate::{
    accounts::password,
    config::Config,
    crypto,
    oidc::{
        client::{AuthMethod, Client, ClientRules, GrantType},
        keys::SigningAlg,
    },
    store::{
        self,
        accounts::{NewAccount, NewOrg},
        Db,
    },
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    /// Supervising departments (局级主管部门) that units choose for their review.
    #[serde(default)]
    pub department: Vec<SeedDepartment>,
    #[serde(default)]
    pub org: Vec<SeedOrg>,
    #[serde(default)]
    pub account: Vec<SeedAccount>,
    #[serde(default)]
    pub client: Vec<SeedClient>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedDepartment {
    pub id: String,
    pub name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedOrg {
    pub id: String,
    pub name: String,
    pub uscc: Option<String>,
    pub status: UnitStatus,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedAccount {
    pub id: String,
    pub login_name: String,
    pub password: String,
    pub display_name: String,
    pub account_type: String,
    pub realname_status: String,
    pub org: Option<String>,
    pub org_role: Option<OrgRole>,
    #[serde(default)]
    pub grants: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// A reserved mobile (for SMS login and recovery), sealed when stored.
    #[serde(default)]
    pub mobile: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// A client definition, as in the seed file and the `client add` command.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedClient {
    pub client_id: String,
    pub name: String,
    /// A fixed demo secret; production clients get generated secrets from the CLI.
    pub secret: Option<String>,
    pub auth_method: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    #[serde(default = "default_alg")]
    pub signing_alg: String,
    pub subsystem_code: Option<String>,
    #[serde(default)]
    pub first_party: bool,
    pub jwks: Option<String>,
    /// Where the portal's launcher sends a user to start a login at this client.
    #[serde(default)]
    pub initiate_login_uri: Option<String>,
    /// The audience identifier when the client is a resource server (RFC 8707).
    #[serde(default)]
    pub resource_uri: Option<String>,
    /// RFC 9126 §6: only pushed authorization requests are taken from this client.
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// RFC 9449 §5.2: refuse this client's token requests without a DPoP proof.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
}

fn default_alg() -> String {
    "RS256".into()
}

impl SeedClient {
    /// Turns the definition into a checked client record.
    pub fn into_client(self, secret_hash: Option<String>) -> Result<Client, String> {
        let auth_method = AuthMethod::parse(&self.auth_method)
            .ok_or_else(|| format!("unknown auth method {:?}", self.auth_method))?;
        let grant_types = self
            .grant_types
            .iter()
            .map(|g| GrantType::parse(g).ok_or_else(|| format!("unknown grant type {g:?}")))
            .collect::<Result<Vec<_>, _>>()?;
        let signing_alg = SigningAlg::parse(&self.signing_alg)
            .ok_or_else(|| format!("unknown signing alg {:?}", self.signing_alg))?;
        let client = Client {
            client_id: self.client_id,
            name: self.name,
            secret_hash,
            auth_method,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            backchannel_logout_uri: self.backchannel_logout_uri,
            grant_types,
            allowed_scopes: self.scopes,
            signing_alg,
            subsystem_code: self.subsystem_code,
            first_party: self.first_party,
            jwks: self.jwks,
            initiate_login_uri: self.initiate_login_uri,
            enabled: true,
            resource_uri: self.resource_uri,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
        };
        client.check().map_err(|e| e.to_string())?;
        if client.auth_method.uses_secret() != client.secret_hash.is_some() {
            return Err(format!(
                "client {}: a secret is needed exactly for client_secret_basic/post",
                client.client_id
            ));
        }
        Ok(client)
    }
}

pub async fn apply_file(db: &Db, config: &Config, path: &Path, now: i64) -> Result<(), String> {
    if config.production {
        return Err("production mode does not load demo seed files; unset seed_file".into());
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let seed: SeedFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    apply(db, config, seed, now).await
}

pub async fn apply(db: &Db, config: &Config, seed: SeedFile, now: i64) -> Result<(), String> {
    let db_err = |e: crate::store::StoreError| e.to_string();
    let pii = crate::pii::PiiVault::new(&config.kek_bytes().map_err(|e| e.to_string())?);
    for d in seed.department {
        let department = store::directory::Department {
            id: d.id,
            name: d.name,
        };
        store::directory::insert_department(db, &department, now)
            .await
            .map_err(db_err)?;
    }
    for o in seed.org {
        let org = NewOrg {
            id: o.id,
            name: o.name,
            uscc: o.uscc,
            status: o.status,
        };
        store::accounts::ensure_org(db, &org, now)
            .await
            .map_err(db_err)?;
    }
    for a in seed.account {
        if store::accounts::find_by_login(db, &a.login_name)
            .await
            .map_err(db_err)?
            .is_some()
        {
            continue;
        }
        let account_type = AccountType::parse(&a.account_type)
            .ok_or_else(|| format!("account {}: bad account_type", a.login_name))?;
        let realname_status = RealnameStatus::parse(&a.realname_status)
            .ok_or_else(|| format!("account {}: bad realname_status", a.login_name))?;
        let cfg = config.login.clone();
        let pw = a.password.clone();
        let hash = tokio::task::spawn_blocking(move || password::hash_blocking(&pw, &cfg))
            .await
            .map_err(|e| e.to_string())??;
        let new = NewAccount {
            id: a.id,
            login_name: a.login_name,
            password_hash: hash,
            account_type,
            display_name: a.display_name,
            realname_status,
            org_id: a.org,
            org_role: a.org_role,
            grants: a.grants,
            roles: a.roles,
            login_name_chosen: true,
        };
        let contact = pii.seal_contact(a.mobile.as_deref(), a.email.as_deref());
        store::accounts::insert_with_contact(db, &new, &contact, now)
            .await
            .map_err(db_err)?;
    }
    for c in seed.client {
        if let Some(mut existing) = store::clients::find(db, &c.client_id)
            .await
            .map_err(db_err)?
        {
            // A demo database from before initiate_login_uri existed gets it from the seed.
            if existing.initiate_login_uri.is_none() && c.initiate_login_uri.is_some() {
                existing.initiate_login_uri = c.initiate_login_uri;
                store::clients::update_metadata(db, &existing, now)
                    .await
                    .map_err(db_err)?;
            }
            continue;
        }
        let hash = c
            .secret
            .as_deref()
            .map(|s| crypto::sha256_hex(s.as_bytes()));
        let client = c.into_client(hash)?;
        store::clients::insert(db, &client, now)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo seed parses, and every `department_reviewer:{id}` role in it names one of
    /// its departments.
    #[test]
    fn directory_demo_seed_departments() {
        let text = include_str!("../../config/demo.toml");
        let seed: SeedFile = toml::from_str(text).unwrap();
        assert!(seed.department.len() >= 2);
        let reviewers: Vec<&str> = seed
            .account
            .iter()
            .flat_map(|a| a.roles.iter())
            .filter_map(|r| r.strip_prefix(crate::directory::REVIEWER_PREFIX))
            .collect();
        assert!(!reviewers.is_empty());
        for d in reviewers {
            assert!(seed.department.iter().any(|x| x.id == d), "{d}");
        }
    }
}
