//! The Tongyi identity provider as a library: [`build_app`] turns a [`Config`] into a router
//! plus background jobs. `main.rs` and the tests both start the IdP through it.

pub mod cli;
pub mod error;
pub mod legacy;
pub mod memory;
pub mod oidc;
pub mod scale;
pub mod state;
pub mod web;

/// The storage layer, its own crate so that it cannot reach up into HTTP or the domain; kept
/// under these paths so that the rest of the IdP reads as before.
pub use tongyi_idp_store::{self as store, clock, crypto, pii};

/// The domain and the protocol services, their own crate so that they cannot reach up into
/// HTTP; kept under these paths so that web/, the endpoints and the tests read as before.
pub use tongyi_idp_core::{
    accounts, audit, config, directory, failure, fields, providers, seed, services, Failure,
    FieldErrors, Services,
};

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{routing::get, Router};
use tokio::net::TcpListener;
use tongyi_shared::client_addr::TrustedProxies;

pub use config::Config;
pub use state::AppState;

use crate::{
    oidc::keys::Keys,
    store::{ephemeral::Ephemeral, Db},
};

/// Why the IdP could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("database {0}")]
    Db(#[from] crate::store::StoreError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    Keys(#[from] oidc::keys::KeyError),
    #[error("seed file: {0}")]
    Seed(String),
    #[error("sms provider: {0}")]
    Sms(#[from] providers::sms::SmsError),
    #[error("email provider: {0}")]
    Email(#[from] providers::email::EmailError),
    #[error("real-name provider: {0}")]
    Realname(#[from] providers::realname::RealnameError),
}

/// A built IdP: its router and the state behind it.
pub struct App {
    pub router: Router,
    pub state: AppState,
}

/// Connects storage, loads or creates signing keys, seeds demo data and builds the router.
pub async fn build_app(config: Config) -> Result<App, StartError> {
    config.validate()?;
    let trusted_proxies = TrustedProxies::parse(&config.trusted_proxies).map_err(|reason| {
        config::ConfigError::Invalid {
            field: "trusted_proxies",
            reason,
        }
    })?;
    let db = Db::connect_with(
        &config.database_url,
        Duration::from_millis(config.database_acquire_timeout_ms),
    )
    .await?;
    let store = if config.redis_url.is_empty() {
        Ephemeral::memory()
    } else {
        Ephemeral::redis(&config.redis_url, &config.redis_prefix).await?
    };
    let clock = clock::Clock::default();
    let sms = providers::sms::SmsSender::from_config(&config, clock.clone())?;
    let email = providers::email::EmailSender::from_config(&config, clock.clone())?;
    let realname = providers::realname::RealnameProvider::from_config(&config)?;
    let kek = config.kek_bytes()?;
    let keys =
        Keys::load_or_create(&db, kek, clock.clone(), config.tokens.key_retention_secs()).await?;
    let pii = pii::PiiVault::new(&kek);
    if !config.seed_file.is_empty() {
        seed::apply_file(
            &db,
            &config,
            std::path::Path::new(&config.seed_file),
            clock.now(),
        )
        .await
        .map_err(StartError::Seed)?;
    }
    let services = Services::new(
        Arc::new(config),
        db,
        store,
        keys,
        clock,
        sms,
        email,
        pii,
        realname,
    );
    let state = AppState::new(services, trusted_proxies);
    let router = Router::new()
        .merge(oidc::router())
        .merge(web::router())
        .route("/healthz", get(web::health::healthz))
        .route("/readyz", get(web::health::readyz))
        .with_state(state.clone());
    let https = tongyi_shared::http_layers::Https::for_url(
        &state.config.issuer,
        state.config.hsts_max_age_secs,
        state.trusted_proxies.clone(),
    );
    let router = router.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        web::settle_claims,
    ));
    let router = router.layer(axum::middleware::from_fn_with_state(
        state.metrics.http().clone(),
        tongyi_shared::metrics::count_request,
    ));
    let router = tongyi_shared::http_layers::apply(router, https);
    Ok(App { router, state })
}

/// The Prometheus endpoint, served on `metrics_bind` apart from the public router.
pub fn metrics_router(state: &AppState) -> Router {
    tongyi_shared::metrics::router(state.metrics.registry())
}

impl App {
    /// Serves until `shutdown` resolves, then finishes the requests in flight. Background jobs
    /// (key reload, store sweeping) run for as long as the server does.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let jobs = spawn_background_jobs(self.state.clone());
        let claims = spawn_claims_follower(self.state.clone());
        let result = axum::serve(
            listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        jobs.abort();
        claims.abort();
        result
    }
}

/// Reads the claim change log for what other instances (and the CLI) changed, so that the
/// claims cache forgets it within `tokens.claims_cache_poll_ms`.
fn spawn_claims_follower(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if !state.claims.enabled() {
            return;
        }
        let mut tick = tokio::time::interval(state.claims.poll_every());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            state.claims.follow(&state.db).await;
        }
    })
}

fn spawn_background_jobs(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let period = Duration::from_secs(state.config.tokens.key_reload_secs.max(1));
        let mut tick = tokio::time::interval(period);
        tick.tick().await;
        let mut last_purge = std::time::Instant::now();
        loop {
            tick.tick().await;
            state.store.sweep();
            state.password_work.release_idle(Duration::from_secs(30));
            if last_purge.elapsed() >= Duration::from_secs(600) {
                last_purge = std::time::Instant::now();
                match store::refresh::purge_expired(&state.db, state.clock.now()).await {
                    Ok(n) if n > 0 => tracing::info!(deleted = n, "expired refresh tokens purged"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "refresh token purge failed"),
                }
            }
            match accounts::realname::run_due(&state).await {
                Ok(n) if n > 0 => tracing::info!(checked = n, "queued real-name checks run"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "queued real-name checks failed"),
            }
            match state.keys.reload_if_changed(&state.db).await {
                Ok(true) => tracing::info!("signing keys reloaded after a rotation"),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "signing key reload failed"),
            }
        }
    })
}
