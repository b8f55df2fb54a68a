//! Running a relying-party app as a process: logging set up as in the IdP, the router served
//! until SIGINT or SIGTERM, and the outcome turned into an exit code.

use std::{fmt::Display, future::Future};

use axum::Router;

pub use crate::process::{exit_code, shutdown_signal};

/// Logs as the IdP does (see [`crate::process::init_tracing`]), filtered by `RUST_LOG`
/// (default `info`).
pub fn init_tracing() {
    crate::process::init_tracing("info");
}

/// Listens on `bind`, then builds the app with `app` (which may wait for the IdP), calls
/// `listening` to announce it, and serves it until SIGINT or SIGTERM, letting requests in
/// progress finish. Listening comes first so that a port conflict shows before the wait.
pub async fn serve<E: Display>(
    bind: &str,
    app: impl Future<Output = Result<Router, E>>,
    listening: impl FnOnce(),
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let app = app.await.map_err(|e| e.to_string())?;
    listening();
    // The peer's address feeds `ClientAddr` (behind `rp.trusted_proxies`, the proxy's client).
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| e.to_string())
}
