//! `botwire store`: read and change what a bot's store holds — conversation states, what bots
//! remembered, dead letters. The embedded store only while the bot is stopped (the file
//! belongs to one process at a time); Redis at any time.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use botwire_core::ConversationData;
use botwire_store::{ConversationKey, EmbeddedStore, JobId, Queue, StateStore, StoreError};
use botwire_store_redis::RedisStore;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

#[derive(Debug, Args)]
pub(crate) struct Store {
    /// The data directory of the bot's embedded store.
    #[arg(long, env = "BOTWIRE_DATA_DIR", default_value = "./botwire-data")]
    data_dir: PathBuf,
    /// A redis:// or rediss:// URL to use the bots' shared Redis instead.
    #[arg(long, env = "BOTWIRE_STORE", hide_env_values = true)]
    store: Option<String>,
    /// The prefix of the deployment's Redis keys.
    #[arg(long, env = "BOTWIRE_REDIS_PREFIX", default_value = "botwire")]
    redis_prefix: String,
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Prints a conversation's state and version.
    State {
        /// The channel (e.g. kamigo).
        channel: String,
        /// The conversation (room, group or chat id).
        conversation: String,
    },
    /// Sets a conversation's state.
    SetState {
        /// The channel.
        channel: String,
        /// The conversation.
        conversation: String,
        /// The state to put it in.
        state: String,
    },
    /// Writes every state and everything bots remembered as JSON lines on stdout.
    Export,
    /// Reads JSON lines (as `export` writes them) on stdin into the store.
    Import,
    /// Lists the dead letters as JSON lines.
    DeadLetters,
    /// Queues a dead letter again; the bot sends it when it next runs.
    Replay {
        /// The dead letter's id.
        id: u64,
    },
}

/// The store the command works on.
enum Backend {
    Embedded(EmbeddedStore),
    Redis(RedisStore),
}

impl Backend {
    fn states(&self) -> &dyn StateStore {
        match self {
            Self::Embedded(store) => store,
            Self::Redis(store) => store,
        }
    }

    fn data(&self) -> &dyn ConversationData {
        match self {
            Self::Embedded(store) => store,
            Self::Redis(store) => store,
        }
    }

    fn queue(&self) -> &dyn Queue {
        match self {
            Self::Embedded(store) => store,
            Self::Redis(store) => store,
        }
    }

    async fn all_states(
        &self,
    ) -> Result<Vec<(String, String, botwire_store::Versioned)>, StoreError> {
        match self {
            Self::Embedded(store) => store.all_states(),
            Self::Redis(store) => store.all_states().await,
        }
    }

    async fn all_data(&self) -> Result<Vec<(String, String, String, String)>, StoreError> {
        match self {
            Self::Embedded(store) => store.all_data(),
            Self::Redis(store) => store.all_data().await,
        }
    }
}

pub(crate) async fn run(store: Store) -> Result<ExitCode, String> {
    let opened = match store.store.as_deref().map(str::trim) {
        Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => Backend::Redis(
            RedisStore::connect(url, &store.redis_prefix)
                .await
                .map_err(|e| format!("cannot reach Redis: {e}"))?,
        ),
        None | Some("" | "embedded") => {
            // Reading needs a store that exists; writing may start one (an import into a new
            // bot).
            let create = matches!(store.action, Action::Import | Action::SetState { .. });
            Backend::Embedded(open(&store.data_dir, create)?)
        }
        Some(_) => return Err("--store must be embedded or a redis:// URL".to_owned()),
    };
    let mut out = std::io::stdout().lock();
    match store.action {
        Action::State {
            channel,
            conversation,
        } => {
            let key = ConversationKey::new(&channel, &conversation);
            match opened.states().load(&key).await.map_err(failed)? {
                Some(found) => print_line(
                    &mut out,
                    &json!({"state": found.state, "version": found.version}),
                )?,
                None => {
                    eprintln!("botwire: {channel}/{conversation} has no state yet");
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        Action::SetState {
            channel,
            conversation,
            state,
        } => {
            let version = set_state(&opened, &channel, &conversation, &state).await?;
            print_line(&mut out, &json!({"state": state, "version": version}))?;
        }
        Action::Export => {
            for (channel, conversation, found) in opened.all_states().await.map_err(failed)? {
                print_line(
                    &mut out,
                    &json!({"kind": "state", "channel": channel, "conversation": conversation,
                            "state": found.state, "version": found.version}),
                )?;
            }
            for (channel, conversation, key, value) in opened.all_data().await.map_err(failed)? {
                print_line(
                    &mut out,
                    &json!({"kind": "data", "channel": channel, "conversation": conversation,
                            "key": key, "value": value}),
                )?;
            }
        }
        Action::Import => {
            let mut imported = 0;
            for (n, line) in std::io::stdin().lock().lines().enumerate() {
                let line = line.map_err(|e| format!("cannot read stdin: {e}"))?;
                if line.trim().is_empty() {
                    continue;
                }
                import(&opened, &line)
                    .await
                    .map_err(|e| format!("line {}: {e}", n + 1))?;
                imported += 1;
            }
            eprintln!("botwire: imported {imported} lines");
        }
        Action::DeadLetters => {
            for dead in opened.queue().dead_letters().await.map_err(failed)? {
                let job = &dead.job;
                print_line(
                    &mut out,
                    &json!({"id": job.id.0, "channel": job.channel,
                            "conversation": job.conversation, "delivery_id": job.delivery_id,
                            "attempts": job.attempts, "reason": dead.reason,
                            "last_error": job.last_error}),
                )?;
            }
        }
        Action::Replay { id } => {
            if !opened.queue().replay(JobId(id)).await.map_err(failed)? {
                eprintln!("botwire: no dead letter {id}");
                return Ok(ExitCode::FAILURE);
            }
            eprintln!("botwire: dead letter {id} is queued again");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn open(data_dir: &Path, create: bool) -> Result<EmbeddedStore, String> {
    let file = data_dir.join("botwire.redb");
    if !create && !file.exists() {
        return Err(format!(
            "no store at {} (is --data-dir right?)",
            file.display()
        ));
    }
    EmbeddedStore::open(&file).map_err(|error| {
        let shown = error.to_string();
        if shown.contains("already open") || shown.contains("AlreadyOpen") {
            format!("{} is in use: stop the bot first", file.display())
        } else {
            format!("cannot open {}: {shown}", file.display())
        }
    })
}

/// Puts a conversation in `state`, whatever its version.
async fn set_state(
    store: &Backend,
    channel: &str,
    conversation: &str,
    state: &str,
) -> Result<u64, String> {
    let key = ConversationKey::new(channel, conversation);
    let states = store.states();
    let current = states.load(&key).await.map_err(failed)?.map(|v| v.version);
    states.save(&key, state, current).await.map_err(failed)
}

/// One exported line back into the store.
async fn import(store: &Backend, line: &str) -> Result<(), String> {
    let value: Value = serde_json::from_str(line).map_err(|_| "not a JSON object".to_owned())?;
    let text = |field: &str| {
        value[field]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("missing field `{field}`"))
    };
    let (channel, conversation) = (text("channel")?, text("conversation")?);
    match value["kind"].as_str() {
        Some("state") => set_state(store, &channel, &conversation, &text("state")?)
            .await
            .map(drop),
        Some("data") => store
            .data()
            .set(&channel, &conversation, &text("key")?, &text("value")?)
            .await
            .map_err(|e| format!("the store failed: {e}")),
        _ => Err("`kind` must be \"state\" or \"data\"".to_owned()),
    }
}

fn failed(error: StoreError) -> String {
    format!("the store failed: {error}")
}

fn print_line(out: &mut impl Write, value: &Value) -> Result<(), String> {
    writeln!(out, "{value}").map_err(|e| format!("cannot write: {e}"))
}
