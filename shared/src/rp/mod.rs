//! Relying-party login glue shared by the portal and the subsystems (feature `rp`).
//!
//! Built on the `openidconnect` crate: discovery at start-up, the authorization code flow with
//! PKCE (S256), `state` and `nonce`, the code exchanged with `client_secret_basic`, the ID token
//! verified (signature, issuer, audience, expiry, nonce, `at_hash`), and a local session made
//! from its claims. Logout is RP-initiated at the IdP's end-session endpoint; the IdP ends our
//! sessions through back-channel logout when the user logs out anywhere else.
//!
//! An app builds one [`Rp`] with [`Rp::start`] and gets its router from [`app_router`]: its
//! own pages, the `/auth/*` endpoints of [`routes`], a health check and the shared stylesheet,
//! over an [`AppState`] of its config and the `Rp`. Its pages read the current user with
//! [`Rp::session`] (the home page, where logout ends, through [`Landing`]), and its error type
//! maps [`RpError`] to pages, the common ones through [`error_page`]. Its config file loads
//! through [`config_file`], and its `main` runs through [`server`].
//!
//! Sessions keep the tokens of the code exchange. An app gets the user of a request with
//! [`Rp::current_session`] and, to call the IdP's APIs on the user's behalf, a valid access
//! token with [`Rp::access_token`]. Both refresh through the token endpoint when needed: when
//! the access token is about to expire, or the claims of the last ID token have (after at most
//! the IdP's ID-token lifetime, 5 minutes). The refresh rotates the stored refresh token and
//! replaces the claims with those of the new ID token, so a withdrawn grant, a disabled account
//! or a changed unit status shows at the next refresh even without a back-channel logout; a
//! refused refresh ends the local session (the user logs in again). Refreshes of one session
//! never run concurrently (a refresh token presented twice revokes its whole family at the
//! IdP). [`Rp::refresh_session`] refreshes at once (after the app changed what the IdP says
//! about the user), [`Rp::end_session`] forgets a session the IdP no longer honours, and
//! [`RpSession::csrf_matches`] checks a form's CSRF token. Tokens never appear in `Debug`
//! output or logs.
//!
//! Pending logins and sessions live in this process, or in Redis when the config names a
//! `redis_url` ([`session_store`]): then every instance of the app sharing that Redis and
//! prefix knows every session, a back-channel logout received by any of them ends the session
//! on all, and refreshes of one session do not race between instances. In process, restarting
//! the app logs its users out (logging in again is silent while the IdP session lasts). When
//! the store cannot answer, the glue fails with [`RpError::Unavailable`] (503).

mod clock;
mod config;
pub mod config_file;
mod cookies;
mod error;
mod error_page;
mod landing;
mod login;
mod logout;
pub mod logout_token;
pub mod metrics;
pub mod page;
mod provider;
mod refresh;
mod routes;
pub mod server;
mod session;
mod session_store;
mod state;

use std::{sync::Arc, time::Duration};

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode},
    response::Response,
};
use openidconnect::{ClientId, ClientSecret, CsrfToken, EndSessionUrl, RedirectUrl};
use subtle::ConstantTimeEq;

pub use clock::Clock;
pub use config::{RequiredGrant, RpConfig, DEFAULT_SCOPES};
pub use error::{Refusal, RpError};
pub use error_page::{error_page, ErrorKind, ErrorMessage, RETRY_AFTER_SECS};
pub use landing::Landing;
pub use metrics::RpMetrics;
pub use provider::TongyiIdClaims;
pub use routes::{app_router, routes};
pub use session::RpSession;
pub use state::AppState;

use cookies::CookieJar;
use provider::{Provider, TongyiClient};
use session_store::{MemorySessions, RedisSessions, SessionStore};

/// One relying party: its registration at the IdP, what it discovered, and its sessions.
/// Cheap to clone; put it in the app state and expose it through `FromRef`.
#[derive(Clone)]
pub struct Rp {
    inner: Arc<Inner>,
}

struct Inner {
    config: RpConfig,
    client: TongyiClient,
    provider: Provider,
    end_session: EndSessionUrl,
    http: reqwest::Client,
    cookies: CookieJar,
    /// Sessions and pending logins.
    sessions: SessionStore,
    /// CSP of pages with a logout form (whose redirect goes to the IdP).
    csp: HeaderValue,
}

impl Rp {
    /// Discovers the IdP (retrying while it starts) and prepares the client. The config should
    /// have passed [`RpConfig::validate`].
    pub async fn start(config: RpConfig) -> Result<Rp, RpError> {
        // No redirects: a token or discovery endpoint that redirects is a misconfiguration or
        // an attempt to send our client secret elsewhere.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| RpError::Discovery(format!("HTTP client: {e}")))?;
        let provider = Provider::discover(&config, &http).await?;
        let end_session = provider
            .metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()
            .ok_or_else(|| RpError::Discovery("no end_session_endpoint".into()))?;
        let redirect = RedirectUrl::new(config.redirect_uri()).map_err(|e| RpError::Config {
            field: "rp.base_url",
            reason: e.to_string(),
        })?;
        let client = TongyiClient::from_provider_metadata(
            provider.metadata.clone(),
            ClientId::new(config.client_id.clone()),
            Some(ClientSecret::new(config.client_secret.clone())),
        )
        .set_redirect_uri(redirect);
        let sessions = if config.redis_url.is_empty() {
            SessionStore::Memory(MemorySessions::default())
        } else {
            let prefix = format!("{}rp:{}:", config.redis_prefix, config.client_id);
            let redis = RedisSessions::connect(&config.redis_url, prefix)
                .await
                .map_err(|e| RpError::config("rp.redis_url", e.to_string()))?;
            tracing::info!(client_id = %config.client_id, "sessions kept in Redis");
            SessionStore::Redis(redis)
        };
        let csp = page::csp_with_form_target(&end_session.url().origin().ascii_serialization());
        tracing::info!(
            issuer = %config.issuer,
            client_id = %config.client_id,
            "OpenID provider discovered"
        );
        Ok(Rp {
            inner: Arc::new(Inner {
                cookies: CookieJar::new(&config),
                config,
                client,
                provider,
                end_session,
                http,
                sessions,
                csp,
            }),
        })
    }

    pub fn config(&self) -> &RpConfig {
        &self.inner.config
    }

    /// The clock this RP decides expiries by (the one of its config).
    pub fn clock(&self) -> &Clock {
        &self.inner.config.clock
    }

    /// Unix seconds now, by [`Rp::clock`].
    pub(crate) fn now(&self) -> i64 {
        self.inner.config.clock.now()
    }

    /// The logged-in user of this request, if the session cookie names a session whose claims
    /// still count (its last ID token has not expired). Never refreshes: pages should prefer
    /// [`Rp::current_session`], which does, so that sessions outlive their ID tokens. Fails
    /// with [`RpError::Unavailable`] when the session store cannot answer.
    pub async fn session(&self, headers: &HeaderMap) -> Result<Option<RpSession>, RpError> {
        let Some(id) = cookies::get(headers, &self.inner.cookies.session) else {
            return Ok(None);
        };
        Ok(self.inner.sessions.get(&id, self.now()).await?)
    }

    /// An HTML page whose forms may lead to the IdP (the logout form).
    pub fn html(&self, status: StatusCode, body: String) -> Response {
        page::html_with_csp(status, body, self.inner.csp.clone())
    }

    /// Whether this request is the IdP's redirect back after a logout this browser started
    /// here (`state` matches). If so, returns the `Set-Cookie` that forgets the logout state.
    pub fn logout_notice(&self, headers: &HeaderMap, state: Option<&str>) -> Option<HeaderValue> {
        let expected = cookies::get(headers, &self.inner.cookies.logout)?;
        constant_time_eq(&expected, state?)
            .then(|| self.inner.cookies.clear(&self.inner.cookies.logout))
    }
}

/// 32 random bytes from the OS, base64url: 43 characters.
pub(crate) fn random_token() -> String {
    CsrfToken::new_random_len(32).into_secret()
}

pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}
