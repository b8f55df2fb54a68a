//! Application state handed to every handler.

use std::sync::Arc;

use axum::extract::FromRef;
use tongyi_shared::rp::Rp;

use crate::config::Config;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The login glue: sessions, login and logout.
    pub rp: Rp,
}

impl AppState {
    pub fn new(config: Config, rp: Rp) -> Self {
        AppState {
            config: Arc::new(config),
            rp,
        }
    }
}

impl FromRef<AppState> for Rp {
    fn from_ref(state: &AppState) -> Rp {
        state.rp.clone()
    }
}
