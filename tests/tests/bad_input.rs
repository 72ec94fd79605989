//! The bad-input matrix: for each platform, one table of hostile or broken requests, written
//! byte for byte over TCP. Each row says what the server must answer (status and error code,
//! or that the delivery is handled or ignored). After every row a good delivery must be
//! answered and reach the handler, and the handler must have seen nothing the row should not
//! have let through.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use botwire::platforms::auth::Secret;
use botwire::platforms::chatwork::ChatworkAdapter;
use botwire::platforms::kamigo::KamigoAdapter;
use botwire::platforms::wechatpadpro::WeChatPadProAdapter;
use botwire::{Bot, Channel, EventKind, Reply, Workers, handler_fn};
use botwire_e2e::{TOKEN, start_channel};
use botwire_testkit::raw::{self, Framing};
use botwire_testkit::{
    chatwork, discord, funtek, kamigo, line, slack, standard_webhooks, tcp, telegram, wechatpadpro,
};
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::Full;
use tokio::sync::mpsc;

type Req = Request<Full<Bytes>>;

/// Only a guard against a hung test.
const HANG_GUARD: Duration = Duration::from_secs(30);
const FUNTEK_SIGNING: &str = "matrix-funtek-signing";
const KAMIGO_SECRET: &str = "matrix-kamigo-secret";
const CHATWORK_TOKEN: &str = "Ym90d2lyZS1tYXRyaXgtY2hhdHdvcmstdG9rZW4=";
const WECHAT_SECRET: &str = "matrix-wechat-secret";
/// Where the matrix puts a good delivery's text; rows replace it with hostile bytes.
const MARK: &str = "MARK";

/// What the server must do with a row.
#[derive(Debug, Clone)]
enum Expect {
    /// Answer `status` with this error `code` (and a message naming `field`, when set); run
    /// no handler.
    Refused {
        status: StatusCode,
        code: &'static str,
        field: Option<&'static str>,
    },
    /// Answer 200 and hand the event to the handler, which sees this text (or event name).
    Handled(String),
    /// Answer 200 and hand nothing to the handler.
    Ignored,
}

fn refused(status: StatusCode, code: &'static str) -> Expect {
    Expect::Refused {
        status,
        code,
        field: None,
    }
}

fn unauthorized(code: &'static str) -> Expect {
    refused(StatusCode::UNAUTHORIZED, code)
}

fn naming(status: StatusCode, code: &'static str, field: &'static str) -> Expect {
    Expect::Refused {
        status,
        code,
        field: Some(field),
    }
}

fn handled(seen: &str) -> Expect {
    Expect::Handled(seen.to_owned())
}

/// One row of a platform's table.
struct Case {
    name: &'static str,
    request: Req,
    framing: Framing,
    expect: Expect,
}

fn case(name: &'static str, request: Req, expect: Expect) -> Case {
    Case {
        name,
        request,
        framing: Framing::Length,
        expect,
    }
}

fn framed(name: &'static str, request: Req, framing: Framing, expect: Expect) -> Case {
    Case {
        name,
        request,
        framing,
        expect,
    }
}

/// How one platform signs, and what a good delivery of it looks like.
struct Kit {
    sign: fn(Bytes) -> Req,
    /// A good delivery with this text, in the one conversation the matrix uses.
    good: fn(&str) -> Bytes,
    /// The header that carries the signature.
    signature: &'static str,
}

impl Kit {
    fn signed(&self, body: impl Into<Bytes>) -> Req {
        (self.sign)(body.into())
    }

    fn good(&self, text: &str) -> Req {
        self.signed((self.good)(text))
    }

    /// A good delivery with the quoted text replaced by `raw` (not JSON-escaped), signed.
    fn with_raw_text(&self, raw: &[u8]) -> Req {
        let body = (self.good)(MARK);
        let quoted = format!("\"{MARK}\"");
        let at = find(&body, quoted.as_bytes()).expect("the good body holds the mark");
        let mut hostile = body[..at].to_vec();
        hostile.extend_from_slice(raw);
        hostile.extend_from_slice(&body[at + quoted.len()..]);
        self.signed(hostile)
    }

    /// A good delivery whose signature header went through `tamper`.
    fn tampered(&self, text: &str, tamper: impl Fn(&str) -> String) -> Req {
        let mut request = self.good(text);
        let value = request.headers()[self.signature]
            .to_str()
            .expect("ascii")
            .to_owned();
        set(&mut request, self.signature, &tamper(&value));
        request
    }

    /// The rows every platform that signs its body shares: [`body_rows`](Self::body_rows)
    /// and [`signature_rows`](Self::signature_rows).
    fn common_rows(&self, malformed: StatusCode) -> Vec<Case> {
        let mut rows = self.body_rows(malformed);
        rows.extend(self.signature_rows());
        rows
    }

    /// Broken bodies, lying framing and content types. `malformed` is the status of a
    /// verified body that cannot be parsed (Chatwork answers 200).
    fn body_rows(&self, malformed: StatusCode) -> Vec<Case> {
        let body = (self.good)("framing");
        let len = body.len() as u64;
        let oversize = [vec![b' '; 2 * 1024 * 1024], body.to_vec()].concat();
        let huge_number = [b"{\"n\":".as_slice(), &vec![b'9'; 50 * 1024 * 1024], b"}"].concat();
        let mut text_plain = self.good("as text/plain");
        set(&mut text_plain, CONTENT_TYPE.as_str(), "text/plain");
        let mut no_type = self.good("no content type");
        no_type.headers_mut().remove(CONTENT_TYPE);
        vec![
            case(
                "empty body",
                self.signed(""),
                refused(malformed, "not_json"),
            ),
            case(
                "truncated JSON",
                self.signed(body.slice(..body.len() / 2)),
                refused(malformed, "not_json"),
            ),
            case(
                "invalid UTF-8 in a string",
                self.with_raw_text(b"\"\xff\xfe\""),
                refused(malformed, "not_json"),
            ),
            case(
                "a 50 MB number",
                self.signed(huge_number),
                refused(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            ),
            framed(
                "over the limit, chunked",
                self.signed(oversize),
                Framing::Chunked(64 * 1024),
                refused(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            ),
            framed(
                "Content-Length over the limit",
                self.signed(body.clone()),
                Framing::Declared(100 * 1024 * 1024),
                refused(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            ),
            framed(
                "Content-Length longer than the body",
                self.signed(body.clone()),
                Framing::Declared(len + 100),
                refused(StatusCode::BAD_REQUEST, "body_unreadable"),
            ),
            case(
                "content type text/plain",
                text_plain,
                handled("as text/plain"),
            ),
            case("no content type", no_type, handled("no content type")),
        ]
    }

    /// Signatures that are missing, malformed, doubled or for another body (or a body cut
    /// short under a lying length).
    fn signature_rows(&self) -> Vec<Case> {
        let body = (self.good)("framing");
        let len = body.len() as u64;
        let mut missing = self.good("x");
        missing.headers_mut().remove(self.signature);
        let mut twice = self.good("x");
        let again = twice.headers()[self.signature].clone();
        twice.headers_mut().append(self.signature, again);
        let (parts, _) = self.good("signed").into_parts();
        let other_body = Request::from_parts(parts, Full::new((self.good)("other")));
        vec![
            framed(
                "Content-Length shorter than the body",
                self.signed(body),
                Framing::Declared(len / 2),
                unauthorized("invalid_signature"),
            ),
            case(
                "signature missing",
                missing,
                unauthorized("missing_signature"),
            ),
            case(
                "signature empty",
                self.tampered("x", |_| String::new()),
                unauthorized("invalid_signature"),
            ),
            case(
                "signature too short",
                self.tampered("x", |v| v[..v.len() - 4].to_owned()),
                unauthorized("invalid_signature"),
            ),
            case(
                "signature not in its encoding",
                self.tampered("x", |v| v.replace(|c: char| c.is_ascii_alphanumeric(), "!")),
                unauthorized("invalid_signature"),
            ),
            case(
                "signature given twice",
                twice,
                unauthorized("invalid_signature"),
            ),
            case(
                "right signature, other body",
                other_body,
                unauthorized("invalid_signature"),
            ),
        ]
    }

    /// Rows for a signed timestamp in `header` that may be five minutes off either way:
    /// `at(timestamp, text)` is a good delivery with `text` signed at that time. Six minutes
    /// either way and milliseconds are stale, four minutes is handled; not a number is
    /// `invalid_timestamp`, none at all `missing`.
    fn five_minute_rows(
        &self,
        header: &'static str,
        at: impl Fn(u64, &str) -> Req,
        missing: &'static str,
    ) -> Vec<Case> {
        let now = unix_now();
        let mut not_a_number = self.good("x");
        set(&mut not_a_number, header, "soon");
        let mut none = self.good("x");
        none.headers_mut().remove(header);
        vec![
            case(
                "timestamp six minutes old",
                at(now - 360, "x"),
                unauthorized("stale_timestamp"),
            ),
            case(
                "timestamp six minutes ahead",
                at(now + 360, "x"),
                unauthorized("stale_timestamp"),
            ),
            case(
                "timestamp in milliseconds",
                at(now * 1000, "x"),
                unauthorized("stale_timestamp"),
            ),
            case(
                "timestamp four minutes old",
                at(now - 240, "four minutes old"),
                handled("four minutes old"),
            ),
            case(
                "timestamp not a number",
                not_a_number,
                unauthorized("invalid_timestamp"),
            ),
            case("timestamp missing", none, unauthorized(missing)),
        ]
    }

    /// Rows for a hex signature written after `prefix`.
    fn hex_rows(&self, prefix: &'static str) -> Vec<Case> {
        let upper = move |v: &str| {
            let hex = v.strip_prefix(prefix).expect("prefixed");
            format!("{prefix}{}", hex.to_uppercase())
        };
        let mut rows = vec![case(
            "signature in upper-case hex",
            self.tampered("upper-case hex", upper),
            handled("upper-case hex"),
        )];
        if prefix.is_empty() {
            rows.push(case(
                "signature with a sha256= prefix",
                self.tampered("x", |v| format!("sha256={v}")),
                unauthorized("invalid_signature"),
            ));
        } else {
            rows.push(case(
                "signature without its prefix",
                self.tampered("x", move |v| {
                    v.strip_prefix(prefix).expect("prefixed").to_owned()
                }),
                unauthorized("invalid_signature"),
            ));
        }
        rows
    }
}

fn set(request: &mut Req, name: &str, value: &str) {
    let name = http::HeaderName::from_bytes(name.as_bytes()).expect("a header name");
    let value = HeaderValue::from_str(value).expect("a header value");
    request.headers_mut().insert(name, value);
}

fn with_uri(mut request: Req, uri: &str) -> Req {
    *request.uri_mut() = uri.parse().expect("a uri");
    request
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn deep(levels: usize) -> Vec<u8> {
    [vec![b'['; levels], vec![b']'; levels]].concat()
}

/// A bot whose one state reports each event it handles: a message's text, or the event's name.
fn reporting_bot() -> (Bot, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let bot = Bot::builder()
        .initial("idle")
        .state(
            "idle",
            handler_fn(move |_cx, event| {
                let seen = match event.kind() {
                    EventKind::Message(message) => message.body.clone(),
                    other => other.name().to_owned(),
                };
                let _ = tx.send(seen);
                async move { Ok(Reply::none()) }
            }),
        )
        .build()
        .expect("a valid bot");
    (bot, rx)
}

/// Drives `cases` through a server with `channel` mounted at `kit.path`.
async fn run_matrix(kit: &Kit, channel: Channel, cases: Vec<Case>) {
    let (bot, mut seen) = reporting_bot();
    let server = start_channel(channel, bot, Workers::default()).await;
    let addr = server.local_addr();
    let mut refused_rows = 0;
    let mut ignored_rows = 0;
    for (i, case) in cases.into_iter().enumerate() {
        let name = case.name;
        let bytes = raw::encode(case.request, case.framing).await;
        let response = tokio::time::timeout(HANG_GUARD, raw::exchange(addr, bytes))
            .await
            .unwrap_or_else(|_| panic!("{name}: no answer"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let body = response.json();
        match &case.expect {
            Expect::Refused {
                status,
                code,
                field,
            } => {
                refused_rows += 1;
                assert_eq!(response.status, *status, "{name}: {}", response.text());
                assert_eq!(body["error"], *code, "{name}: {}", response.text());
                if let Some(field) = field {
                    let message = body["message"].as_str().unwrap_or_default();
                    assert!(message.contains(field), "{name}: {message:?}");
                }
            }
            Expect::Handled(_) | Expect::Ignored => {
                assert_eq!(
                    response.status,
                    StatusCode::OK,
                    "{name}: {}",
                    response.text()
                );
                if matches!(case.expect, Expect::Ignored) {
                    ignored_rows += 1;
                }
            }
        }

        // The server answers the next good delivery, and the handler saw only what it should.
        let marker = format!("good after row {i}");
        let next = tcp::send(addr, kit.good(&marker))
            .await
            .unwrap_or_else(|e| panic!("after {name}: {e}"));
        assert_eq!(next.status, StatusCode::OK, "after {name}: {}", next.text());
        let mut before = Vec::new();
        loop {
            let event = tokio::time::timeout(HANG_GUARD, seen.recv())
                .await
                .unwrap_or_else(|_| panic!("after {name}: the good delivery was not handled"))
                .expect("the bot is alive");
            if event == marker {
                break;
            }
            before.push(event);
        }
        match &case.expect {
            Expect::Handled(text) => assert_eq!(before, std::slice::from_ref(text), "{name}"),
            _ => assert!(before.is_empty(), "{name}: the handler saw {before:?}"),
        }
    }

    // Every refusal and every ignored delivery is counted.
    let admin = server.admin_addr().expect("an admin listener");
    let totals = tcp::get(admin, "/deliveries?limit=0")
        .await
        .expect("the admin listener answers")
        .json()["totals"]
        .clone();
    assert_eq!(totals["rejected"], refused_rows, "{totals}");
    assert_eq!(totals["ignored"], ignored_rows, "{totals}");
    server.shutdown().await;
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

#[tokio::test]
async fn funtek_matrix() {
    const PATH: &str = "/webhooks/funtek";
    let kit = Kit {
        sign: |body| {
            funtek::Signer::token(TOKEN)
                .hmac(FUNTEK_SIGNING)
                .request(PATH, body)
        },
        good: |text| funtek::message(text).room("matrix").body(),
        signature: botwire::platforms::funtek::SIGNATURE_HEADER,
    };
    let bad = StatusCode::BAD_REQUEST;
    let mut cases = kit.common_rows(bad);
    cases.extend(kit.hex_rows("sha256="));
    let token =
        |token: &str, text: &str| with_uri(kit.good(text), &format!("{PATH}?token={token}"));
    let mut bearer = with_uri(kit.good("bearer, any case"), PATH);
    set(
        &mut bearer,
        AUTHORIZATION.as_str(),
        &format!("bEaReR {TOKEN}"),
    );
    let mut spaced_bearer = with_uri(kit.good("x"), PATH);
    set(
        &mut spaced_bearer,
        AUTHORIZATION.as_str(),
        &format!("Bearer  {TOKEN}"),
    );
    cases.extend([
        case(
            "token missing",
            with_uri(kit.good("x"), PATH),
            unauthorized("missing_token"),
        ),
        case(
            "token in another case",
            token(&TOKEN.to_uppercase(), "x"),
            unauthorized("invalid_token"),
        ),
        case(
            "token with spaces",
            token(&format!("%20{TOKEN}%20"), "x"),
            unauthorized("invalid_token"),
        ),
        case(
            "token given twice",
            token(&format!("{TOKEN}&token={TOKEN}"), "x"),
            unauthorized("invalid_token"),
        ),
        case(
            "bearer scheme in any case",
            bearer,
            handled("bearer, any case"),
        ),
        case(
            "bearer token with a space",
            spaced_bearer,
            unauthorized("invalid_token"),
        ),
        case(
            "JSON nested 10,000 deep",
            kit.with_raw_text(&deep(10_000)),
            refused(bad, "not_json"),
        ),
        case(
            "a 900 KB number",
            kit.with_raw_text(&vec![b'9'; 900 * 1024]),
            refused(bad, "not_json"),
        ),
        case(
            "unknown event type",
            kit.signed(
                funtek::message("x")
                    .room("matrix")
                    .set("/event", "BRAND_NEW")
                    .body(),
            ),
            handled("BRAND_NEW"),
        ),
        case(
            "event missing",
            kit.signed(r#"{"roomID":"matrix","data":{}}"#),
            naming(bad, "invalid_field", "`event`"),
        ),
        case(
            "roomID of the wrong type",
            kit.signed(funtek::message("x").set("/roomID", 5).body()),
            naming(bad, "invalid_field", "`roomID`"),
        ),
        case(
            "message id missing",
            kit.signed(
                funtek::message("x")
                    .room("matrix")
                    .set("/data/_id", "")
                    .set("/data/id", "")
                    .body(),
            ),
            naming(bad, "invalid_field", "`data._id`"),
        ),
    ]);
    let adapter = botwire::platforms::funtek::FuntekAdapter::builder()
        .token(TOKEN)
        .signing_secret(FUNTEK_SIGNING)
        .deadline(Duration::from_secs(5))
        .build()
        .expect("credentials");
    run_matrix(&kit, Channel::new("funtek", adapter), cases).await;
}

#[tokio::test]
async fn kamigo_matrix() {
    const PATH: &str = "/webhooks/kamigo";
    let kit = Kit {
        sign: |body| kamigo::Signer::new(KAMIGO_SECRET).request(PATH, body),
        good: |text| kamigo::message(text).room("matrix").body(),
        signature: botwire::platforms::kamigo::SIGNATURE_HEADER,
    };
    let bad = StatusCode::BAD_REQUEST;
    let mut cases = kit.common_rows(bad);
    cases.extend(kit.hex_rows("sha256="));
    cases.extend([
        case(
            "JSON nested 10,000 deep",
            kit.with_raw_text(&deep(10_000)),
            refused(bad, "not_json"),
        ),
        case(
            "unknown event type",
            kit.signed(
                kamigo::message("x")
                    .room("matrix")
                    .set("/event", "brand.new")
                    .body(),
            ),
            handled("brand.new"),
        ),
        case(
            "no channelId (the console's test button)",
            kit.signed(kamigo::message("x").set("/data/channelId", "").body()),
            Expect::Ignored,
        ),
        case(
            "event missing",
            kit.signed(r#"{"data":{"channelId":"matrix"}}"#),
            naming(bad, "invalid_field", "`event`"),
        ),
        case(
            "sender of the wrong type",
            kit.signed(
                kamigo::message("x")
                    .room("matrix")
                    .set("/data/sender", "U1")
                    .body(),
            ),
            naming(bad, "invalid_field", "`data.sender`"),
        ),
        case(
            "messageId missing",
            kit.signed(
                kamigo::message("x")
                    .room("matrix")
                    .set("/data/messageId", "")
                    .body(),
            ),
            naming(bad, "invalid_field", "`data.messageId`"),
        ),
    ]);
    let adapter = KamigoAdapter::new(&[Secret::new(KAMIGO_SECRET)]).expect("a secret");
    run_matrix(&kit, Channel::new("kamigo", adapter), cases).await;
}

#[tokio::test]
async fn chatwork_matrix() {
    const PATH: &str = "/webhooks/chatwork";
    let kit = Kit {
        sign: |body| {
            chatwork::Signer::new(CHATWORK_TOKEN)
                .expect("base64")
                .request(PATH, body)
        },
        good: |text| chatwork::message_created(text).room(4242).body(),
        signature: botwire::platforms::chatwork::SIGNATURE_HEADER,
    };
    // Chatwork never resends, so a verified delivery is answered 200 whatever is wrong with it.
    let ok = StatusCode::OK;
    let mut cases = kit.common_rows(ok);
    let query_signer = || {
        chatwork::Signer::new(CHATWORK_TOKEN)
            .expect("base64")
            .in_query()
    };
    // A fresh body whose signature holds a `+`, the character a sender may leave unencoded,
    // sent with the signature in the query as `encode` writes it.
    let plus = |row: &str, encode: fn(&str) -> String| {
        let (text, body, signature) = (0..1000)
            .map(|i| format!("{row} {i}"))
            .map(|text| {
                let body = (kit.good)(&text);
                let signature = query_signer().signature(&body);
                (text, body, signature)
            })
            .find(|(_, _, signature)| signature.contains('+'))
            .expect("some signature holds a +");
        let uri = format!(
            "{PATH}?{}={}",
            botwire::platforms::chatwork::SIGNATURE_PARAM,
            encode(&signature)
        );
        let mut request = with_uri(query_signer().request(PATH, body), &uri);
        request.headers_mut().remove(kit.signature);
        (request, handled(&text))
    };
    let (as_space, as_space_seen) = plus("as space", |s| s.replace('+', "%20"));
    let (bare, bare_seen) = plus("bare", str::to_owned);
    let (encoded, encoded_seen) = plus("encoded", |s| s.replace('+', "%2B").replace('=', "%3D"));
    let mut other_body = query_signer().request(PATH, (kit.good)("signed"));
    *other_body.body_mut() = Full::new((kit.good)("other"));
    cases.extend([
        case(
            "query signature, + sent as a space",
            as_space,
            as_space_seen,
        ),
        case("query signature, + sent bare", bare, bare_seen),
        case("query signature, + percent-encoded", encoded, encoded_seen),
        case(
            "query signature of another body",
            other_body,
            unauthorized("invalid_signature"),
        ),
        case(
            "JSON nested 10,000 deep",
            kit.with_raw_text(&deep(10_000)),
            naming(ok, "invalid_field", "`webhook_event.body`"),
        ),
        case(
            "unknown event type",
            kit.signed(
                chatwork::message_created("x")
                    .room(4242)
                    .set("/webhook_event_type", "brand_new")
                    .body(),
            ),
            handled("brand_new"),
        ),
        case(
            "no room_id",
            kit.signed(r#"{"webhook_event_type":"message_created","webhook_event":{}}"#),
            Expect::Ignored,
        ),
        case(
            "webhook_event_type missing",
            kit.signed(r#"{"webhook_event":{"room_id":4242}}"#),
            naming(ok, "invalid_field", "`webhook_event_type`"),
        ),
        case(
            "room_id of the wrong type",
            kit.signed(
                chatwork::message_created("x")
                    .set("/webhook_event/room_id", true)
                    .body(),
            ),
            naming(ok, "invalid_field", "`webhook_event.room_id`"),
        ),
        case(
            "message_id missing",
            kit.signed(
                r#"{"webhook_event_type":"message_created","webhook_event":{"room_id":4242}}"#,
            ),
            naming(ok, "invalid_field", "`webhook_event.message_id`"),
        ),
    ]);
    let adapter = ChatworkAdapter::new(&[Secret::new(CHATWORK_TOKEN)]).expect("a token");
    run_matrix(&kit, Channel::new("chatwork", adapter), cases).await;
}

#[tokio::test]
async fn wechatpadpro_matrix() {
    const PATH: &str = "/webhooks/wechatpadpro";
    use botwire::platforms::wechatpadpro::TIMESTAMP_HEADER;
    let kit = Kit {
        sign: |body| wechatpadpro::Signer::new(WECHAT_SECRET).request(PATH, body),
        good: |text| wechatpadpro::text(text).from_user("wxid_matrix").body(),
        signature: botwire::platforms::wechatpadpro::SIGNATURE_HEADER,
    };
    let bad = StatusCode::BAD_REQUEST;
    let mut cases = kit.common_rows(bad);
    cases.extend(kit.hex_rows(""));
    let at = |timestamp: u64| {
        wechatpadpro::Signer::new(WECHAT_SECRET)
            .at(timestamp)
            .request(PATH, (kit.good)("x"))
    };
    let mut not_a_number = kit.good("x");
    set(&mut not_a_number, TIMESTAMP_HEADER, "soon");
    let mut no_timestamp = kit.good("x");
    no_timestamp.headers_mut().remove(TIMESTAMP_HEADER);
    let now = unix_now();
    cases.extend([
        case(
            "timestamp not a number",
            not_a_number,
            unauthorized("invalid_timestamp"),
        ),
        case(
            "timestamp missing",
            no_timestamp,
            unauthorized("missing_timestamp"),
        ),
        case(
            "timestamp in milliseconds",
            at(now * 1000),
            unauthorized("stale_timestamp"),
        ),
        case(
            "timestamp an hour ahead",
            at(now + 3600),
            unauthorized("stale_timestamp"),
        ),
        case(
            "timestamp an hour old",
            at(now - 3600),
            unauthorized("stale_timestamp"),
        ),
        case(
            "timestamp within the window",
            wechatpadpro::Signer::new(WECHAT_SECRET)
                .at(now - 60)
                .request(PATH, (kit.good)("a minute old")),
            handled("a minute old"),
        ),
        case(
            "JSON nested 10,000 deep",
            kit.with_raw_text(&deep(10_000)),
            refused(bad, "not_json"),
        ),
        case(
            "unknown message type",
            kit.signed(
                wechatpadpro::message(99_999, "new kind")
                    .from_user("wxid_matrix")
                    .body(),
            ),
            handled("new kind"),
        ),
        case(
            "the account's own message",
            kit.signed(
                wechatpadpro::text("x")
                    .from_user("wxid_matrix")
                    .own()
                    .body(),
            ),
            Expect::Ignored,
        ),
        case(
            "msgId missing",
            kit.signed(r#"{"fromUser":"wxid_matrix","content":"x"}"#),
            naming(bad, "invalid_field", "`msgId`"),
        ),
        case(
            "msgType of the wrong type",
            kit.signed(wechatpadpro::text("x").set("/msgType", "text").body()),
            naming(bad, "invalid_field", "`msgType`"),
        ),
    ]);
    let adapter = WeChatPadProAdapter::new(&[Secret::new(WECHAT_SECRET)]).expect("a secret");
    run_matrix(&kit, Channel::new("wechatpadpro", adapter), cases).await;
}

#[tokio::test]
async fn standard_webhooks_matrix() {
    const PATH: &str = "/webhooks/standard_webhooks";
    use botwire::platforms::standard_webhooks::{
        ID_HEADER, SIGNATURE_HEADER, StandardWebhooksAdapter, TIMESTAMP_HEADER, WebhookSecret,
    };
    use standard_webhooks::{SECRET, Signer};
    // The handler sees the event's name: the matrix's text goes in `type`.
    let kit = Kit {
        sign: |body| Signer::new(SECRET).expect("a secret").request(PATH, body),
        good: |text| standard_webhooks::event(text, serde_json::json!({"id": "c-1"})).body(),
        signature: SIGNATURE_HEADER,
    };
    let bad = StatusCode::BAD_REQUEST;
    let mut cases = kit.common_rows(bad);
    let at = |timestamp: u64, text: &str| {
        Signer::new(SECRET)
            .expect("a secret")
            .at(timestamp)
            .request(PATH, (kit.good)(text))
    };
    cases.extend(kit.five_minute_rows(TIMESTAMP_HEADER, at, "invalid_timestamp"));
    let without = |header: &str| {
        let mut request = kit.good("x");
        request.headers_mut().remove(header);
        request
    };
    let mut other_id = kit.good("x");
    set(&mut other_id, ID_HEADER, "msg_not_the_signed_one");
    // Rotation: a signature under a retired secret, one of a version this does not read,
    // and the good one.
    let rotated = {
        let body = (kit.good)("rotated");
        let id = standard_webhooks::message_id();
        let mut request =
            Signer::new(SECRET)
                .expect("a secret")
                .request_with_id(PATH, &id, body.clone());
        let good = request.headers()[SIGNATURE_HEADER]
            .to_str()
            .expect("ascii")
            .to_owned();
        let (_, retired) = Signer::new("whsec_c2Vjb25kIGtleQ==")
            .expect("a secret")
            .headers(&id, &body);
        set(
            &mut request,
            SIGNATURE_HEADER,
            &format!("{retired} v1a,ignored {good}"),
        );
        request
    };
    let only_v1a = kit.tampered("x", |v| v.replacen("v1,", "v1a,", 1));
    cases.extend([
        case(
            "webhook-id missing",
            without(ID_HEADER),
            unauthorized("missing_id"),
        ),
        case(
            "webhook-id not the one signed",
            other_id,
            unauthorized("invalid_signature"),
        ),
        case(
            "several signatures, the last one good",
            rotated,
            handled("rotated"),
        ),
        case(
            "only an asymmetric (v1a) signature",
            only_v1a,
            unauthorized("invalid_signature"),
        ),
        case(
            "JSON nested 10,000 deep",
            kit.with_raw_text(&deep(10_000)),
            refused(bad, "not_json"),
        ),
        case(
            "a JSON array",
            kit.signed("[1,2,3]"),
            naming(bad, "invalid_field", "JSON object"),
        ),
        case(
            "type of the wrong type",
            kit.with_raw_text(b"42"),
            naming(bad, "invalid_field", "`type`"),
        ),
        case("no type", kit.signed(r#"{"data":{}}"#), handled("webhook")),
    ]);
    let secret = WebhookSecret::parse(&Secret::new(SECRET)).expect("a secret");
    let adapter = StandardWebhooksAdapter::new(secret);
    run_matrix(&kit, Channel::new("standard_webhooks", adapter), cases).await;
}

#[tokio::test]
async fn line_matrix() {
    const PATH: &str = "/webhooks/line";
    const SECRET: &str = "matrix-line-secret";
    let kit = Kit {
        sign: |body| line::Signer::new(SECRET).request(PATH, body),
        good: |text| line::body(&[line::message(text).from_user("Umatrix")]),
        signature: botwire::platforms::line::SIGNATURE_HEADER,
    };
    let bad = StatusCode::BAD_REQUEST;
    let mut cases = kit.common_rows(bad);
    let in_matrix = |event: line::Event| event.from_user("Umatrix");
    cases.extend([
        case(
            "no events (the console's Verify button)",
            kit.signed(line::body(&[])),
            Expect::Ignored,
        ),
        case(
            "events not a list",
            kit.signed(r#"{"destination":"U1","events":{}}"#),
            naming(bad, "invalid_field", "`events`"),
        ),
        case(
            "a good event beside a broken one",
            kit.signed(line::body(&[
                in_matrix(line::message("not queued")),
                in_matrix(line::message("x")).set("/message", serde_json::Value::Null),
            ])),
            naming(bad, "invalid_field", "`events[1].message`"),
        ),
        case(
            "webhookEventId of the wrong type",
            kit.signed(line::body(&[
                in_matrix(line::message("x")).set("/webhookEventId", 7)
            ])),
            naming(bad, "invalid_field", "`events[0].webhookEventId`"),
        ),
        case(
            "a group without its groupId",
            kit.signed(line::body(&[
                in_matrix(line::message("x")).set("/source/type", "group")
            ])),
            naming(bad, "invalid_field", "`events[0].source.groupId`"),
        ),
        case(
            "JSON nested 10,000 deep",
            kit.with_raw_text(&deep(10_000)),
            naming(bad, "invalid_field", "`events[0].message.text`"),
        ),
        case(
            "an event type LINE may add",
            kit.signed(line::body(&[
                in_matrix(line::postback("a=1")).set("/type", "futureEvent")
            ])),
            handled("futureEvent"),
        ),
        case(
            "a redelivered event",
            kit.signed(line::body(&[
                in_matrix(line::message("again")).redelivered()
            ])),
            handled("again"),
        ),
    ]);
    let adapter =
        botwire::platforms::line::LineAdapter::new(&[Secret::new(SECRET)]).expect("a secret");
    run_matrix(&kit, Channel::new("line", adapter), cases).await;
}

#[tokio::test]
async fn telegram_matrix() {
    const PATH: &str = "/webhooks/telegram";
    const SECRET: &str = "matrix-telegram-secret";
    use botwire::platforms::telegram::{SECRET_HEADER, TelegramAdapter};
    let kit = Kit {
        sign: |body| telegram::Signer::new(SECRET).request(PATH, body),
        good: |text| telegram::message(text).chat(-4242).body(),
        signature: SECRET_HEADER,
    };
    let bad = StatusCode::BAD_REQUEST;
    // The secret token says the request is Telegram's; it does not cover the body, so the
    // signature rows are the token's own.
    let mut cases = kit.body_rows(bad);
    let body = (kit.good)("framing");
    let mut missing = kit.good("x");
    missing.headers_mut().remove(SECRET_HEADER);
    let mut twice = kit.good("x");
    twice
        .headers_mut()
        .append(SECRET_HEADER, HeaderValue::from_static(SECRET));
    let (parts, _) = kit.good("signed").into_parts();
    let other_body = Request::from_parts(parts, Full::new((kit.good)("another body")));
    cases.extend([
        framed(
            "Content-Length shorter than the body",
            kit.signed(body.clone()),
            Framing::Declared(body.len() as u64 / 2),
            refused(bad, "not_json"),
        ),
        case("token missing", missing, unauthorized("missing_token")),
        case(
            "token empty",
            kit.tampered("x", |_| String::new()),
            unauthorized("invalid_token"),
        ),
        case(
            "token in another case",
            kit.tampered("x", str::to_uppercase),
            unauthorized("invalid_token"),
        ),
        case(
            "token cut short",
            kit.tampered("x", |v| v[..v.len() - 1].to_owned()),
            unauthorized("invalid_token"),
        ),
        case("token given twice", twice, unauthorized("invalid_token")),
        case(
            "the token with another body",
            other_body,
            handled("another body"),
        ),
        case(
            "JSON nested 10,000 deep",
            kit.with_raw_text(&deep(10_000)),
            naming(bad, "invalid_field", "`message.text`"),
        ),
        case(
            "update_id missing",
            kit.signed(r#"{"message":{"message_id":1,"chat":{"id":-4242},"text":"x"}}"#),
            naming(bad, "invalid_field", "`update_id`"),
        ),
        case(
            "chat id of the wrong type",
            kit.signed(
                telegram::message("x")
                    .set("/message/chat/id", "-4242")
                    .body(),
            ),
            naming(bad, "invalid_field", "`message.chat.id`"),
        ),
        case(
            "an update kind Telegram may add, with a chat",
            kit.signed(r#"{"update_id":77,"brand_new":{"chat":{"id":-4242}}}"#),
            handled("brand_new"),
        ),
        case(
            "an update with nothing to route by",
            kit.signed(r#"{"update_id":78,"poll":{"id":"p"}}"#),
            Expect::Ignored,
        ),
        case(
            "an edited message",
            kit.signed(
                telegram::message("x")
                    .set(
                        "/edited_message",
                        telegram::message("x").chat(-4242).json()["message"].clone(),
                    )
                    .set("/message", serde_json::Value::Null)
                    .body(),
            ),
            handled("edited_message"),
        ),
    ]);
    let adapter = TelegramAdapter::new(&[Secret::new(SECRET)]).expect("a secret");
    run_matrix(&kit, Channel::new("telegram", adapter), cases).await;
}

#[tokio::test]
async fn slack_matrix() {
    const PATH: &str = "/webhooks/slack";
    const SECRET: &str = "matrix-slack-secret";
    use botwire::platforms::slack::{SIGNATURE_HEADER, SlackAdapter, TIMESTAMP_HEADER};
    let kit = Kit {
        sign: |body| slack::Signer::new(SECRET).request(PATH, body),
        good: |text| slack::message(text).channel("Cmatrix").body(),
        signature: SIGNATURE_HEADER,
    };
    let bad = StatusCode::BAD_REQUEST;
    let mut cases = kit.common_rows(bad);
    cases.extend(kit.hex_rows("v0="));
    let at = |timestamp: u64, text: &str| {
        slack::Signer::new(SECRET)
            .at(timestamp)
            .request(PATH, (kit.good)(text))
    };
    cases.extend(kit.five_minute_rows(TIMESTAMP_HEADER, at, "missing_timestamp"));
    let in_matrix = |event: slack::Event| event.channel("Cmatrix").body();
    cases.extend([
        case(
            "the request URL's verification",
            kit.signed(slack::url_verification("c-1").body()),
            Expect::Ignored,
        ),
        case(
            "a bot's message",
            kit.signed(in_matrix(slack::bot_message("x"))),
            Expect::Ignored,
        ),
        case(
            "Slack's retry of a new event",
            slack::Signer::new(SECRET)
                .retry(2)
                .request(PATH, in_matrix(slack::message("retried"))),
            handled("retried"),
        ),
        case(
            "a member joined",
            kit.signed(in_matrix(slack::member_joined("W1"))),
            handled("members_joined"),
        ),
        case(
            "an event type Slack may add",
            kit.signed(
                slack::message("x")
                    .set("/event/type", "brand_new")
                    .channel("Cmatrix")
                    .body(),
            ),
            handled("brand_new"),
        ),
        case(
            "event_id missing",
            kit.signed(
                slack::message("x")
                    .set("/event_id", serde_json::Value::Null)
                    .body(),
            ),
            naming(bad, "invalid_field", "`event_id`"),
        ),
        case(
            "a slash command's form body",
            kit.signed("token=x&command=%2Fteach&text=hi"),
            refused(bad, "not_json"),
        ),
        case(
            "JSON nested 10,000 deep",
            kit.with_raw_text(&deep(10_000)),
            naming(bad, "invalid_field", "`event.text`"),
        ),
    ]);
    let adapter = SlackAdapter::new(&[Secret::new(SECRET)]).expect("a secret");
    run_matrix(&kit, Channel::new("slack", adapter), cases).await;
}

#[tokio::test]
async fn discord_matrix() {
    const PATH: &str = "/webhooks/discord";
    use botwire::platforms::discord::{DiscordAdapter, SIGNATURE_HEADER, TIMESTAMP_HEADER};
    let kit = Kit {
        sign: |body| discord::Signer::rfc8032().request(PATH, body),
        good: |text| discord::say(text).channel("4242").body(),
        signature: SIGNATURE_HEADER,
    };
    let bad = StatusCode::BAD_REQUEST;
    let mut cases = kit.common_rows(bad);
    cases.extend(kit.hex_rows(""));
    let mut no_timestamp = kit.good("x");
    no_timestamp.headers_mut().remove(TIMESTAMP_HEADER);
    let mut other_timestamp = kit.good("x");
    set(&mut other_timestamp, TIMESTAMP_HEADER, "1700000000");
    let in_matrix = |event: discord::Event| event.channel("4242").body();
    cases.extend([
        case(
            "timestamp missing",
            no_timestamp,
            unauthorized("missing_timestamp"),
        ),
        case(
            "timestamp not the one signed",
            other_timestamp,
            unauthorized("invalid_signature"),
        ),
        case(
            "another application's key",
            discord::Signer::new([7; 32]).request(PATH, (kit.good)("x")),
            unauthorized("invalid_signature"),
        ),
        case(
            "an old timestamp (Discord documents no window)",
            discord::Signer::rfc8032()
                .at(1_700_000_000)
                .request(PATH, (kit.good)("from 2023")),
            handled("from 2023"),
        ),
        case(
            "a PING",
            kit.signed(discord::ping().body()),
            Expect::Ignored,
        ),
        case(
            "a button",
            kit.signed(in_matrix(discord::button("b"))),
            handled("component"),
        ),
        case(
            "a command with no options",
            kit.signed(in_matrix(discord::command("teach", None))),
            handled("teach"),
        ),
        case(
            "an interaction type Discord may add",
            kit.signed(discord::say("x").set("/type", 9).channel("4242").body()),
            handled("interaction_9"),
        ),
        case(
            "no channel",
            kit.signed(
                discord::say("x")
                    .set("/channel_id", serde_json::Value::Null)
                    .body(),
            ),
            naming(bad, "invalid_field", "`channel_id`"),
        ),
        case(
            "type of the wrong type",
            kit.signed(discord::say("x").set("/type", "command").body()),
            naming(bad, "invalid_field", "`type`"),
        ),
        case(
            "JSON nested 10,000 deep",
            kit.with_raw_text(&deep(10_000)),
            refused(bad, "not_json"),
        ),
    ]);
    let adapter = DiscordAdapter::new(&[discord::RFC8032_PUBLIC_KEY]).expect("a key");
    run_matrix(&kit, Channel::new("discord", adapter), cases).await;
}
