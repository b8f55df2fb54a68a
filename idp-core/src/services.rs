//! What the domain and protocol services work with: storage, keys, the clock, caches and the
//! outside services, built once at start-up. The web layer's `Services` holds one of these
//! (plus what only HTTP needs) and derefs to it, so handlers pass `&state` unchanged.

use std::{collections::HashSet, sync::Arc, time::Duration};

use tokio::sync::Semaphore;

use crate::{
    accounts::password::WorkAreas,
    clock::Clock,
    config::Config,
    failure::Failure,
    metrics::Metrics,
    oidc::{
        claims_cache::ClaimsCache,
        client::{self, Client, ClientCache},
        keys::Keys,
        Endpoints,
    },
    pii::PiiVault,
    providers::{email::EmailSender, realname::RealnameProvider, sms::SmsSender},
    store::{self, ephemeral::Ephemeral, Db},
};

#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub db: Db,
    pub store: Ephemeral,
    pub keys: Keys,
    pub clock: Clock,
    pub clients: ClientCache,
    /// Accounts with their grants and roles, for the token, userinfo and introspection paths.
    pub claims: ClaimsCache,
    /// The issuer and the endpoint URLs derived from it (tokens name the issuer).
    pub endpoints: Arc<Endpoints>,
    /// Back-channel logout deliveries.
    pub http: reqwest::Client,
    /// Bounds concurrent argon2 work to one verification per core: each holds ~19 MiB, and
    /// two sharing a core evict each other's work area from the cache.
    pub password_slots: Arc<Semaphore>,
    pub password_work: Arc<WorkAreas>,
    /// Delivers SMS one-time codes (development outbox or HTTP gateway).
    pub sms: SmsSender,
    /// Delivers email one-time codes (off, development outbox or SMTP).
    pub email: EmailSender,
    /// Seals personal data at rest and computes its lookup hashes (keys derived from the KEK).
    pub pii: PiiVault,
    /// Checks names against ID numbers (development rules or the HTTP service).
    pub realname: RealnameProvider,
    /// The process's Prometheus metrics.
    pub metrics: Metrics,
}

impl Services {
    #[allow(clippy::too_many_arguments)] // one argument per service built outside
    pub fn new(
        config: Arc<Config>,
        db: Db,
        store: Ephemeral,
        keys: Keys,
        clock: Clock,
        sms: SmsSender,
        email: EmailSender,
        pii: PiiVault,
        realname: RealnameProvider,
    ) -> Self {
        let endpoints = Arc::new(Endpoints::new(&config.issuer));
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Services {
            clients: ClientCache::new(Duration::from_secs(config.tokens.client_cache_secs)),
            claims: ClaimsCache::new(
                config.tokens.claims_cache_entries,
                Duration::from_secs(config.tokens.claims_cache_ttl_secs),
                Duration::from_millis(config.tokens.claims_cache_poll_ms.max(10)),
            ),
            config,
            db,
            store,
            keys,
            clock,
            endpoints,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            password_slots: Arc::new(Semaphore::new(cores)),
            password_work: Arc::default(),
            sms,
            email,
            pii,
            realname,
            metrics: Metrics::new(),
        }
    }

    /// A registered client, from the short cache or the database.
    pub async fn client(&self, client_id: &str) -> Result<Option<Arc<Client>>, Failure> {
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

    /// The web origins of the enabled public clients (CORS), from the client cache or, when
    /// stale, from all registered clients.
    pub async fn web_origins(&self) -> Result<Arc<HashSet<String>>, Failure> {
        if let Some(hit) = self.clients.origins() {
            return Ok(hit);
        }
        let all = store::clients::list(&self.db).await?;
        let origins = Arc::new(client::public_web_origins(&all));
        self.clients.set_origins(origins.clone());
        Ok(origins)
    }
}
