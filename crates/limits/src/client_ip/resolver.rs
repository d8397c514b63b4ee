use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};

use http::header::{FORWARDED, HeaderName};
use http::{Extensions, HeaderMap, Request};
use ipnet::{IpNet, Ipv4Net};

use super::parse::{parse_forwarded_element, parse_xff_element};
use crate::config::{ClientIpConfig, ForwardedHeader};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The connection's peer address, as a request extension.
///
/// Insert it into each request (or have your server do it) so that the layers
/// can find the client with the [`default_peer_addr`] accessor:
///
/// ```
/// # use postern_limits::client_ip::PeerAddr;
/// let mut req = http::Request::new(());
/// req.extensions_mut().insert(PeerAddr("192.0.2.1:50000".parse().unwrap()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerAddr(pub SocketAddr);

/// Reads the connection's peer address from a request's extensions.
///
/// A plain function pointer, so resolvers stay `Copy`-cheap and need no boxing.
/// Postern's server passes one that reads its own connection info; axum apps
/// pass one that reads `ConnectInfo<SocketAddr>`. The default is
/// [`default_peer_addr`].
pub type PeerAccessor = fn(&Extensions) -> Option<SocketAddr>;

/// The default [`PeerAccessor`]: a [`PeerAddr`] extension, else a bare
/// [`SocketAddr`] extension, else `None`.
pub fn default_peer_addr(extensions: &Extensions) -> Option<SocketAddr> {
    if let Some(PeerAddr(addr)) = extensions.get::<PeerAddr>() {
        return Some(*addr);
    }
    extensions.get::<SocketAddr>().copied()
}

/// The request carries no peer address, so the client cannot be identified.
///
/// This is a configuration error of the server, not of the client: the layers
/// answer 500 rather than put every client in one shared bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MissingPeerAddr;

impl fmt::Display for MissingPeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the request has no peer address, so the client IP is unknown: insert a \
             postern_limits::client_ip::PeerAddr extension into each request, or serve an axum app with \
             into_make_service_with_connect_info::<SocketAddr>() and give the layer a peer \
             accessor that reads ConnectInfo<SocketAddr>",
        )
    }
}

impl std::error::Error for MissingPeerAddr {}

/// Log a missing peer address at `error` on the 1st, 2nd, 4th, 8th … occurrence,
/// so a misconfigured server is loud without a log line per request.
pub(crate) fn log_missing_peer(layer: &'static str) {
    static SEEN: AtomicU64 = AtomicU64::new(0);
    let n = SEEN.fetch_add(1, Ordering::Relaxed) + 1;
    if n.is_power_of_two() {
        tracing::error!(
            target: "postern::limits",
            layer,
            occurrences = n,
            "{MissingPeerAddr}; answering 500"
        );
    }
}

/// Finds the client IP of a request from its peer address and, when the peer
/// is a trusted proxy, from its forwarding header.
///
/// Built from a [`ClientIpConfig`]; cheap to clone. See the
/// [module docs](crate::client_ip) for the rules.
#[derive(Debug, Clone)]
pub struct ClientIpResolver {
    trusted: Box<[IpNet]>,
    header: ForwardedHeader,
    accessor: PeerAccessor,
}

impl Default for ClientIpResolver {
    /// Peer address only (no trusted proxies), read by [`default_peer_addr`].
    fn default() -> Self {
        ClientIpResolver::new(&ClientIpConfig::default())
    }
}

impl ClientIpResolver {
    /// A resolver for `config`, reading the peer with [`default_peer_addr`].
    ///
    /// Trusted subnets written as IPv4-mapped IPv6 (`::ffff:10.0.0.0/104`) are
    /// turned into IPv4, as peers are compared in canonical form.
    pub fn new(config: &ClientIpConfig) -> Self {
        ClientIpResolver {
            trusted: config
                .trusted_proxies
                .iter()
                .map(|net| canonical_net(*net))
                .collect(),
            header: config.header,
            accessor: default_peer_addr,
        }
    }

    /// Read the peer address with `accessor` instead of [`default_peer_addr`].
    pub fn with_peer_accessor(mut self, accessor: PeerAccessor) -> Self {
        self.accessor = accessor;
        self
    }

    /// The peer accessor in use.
    pub fn peer_accessor(&self) -> PeerAccessor {
        self.accessor
    }

    /// Whether any forwarding header is ever believed.
    pub fn trusts_proxies(&self) -> bool {
        !self.trusted.is_empty()
    }

    /// Whether `ip` (in any form, IPv4-mapped included) is a trusted proxy.
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client IP of `request`, in canonical form (IPv4-mapped IPv6 as IPv4).
    pub fn resolve<B>(&self, request: &Request<B>) -> Result<IpAddr, MissingPeerAddr> {
        self.resolve_parts(request.headers(), request.extensions())
    }

    /// [`resolve`](Self::resolve) for a layer: a missing peer is logged (at
    /// growing intervals) and becomes the 500 refusal.
    pub(crate) fn resolve_for<B>(
        &self,
        request: &Request<B>,
        layer: &'static str,
    ) -> Result<IpAddr, crate::rejection::Rejection> {
        self.resolve(request).map_err(|_| {
            log_missing_peer(layer);
            crate::rejection::Rejection::MissingPeer
        })
    }

    /// [`resolve`](Self::resolve) from a request's headers and extensions.
    pub fn resolve_parts(
        &self,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Result<IpAddr, MissingPeerAddr> {
        let peer = (self.accessor)(extensions).ok_or(MissingPeerAddr)?;
        Ok(self.client_ip(peer.ip(), headers))
    }

    /// The client IP given the connection's `peer` and the request `headers`.
    ///
    /// Unless `peer` is a trusted proxy, that is `peer` itself. Otherwise the
    /// forwarding header is walked from right to left (the last header line
    /// first): trusted hops are skipped, and the first untrusted address is the
    /// client. An entry that is not an address (`unknown`, an obfuscated name,
    /// garbage) stops the walk at the last trusted hop, which is then taken as
    /// the client; so does a missing header. Empty entries are skipped.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if self.trusted.is_empty() || !self.is_trusted_canonical(peer) {
            return peer;
        }
        let (name, parse): (HeaderName, fn(&str) -> Option<IpAddr>) = match self.header {
            ForwardedHeader::XForwardedFor => (X_FORWARDED_FOR, parse_xff_element),
            ForwardedHeader::Forwarded => (FORWARDED, parse_forwarded_element),
        };
        let mut client = peer;
        for line in headers.get_all(name).iter().rev() {
            let Ok(text) = line.to_str() else {
                return client;
            };
            for element in text.rsplit(',') {
                let element = element.trim();
                if element.is_empty() {
                    continue;
                }
                let Some(hop) = parse(element) else {
                    return client;
                };
                let hop = hop.to_canonical();
                if !self.is_trusted_canonical(hop) {
                    return hop;
                }
                client = hop;
            }
        }
        client
    }

    #[inline]
    fn is_trusted_canonical(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&ip))
    }
}

/// `::ffff:a.b.c.d/(96+n)` → `a.b.c.d/n`; anything else unchanged.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(|n| IpNet::V4(n.trunc()))
                .unwrap_or(net),
            None => net,
        },
        _ => net.trunc(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_subnet;
    use http::HeaderValue;

    fn resolver(trusted: &[&str], header: ForwardedHeader) -> ClientIpResolver {
        let config = ClientIpConfig::default()
            .with_trusted_proxies(trusted.iter().map(|s| parse_subnet(s).unwrap()))
            .with_header(header);
        ClientIpResolver::new(&config)
    }

    fn headers(name: &str, lines: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        let name: HeaderName = name.parse().unwrap();
        for line in lines {
            map.append(&name, HeaderValue::from_str(line).unwrap());
        }
        map
    }

    struct Case {
        name: &'static str,
        trusted: &'static [&'static str],
        header: ForwardedHeader,
        peer: &'static str,
        header_name: &'static str,
        lines: &'static [&'static str],
        expect: &'static str,
    }

    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;
    const FWD: ForwardedHeader = ForwardedHeader::Forwarded;

    #[test]
    fn client_ip_table() {
        let cases = [
            Case {
                name: "no trusted proxies: header ignored",
                trusted: &[],
                header: XFF,
                peer: "198.51.100.1",
                header_name: "x-forwarded-for",
                lines: &["1.1.1.1"],
                expect: "198.51.100.1",
            },
            Case {
                name: "spoofed XFF from an untrusted peer is ignored",
                trusted: &["10.0.0.0/8"],
                header: XFF,
                peer: "198.51.100.1",
                header_name: "x-forwarded-for",
                lines: &["10.0.0.5, 1.1.1.1"],
                expect: "198.51.100.1",
            },
            Case {
                name: "one trusted proxy",
                trusted: &["10.0.0.0/8"],
                header: XFF,
                peer: "10.0.0.1",
                header_name: "x-forwarded-for",
                lines: &["203.0.113.7"],
                expect: "203.0.113.7",
            },
            Case {
                name: "forged left-most value loses",
                trusted: &["10.0.0.0/8"],
                header: XFF,
                peer: "10.0.0.1",
                header_name: "x-forwarded-for",
                lines: &["6.6.6.6, 203.0.113.7"],
                expect: "203.0.113.7",
            },
            Case {
                name: "trusted chain skipped right to left",
                trusted: &["10.0.0.0/8", "192.168.0.0/16"],
                header: XFF,
                peer: "10.0.0.1",
                header_name: "x-forwarded-for",
                lines: &["6.6.6.6, 203.0.113.7, 192.168.1.1, 10.9.9.9"],
                expect: "203.0.113.7",
            },
            Case {
                name: "several header lines, last line is right-most",
                trusted: &["10.0.0.0/8"],
                header: XFF,
                peer: "10.0.0.1",
                header_name: "x-forwarded-for",
                lines: &["6.6.6.6", "203.0.113.7, 10.0.0.2"],
                expect: "203.0.113.7",
            },
            Case {
                name: "all hops trusted: left-most trusted hop",
                trusted: &["10.0.0.0/8"],
                header: XFF,
                peer: "10.0.0.1",
                header_name: "x-forwarded-for",
                lines: &["10.0.0.3, 10.0.0.2"],
                expect: "10.0.0.3",
            },
            Case {
                name: "no header from a trusted proxy: the proxy",
                trusted: &["10.0.0.0/8"],
                header: XFF,
                peer: "10.0.0.1",
                header_name: "x-other",
                lines: &["1.1.1.1"],
                expect: "10.0.0.1",
            },
            Case {
                name: "garbage stops at the last trusted hop",
                trusted: &["10.0.0.0/8"],
                header: XFF,
                peer: "10.0.0.1",
                header_name: "x-forwarded-for",
                lines: &["1.1.1.1, unknown, 10.0.0.2"],
                expect: "10.0.0.2",
            },
            Case {
                name: "empty entries skipped",
                trusted: &["10.0.0.0/8"],
                header: XFF,
                peer: "10.0.0.1",
                header_name: "x-forwarded-for",
                lines: &["203.0.113.7, , "],
                expect: "203.0.113.7",
            },
            Case {
                name: "ports in XFF entries",
                trusted: &["10.0.0.0/8"],
                header: XFF,
                peer: "10.0.0.1",
                header_name: "x-forwarded-for",
                lines: &["[2001:db8::9]:1234, 10.0.0.2:80"],
                expect: "2001:db8::9",
            },
            Case {
                name: "IPv4-mapped peer is canonicalised before the trust check",
                trusted: &["10.0.0.0/8"],
                header: XFF,
                peer: "::ffff:10.0.0.1",
                header_name: "x-forwarded-for",
                lines: &["::ffff:203.0.113.7"],
                expect: "203.0.113.7",
            },
            Case {
                name: "IPv4-mapped untrusted peer comes back as IPv4",
                trusted: &[],
                header: XFF,
                peer: "::ffff:198.51.100.1",
                header_name: "x-forwarded-for",
                lines: &[],
                expect: "198.51.100.1",
            },
            Case {
                name: "trusted subnet written IPv4-mapped",
                trusted: &["::ffff:10.0.0.0/104"],
                header: XFF,
                peer: "10.1.2.3",
                header_name: "x-forwarded-for",
                lines: &["203.0.113.7"],
                expect: "203.0.113.7",
            },
            Case {
                name: "XFF mode ignores Forwarded",
                trusted: &["10.0.0.0/8"],
                header: XFF,
                peer: "10.0.0.1",
                header_name: "forwarded",
                lines: &["for=1.1.1.1"],
                expect: "10.0.0.1",
            },
            Case {
                name: "Forwarded mode",
                trusted: &["10.0.0.0/8", "2001:db8:ffff::/48"],
                header: FWD,
                peer: "10.0.0.1",
                header_name: "forwarded",
                lines: &[
                    "for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";proto=https, for=\"[2001:db8:ffff::1]\"",
                ],
                expect: "2001:db8:cafe::17",
            },
            Case {
                name: "Forwarded mode ignores XFF",
                trusted: &["10.0.0.0/8"],
                header: FWD,
                peer: "10.0.0.1",
                header_name: "x-forwarded-for",
                lines: &["1.1.1.1"],
                expect: "10.0.0.1",
            },
            Case {
                name: "Forwarded obfuscated identifier stops the walk",
                trusted: &["10.0.0.0/8"],
                header: FWD,
                peer: "10.0.0.1",
                header_name: "forwarded",
                lines: &["for=1.1.1.1, for=_hidden"],
                expect: "10.0.0.1",
            },
        ];
        for case in cases {
            let resolver = resolver(case.trusted, case.header);
            let got = resolver.client_ip(
                case.peer.parse().unwrap(),
                &headers(case.header_name, case.lines),
            );
            assert_eq!(got, case.expect.parse::<IpAddr>().unwrap(), "{}", case.name);
        }
    }

    #[test]
    fn non_ascii_header_stops_at_last_trusted_hop() {
        let resolver = resolver(&["10.0.0.0/8"], XFF);
        let mut map = HeaderMap::new();
        map.append(
            X_FORWARDED_FOR,
            HeaderValue::from_bytes(b"1.1.1.1\xff").unwrap(),
        );
        map.append(X_FORWARDED_FOR, HeaderValue::from_static("10.0.0.2"));
        assert_eq!(
            resolver.client_ip("10.0.0.1".parse().unwrap(), &map),
            "10.0.0.2".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn peer_from_extensions() {
        let resolver = ClientIpResolver::default();
        let mut ext = Extensions::new();
        assert_eq!(
            resolver.resolve_parts(&HeaderMap::new(), &ext),
            Err(MissingPeerAddr)
        );
        ext.insert("192.0.2.1:1".parse::<SocketAddr>().unwrap());
        assert_eq!(
            resolver.resolve_parts(&HeaderMap::new(), &ext),
            Ok("192.0.2.1".parse().unwrap())
        );
        // PeerAddr wins over a bare SocketAddr.
        ext.insert(PeerAddr("192.0.2.2:1".parse().unwrap()));
        assert_eq!(
            resolver.resolve_parts(&HeaderMap::new(), &ext),
            Ok("192.0.2.2".parse().unwrap())
        );
    }

    #[test]
    fn custom_accessor() {
        #[derive(Clone)]
        struct MyConn(SocketAddr);
        fn mine(ext: &Extensions) -> Option<SocketAddr> {
            ext.get::<MyConn>().map(|c| c.0)
        }
        let resolver = ClientIpResolver::default().with_peer_accessor(mine);
        let mut ext = Extensions::new();
        ext.insert(PeerAddr("192.0.2.2:1".parse().unwrap()));
        assert!(resolver.resolve_parts(&HeaderMap::new(), &ext).is_err());
        ext.insert(MyConn("[2001:db8::1]:1".parse().unwrap()));
        assert_eq!(
            resolver.resolve_parts(&HeaderMap::new(), &ext),
            Ok("2001:db8::1".parse().unwrap())
        );
    }
}
