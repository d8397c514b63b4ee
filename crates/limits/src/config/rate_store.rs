//! Where the rate limit keeps each client's budget: in this process (the
//! default) or, with the `redis` feature, in Redis, shared by every replica.

#[cfg(feature = "redis")]
use std::time::Duration;

use super::ConfigError;

/// Where the per-client budgets of [`RateLimit`](super::RateLimit) live.
///
/// Default: [`RateStore::Memory`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateStore {
    /// In this process (governor's GCRA): decided in the request's `call`,
    /// without waiting. Each replica of a service counts on its own.
    #[default]
    Memory,
    /// In Redis, so every replica pointed at the same server shares one budget
    /// per client. Needs the `redis` cargo feature.
    #[cfg(feature = "redis")]
    Redis(RedisStore),
}

impl RateStore {
    /// Check the values, saying what to fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            RateStore::Memory => Ok(()),
            #[cfg(feature = "redis")]
            RateStore::Redis(redis) => redis.validate(),
        }
    }
}

/// What the rate limit answers when Redis cannot decide in time (down,
/// unreachable, slower than [`RedisStore::timeout`]).
///
/// Default: [`FailurePolicy::LocalFallback`] with 1 replica.
#[cfg(feature = "redis")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Admit the request: availability first, no limit while Redis is away.
    FailOpen,
    /// Refuse with **503 Service Unavailable** and `Retry-After: 1` (not 429:
    /// the client did nothing wrong, the server could not decide).
    FailClosed,
    /// Count the client in this process instead, at `per_second / replicas`
    /// (at least 1) with the same burst share, so N replicas together admit
    /// about the shared limit. Refusals are 429 as usual.
    LocalFallback {
        /// How many replicas share the limit. At least 1.
        replicas: u32,
    },
}

#[cfg(feature = "redis")]
impl Default for FailurePolicy {
    fn default() -> Self {
        FailurePolicy::LocalFallback { replicas: 1 }
    }
}

/// A rate limit shared through Redis: one GCRA decision per request, in one
/// Lua script run with `EVALSHA` on a multiplexed connection that reconnects
/// by itself.
///
/// Defaults: key prefix `postern:rate:`, timeout 50 ms, failure policy
/// [`FailurePolicy::LocalFallback`] with 1 replica.
///
/// ```
/// use std::time::Duration;
/// use postern_limits::config::{FailurePolicy, RedisStore};
///
/// let store = RedisStore::new("redis://127.0.0.1:6379/")
///     .with_key_prefix("myapp:rate:")
///     .with_timeout(Duration::from_millis(20))
///     .with_failure_policy(FailurePolicy::LocalFallback { replicas: 3 });
/// assert!(store.validate().is_ok());
/// assert!(RedisStore::new("http://nope").validate().is_err());
/// ```
#[cfg(feature = "redis")]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisStore {
    /// `redis://[user:password@]host:port[/db]`, `rediss://…` is not
    /// supported (no TLS feature), `redis+unix:///path/to/socket` or
    /// `unix:///path/to/socket`.
    pub url: String,
    /// Prefix of every key; the client key (IPv4 address or IPv6 prefix)
    /// follows it. Default `postern:rate:`.
    pub key_prefix: String,
    /// Longest a decision waits for Redis before the failure policy answers.
    /// Default 50 ms.
    pub timeout: Duration,
    /// What to answer when Redis cannot decide in time. Default
    /// [`FailurePolicy::LocalFallback`] with 1 replica.
    pub on_failure: FailurePolicy,
}

#[cfg(feature = "redis")]
impl RedisStore {
    /// The store at `url`, with the defaults.
    pub fn new(url: impl Into<String>) -> Self {
        RedisStore {
            url: url.into(),
            key_prefix: String::from("postern:rate:"),
            timeout: Duration::from_millis(50),
            on_failure: FailurePolicy::default(),
        }
    }

    /// Prefix every key with `prefix`.
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Wait at most `timeout` for a decision.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Answer with `policy` when Redis cannot decide in time.
    pub fn with_failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.on_failure = policy;
        self
    }

    /// Check the values, saying what to fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Err(error) = redis::IntoConnectionInfo::into_connection_info(self.url.as_str()) {
            // The URL may hold a password: say why, not what.
            return Err(ConfigError::InvalidRedisUrl {
                reason: error.to_string(),
            });
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::ZeroRedisTimeout);
        }
        if let FailurePolicy::LocalFallback { replicas: 0 } = self.on_failure {
            return Err(ConfigError::ZeroReplicas);
        }
        Ok(())
    }
}
