use std::sync::Arc;

use tower_layer::Layer;

use super::IpFilterService;
use crate::client_ip::ClientIpResolver;
use crate::config::IpFilter;

/// Applies an [`IpFilter`] to every request: 403 for refused clients.
///
/// Cheap to clone (one `Arc`). See the [module docs](crate::ip_filter).
#[derive(Debug, Clone)]
pub struct IpFilterLayer {
    pub(super) shared: Arc<Shared>,
}

#[derive(Debug, Clone)]
pub(super) struct Shared {
    pub(super) filter: IpFilter,
    pub(super) enabled: bool,
    pub(super) resolver: ClientIpResolver,
}

impl IpFilterLayer {
    /// Filter with `filter`, finding the client with the default
    /// [`ClientIpResolver`] (peer address only, via
    /// [`default_peer_addr`](crate::client_ip::default_peer_addr)).
    pub fn new(filter: IpFilter) -> Self {
        IpFilterLayer {
            shared: Arc::new(Shared {
                enabled: filter.is_enabled(),
                filter,
                resolver: ClientIpResolver::default(),
            }),
        }
    }

    /// Find the client with `resolver` (trusted proxies, a custom peer
    /// accessor).
    pub fn with_resolver(mut self, resolver: ClientIpResolver) -> Self {
        Arc::make_mut(&mut self.shared).resolver = resolver;
        self
    }

    /// The filter applied.
    pub fn filter(&self) -> &IpFilter {
        &self.shared.filter
    }
}

impl<S> Layer<S> for IpFilterLayer {
    type Service = IpFilterService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        IpFilterService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}
