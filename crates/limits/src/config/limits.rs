use std::time::Duration;

use super::{ClientIpConfig, ConfigError, ConnectionLimits, IpFilter, RateLimit, SizeLimits};

/// Every protection's configuration in one value.
///
/// Layers apply in this order: connection limits (at accept) → IP allow/deny
/// (403) → rate (429) → sizes (414, 431, 413).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Total and per-client connection caps. Default: off.
    pub connections: ConnectionLimits,
    /// IP allow/deny subnets. Default: empty.
    pub ip_filter: IpFilter,
    /// Per-client request rate. Default: off.
    pub rate: RateLimit,
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
            sizes: SizeLimits::disabled(),
            client_ip: ClientIpConfig::default(),
        }
    }

    /// For servers facing the internet: 10,000 connections, 64 per client IP,
    /// 100 requests per second per client, [`SizeLimits::strict`].
    pub fn strict() -> Self {
        Limits {
            connections: ConnectionLimits::disabled()
                .with_max_connections(10_000)
                .with_max_per_host(64),
            ip_filter: IpFilter::default(),
            rate: RateLimit::default()
                .with_per_second(100)
                .with_sweep_interval(Duration::from_secs(10)),
            sizes: SizeLimits::strict(),
            client_ip: ClientIpConfig::default(),
        }
    }

    /// Check every part, saying what to fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.connections.validate()?;
        self.rate.validate()
    }
}
