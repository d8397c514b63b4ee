//! The parts of a [`Configuration`](crate::Configuration): HTTP/2 settings,
//! timeouts and minimum data rates, and the limits' types from
//! `postern-limits`.
//!
//! ```
//! use std::time::Duration;
//! use postern_core::Configuration;
//!
//! let config = Configuration::default()
//!     .with_keep_alive_timeout(Duration::from_secs(30))
//!     .with_rate_limit_per_second(50);
//! assert_eq!(config.limits.rate.per_second, 50);
//! assert_eq!(config.limits.sizes.max_url, Some(65_536));
//! assert_eq!(config.http2.max_concurrent_streams, 100);
//! ```

use std::time::Duration;

mod validate;

pub use postern_limits::config::{
    ClientIpConfig, ConnectionLimits, IpFilter, Limits, RateLimit, SizeLimits,
};

/// HTTP/2 settings (Qt's `QHttp2Configuration`, plus hyper's abuse guards).
///
/// Defaults: stream window 256 KiB, connection window 1 MiB, max frame 16 KiB,
/// 100 concurrent streams, 16 KiB header list, 20 pending reset streams,
/// 1,024 local error resets, 256 KiB send buffer per stream.
///
/// The streams of one HTTP/2 connection run in that connection's task, so
/// that the responses ready together leave in one write: they run
/// concurrently but not in parallel (separate connections still use every
/// worker thread). A handler with long CPU-bound work should spawn it or
/// use `tokio::task::spawn_blocking`. A handler that panics resets only its
/// own stream (`RST_STREAM(CANCEL)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Http2Settings {
    /// Initial stream receive window in bytes. Default 262,144.
    pub initial_stream_window_size: u32,
    /// Initial connection receive window in bytes. Default 1,048,576.
    pub initial_connection_window_size: u32,
    /// Largest frame payload accepted, 16,384..=16,777,215. Default 16,384.
    pub max_frame_size: u32,
    /// Streams a client may open at once. Default 100 (Qt's).
    pub max_concurrent_streams: u32,
    /// Largest decoded header list. Default 16,384; raised to the configured
    /// total header limit when that is larger.
    pub max_header_list_size: u32,
    /// Streams reset by the client before we accept them (Rapid Reset guard).
    /// Default 20.
    pub max_pending_accept_reset_streams: usize,
    /// Streams we may reset for protocol errors before sending GOAWAY.
    /// Default 1,024.
    pub max_local_error_reset_streams: usize,
    /// Bytes buffered for sending per stream. Default 262,144.
    pub max_send_buf_size: usize,
}

impl Default for Http2Settings {
    fn default() -> Self {
        Http2Settings {
            initial_stream_window_size: 256 * 1024,
            initial_connection_window_size: 1024 * 1024,
            max_frame_size: 16 * 1024,
            max_concurrent_streams: 100,
            max_header_list_size: 16 * 1024,
            max_pending_accept_reset_streams: 20,
            max_local_error_reset_streams: 1024,
            max_send_buf_size: 256 * 1024,
        }
    }
}

/// A minimum data rate: after `grace`, the bytes moved must average at least
/// `bytes_per_second` over the whole time the server waited for the client.
///
/// ```
/// use std::time::Duration;
/// use postern_core::config::MinDataRate;
/// let rate = MinDataRate::new(240, Duration::from_secs(5));
/// assert_eq!(rate.bytes_per_second, 240);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MinDataRate {
    /// The slowest average rate accepted, in bytes per second (at least 1).
    pub bytes_per_second: u32,
    /// How long a transfer may run before its rate is checked.
    pub grace: Duration,
}

impl MinDataRate {
    /// `bytes_per_second` after `grace`.
    pub const fn new(bytes_per_second: u32, grace: Duration) -> Self {
        MinDataRate {
            bytes_per_second,
            grace,
        }
    }
}

impl Default for MinDataRate {
    /// 240 bytes per second after a 5 s grace, Kestrel's defaults: a client on
    /// the slowest mobile link passes, a trickle meant to hold the
    /// connection does not.
    fn default() -> Self {
        MinDataRate::new(240, Duration::from_secs(5))
    }
}

/// The server's timeouts. Each bounds how long a client can hold a
/// connection doing nothing useful.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// A connection with no request in flight is closed after this long
    /// (HTTP/1: closed; HTTP/2: GOAWAY). Qt's `keepAliveTimeout`. Default 15 s.
    pub keep_alive: Duration,
    /// After accept (and TLS), the first bytes must arrive within this long:
    /// enough to tell HTTP/1 from the HTTP/2 preface. Default 10 s.
    pub first_byte: Duration,
    /// Once a request's first byte has arrived, its whole head must arrive
    /// within this long (slowloris). Default 10 s.
    pub request_head: Duration,
    /// The TLS handshake must finish within this long. Default 10 s.
    pub tls_handshake: Duration,
    /// While a handler waits for the request body, some of it must arrive
    /// within this long (slow uploads, slowhttptest `-B`). Default 30 s.
    pub body_idle: Duration,
    /// While the server has a response to write, the client must take some of
    /// it within this long (clients that stop reading). Default 30 s.
    pub write_stall: Duration,
    /// While handlers wait for request bodies, the bytes must arrive at least
    /// this fast (each waiting body counts: two slow bodies on one HTTP/2
    /// connection owe twice the rate). Too slow: the body fails, the handler
    /// answers **408** (with `connection: close` on HTTP/1). Default
    /// [`MinDataRate::default`] (240 B/s after 5 s); `None` turns it off.
    pub min_request_body_rate: Option<MinDataRate>,
    /// While a response waits for the client to take it (a full socket on
    /// HTTP/1, an exhausted flow-control window on HTTP/2), the client must
    /// take it at least this fast. Too slow: the connection is closed (after
    /// a GOAWAY on HTTP/2), as the response is already under way. Default
    /// [`MinDataRate::default`] (240 B/s after 5 s); `None` turns it off.
    pub min_response_rate: Option<MinDataRate>,
}

impl Timeouts {
    /// The longest timeout accepted: 7 days.
    pub const MAX: Duration = Duration::from_secs(7 * 24 * 3600);

    /// Nothing is cut for being slow: every timeout at [`Timeouts::MAX`] and
    /// no minimum data rates. For trusted networks and tests only.
    pub fn disabled() -> Self {
        Timeouts {
            keep_alive: Timeouts::MAX,
            first_byte: Timeouts::MAX,
            request_head: Timeouts::MAX,
            tls_handshake: Timeouts::MAX,
            body_idle: Timeouts::MAX,
            write_stall: Timeouts::MAX,
            min_request_body_rate: None,
            min_response_rate: None,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            keep_alive: Duration::from_secs(15),
            first_byte: Duration::from_secs(10),
            request_head: Duration::from_secs(10),
            tls_handshake: Duration::from_secs(10),
            body_idle: Duration::from_secs(30),
            write_stall: Duration::from_secs(30),
            min_request_body_rate: Some(MinDataRate::default()),
            min_response_rate: Some(MinDataRate::default()),
        }
    }
}
