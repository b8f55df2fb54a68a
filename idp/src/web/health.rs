//! Liveness and readiness probes.

use std::time::Duration;

use axum::{extract::State, http::StatusCode};

use crate::state::AppState;

/// Each check's bound, so that the probe answers within a second even while a store hangs.
const CHECK_TIMEOUT: Duration = Duration::from_millis(450);

/// The process is up and serving.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The database and the short-lived store answer, each within [`CHECK_TIMEOUT`].
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let (db, store) = tokio::join!(
        tokio::time::timeout(CHECK_TIMEOUT, state.db.ping()),
        tokio::time::timeout(CHECK_TIMEOUT, state.store.ping()),
    );
    match db {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unavailable");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
        }
        Err(_) => {
            tracing::warn!("readiness: database did not answer in time");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
        }
    }
    match store {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: store unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
        Err(_) => {
            tracing::warn!("readiness: store did not answer in time");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}
