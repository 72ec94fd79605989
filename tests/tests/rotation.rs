//! Secret rotation on every platform, configured as operators do it: a comma-separated list in
//! one variable. During the switch both the old and the new secret verify; any other does not.

use std::net::SocketAddr;

use botwire::{Server, Settings};
use botwire_testkit::{chatwork, funtek, kamigo, tcp, wechatpadpro};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;

type Signed = fn(&str) -> Request<Full<Bytes>>;

/// One platform: its secret variable, and a delivery signed with a given secret.
struct Rotation {
    variable: &'static str,
    old: &'static str,
    new: &'static str,
    other: &'static str,
    signed: Signed,
}

#[tokio::test]
async fn old_and_new_secrets_both_verify_on_every_platform() {
    let rotations = [
        Rotation {
            variable: "BOTWIRE_FUNTEK_TOKEN",
            old: "funtek-old",
            new: "funtek-new",
            other: "funtek-other",
            signed: |token| {
                funtek::Signer::token(token).request("/webhooks/funtek", funtek::message("hi"))
            },
        },
        Rotation {
            variable: "BOTWIRE_KAMIGO_SECRET",
            old: "kamigo-old",
            new: "kamigo-new",
            other: "kamigo-other",
            signed: |secret| {
                kamigo::Signer::new(secret).request("/webhooks/kamigo", kamigo::message("hi"))
            },
        },
        Rotation {
            variable: "BOTWIRE_CHATWORK_TOKEN",
            // base64 of "chatwork-old", "chatwork-new", "chatwork-other"
            old: "Y2hhdHdvcmstb2xk",
            new: "Y2hhdHdvcmstbmV3",
            other: "Y2hhdHdvcmstb3RoZXI=",
            signed: |token| {
                chatwork::Signer::new(token)
                    .expect("base64")
                    .request("/webhooks/chatwork", chatwork::message_created("hi"))
            },
        },
        Rotation {
            variable: "BOTWIRE_WECHATPADPRO_SECRET",
            old: "wechat-old",
            new: "wechat-new",
            other: "wechat-other",
            signed: |secret| {
                wechatpadpro::Signer::new(secret)
                    .request("/webhooks/wechatpadpro", wechatpadpro::text("hi"))
            },
        },
    ];
    let env = rotations
        .iter()
        .map(|r| (r.variable.to_owned(), format!("{}, {}", r.old, r.new)))
        .chain([botwire_e2e::in_memory()]);
    let settings = Settings::from_sources(None, env).expect("valid settings");
    let server = Server::from_settings(settings)
        .expect("all four mount")
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .without_admin()
        .bot(echo_bot::bot().expect("bot"))
        .bind()
        .await
        .expect("starts");
    let addr = server.local_addr();

    for rotation in &rotations {
        for (secret, expected) in [
            (rotation.old, StatusCode::OK),
            (rotation.new, StatusCode::OK),
            (rotation.other, StatusCode::UNAUTHORIZED),
        ] {
            let response = tcp::send(addr, (rotation.signed)(secret))
                .await
                .expect("answered");
            assert_eq!(
                response.status,
                expected,
                "{} signed with {secret}: {}",
                rotation.variable,
                response.text()
            );
        }
    }
    server.shutdown().await;
}
