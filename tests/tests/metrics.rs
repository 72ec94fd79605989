//! `/metrics` after a mixed run: every family there, with the values of what was sent; the
//! admin token guards it unless it is opened for scrapers.

use std::net::SocketAddr;
use std::time::Duration;

use botwire::{Admin, App, Built, Channel, OutboxError, Server};
use botwire_e2e::{PATH, TOKEN, funtek as funtek_adapter, funtek_and_kamigo, quick_retries};
use botwire_testkit::outbox::RecordingOutbox;
use botwire_testkit::{TestResponse, funtek, kamigo, tcp};
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};

const ADMIN_TOKEN: &str = "metrics-admin-token";
const KAMIGO_SECRET: &str = "kamigo-secret";
const LOOPBACK: [u8; 4] = [127, 0, 0, 1];

async fn post(app: &App, request: http::Request<Full<Bytes>>) -> StatusCode {
    app.handle(request).await.status()
}

async fn scrape(admin: &Admin, token: Option<&str>) -> (StatusCode, Option<String>, String) {
    let mut request = http::Request::get("/metrics");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = admin
        .handle(request.body(Full::new(Bytes::new())).expect("request"))
        .await;
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.into_body().collect().await.expect("a body");
    let text = String::from_utf8(body.to_bytes().to_vec()).expect("utf-8");
    (status, content_type, text)
}

/// The value of the sample `series` (name and labels, as exposed), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.split(' ').next()?.parse().ok())
}

#[track_caller]
fn assert_value(text: &str, series: &str, expected: f64) {
    assert_eq!(value(text, series), Some(expected), "{series} in\n{text}");
}

#[tokio::test]
async fn a_mixed_run_is_counted_as_it_happened() {
    let (outbox, mut replies) = RecordingOutbox::new();
    // The first Kamigo delivery meets a rate limit (waited out, not an attempt), a transient
    // failure (retried), then a permanent one: a dead letter. The second goes out.
    outbox.fail_with([
        OutboxError::rate_limited("slow down", Duration::from_millis(1)),
        OutboxError::transient("503 from the platform"),
        OutboxError::permanent("unknown room"),
    ]);
    let Built {
        webhooks,
        admin,
        engine,
        ..
    } = funtek_and_kamigo(KAMIGO_SECRET, outbox)
        .workers(quick_retries(3))
        .admin_token(ADMIN_TOKEN)
        .build()
        .await
        .expect("builds");

    // FUNTEK, answered in the response: an echo, a duplicate of it, a move to `teaching`,
    // a wrong token, and a body that is not JSON.
    let signer = funtek::Signer::token(TOKEN);
    let hello = funtek::message("hello").id("m-1").state("idle");
    assert_eq!(
        post(&webhooks, signer.request(PATH, hello.clone())).await,
        StatusCode::OK
    );
    assert_eq!(
        post(&webhooks, signer.request(PATH, hello)).await,
        StatusCode::OK
    );
    let teach = funtek::message("teach").state("idle");
    assert_eq!(
        post(&webhooks, signer.request(PATH, teach)).await,
        StatusCode::OK
    );
    let wrong = funtek::Signer::token("not-the-token").request(PATH, funtek::message("x"));
    assert_eq!(post(&webhooks, wrong).await, StatusCode::UNAUTHORIZED);
    let not_json = signer.request(PATH, "{not json");
    assert_eq!(post(&webhooks, not_json).await, StatusCode::BAD_REQUEST);

    // Kamigo, acknowledged and worked off by the engine, in one conversation (in order).
    let kamigo_signer = kamigo::Signer::new(KAMIGO_SECRET);
    for text in ["first", "second"] {
        let request = kamigo_signer.request("/webhooks/kamigo", kamigo::message(text));
        assert_eq!(post(&webhooks, request).await, StatusCode::OK);
    }
    let sent = replies.next().await;
    assert_eq!(sent.text(), Some("second"));
    let stopped = engine.shutdown().await;
    assert!(stopped.unfinished.is_empty(), "{stopped:?}");

    let (status, content_type, text) = scrape(&admin, Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{content_type:?}"
    );
    let f = r#"channel="funtek""#;
    let k = r#"channel="kamigo""#;
    for (series, expected) in [
        (
            format!("botwire_deliveries_total{{{f},outcome=\"replied\"}}"),
            2.0,
        ),
        (
            format!("botwire_deliveries_total{{{f},outcome=\"duplicate\"}}"),
            1.0,
        ),
        (
            format!("botwire_deliveries_total{{{f},outcome=\"rejected\"}}"),
            2.0,
        ),
        (
            format!("botwire_deliveries_total{{{f},outcome=\"failed\"}}"),
            0.0,
        ),
        (format!("botwire_duplicates_total{{{f}}}"), 1.0),
        (
            format!("botwire_refusals_total{{{f},reason=\"invalid_token\"}}"),
            1.0,
        ),
        (
            format!("botwire_refusals_total{{{f},reason=\"not_json\"}}"),
            1.0,
        ),
        (format!("botwire_late_answers_total{{{f}}}"), 0.0),
        (
            format!("botwire_state_transitions_total{{{f},from=\"idle\",to=\"teaching\"}}"),
            1.0,
        ),
        // Every POST is answered, refused ones too; all well inside FUNTEK's 5 s (4.5 s is
        // when a late handler would be given up on).
        (format!("botwire_answer_seconds_count{{{f}}}"), 5.0),
        (
            format!("botwire_answer_seconds_bucket{{le=\"4.5\",{f}}}"),
            5.0,
        ),
        (
            format!("botwire_answer_seconds_bucket{{le=\"5.0\",{f}}}"),
            5.0,
        ),
        (
            format!("botwire_handler_seconds_count{{{f},state=\"idle\"}}"),
            2.0,
        ),
        (
            format!("botwire_deliveries_total{{{k},outcome=\"queued\"}}"),
            2.0,
        ),
        (
            format!("botwire_deliveries_total{{{k},outcome=\"replied\"}}"),
            1.0,
        ),
        (
            format!("botwire_deliveries_total{{{k},outcome=\"dead_letter\"}}"),
            1.0,
        ),
        (format!("botwire_answer_seconds_count{{{k}}}"), 2.0),
        (format!("botwire_queue_retries_total{{{k}}}"), 1.0),
        (format!("botwire_dead_letters_total{{{k}}}"), 1.0),
        (format!("botwire_outbox_sends_total{{{k}}}"), 1.0),
        (
            format!("botwire_outbox_failures_total{{{k},kind=\"transient\"}}"),
            1.0,
        ),
        (
            format!("botwire_outbox_failures_total{{{k},kind=\"permanent\"}}"),
            1.0,
        ),
        (format!("botwire_outbox_rate_limit_waits_total{{{k}}}"), 1.0),
        ("botwire_dead_letters_kept".to_owned(), 1.0),
        (r#"botwire_queue_jobs{status="queued"}"#.to_owned(), 0.0),
        (
            r#"botwire_queue_jobs{status="in_progress"}"#.to_owned(),
            0.0,
        ),
        ("botwire_queue_oldest_job_age_seconds".to_owned(), 0.0),
        (
            format!(
                "botwire_build_info{{version=\"{}\"}}",
                env!("CARGO_PKG_VERSION")
            ),
            1.0,
        ),
    ] {
        assert_value(&text, &series, expected);
    }
    // The handler ran once per Kamigo delivery: a retried send reuses the checkpointed reply.
    assert_value(
        &text,
        &format!("botwire_handler_seconds_count{{{k},state=\"idle\"}}"),
        2.0,
    );
    // Every store call is counted; the first of each operation (and one in eight) is timed.
    for (operation, calls) in [
        ("ledger_claim", 5.0),
        ("queue_push", 2.0),
        ("queue_finish", 1.0),
        ("queue_bury", 1.0),
    ] {
        let series = format!("botwire_store_calls_total{{operation=\"{operation}\"}}");
        assert_value(&text, &series, calls);
        let timed = format!("botwire_store_call_seconds_count{{operation=\"{operation}\"}}");
        assert_value(&text, &timed, 1.0);
    }
    for id in ["m-1", "demo-room", KAMIGO_SECRET, TOKEN, ADMIN_TOKEN] {
        assert!(!text.contains(id), "no ids or secrets in labels: {id}");
    }
    every_metric_the_monitoring_files_use_exists(&text);
}

/// The alert rules and the dashboard in `docs/monitoring/` name only series a scrape has.
fn every_metric_the_monitoring_files_use_exists(scrape: &str) {
    let exposed: std::collections::HashSet<&str> = scrape
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split(['{', ' ']).next())
        .collect();
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/monitoring");
    for file in ["prometheus-rules.yml", "grafana-dashboard.json"] {
        let text = std::fs::read_to_string(docs.join(file)).expect("the monitoring file");
        let mut named = 0;
        for (at, _) in text.match_indices("botwire_") {
            let name: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            assert!(
                exposed.contains(name.as_str()),
                "{file} names {name}, which no scrape has"
            );
            named += 1;
        }
        assert!(named > 10, "{file} names the metrics");
    }
}

async fn get(admin: SocketAddr, path: &str, token: Option<&str>) -> TestResponse {
    let mut request = http::Request::get(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request.body(Full::new(Bytes::new())).expect("request");
    tcp::send(admin, request).await.expect("answered")
}

async fn bind(metrics_open: bool) -> botwire::Running {
    Server::new()
        .listen(SocketAddr::from((LOOPBACK, 0)))
        .admin(SocketAddr::from((LOOPBACK, 0)))
        .admin_token(ADMIN_TOKEN)
        .metrics_open(metrics_open)
        .channel(Channel::new(
            "funtek",
            funtek_adapter(Duration::from_secs(5)),
        ))
        .bot(echo_bot::bot().expect("the sample bot"))
        .bind()
        .await
        .expect("starts")
}

#[tokio::test]
async fn over_tcp_the_metrics_need_the_admin_token() {
    let running = bind(false).await;
    let (addr, admin) = (running.local_addr(), running.admin_addr().expect("admin"));
    let request = funtek::Signer::token(TOKEN).request(PATH, funtek::message("hi"));
    assert_eq!(
        tcp::send(addr, request).await.expect("answered").status,
        StatusCode::OK
    );

    let refused = get(admin, "/metrics", None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(!refused.text().contains("botwire_"), "{}", refused.text());
    let scraped = get(admin, "/metrics", Some(ADMIN_TOKEN)).await;
    assert_eq!(scraped.status, StatusCode::OK);
    assert_value(
        &scraped.text(),
        r#"botwire_deliveries_total{channel="funtek",outcome="replied"}"#,
        1.0,
    );
    let posted = {
        let request = http::Request::post("/metrics")
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
            .body(Full::new(Bytes::new()))
            .expect("request");
        tcp::send(admin, request).await.expect("answered")
    };
    assert_eq!(posted.status, StatusCode::METHOD_NOT_ALLOWED);
    running.shutdown().await;
}

#[tokio::test]
async fn opened_for_scrapers_only_the_metrics_go_without_the_token() {
    let running = bind(true).await;
    let admin = running.admin_addr().expect("admin");
    let scraped = get(admin, "/metrics", None).await;
    assert_eq!(scraped.status, StatusCode::OK, "{}", scraped.text());
    assert!(scraped.text().contains("botwire_deliveries_total"));
    for path in ["/deliveries", "/dead-letters", "/readyz"] {
        assert_eq!(
            get(admin, path, None).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    running.shutdown().await;
}
