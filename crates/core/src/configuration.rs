//! [`Configuration`]: every setting of Qt's `QHttpServerConfiguration`, plus
//! HTTP/2 settings and timeouts.

use std::time::Duration;

use ipnet::IpNet;

use crate::config::{Http2Settings, Limits, SizeLimits, Timeouts};

/// Everything a running server can be told: Qt's `QHttpServerConfiguration`
/// fields (the limits, as postern-limits' own types), HTTP/2 settings and
/// timeouts. Equality compares every field, as Qt's does.
///
/// `Default` is Qt's defaults: rate limit off, keep-alive 15 s, connection
/// caps off, allow/deny lists empty, URL 64 KiB, headers 64 KiB in all, one
/// field 48 KiB, 128 fields, body 32 MiB; plus Postern's own: 256 MiB for
/// all buffered bodies at once, waited for up to 1 s; access log off.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Configuration {
    /// Rate, connection, IP and size limits.
    pub limits: Limits,
    /// HTTP/2 settings, used for new HTTP/2 connections.
    pub http2: Http2Settings,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Bytes all request bodies read whole ([`BodyPolicy::Buffer`](crate::BodyPolicy::Buffer))
    /// may hold at once, server-wide: with Qt's 32 MiB body limit and no
    /// connection cap, a few hundred clients could otherwise take any
    /// machine's memory. A body that would pass it waits (unread, so its
    /// client is held back) for [`buffered_body_wait`](Self::buffered_body_wait),
    /// then gets **503** with `retry-after: 1`. A body may take at most half
    /// of what is free when it comes, so large uploads never take the last
    /// of it from small bodies; a body alone is always let in, so
    /// `Some(0)` means one buffered body at a time. Default 256 MiB; `None`
    /// lifts the cap. See
    /// [`RunningServer::stats`](crate::RunningServer::stats) for what is held.
    pub max_buffered_body_bytes: Option<u64>,
    /// How long a body waits for room in that budget. Default 1 s.
    pub buffered_body_wait: Duration,
    /// Write one `tracing` event per finished request, refusals included,
    /// on the target `postern::access` (see [`access`](crate::access) for
    /// its fields). Default off, which costs nothing per request. Read when
    /// a connection opens: a change applies to new connections.
    pub access_log: bool,
}

impl Default for Configuration {
    fn default() -> Self {
        Configuration {
            limits: Limits::default(),
            http2: Http2Settings::default(),
            timeouts: Timeouts::default(),
            max_buffered_body_bytes: Some(256 * 1024 * 1024),
            buffered_body_wait: Duration::from_secs(1),
            access_log: false,
        }
    }
}

impl Configuration {
    /// Qt's defaults with [`Limits::strict`]: for servers facing the internet.
    pub fn strict() -> Self {
        Configuration {
            limits: Limits::strict(),
            ..Configuration::default()
        }
    }

    /// Every limit off, the buffered-body budget too (timeouts and HTTP/2
    /// guards stay on).
    pub fn disabled() -> Self {
        Configuration {
            limits: Limits::disabled(),
            max_buffered_body_bytes: None,
            ..Configuration::default()
        }
    }

    /// Turn the access log on or off (see [`access_log`](Self::access_log)).
    pub fn with_access_log(mut self, on: bool) -> Self {
        self.access_log = on;
        self
    }

    /// Replace the limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Qt's `setRateLimitPerSecond` (0 = off).
    pub fn with_rate_limit_per_second(mut self, per_second: u32) -> Self {
        self.limits.rate.per_second = per_second;
        self
    }

    /// Qt's `setKeepAliveTimeout`.
    pub fn with_keep_alive_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.keep_alive = timeout;
        self
    }

    /// Qt's `setWhitelist`.
    pub fn with_allow_list(mut self, subnets: impl IntoIterator<Item = IpNet>) -> Self {
        self.limits.ip_filter.allow = subnets.into_iter().collect();
        self
    }

    /// Qt's `setBlacklist`.
    pub fn with_deny_list(mut self, subnets: impl IntoIterator<Item = IpNet>) -> Self {
        self.limits.ip_filter.deny = subnets.into_iter().collect();
        self
    }

    /// Qt's `setMaximumConnections` (0 = off).
    pub fn with_max_connections(mut self, max: u32) -> Self {
        self.limits.connections.max_connections = max;
        self
    }

    /// Qt's `setMaximumConnectionsPerHost` (0 = off).
    pub fn with_max_connections_per_host(mut self, max: u32) -> Self {
        self.limits.connections.max_per_host = max;
        self
    }

    /// Replace the size limits (Qt's `setMaximumUrlSize`,
    /// `setMaximumTotalHeaderSize`, `setMaximumHeaderFieldSize`,
    /// `setMaximumHeaderFieldCount`, `setMaximumBodySize`).
    pub fn with_sizes(mut self, sizes: SizeLimits) -> Self {
        self.limits.sizes = sizes;
        self
    }

    /// Replace the HTTP/2 settings.
    pub fn with_http2(mut self, http2: Http2Settings) -> Self {
        self.http2 = http2;
        self
    }

    /// Replace the timeouts.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }
}
