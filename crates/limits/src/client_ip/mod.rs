//! Finding the client's IP address: the connection's peer, or — behind trusted
//! reverse proxies only — the right-most untrusted hop of `X-Forwarded-For` or
//! `Forwarded`.
//!
//! Every layer that keys on the client (IP filter, rate limit, and the
//! composite [`LimitsLayer`](crate::stack::LimitsLayer)) asks a [`ClientIpResolver`].
//! The resolver reads the peer address with a [`PeerAccessor`], a plain
//! `fn(&http::Extensions) -> Option<SocketAddr>`. The default,
//! [`default_peer_addr`], finds a [`PeerAddr`] or a bare [`SocketAddr`](std::net::SocketAddr)
//! extension. For axum, read its `ConnectInfo` instead:
//!
//! ```
//! use std::net::SocketAddr;
//! use axum::extract::ConnectInfo;
//! use postern_limits::client_ip::ClientIpResolver;
//!
//! fn axum_peer(ext: &http::Extensions) -> Option<SocketAddr> {
//!     ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
//! }
//! let resolver = ClientIpResolver::default().with_peer_accessor(axum_peer);
//! # let _ = resolver;
//! ```
//!
//! If no peer address is found the layers answer **500** and log an error at
//! target `postern::limits` saying how to fix it: they never put every client
//! into one shared bucket.
//!
//! # Example
//!
//! ```
//! use std::net::{IpAddr, SocketAddr};
//! use http::Request;
//! use postern_limits::client_ip::{ClientIpResolver, PeerAddr};
//! use postern_limits::config::{ClientIpConfig, parse_subnet};
//!
//! // Believe X-Forwarded-For only from our load balancers in 10.0.0.0/8.
//! let config = ClientIpConfig::default()
//!     .with_trusted_proxies([parse_subnet("10.0.0.0/8").unwrap()]);
//! let resolver = ClientIpResolver::new(&config);
//!
//! // Through the proxy: the right-most untrusted hop is the client, and the
//! // client's own forged left-most entry loses.
//! let mut req = Request::new(());
//! req.headers_mut().insert("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.2".parse().unwrap());
//! req.extensions_mut().insert(PeerAddr("10.0.0.1:4000".parse().unwrap()));
//! assert_eq!(resolver.resolve(&req).unwrap(), "203.0.113.7".parse::<IpAddr>().unwrap());
//!
//! // Straight from the internet: the header is ignored.
//! req.extensions_mut().insert(PeerAddr("198.51.100.9:5000".parse().unwrap()));
//! assert_eq!(resolver.resolve(&req).unwrap(), "198.51.100.9".parse::<IpAddr>().unwrap());
//!
//! // No peer address at all is an error, not a shared bucket.
//! assert!(resolver.resolve(&Request::new(())).is_err());
//! # let _: SocketAddr = "127.0.0.1:1".parse().unwrap();
//! ```

mod parse;
mod resolver;

pub use resolver::{ClientIpResolver, MissingPeerAddr, PeerAccessor, PeerAddr, default_peer_addr};
