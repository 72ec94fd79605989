//! Who may use the admin endpoints: whoever presents one of the admin tokens as
//! `Authorization: Bearer <token>`, compared in constant time (several tokens, for rotation).
//! With no token set, everyone: `bind` allows that only on a loopback address. `/healthz`
//! stays open for probes, and `/metrics` for scrapers when the settings say so
//! (`BOTWIRE_METRICS_OPEN=true`).

use botwire_platforms::auth::{Secret, TokenSet};
use http::HeaderMap;
use http::header::AUTHORIZATION;

/// The admin listener's credentials. Prints no token.
#[derive(Clone, Default)]
pub(crate) struct Access {
    /// `None`: open.
    tokens: Option<TokenSet>,
    /// `/metrics` without credentials.
    metrics_open: bool,
}

impl Access {
    /// Requires one of `tokens`; open when there are none.
    pub(crate) fn new(tokens: &[Secret]) -> Self {
        Self {
            tokens: (!tokens.is_empty()).then(|| TokenSet::new(tokens)),
            metrics_open: false,
        }
    }

    /// The same, with `/metrics` open to everyone when `open`.
    pub(crate) fn metrics_open(mut self, open: bool) -> Self {
        self.metrics_open = open;
        self
    }

    /// Whether `path` is served without credentials.
    pub(crate) fn is_open(&self, path: &str) -> bool {
        path == "/healthz" || (self.metrics_open && path == "/metrics")
    }

    /// Whether a token is required.
    pub(crate) fn requires_token(&self) -> bool {
        self.tokens.is_some()
    }

    /// Whether a request with these headers may use the protected endpoints.
    pub(crate) fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(tokens) = &self.tokens else {
            return true;
        };
        let Some(value) = headers.get(AUTHORIZATION) else {
            return false;
        };
        // The scheme is case-insensitive (RFC 9110); the token is compared whole.
        let value = value.as_bytes();
        let Some(space) = value.iter().position(|b| *b == b' ') else {
            return false;
        };
        let (scheme, token) = value.split_at(space);
        scheme.eq_ignore_ascii_case(b"bearer") && tokens.matches(token.trim_ascii())
    }
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("token_required", &self.tokens.is_some())
            .field("metrics_open", &self.metrics_open)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(authorization: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(AUTHORIZATION, value.parse().expect("a header value"));
        }
        headers
    }

    #[test]
    fn without_tokens_everyone_is_let_in() {
        assert!(Access::new(&[]).allows(&headers(None)));
    }

    #[test]
    fn only_a_bearer_of_a_current_token_is_let_in() {
        let access = Access::new(&[Secret::new("old-token"), Secret::new("new-token")]);
        assert!(access.allows(&headers(Some("Bearer new-token"))));
        assert!(
            access.allows(&headers(Some("bearer old-token"))),
            "either, while rotating"
        );
        for refused in [
            None,
            Some("Bearer wrong"),
            Some("Bearer "),
            Some("Bearer"),
            Some("new-token"),
            Some("Basic new-token"),
            Some("Bearer new-token-and-more"),
        ] {
            assert!(!access.allows(&headers(refused)), "{refused:?}");
        }
    }

    #[test]
    fn debug_shows_no_token() {
        let shown = format!("{:?}", Access::new(&[Secret::new("s3cret-admin")]));
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("token_required: true"), "{shown}");
    }
}
