//! What every send-API client shares: one HTTP client with a timeout, a base URL that must be
//! http(s), and how an answer's status becomes a transient, rate-limited or permanent
//! [`OutboxError`]. The platform clients (`chatwork`, `funtek`, `wechatpadpro`) and the
//! generic [`HttpOutbox`](crate::HttpOutbox) add only their request and response shapes.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

use crate::OutboxError;

/// How long one API call may take.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait after a 429 that says nothing about when to come back.
pub(crate) const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);
/// How much of an error answer's body goes into the error message.
const DETAIL_CHARS: usize = 200;

/// Why a send-API client could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot build the {api} client: {problem}")]
pub struct ClientError {
    api: &'static str,
    problem: String,
}

/// An HTTP client for one API base.
#[derive(Debug, Clone)]
pub(crate) struct ApiClient {
    /// The API's name, for messages: `Chatwork`, `IMKit`, …
    name: &'static str,
    client: reqwest::Client,
    base: String,
}

impl ApiClient {
    /// A client for `base` (trailing slashes dropped).
    pub(crate) fn new(name: &'static str, base: &str) -> Result<Self, ClientError> {
        let problem = |problem: &str| ClientError {
            api: name,
            problem: problem.to_owned(),
        };
        let base = base.trim().trim_end_matches('/');
        let url = reqwest::Url::parse(base).map_err(|_| problem("the API base is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(problem("the API base must be an http or https URL"));
        }
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("botwire/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| problem(&e.to_string()))?;
        Ok(Self {
            name,
            client,
            base: base.to_owned(),
        })
    }

    /// The base URL, without a trailing slash.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// A POST to `base` + `path`.
    #[cfg_attr(
        not(any(
            feature = "funtek",
            feature = "chatwork",
            feature = "wechatpadpro",
            feature = "line",
            feature = "telegram",
            feature = "slack",
            feature = "discord"
        )),
        allow(dead_code)
    )]
    pub(crate) fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(format!("{}{path}", self.base))
    }

    /// A POST to a full URL (the HTTP outbox has no base and path).
    pub(crate) fn post_url(&self) -> reqwest::RequestBuilder {
        self.client.post(&self.base)
    }

    /// Sends `request`; a network failure or timeout is transient.
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, OutboxError> {
        request.send().await.map_err(|e| {
            // Without the URL: it may carry a key in its query (WeChatPadPro's `key=`).
            OutboxError::transient(format!("{} unreachable: {}", self.name, e.without_url()))
        })
    }

    /// The error that a non-success answer means, its body read for the message.
    pub(crate) async fn failure(&self, response: reqwest::Response) -> OutboxError {
        let status = response.status();
        let wait = retry_after(response.headers());
        let detail = detail(response).await;
        classify(
            status,
            wait,
            format!("{} answered {status}: {detail}", self.name),
        )
    }
}

/// The first characters of an answer's body, trimmed, for an error message.
pub(crate) async fn detail(response: reqwest::Response) -> String {
    let text = response.text().await.unwrap_or_default();
    text.trim().chars().take(DETAIL_CHARS).collect()
}

/// What a non-success `status` means: 429 is a rate limit (wait, then try again, without
/// counting a failed attempt); 5xx and 408 may pass; anything else will not.
pub(crate) fn classify(status: StatusCode, wait: Option<Duration>, message: String) -> OutboxError {
    match status {
        StatusCode::TOO_MANY_REQUESTS => {
            OutboxError::rate_limited(message, wait.unwrap_or(DEFAULT_RATE_LIMIT_WAIT))
        }
        s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
            let error = OutboxError::transient(message);
            match wait {
                Some(wait) => error.with_retry_after(wait),
                None => error,
            }
        }
        _ => OutboxError::permanent(message),
    }
}

/// The `Retry-After` header: delay-seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                    v.parse().expect("value"),
                )
            })
            .collect()
    }

    #[test]
    fn statuses_are_classified() {
        let limited = classify(StatusCode::TOO_MANY_REQUESTS, None, "x".into());
        assert!(limited.is_rate_limited() && limited.is_transient());
        assert_eq!(limited.retry_after(), Some(DEFAULT_RATE_LIMIT_WAIT));
        let limited = classify(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(3)),
            "x".into(),
        );
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));
        for status in [502, 503, 500, 408] {
            let error = classify(
                StatusCode::from_u16(status).expect("status"),
                None,
                "x".into(),
            );
            assert!(error.is_transient() && !error.is_rate_limited(), "{status}");
        }
        let unavailable = classify(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(Duration::from_secs(2)),
            "x".into(),
        );
        assert_eq!(unavailable.retry_after(), Some(Duration::from_secs(2)));
        for status in [400, 401, 403, 404, 422] {
            let error = classify(
                StatusCode::from_u16(status).expect("status"),
                None,
                "x".into(),
            );
            assert!(!error.is_transient(), "{status}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", " 7 ")])),
            Some(Duration::from_secs(7))
        );
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        let wait = retry_after(&headers(&[("retry-after", &soon)])).expect("a date");
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(120));
        assert_eq!(
            retry_after(&headers(&[("retry-after", &past)])),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
        assert_eq!(retry_after(&headers(&[])), None);
    }

    #[test]
    fn the_base_must_be_an_http_url() {
        assert!(ApiClient::new("X", "ftp://x").is_err());
        let error = ApiClient::new("X", "not a url").expect_err("refused");
        assert_eq!(
            error.to_string(),
            "cannot build the X client: the API base is not a URL"
        );
        let client = ApiClient::new("X", " http://127.0.0.1:1/v2/ ").expect("valid");
        assert_eq!(client.base(), "http://127.0.0.1:1/v2");
    }
}
