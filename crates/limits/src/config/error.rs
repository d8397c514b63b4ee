use std::fmt;

/// A limit configuration that cannot be used, with what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A subnet string is not `address/prefix` or a plain address.
    InvalidSubnet {
        /// The text that failed to parse.
        input: String,
    },
    /// The IPv6 prefix used to key clients is longer than 128 bits.
    InvalidIpv6Prefix {
        /// The prefix length given.
        prefix: u8,
    },
    /// The rate limiter may track no clients at all.
    ZeroTrackedClients,
    /// A limit is set whose cargo feature this build leaves out.
    FeatureOff {
        /// The setting, such as `"rate"`.
        setting: &'static str,
        /// The `postern-limits` feature it needs, such as `"rate"`.
        feature: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidSubnet { input } => write!(
                f,
                "invalid subnet {input:?}: write an address with a prefix length, \
                 such as \"192.168.1.0/24\" or \"2001:db8::/32\", or a single address"
            ),
            ConfigError::InvalidIpv6Prefix { prefix } => write!(
                f,
                "invalid IPv6 client prefix /{prefix}: use a length from 0 to 128 (default 64)"
            ),
            ConfigError::ZeroTrackedClients => write!(
                f,
                "the rate limiter's max_tracked_clients is 0: set at least 1, or set per_second to 0 to turn rate limiting off"
            ),
            ConfigError::FeatureOff { setting, feature } => write!(
                f,
                "the {setting} limit is set but this build has no `{feature}` feature: \
                 turn the feature on (postern-limits, or postern's feature of that name) or leave {setting} at its default"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
