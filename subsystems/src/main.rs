//! `subsystems`: serve one Tongyi subsystem, chosen by its config file, until SIGINT or SIGTERM.

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;
use tongyi_subsystems::{build_app, Config};

#[derive(Parser)]
#[command(
    name = "subsystems",
    about = "A Tongyi subsystem (incubator or makerspace), an OpenID Connect relying party"
)]
struct Cli {
    /// The subsystem's configuration file, e.g. config/incubator.toml; environment variables
    /// override its values.
    #[arg(long, env = "TONGYI_SUBSYSTEM_CONFIG")]
    config: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // JSON lines for log collectors in production; readable text otherwise (as the IdP).
    if std::env::var("TONGYI_LOG_FORMAT").as_deref() == Ok("json") {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let cli = Cli::parse();
    match run(&cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("subsystems: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: &Cli) -> Result<(), String> {
    let config = Config::load(&cli.config).map_err(|e| e.to_string())?;
    let bind = config.bind.clone();
    let base_url = config.rp.base_url.clone();
    let code = config.code.clone();
    // Listen first so that a port conflict shows before the wait for the IdP.
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let app = build_app(config).await.map_err(|e| e.to_string())?;
    tracing::info!(code = %code, %base_url, %bind, "subsystem listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(code = %code, "subsystem stopped");
    Ok(())
}

async fn shutdown_signal() {
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
