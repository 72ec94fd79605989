//! `BOTWIRE_LOG_FORMAT`: `json` makes every log line one JSON object (what collectors read);
//! an unknown format stops the start, naming the variable.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use botwire_testkit::{funtek, tcp};
use http::StatusCode;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Only a guard against a hung test.
const GUARD: Duration = Duration::from_secs(120);

fn echo_bot(format: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_echo-bot"));
    command
        .env_clear()
        .env("BOTWIRE_LOG_FORMAT", format)
        .env("BOTWIRE_LISTEN", "127.0.0.1:0")
        .env("BOTWIRE_ADMIN_LISTEN", "off")
        .env("BOTWIRE_STORE", "memory")
        .env("BOTWIRE_FUNTEK_TOKEN", "logs-token")
        .env("RUST_LOG", "debug")
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let mut bot = echo_bot("json")
        .stdout(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut lines = BufReader::new(bot.stdout.take().expect("piped")).lines();
    let mut next = async || {
        let line = tokio::time::timeout(GUARD, lines.next_line())
            .await
            .expect("a line in time")
            .expect("readable")
            .expect("the bot is still running");
        let object: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
        assert!(object.is_object(), "{line}");
        for key in ["timestamp", "level", "target", "fields"] {
            assert!(object.get(key).is_some(), "{key} in {line}");
        }
        object
    };
    let addr: SocketAddr = loop {
        let object = next().await;
        if object["fields"]["message"] == "botwire is listening" {
            let addr = object["fields"]["addr"].as_str().expect("the address");
            break addr.parse().expect("an address");
        }
    };
    // A refused delivery is logged (at debug) with its channel, in the same shape.
    let refused = funtek::Signer::token("wrong").request("/webhooks/funtek", funtek::message("hi"));
    let status = tcp::send(addr, refused).await.expect("answered").status;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    loop {
        let object = next().await;
        if object["fields"]["message"] == "refused" {
            assert_eq!(object["fields"]["channel"], "funtek", "{object}");
            assert_eq!(object["level"], "DEBUG", "{object}");
            assert!(
                !object.to_string().contains("wrong"),
                "the presented token is not logged: {object}"
            );
            break;
        }
    }
    bot.kill().await.expect("killed");
}

#[tokio::test]
async fn an_unknown_format_stops_the_start_naming_the_variable() {
    let output = echo_bot("yaml")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let output = tokio::time::timeout(GUARD, output)
        .await
        .expect("exits in time")
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("BOTWIRE_LOG_FORMAT: expected text or json"),
        "{stderr}"
    );
}
