use std::time::Duration;

use super::{ClientIpConfig, ConfigError, ConnectionLimits, IpFilter, RateLimit, SizeLimits};

/// Every protection's configuration in one value.
///
/// Layers apply in this order: connection limits (at accept) → IP allow/deny
/// (403) → rate (429) → sizes (414, 431, 413).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Total and per-host (peer address) connection caps. Default: off.
    pub connections: ConnectionLimits,
    /// IP allow/deny subnets. Default: empty. Setting any needs the
    /// `ip-filter` cargo feature (on by default); without it
    /// [`validate`](Self::validate) says so.
    pub ip_filter: IpFilter,
    /// Per-client request rate. Default: off. Turning it on needs the `rate`
    /// cargo feature (on by default); without it [`validate`](Self::validate)
    /// says so.
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
            sizes: SizeLimits::strict(),
            client_ip: ClientIpConfig::default(),
        }
    }

    /// Check every part, saying what to fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.connections.validate()?;
        self.features_built(cfg!(feature = "rate"), cfg!(feature = "ip-filter"))?;
        self.rate.validate()
    }

    /// Refuse a limit that is set while its feature is left out of the build.
    fn features_built(&self, rate: bool, ip_filter: bool) -> Result<(), ConfigError> {
        if !rate && self.rate.is_enabled() {
            return Err(ConfigError::FeatureOff {
                setting: "rate",
                feature: "rate",
            });
        }
        if !ip_filter && self.ip_filter.is_enabled() {
            return Err(ConfigError::FeatureOff {
                setting: "ip_filter",
                feature: "ip-filter",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_subnet;

    #[test]
    fn a_limit_set_without_its_feature_is_refused() {
        let rate = Limits {
            rate: RateLimit::default().with_per_second(5),
            ..Limits::default()
        };
        let filter = Limits {
            ip_filter: IpFilter::default().with_deny([parse_subnet("192.0.2.0/24").unwrap()]),
            ..Limits::default()
        };
        let rate_error = ConfigError::FeatureOff {
            setting: "rate",
            feature: "rate",
        };
        let rate_off = Err(rate_error.clone());
        let filter_off = Err(ConfigError::FeatureOff {
            setting: "ip_filter",
            feature: "ip-filter",
        });
        let cases = [
            (&Limits::default(), false, false, Ok(())),
            (&rate, true, false, Ok(())),
            (&rate, false, true, rate_off.clone()),
            (&filter, false, true, Ok(())),
            (&filter, true, false, filter_off),
        ];
        for (limits, rate_built, filter_built, expected) in cases {
            assert_eq!(
                limits.features_built(rate_built, filter_built),
                expected,
                "{limits:?} rate {rate_built} filter {filter_built}"
            );
        }
        assert_eq!(
            rate_error.to_string(),
            "the rate limit is set but this build has no `rate` feature: turn the feature on \
             (postern-limits, or postern's feature of that name) or leave rate at its default"
        );
    }
}
