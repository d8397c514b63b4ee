use std::time::Duration;

use super::ConfigError;

/// Requests per second allowed from one client IP (Qt's `rateLimitPerSecond`),
/// answered with 429 Too Many Requests and `Retry-After`.
///
/// Defaults: `per_second` 0 (off, as in Qt), IPv6 clients keyed by their /64,
/// at most 100,000 clients tracked, idle clients swept every 10 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests per second per client; `0` turns rate limiting off. Default `0`.
    pub per_second: u32,
    /// IPv6 clients sharing this prefix share one budget. Default `64`.
    pub ipv6_prefix: u8,
    /// Most clients tracked at once; past it, new clients are refused with 429
    /// until the sweep frees room, so memory stays bounded. Default `100_000`.
    pub max_tracked_clients: usize,
    /// How often clients whose budget is full again are forgotten. Default 10 s.
    /// The sweep runs inside the first request after it is due; `0` sweeps on
    /// every request (for tests).
    pub sweep_interval: Duration,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_second: 0,
            ipv6_prefix: 64,
            max_tracked_clients: 100_000,
            sweep_interval: Duration::from_secs(10),
        }
    }
}

impl RateLimit {
    /// Rate limiting off.
    pub fn disabled() -> Self {
        RateLimit::default()
    }

    /// Allow `per_second` requests per second per client (`0` = off).
    pub const fn with_per_second(mut self, per_second: u32) -> Self {
        self.per_second = per_second;
        self
    }

    /// Key IPv6 clients by this prefix length (0..=128).
    pub const fn with_ipv6_prefix(mut self, prefix: u8) -> Self {
        self.ipv6_prefix = prefix;
        self
    }

    /// Cap the number of clients tracked at once.
    pub const fn with_max_tracked_clients(mut self, max: usize) -> Self {
        self.max_tracked_clients = max;
        self
    }

    /// Set how often idle clients are forgotten.
    pub const fn with_sweep_interval(mut self, every: Duration) -> Self {
        self.sweep_interval = every;
        self
    }

    /// Whether rate limiting is on.
    pub const fn is_enabled(&self) -> bool {
        self.per_second > 0
    }

    /// Check the values, saying what to fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.ipv6_prefix > 128 {
            return Err(ConfigError::InvalidIpv6Prefix {
                prefix: self.ipv6_prefix,
            });
        }
        if self.is_enabled() && self.max_tracked_clients == 0 {
            return Err(ConfigError::ZeroTrackedClients);
        }
        Ok(())
    }
}
