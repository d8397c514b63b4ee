//! State shared by every connection of one server: the service stack, the
//! live configuration, the connection limiter, and the shutdown signals.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use postern_limits::{ConnectionLimiter, LimitsLayer, LimitsService};
use tokio::sync::{Notify, watch};
use tower_layer::Layer;

use crate::{Configuration, ConnectionInfo, Error};

/// Where the server is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Running,
    /// Stop accepting; finish in-flight requests; close idle connections.
    Draining,
    /// The shutdown deadline passed: close everything now.
    Closing,
}

/// One configuration and the service stack built from it.
pub(crate) struct Snapshot<S> {
    pub(crate) generation: u64,
    pub(crate) config: Configuration,
    pub(crate) layer: LimitsLayer,
    pub(crate) service: LimitsService<S>,
}

pub(crate) struct Shared<S> {
    service: S,
    current: RwLock<Arc<Snapshot<S>>>,
    generation: AtomicU64,
    pub(crate) limiter: ConnectionLimiter,
    /// Whether requests carry a `ConnectionInfo` extension (off only for
    /// `serve_abstract`, whose handlers get it from `Request::connection`).
    pub(crate) insert_connection_info: bool,
    pub(crate) phase: watch::Sender<Phase>,
    live: AtomicUsize,
    cut: AtomicUsize,
    drained: Notify,
}

fn limits_error(error: postern_limits::config::ConfigError) -> Error {
    Error::config("invalid limits", Some(Box::new(error)))
}

impl<S: Clone> Shared<S> {
    pub(crate) fn new(
        service: S,
        config: Configuration,
        insert_connection_info: bool,
    ) -> Result<Arc<Self>, Error> {
        let layer = LimitsLayer::try_new(&config.limits)
            .map_err(limits_error)?
            .with_peer_accessor(ConnectionInfo::peer_from_extensions);
        let snapshot = Snapshot {
            generation: 0,
            service: layer.layer(service.clone()),
            layer,
            config,
        };
        Ok(Arc::new(Shared {
            limiter: ConnectionLimiter::new(snapshot.config.limits.connections),
            insert_connection_info,
            service,
            current: RwLock::new(Arc::new(snapshot)),
            generation: AtomicU64::new(0),
            phase: watch::channel(Phase::Running).0,
            live: AtomicUsize::new(0),
            cut: AtomicUsize::new(0),
            drained: Notify::new(),
        }))
    }

    /// Apply a new configuration: the next request on every connection uses
    /// it; the rate limiter keeps its state when the rate settings are equal.
    pub(crate) fn set_config(&self, config: Configuration) -> Result<(), Error> {
        // One writer at a time: read, rebuild and swap under the write lock,
        // so concurrent calls never publish the same generation twice.
        let mut current = match self.current.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let layer = current
            .layer
            .reconfigure(&config.limits)
            .map_err(limits_error)?;
        self.limiter.set_limits(config.limits.connections);
        let generation = current.generation + 1;
        *current = Arc::new(Snapshot {
            generation,
            service: layer.layer(self.service.clone()),
            layer,
            config,
        });
        self.generation.store(generation, Ordering::Release);
        Ok(())
    }
}

impl<S> Shared<S> {
    /// The configuration and stack in force (takes a read lock: call once
    /// per connection, or per request only after a reconfiguration).
    pub(crate) fn snapshot(&self) -> Arc<Snapshot<S>> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Whether `snapshot` is still the one in force (one atomic load).
    pub(crate) fn is_current(&self, snapshot: &Snapshot<S>) -> bool {
        self.generation.load(Ordering::Acquire) == snapshot.generation
    }

    pub(crate) fn live_connections(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    pub(crate) fn count_cut(&self) {
        self.cut.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn cut_connections(&self) -> usize {
        self.cut.load(Ordering::Acquire)
    }

    pub(crate) async fn wait_drained(&self) {
        loop {
            let notified = self.drained.notified();
            if self.live_connections() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Counts one live connection until dropped.
pub(crate) struct LiveGuard<S>(Arc<Shared<S>>);

impl<S> LiveGuard<S> {
    pub(crate) fn new(shared: &Arc<Shared<S>>) -> Self {
        shared.live.fetch_add(1, Ordering::AcqRel);
        LiveGuard(Arc::clone(shared))
    }
}

impl<S> Drop for LiveGuard<S> {
    fn drop(&mut self) {
        if self.0.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.drained.notify_waiters();
        }
    }
}
