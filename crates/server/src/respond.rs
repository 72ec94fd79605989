//! The responses the server itself makes: short JSON, never echoing the request.

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;

use botwire_platforms::Rejection;

/// The response body type of every botwire response.
pub type Body = Full<Bytes>;

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// How long a sender is asked to wait after a 503 (a full queue, a store that is down or slow,
/// a shutdown). Senders that honour it stop piling on while the backlog drains; the others
/// resend on their own schedule.
pub(crate) const RETRY_AFTER_SECONDS: u64 = 1;

/// A JSON response with `status` and `body`; a 503 says when to try again.
pub(crate) fn json(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, JSON);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    }
    response
}

/// `rejection` as `adapter` tells its platform about it: its status, body and headers.
pub(crate) fn refusal(
    adapter: &dyn botwire_platforms::Adapter,
    rejection: &Rejection,
    verified: bool,
) -> Response<Body> {
    let (status, body) = adapter.refuse(rejection, verified);
    let mut response = json(status, body);
    response
        .headers_mut()
        .extend(adapter.refusal_headers(rejection, verified));
    response
}

/// A 200 with `value` as JSON.
pub(crate) fn serialized(value: &impl serde::Serialize) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(body) => json(StatusCode::OK, Bytes::from(body)),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "could not serialize the answer",
        ),
    }
}

/// A 200 of `content_type` (the admin listener's metrics and page).
pub(crate) fn ok(content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// `{"error": code, "message": message}` with `status`.
pub(crate) fn error(
    status: StatusCode,
    code: &'static str,
    message: &'static str,
) -> Response<Body> {
    rejection(&Rejection::new(status, code, message))
}

/// A platform's rejection as a response.
pub(crate) fn rejection(rejection: &Rejection) -> Response<Body> {
    json(rejection.status, rejection.body())
}

/// 404 for a path no channel is mounted at.
pub(crate) fn not_found() -> Response<Body> {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no webhook is mounted at this path",
    )
}

/// 405 naming the one method the path takes.
pub(crate) fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not take that method",
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_503_asks_the_sender_to_wait() {
        let unavailable = json(StatusCode::SERVICE_UNAVAILABLE, Bytes::new());
        assert_eq!(
            unavailable.headers().get(RETRY_AFTER),
            Some(&HeaderValue::from_static("1"))
        );
        for status in [
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::BAD_GATEWAY,
        ] {
            assert_eq!(json(status, Bytes::new()).headers().get(RETRY_AFTER), None);
        }
    }
}
