//! [`LimitsLayer`]: every request-level limit of a [`Limits`](crate::config::Limits) in one layer and
//! one concrete service type, [`LimitsService`].
//!
//! Checks run in this order, and the first refusal answers:
//!
//! 1. IP allow/deny lists → **403** ([`ip_filter`](crate::ip_filter));
//! 2. rate per client → **429** + `Retry-After` ([`rate`](crate::rate));
//! 3. sizes → **414**, **431**, **413** ([`size`](crate::size)), then the body
//!    is handed on wrapped in a [`RequestBody`](crate::size::RequestBody) that fails past the body limit.
//!
//! Connection caps come before all of these, at accept time: they are not part
//! of this layer (see [`connections`](crate::connections)). A server builds one
//! [`ConnectionLimiter`](crate::connections::ConnectionLimiter) from
//! [`Limits::connections`](crate::config::Limits::connections) and calls `set_limits` on it when reconfigured.
//!
//! The client IP is resolved once per request, and only when the IP filter or
//! the rate limit is on. With [`Limits::disabled`](crate::config::Limits::disabled) the layer only wraps the
//! body (a pass-through) and checks nothing.
//!
//! # Reconfiguring a running server
//!
//! A layer is cheap to build (one `Arc`). To change limits, build a new one
//! with [`LimitsLayer::reconfigure`], which keeps the peer accessor and, when
//! [`Limits::rate`](crate::config::Limits::rate) did not change, the rate limiter and its per-client state;
//! then wrap the app again and swap the service in (for example behind an
//! `ArcSwap` or an `RwLock` read once per connection or request).
//!
//! # Example
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use postern_limits::stack::LimitsLayer;
//! use postern_limits::client_ip::PeerAddr;
//! use postern_limits::config::{Limits, RateLimit, parse_subnet};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mut limits = Limits::strict();
//! limits.ip_filter = limits.ip_filter.with_deny([parse_subnet("203.0.113.0/24").unwrap()]);
//! let layer = LimitsLayer::new(&limits);
//!
//! let app = ServiceBuilder::new()
//!     .layer(layer.clone())
//!     .service(service_fn(|_req: Request<_>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(String::from("hello")))
//!     }));
//!
//! let request = |peer: &str, path: &str| {
//!     let mut req = Request::get(path).body(String::new()).unwrap();
//!     req.extensions_mut().insert(PeerAddr(peer.parse().unwrap()));
//!     req
//! };
//!
//! let ok = app.clone().oneshot(request("198.51.100.1:1", "/")).await.unwrap();
//! assert_eq!(ok.status(), StatusCode::OK);
//!
//! // The deny list answers first, whatever else is wrong with the request.
//! let long = format!("/{}", "a".repeat(10_000));
//! let denied = app.clone().oneshot(request("203.0.113.5:1", &long)).await.unwrap();
//! assert_eq!(denied.status(), StatusCode::FORBIDDEN);
//!
//! let too_long = app.clone().oneshot(request("198.51.100.1:1", &long)).await.unwrap();
//! assert_eq!(too_long.status(), StatusCode::URI_TOO_LONG);
//!
//! // Change the sizes, keep the rate limiter's state.
//! limits.sizes.max_url = None;
//! let layer2 = layer.reconfigure(&limits).unwrap();
//! assert!(layer2.shares_rate_limiter_with(&layer));
//! # }
//! ```

mod layer;
mod service;

pub use layer::LimitsLayer;
pub use service::LimitsService;

#[cfg(test)]
mod tests;
