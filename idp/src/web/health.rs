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
        within_bound("database", state.db.ping()),
        within_bound("store", state.store.ping()),
    );
    match (db, store) {
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
        (_, false) => (StatusCode::SERVICE_UNAVAILABLE, "store unavailable"),
        _ => (StatusCode::OK, "ready"),
    }
}

/// Whether `check` succeeded within the bound; a failure or a timeout is logged.
async fn within_bound<E: std::fmt::Display>(
    what: &'static str,
    check: impl std::future::Future<Output = Result<(), E>>,
) -> bool {
    match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: {what} unavailable");
            false
        }
        Err(_) => {
            tracing::warn!("readiness: {what} did not answer in time");
            false
        }
    }
}
