/// Caps on open connections (Qt's `maximumConnections` and
/// `maximumConnectionsPerHost`). Connections are counted, not requests.
///
/// `0` means no limit, as in Qt. Default: both `0`; IPv6 hosts keyed by /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionLimits {
    /// Most connections open at once over all clients. Default `0` (off).
    pub max_connections: u32,
    /// Most connections open at once from one client host. Default `0` (off).
    ///
    /// The host is the connection's **peer address** (IPv6 by
    /// [`ipv6_prefix`](Self::ipv6_prefix)), never the forwarded client
    /// address: connections are counted at accept time, before any request
    /// header exists. Behind a reverse proxy every client therefore shares the
    /// proxy's budget ([`Limits::strict`](super::Limits::strict)'s 64 caps the
    /// whole proxy at 64 connections), so leave this at `0` there and rely on
    /// the [rate limit](super::RateLimit), which does use the client IP
    /// resolved through [`ClientIpConfig::trusted_proxies`](super::ClientIpConfig::trusted_proxies).
    pub max_per_host: u32,
    /// IPv6 clients sharing this prefix count as one host for `max_per_host`,
    /// so one client cannot open connections from each of its 2^64 addresses.
    /// IPv4 (and IPv4-mapped IPv6) hosts are whole addresses. Default `64`.
    pub ipv6_prefix: u8,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits::disabled()
    }
}

impl ConnectionLimits {
    /// No connection caps.
    pub const fn disabled() -> Self {
        ConnectionLimits {
            max_connections: 0,
            max_per_host: 0,
            ipv6_prefix: 64,
        }
    }

    /// Set the total cap (`0` = off).
    pub const fn with_max_connections(mut self, max: u32) -> Self {
        self.max_connections = max;
        self
    }

    /// Set the per-host cap (`0` = off); the host is the peer address, so
    /// keep it off behind a reverse proxy (see [`max_per_host`](Self::max_per_host)).
    pub const fn with_max_per_host(mut self, max: u32) -> Self {
        self.max_per_host = max;
        self
    }

    /// Key IPv6 hosts by this prefix length (0..=128) for the per-host cap.
    pub const fn with_ipv6_prefix(mut self, prefix: u8) -> Self {
        self.ipv6_prefix = prefix;
        self
    }

    /// Whether either cap is on.
    pub const fn is_enabled(&self) -> bool {
        self.max_connections > 0 || self.max_per_host > 0
    }

    /// Check the values, saying what to fix.
    pub fn validate(&self) -> Result<(), super::ConfigError> {
        if self.ipv6_prefix > 128 {
            return Err(super::ConfigError::InvalidIpv6Prefix {
                prefix: self.ipv6_prefix,
            });
        }
        Ok(())
    }
}
