//! Registering and changing clients: what the `idp client` commands and the admin API share.
//! A client secret is generated here, returned once and stored only as its SHA-256 digest.

use crate::{
    crypto,
    oidc::client::{Client, ClientRules},
    seed::SeedClient,
    store::{self, Db},
};

/// Why a client change was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// The metadata breaks a rule (the message names it).
    #[error("{0}")]
    Invalid(String),
    #[error("client {0} already exists")]
    Exists(String),
    #[error("no client {0}")]
    NotFound(String),
    #[error("resource URI {0} is already registered for another client")]
    ResourceTaken(String),
    #[error("client {0} uses {1} and has no secret")]
    NoSecret(String, &'static str),
    #[error("database: {0}")]
    Db(#[from] crate::store::StoreError),
}

/// A new client and its secret (only for the secret-based auth methods), shown once.
pub struct Registered {
    pub client: Client,
    pub secret: Option<String>,
}

/// Registers `def`, generating a secret when its auth method uses one.
pub async fn register(db: &Db, def: SeedClient, now: i64) -> Result<Registered, RegistrationError> {
    let needs_secret =
        crate::oidc::client::AuthMethod::parse(&def.auth_method).is_some_and(|m| m.uses_secret());
    let secret = needs_secret.then(|| crypto::random_token(32));
    let client = def
        .into_client(secret.as_deref().map(|s| crypto::sha256_hex(s.as_bytes())))
        .map_err(RegistrationError::Invalid)?;
    if !store::clients::insert(db, &client, now).await? {
        // Both the id and the resource URI are unique: say which one was taken.
        if let Some(uri) = &client.resource_uri {
            let holder = store::clients::find_by_resource(db, uri).await?;
            if holder.is_some_and(|h| h.client_id != client.client_id) {
                return Err(RegistrationError::ResourceTaken(uri.clone()));
            }
        }
        return Err(RegistrationError::Exists(client.client_id));
    }
    Ok(Registered { client, secret })
}

/// Replaces the secret of `client_id`; the old one stops working once caches expire.
pub async fn rotate_secret(
    db: &Db,
    client_id: &str,
    now: i64,
) -> Result<String, RegistrationError> {
    let client = store::clients::find(db, client_id)
        .await?
        .ok_or_else(|| RegistrationError::NotFound(client_id.to_owned()))?;
    if !client.auth_method.uses_secret() {
        return Err(RegistrationError::NoSecret(
            client_id.to_owned(),
            client.auth_method.as_str(),
        ));
    }
    let secret = crypto::random_token(32);
    store::clients::set_secret_hash(db, client_id, &crypto::sha256_hex(secret.as_bytes()), now)
        .await?;
    Ok(secret)
}

/// The metadata a platform admin may change; `None` leaves a value as it is, `Some(None)`
/// clears an optional URI.
#[derive(Default)]
pub struct MetadataChange {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub initiate_login_uri: Option<Option<String>>,
    pub backchannel_logout_uri: Option<Option<String>>,
}

/// Applies `change` to `client_id` after checking the client's rules on the result.
pub async fn update(
    db: &Db,
    client_id: &str,
    change: MetadataChange,
    now: i64,
) -> Result<Client, RegistrationError> {
    let mut client = store::clients::find(db, client_id)
        .await?
        .ok_or_else(|| RegistrationError::NotFound(client_id.to_owned()))?;
    if let Some(name) = change.name {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(RegistrationError::Invalid(
                "name must be 1 to 100 characters".into(),
            ));
        }
        client.name = name;
    }
    if let Some(uris) = change.redirect_uris {
        client.redirect_uris = uris;
    }
    if let Some(uris) = change.post_logout_redirect_uris {
        client.post_logout_redirect_uris = uris;
    }
    if let Some(uri) = change.initiate_login_uri {
        client.initiate_login_uri = uri;
    }
    if let Some(uri) = change.backchannel_logout_uri {
        client.backchannel_logout_uri = uri;
    }
    client
        .check()
        .map_err(|e| RegistrationError::Invalid(e.to_string()))?;
    store::clients::update_metadata(db, &client, now).await?;
    Ok(client)
}
