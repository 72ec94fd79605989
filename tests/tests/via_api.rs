//! The via-API platforms end to end: acknowledge at once, then the workers run the bot in the
//! stored state and deliver the reply through the outbox, in order, once per delivery.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use botwire::platforms::auth::Secret;
use botwire::platforms::chatwork::{ChatworkAdapter, ChatworkOutbox};
use botwire::platforms::kamigo::KamigoAdapter;
use botwire::platforms::wechatpadpro::WeChatPadProAdapter;
use botwire::{Bot, Channel, OutboxError, Reply, Workers, handler_fn};
use botwire_e2e::{quick_retries, start_channel};
use botwire_testkit::chatwork_api::FakeApi;
use botwire_testkit::outbox::{RecordingOutbox, Replies};
use botwire_testkit::{TestResponse, chatwork, kamigo, tcp, wechatpadpro};
use http::StatusCode;
use tokio::sync::Notify;

const KAMIGO_SECRET: &str = "kamigo-secret";
const WECHAT_SECRET: &str = "wechat-secret";
const KAMIGO: &str = "/webhooks/kamigo";
const CHATWORK: &str = "/webhooks/chatwork";
const WECHAT: &str = "/webhooks/wechatpadpro";

fn kamigo_channel() -> (Channel, Replies) {
    let adapter = KamigoAdapter::new(&[Secret::new(KAMIGO_SECRET)]).expect("a secret");
    let (outbox, replies) = RecordingOutbox::new();
    (Channel::new("kamigo", adapter).with_outbox(outbox), replies)
}

async fn send_kamigo(addr: std::net::SocketAddr, event: kamigo::Event) -> TestResponse {
    let request = kamigo::Signer::new(KAMIGO_SECRET).request(KAMIGO, event);
    tcp::send(addr, request).await.expect("answered")
}

async fn send_wechat(addr: std::net::SocketAddr, event: wechatpadpro::Event) -> TestResponse {
    let request = wechatpadpro::Signer::new(WECHAT_SECRET).request(WECHAT, event);
    tcp::send(addr, request).await.expect("answered")
}

/// A bot whose one state echoes and counts its runs.
fn counting_bot(runs: Arc<Mutex<u32>>) -> Bot {
    echo_with(move |_| {
        *runs.lock().expect("lock") += 1;
        None
    })
}

/// A bot whose one state echoes, but holds a message "hold" until `gate` is notified.
fn holding_bot(gate: Arc<Notify>) -> Bot {
    echo_with(move |text| (text == "hold").then(|| gate.clone()))
}

/// An echo bot that calls `before` with each text first, and waits on the gate it may return.
fn echo_with<F>(before: F) -> Bot
where
    F: Fn(&str) -> Option<Arc<Notify>> + Send + Sync + 'static,
{
    let before = Arc::new(before);
    Bot::builder()
        .initial("idle")
        .state(
            "idle",
            handler_fn(move |_cx, event| {
                let gate = before(event.text().unwrap_or_default());
                async move {
                    if let Some(gate) = gate {
                        gate.notified().await;
                    }
                    Ok(Reply::text(event.text().unwrap_or_default()))
                }
            }),
        )
        .build()
        .expect("bot")
}

/// Asks the admin listener to replay dead letter `id`.
async fn replay(admin: std::net::SocketAddr, id: u64) -> TestResponse {
    let request = http::Request::post(format!("/dead-letters/{id}/replay"))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .expect("request");
    tcp::send(admin, request).await.expect("answered")
}

fn assert_ack(response: &TestResponse, ack: &str) {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.text(), ack);
}

#[tokio::test]
async fn sample_bot_on_kamigo_teaches_echoes_and_welcomes() {
    let (channel, mut replies) = kamigo_channel();
    let server = start_channel(channel, echo_bot::bot().expect("bot"), Workers::default()).await;
    let addr = server.local_addr();

    assert_ack(
        &send_kamigo(addr, kamigo::message("大家早安!")).await,
        r#"{"ok":true}"#,
    );
    assert_eq!(replies.next_text().await, "大家早安!");

    send_kamigo(addr, kamigo::message("teach")).await;
    assert_eq!(replies.next_text().await, echo_bot::TEACH_PROMPT);
    send_kamigo(addr, kamigo::message("ping => pong")).await;
    assert_eq!(replies.next_text().await, r#"Got it: "ping" => "pong""#);
    send_kamigo(addr, kamigo::message("ping")).await;
    let pong = replies.next().await;
    assert_eq!(pong.text(), Some("pong"));
    assert_eq!(pong.conversation, "C1234567890");

    send_kamigo(addr, kamigo::member_joined("李小華")).await;
    assert_eq!(replies.next_text().await, "Welcome, 李小華!");
    // Another group has its own state and knowledge.
    send_kamigo(addr, kamigo::message("ping").room("C-other")).await;
    assert_eq!(replies.next_text().await, "ping");
    server.shutdown().await;
}

#[tokio::test]
async fn sample_bot_on_wechatpadpro_with_its_filters() {
    let adapter = WeChatPadProAdapter::new(&[Secret::new(WECHAT_SECRET)]).expect("a secret");
    let (outbox, mut replies) = RecordingOutbox::new();
    let channel = Channel::new("wechatpadpro", adapter).with_outbox(outbox);
    let server = start_channel(channel, echo_bot::bot().expect("bot"), Workers::default()).await;
    let addr = server.local_addr();

    // The account's own and history messages are acknowledged and not handled.
    assert_ack(
        &send_wechat(addr, wechatpadpro::text("mine").own()).await,
        r#"{"status":"success"}"#,
    );
    assert_ack(
        &send_wechat(addr, wechatpadpro::text("old").history()).await,
        r#"{"status":"success"}"#,
    );

    send_wechat(addr, wechatpadpro::text("teach")).await;
    assert_eq!(replies.next_text().await, echo_bot::TEACH_PROMPT);
    send_wechat(addr, wechatpadpro::text("ping => pong")).await;
    assert_eq!(replies.next_text().await, r#"Got it: "ping" => "pong""#);
    send_wechat(addr, wechatpadpro::text("ping")).await;
    assert_eq!(replies.next_text().await, "pong");

    let group = wechatpadpro::group_text("4242@chatroom", "wxid_member", "hello group");
    send_wechat(addr, group).await;
    let echoed = replies.next().await;
    assert_eq!(
        (echoed.conversation.as_str(), echoed.text()),
        ("4242@chatroom", Some("hello group"))
    );
    assert!(
        replies.try_next().is_none(),
        "the filtered messages got no reply"
    );

    // A stale timestamp is refused, in the gateway's error shape.
    let stale = wechatpadpro::Signer::new(WECHAT_SECRET)
        .at(1_000_000_000)
        .request(WECHAT, wechatpadpro::text("late"));
    let refused = tcp::send(addr, stale).await.expect("answered");
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json()["status"], "error");
    assert_eq!(refused.json()["error"], "stale_timestamp");
    server.shutdown().await;
}

#[tokio::test]
async fn sample_bot_on_chatwork_replies_through_the_rest_api_in_order() {
    let mut api = FakeApi::start().await;
    let token = chatwork::Signer::sample_token();
    let outbox = ChatworkOutbox::new(&api.base(), Secret::new("api-token")).expect("client");
    let adapter = ChatworkAdapter::new(&[Secret::new(&token)])
        .expect("a token")
        .with_outbox(outbox);
    let server = start_channel(
        Channel::new("chatwork", adapter),
        echo_bot::bot().expect("bot"),
        Workers::default(),
    )
    .await;
    let addr = server.local_addr();
    let signer = chatwork::Signer::new(&token).expect("base64");

    for text in ["hello", "teach", "ping => pong", "ping"] {
        let response = tcp::send(
            addr,
            signer.request(CHATWORK, chatwork::message_created(text)),
        )
        .await
        .expect("answered");
        assert_ack(&response, r#"{"ok":true}"#);
    }
    let mut posted = Vec::new();
    for _ in 0..4 {
        let message = api.next_message().await;
        assert_eq!(
            (message.room.as_str(), message.token.as_str()),
            ("567890123", "api-token")
        );
        posted.push(message.body);
    }
    assert_eq!(
        posted,
        [
            "hello",
            echo_bot::TEACH_PROMPT,
            r#"Got it: "ping" => "pong""#,
            "pong"
        ]
    );

    // The signature in the query parameter works too; an edit is a new delivery.
    let edited = chatwork::message_created("hello").update_time(1_700_000_000);
    let response = tcp::send(addr, signer.clone().in_query().request(CHATWORK, edited))
        .await
        .expect("answered");
    assert_ack(&response, r#"{"ok":true}"#);
    assert_eq!(api.next_message().await.body, "hello");

    // A bad signature is 401 (not verified, so not the always-200 answer).
    let forged = chatwork::Signer::new(&chatwork::Signer::sample_token()).expect("base64");
    let refused = tcp::send(
        addr,
        forged.request(CHATWORK, chatwork::message_created("x")),
    )
    .await
    .expect("answered");
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    // A verified but malformed delivery is 200: Chatwork never resends.
    let malformed = tcp::send(
        addr,
        signer.request(
            CHATWORK,
            "{\"webhook_event_type\":\"message_created\",\"webhook_event\":{\"room_id\":1}}",
        ),
    )
    .await
    .expect("answered");
    assert_eq!(malformed.status, StatusCode::OK);
    assert!(malformed.body.len() <= 512);
    server.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_is_acknowledged_identically_and_handled_once() {
    let runs = Arc::new(Mutex::new(0_u32));
    let bot = counting_bot(runs.clone());
    let (channel, mut replies) = kamigo_channel();
    let server = start_channel(channel, bot, Workers::default()).await;
    let addr = server.local_addr();

    let event = kamigo::message("once").id("msg-dup");
    let first = send_kamigo(addr, event.clone()).await;
    let second = send_kamigo(addr, event).await;
    assert_eq!(first.body, second.body);
    assert_eq!(replies.next_text().await, "once");
    // A later message of the same group is handled after the first: by then a second run of
    // the duplicate would have replied before it.
    send_kamigo(addr, kamigo::message("after")).await;
    assert_eq!(replies.next_text().await, "after");
    assert_eq!(*runs.lock().expect("lock"), 2);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_messages_in_fifty_conversations_keep_order_and_lose_nothing() {
    const CONVERSATIONS: usize = 50;
    const PER_CONVERSATION: usize = 20;
    let seen: Arc<Mutex<HashMap<String, Vec<usize>>>> = Arc::default();
    let recorded = seen.clone();
    let bot = Bot::builder()
        .initial("idle")
        .state(
            "idle",
            handler_fn(move |cx, event| {
                let recorded = recorded.clone();
                async move {
                    let n: usize = event.text().unwrap_or_default().parse()?;
                    recorded
                        .lock()
                        .expect("lock")
                        .entry(cx.conversation().to_owned())
                        .or_default()
                        .push(n);
                    tokio::task::yield_now().await;
                    Ok(Reply::text(format!("{}:{n}", cx.conversation())))
                }
            }),
        )
        .build()
        .expect("bot");
    let (channel, mut replies) = kamigo_channel();
    let server = start_channel(channel, bot, Workers::default().with_workers(16)).await;
    let addr = server.local_addr();

    let mut senders = Vec::new();
    for c in 0..CONVERSATIONS {
        senders.push(tokio::spawn(async move {
            for n in 0..PER_CONVERSATION {
                let event = kamigo::message(&n.to_string()).room(&format!("C{c}"));
                let response = send_kamigo(addr, event).await;
                assert_eq!(response.status, StatusCode::OK);
            }
        }));
    }
    for sender in senders {
        sender.await.expect("the sender finishes");
    }
    let mut delivered: HashMap<String, Vec<usize>> = HashMap::new();
    for _ in 0..CONVERSATIONS * PER_CONVERSATION {
        let reply = replies.next().await;
        let text = reply.text().unwrap_or_default().to_owned();
        let (conversation, n) = text.split_once(':').expect("conversation:n");
        assert_eq!(conversation, reply.conversation);
        delivered
            .entry(reply.conversation.clone())
            .or_default()
            .push(n.parse().expect("n"));
    }
    let expected: Vec<usize> = (0..PER_CONVERSATION).collect();
    let seen = std::mem::take(&mut *seen.lock().expect("lock"));
    assert_eq!(seen.len(), CONVERSATIONS);
    for (conversation, order) in seen.iter() {
        assert_eq!(
            order, &expected,
            "handled in order, once each: {conversation}"
        );
        assert_eq!(
            delivered[conversation], expected,
            "replied in order: {conversation}"
        );
    }
    assert!(replies.try_next().is_none(), "no reply twice");
    server.shutdown().await;
}

#[tokio::test]
async fn a_full_queue_answers_503_and_the_sender_retry_is_accepted_later() {
    let gate = Arc::new(Notify::new());
    let bot = holding_bot(gate.clone());
    let (channel, mut replies) = kamigo_channel();
    let workers = Workers::default().with_workers(1).with_capacity(1);
    let server = start_channel(channel, bot, workers).await;
    let addr = server.local_addr();

    assert_eq!(
        send_kamigo(addr, kamigo::message("hold")).await.status,
        StatusCode::OK
    );
    let refused_event = kamigo::message("second").room("C2");
    let refused = send_kamigo(addr, refused_event.clone()).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.json()["error"], "queue_full");
    assert_eq!(
        refused.headers["retry-after"], "1",
        "a sender that honours it waits while the queue drains"
    );

    gate.notify_one();
    assert_eq!(replies.next_text().await, "hold");
    // The claim was released: Kamigo's retry of the same delivery is accepted now.
    assert_eq!(
        send_kamigo(addr, refused_event).await.status,
        StatusCode::OK
    );
    assert_eq!(replies.next_text().await, "second");
    server.shutdown().await;
}

#[tokio::test]
async fn a_failing_outbox_retries_then_dead_letters_and_a_replay_delivers() {
    let (outbox, mut replies) = RecordingOutbox::new();
    outbox.fail_with((0..3).map(|n| OutboxError::transient(format!("down #{n}"))));
    let adapter = KamigoAdapter::new(&[Secret::new(KAMIGO_SECRET)]).expect("a secret");
    let runs = Arc::new(Mutex::new(0_u32));
    let bot = counting_bot(runs.clone());
    let channel = Channel::new("kamigo", adapter).with_outbox(outbox);
    let server = start_channel(channel, bot, quick_retries(3)).await;
    let (addr, admin) = (server.local_addr(), server.admin_addr().expect("admin"));

    send_kamigo(addr, kamigo::message("lost for now")).await;
    for _ in 0..3 {
        assert_eq!(replies.next_attempt().await.text(), Some("lost for now"));
    }
    // The group's next message is handled only once the first is given up on.
    send_kamigo(addr, kamigo::message("next")).await;
    assert_eq!(replies.next_attempt().await.text(), Some("next"));
    assert_eq!(replies.next_text().await, "next");

    let dead = tcp::get(admin, "/dead-letters").await.expect("answered");
    let letters = dead.json()["dead_letters"]
        .as_array()
        .cloned()
        .expect("a list");
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["attempts"], 3);
    assert_eq!(letters[0]["last_error"], "outbox: down #2");
    let id = letters[0]["id"].as_u64().expect("an id");

    let replayed = replay(admin, id).await;
    assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.text());
    assert_eq!(replies.next_text().await, "lost for now");
    // The reply was kept with the job: the handler ran once for each message, not again.
    assert_eq!(*runs.lock().expect("lock"), 2);
    let again = replay(admin, id).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    let log = tcp::get(admin, "/deliveries?limit=50")
        .await
        .expect("answered");
    let totals = &log.json()["totals"];
    assert_eq!(totals["dead_letter"], 1);
    assert_eq!(totals["retrying"], 2);
    assert_eq!(totals["replied"], 2);
    server.shutdown().await;
}

#[tokio::test]
async fn chatwork_rate_limits_and_server_errors_are_retried() {
    let mut api = FakeApi::start().await;
    api.answer(500, &[]);
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        .to_string();
    api.answer(
        429,
        &[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset),
        ],
    );
    let token = chatwork::Signer::sample_token();
    let outbox = ChatworkOutbox::new(&api.base(), Secret::new("api-token")).expect("client");
    let adapter = ChatworkAdapter::new(&[Secret::new(&token)])
        .expect("token")
        .with_outbox(outbox);
    let server = start_channel(
        Channel::new("chatwork", adapter),
        echo_bot::bot().expect("bot"),
        quick_retries(5),
    )
    .await;
    let signer = chatwork::Signer::new(&token).expect("base64");
    tcp::send(
        server.local_addr(),
        signer.request(CHATWORK, chatwork::message_created("persist")),
    )
    .await
    .expect("answered");
    assert_eq!(api.next_post().await.status, 500);
    assert_eq!(api.next_post().await.status, 429);
    let delivered = api.next_post().await;
    assert_eq!(
        (delivered.status, delivered.body.as_str()),
        (200, "persist")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn chatwork_keeps_a_delivery_the_full_queue_cannot_take() {
    let gate = Arc::new(Notify::new());
    let bot = holding_bot(gate.clone());
    let token = chatwork::Signer::sample_token();
    let (outbox, mut replies) = RecordingOutbox::new();
    let adapter = ChatworkAdapter::new(&[Secret::new(&token)]).expect("token");
    let channel = Channel::new("chatwork", adapter).with_outbox(outbox);
    let server = start_channel(
        channel,
        bot,
        Workers::default().with_workers(1).with_capacity(1),
    )
    .await;
    let (addr, admin) = (server.local_addr(), server.admin_addr().expect("admin"));
    let signer = chatwork::Signer::new(&token).expect("base64");

    tcp::send(
        addr,
        signer.request(CHATWORK, chatwork::message_created("hold")),
    )
    .await
    .expect("answered");
    let overflow = tcp::send(
        addr,
        signer.request(CHATWORK, chatwork::message_created("kept").room(7)),
    )
    .await
    .expect("answered");
    assert_eq!(
        overflow.status,
        StatusCode::OK,
        "Chatwork never resends: always 200"
    );

    gate.notify_one();
    assert_eq!(replies.next_text().await, "hold");
    // Kept past the capacity and handled by itself: no dead letter, no replay.
    let dead = tcp::get(admin, "/dead-letters").await.expect("answered");
    assert_eq!(
        dead.json()["dead_letters"].as_array().map(Vec::len),
        Some(0)
    );
    assert_eq!(replies.next_text().await, "kept");
    server.shutdown().await;
}

#[tokio::test]
async fn a_checkpoint_this_build_cannot_read_is_recorded_and_the_handler_runs_again() {
    use botwire::store::{MemoryQueue, NewJob, Queue};
    use botwire::{Reply as BotReply, Server};

    // A job an earlier (newer) botwire worked on: its checkpoint is of a version this one
    // does not know.
    let queue = MemoryQueue::default();
    let event = kamigo::message("hello").id("m-ckpt");
    let body: bytes::Bytes = event.into();
    queue
        .push(NewJob::new("kamigo", "C1234567890", "m-ckpt", body))
        .await
        .expect("queued");
    let mut job = queue.take().await.expect("taken");
    let reply = serde_json::to_value(BotReply::text("from the future")).expect("serializes");
    let newer = serde_json::json!({ "v": 9, "reply": reply, "from": "idle", "to": null });
    job.progress = Some(serde_json::to_vec(&newer).expect("serializes").into());
    queue
        .retry(job, std::time::Duration::ZERO)
        .await
        .expect("put back");

    let runs = Arc::new(Mutex::new(0));
    let (channel, mut replies) = kamigo_channel();
    let server = Server::new()
        .listen(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .admin(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .queue(queue)
        .channel(channel)
        .bot(counting_bot(runs.clone()))
        .bind()
        .await
        .expect("starts");
    assert_eq!(replies.next_text().await, "hello", "the handler ran again");
    assert_eq!(*runs.lock().expect("lock"), 1);

    let admin = server.admin_addr().expect("an admin listener");
    let log = tcp::get(admin, "/deliveries?limit=100")
        .await
        .expect("answered")
        .json();
    let recorded = log["deliveries"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["delivery_id"] == "m-ckpt" && r["outcome"] == "retrying")
        .unwrap_or_else(|| panic!("the unreadable checkpoint is recorded: {log}"));
    let detail = recorded["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("version 9"), "{detail}");
    assert!(detail.contains("the handler runs again"), "{detail}");
    server.shutdown().await;
}
