#![no_main]
//! The server's request path in process: routing, body limits, verification, parsing, the
//! ledger, and for the FUNTEK channel (mounted without credentials, so that fuzzed bodies get
//! past verification) the bot itself. The first byte picks the path; the rest is the body.

use std::sync::LazyLock;

use botwire_core::{Bot, Reply, handler_fn};
use botwire_platforms::auth::Secret;
use botwire_platforms::funtek::FuntekAdapter;
use botwire_platforms::kamigo::KamigoAdapter;
use botwire_server::{App, Channel, Limits, Server};
use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;

const PATHS: [&str; 4] = [
    "/webhooks/funtek",
    "/webhooks/kamigo",
    "/healthz",
    "/nowhere",
];

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime")
});

static APP: LazyLock<App> = LazyLock::new(|| {
    let bot = Bot::builder()
        .initial("idle")
        .state(
            "idle",
            handler_fn(|_cx, event| async move {
                Ok(Reply::text(event.text().unwrap_or_default()).goto("idle"))
            }),
        )
        .build()
        .expect("a bot");
    let funtek = FuntekAdapter::builder()
        .insecure(true)
        .build()
        .expect("an open channel");
    let kamigo = KamigoAdapter::new(&[Secret::new("fuzz")]).expect("a secret");
    let _guard = RUNTIME.enter();
    Server::new()
        .limits(Limits::default().with_body_bytes(64 * 1024))
        .channel(Channel::new("funtek", funtek))
        .channel(Channel::new("kamigo", kamigo))
        .bot(bot)
        .into_app()
        .expect("an app")
});

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    let path = PATHS[usize::from(*selector) % PATHS.len()];
    let method = if selector & 0x80 == 0 { "POST" } else { "GET" };
    let Ok(request) = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::copy_from_slice(body)))
    else {
        return;
    };
    let response = RUNTIME.block_on(APP.handle(request));
    assert!(response.status().as_u16() < 600);
});
