//! The `idp` command line: `serve`, and the admin commands for clients and signing keys.
//! Every change an admin command makes is recorded in the audit log (`detail.via = "cli"`;
//! the operator is whoever could run the binary with the database's credentials, so no
//! account is named as the actor).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::{
    audit::{self, AuditEntry, AuditEvent},
    clock::{shanghai_time_secs, Clock},
    config::Config,
    oidc::{
        client::Client,
        keys,
        registration::{self, Registered},
    },
    seed::SeedClient,
    store::{self, Db},
};

#[derive(Parser)]
#[command(name = "idp", about = "Tongyi OpenID Connect provider")]
pub struct Cli {
    /// Configuration file; environment variables override its values.
    #[arg(
        long,
        global = true,
        default_value = "config/idp.toml",
        env = "TONGYI_IDP_CONFIG"
    )]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the IdP until SIGINT or SIGTERM.
    Serve,
    /// Manage registered clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Disable or enable user accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Import legacy accounts (docs/legacy-import.md), or benchmark the import.
    #[command(subcommand)]
    Legacy(crate::legacy::command::LegacyCommand),
    /// Generate a realistic population (persons, units, memberships, grants, review
    /// histories, legacy records) into the configured database, or benchmark the queries
    /// over it (docs/benchmarks.md, issue 18).
    #[command(subcommand)]
    Scale(crate::scale::ScaleCommand),
    /// Copy a SQLite database while the IdP serves (PostgreSQL: use pg_dump).
    Backup {
        /// The file to write; it must not exist yet.
        #[arg(long)]
        to: std::path::PathBuf,
    },
}

/// `idp backup --to FILE`: an online copy of the SQLite database.
pub async fn run_backup(db: &crate::store::Db, to: &std::path::Path) -> CommandResult {
    if to.exists() {
        return Err(format!(
            "{} exists already; choose a new file",
            to.display()
        ));
    }
    match db.backup_sqlite(to).await {
        Some(Ok(())) => Ok(format!("backup written to {}\n", to.display())),
        Some(Err(e)) => Err(format!("backup failed: {e}")),
        None => {
            Err("the database is PostgreSQL: back it up with pg_dump (docs/deployment.md)".into())
        }
    }
}

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Disable an account: it cannot log in, and its sessions and tokens end everywhere.
    Disable { login_name: String },
    /// Enable a disabled account again.
    Enable { login_name: String },
}

/// Runs an account command on a full application state: disabling reaches the relying
/// parties by back-channel logout and revokes tokens like the members API does.
pub async fn run_account(state: &crate::state::AppState, cmd: AccountCommand) -> CommandResult {
    let (login_name, disable) = match &cmd {
        AccountCommand::Disable { login_name } => (login_name, true),
        AccountCommand::Enable { login_name } => (login_name, false),
    };
    let account = store::accounts::find_by_login(&state.db, login_name)
        .await
        .map_err(|e| format!("database: {e}"))?
        .ok_or_else(|| format!("no account {login_name}"))?;
    let done = if disable {
        crate::accounts::status::disable(state, None, &account.id).await
    } else {
        crate::accounts::status::enable(state, None, &account.id).await
    }
    .map_err(|e| e.to_string())?;
    if !done {
        return Err(format!("no account {login_name}"));
    }
    Ok(format!(
        "account {login_name} {}\n",
        if disable { "disabled" } else { "enabled" }
    ))
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register a client; a generated secret is printed once.
    Add(Box<ClientArgs>),
    /// List registered clients.
    List,
    /// Show one client.
    Show { client_id: String },
    /// Replace a client's secret; the new one is printed once.
    RotateSecret { client_id: String },
    /// Remove a client with its consents and refresh tokens.
    Remove { client_id: String },
}

#[derive(Args)]
pub struct ClientArgs {
    #[arg(long = "id")]
    pub client_id: String,
    #[arg(long)]
    pub name: String,
    /// Exact redirect URI (repeatable).
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// Exact post-logout redirect URI (repeatable).
    #[arg(long = "post-logout-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    #[arg(long = "backchannel-logout-uri")]
    pub backchannel_logout_uri: Option<String>,
    /// Where a launcher sends users to start a login at this client (initiate_login_uri).
    #[arg(long = "initiate-login-uri")]
    pub initiate_login_uri: Option<String>,
    /// Register the client as a resource server with this audience identifier (an absolute
    /// URI, RFC 8707): tokens asked for it carry it as `aud`, and it may introspect them.
    #[arg(long = "resource-uri")]
    pub resource_uri: Option<String>,
    /// authorization_code, refresh_token, client_credentials (repeatable).
    #[arg(long = "grant", default_values_t = ["authorization_code".to_string(), "refresh_token".to_string()])]
    pub grant_types: Vec<String>,
    /// client_secret_basic, client_secret_post, private_key_jwt or none.
    #[arg(long, default_value = "client_secret_basic")]
    pub auth_method: String,
    /// RS256, ES256 or EdDSA for ID and access tokens.
    #[arg(long, default_value = "RS256")]
    pub alg: String,
    /// Allowed scope (repeatable).
    #[arg(long = "scope", default_values_t = ["openid".to_string(), "profile".to_string()])]
    pub scopes: Vec<String>,
    /// The subsystem code this client represents (e.g. incubator).
    #[arg(long)]
    pub subsystem: Option<String>,
    /// Skip the consent page for this client.
    #[arg(long)]
    pub first_party: bool,
    /// JWK Set file with the client's public keys, for private_key_jwt.
    #[arg(long)]
    pub jwks_file: Option<PathBuf>,
    /// Take this client's authorization requests only when pushed to /par first
    /// (require_pushed_authorization_requests, RFC 9126 §6).
    #[arg(long = "require-par")]
    pub require_pushed_authorization_requests: bool,
    /// Refuse token requests without a DPoP proof (RFC 9449 §5.2 dpop_bound_access_tokens).
    #[arg(long)]
    pub dpop_bound_access_tokens: bool,
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// List keys with their state.
    List,
    /// Schedule a new key: published at once, signing after `tokens.key_prepublish_secs`;
    /// the old key stays published until the last token it signed has expired.
    Rotate {
        /// RS256, ES256 or EdDSA; all three when omitted.
        #[arg(long)]
        alg: Option<String>,
        /// Sign with the new key at once (a compromised key): relying parties that cached
        /// the JWK Set refetch it on the unknown kid.
        #[arg(long)]
        now: bool,
    },
}

/// Output of an admin command, or why it failed.
pub type CommandResult = Result<String, String>;

fn describe(c: &Client) -> String {
    let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
    format!(
        "client_id: {}\nname: {}\nauth_method: {}\nredirect_uris: {}\npost_logout_redirect_uris: {}\nbackchannel_logout_uri: {}\ninitiate_login_uri: {}\nresource_uri: {}\ngrant_types: {}\nscopes: {}\nsigning_alg: {}\nsubsystem: {}\nfirst_party: {}\nenabled: {}\nrequire_pushed_authorization_requests: {}\ndpop_bound_access_tokens: {}\n",
        c.client_id,
        c.name,
        c.auth_method.as_str(),
        c.redirect_uris.join(" "),
        c.post_logout_redirect_uris.join(" "),
        c.backchannel_logout_uri.as_deref().unwrap_or("-"),
        c.initiate_login_uri.as_deref().unwrap_or("-"),
        c.resource_uri.as_deref().unwrap_or("-"),
        grants.join(" "),
        c.allowed_scopes.join(" "),
        c.signing_alg.as_str(),
        c.subsystem_code.as_deref().unwrap_or("-"),
        c.first_party,
        c.enabled,
        c.require_pushed_authorization_requests,
        c.dpop_bound_access_tokens,
    )
}

pub async fn run_client(db: &Db, cmd: ClientCommand) -> CommandResult {
    let now = Clock::default().now();
    let db_err = |e: crate::store::StoreError| format!("database: {e}");
    match cmd {
        ClientCommand::Add(a) => {
            let a = *a;
            let jwks = match &a.jwks_file {
                Some(p) => {
                    Some(std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?)
                }
                None => None,
            };
            let def = SeedClient {
                client_id: a.client_id,
                name: a.name,
                secret: None,
                auth_method: a.auth_method,
                redirect_uris: a.redirect_uris,
                post_logout_redirect_uris: a.post_logout_redirect_uris,
                backchannel_logout_uri: a.backchannel_logout_uri,
                grant_types: a.grant_types,
                scopes: a.scopes,
                signing_alg: a.alg,
                subsystem_code: a.subsystem,
                first_party: a.first_party,
                jwks,
                initiate_login_uri: a.initiate_login_uri,
                resource_uri: a.resource_uri,
                require_pushed_authorization_requests: a.require_pushed_authorization_requests,
                dpop_bound_access_tokens: a.dpop_bound_access_tokens,
            };
            let Registered { client, secret } = registration::register(db, def, now)
                .await
                .map_err(|e| e.to_string())?;
            let entry = AuditEntry::new(AuditEvent::ClientRegistered)
                .client(&client.client_id)
                .detail("via", "cli")
                .detail("auth_method", client.auth_method.as_str());
            audit::record_at(db, now, entry).await;
            let mut out = describe(&client);
            if let Some(s) = secret {
                out.push_str(&format!("client_secret: {s}\n(shown once; store it now)\n"));
            }
            Ok(out)
        }
        ClientCommand::List => {
            let clients = store::clients::list(db).await.map_err(db_err)?;
            Ok(clients
                .iter()
                .map(|c| format!("{}\t{}\t{}\n", c.client_id, c.auth_method.as_str(), c.name))
                .collect())
        }
        ClientCommand::Show { client_id } => store::clients::find(db, &client_id)
            .await
            .map_err(db_err)?
            .map(|c| describe(&c))
            .ok_or_else(|| format!("no client {client_id}")),
        ClientCommand::RotateSecret { client_id } => {
            let secret = registration::rotate_secret(db, &client_id, now)
                .await
                .map_err(|e| e.to_string())?;
            let entry = AuditEntry::new(AuditEvent::ClientSecretRotated)
                .client(&client_id)
                .detail("via", "cli");
            audit::record_at(db, now, entry).await;
            Ok(format!("client_secret: {secret}\n(shown once; running IdPs accept it within their client cache time)\n"))
        }
        ClientCommand::Remove { client_id } => {
            if store::clients::remove(db, &client_id)
                .await
                .map_err(db_err)?
            {
                let entry = AuditEntry::new(AuditEvent::ClientRemoved)
                    .client(&client_id)
                    .detail("via", "cli");
                audit::record_at(db, now, entry).await;
                Ok(format!("removed {client_id}\n"))
            } else {
                Err(format!("no client {client_id}"))
            }
        }
    }
}

pub async fn run_keys(db: &Db, config: &Config, clock: &Clock, cmd: KeysCommand) -> CommandResult {
    let now = clock.now();
    let retention = config.tokens.key_retention_secs();
    match cmd {
        KeysCommand::List => {
            let rows = keys::list(db, now, retention)
                .await
                .map_err(|e| e.to_string())?;
            Ok(rows
                .iter()
                .map(|(row, state)| {
                    format!(
                        "{}\t{}\t{}\tsigns from {}\n",
                        row.kid,
                        row.alg,
                        state.as_str(),
                        shanghai_time_secs(row.activates_at)
                    )
                })
                .collect())
        }
        KeysCommand::Rotate { alg, now: at_once } => {
            let kek = config.kek_bytes().map_err(|e| e.to_string())?;
            // Make sure every algorithm has a key before rotating, as a first start would.
            keys::Keys::load_or_create(db, kek, clock.clone(), retention)
                .await
                .map_err(|e| e.to_string())?;
            let algs = match alg {
                Some(a) => {
                    vec![keys::SigningAlg::parse(&a).ok_or_else(|| format!("unknown alg {a}"))?]
                }
                None => keys::SigningAlg::ALL.to_vec(),
            };
            let starts = if at_once {
                now
            } else {
                now + config.tokens.key_prepublish_secs
            };
            let mut out = String::new();
            for alg in algs {
                let rotation = keys::rotate(db, &kek, alg, now, starts)
                    .await
                    .map_err(|e| e.to_string())?;
                let entry = AuditEntry::new(AuditEvent::KeysRotated)
                    .detail("via", "cli")
                    .detail("alg", alg.as_str())
                    .detail("kid", rotation.kid.as_str())
                    .detail("activates_at", rotation.activates_at);
                audit::record_at(db, now, entry).await;
                out.push_str(&format!(
                    "{}: new key {} published, signs from {} (in {} s)\n",
                    alg.as_str(),
                    rotation.kid,
                    shanghai_time_secs(rotation.activates_at),
                    rotation.activates_at - now
                ));
            }
            Ok(out)
        }
    }
}
