//! The PROXY protocol (v1 text and v2 binary) on listeners that opt in, for
//! servers behind a TCP load balancer (HAProxy, nginx `stream`, cloud
//! network load balancers, Envoy) that passes on the client's address in a
//! header in front of the connection.
//!
//! A connection from a trusted peer must start with a header, read before
//! TLS; the client address in it becomes the connection's remote address
//! for every layer: the connection caps, the rate limit and the IP filter,
//! [`Request::remote_addr`](crate::Request::remote_addr) and the logs. The
//! header itself is [`ConnectionInfo::proxy`](crate::ConnectionInfo::proxy).
//! A header missing, malformed, over the cap (v1: 107 bytes; v2: an address
//! block and TLVs of 1024 bytes, the 216-byte Unix block plus 808 bytes of
//! TLVs) or not complete within the header timeout closes the connection.
//!
//! ```
//! use http::StatusCode;
//! use postern_core::{AbstractHttpServer, Handled, Listen, ProxyProtocol, Request, Responder, Server};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! struct WhoAmI;
//! impl AbstractHttpServer for WhoAmI {
//!     async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
//!         let client = request.remote_addr().map(|a| a.ip().to_string()).unwrap_or_default();
//!         responder.write_with_mime(client, "text/plain", StatusCode::OK);
//!         Handled::Yes
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Trust headers from the load balancers on 127.0.0.0/8 only.
//! let proxy = ProxyProtocol::from(vec!["127.0.0.0/8".parse()?]);
//! let running = Server::builder()
//!     .bind(Listen::tcp("127.0.0.1:0").proxy_protocol(proxy))
//!     .serve_abstract(WhoAmI)
//!     .await?;
//! let addr = running.listeners()[0].socket_addr().expect("TCP");
//!
//! let mut lb = tokio::net::TcpStream::connect(addr).await?;
//! lb.write_all(b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 80\r\n").await?;
//! lb.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").await?;
//! let mut answer = String::new();
//! lb.read_to_string(&mut answer).await?;
//! assert!(answer.ends_with("\r\n\r\n192.0.2.7"));
//! # Ok(()) }
//! ```

mod header;
mod read;

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

pub use header::{ProxyAddresses, ProxyHeader, ProxyHeaderError, ProxySsl, ProxyVersion};
pub use read::{ProxyStream, read_proxy_header};

/// How a listener treats PROXY protocol headers: which peers must send one,
/// whether other peers are served, and how long a header may take.
///
/// Defaults: other peers are served as direct clients (their bytes are
/// never read as a header); the header timeout is 5 s. On a Unix socket
/// every peer counts as trusted (the socket file's permissions decide who
/// connects), so every connection must send a header.
///
/// A trusted peer's connection is counted against the connection caps
/// once its header is read, by the client address in it (by the proxy's
/// own address for `LOCAL`, `UNKNOWN` and Unix-family headers); over the
/// caps, a plain connection gets the caps' 429 and a TLS one is closed
/// before its handshake, as direct clients are. Until then it counts only
/// as a live connection, for at most the header timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyProtocol {
    trusted: Vec<IpNet>,
    proxy_only: bool,
    header_timeout: Duration,
}

/// The header timeout of [`ProxyProtocol::header_timeout`].
const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(5);

impl ProxyProtocol {
    /// Trust PROXY headers from peers in any of these networks (a single
    /// address is a `/32` or `/128`); IPv4-mapped IPv6 peers count as IPv4.
    pub fn trusting(networks: impl IntoIterator<Item = IpNet>) -> Self {
        ProxyProtocol {
            trusted: networks.into_iter().map(|net| net.trunc()).collect(),
            proxy_only: false,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
        }
    }

    /// Refuse (close at once, unanswered) connections from peers that are
    /// not trusted, instead of serving them as direct clients: for a
    /// listener that only the load balancers may reach.
    pub fn proxy_only(mut self) -> Self {
        self.proxy_only = true;
        self
    }

    /// How long a trusted peer may take to send its whole header before the
    /// connection is closed. Default 5 s; taken between 1 ms and a week (zero
    /// would close every connection whose header is not in its first read).
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout.clamp(Duration::from_millis(1), crate::config::Timeouts::MAX);
        self
    }

    /// Whether a peer at `ip` must send a header.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// Whether untrusted peers are refused.
    pub fn is_proxy_only(&self) -> bool {
        self.proxy_only
    }

    /// The header timeout.
    pub fn timeout(&self) -> Duration {
        self.header_timeout
    }
}

impl From<Vec<IpNet>> for ProxyProtocol {
    /// [`ProxyProtocol::trusting`] these networks.
    fn from(networks: Vec<IpNet>) -> Self {
        ProxyProtocol::trusting(networks)
    }
}

impl From<IpNet> for ProxyProtocol {
    /// [`ProxyProtocol::trusting`] this network.
    fn from(network: IpNet) -> Self {
        ProxyProtocol::trusting([network])
    }
}

impl<const N: usize> From<[IpNet; N]> for ProxyProtocol {
    /// [`ProxyProtocol::trusting`] these networks.
    fn from(networks: [IpNet; N]) -> Self {
        ProxyProtocol::trusting(networks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_table() {
        let proxy = ProxyProtocol::from(vec![
            "10.1.2.3/8".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ]);
        let cases = [
            ("10.200.0.1", true),
            ("11.0.0.1", false),
            ("::ffff:10.0.0.9", true),
            ("2001:db8::5", true),
            ("2001:db9::5", false),
            ("127.0.0.1", false),
        ];
        for (ip, trusted) in cases {
            assert_eq!(proxy.trusts(ip.parse().unwrap()), trusted, "{ip}");
        }
        assert_eq!(proxy.timeout(), Duration::from_secs(5));
        assert!(!proxy.is_proxy_only());
        assert!(proxy.proxy_only().is_proxy_only());
    }
}
