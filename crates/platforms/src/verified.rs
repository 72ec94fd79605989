//! A body whose request passed its channel's verification: the only thing
//! [`Adapter::parse`](crate::Adapter::parse) accepts, so nothing unauthenticated is ever parsed.
//!
//! It carries the request headers its adapter asked to keep
//! ([`Adapter::kept_headers`](crate::Adapter::kept_headers): Standard Webhooks' `webhook-id`),
//! so a delivery queued for later parses exactly as it did when it arrived. Its stored form
//! ([`Verified::to_stored`]) is the bare body when no header is kept, which is every body
//! botwire stored before headers were kept; otherwise the body behind a mark and the headers.

use bytes::Bytes;

/// What a stored body with kept headers begins with: a NUL byte, which no JSON, form or text
/// body begins with. The headers follow as one JSON object, then a NUL, then the body.
const MARK: &[u8] = b"\0botwire-verified\0";

/// A request body that `adapter.verify` accepted (or that botwire stored after it did). Made by
/// [`Verified::check`], beside the [`Adapter`](crate::Adapter) trait whose `verify` it runs.
///
/// ```
/// use botwire_platforms::{Adapter, Verified};
/// use botwire_platforms::kamigo::KamigoAdapter;
/// use botwire_platforms::auth::Secret;
///
/// let adapter = KamigoAdapter::new(&[Secret::new("s3cret")]).unwrap();
/// let unsigned = http::Request::post("/webhooks/kamigo").body(()).unwrap().into_parts().0;
/// let refused = Verified::check(&adapter, &unsigned, "{}".into()).unwrap_err();
/// assert_eq!(refused.status, 401);
/// ```
#[derive(Debug, Clone)]
pub struct Verified {
    body: Bytes,
    /// `(lower-case name, value)`, in the order the adapter names them; only headers that were
    /// present and text.
    headers: Vec<(String, String)>,
}

impl Verified {
    /// Bytes that were verified before they were stored, in the form
    /// [`to_stored`](Verified::to_stored) gave them: a queued job's body, parsed again by the
    /// worker. A bare body (what tests and benchmarks parse) is its own stored form.
    pub fn stored(stored: Bytes) -> Self {
        Self::from_envelope(&stored).unwrap_or(Self {
            body: stored,
            headers: Vec::new(),
        })
    }

    /// `body` with the kept headers of the request it came with.
    pub(crate) fn with_headers(body: Bytes, headers: Vec<(String, String)>) -> Self {
        Self { body, headers }
    }

    /// A part of this verified body that stands alone (one event of a batch), with the same
    /// kept headers: it was verified as part of the whole.
    #[must_use]
    pub fn part(&self, body: Bytes) -> Self {
        Self {
            body,
            headers: self.headers.clone(),
        }
    }

    /// The body.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body, owned (cheap: `Bytes` shares its buffer).
    pub fn into_bytes(self) -> Bytes {
        self.body
    }

    /// The value of a kept request header (`name` in lower case), when the request had it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(kept, _)| kept == name)
            .map(|(_, value)| value.as_str())
    }

    /// What to store so that [`stored`](Verified::stored) gives this back: the body itself
    /// when no header is kept (no copy), else the body behind the mark and the headers.
    pub fn to_stored(&self) -> Bytes {
        if self.headers.is_empty() {
            return self.body.clone();
        }
        let headers: serde_json::Map<String, serde_json::Value> = self
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), value.clone().into()))
            .collect();
        let mut stored = MARK.to_vec();
        // A map of strings always serializes; JSON escapes every NUL, so the first NUL after
        // it is the separator.
        stored.extend_from_slice(serde_json::Value::Object(headers).to_string().as_bytes());
        stored.push(0);
        stored.extend_from_slice(&self.body);
        Bytes::from(stored)
    }

    fn from_envelope(stored: &Bytes) -> Option<Self> {
        let rest = stored.strip_prefix(MARK)?;
        let end = rest.iter().position(|&b| b == 0)?;
        let headers: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&rest[..end]).ok()?;
        let headers = headers
            .into_iter()
            .map(|(name, value)| Some((name, value.as_str()?.to_owned())))
            .collect::<Option<Vec<_>>>()?;
        let body = stored.slice(MARK.len() + end + 1..);
        Some(Self { body, headers })
    }
}

impl AsRef<[u8]> for Verified {
    fn as_ref(&self) -> &[u8] {
        &self.body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_without_headers_is_stored_as_itself() {
        let verified = Verified::stored(Bytes::from_static(br#"{"a":1}"#));
        assert_eq!(verified.to_stored(), Bytes::from_static(br#"{"a":1}"#));
        assert_eq!(verified.header("webhook-id"), None);
    }

    #[test]
    fn kept_headers_survive_storing() {
        let verified = Verified::with_headers(
            Bytes::from_static(b"{\"x\":\"a\\u0000b\"}\0tail"),
            vec![("webhook-id".into(), "msg_1".into())],
        );
        let back = Verified::stored(verified.to_stored());
        assert_eq!(back.header("webhook-id"), Some("msg_1"));
        assert_eq!(back.bytes(), verified.bytes());
        let part = back.part(Bytes::from_static(b"{}"));
        assert_eq!(part.header("webhook-id"), Some("msg_1"));
    }

    #[test]
    fn a_damaged_envelope_is_taken_as_a_bare_body() {
        for damaged in [
            [MARK, b"{\"a\":1}"].concat(),
            [MARK, b"not json\0{}"].concat(),
            [MARK, b"{\"a\":1}\0{}"].concat(),
        ] {
            let verified = Verified::stored(Bytes::from(damaged.clone()));
            assert_eq!(verified.bytes().as_ref(), &damaged[..]);
            assert_eq!(verified.header("a"), None);
        }
    }
}
