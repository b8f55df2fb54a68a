//! Client registrations.

use sqlx::{any::AnyRow, Row};

use super::{from_json_list, to_json_list, Db};
use crate::oidc::{
    client::{AuthMethod, Client, GrantType},
    keys::SigningAlg,
};

const COLUMNS: &str = "client_id, name, secret_hash, auth_method, redirect_uris, \
    post_logout_redirect_uris, backchannel_logout_uri, grant_types, allowed_scopes, signing_alg, \
    subsystem_code, first_party, jwks, initiate_login_uri, enabled";

fn decode(r: &AnyRow) -> Result<Client, sqlx::Error> {
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
    })
}

pub async fn find(db: &Db, client_id: &str) -> Result<Option<Client>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM clients WHERE client_id = $1");
    let row = sqlx::query(&sql)
        .bind(client_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(decode).transpose()
}

pub async fn list(db: &Db) -> Result<Vec<Client>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM clients ORDER BY client_id");
    let rows = sqlx::query(&sql).fetch_all(&db.pool).await?;
    rows.iter().map(decode).collect()
}

/// Inserts a new client; false when the id is taken.
pub async fn insert(db: &Db, c: &Client, now: i64) -> Result<bool, sqlx::Error> {
    let grants: Vec<String> = c
        .grant_types
        .iter()
        .map(|g| g.as_str().to_owned())
        .collect();
    let res = sqlx::query(
        "INSERT INTO clients (client_id, name, secret_hash, auth_method, redirect_uris, \
         post_logout_redirect_uris, backchannel_logout_uri, grant_types, allowed_scopes, \
         signing_alg, subsystem_code, first_party, jwks, created_at, updated_at, \
         initiate_login_uri, enabled) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16)",
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
    .execute(&db.pool)
    .await;
    match res {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn set_secret_hash(
    db: &Db,
    client_id: &str,
    secret_hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
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
pub async fn remove(db: &Db, client_id: &str) -> Result<bool, sqlx::Error> {
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
pub async fn update_metadata(db: &Db, c: &Client, now: i64) -> Result<bool, sqlx::Error> {
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
) -> Result<bool, sqlx::Error> {
    let res = sqlx::query("UPDATE clients SET enabled = $1, updated_at = $2 WHERE client_id = $3")
        .bind(enabled as i64)
        .bind(now)
        .bind(client_id)
        .execute(&db.pool)
        .await?;
    Ok(res.rows_affected() == 1)
}
