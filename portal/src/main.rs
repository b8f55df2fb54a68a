//! `portal`: serve the Tongyi portal until SIGINT or SIGTERM.

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;
use tongyi_portal::{build_app, Config};
use tongyi_shared::rp::server;

#[derive(Parser)]
#[command(
    name = "portal",
    about = "Tongyi portal (统一门户), an OpenID Connect relying party"
)]
struct Cli {
    /// Configuration file; environment variables override its values.
    #[arg(
        long,
        default_value = "config/portal.toml",
        env = "TONGYI_PORTAL_CONFIG"
    )]
    config: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    server::init_tracing();
    let cli = Cli::parse();
    server::exit_code("portal", run(&cli).await)
}

async fn run(cli: &Cli) -> Result<(), String> {
    let config = Config::load(&cli.config).map_err(|e| e.to_string())?;
    let bind = config.bind.clone();
    let base_url = config.rp.base_url.clone();
    tongyi_shared::metrics::listen(&config.rp.metrics_bind, config.rp.metrics.registry()).await?;
    server::serve(&bind, build_app(config), || {
        tracing::info!(%base_url, %bind, "portal listening");
    })
    .await?;
    tracing::info!("portal stopped");
    Ok(())
}
