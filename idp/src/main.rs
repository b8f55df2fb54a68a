//! `idp`: serve the OpenID Connect provider, or administer its clients, keys and accounts.

use std::process::ExitCode;

use clap::Parser;
use tongyi_idp::{
    build_app,
    cli::{run_account, run_backup, run_client, run_keys, Cli, Command},
    store::Db,
    Config,
};
use tongyi_shared::process;

#[tokio::main]
async fn main() -> ExitCode {
    process::init_tracing("info,sqlx=warn");
    tongyi_idp::memory::return_large_blocks_to_the_os();
    let cli = Cli::parse();
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("idp: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Serve => serve(config).await,
        Command::Client(cmd) => match Db::connect(&config.database_url).await {
            Ok(db) => run_client(&db, cmd).await,
            Err(e) => Err(format!("database: {e}")),
        },
        Command::Keys(cmd) => match Db::connect(&config.database_url).await {
            Ok(db) => run_keys(&db, &config, &tongyi_idp::clock::Clock::default(), cmd).await,
            Err(e) => Err(format!("database: {e}")),
        },
        Command::Backup { to } => match Db::connect(&config.database_url).await {
            Ok(db) => run_backup(&db, &to).await,
            Err(e) => Err(format!("database: {e}")),
        },
        Command::Legacy(cmd) => tongyi_idp::legacy::command::run_legacy(&config, cmd).await,
        Command::Scale(cmd) => tongyi_idp::scale::run_scale(&config, cmd).await,
        Command::Account(cmd) => match build_app(config).await {
            Ok(app) => run_account(&app.state, cmd).await,
            Err(e) => Err(e.to_string()),
        },
    };
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("idp: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<String, String> {
    let bind = config.bind.clone();
    let issuer = config.issuer.clone();
    let metrics_bind = config.metrics_bind.clone();
    let app = build_app(config).await.map_err(|e| e.to_string())?;
    tongyi_shared::metrics::listen(&metrics_bind, app.state.metrics.registry()).await?;
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    tracing::info!(%issuer, %bind, "IdP listening");
    app.serve(listener, process::shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("IdP stopped");
    Ok(String::new())
}
