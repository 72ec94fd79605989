//! A body whose request passed its channel's verification: the only thing
//! [`Adapter::parse`](crate::Adapter::parse) accepts, so nothing unauthenticated is ever parsed.

use bytes::Bytes;

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
pub struct Verified(Bytes);

impl Verified {
    /// Bytes that were verified before they were stored: a queued job's body, parsed again by
    /// the worker. Also what tests and benchmarks parse their own bodies with.
    pub fn stored(body: Bytes) -> Self {
        Self(body)
    }

    /// The body.
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }

    /// The body, owned (cheap: `Bytes` shares its buffer).
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl AsRef<[u8]> for Verified {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
