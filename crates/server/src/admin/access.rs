//! Who may use the admin endpoints: whoever presents one of the admin tokens as
//! `Authorization: Bearer <token>`, compared in constant time (several tokens, for rotation).
//! With no token set, everyone on the machine: `bind` allows that only on a loopback address,
//! and requests must name a loopback host, so that a web page the operator visits cannot
//! reach the listener through a DNS name rebound to 127.0.0.1. Either way a browser request
//! from another origin is refused, so no other site can make the operator's browser replay
//! or send. `/healthz` stays open for probes, the page's own files (they hold no data) for
//! the browser, and `/metrics` for scrapers when the settings say so
//! (`BOTWIRE_METRICS_OPEN=true`).

use botwire_platforms::auth::{Secret, TokenSet};
use http::HeaderMap;
use http::header::{AUTHORIZATION, HOST, ORIGIN};

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
        path == "/healthz" || super::page::serves(path) || (self.metrics_open && path == "/metrics")
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

/// Whether a request is one a browser made from a page of another origin: its `Origin` is not
/// the host it was sent to. Requests without `Origin` (curl, scrapers, same-origin `GET`s) are
/// not.
pub(crate) fn is_cross_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(ORIGIN) else {
        return false;
    };
    let Some(host) = headers.get(HOST) else {
        return true;
    };
    let origin = origin.as_bytes();
    let authority = origin
        .strip_prefix(b"http://")
        .or_else(|| origin.strip_prefix(b"https://"));
    authority.is_none_or(|authority| !authority.eq_ignore_ascii_case(host.as_bytes()))
}

/// Whether the request names a loopback host (`localhost`, `127.0.0.1`, `[::1]`, with or
/// without a port), or none: what an open listener answers.
pub(crate) fn names_loopback(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(HOST).and_then(|h| h.to_str().ok()) else {
        return !headers.contains_key(HOST);
    };
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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

    fn with(pairs: &[(http::header::HeaderName, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(name, value.parse().expect("a header value"));
        }
        headers
    }

    #[test]
    fn a_request_from_another_origin_is_told_apart() {
        assert!(
            !is_cross_origin(&with(&[(HOST, "127.0.0.1:9090")])),
            "no Origin"
        );
        assert!(!is_cross_origin(&with(&[
            (HOST, "127.0.0.1:9090"),
            (ORIGIN, "http://127.0.0.1:9090")
        ])));
        assert!(!is_cross_origin(&with(&[
            (HOST, "Admin.Example:443"),
            (ORIGIN, "https://admin.example:443")
        ])));
        for (host, origin) in [
            ("127.0.0.1:9090", "http://evil.example"),
            ("127.0.0.1:9090", "http://127.0.0.1:9091"),
            ("127.0.0.1:9090", "null"),
            ("127.0.0.1:9090", "file://"),
        ] {
            assert!(
                is_cross_origin(&with(&[(HOST, host), (ORIGIN, origin)])),
                "{origin} to {host}"
            );
        }
        assert!(
            is_cross_origin(&with(&[(ORIGIN, "http://127.0.0.1")])),
            "no Host"
        );
    }

    #[test]
    fn only_loopback_host_names_pass_as_loopback() {
        for host in [
            "127.0.0.1:9090",
            "127.0.0.1",
            "127.1.2.3:80",
            "localhost:9090",
            "LOCALHOST",
            "[::1]:9090",
            "[::1]",
        ] {
            assert!(names_loopback(&with(&[(HOST, host)])), "{host}");
        }
        assert!(names_loopback(&HeaderMap::new()), "no Host: not a browser");
        for host in [
            "rebound.example:9090",
            "10.0.0.5:9090",
            "[::2]:9090",
            "localhost.evil.example",
            "",
        ] {
            assert!(!names_loopback(&with(&[(HOST, host)])), "{host}");
        }
    }

    #[test]
    fn debug_shows_no_token() {
        let shown = format!("{:?}", Access::new(&[Secret::new("s3cret-admin")]));
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("token_required: true"), "{shown}");
    }
}
