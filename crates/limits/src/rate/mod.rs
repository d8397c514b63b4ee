//! Requests per second per client IP (Qt's `rateLimitPerSecond`), answered with
//! **429 Too Many Requests**, `Retry-After` in whole seconds (at least 1), an
//! empty body, `content-type: application/x-empty` and `content-length: 0` (as
//! Qt's responder sends it). The connection stays open.
//!
//! One [`ClientRateLimiter`] (governor's keyed GCRA limiter) is shared by every
//! clone of the layer and its services, so the budget is per client across all
//! connections. IPv6 clients are keyed by their /64 (configurable) so an
//! attacker cannot rotate through its 2^64 addresses; IPv4-mapped IPv6 counts
//! as IPv4. Memory is bounded by [`RateLimit::max_tracked_clients`](crate::config::RateLimit::max_tracked_clients)
//! (default 100,000): see [`ClientRateLimiter`] for the cap and the sweep.
//!
//! **Differences from Qt's counter.** Qt counts requests in a 1000 ms window
//! per IP (refused ones included). GCRA instead allows a burst of `per_second`
//! requests and refills one every `1/per_second` s, so a client held at the
//! limit gets a steady `per_second` per second rather than bursts at window
//! edges; refused requests are not counted, so a client that backs off for
//! `Retry-After` is served again.
//!
//! **Stores.** The budgets live in memory by default
//! ([`RateStore::Memory`](crate::config::RateStore::Memory)): decided in `call`,
//! the response future ready at once. With the `redis` feature,
//! `RateStore::Redis` keeps them in Redis so that every replica of a service
//! shares one budget per client: one GCRA decision per request in one Lua
//! script run with `EVALSHA` (loaded again on `NOSCRIPT`) on one multiplexed
//! connection per limiter, on Redis's clock, keyed `<prefix><client key>`
//! (IPv6 by the same prefix as in memory), each key expiring once its budget
//! is full again. A decision waits at most the store's timeout (default
//! 50 ms); when Redis cannot answer, the store's `FailurePolicy` does
//! (default: a local limiter at `per_second / replicas`) and keeps answering
//! at once, without waiting, while a background probe pings Redis every
//! 100 ms; sharing resumes on its first answer. Fail closed answers **503**
//! with `Retry-After: 1`: the client did not spend its budget.
//!
//! With `per_second == 0` (the default) the layer passes every request through
//! without resolving the client. Otherwise, with no peer address it answers 500
//! and logs how to fix the setup.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use http::{Request, Response, StatusCode};
//! use postern_limits::client_ip::PeerAddr;
//! use postern_limits::rate::RateLimitLayer;
//! use postern_limits::config::RateLimit;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let app = ServiceBuilder::new()
//!     .layer(RateLimitLayer::new(RateLimit::default().with_per_second(2)))
//!     .service(service_fn(|_req: Request<()>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(String::from("hello")))
//!     }));
//!
//! let request = || {
//!     let mut req = Request::new(());
//!     req.extensions_mut().insert(PeerAddr("[2001:db8::1]:4000".parse().unwrap()));
//!     req
//! };
//!
//! assert_eq!(app.clone().oneshot(request()).await.unwrap().status(), StatusCode::OK);
//! assert_eq!(app.clone().oneshot(request()).await.unwrap().status(), StatusCode::OK);
//!
//! let limited = app.clone().oneshot(request()).await.unwrap();
//! assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
//! assert_eq!(limited.headers()["retry-after"], "1");
//! assert_eq!(limited.headers()["content-type"], "application/x-empty");
//! assert_eq!(limited.headers()["content-length"], "0");
//!
//! tokio::time::advance(Duration::from_secs(1)).await;
//! assert_eq!(app.oneshot(request()).await.unwrap().status(), StatusCode::OK);
//! # }
//! ```

mod clock;
mod decision;
mod future;
mod layer;
mod limiter;
#[cfg(feature = "redis")]
mod redis;
mod service;
mod store;

pub use decision::RateDecision;
pub use future::RateFuture;
pub use layer::RateLimitLayer;
pub use limiter::{ClientRateLimiter, RateLimited};
pub use service::RateLimitService;

use std::net::IpAddr;

use crate::rejection::{Rejection, retry_after_secs};

/// The limiter's decision for a known client: at once (the in-memory store),
/// or a decision to wait for (a shared store).
pub(crate) enum Verdict {
    Now(Result<(), Rejection>),
    Later(RateDecision),
}

/// The limiter's decision for a known client.
#[inline]
pub(crate) fn check(limiter: &ClientRateLimiter, ip: IpAddr) -> Verdict {
    let decision = limiter.decide(ip);
    match decision.now() {
        Some(result) => Verdict::Now(result.map_err(|limited| rejection(ip, limited))),
        None => Verdict::Later(decision),
    }
}

/// The refusal a client gets for `limited`: 429, or 503 when a shared store
/// could not decide and fails closed.
#[cold]
pub(crate) fn rejection(ip: IpAddr, limited: RateLimited) -> Rejection {
    let retry_after_secs = retry_after_secs(limited.retry_after());
    if limited.is_unavailable() {
        tracing::debug!(
            target: "postern::limits",
            client = %ip,
            "refused: the shared rate limit cannot decide (503)"
        );
        return Rejection::Unavailable { retry_after_secs };
    }
    tracing::debug!(
        target: "postern::limits",
        client = %ip,
        over_client_cap = limited.is_over_client_cap(),
        "refused by the rate limit (429)"
    );
    Rejection::TooManyRequests { retry_after_secs }
}
