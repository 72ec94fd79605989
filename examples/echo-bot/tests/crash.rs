//! `kill -9` in the middle of a load. The sample bot on the default embedded store is killed
//! while Chatwork deliveries arrive (Chatwork never resends), and started again on the same
//! data directory: every acknowledged delivery gets its reply, and what the bot was taught
//! before the kill is still known. Two instances sharing Redis: one is killed, and the other
//! finishes its work. A teaching timeout set before a kill reaches Chatwork once, after it;
//! with two instances on Redis, it reaches Chatwork once too.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use botwire_testkit::bot_process::BotProcess;
use botwire_testkit::chatwork::{self, Signer};
use botwire_testkit::chatwork_api::FakeApi;
use botwire_testkit::tcp;
use http::StatusCode;
use tokio::process::Command;
use tokio::sync::mpsc;

/// base64 of "crash-test-webhook-token".
const TOKEN: &str = "Y3Jhc2gtdGVzdC13ZWJob29rLXRva2Vu";
const ROOM: u64 = 4242;
/// Only a guard against a hung test.
const GUARD: Duration = Duration::from_secs(120);

/// The sample bot on the embedded store in `data_dir`.
async fn start(data_dir: &std::path::Path, api: &FakeApi) -> BotProcess {
    let dir = data_dir.to_str().expect("a utf-8 path");
    start_with(&[("BOTWIRE_DATA_DIR", dir)], api).await
}

/// The sample bot with these settings, its Chatwork replies going to `api`.
async fn start_with(settings: &[(&str, &str)], api: &FakeApi) -> BotProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_echo-bot"));
    command
        .env_clear()
        .env("BOTWIRE_ADMIN_LISTEN", "off")
        // The fake API has no limits; thousands of replies to one room would take hours
        // at Chatwork's 10 posts per 10 s.
        .env("BOTWIRE_CHATWORK_RATE_LIMIT", "off")
        .env("BOTWIRE_CHATWORK_CONVERSATION_RATE_LIMIT", "off")
        .envs(settings.iter().copied())
        .env("BOTWIRE_LISTEN", "127.0.0.1:0")
        .env("BOTWIRE_CHATWORK_TOKEN", TOKEN)
        .env("BOTWIRE_CHATWORK_API_TOKEN", "crash-api-token")
        .env("BOTWIRE_CHATWORK_API_BASE", api.base())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::inherit());
    BotProcess::start(command)
        .await
        .expect("the sample bot listens")
}

async fn send(addr: SocketAddr, text: &str) -> Result<StatusCode, tcp::Error> {
    let signer = Signer::new(TOKEN).expect("base64");
    let request = signer.request(
        "/webhooks/chatwork",
        chatwork::message_created(text).room(ROOM),
    );
    Ok(tcp::send(addr, request).await?.status)
}

/// The next reply the fake API received.
async fn reply(api: &mut FakeApi) -> String {
    tokio::time::timeout(GUARD, api.next_message())
        .await
        .expect("a reply arrives")
        .body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_nothing_acknowledged_and_keeps_what_was_taught() {
    let data = tempfile::tempdir().expect("a temp dir");
    let mut api = FakeApi::start().await;
    let mut bot = start(data.path(), &api).await;
    let addr = bot.addr;

    // Teach it something, and wait until it has said it learned it.
    assert_eq!(send(addr, "teach").await.expect("answered"), StatusCode::OK);
    assert_eq!(reply(&mut api).await, echo_bot::TEACH_PROMPT);
    assert_eq!(
        send(addr, "ping => pong").await.expect("answered"),
        StatusCode::OK
    );
    assert_eq!(reply(&mut api).await, r#"Got it: "ping" => "pong""#);

    // Load: eight senders; the process is killed once 100 deliveries were acknowledged.
    let (senders, mut acked_rx) = load(vec![addr]);
    let mut acked = HashSet::new();
    while acked.len() < 100 {
        acked.insert(acked_rx.recv().await.expect("the senders run"));
    }
    bot.kill().await.expect("kill -9");
    for sender in senders {
        sender.await.expect("a sender");
    }
    while let Some(text) = acked_rx.recv().await {
        acked.insert(text);
    }

    // Started again on the same directory, it sends every acknowledged reply.
    let mut bot = start(data.path(), &api).await;
    let addr = bot.addr;
    let mut replied: HashMap<String, u32> = HashMap::new();
    while !acked.iter().all(|text| replied.contains_key(text)) {
        *replied.entry(reply(&mut api).await).or_default() += 1;
    }
    // What it was taught before the kill, it still knows.
    assert_eq!(send(addr, "ping").await.expect("answered"), StatusCode::OK);
    let mut answer = reply(&mut api).await;
    while answer != "pong" {
        // Replies of the load still arriving late come first.
        *replied.entry(answer).or_default() += 1;
        answer = reply(&mut api).await;
    }
    let twice = replied.values().filter(|n| **n > 1).count();
    println!(
        "acknowledged {}, replied {} ({} more than once: sent, then killed before finished)",
        acked.len(),
        replied.len(),
        twice
    );
    bot.kill().await.expect("stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_teaching_timeout_set_before_kill_9_reaches_chatwork_once_after_the_restart() {
    let data = tempfile::tempdir().expect("a temp dir");
    let dir = data.path().to_str().expect("a utf-8 path");
    let settings = [
        ("BOTWIRE_DATA_DIR", dir),
        ("ECHO_BOT_TEACH_TIMEOUT", "1500ms"),
        ("BOTWIRE_QUEUE_TIMER_POLL", "20ms"),
    ];
    let mut api = FakeApi::start().await;
    let mut bot = start_with(&settings, &api).await;
    assert_eq!(
        send(bot.addr, "teach").await.expect("answered"),
        StatusCode::OK
    );
    assert_eq!(reply(&mut api).await, echo_bot::TEACH_PROMPT);
    bot.kill().await.expect("kill -9");

    let mut bot = start_with(&settings, &api).await;
    let mut timed_out = reply(&mut api).await;
    if timed_out == echo_bot::TEACH_PROMPT {
        // Killed after the prompt was sent but before its job was marked finished: the prompt
        // goes out again (at least once), and the timer is set anew with it.
        timed_out = reply(&mut api).await;
    }
    assert!(timed_out.contains("timed out"), "{timed_out}");
    assert_eq!(timed_out, echo_bot::TIMED_OUT);
    // Idle again, and the timeout came once: the next reply is the echo.
    assert_eq!(
        send(bot.addr, "ping").await.expect("answered"),
        StatusCode::OK
    );
    assert_eq!(reply(&mut api).await, "ping");
    bot.kill().await.expect("stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proactive_message_accepted_before_kill_9_arrives_after_the_restart() {
    let data = tempfile::tempdir().expect("a temp dir");
    let dir = data.path().to_str().expect("a utf-8 path");
    let mut api = FakeApi::start().await;
    // The first attempt fails; its retry waits an hour, longer than this run lives.
    api.answer(500, &[]);
    let first_run = [
        ("BOTWIRE_DATA_DIR", dir),
        ("BOTWIRE_ADMIN_LISTEN", "127.0.0.1:0"),
        ("BOTWIRE_QUEUE_RETRY_BASE", "1h"),
        ("BOTWIRE_QUEUE_RETRY_MAX", "1h"),
    ];
    let mut bot = start_with(&first_run, &api).await;
    let admin = bot.admin.expect("an admin listener");
    for text in ["remember the meeting", "and bring the slides"] {
        let request = http::Request::post(format!("/conversations/chatwork/{ROOM}/messages"))
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from(format!(
                r#"{{"text":"{text}"}}"#
            ))))
            .expect("request");
        let accepted = tcp::send(admin, request).await.expect("answered");
        assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.text());
    }
    bot.kill().await.expect("kill -9");

    let second_run = [
        ("BOTWIRE_DATA_DIR", dir),
        ("BOTWIRE_QUEUE_RETRY_BASE", "1ms"),
    ];
    let mut bot = start_with(&second_run, &api).await;
    assert_eq!(reply(&mut api).await, "remember the meeting");
    assert_eq!(reply(&mut api).await, "and bring the slides");
    bot.kill().await.expect("stopped");
    // Once each: whatever reached the API was the failed attempt or these two.
    while let Some(post) = api.try_next_post() {
        assert_ne!(post.status, 200, "sent twice: {post:?}");
    }
}

/// Sends numbered deliveries from eight senders, to the addresses in turn, until they stop
/// answering; reports each acknowledged text.
fn load(
    addrs: Vec<SocketAddr>,
) -> (
    Vec<tokio::task::JoinHandle<()>>,
    mpsc::UnboundedReceiver<String>,
) {
    let (acked_tx, acked_rx) = mpsc::unbounded_channel::<String>();
    let senders = (0..8)
        .map(|s| {
            let acked = acked_tx.clone();
            let addrs = addrs.clone();
            tokio::spawn(async move {
                for n in 0.. {
                    let text = format!("load {s}-{n}");
                    match send(addrs[n % addrs.len()], &text).await {
                        Ok(StatusCode::OK) => {
                            let _ = acked.send(text);
                        }
                        _ => return,
                    }
                }
            })
        })
        .collect();
    (senders, acked_rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_redis_one_killed_the_other_finishes_its_work() {
    use botwire_testkit::redis_server::RedisServer;

    let Some(redis) = RedisServer::start() else {
        return;
    };
    let url = redis.url();
    let settings = [
        ("BOTWIRE_STORE", url.as_str()),
        ("BOTWIRE_REDIS_PREFIX", "crash"),
    ];
    let mut api = FakeApi::start().await;
    // The first to start takes the queue's partitions; it is the one killed.
    let mut first = start_with(&settings, &api).await;
    let mut second = start_with(&settings, &api).await;
    let (first_addr, second_addr) = (first.addr, second.addr);

    let (senders, mut acked_rx) = load(vec![first_addr, second_addr]);
    let mut acked = HashSet::new();
    while acked.len() < 100 {
        acked.insert(acked_rx.recv().await.expect("the senders run"));
    }
    first.kill().await.expect("kill -9");
    for sender in senders {
        sender.await.expect("a sender");
    }
    while let Some(text) = acked_rx.recv().await {
        acked.insert(text);
    }

    // The survivor takes the partitions over when their lease runs out, and replies to
    // every acknowledged delivery.
    let mut replied: HashMap<String, u32> = HashMap::new();
    while !acked.iter().all(|text| replied.contains_key(text)) {
        *replied.entry(reply(&mut api).await).or_default() += 1;
    }
    let twice = replied.values().filter(|n| **n > 1).count();
    println!(
        "two instances: acknowledged {}, replied {} ({} more than once)",
        acked.len(),
        replied.len(),
        twice
    );
    second.kill().await.expect("stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_redis_send_the_teaching_timeout_to_chatwork_once() {
    use botwire_testkit::redis_server::RedisServer;

    let Some(redis) = RedisServer::start() else {
        return;
    };
    let url = redis.url();
    let settings = [
        ("BOTWIRE_STORE", url.as_str()),
        ("BOTWIRE_REDIS_PREFIX", "timeout"),
        ("ECHO_BOT_TEACH_TIMEOUT", "1s"),
        ("BOTWIRE_QUEUE_TIMER_POLL", "20ms"),
    ];
    let mut api = FakeApi::start().await;
    let mut first = start_with(&settings, &api).await;
    let mut second = start_with(&settings, &api).await;
    assert_eq!(
        send(first.addr, "teach").await.expect("answered"),
        StatusCode::OK
    );
    assert_eq!(reply(&mut api).await, echo_bot::TEACH_PROMPT);
    // Both instances look for due timers every 20 ms; one of them sends it.
    assert_eq!(reply(&mut api).await, echo_bot::TIMED_OUT);
    assert_eq!(
        send(second.addr, "ping").await.expect("answered"),
        StatusCode::OK
    );
    assert_eq!(reply(&mut api).await, "ping", "the timeout came once");
    assert_eq!(
        send(first.addr, "pong").await.expect("answered"),
        StatusCode::OK
    );
    assert_eq!(reply(&mut api).await, "pong");
    first.kill().await.expect("stopped");
    second.kill().await.expect("stopped");
}
