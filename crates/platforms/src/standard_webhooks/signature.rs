//! Standard Webhooks signatures: signing (the HTTP outbox) and verifying (the channel).

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::HeaderMap;

use crate::auth::{HmacKeys, Secret};

/// The message id header.
pub const ID_HEADER: &str = "webhook-id";
/// The timestamp header (unix seconds).
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// How far a timestamp may be from the verifier's clock, as the specification suggests.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// A Standard Webhooks signing secret. `Debug` prints `***`.
#[derive(Clone)]
pub struct WebhookSecret {
    keys: HmacKeys,
}

/// Why a secret is not a Standard Webhooks secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a Standard Webhooks secret: whsec_ followed by base64")]
pub struct InvalidSecret;

/// Why a signed request does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A header is missing or not text.
    #[error("the {0} header is missing or malformed")]
    Header(&'static str),
    /// The timestamp is outside the tolerance.
    #[error("the webhook-timestamp is too far from now")]
    Stale,
    /// No `v1` signature matches.
    #[error("no webhook-signature matches")]
    Mismatch,
}

impl WebhookSecret {
    /// Reads `whsec_<base64>`; the bare base64 is accepted too, as the reference libraries do.
    ///
    /// # Errors
    /// When what follows the prefix is not base64, or is empty.
    pub fn parse(secret: &Secret) -> Result<Self, InvalidSecret> {
        Self::parse_any(std::slice::from_ref(secret))
    }

    /// Several secrets, for rotation: a signature under any of them verifies; [`sign`]
    /// uses the first.
    ///
    /// # Errors
    /// When one is not a secret, or there is none.
    ///
    /// [`sign`]: WebhookSecret::sign
    pub fn parse_any(secrets: &[Secret]) -> Result<Self, InvalidSecret> {
        let keys = secrets
            .iter()
            .map(|secret| {
                let text = secret.expose().trim();
                let encoded = text.strip_prefix("whsec_").unwrap_or(text);
                match BASE64.decode(encoded) {
                    Ok(key) if !key.is_empty() => Ok(key),
                    _ => Err(InvalidSecret),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(InvalidSecret);
        }
        Ok(Self {
            keys: HmacKeys::new(keys),
        })
    }

    /// The `webhook-signature` value for message `id` sent at `timestamp` with `body`.
    pub fn sign(&self, id: &str, timestamp: u64, body: &[u8]) -> String {
        let timestamp = timestamp.to_string();
        let parts: [&[u8]; 5] = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body];
        let tag = self.keys.sign(&parts).unwrap_or_default();
        format!("v1,{}", BASE64.encode(tag))
    }

    /// Checks a signed request's headers and raw body, at unix time `now`, in constant time.
    ///
    /// # Errors
    /// Which check failed.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
        tolerance: Duration,
    ) -> Result<(), VerifyError> {
        let text = |name: &'static str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .ok_or(VerifyError::Header(name))
        };
        let id = text(ID_HEADER)?;
        let timestamp = text(TIMESTAMP_HEADER)?;
        // An empty list is a header that was sent and matches nothing.
        let signatures = headers
            .get(SIGNATURE_HEADER)
            .ok_or(VerifyError::Header(SIGNATURE_HEADER))?
            .to_str()
            .map_err(|_| VerifyError::Mismatch)?;
        let at: u64 = timestamp
            .parse()
            .map_err(|_| VerifyError::Header(TIMESTAMP_HEADER))?;
        if now.abs_diff(at) > tolerance.as_secs() {
            return Err(VerifyError::Stale);
        }
        let parts: [&[u8]; 5] = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body];
        let matches = signatures
            .split(' ')
            .filter_map(|signature| signature.strip_prefix("v1,"))
            .filter_map(|tag| BASE64.decode(tag).ok())
            .any(|tag| self.keys.verify(&parts, &tag));
        if matches {
            Ok(())
        } else {
            Err(VerifyError::Mismatch)
        }
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference libraries' shared "sign function works" vector.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: u64 = 1_614_265_330;
    const BODY: &str = r#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn headers(signature: &str, timestamp: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ID_HEADER, ID.parse().expect("value"));
        headers.insert(TIMESTAMP_HEADER, timestamp.parse().expect("value"));
        headers.insert(SIGNATURE_HEADER, signature.parse().expect("value"));
        headers
    }

    #[test]
    fn signs_the_published_vector_with_or_without_the_prefix() {
        for secret in [SECRET, &SECRET["whsec_".len()..]] {
            let secret = WebhookSecret::parse(&Secret::new(secret)).expect("a secret");
            assert_eq!(secret.sign(ID, TIMESTAMP, BODY.as_bytes()), SIGNATURE);
        }
    }

    #[test]
    fn verifies_any_v1_signature_within_the_tolerance() {
        let secret = WebhookSecret::parse(&Secret::new(SECRET)).expect("a secret");
        let check = |signature: &str, timestamp: &str, body: &str, now: u64| {
            secret.verify(
                &headers(signature, timestamp),
                body.as_bytes(),
                now,
                DEFAULT_TOLERANCE,
            )
        };
        let ts = "1614265330";
        assert_eq!(check(SIGNATURE, ts, BODY, TIMESTAMP), Ok(()));
        // Several signatures (rotation), other versions ignored.
        let several = format!("v2,abc v1,AAAA {SIGNATURE}");
        assert_eq!(check(&several, ts, BODY, TIMESTAMP + 299), Ok(()));
        assert_eq!(
            check(SIGNATURE, ts, BODY, TIMESTAMP + 301),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            check(SIGNATURE, ts, r#"{"test":2432232314}"#, TIMESTAMP),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            check(
                "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
                ts,
                BODY,
                TIMESTAMP
            ),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            check(SIGNATURE, "soon", BODY, TIMESTAMP),
            Err(VerifyError::Header(TIMESTAMP_HEADER))
        );
        assert_eq!(
            secret.verify(
                &HeaderMap::new(),
                BODY.as_bytes(),
                TIMESTAMP,
                DEFAULT_TOLERANCE
            ),
            Err(VerifyError::Header(ID_HEADER))
        );
    }

    #[test]
    fn any_of_several_secrets_verifies_and_the_first_signs() {
        let other = "whsec_c2Vjb25kIGtleQ==";
        let both =
            WebhookSecret::parse_any(&[Secret::new(other), Secret::new(SECRET)]).expect("secrets");
        let headers = headers(SIGNATURE, "1614265330");
        let verify = |secret: &WebhookSecret| {
            secret.verify(&headers, BODY.as_bytes(), TIMESTAMP, DEFAULT_TOLERANCE)
        };
        assert_eq!(verify(&both), Ok(()));
        let alone = WebhookSecret::parse(&Secret::new(other)).expect("a secret");
        assert_eq!(verify(&alone), Err(VerifyError::Mismatch));
        assert_eq!(
            both.sign(ID, TIMESTAMP, BODY.as_bytes()),
            alone.sign(ID, TIMESTAMP, BODY.as_bytes())
        );
    }

    #[test]
    fn a_secret_must_be_base64_and_never_prints() {
        assert_eq!(
            WebhookSecret::parse(&Secret::new("whsec_not base64!")).map(|_| ()),
            Err(InvalidSecret)
        );
        assert!(WebhookSecret::parse(&Secret::new("whsec_")).is_err());
        assert!(WebhookSecret::parse_any(&[]).is_err());
        assert!(
            WebhookSecret::parse_any(&[Secret::new(SECRET), Secret::new("whsec_!!")]).is_err(),
            "one bad secret of several is refused, not skipped"
        );
        let secret = WebhookSecret::parse(&Secret::new(SECRET)).expect("a secret");
        assert!(!format!("{secret:?}").contains("MfKQ"));
    }
}
