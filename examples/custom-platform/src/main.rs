//! The sample echo bot on Microsoft Teams (and every built-in platform whose secret is set).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// botwire's echo bot with the Teams platform of `examples/custom-platform` registered.
///
/// BOTWIRE_TEAMS_TOKEN (the webhook's security token) mounts POST /webhooks/teams; every other
/// BOTWIRE_* variable works as for the echo-bot.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// A TOML config file (default: $BOTWIRE_CONFIG, if set).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(error) = botwire::logs::init() {
        eprintln!("custom-platform: {error}");
        return ExitCode::FAILURE;
    }
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("custom-platform: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let server = botwire::Server::new().platform(custom_platform::Teams);
    let server = match &args.config {
        Some(path) => server.configure_from_file(path)?,
        None => server.configure_from_env()?,
    };
    server.bot(echo_bot::bot()?).serve().await?;
    Ok(())
}
