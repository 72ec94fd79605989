//! The axum app with botwire nested in it, over real TCP: the app's own routes, a FUNTEK reply
//! in the response, a Kamigo delivery worked off by the engine, `allow_from` read from the
//! connection's address through axum's `ConnectInfo`, the admin endpoints on their own
//! listener, and a shutdown that leaves nothing unfinished.

use std::net::SocketAddr;

use botwire::platforms::auth::Secret;
use botwire::platforms::funtek::FuntekAdapter;
use botwire::platforms::kamigo::KamigoAdapter;
use botwire::{Built, Channel, Server, Stopped};
use botwire_testkit::outbox::{RecordingOutbox, Replies};
use botwire_testkit::{funtek, kamigo, tcp};
use http::StatusCode;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const TOKEN: &str = "embed-token";
const SECRET: &str = "embed-secret";

struct Embedded {
    addr: SocketAddr,
    admin: SocketAddr,
    replies: Replies,
    stop: oneshot::Sender<()>,
    served: JoinHandle<std::io::Result<Stopped>>,
}

/// The app on free loopback ports: FUNTEK open to all, Kamigo only from loopback, and a
/// partners' FUNTEK channel only from 203.0.113.0/24.
async fn start() -> Embedded {
    let (outbox, replies) = RecordingOutbox::new();
    let funtek = || {
        FuntekAdapter::builder()
            .token(TOKEN)
            .build()
            .expect("a token")
    };
    let kamigo = KamigoAdapter::new(&[Secret::new(SECRET)]).expect("a secret");
    let Built {
        webhooks,
        admin,
        engine,
        ..
    } = Server::new()
        .channel(Channel::new("funtek", funtek()))
        .channel(Channel::new("kamigo", kamigo).allow_from(["127.0.0.0/8".parse().expect("a net")]))
        .channel(
            Channel::new("partners", funtek())
                .at("/webhooks/partners")
                .allow_from(["203.0.113.0/24".parse().expect("a net")]),
        )
        .bot(echo_bot::bot().expect("the sample bot"))
        .outbox(outbox)
        .build()
        .await
        .expect("builds");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let admin_listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("bound");
    let admin_addr = admin_listener.local_addr().expect("bound");
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(axum_embed::serve(
        listener,
        axum_embed::router(webhooks),
        (admin_listener, axum_embed::admin_router(admin)),
        engine,
        async move {
            let _ = stopped.await;
        },
    ));
    Embedded {
        addr,
        admin: admin_addr,
        replies,
        stop,
        served,
    }
}

#[tokio::test]
async fn botwire_nested_in_axum_answers_works_off_its_queue_and_shuts_down_clean() {
    let mut app = start().await;

    // The app's own route is the app's.
    let own = tcp::get(app.addr, "/status").await.expect("answered");
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(own.text(), "ok\n");

    // FUNTEK, nested under /bots: the reply is in the response.
    let path = format!("{}/webhooks/funtek", axum_embed::BOTS);
    let request = funtek::Signer::token(TOKEN).request(&path, funtek::message("hello"));
    let answered = tcp::send(app.addr, request).await.expect("answered");
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.text());
    assert_eq!(answered.json()["data"]["message"], "hello");

    // A bad signature is botwire's refusal, through axum unchanged.
    let forged = funtek::Signer::token("not-the-token").request(&path, funtek::message("x"));
    let refused = tcp::send(app.addr, forged).await.expect("answered");
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    // Kamigo from loopback (its allow_from, read from ConnectInfo): acknowledged, then the
    // engine's workers run the bot and the reply reaches the outbox.
    let path = format!("{}/webhooks/kamigo", axum_embed::BOTS);
    let request = kamigo::Signer::new(SECRET).request(&path, kamigo::message("hi there"));
    let acked = tcp::send(app.addr, request).await.expect("answered");
    assert_eq!(acked.status, StatusCode::OK, "{}", acked.text());
    assert_eq!(app.replies.next_text().await, "hi there");

    // The partners' channel admits only its block: loopback is refused.
    let path = format!("{}/webhooks/partners", axum_embed::BOTS);
    let request = funtek::Signer::token(TOKEN).request(&path, funtek::message("hi"));
    let forbidden = tcp::send(app.addr, request).await.expect("answered");
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(forbidden.json()["error"], "forbidden_address");

    // The admin endpoints, on their own listener, saw all of it.
    let log = tcp::get(app.admin, "/deliveries").await.expect("answered");
    assert_eq!(log.status, StatusCode::OK);
    let records = log.json()["deliveries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let channels: Vec<_> = records
        .iter()
        .filter_map(|r| r["channel"].as_str())
        .collect();
    for channel in ["funtek", "kamigo", "partners"] {
        assert!(channels.contains(&channel), "{channel} in {channels:?}");
    }
    // … and botwire's paths are not on the app's port.
    let admin_on_app = tcp::get(app.addr, "/deliveries").await.expect("answered");
    assert_eq!(admin_on_app.status, StatusCode::NOT_FOUND);

    app.stop.send(()).expect("the app is serving");
    let stopped = app.served.await.expect("joined").expect("served");
    assert!(stopped.unfinished.is_empty(), "{stopped:?}");
    assert!(
        tcp::get(app.addr, "/status").await.is_err(),
        "the listener is closed after the shutdown"
    );
    assert!(app.replies.try_next().is_none(), "nothing sent twice");
}
