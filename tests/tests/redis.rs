//! A server on Redis while Redis goes away and comes back: 503 while it is down, `/readyz`
//! follows, service resumes by itself, and nothing answered before is lost.

use std::net::SocketAddr;
use std::time::Duration;

use botwire::{Channel, Server};
use botwire_e2e::{PATH, TOKEN, funtek as funtek_adapter};
use botwire_store_redis::RedisStore;
use botwire_testkit::redis_server::RedisServer;
use botwire_testkit::{TestResponse, funtek, tcp};
use http::StatusCode;

async fn post(addr: SocketAddr, event: funtek::Event) -> TestResponse {
    let request = funtek::Signer::token(TOKEN).request(PATH, event);
    tcp::send(addr, request).await.expect("answered")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_gives_503_then_service_resumes_without_loss() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let store = RedisStore::connect(&redis.url(), "resume")
        .await
        .expect("connects");
    let server = Server::new()
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .channel(Channel::new(
            "funtek",
            funtek_adapter(Duration::from_secs(2)),
        ))
        .bot(echo_bot::bot().expect("bot"))
        .ledger(store.clone())
        .state_store(store.clone())
        .data(store)
        .bind()
        .await
        .expect("starts");
    let addr = server.local_addr();
    let ready = || async { tcp::get(addr, "/readyz").await.expect("answered").status };

    let before = funtek::message("before the outage");
    let answered = post(addr, before.clone()).await;
    assert_eq!(answered.status, StatusCode::OK);
    assert_eq!(ready().await, StatusCode::OK);

    redis.stop();
    let refused = post(addr, funtek::message("during the outage")).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text()
    );
    assert_eq!(ready().await, StatusCode::SERVICE_UNAVAILABLE);

    redis.restart();
    // The platform resends until it is answered; the connection comes back by itself.
    let mut resends = tokio::time::interval(Duration::from_millis(50));
    let mut resumed = false;
    for _ in 0..200 {
        resends.tick().await;
        if post(addr, funtek::message("after the outage")).await.status == StatusCode::OK {
            resumed = true;
            break;
        }
    }
    assert!(resumed, "service did not resume after Redis came back");
    assert_eq!(ready().await, StatusCode::OK);
    // What was answered before the outage is still known: the same bytes, no second run.
    let resent = post(addr, before).await;
    assert_eq!(resent.body, answered.body);
    server.shutdown().await;
}
