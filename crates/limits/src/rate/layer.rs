use std::sync::Arc;

use tower_layer::Layer;

use super::{ClientRateLimiter, RateLimitService};
use crate::client_ip::ClientIpResolver;
use crate::config::{ConfigError, RateLimit};

/// Applies a per-client request rate to every request: 429 with `Retry-After`.
///
/// Cheap to clone (one `Arc`); every clone and every service it makes share one
/// [`ClientRateLimiter`]. See the [module docs](crate::rate).
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    pub(super) shared: Arc<Shared>,
}

#[derive(Debug, Clone)]
pub(super) struct Shared {
    /// `None` when `per_second == 0`: pass through without resolving.
    pub(super) limiter: Option<ClientRateLimiter>,
    pub(super) resolver: ClientIpResolver,
}

impl RateLimitLayer {
    /// Limit with `config`, finding the client with the default
    /// [`ClientIpResolver`].
    ///
    /// # Panics
    ///
    /// If `config.validate()` fails; see [`try_new`](Self::try_new).
    pub fn new(config: RateLimit) -> Self {
        RateLimitLayer::from_limiter(ClientRateLimiter::new(config))
    }

    /// Limit with `config`, or say what to fix in it.
    pub fn try_new(config: RateLimit) -> Result<Self, ConfigError> {
        ClientRateLimiter::try_new(config).map(RateLimitLayer::from_limiter)
    }

    /// Limit with an existing limiter, keeping its state (to share one budget
    /// between several stacks, or across a reconfiguration).
    pub fn from_limiter(limiter: ClientRateLimiter) -> Self {
        RateLimitLayer {
            shared: Arc::new(Shared {
                limiter: limiter.is_enabled().then_some(limiter),
                resolver: ClientIpResolver::default(),
            }),
        }
    }

    /// Find the client with `resolver` (trusted proxies, a custom peer accessor).
    pub fn with_resolver(mut self, resolver: ClientIpResolver) -> Self {
        Arc::make_mut(&mut self.shared).resolver = resolver;
        self
    }

    /// The shared limiter, or `None` when rate limiting is off.
    pub fn limiter(&self) -> Option<&ClientRateLimiter> {
        self.shared.limiter.as_ref()
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}
