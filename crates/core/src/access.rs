//! The access log and the request counters.
//!
//! With [`Configuration::access_log`](crate::Configuration::access_log) on,
//! every finished request is one `tracing` event at level `INFO` on the
//! target `postern::access`, including the requests the limits and the
//! server refuse before any handler runs:
//!
//! ```no_run
//! use postern_core::{Configuration, Server};
//! # struct App;
//! # impl postern_core::AbstractHttpServer for App {
//! #     async fn handle_request(&self, _: &postern_core::Request, r: postern_core::Responder) -> postern_core::Handled {
//! #         postern_core::Handled::No(r)
//! #     }
//! # }
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), postern_core::Error> {
//! // Print the access log (and warnings from everything else).
//! tracing_subscriber::fmt()
//!     .with_env_filter("warn,postern::access=info")
//!     .init();
//! let running = Server::builder()
//!     .configuration(Configuration::default().with_access_log(true))
//!     .bind_tcp("127.0.0.1:8080")
//!     .serve_abstract(App)
//!     .await?;
//! // ... later, for a health page:
//! let stats = running.stats();
//! println!("{} served, {} refused", stats.requests_served, stats.refusals.total());
//! # Ok(())
//! # }
//! ```
//!
//! # The event
//!
//! | field | value |
//! |---|---|
//! | `method` | `GET`, `POST` … |
//! | `path` | the target's path, without the query (which may hold secrets) |
//! | `client` | the client's IP address (the connection's peer; absent on a Unix socket) |
//! | `status` | the response's status code; absent if none was sent |
//! | `bytes` | response body bytes handed to the connection |
//! | `duration_us` | microseconds from the request head to the end of the response |
//! | `protocol` | `HTTP/1.0`, `HTTP/1.1` or `HTTP/2` |
//! | `reason` | for a refusal, its [`RefusalReason`]: `ip_denied`, `rate_limited`, `url_too_long`, `header_too_large`, `body_too_large`, `connection_cap`, `timeout`, `bad_request`; absent otherwise |
//! | `completed` | `false` when the response was cut short: the client went away (HTTP/1 disconnect, HTTP/2 reset) or the body failed |
//!
//! The event is written when the response body ends, so `duration_us` and
//! `bytes` cover the whole response. Two kinds of refusal come before any
//! request exists and so carry no `method`, `path` or `duration_us`: a
//! request head hyper refuses itself (414 for a target over 65,534 bytes,
//! 431 for a head over its buffer, 400 for a malformed head; `protocol`
//! `HTTP/1.1`, the version of that answer), and a connection over the
//! [connection caps](crate::config::ConnectionLimits) (`status` 429, what
//! an HTTP/1 client reads — an HTTP/2 client gets a GOAWAY — and no
//! `protocol`). HTTP/2 heads over the header list limit are refused inside
//! the HTTP/2 engine and are neither logged nor counted.
//!
//! # Cost
//!
//! Off (the default), the log costs nothing per request: the switch and
//! whether any subscriber listens to `postern::access` are checked once per
//! connection, and no clock is read. On, each request costs one clock read
//! at its head, one small allocation, and the event; field values are
//! `tracing` values, formatted only by a subscriber that records them.
//!
//! # Counters
//!
//! [`RunningServer::stats`](crate::RunningServer::stats) counts requests
//! served, refusals by reason ([`Refusals`]) and upgrades whether the log is
//! on or not: relaxed atomic counters, one increment per request.
//!
//! # Refusals seen by tower layers
//!
//! Every refusal response of the limits and of the server's own body checks
//! (`408`, `413`) carries its [`RefusalReason`] in its extensions: a layer
//! wrapped around [`LimitsLayer`](postern_limits::stack::LimitsLayer) in a
//! tower stack of your own sees why a 429 was sent. In Postern's server the
//! limits run outside your service, so layers and after-request handlers
//! inside it never see the limits' refusals: read them from this log or
//! the counters.

pub use postern_limits::RefusalReason;

/// Refusals counted since the server started, one field per
/// [`RefusalReason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Refusals {
    /// 403: client IP outside the allow list or inside the deny list.
    pub ip_denied: u64,
    /// 429: rate limit spent.
    pub rate_limited: u64,
    /// 414: request target too long (the limits' or hyper's).
    pub url_too_long: u64,
    /// 431: request head too large (the limits' or hyper's).
    pub header_too_large: u64,
    /// 413: request body too large.
    pub body_too_large: u64,
    /// Connections refused over the connection caps.
    pub connection_cap: u64,
    /// 408: request body too slow; also a request head not complete within
    /// its timeout, whose connection is closed without a response.
    pub timeout: u64,
    /// 400: request head malformed (refused by hyper) or ambiguous.
    pub bad_request: u64,
}

impl Refusals {
    /// The count for `reason` (0 for a reason this version does not count).
    pub fn get(&self, reason: RefusalReason) -> u64 {
        match reason {
            RefusalReason::IpDenied => self.ip_denied,
            RefusalReason::RateLimited => self.rate_limited,
            RefusalReason::UrlTooLong => self.url_too_long,
            RefusalReason::HeaderTooLarge => self.header_too_large,
            RefusalReason::BodyTooLarge => self.body_too_large,
            RefusalReason::ConnectionCap => self.connection_cap,
            RefusalReason::Timeout => self.timeout,
            RefusalReason::BadRequest => self.bad_request,
            _ => 0,
        }
    }

    /// Every refusal, whatever its reason.
    pub fn total(&self) -> u64 {
        RefusalReason::ALL
            .iter()
            .map(|&reason| self.get(reason))
            .sum()
    }
}
