//! Runs the echo bot on every channel whose secret is set (see README.md).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// mimalloc rather than the system allocator: a remembered delivery costs about 60 bytes less
/// (no header per allocation, less fragmentation), and the hot path runs about 10% faster
/// (docs/performance.md). botwire itself does not choose an allocator; a bot's binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// botwire's sample bot: a SimSimi-style echo bot that can be taught new answers.
///
/// Settings come from BOTWIRE_* environment variables (e.g. BOTWIRE_FUNTEK_TOKEN) and an
/// optional TOML file; the variables win.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// A TOML config file (default: $BOTWIRE_CONFIG, if set).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,

    /// How long the `teaching` state waits for a lesson before it says it timed out and goes
    /// back to idle (`30s`, `5m`, `1h`).
    #[arg(long, env = "ECHO_BOT_TEACH_TIMEOUT", value_name = "DURATION", default_value = "5m",
          value_parser = teach_timeout)]
    teach_timeout: Duration,
}

/// A duration above zero, as humantime writes it.
fn teach_timeout(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err("must be above zero".to_owned()),
        Err(error) => Err(format!("{error} (write it as 30s, 5m or 1h)")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // RUST_LOG, and BOTWIRE_LOG_FORMAT=json for one JSON object per line.
    if let Err(error) = botwire::logs::init() {
        eprintln!("echo-bot: {error}");
        return ExitCode::FAILURE;
    }
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("echo-bot: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let server = match &args.config {
        Some(path) => botwire::Server::from_config_file(path)?,
        None => botwire::Server::from_env()?,
    };
    server
        .bot(echo_bot::bot_with(args.teach_timeout)?)
        .serve()
        .await?;
    Ok(())
}
