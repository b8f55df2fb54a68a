//! Client registrations.

use crate::error::StoreError;
use sqlx::{any::AnyRow, Row};

use super::{crypto, from_json_list, to_json_list, Db};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    /// A public client: no secret, PKCE is mandatory.
    None,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 4] = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::PrivateKeyJwt,
        AuthMethod::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

#[derive(Clone, Debug)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    /// Hex SHA-256 of the secret; the secret itself is shown once and never stored.
    pub secret_hash: Option<String>,
    pub auth_method: AuthMethod,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: Vec<GrantType>,
    pub allowed_scopes: Vec<String>,
    pub signing_alg: SigningAlg,
    /// The subsystem this client represents (`incubator`, `makerspace`…), if any.
    pub subsystem_code: Option<String>,
    /// First-party clients skip the consent page.
    pub first_party: bool,
    /// The client's public keys (a JWK Set) for `private_key_jwt`.
    pub jwks: Option<String>,
    /// OpenID Connect Registration 1.0 `initiate_login_uri`: opening it makes the RP start a
    /// login here (the portal's launcher links to it).
    pub initiate_login_uri: Option<String>,
    /// False once a platform admin disabled it: it is then treated as unknown.
    pub enabled: bool,
    /// The audience identifier (RFC 8707 resource, an absolute URI) when this client is a
    /// resource server: tokens asked for this resource name it in `aud`, and it may introspect
    /// them.
    pub resource_uri: Option<String>,
    /// RFC 9126 §6 `require_pushed_authorization_requests`: /authorize takes this client's
    /// requests only through a `request_uri` from the pushed authorization request endpoint.
    pub require_pushed_authorization_requests: bool,
    /// RFC 9449 §5.2 `dpop_bound_access_tokens`: the client always uses DPoP, so a token
    /// request without a proof is refused.
    pub dpop_bound_access_tokens: bool,
}

impl Client {
    pub fn allows_grant(&self, g: GrantType) -> bool {
        self.grant_types.contains(&g)
    }

    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    /// Exact string comparison, as RFC 9700 §4.1.3 requires: no prefix or pattern matching.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|u| u == uri)
    }

    pub fn has_post_logout_uri(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|u| u == uri)
    }

    pub fn secret_matches(&self, presented: &str) -> bool {
        match &self.secret_hash {
            Some(stored) => crypto::constant_time_eq(
                stored.as_bytes(),
                crypto::sha256_hex(presented.as_bytes()).as_bytes(),
            ),
            None => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    Rs256,
    Es256,
    EdDsa,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [SigningAlg::Rs256, SigningAlg::Es256, SigningAlg::EdDsa];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Rs256 => "RS256",
            SigningAlg::Es256 => "ES256",
            SigningAlg::EdDsa => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// The left half of this digest of an access token is its `at_hash` (OIDC Core §3.1.3.6);
    /// Ed25519 pairs with SHA-512.
    pub fn at_hash(self, token: &str) -> String {
        use sha2::Digest;
        match self {
            SigningAlg::Rs256 | SigningAlg::Es256 => {
                let d = sha2::Sha256::digest(token.as_bytes());
                crypto::b64url(&d[..16])
            }
            SigningAlg::EdDsa => {
                let d = sha2::Sha512::digest(token.as_bytes());
                crypto::b64url(&d[..32])
            }
        }
    }
}

const COLUMNS: &str = "client_id, name, secret_hash, auth_method, redirect_uris, \
    post_logout_redirect_uris, backchannel_logout_uri, grant_types, allowed_scopes, signing_alg, \
    subsystem_code, first_party, jwks, initiate_login_uri, enabled, resource_uri, \
    require_pushed_authorization_requests, dpop_bound_access_tokens";

fn decode(r: &AnyRow) -> Result<Client, StoreError> {
    let bad = |col: &str, v: &str| sqlx::Error::ColumnDecode {
        index: col.to_owned(),
        source: format!("unexpected value {v:?}").into(),
    };
    let auth: String = r.try_get("auth_method")?;
    let alg: String = r.try_get("signing_alg")?;
    let grants: String = r.try_get("grant_types")?;
    let first_party: i64 = r.try_get("first_party")?;
    Ok(Client {
        client_id: r.try_get("client_id")?,
        name: r.try_get("name")?,
        secret_hash: r.try_get("secret_hash")?,
        auth_method: AuthMethod::parse(&auth).ok_or_else(|| bad("auth_method", &auth))?,
        redirect_uris: from_json_list(&r.try_get::<String, _>("redirect_uris")?),
        post_logout_redirect_uris: from_json_list(
            &r.try_get::<String, _>("post_logout_redirect_uris")?,
        ),
        backchannel_logout_uri: r.try_get("backchannel_logout_uri")?,
        grant_types: from_json_list(&grants)
            .iter()
            .map(|g| GrantType::parse(g).ok_or_else(|| bad("grant_types", g)))
            .collect::<Result<_, _>>()?,
        allowed_scopes: from_json_list(&r.try_get::<String, _>("allowed_scopes")?),
        signing_alg: SigningAlg::parse(&alg).ok_or_else(|| bad("signing_alg", &alg))?,
        subsystem_code: r.try_get("subsystem_code")?,
        first_party: first_party != 0,
        jwks: r.try_get("jwks")?,
        initiate_login_uri: r.try_get("initiate_login_uri")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        resource_uri: r.try_get("resource_uri")?,
        require_pushed_authorization_requests: r
            .try_get::<i64, _>("require_pushed_authorization_requests")?
            != 0,
        dpop_bound_access_tokens: r.try_get::<i64, _>("dpop_bound_access_tokens")? != 0,
    })
}

pub async fn find(db: &Db, client_id: &str) -> Result<Option<Client>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM clients WHERE client_id = $1");
    let row = sqlx::query(&sql)
        .bind(client_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// The enabled or disabled client registered as the resource server `uri`.
pub async fn find_by_resource(db: &Db, uri: &str) -> Result<Option<Client>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM clients WHERE resource_uri = $1");
    let row = sqlx::query(&sql).bind(uri).fetch_optional(&db.pool).await?;
    row.as_ref().map(decode).transpose()
}

pub async fn list(db: &Db) -> Result<Vec<Client>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM clients ORDER BY client_id");
    let rows = sqlx::query(&sql).fetch_all(&db.pool).await?;
    rows.iter().map(decode).collect()
}

/// Inserts a new client; false when the id is taken.
pub async fn insert(db: &Db, c: &Client, now: i64) -> Result<bool, StoreError> {
    let grants: Vec<String> = c
        .grant_types
        .iter()
        .map(|g| g.as_str().to_owned())
        .collect();
    let res = sqlx::query(
        "INSERT INTO clients (client_id, name, secret_hash, auth_method, redirect_uris, \
         post_logout_redirect_uris, backchannel_logout_uri, grant_types, allowed_scopes, \
         signing_alg, subsystem_code, first_party, jwks, created_at, updated_at, \
         initiate_login_uri, enabled, resource_uri, require_pushed_authorization_requests, \
         dpop_bound_access_tokens) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16, \
         $17, $18, $19)",
    )
    .bind(&c.client_id)
    .bind(&c.name)
    .bind(&c.secret_hash)
    .bind(c.auth_method.as_str())
    .bind(to_json_list(&c.redirect_uris))
    .bind(to_json_list(&c.post_logout_redirect_uris))
    .bind(&c.backchannel_logout_uri)
    .bind(to_json_list(&grants))
    .bind(to_json_list(&c.allowed_scopes))
    .bind(c.signing_alg.as_str())
    .bind(&c.subsystem_code)
    .bind(c.first_party as i64)
    .bind(&c.jwks)
    .bind(now)
    .bind(&c.initiate_login_uri)
    .bind(c.enabled as i64)
    .bind(&c.resource_uri)
    .bind(c.require_pushed_authorization_requests as i64)
    .bind(c.dpop_bound_access_tokens as i64)
    .execute(&db.pool)
    .await;
    match res {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub async fn set_secret_hash(
    db: &Db,
    client_id: &str,
    secret_hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let res =
        sqlx::query("UPDATE clients SET secret_hash = $1, updated_at = $2 WHERE client_id = $3")
            .bind(secret_hash)
            .bind(now)
            .bind(client_id)
            .execute(&db.pool)
            .await?;
    Ok(res.rows_affected() == 1)
}

/// Removes a client with its consents and refresh tokens.
pub async fn remove(db: &Db, client_id: &str) -> Result<bool, StoreError> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("DELETE FROM consents WHERE client_id = $1")
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM refresh_tokens WHERE client_id = $1")
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
    let res = sqlx::query("DELETE FROM clients WHERE client_id = $1")
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(res.rows_affected() == 1)
}

/// Writes the metadata a platform admin may change (name, redirect, post-logout, initiate-login
/// and back-channel logout URIs); false when there is no such client.
pub async fn update_metadata(db: &Db, c: &Client, now: i64) -> Result<bool, StoreError> {
    let res = sqlx::query(
        "UPDATE clients SET name = $1, redirect_uris = $2, post_logout_redirect_uris = $3, \
         initiate_login_uri = $4, backchannel_logout_uri = $5, updated_at = $6 \
         WHERE client_id = $7",
    )
    .bind(&c.name)
    .bind(to_json_list(&c.redirect_uris))
    .bind(to_json_list(&c.post_logout_redirect_uris))
    .bind(&c.initiate_login_uri)
    .bind(&c.backchannel_logout_uri)
    .bind(now)
    .bind(&c.client_id)
    .execute(&db.pool)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Enables or disables a client; false when there is no such client.
pub async fn set_enabled(
    db: &Db,
    client_id: &str,
    enabled: bool,
    now: i64,
) -> Result<bool, StoreError> {
    let res = sqlx::query("UPDATE clients SET enabled = $1, updated_at = $2 WHERE client_id = $3")
        .bind(enabled as i64)
        .bind(now)
        .bind(client_id)
        .execute(&db.pool)
        .await?;
    Ok(res.rows_affected() == 1)
}
