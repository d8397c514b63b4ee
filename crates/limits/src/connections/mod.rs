//! Caps on open connections, in all and per client host (Qt's
//! `maximumConnections` and `maximumConnectionsPerHost`). Connections are
//! counted, not requests.
//!
//! Two ways in:
//!
//! * **A server's accept loop** (Postern's own) calls
//!   [`ConnectionLimiter::try_acquire`] right after `accept()`, before any TLS
//!   handshake, keeps the [`ConnectionPermit`] with the connection, and on
//!   [`ConnectionRefused`] writes its own refusal (429 + `connection: close` on
//!   plaintext HTTP/1, a close on TLS, GOAWAY on HTTP/2).
//! * **A tower or axum app** wraps its make-service in [`ConnectionLimitLayer`]:
//!   each accepted connection takes a permit when its service is made, and a
//!   refused connection's service answers every request **429** with an empty
//!   body, `content-type: application/x-empty`, `content-length: 0` and
//!   `connection: close` (HTTP/1.x; on HTTP/2, where that header is illegal, a
//!   plain 429 per stream — a tower layer cannot send GOAWAY). The permit is
//!   released when the connection's service and its in-flight requests are
//!   dropped.
//!
//! Caps change live with [`ConnectionLimiter::set_limits`]. IPv6 hosts are
//! keyed by their /64 by default ([`ConnectionLimits::ipv6_prefix`](crate::config::ConnectionLimits::ipv6_prefix)),
//! IPv4-mapped IPv6 as IPv4.
//!
//! # Behind a reverse proxy
//!
//! The per-host cap counts the **connection's peer address**, never the
//! client named by `X-Forwarded-For` or `Forwarded`: a connection is admitted
//! at accept time, before any request (or header) has arrived, and one proxy
//! connection carries requests from many clients. Behind a reverse proxy every
//! client therefore shares the proxy's per-host budget, and
//! [`Limits::strict`](crate::config::Limits::strict)'s 64 per host caps the
//! whole proxy at 64 connections. There, leave
//! [`max_per_host`](crate::config::ConnectionLimits::max_per_host) at `0`
//! (keep [`max_connections`](crate::config::ConnectionLimits::max_connections)
//! as a memory bound if you like) and rely on the [rate limit](crate::rate),
//! which keys on the client IP resolved through the trusted proxies
//! ([`ClientIpConfig`](crate::config::ClientIpConfig)).
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//! use std::net::{IpAddr, SocketAddr};
//! use http::{Request, Response, StatusCode};
//! use postern_limits::connections::{ConnectionLimitLayer, ConnectionLimiter};
//! use postern_limits::config::ConnectionLimits;
//! use tower::{Layer, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // A make-service: one call per accepted connection, here keyed by the peer.
//! let make_app = service_fn(|_peer: SocketAddr| async {
//!     Ok::<_, Infallible>(service_fn(|_req: Request<()>| async {
//!         Ok::<_, Infallible>(Response::new(String::from("hello")))
//!     }))
//! });
//! fn peer(addr: &SocketAddr) -> Option<IpAddr> {
//!     Some(addr.ip())
//! }
//! let limiter = ConnectionLimiter::new(ConnectionLimits::disabled().with_max_per_host(1));
//! let make_app = ConnectionLimitLayer::new(limiter.clone(), peer).layer(make_app);
//!
//! let first = make_app.clone().oneshot("192.0.2.1:4000".parse().unwrap()).await.unwrap();
//! let second = make_app.oneshot("192.0.2.1:4001".parse().unwrap()).await.unwrap();
//! assert_eq!(limiter.open_connections(), 1);
//!
//! let response = second.oneshot(Request::new(())).await.unwrap();
//! assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
//! assert_eq!(response.headers()["content-type"], "application/x-empty");
//! assert_eq!(response.headers()["connection"], "close");
//! assert_eq!(response.body(), ""); // the inner body type, empty
//!
//! let response = first.oneshot(Request::new(())).await.unwrap();
//! assert_eq!(response.status(), StatusCode::OK);
//! assert_eq!(limiter.open_connections(), 0); // both connections are gone
//! # }
//! ```

mod future;
mod layer;
mod limiter;
mod service;

pub use future::MakeFuture;
pub use layer::ConnectionLimitLayer;
pub use limiter::{ConnectionLimiter, ConnectionPermit, ConnectionRefused};
pub use service::{ConnectionLimitMakeService, ConnectionLimitService};
