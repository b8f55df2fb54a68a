//! Application state handed to every handler: the core's [`Services`] plus what only HTTP
//! needs. It derefs to the services, so a handler passes `&state` to a domain function that
//! takes `&Services`.

use std::{
    ops::{Deref, DerefMut},
    sync::Arc,
};

use axum::{body::Bytes, extract::FromRef};
use tongyi_shared::client_addr::TrustedProxies;

use crate::{oidc::discovery, services::Services};

/// One `Arc`: axum clones the state for every request (the router, each middleware with
/// state, each `State` extractor), and cloning the services field by field was measured at 8 %
/// of the IdP's time on discovery (a reference count per service, and the move of a large
/// struct).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

#[derive(Clone)]
pub struct Shared {
    pub services: Services,
    /// The discovery document, serialized once at start-up.
    pub discovery: Bytes,
    /// The reverse proxies whose forwarding headers name the client (`trusted_proxies`).
    pub trusted_proxies: TrustedProxies,
}

impl AppState {
    pub fn new(services: Services, trusted_proxies: TrustedProxies) -> Self {
        let discovery = discovery::document(&services.endpoints, &services.config);
        AppState(Arc::new(Shared {
            services,
            discovery,
            trusted_proxies,
        }))
    }
}

impl FromRef<AppState> for TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        state.trusted_proxies.clone()
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Tests swap a provider or the config of a cloned state: the clone gets its own copy.
impl DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
    }
}

impl Deref for Shared {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

impl DerefMut for Shared {
    fn deref_mut(&mut self) -> &mut Services {
        &mut self.services
    }
}
