//! `botwire store` against a real store file: read, change, export, import, dead letters, and
//! the errors a user meets (no store there, a bot still running, a bad import line).

use std::io::Write;
use std::process::{Command, Output, Stdio};

use botwire_core::ConversationData;
use botwire_store::{ConversationKey, EmbeddedStore, NewJob, Queue, StateStore};

fn botwire(dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let data_dir = ["--data-dir", dir.to_str().expect("a utf-8 path")];
    botwire_store_cli(&data_dir, args, stdin)
}

/// `botwire store <store args> <args>`, with `stdin`, and no store settings from the
/// environment.
fn botwire_store_cli(store: &[&str], args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_botwire"))
        .arg("store")
        .args(store)
        .args(args)
        .env_remove("BOTWIRE_DATA_DIR")
        .env_remove("BOTWIRE_STORE")
        .env_remove("BOTWIRE_REDIS_PREFIX")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("botwire runs");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    child.wait_with_output().expect("botwire ends")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A store as a bot leaves it: a state, a taught answer, a dead letter (whose id it returns).
async fn leave_as_a_bot<S: StateStore + ConversationData + Queue>(store: &S) -> u64 {
    store
        .save(&ConversationKey::new("kamigo", "C1"), "teaching", None)
        .await
        .expect("saved");
    store
        .set("kamigo", "C1", "answer:ping", "pong")
        .await
        .expect("remembered");
    let job = NewJob::new("kamigo", "C1", "message.received:m1", "{}".into());
    store.bury_new(job, "outbox: 400").await.expect("buried").0
}

/// An embedded store in `dir` as a bot leaves it.
async fn a_bots_store(dir: &std::path::Path) -> u64 {
    leave_as_a_bot(&EmbeddedStore::open(dir.join("botwire.redb")).expect("opens")).await
}

#[tokio::test]
async fn reads_exports_imports_and_replays() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let dead = a_bots_store(dir.path()).await;

    let state = botwire(dir.path(), &["state", "kamigo", "C1"], "");
    assert!(state.status.success(), "{}", stderr(&state));
    assert_eq!(stdout(&state).trim(), r#"{"state":"teaching","version":1}"#);

    let exported = botwire(dir.path(), &["export"], "");
    assert!(exported.status.success(), "{}", stderr(&exported));
    let lines = stdout(&exported);
    assert_eq!(lines.lines().count(), 2, "{lines}");
    assert!(lines.contains(r#""kind":"state""#) && lines.contains(r#""value":"pong""#));

    // Into a new bot's directory.
    let other = tempfile::tempdir().expect("a temp dir");
    let imported = botwire(other.path(), &["import"], &lines);
    assert!(imported.status.success(), "{}", stderr(&imported));
    let copy = EmbeddedStore::open(other.path().join("botwire.redb")).expect("opens");
    assert_eq!(
        copy.load(&ConversationKey::new("kamigo", "C1"))
            .await
            .expect("load")
            .map(|v| v.state),
        Some("teaching".into())
    );
    assert_eq!(
        copy.get("kamigo", "C1", "answer:ping")
            .await
            .expect("get")
            .as_deref(),
        Some("pong")
    );
    drop(copy);

    let set = botwire(dir.path(), &["set-state", "kamigo", "C1", "idle"], "");
    assert_eq!(stdout(&set).trim(), r#"{"state":"idle","version":2}"#);

    let letters = botwire(dir.path(), &["dead-letters"], "");
    assert!(
        stdout(&letters).contains(r#""reason":"outbox: 400""#),
        "{}",
        stdout(&letters)
    );
    let replayed = botwire(dir.path(), &["replay", &dead.to_string()], "");
    assert!(replayed.status.success(), "{}", stderr(&replayed));
    let again = botwire(dir.path(), &["replay", &dead.to_string()], "");
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("no dead letter"),
        "{}",
        stderr(&again)
    );
    let store = EmbeddedStore::open(dir.path().join("botwire.redb")).expect("opens");
    assert_eq!(
        store.pending().await.expect("pending").len(),
        1,
        "queued again"
    );
}

#[tokio::test]
async fn errors_say_what_to_do() {
    let empty = tempfile::tempdir().expect("a temp dir");
    let none = botwire(empty.path(), &["export"], "");
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("no store at"), "{}", stderr(&none));

    let dir = tempfile::tempdir().expect("a temp dir");
    a_bots_store(dir.path()).await;
    let running = EmbeddedStore::open(dir.path().join("botwire.redb")).expect("the bot has it");
    let busy = botwire(dir.path(), &["export"], "");
    assert_eq!(busy.status.code(), Some(2));
    assert!(
        stderr(&busy).contains("stop the bot first"),
        "{}",
        stderr(&busy)
    );
    drop(running);

    let bad = botwire(
        dir.path(),
        &["import"],
        "{\"kind\":\"state\",\"channel\":\"k\",\"conversation\":\"c\",\"state\":\"s\"}\nnot json\n",
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("line 2: not a JSON object"),
        "{}",
        stderr(&bad)
    );
    let wrong = botwire(
        dir.path(),
        &["import"],
        "{\"kind\":\"x\",\"channel\":\"k\",\"conversation\":\"c\"}\n",
    );
    assert!(
        stderr(&wrong).contains("`kind` must be"),
        "{}",
        stderr(&wrong)
    );
}

#[tokio::test]
async fn works_on_a_shared_redis_too() {
    use botwire_store_redis::RedisStore;
    use botwire_testkit::redis_server::RedisServer;

    let Some(redis) = RedisServer::start() else {
        return;
    };
    let store = RedisStore::connect(&redis.url(), "cli")
        .await
        .expect("connects");
    let dead = leave_as_a_bot(&store).await;

    let url = redis.url();
    let on_redis = ["--store", url.as_str(), "--redis-prefix", "cli"];
    let exported = botwire_store_cli(&on_redis, &["export"], "");
    assert!(exported.status.success(), "{}", stderr(&exported));
    let lines = stdout(&exported);
    assert!(
        lines.contains(r#""kind":"state""#) && lines.contains(r#""value":"pong""#),
        "{lines}"
    );
    let set = botwire_store_cli(&on_redis, &["set-state", "kamigo", "C1", "idle"], "");
    assert_eq!(stdout(&set).trim(), r#"{"state":"idle","version":2}"#);
    let letters = botwire_store_cli(&on_redis, &["dead-letters"], "");
    assert!(
        stdout(&letters).contains("outbox: 400"),
        "{}",
        stdout(&letters)
    );
    let replayed = botwire_store_cli(&on_redis, &["replay", &dead.to_string()], "");
    assert!(replayed.status.success(), "{}", stderr(&replayed));
    // Another deployment's keys are not this one's.
    let other = botwire_store_cli(
        &["--store", url.as_str(), "--redis-prefix", "elsewhere"],
        &["export"],
        "",
    );
    assert!(stdout(&other).trim().is_empty(), "{}", stdout(&other));
}
