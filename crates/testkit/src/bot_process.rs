//! A bot running as a process of its own, as users run it: started with a command, found by
//! the addresses its log prints, and killed with SIGKILL when a test wants a crash.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a bot may take to say where it listens; only a guard against a hung start.
const START_GUARD: Duration = Duration::from_secs(120);

/// A started bot. Dropping it kills the process.
#[derive(Debug)]
pub struct BotProcess {
    child: Child,
    /// The webhook listener, from "botwire is listening addr=…".
    pub addr: SocketAddr,
    /// The admin listener, from "admin listener url=http://…", when it is on.
    pub admin: Option<SocketAddr>,
}

/// Why a bot did not start.
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

impl BotProcess {
    /// Runs `command` (its stdout becomes the log this reads; set `BOTWIRE_LISTEN` to
    /// `127.0.0.1:0`) and waits until the bot says where it listens. The rest of its log is
    /// drained so the bot never blocks on a full pipe.
    ///
    /// # Errors
    /// When it does not start, exits before listening, or says nothing for two minutes.
    pub async fn start(mut command: Command) -> Result<Self, StartError> {
        let mut child = command.stdout(Stdio::piped()).kill_on_drop(true).spawn()?;
        let stdout = child.stdout.take().ok_or("stdout is not piped")?;
        let mut lines = BufReader::new(stdout).lines();
        let found = tokio::time::timeout(START_GUARD, async {
            let mut admin = None;
            while let Some(line) = lines.next_line().await? {
                let line = strip_ansi(&line);
                admin = admin.or_else(|| admin_on(&line));
                if let Some(addr) = listening_on(&line) {
                    return Ok::<_, StartError>((addr, admin));
                }
            }
            Err("the bot exited before listening".into())
        })
        .await;
        let (addr, admin) = found.map_err(|_| "the bot did not listen within two minutes")??;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { child, addr, admin })
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Kills it with SIGKILL and waits until it is gone.
    ///
    /// # Errors
    /// When the signal cannot be sent.
    pub async fn kill(&mut self) -> std::io::Result<()> {
        self.child.kill().await
    }
}

/// The address in an "admin listener … url=http://…/" log line.
fn admin_on(line: &str) -> Option<SocketAddr> {
    if !line.contains("admin listener") {
        return None;
    }
    line.split_whitespace()
        .find_map(|field| field.strip_prefix("url=http://"))
        .and_then(|rest| rest.split('/').next())
        .and_then(|addr| addr.parse().ok())
}

/// The address in a "botwire is listening addr=…" log line.
fn listening_on(line: &str) -> Option<SocketAddr> {
    if !line.contains("botwire is listening") {
        return None;
    }
    line.split_whitespace()
        .find_map(|field| field.strip_prefix("addr="))
        .and_then(|addr| addr.parse().ok())
}

/// `text` without terminal colour sequences (a bot started on a terminal colours its log).
fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_both_addresses_in_a_coloured_log() {
        let listening = "\u{1b}[2m2026-12-02\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m botwire is listening \
                         \u{1b}[3maddr\u{1b}[0m\u{1b}[2m=\u{1b}[0m127.0.0.1:4567";
        assert_eq!(
            listening_on(&strip_ansi(listening)),
            Some("127.0.0.1:4567".parse().expect("addr"))
        );
        let admin = "INFO admin listener (the delivery-log page) url=http://127.0.0.1:9090/";
        assert_eq!(
            admin_on(admin),
            Some("127.0.0.1:9090".parse().expect("addr"))
        );
        assert_eq!(listening_on("INFO botwire is listening"), None);
        assert_eq!(
            admin_on("INFO something else url=http://127.0.0.1:1/"),
            None
        );
    }

    #[tokio::test]
    async fn a_command_that_exits_before_listening_is_an_error() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo starting; exit 3"]);
        let error = BotProcess::start(command)
            .await
            .expect_err("never listened");
        assert_eq!(error.to_string(), "the bot exited before listening");
    }
}
