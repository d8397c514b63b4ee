use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::Request;
use http_body::Body;
use tower_layer::Layer;

use super::LimitsService;
use crate::client_ip::{ClientIpResolver, PeerAccessor};
use crate::config::{ConfigError, Limits};
#[cfg(feature = "rate")]
use crate::rate::ClientRateLimiter;
use crate::rejection::Rejection;
use crate::size::SizeCheck;

/// IP filter → rate → sizes from one [`Limits`], as one layer. See the
/// [module docs](crate::stack).
///
/// Cheap to clone and to build (one `Arc`); every clone and every service it
/// makes share one rate limiter.
#[derive(Debug, Clone)]
pub struct LimitsLayer {
    pub(super) shared: Arc<Shared>,
}

#[derive(Debug, Clone)]
pub(super) struct Shared {
    limits: Limits,
    filter_enabled: bool,
    /// `None` when the rate limit is off.
    #[cfg(feature = "rate")]
    rate: Option<ClientRateLimiter>,
    pub(super) size: SizeCheck,
    resolver: ClientIpResolver,
}

impl LimitsLayer {
    /// The limits of `limits` (its `connections` part excepted, which belongs
    /// to the accept loop), finding the client with
    /// [`default_peer_addr`](crate::client_ip::default_peer_addr) and `limits.client_ip`.
    ///
    /// # Panics
    ///
    /// If `limits.validate()` fails; see [`try_new`](Self::try_new).
    pub fn new(limits: &Limits) -> Self {
        match LimitsLayer::try_new(limits) {
            Ok(layer) => layer,
            Err(error) => panic!("invalid limits: {error}"),
        }
    }

    /// Like [`new`](Self::new), or what to fix in `limits`.
    pub fn try_new(limits: &Limits) -> Result<Self, ConfigError> {
        LimitsLayer::build(
            limits,
            ClientIpResolver::new(&limits.client_ip),
            #[cfg(feature = "rate")]
            None,
        )
    }

    /// Read the peer address with `accessor` (Postern's server passes one that
    /// reads its connection info; an axum app one that reads
    /// `ConnectInfo<SocketAddr>`).
    pub fn with_peer_accessor(mut self, accessor: PeerAccessor) -> Self {
        let shared = Arc::make_mut(&mut self.shared);
        shared.resolver = shared.resolver.clone().with_peer_accessor(accessor);
        self
    }

    /// A new layer for `limits`, keeping this one's peer accessor and, if
    /// `limits.rate` equals the rate configuration in force, its rate limiter
    /// with every client's spent budget. This layer is left unchanged.
    pub fn reconfigure(&self, limits: &Limits) -> Result<Self, ConfigError> {
        let resolver = ClientIpResolver::new(&limits.client_ip)
            .with_peer_accessor(self.shared.resolver.peer_accessor());
        #[cfg(feature = "rate")]
        let keep = (limits.rate == self.shared.limits.rate)
            .then(|| self.shared.rate.clone())
            .flatten();
        LimitsLayer::build(
            limits,
            resolver,
            #[cfg(feature = "rate")]
            keep,
        )
    }

    fn build(
        limits: &Limits,
        resolver: ClientIpResolver,
        #[cfg(feature = "rate")] rate: Option<ClientRateLimiter>,
    ) -> Result<Self, ConfigError> {
        limits.validate()?;
        #[cfg(feature = "rate")]
        let rate = match rate {
            Some(limiter) => Some(limiter),
            None if limits.rate.is_enabled() => Some(ClientRateLimiter::try_new(limits.rate)?),
            None => None,
        };
        Ok(LimitsLayer {
            shared: Arc::new(Shared {
                filter_enabled: limits.ip_filter.is_enabled(),
                #[cfg(feature = "rate")]
                rate,
                size: SizeCheck::new(limits.sizes),
                resolver,
                limits: limits.clone(),
            }),
        })
    }

    /// The service for one connection whose peer address is known, as a
    /// server that builds its stack per connection does: the client is
    /// resolved from `peer` (and, from a trusted proxy, the forwarding
    /// header) without consulting the peer accessor.
    pub fn layer_for_peer<S>(&self, inner: S, peer: SocketAddr) -> LimitsService<S> {
        LimitsService {
            inner,
            shared: Arc::clone(&self.shared),
            peer: Some(peer.ip()),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// The shared rate limiter, or `None` when the rate limit is off.
    #[cfg(feature = "rate")]
    pub fn rate_limiter(&self) -> Option<&ClientRateLimiter> {
        self.shared.rate.as_ref()
    }

    /// The client IP resolver in use.
    pub fn resolver(&self) -> &ClientIpResolver {
        &self.shared.resolver
    }

    /// Whether both layers count requests in the same rate limiter.
    #[cfg(feature = "rate")]
    pub fn shares_rate_limiter_with(&self, other: &LimitsLayer) -> bool {
        match (&self.shared.rate, &other.shared.rate) {
            (Some(a), Some(b)) => a.same_as(b),
            _ => false,
        }
    }
}

impl Shared {
    /// Every check, in order. `peer` is the connection's peer when the
    /// service was built for one connection; otherwise the peer accessor
    /// reads it from the request.
    #[inline]
    pub(super) fn check<B: Body>(
        &self,
        req: &Request<B>,
        peer: Option<IpAddr>,
    ) -> Result<(), Rejection> {
        #[cfg(feature = "rate")]
        let rate = self.rate.as_ref();
        #[cfg(not(feature = "rate"))]
        let rate: Option<&()> = None;
        // Validation refuses a filter set without the feature.
        let filter = cfg!(feature = "ip-filter") && self.filter_enabled;
        if filter || rate.is_some() {
            let ip = match peer {
                Some(peer) => self.resolver.client_ip(peer, req.headers()),
                None => self.resolver.resolve_for(req, "limits")?,
            };
            #[cfg(feature = "ip-filter")]
            if filter {
                crate::ip_filter::check(&self.limits.ip_filter, ip)?;
            }
            #[cfg(feature = "rate")]
            if let Some(rate) = rate {
                crate::rate::check(rate, ip)?;
            }
            #[cfg(not(any(feature = "rate", feature = "ip-filter")))]
            let _ = ip;
        }
        self.size.check(req)
    }
}

impl<S> Layer<S> for LimitsLayer {
    type Service = LimitsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LimitsService {
            inner,
            shared: Arc::clone(&self.shared),
            peer: None,
        }
    }
}
