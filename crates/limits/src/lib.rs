//! Tower layers for the protections of Qt's `QHttpServerConfiguration`: rate per
//! client IP, connections in all and per client, IP allow/deny subnets, and
//! URL, header and body sizes. Each works alone in any tower or axum app and
//! depends on no other Postern crate.
//!
//! | module | layer | refusal |
//! |---|---|---|
//! | [`connections`] | [`ConnectionLimiter`] (accept loop) / [`ConnectionLimitLayer`] (make-service) | 429 + `connection: close` |
//! | [`ip_filter`] | [`IpFilterLayer`] | 403 |
//! | [`rate`] | [`RateLimitLayer`] | 429 + `Retry-After` |
//! | [`size`] | [`SizeLimitLayer`] | 414, 431, 413 |
//! | [`stack`] | [`LimitsLayer`]: IP filter → rate → sizes from one [`Limits`](config::Limits) | all of the above |
//!
//! The client is found by a [`ClientIpResolver`] ([`client_ip`]): the peer
//! address by default, forwarding headers only from trusted proxies. Each
//! configuration type in [`config`] states its defaults; presets are
//! [`Limits::default`](config::Limits::default) (Qt's),
//! [`Limits::strict`](config::Limits::strict) and
//! [`Limits::disabled`](config::Limits::disabled). Refusals have empty bodies
//! with `content-length: 0`; logs go to the `tracing` target `postern::limits`.
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use postern_limits::{LimitsLayer, PeerAddr};
//! use postern_limits::config::Limits;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let limits = Limits::default();
//! assert_eq!(limits.sizes.max_body, Some(32 * 1024 * 1024));
//!
//! let app = ServiceBuilder::new()
//!     .layer(LimitsLayer::new(&Limits::strict()))
//!     .service(service_fn(|_req: Request<_>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(String::from("hello")))
//!     }));
//!
//! let mut req = Request::new(String::new());
//! req.extensions_mut().insert(PeerAddr("192.0.2.1:4000".parse().unwrap()));
//! assert_eq!(app.oneshot(req).await.unwrap().status(), StatusCode::OK);
//! # }
//! ```

pub mod client_ip;
pub mod config;
pub mod connections;
pub mod ip_filter;
pub mod rate;
pub mod size;
pub mod stack;

mod body;
mod future;
mod key;
mod rejection;

pub use body::ResponseBody;
pub use client_ip::{ClientIpResolver, MissingPeerAddr, PeerAccessor, PeerAddr, default_peer_addr};
pub use connections::{
    ConnectionLimitLayer, ConnectionLimiter, ConnectionPermit, ConnectionRefused,
};
pub use future::ResponseFuture;
pub use ip_filter::IpFilterLayer;
pub use rate::{ClientRateLimiter, RateLimitLayer, RateLimited};
pub use size::{RequestBody, SizeLimitLayer, is_body_too_large};
pub use stack::{LimitsLayer, LimitsService};
