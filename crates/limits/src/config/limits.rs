use std::time::Duration;

use super::{
    ClientIpConfig, ConfigError, ConnectionLimits, IpFilter, RateLimit, RateStore, SizeLimits,
};

/// Every protection's configuration in one value.
///
/// Layers apply in this order: connection limits (at accept) → IP allow/deny
/// (403) → rate (429) → sizes (414, 431, 413).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Total and per-host (peer address) connection caps. Default: off.
    pub connections: ConnectionLimits,
    /// IP allow/deny subnets. Default: empty.
    pub ip_filter: IpFilter,
    /// Per-client request rate. Default: off.
    pub rate: RateLimit,
    /// Where the rate limit keeps client budgets. Default: in memory.
    pub rate_store: RateStore,
    /// Request size limits. Default: Qt's.
    pub sizes: SizeLimits,
    /// How the client IP is found. Default: the peer address only.
    pub client_ip: ClientIpConfig,
}

impl Limits {
    /// No limits at all.
    pub fn disabled() -> Self {
        Limits {
            connections: ConnectionLimits::disabled(),
            ip_filter: IpFilter::default(),
            rate: RateLimit::disabled(),
            rate_store: RateStore::Memory,
            sizes: SizeLimits::disabled(),
            client_ip: ClientIpConfig::default(),
        }
    }

    /// For servers facing the internet: 10,000 connections, 64 per host (peer
    /// address), 100 requests per second per client, [`SizeLimits::strict`].
    ///
    /// For clients connecting directly. Behind a reverse proxy the 64 per host
    /// would count the proxy's connections (see
    /// [`ConnectionLimits::max_per_host`]): turn it off there, set the proxy in
    /// [`client_ip`](Self::client_ip), and let the rate limit work per client:
    ///
    /// ```
    /// use postern_limits::config::{ClientIpConfig, Limits, parse_subnet};
    ///
    /// let mut limits = Limits::strict();
    /// limits.connections.max_per_host = 0;
    /// limits.client_ip =
    ///     ClientIpConfig::default().with_trusted_proxies([parse_subnet("10.0.0.0/8").unwrap()]);
    /// assert!(limits.validate().is_ok());
    /// ```
    pub fn strict() -> Self {
        Limits {
            connections: ConnectionLimits::disabled()
                .with_max_connections(10_000)
                .with_max_per_host(64),
            ip_filter: IpFilter::default(),
            rate: RateLimit::default()
                .with_per_second(100)
                .with_sweep_interval(Duration::from_secs(10)),
            rate_store: RateStore::Memory,
            sizes: SizeLimits::strict(),
            client_ip: ClientIpConfig::default(),
        }
    }

    /// Check every part, saying what to fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.connections.validate()?;
        self.rate.validate()?;
        self.rate_store.validate()
    }
}
