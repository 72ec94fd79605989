//! Logs for a bot's own binary: what `RUST_LOG` lets through (default `info`), written as
//! `BOTWIRE_LOG_FORMAT` says: `text` (the default, for people) or `json` (one JSON object per
//! line, for collectors such as Loki, Vector or Cloud Logging).
//!
//! ```no_run
//! fn main() -> Result<(), botwire::logs::LogsError> {
//!     botwire::logs::init()?;
//!     tracing::info!("logged as BOTWIRE_LOG_FORMAT says");
//!     Ok(())
//! }
//! ```
//!
//! botwire itself only emits `tracing` events; an embedder with its own subscriber does not
//! call this.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The variable that names the format.
pub const FORMAT_VARIABLE: &str = "BOTWIRE_LOG_FORMAT";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Format {
    /// Human-readable lines, coloured on a terminal.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, the event's fields (with
    /// `message`), and the current span's fields.
    Json,
}

impl Format {
    /// The format `value` names (`None`, unset: text).
    ///
    /// # Errors
    /// When `value` is neither `text` nor `json`.
    pub fn parse(value: Option<&str>) -> Result<Self, LogsError> {
        match value.map(str::trim) {
            None | Some("" | "text") => Ok(Self::Text),
            Some("json") => Ok(Self::Json),
            Some(_) => Err(LogsError::UnknownFormat),
        }
    }
}

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogsError {
    /// `BOTWIRE_LOG_FORMAT` is neither `text` nor `json`.
    #[error("BOTWIRE_LOG_FORMAT: expected text or json")]
    UnknownFormat,
    /// `BOTWIRE_LOG_FORMAT` is not UTF-8.
    #[error("BOTWIRE_LOG_FORMAT: not UTF-8")]
    NotUnicode,
    /// A subscriber was already set up in this process.
    #[error("logging was already set up in this process")]
    AlreadySet,
}

/// Sets up logging from `RUST_LOG` and `BOTWIRE_LOG_FORMAT`, to standard output.
///
/// # Errors
/// When the format is unknown, or a subscriber is already set.
pub fn init() -> Result<(), LogsError> {
    let format = match std::env::var(FORMAT_VARIABLE) {
        Ok(value) => Format::parse(Some(&value))?,
        Err(std::env::VarError::NotPresent) => Format::Text,
        Err(std::env::VarError::NotUnicode(_)) => return Err(LogsError::NotUnicode),
    };
    init_with(format)
}

/// Sets up logging in `format`, filtered by `RUST_LOG` (default `info`).
///
/// # Errors
/// When a subscriber is already set.
pub fn init_with(format: Format) -> Result<(), LogsError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    let set = match format {
        Format::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        // Colours only on a terminal: a file or a collector gets plain text.
        Format::Text => logs.with_ansi(std::io::stdout().is_terminal()).try_init(),
    };
    set.map_err(|_| LogsError::AlreadySet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_text_unless_json_is_named() {
        assert_eq!(Format::parse(None).ok(), Some(Format::Text));
        assert_eq!(Format::parse(Some("")).ok(), Some(Format::Text));
        assert_eq!(Format::parse(Some("text")).ok(), Some(Format::Text));
        assert_eq!(Format::parse(Some(" json ")).ok(), Some(Format::Json));
        let error = Format::parse(Some("yaml")).expect_err("unknown");
        assert_eq!(
            error.to_string(),
            "BOTWIRE_LOG_FORMAT: expected text or json"
        );
    }
}
