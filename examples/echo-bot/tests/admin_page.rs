//! The delivery-log page in a real browser. The sample bot runs as a process with an admin
//! token, gets deliveries of every kind and outcome it can produce, and headless Chromium
//! opens the page as a person would: signs in with the token, sees the rows, narrows them with
//! a filter, looks a conversation up, replays a dead letter, and sees a message with HTML in it
//! as text. A screenshot of the page is kept in `target/test-artefacts/admin-page.png`.
//!
//! Needs Debian's `chromium` (`.ci/run` installs it; `BOTWIRE_CHROMIUM` names another
//! binary). Without one the test says so and passes, except under `CI=true`, where it fails.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use botwire_testkit::bot_process::BotProcess;
use botwire_testkit::chatwork::{self, Signer};
use botwire_testkit::chatwork_api::FakeApi;
use botwire_testkit::{funtek, tcp};
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use http::StatusCode;
use tokio::process::Command;

const ADMIN_TOKEN: &str = "page-admin-token";
const FUNTEK_TOKEN: &str = "page-funtek-token";
/// base64 of "page-test-webhook-token".
const CHATWORK_TOKEN: &str = "cGFnZS10ZXN0LXdlYmhvb2stdG9rZW4=";
const ROOM: u64 = 4242;
/// A message text a person typed, markup and all.
const MARKUP: &str = "<script>window.pwned = true</script><b>bold</b> & <i>more</i>";
/// Only a guard against a hung test.
const GUARD: Duration = Duration::from_secs(60);

/// The Chromium to drive, or `None` (with a note) where there is none and CI does not ask.
fn chromium() -> Option<PathBuf> {
    let named = std::env::var_os("BOTWIRE_CHROMIUM").map(PathBuf::from);
    let found = named.or_else(|| {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .map(PathBuf::from)
            .find(|path| path.exists())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs Chromium for the admin page's test: apt-get install chromium"
        );
        eprintln!("admin_page: no Chromium here (apt-get install chromium); not run");
    }
    found
}

async fn start_bot(api: &FakeApi) -> BotProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_echo-bot"));
    command
        .env_clear()
        .env("BOTWIRE_STORE", "memory")
        .env("BOTWIRE_LISTEN", "127.0.0.1:0")
        .env("BOTWIRE_ADMIN_LISTEN", "127.0.0.1:0")
        .env("BOTWIRE_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("BOTWIRE_FUNTEK_TOKEN", FUNTEK_TOKEN)
        .env("BOTWIRE_CHATWORK_TOKEN", CHATWORK_TOKEN)
        .env("BOTWIRE_CHATWORK_API_TOKEN", "page-api-token")
        .env("BOTWIRE_CHATWORK_API_BASE", api.base())
        .env("BOTWIRE_QUEUE_RETRY_BASE", "1ms")
        .env("BOTWIRE_QUEUE_RETRY_MAX", "1ms")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::inherit());
    BotProcess::start(command)
        .await
        .expect("the sample bot listens")
}

async fn funtek(addr: SocketAddr, signer: &funtek::Signer, event: funtek::Event) -> StatusCode {
    let request = signer.request("/webhooks/funtek", event);
    tcp::send(addr, request).await.expect("answered").status
}

async fn chatwork(addr: SocketAddr, body: impl Into<bytes::Bytes>) -> StatusCode {
    let signer = Signer::new(CHATWORK_TOKEN).expect("base64");
    let request = signer.request("/webhooks/chatwork", body);
    tcp::send(addr, request).await.expect("answered").status
}

/// The next post the fake Chatwork API answered, with its status.
async fn next_post(api: &mut FakeApi) -> (u16, String) {
    let posted = tokio::time::timeout(GUARD, api.next_post())
        .await
        .expect("a post arrives");
    (posted.status, posted.body)
}

/// Deliveries of every outcome the sample bot can produce (a handler of its never fails
/// or runs late), on FUNTEK (answered in the response) and Chatwork (queued).
async fn deliver_everything(addr: SocketAddr, api: &mut FakeApi) {
    let signer = funtek::Signer::token(FUNTEK_TOKEN);
    let hello = funtek::message("hello").id("m-1").state("idle");
    assert_eq!(funtek(addr, &signer, hello.clone()).await, StatusCode::OK);
    assert_eq!(
        funtek(addr, &signer, hello).await,
        StatusCode::OK,
        "a duplicate"
    );
    let markup = funtek::message(MARKUP).id("m-2").room("markup-room");
    assert_eq!(funtek(addr, &signer, markup).await, StatusCode::OK);
    let teach = funtek::message("teach").id("m-3").state("idle");
    assert_eq!(funtek(addr, &signer, teach).await, StatusCode::OK);
    let left = funtek::delete_members("Ann");
    assert_eq!(
        funtek(addr, &signer, left).await,
        StatusCode::OK,
        "no reply"
    );
    let wrong = funtek::Signer::token("not-the-token");
    let refused = funtek(addr, &wrong, funtek::message("let me in")).await;
    assert_eq!(refused, StatusCode::UNAUTHORIZED);

    let no_room = r#"{"webhook_setting_id":"1","webhook_event_type":"message_created","webhook_event_time":1,"webhook_event":{}}"#;
    assert_eq!(chatwork(addr, no_room).await, StatusCode::OK, "ignored");
    // Taught, then answered from what it learnt: the conversation has state and data.
    for (text, answer) in [
        ("teach", echo_bot::TEACH_PROMPT),
        ("ping => pong", "Got it: \"ping\" => \"pong\""),
        ("ping", "pong"),
    ] {
        let event = chatwork::message_created(text).room(ROOM);
        assert_eq!(chatwork(addr, event).await, StatusCode::OK);
        assert_eq!(next_post(api).await, (200, answer.to_owned()));
    }
    // A send that fails once and is retried.
    api.answer(503, &[]);
    let event = chatwork::message_created("again").room(ROOM);
    assert_eq!(chatwork(addr, event).await, StatusCode::OK);
    assert_eq!(next_post(api).await.0, 503);
    assert_eq!(next_post(api).await, (200, "again".to_owned()));
    // A send the platform refuses for good: a dead letter.
    api.answer(400, &[]);
    let event = chatwork::message_created("lost").room(ROOM + 1);
    assert_eq!(chatwork(addr, event).await, StatusCode::OK);
    assert_eq!(next_post(api).await.0, 400);
}

/// Waits (in the page) until `condition`, a JavaScript expression, holds; fails naming
/// `what` if it does not within the guard.
fn wait_until(tab: &Tab, condition: &str, what: &str) {
    let script = format!(
        "new Promise((resolve, reject) => {{
            const check = () => {{
                if ({condition}) {{ observer.disconnect(); clearTimeout(guard); resolve(true); }}
            }};
            const observer = new MutationObserver(check);
            const guard = setTimeout(() => {{ observer.disconnect(); reject(new Error('timed out')); }}, {});
            observer.observe(document.documentElement,
                {{ subtree: true, childList: true, characterData: true, attributes: true }});
            check();
        }})",
        GUARD.as_millis()
    );
    let held = tab.evaluate(&script, true);
    assert!(
        held.as_ref()
            .is_ok_and(|r| r.value == Some(serde_json::Value::Bool(true))),
        "the page never showed {what}: {held:?}\n{}",
        text_of(tab, "document.body.innerText")
    );
}

/// The value of a JavaScript expression in the page, as JSON (`null` for `undefined`).
/// DevTools hands arrays and objects back as references, so the page serialises them itself.
fn value(tab: &Tab, expression: &str) -> serde_json::Value {
    let serialised = tab
        .evaluate(&format!("JSON.stringify(({expression}))"), false)
        .expect("evaluates")
        .value;
    match serialised {
        Some(serde_json::Value::String(json)) => serde_json::from_str(&json).expect("JSON"),
        _ => serde_json::Value::Null,
    }
}

fn text_of(tab: &Tab, expression: &str) -> String {
    value(tab, expression)
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Each delivery row's cells, as the page shows them.
fn rows(tab: &Tab) -> Vec<Vec<String>> {
    let cells = value(
        tab,
        "Array.from(document.querySelectorAll('#deliveries tbody tr'))
            .map((row) => Array.from(row.cells).map((cell) => cell.textContent))",
    );
    serde_json::from_value(cells).expect("rows of texts")
}

/// Chooses `value` in the select `id`, as a person picking it would.
fn choose(tab: &Tab, id: &str, value: &str) {
    let chosen = self::value(
        tab,
        &format!(
            "(() => {{ const s = document.getElementById('{id}'); s.value = '{value}';
                s.dispatchEvent(new Event('change')); return s.value; }})()"
        ),
    );
    assert_eq!(chosen, value, "{id} offers {value}");
}

/// Where the screenshot goes: `target/test-artefacts/`, beside the build's own outputs.
fn artefact(name: &str) -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_echo-bot"));
    let target = binary
        .ancestors()
        .nth(2)
        .expect("the binary sits in target/<profile>/");
    let dir = target.join("test-artefacts");
    std::fs::create_dir_all(&dir).expect("the artefact directory");
    dir.join(name)
}

/// What a person does on the page, and what they should see.
fn use_the_page(chromium: PathBuf, url: String) {
    let options = LaunchOptions::default_builder()
        .path(Some(chromium))
        .headless(true)
        // Root in a container has no user namespace for Chromium's sandbox.
        .sandbox(false)
        .window_size(Some((1500, 1100)))
        .idle_browser_timeout(Duration::from_secs(300))
        .args(vec![
            OsStr::new("--disable-dev-shm-usage"),
            OsStr::new("--disable-gpu"),
        ])
        .build()
        .expect("launch options");
    let browser = Browser::new(options).expect("Chromium starts");
    let tab: Arc<Tab> = browser.new_tab().expect("a tab");
    tab.set_default_timeout(GUARD);
    tab.navigate_to(&url).expect("navigates");
    tab.wait_until_navigated().expect("the page loads");

    // Signed out, it asks for the token and shows nothing else.
    wait_until(
        &tab,
        "!document.getElementById('login').hidden",
        "the sign-in form",
    );
    assert_eq!(value(&tab, "document.getElementById('main').hidden"), true);
    tab.wait_for_element("#token")
        .expect("the token field")
        .click()
        .expect("focus");
    tab.type_str("not-the-token").expect("types");
    tab.press_key("Enter").expect("submits");
    wait_until(
        &tab,
        "document.getElementById('login-error').textContent.includes('refused')",
        "a refused token",
    );
    tab.wait_for_element("#token")
        .expect("the token field")
        .click()
        .expect("focus");
    tab.type_str(ADMIN_TOKEN).expect("types");
    tab.press_key("Enter").expect("submits");
    wait_until(
        &tab,
        "document.querySelectorAll('#deliveries tbody tr').length >= 18",
        "the delivery rows",
    );
    assert_eq!(
        text_of(&tab, "sessionStorage.getItem('botwire.admin.token')"),
        ADMIN_TOKEN,
        "kept for the tab's session"
    );
    assert!(
        !text_of(&tab, "location.href").contains(ADMIN_TOKEN),
        "never in the URL"
    );

    // The rows: every outcome, with its channel, event, conversation, states and texts.
    let shown = rows(&tab);
    let outcomes: std::collections::BTreeSet<&str> = shown
        .iter()
        .map(|row| row[5].split(' ').take(2).collect::<Vec<_>>().join(" "))
        .map(|o| {
            [
                "replied",
                "duplicate",
                "rejected",
                "no reply",
                "ignored",
                "queued",
                "retrying",
                "dead letter",
            ]
            .into_iter()
            .find(|name| o.starts_with(name))
            .unwrap_or("other")
        })
        .collect();
    assert_eq!(
        outcomes.into_iter().collect::<Vec<_>>(),
        [
            "dead letter",
            "duplicate",
            "ignored",
            "no reply",
            "queued",
            "rejected",
            "replied",
            "retrying"
        ],
        "{shown:#?}"
    );
    let teach = shown
        .iter()
        .find(|row| {
            row[1] == "funtek" && row[6].ends_with(" ms") && row[7] == echo_bot::TEACH_PROMPT
        })
        .expect("the teach row");
    assert_eq!(teach[2], "message");
    assert_eq!(teach[3], "demo-room");
    assert_eq!(teach[4], "idle → teaching");
    let refused = shown
        .iter()
        .find(|row| row[5] == "rejected")
        .expect("the refusal");
    assert!(refused[7].contains("invalid_token"), "{refused:?}");

    // A message text with markup is shown as the text it is, and nothing of it ran.
    let echoed = shown
        .iter()
        .find(|row| row[3] == "markup-room")
        .expect("the markup row");
    assert_eq!(echoed[7], MARKUP);
    assert_eq!(
        value(&tab, "window.pwned === undefined"),
        true,
        "the script never ran"
    );
    assert_eq!(
        value(
            &tab,
            "document.querySelectorAll('main script, main b, main i').length"
        ),
        0,
        "no element made of a message"
    );

    // A filter narrows the rows; clearing it brings them back.
    choose(&tab, "filter-outcome", "dead_letter");
    wait_until(
        &tab,
        "(() => { const rows = document.querySelectorAll('#deliveries tbody tr');
            return rows.length === 1 && rows[0].dataset.outcome === 'dead_letter'; })()",
        "only the dead letter",
    );
    choose(&tab, "filter-outcome", "");
    choose(&tab, "filter-channel", "chatwork");
    wait_until(
        &tab,
        "(() => { const rows = Array.from(document.querySelectorAll('#deliveries tbody tr'));
            return rows.length > 0 && rows.every((r) => r.dataset.channel === 'chatwork'); })()",
        "only Chatwork's rows",
    );

    // A conversation looked up from its row: its state and what the bot learnt there.
    let room = ROOM.to_string();
    let lookup = format!(
        "Array.from(document.querySelectorAll('#deliveries tbody td.link'))
            .find((cell) => cell.textContent === '{room}').click()"
    );
    value(&tab, &lookup);
    wait_until(
        &tab,
        "document.querySelector('#conversation table.data') !== null",
        "the conversation's data",
    );
    let looked_up = text_of(&tab, "document.getElementById('conversation').innerText");
    assert!(looked_up.contains("idle (version 2)"), "{looked_up}");
    assert!(
        looked_up.contains("answer:ping") && looked_up.contains("pong"),
        "{looked_up}"
    );

    // The dead letter, replayed: it leaves the list and is sent again.
    choose(&tab, "filter-channel", "");
    wait_until(
        &tab,
        "document.querySelectorAll('#dead-letters tbody tr').length === 1",
        "the dead letter",
    );
    let letter = rows_of(&tab, "#dead-letters");
    assert_eq!(letter[0][3], (ROOM + 1).to_string(), "{letter:?}");
    assert!(letter[0][6].contains("400"), "{letter:?}");
    tab.wait_for_element("#dead-letters button.replay")
        .expect("a replay button")
        .click()
        .expect("clicks");
    wait_until(
        &tab,
        "document.getElementById('replay-result').textContent.includes('queued again')
            && document.querySelectorAll('#dead-letters tbody tr').length === 0",
        "the dead letter moved back to the queue",
    );
    wait_until(
        &tab,
        "Array.from(document.querySelectorAll('#deliveries tbody tr')).some((r) =>
            r.dataset.outcome === 'replied' && r.cells[7].textContent === 'lost')",
        "the replayed delivery answered",
    );

    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .expect("a screenshot");
    let path = artefact("admin-page.png");
    std::fs::write(&path, png).expect("the screenshot is kept");
    eprintln!("admin_page: screenshot in {}", path.display());
}

fn rows_of(tab: &Tab, table: &str) -> Vec<Vec<String>> {
    let cells = value(
        tab,
        &format!(
            "Array.from(document.querySelectorAll('{table} tbody tr'))
                .map((row) => Array.from(row.cells).map((cell) => cell.textContent))"
        ),
    );
    serde_json::from_value(cells).expect("rows of texts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_sees_every_delivery_narrows_them_and_replays_a_dead_letter() {
    let Some(chromium) = chromium() else {
        return;
    };
    let mut api = FakeApi::start().await;
    let bot = start_bot(&api).await;
    let admin = bot.admin.expect("the admin listener");
    deliver_everything(bot.addr, &mut api).await;

    let url = format!("http://{admin}/");
    tokio::task::spawn_blocking(move || use_the_page(chromium, url))
        .await
        .expect("the browser part passes");
    // The replay reached the platform.
    assert_eq!(next_post(&mut api).await, (200, "lost".to_owned()));
}
