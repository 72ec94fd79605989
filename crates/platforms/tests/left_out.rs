//! A send API's settings in a build without the `send-api` feature are refused by name, never
//! ignored (ignoring them would drop the replies they were set to deliver); with the feature
//! they give the channel its outbox. Each test holds in both builds: CI runs this file with
//! every feature and once with the platforms alone.

use botwire_platforms::{ChannelSettings, Platforms};

/// Configures a channel of `platform` with `settings`, expecting it mounted or refused as the
/// build's features say.
fn check(platform: &str, settings: ChannelSettings, api_key: &str) {
    check_key(platform, settings, "api_", api_key);
}

/// [`check`] for a platform whose send-API setting is `key`.
fn check_key(platform: &str, settings: ChannelSettings, key: &str, api_key: &str) {
    let platforms = Platforms::builtin();
    let Some(factory) = platforms.get(platform) else {
        return; // this build leaves the platform out
    };
    let result = factory.configure(&settings);
    if cfg!(feature = "send-api") {
        let adapter = result.expect("taken").expect("mounted");
        assert!(
            adapter.outbox().is_some(),
            "{platform}: replies go to its send API"
        );
    } else {
        let error = result.expect_err("refused");
        let text = error.to_string();
        assert!(text.contains("`send-api` cargo feature"), "{text}");
        assert!(
            text.contains(&format!("{platform}.{key}")),
            "names the key: {text}"
        );
        assert!(!text.contains(api_key), "never the secret: {text}");
    }
}

#[test]
fn chatwork_api_token() {
    let settings = ChannelSettings::new("chatwork")
        .with("token", "Y2hhdHdvcmstd2ViaG9vay10b2tlbg==")
        .with("api_token", "cw-api-secret-1");
    check("chatwork", settings, "cw-api-secret-1");
}

#[test]
fn imkit_api_of_a_funtek_channel() {
    let settings = ChannelSettings::new("funtek")
        .with("token", "funtek-token")
        .with("api_base", "http://127.0.0.1:9")
        .with("api_key", "imkit-key-1");
    check("funtek", settings, "imkit-key-1");
}

#[test]
fn wechatpadpro_api() {
    let settings = ChannelSettings::new("wechatpadpro")
        .with("secret", "wechat-secret")
        .with("api_base", "http://127.0.0.1:9")
        .with("api_key", "pad-key-1");
    check("wechatpadpro", settings, "pad-key-1");
}

#[test]
fn line_access_token() {
    let settings = ChannelSettings::new("line")
        .with("secret", "line-secret")
        .with("access_token", "line-token-1");
    check_key("line", settings, "access_token", "line-token-1");
}

#[test]
fn telegram_bot_token() {
    let settings = ChannelSettings::new("telegram")
        .with("secret", "telegram-secret")
        .with("bot_token", "123:telegram-token-1");
    check_key("telegram", settings, "bot_token", "123:telegram-token-1");
}

#[test]
fn slack_bot_token() {
    let settings = ChannelSettings::new("slack")
        .with("secret", "slack-secret")
        .with("bot_token", "xoxb-slack-token-1");
    check_key("slack", settings, "bot_token", "xoxb-slack-token-1");
}

#[test]
fn discord_application_id() {
    let settings = ChannelSettings::new("discord")
        .with(
            "public_key",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        )
        .with("application_id", "290926444748734465");
    check_key("discord", settings, "application_id", "never-printed");
}
