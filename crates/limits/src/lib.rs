//! Tower layers for the protections of Qt's `QHttpServerConfiguration`: rate per
//! client IP, connections in all and per host, IP allow/deny subnets, and
//! URL, header and body sizes. Each works alone in any tower or axum app and
//! depends on no other Postern crate.
//!
//! | module | layer | refusal |
//! |---|---|---|
//! | [`connections`] | [`ConnectionLimiter`](connections::ConnectionLimiter) (accept loop) / [`ConnectionLimitLayer`](connections::ConnectionLimitLayer) (make-service) | 429 + `connection: close` (counts the peer address, see [below](#behind-a-reverse-proxy)) |
//! | [`ip_filter`] | [`IpFilterLayer`](ip_filter::IpFilterLayer) | 403 |
//! | [`rate`] | [`RateLimitLayer`](rate::RateLimitLayer) | 429 + `Retry-After` |
//! | [`size`] | [`SizeLimitLayer`](size::SizeLimitLayer) | 414, 431, 413 |
//! | [`stack`] | [`LimitsLayer`](stack::LimitsLayer): IP filter → rate → sizes from one [`Limits`](config::Limits) | all of the above |
//!
//! The client is found by a [`ClientIpResolver`](client_ip::ClientIpResolver) ([`client_ip`]): the peer
//! address by default, forwarding headers only from trusted proxies. Each
//! configuration type in [`config`] states its defaults; presets are
//! [`Limits::default`](config::Limits::default) (Qt's),
//! [`Limits::strict`](config::Limits::strict) and
//! [`Limits::disabled`](config::Limits::disabled).
//!
//! Cargo features, both on by default: `rate` (the [`rate`] module and
//! [`Limits::rate`](config::Limits::rate); brings governor and dashmap) and
//! `ip-filter` (the [`ip_filter`] module and
//! [`Limits::ip_filter`](config::Limits::ip_filter)). A build without one
//! refuses a configuration that sets its limit
//! ([`ConfigError::FeatureOff`](config::ConfigError::FeatureOff)) instead of
//! ignoring it.
//!
//! Every refusal looks the same, as Qt's responder and postern-core's own
//! error answers do: an empty body with `content-type: application/x-empty`
//! and `content-length: 0`, plus `retry-after` on the rate limit's 429 and, on
//! HTTP/1.x, `connection: close` on 413, 414, 431 and the connection layer's
//! 429 (HTTP/2 forbids that header). A layer that cannot tell who the client
//! is answers 500 the same way. Logs go to the `tracing` target
//! `postern::limits`.
//!
//! Every item has one path: each layer, its service and its helpers live in
//! the layer's module; what all layers share is at the root
//! ([`ResponseBody`], [`empty_response`]) or in [`future`] (the one response
//! future of every layer).
//!
//! # Behind a reverse proxy
//!
//! With [`ClientIpConfig::trusted_proxies`](config::ClientIpConfig::trusted_proxies)
//! set, the IP filter and the rate limit key on the client named by the
//! forwarding header. The connection caps cannot: a connection is counted at
//! accept time, before any request, so the per-host cap counts the proxy's
//! address, and every client behind the proxy shares one budget
//! ([`Limits::strict`](config::Limits::strict)'s 64 per host would cap the
//! whole proxy at 64 connections). Behind a proxy, leave
//! [`ConnectionLimits::max_per_host`](config::ConnectionLimits::max_per_host)
//! at `0` and rely on the rate limit per client.
//!
//! # Example
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use postern_limits::client_ip::PeerAddr;
//! use postern_limits::stack::LimitsLayer;
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

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod client_ip;
pub mod config;
pub mod connections;
pub mod future;
#[cfg(feature = "ip-filter")]
pub mod ip_filter;
#[cfg(feature = "rate")]
pub mod rate;
pub mod size;
pub mod stack;

mod body;
mod key;
mod rejection;

pub use body::ResponseBody;
pub use rejection::empty_response;
