//! Running a relying-party app as a process: logging set up as in the IdP, the router served
//! until SIGINT or SIGTERM, and the outcome turned into an exit code.

use std::{fmt::Display, future::Future, process::ExitCode};

use axum::Router;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`): JSON lines for log collectors when
/// `TONGYI_LOG_FORMAT=json` (production), readable text otherwise, as the IdP does.
pub fn init_tracing() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    if std::env::var("TONGYI_LOG_FORMAT").as_deref() == Ok("json") {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
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
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

/// Completes on the first SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// The process's exit code; a failure is reported on stderr after the program's name.
pub fn exit_code(program: &str, outcome: Result<(), String>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            ExitCode::FAILURE
        }
    }
}
