//! The delivery builder every platform module shares: a JSON body under construction.

use std::marker::PhantomData;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use serde_json::Value;

static NEXT_ID: AtomicU64 = AtomicU64::new(0);
static BASE: OnceLock<u64> = OnceLock::new();

/// A fresh id for a test delivery, with a readable prefix: unique within the process, and
/// across runs too (it starts from the clock), so that `botwire send` run twice against the
/// same bot sends two deliveries, not a duplicate.
pub(crate) fn fresh_id(prefix: &str) -> String {
    let base = *BASE.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64 % 10_000_000_000_000)
            .unwrap_or_default()
    });
    format!("{prefix}{}", base + NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// A delivery of platform `P` under construction. Each platform module adds its own setters
/// (`room`, `id`, `sender`, …). Turn it into bytes with [`Event::body`] or `Bytes::from`.
#[derive(Debug, Clone)]
#[must_use]
pub struct Event<P> {
    pub(crate) value: Value,
    platform: PhantomData<P>,
}

impl<P> Event<P> {
    pub(crate) fn new(value: Value) -> Self {
        Self {
            value,
            platform: PhantomData,
        }
    }

    /// Sets any field, by JSON pointer (`/data/content`), for what the setters do not cover.
    /// Missing objects on the way are created.
    pub fn set(mut self, pointer: &str, value: impl Into<Value>) -> Self {
        let mut target = &mut self.value;
        for token in pointer.split('/').skip(1) {
            if !target.is_object() {
                *target = Value::Object(serde_json::Map::new());
            }
            let Value::Object(map) = target else {
                unreachable!("made an object above");
            };
            target = map.entry(token.to_owned()).or_insert(Value::Null);
        }
        *target = value.into();
        self
    }

    /// The JSON value.
    pub fn json(&self) -> &Value {
        &self.value
    }

    /// The JSON body.
    pub fn body(&self) -> Bytes {
        Bytes::from(self.value.to_string())
    }
}

impl<P> From<Event<P>> for Bytes {
    fn from(event: Event<P>) -> Self {
        event.body()
    }
}

/// A JSON POST of `body` to `uri` with these extra headers.
pub(crate) fn post(uri: &str, headers: &[(&str, String)], body: Bytes) -> Request<Full<Bytes>> {
    let mut request = Request::post(uri).header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request
        .body(Full::new(body))
        .unwrap_or_else(|_| Request::new(Full::new(Bytes::new())))
}

/// `path` with `name=value` added to its query.
pub(crate) fn with_query(path: &str, name: &str, value: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    let encoded: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
    format!("{path}{separator}{name}={encoded}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn set_creates_the_path() {
        let event: Event<()> = Event::new(json!({"a": 1})).set("/b/c", "x").set("/a", 2);
        assert_eq!(event.json(), &json!({"a": 2, "b": {"c": "x"}}));
        assert_eq!(with_query("/p", "k", "a+b"), "/p?k=a%2Bb");
        assert_eq!(with_query("/p?x=1", "k", "v"), "/p?x=1&k=v");
    }
}
