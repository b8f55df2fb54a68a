//! The state every handler of a relying-party app gets: the app's own configuration and the
//! login glue.

use std::sync::Arc;

use axum::extract::FromRef;

use super::Rp;
use crate::client_addr::TrustedProxies;

/// An app's state, over its configuration type `C`. Cheap to clone.
pub struct AppState<C> {
    pub config: Arc<C>,
    /// The login glue: sessions, login and logout.
    pub rp: Rp,
}

impl<C> AppState<C> {
    pub fn new(config: C, rp: Rp) -> Self {
        AppState {
            config: Arc::new(config),
            rp,
        }
    }
}

impl<C> Clone for AppState<C> {
    fn clone(&self) -> Self {
        AppState {
            config: self.config.clone(),
            rp: self.rp.clone(),
        }
    }
}

impl<C> FromRef<AppState<C>> for Rp {
    fn from_ref(state: &AppState<C>) -> Rp {
        state.rp.clone()
    }
}

/// For [`crate::client_addr::ClientAddr`]: the proxies of the `[rp]` table.
impl<C> FromRef<AppState<C>> for TrustedProxies {
    fn from_ref(state: &AppState<C>) -> TrustedProxies {
        state.rp.config().trusted_proxies.clone()
    }
}
