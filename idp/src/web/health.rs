//! Liveness and readiness probes.

use axum::{extract::State, http::StatusCode};

use crate::state::AppState;

/// The process is up and serving.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The database and the short-lived store answer.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if let Err(e) = state.db.ping().await {
        tracing::warn!(error = %e, "readiness: database unavailable");
        return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
    }
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "readiness: store unavailable");
        return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable");
    }
    (StatusCode::OK, "ready")
}
