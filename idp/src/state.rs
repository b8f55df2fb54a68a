//! Application state handed to every handler: the core's [`Services`] plus what only HTTP
//! needs. It derefs to the services, so a handler passes `&state` to a domain function that
//! takes `&Services`.

use std::ops::{Deref, DerefMut};

use axum::{body::Bytes, extract::FromRef};
use tongyi_shared::client_addr::TrustedProxies;

use crate::{oidc::discovery, services::Services};

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    /// The discovery document, serialized once at start-up.
    pub discovery: Bytes,
    /// The reverse proxies whose forwarding headers name the client (`trusted_proxies`).
    pub trusted_proxies: TrustedProxies,
}

impl AppState {
    pub fn new(services: Services, trusted_proxies: TrustedProxies) -> Self {
        let discovery = discovery::document(&services.endpoints, &services.config);
        AppState {
            services,
            discovery,
            trusted_proxies,
        }
    }
}

impl FromRef<AppState> for TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        state.trusted_proxies.clone()
    }
}

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

/// Tests swap a provider or the config of a cloned state.
impl DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut Services {
        &mut self.services
    }
}
