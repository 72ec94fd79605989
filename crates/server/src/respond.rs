//! The responses the server itself makes: short JSON, never echoing the request.

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;

use botwire_platforms::Rejection;

/// The response body type of every botwire response.
pub type Body = Full<Bytes>;

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A JSON response with `status` and `body`.
pub(crate) fn json(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, JSON);
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
