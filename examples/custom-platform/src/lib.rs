//! A platform botwire does not ship, added by its user: Microsoft Teams outgoing webhooks.
//!
//! [`Teams`] is registered with the server, and from then on its channels are mounted from the
//! TOML file and `BOTWIRE_*` variables exactly like the built-in platforms':
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // BOTWIRE_TEAMS_TOKEN=<the security token> mounts POST /webhooks/teams.
//! botwire::Server::new()
//!     .platform(custom_platform::Teams)
//!     .configure_from_env()?
//!     .bot(echo_bot::bot()?)
//!     .serve()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! The walk-through is `docs/custom-platform.md` (`botwire::guide::custom_platform`).

mod teams;
mod wire;

pub use teams::{DEADLINE, ID, NO_OP, SIGNATURE_HEADER, Teams, TeamsAdapter, TokenError};
