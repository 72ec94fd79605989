//! The bot under the flood: the sample bot exactly as `echo-bot` runs it (settings from
//! `BOTWIRE_*` variables), in a process of its own so it can be killed with SIGKILL.

use std::path::Path;

use tokio::process::Command;
use tracing_subscriber::EnvFilter;

use crate::load::run::BoxResult;

/// `botwire-bench flood-bot`: serves until killed.
///
/// # Errors
/// When the settings are wrong or the server does not start.
pub(crate) fn serve() -> BoxResult<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_ansi(false)
        .init();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        botwire::Server::from_env()?
            .bot(echo_bot::bot()?)
            .serve()
            .await?;
        Ok(())
    })
}

/// The command that starts it on `data_dir`, answering Chatwork with `settings` on top.
///
/// # Errors
/// When this program's own path is unknown.
pub(crate) fn command(data_dir: &Path, settings: &[(&str, String)]) -> BoxResult<Command> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("flood-bot")
        .env_clear()
        .env("BOTWIRE_LISTEN", "127.0.0.1:0")
        .env("BOTWIRE_ADMIN_LISTEN", "127.0.0.1:0")
        .env("BOTWIRE_DATA_DIR", data_dir)
        .env("RUST_LOG", "info")
        .envs(settings.iter().map(|(k, v)| (*k, v.as_str())));
    Ok(command)
}
