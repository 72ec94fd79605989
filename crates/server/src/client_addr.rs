//! Who sent a request: the TCP peer, or, when the peer is a proxy the operator trusts, the
//! address that proxy says it forwarded for. Forwarding headers from anyone else are ignored:
//! any client can write them.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// The address a request's connection comes from, in the request's extensions: botwire's
/// listener puts it there; an embedder puts it there from its own (axum's `ConnectInfo`, a
/// hyper accept loop's peer), and so can a test. A channel with
/// [`allow_from`](crate::Channel::allow_from) refuses a request without it, since it cannot
/// tell who sent it.
///
/// ```
/// use botwire_server::PeerAddr;
///
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(PeerAddr("192.0.2.7:52000".parse()?));
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerAddr(pub SocketAddr);

/// The client's address: the peer unless it is a trusted proxy; then, reading the forwarding
/// chain (`Forwarded`, else `X-Forwarded-For`) from the right, the first hop that is not a
/// trusted proxy. `None` when the chain names no usable address (`unknown`, garbage).
pub(crate) fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let is_trusted = |addr: &IpAddr| trusted.iter().any(|net| net.contains(addr));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops = forwarded_for(headers);
    let mut client = peer;
    for hop in hops.iter().rev() {
        client = parse_hop(hop)?;
        if !is_trusted(&client) {
            return Some(client);
        }
    }
    // Every hop is a trusted proxy (or there is no header): the nearest one is the client.
    Some(client)
}

/// The `for=` values of `Forwarded` (RFC 7239), or else the entries of `X-Forwarded-For`, in
/// order, across every line of the header.
fn forwarded_for(headers: &HeaderMap) -> Vec<&str> {
    let lines = |name: &'static str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|line| line.split(','))
            .map(str::trim)
    };
    let forwarded: Vec<&str> = lines("forwarded")
        .filter_map(|element| {
            element.split(';').map(str::trim).find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim().eq_ignore_ascii_case("for").then(|| value.trim())
            })
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    lines("x-forwarded-for").filter(|s| !s.is_empty()).collect()
}

/// An address from one hop: `192.0.2.1`, `192.0.2.1:80`, `2001:db8::1`, `[2001:db8::1]:80`,
/// any of them quoted.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim_matches('"');
    if let Ok(addr) = hop.parse::<IpAddr>() {
        return Some(addr);
    }
    if let Ok(addr) = hop.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    // `[v6]` without a port.
    hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

/// Parses CIDR blocks or single addresses (`10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32`).
///
/// # Errors
/// Which entry (counting from 1) is neither; settings errors never repeat a value.
pub(crate) fn parse_nets(entries: &[String]) -> Result<Vec<IpNet>, String> {
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("entry {} is not an address or a CIDR block", i + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        parse_nets(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).expect("valid")
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                value.parse().expect("value"),
            );
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let spoofed = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=203.0.113.9"),
        ]);
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_addr(ip("198.51.100.4"), &spoofed, &trusted),
            Some(ip("198.51.100.4"))
        );
    }

    #[test]
    fn a_trusted_proxy_chain_is_read_from_the_right() {
        let trusted = nets(&["10.0.0.0/8", "192.0.2.7"]);
        // The client wrote a fake first hop; the proxies appended the real ones.
        let chain = headers(&[
            ("x-forwarded-for", "203.0.113.9, 198.51.100.4"),
            ("x-forwarded-for", "192.0.2.7"),
        ]);
        assert_eq!(
            client_addr(ip("10.1.2.3"), &chain, &trusted),
            Some(ip("198.51.100.4"))
        );
        let forwarded = headers(&[(
            "forwarded",
            r#"for=203.0.113.9, for="[2001:db8:cafe::17]:4711";proto=https, for=192.0.2.7"#,
        )]);
        assert_eq!(
            client_addr(ip("10.1.2.3"), &forwarded, &trusted),
            Some(ip("2001:db8:cafe::17"))
        );
        assert_eq!(
            client_addr(ip("10.1.2.3"), &headers(&[]), &trusted),
            Some(ip("10.1.2.3")),
            "no header: the proxy itself"
        );
    }

    #[test]
    fn unusable_hops_give_no_address() {
        let trusted = nets(&["10.0.0.0/8"]);
        for value in ["unknown", "not an ip", "_hidden"] {
            let chain = headers(&[("x-forwarded-for", value)]);
            assert_eq!(
                client_addr(ip("10.0.0.1"), &chain, &trusted),
                None,
                "{value}"
            );
        }
        assert_eq!(parse_hop("192.0.2.1:8080"), Some(ip("192.0.2.1")));
        assert_eq!(parse_hop("[2001:db8::1]"), Some(ip("2001:db8::1")));
    }

    #[test]
    fn nets_accept_blocks_and_single_addresses() {
        let parsed = nets(&["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]);
        assert!(parsed[1].contains(&ip("192.0.2.7")));
        assert!(!parsed[1].contains(&ip("192.0.2.8")));
        let error = parse_nets(&["10.0.0.0/33".to_owned()]).unwrap_err();
        assert!(error.contains("not an address or a CIDR block"), "{error}");
    }
}
