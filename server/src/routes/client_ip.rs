//! The client's address: the TCP peer, unless the peer is one of the configured trusted
//! proxies (`[limits] trusted_proxies`), in which case it is the rightmost address of
//! `X-Forwarded-For` that is not itself a trusted proxy.
//!
//! Each proxy appends the address it received the request from to the right of
//! `X-Forwarded-For`; everything to the left of what our own proxies wrote was written by the
//! client and proves nothing (MDN, "X-Forwarded-For", Security and privacy concerns:
//! <https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/X-Forwarded-For>). So
//! the header of an untrusted peer is ignored, and from a trusted one it is read from the right.
//!
//! Used by the rate limits ([`super::limits`]) and by MyPVit's sender allow-list
//! (`IncomingNotice::peer`, [`super::webhooks`]).

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{Extensions, HeaderMap, request::Parts},
};
use ipnet::IpNet;

use super::AppState;

/// The header reverse proxies append the client's address to.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's address, as [`client_ip`] finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(&state.limits.trusted_proxies, peer(&parts.extensions), &parts.headers)))
    }
}

/// The TCP peer's address, from axum's `ConnectInfo` (the unspecified address when the router
/// is served without it, as in a test calling it directly: it matches no allow-list).
pub fn peer(extensions: &Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(addr)| addr.ip())
}

/// The client's address for a request from `peer` carrying `headers`.
///
/// An IPv4 address seen as IPv6 (`::ffff:a.b.c.d`, a dual-stack listener) is read as IPv4.
/// When every address of the header is a trusted proxy, the leftmost is the client (a request
/// from inside the proxies' network); an unreadable entry stops the reading at the trusted
/// proxy that wrote it, which is then the client.
pub fn client_ip(trusted: &[IpNet], peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(&ip));
    if !is_trusted(peer) {
        return peer;
    }
    // Several headers are one list, in order (RFC 9110, section 5.3).
    let hops: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, or an address with a port (`203.0.113.7:4711`,
/// `[2001:db8::1]:4711`), as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(X_FORWARDED_FOR, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        // A client writing its own header to pass for someone else.
        let spoofed = xff(&["198.51.100.9"]);
        assert_eq!(client_ip(&[], ip("203.0.113.7"), &spoofed), ip("203.0.113.7"));
    }

    #[test]
    fn a_spoofed_header_from_an_untrusted_peer_is_ignored() {
        let trusted = nets(&["10.0.0.0/8"]);
        let spoofed = xff(&["10.1.2.3, 198.51.100.9"]);
        assert_eq!(client_ip(&trusted, ip("203.0.113.7"), &spoofed), ip("203.0.113.7"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_address_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "192.0.2.0/24"]);
        // MDN's example chain: the client wrote "198.51.100.9" itself; the CDN (192.0.2.10)
        // appended the real client 203.0.113.7; our load balancer (10.0.0.5) appended the CDN.
        let headers = xff(&["198.51.100.9, 203.0.113.7, 192.0.2.10"]);
        assert_eq!(client_ip(&trusted, ip("10.0.0.5"), &headers), ip("203.0.113.7"));
        // The same list split over two headers.
        let split = xff(&["198.51.100.9, 203.0.113.7", "192.0.2.10"]);
        assert_eq!(client_ip(&trusted, ip("10.0.0.5"), &split), ip("203.0.113.7"));
    }

    #[test]
    fn ports_ipv6_and_mapped_addresses_are_read() {
        let trusted = nets(&["127.0.0.1/32", "::1/128"]);
        assert_eq!(client_ip(&trusted, ip("::1"), &xff(&["[2001:db8::1]:4711"])), ip("2001:db8::1"));
        assert_eq!(client_ip(&trusted, ip("127.0.0.1"), &xff(&["203.0.113.7:80"])), ip("203.0.113.7"));
        // A dual-stack listener sees 127.0.0.1 as ::ffff:127.0.0.1: still the trusted proxy.
        assert_eq!(client_ip(&trusted, ip("::ffff:127.0.0.1"), &xff(&["203.0.113.7"])), ip("203.0.113.7"));
    }

    #[test]
    fn a_trusted_peer_without_header_or_with_garbage_is_the_client_itself() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(client_ip(&trusted, ip("10.0.0.5"), &HeaderMap::new()), ip("10.0.0.5"));
        assert_eq!(client_ip(&trusted, ip("10.0.0.5"), &xff(&["unknown"])), ip("10.0.0.5"));
        // Garbage left of a trusted hop stops there: that hop is the client.
        assert_eq!(client_ip(&trusted, ip("10.0.0.5"), &xff(&["junk, 10.9.9.9"])), ip("10.9.9.9"));
        // Every hop trusted: the leftmost.
        assert_eq!(client_ip(&trusted, ip("10.0.0.5"), &xff(&["10.7.7.7, 10.8.8.8"])), ip("10.7.7.7"));
    }
}
