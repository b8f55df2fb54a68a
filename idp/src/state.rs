//! Application state handed to every handler.

use std::{sync::Arc, time::Duration};

use axum::body::Bytes;
use tokio::sync::Semaphore;

use crate::{
    accounts::password::WorkAreas,
    clock::Clock,
    config::Config,
    error::AppError,
    oidc::{
        client::{Client, ClientCache},
        discovery,
        keys::Keys,
        Endpoints,
    },
    pii::PiiVault,
    providers::{realname::RealnameProvider, sms::SmsSender},
    store::{self, ephemeral::Ephemeral, Db},
};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub store: Ephemeral,
    pub keys: Keys,
    pub clock: Clock,
    pub clients: ClientCache,
    pub endpoints: Arc<Endpoints>,
    /// The discovery document, serialized once at start-up.
    pub discovery: Bytes,
    /// Back-channel logout deliveries.
    pub http: reqwest::Client,
    /// Bounds concurrent argon2 work to one verification per core: each holds ~19 MiB, and
    /// two sharing a core evict each other's work area from the cache.
    pub password_slots: Arc<Semaphore>,
    pub password_work: Arc<WorkAreas>,
    /// Delivers SMS one-time codes (development outbox or HTTP gateway).
    pub sms: SmsSender,
    /// Seals personal data at rest and computes its lookup hashes (keys derived from the KEK).
    pub pii: PiiVault,
    /// Checks names against ID numbers (development rules or the HTTP service).
    pub realname: RealnameProvider,
}

impl AppState {
    #[allow(clippy::too_many_arguments)] // one argument per service the state holds
    pub fn new(
        config: Arc<Config>,
        db: Db,
        store: Ephemeral,
        keys: Keys,
        clock: Clock,
        sms: SmsSender,
        pii: PiiVault,
        realname: RealnameProvider,
    ) -> Self {
        let endpoints = Arc::new(Endpoints::new(&config.issuer));
        let discovery = discovery::document(&endpoints);
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        AppState {
            clients: ClientCache::new(Duration::from_secs(config.tokens.client_cache_secs)),
            config,
            db,
            store,
            keys,
            clock,
            endpoints,
            discovery,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            password_slots: Arc::new(Semaphore::new(cores)),
            password_work: Arc::default(),
            sms,
            pii,
            realname,
        }
    }

    /// A registered client, from the short cache or the database.
    pub async fn client(&self, client_id: &str) -> Result<Option<Arc<Client>>, AppError> {
        if let Some(hit) = self.clients.get(client_id) {
            return Ok(hit);
        }
        // A disabled client is as good as unknown to every protocol endpoint.
        let found = store::clients::find(&self.db, client_id)
            .await?
            .filter(|c| c.enabled)
            .map(Arc::new);
        self.clients.insert(client_id, found.clone());
        Ok(found)
    }
}
