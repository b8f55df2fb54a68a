//! `subsystems`: serve one Tongyi subsystem, chosen by its config file, until SIGINT or SIGTERM.

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;
use tongyi_shared::rp::server;
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
    server::init_tracing();
    let cli = Cli::parse();
    server::exit_code("subsystems", run(&cli).await)
}

async fn run(cli: &Cli) -> Result<(), String> {
    let config = Config::load(&cli.config).map_err(|e| e.to_string())?;
    let bind = config.bind.clone();
    let base_url = config.rp.base_url.clone();
    let code = config.code.clone();
    tongyi_shared::metrics::listen(&config.rp.metrics_bind, config.rp.metrics.registry()).await?;
    server::serve(&bind, build_app(config), || {
        tracing::info!(code = %code, %base_url, %bind, "subsystem listening");
    })
    .await?;
    tracing::info!(code = %code, "subsystem stopped");
    Ok(())
}
