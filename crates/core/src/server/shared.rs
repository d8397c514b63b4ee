//! State shared by every connection of one server: the live configuration
//! and its limits layer, the connection limiter, the shutdown signals and
//! the counters; and the make-service that builds each connection's stack.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use http::HeaderValue;
use postern_limits::connections::ConnectionLimiter;
use postern_limits::stack::{LimitsLayer, LimitsService};
use tokio::sync::{Notify, watch};
use tower_layer::Layer;

use super::make::MakeConnService;
use crate::body::BodyBudget;
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

/// One configuration and the limits layer built from it.
pub(crate) struct Snapshot {
    pub(crate) generation: u64,
    pub(crate) config: Configuration,
    pub(crate) layer: LimitsLayer,
    /// `keep-alive: timeout=N` for HTTP/1.1 responses on connections that
    /// stay open, N the keep-alive timeout in whole seconds (as Qt sends).
    pub(crate) keep_alive_header: HeaderValue,
}

impl Snapshot {
    fn new(generation: u64, config: Configuration, layer: LimitsLayer) -> Snapshot {
        let seconds = config.timeouts.keep_alive.as_secs();
        let keep_alive_header = HeaderValue::from_str(&format!("timeout={seconds}"))
            .unwrap_or_else(|_| HeaderValue::from_static("timeout=0"));
        Snapshot {
            generation,
            config,
            layer,
            keep_alive_header,
        }
    }
}

/// Everything about a server that does not depend on its service type.
pub(crate) struct Core {
    current: RwLock<Arc<Snapshot>>,
    generation: AtomicU64,
    pub(crate) limiter: ConnectionLimiter,
    pub(crate) phase: watch::Sender<Phase>,
    live: AtomicUsize,
    cut: AtomicUsize,
    drained: Notify,
    /// Refusals over the connection caps being answered now (per server).
    pub(crate) pending_refusals: AtomicUsize,
    /// The listen backlog of every TCP and TLS listener.
    pub(crate) backlog: u32,
    /// Bytes held in buffered request bodies, server-wide.
    pub(crate) body_budget: Arc<BodyBudget>,
}

/// A server's core and the make-service of its connections.
pub(crate) struct Shared<M> {
    pub(crate) core: Core,
    make: M,
    /// The builder's choice on HTTP/2 extended CONNECT, if it made one.
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    extended_connect: Option<bool>,
}

fn limits_error(error: postern_limits::config::ConfigError) -> Error {
    Error::config("invalid limits", Some(Box::new(error)))
}

impl<M: MakeConnService> Shared<M> {
    pub(crate) fn new(
        make: M,
        config: Configuration,
        backlog: u32,
        extended_connect: Option<bool>,
    ) -> Result<Arc<Self>, Error> {
        let layer = LimitsLayer::try_new(&config.limits).map_err(limits_error)?;
        let body_budget =
            BodyBudget::new(config.max_buffered_body_bytes, config.buffered_body_wait);
        let snapshot = Snapshot::new(0, config, layer);
        Ok(Arc::new(Shared {
            core: Core {
                limiter: ConnectionLimiter::new(snapshot.config.limits.connections),
                current: RwLock::new(Arc::new(snapshot)),
                generation: AtomicU64::new(0),
                phase: watch::channel(Phase::Running).0,
                live: AtomicUsize::new(0),
                cut: AtomicUsize::new(0),
                drained: Notify::new(),
                pending_refusals: AtomicUsize::new(0),
                backlog,
                body_budget,
            },
            make,
            extended_connect,
        }))
    }

    /// Whether HTTP/2 connections offer extended `CONNECT` now.
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    pub(crate) fn websocket_over_http2(&self) -> bool {
        self.extended_connect
            .unwrap_or_else(|| self.make.websocket_over_http2())
    }

    /// The service stack of one connection under `snapshot`'s limits: the
    /// limits know the connection's client address, the service its facts.
    pub(crate) fn stack(
        &self,
        snapshot: &Snapshot,
        info: &ConnectionInfo,
    ) -> LimitsService<M::Service> {
        let service = self.make.for_connection(info);
        match info.client_addr() {
            Some(peer) => snapshot.layer.layer_for_peer(service, peer),
            // Only a hand-built connection has no address; the limits then
            // look for one in the request (and answer 500 without one).
            None => snapshot.layer.layer(service),
        }
    }
}

impl Core {
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
        self.body_budget
            .set(config.max_buffered_body_bytes, config.buffered_body_wait);
        let generation = current.generation + 1;
        *current = Arc::new(Snapshot::new(generation, config, layer));
        self.generation.store(generation, Ordering::Release);
        Ok(())
    }

    /// The configuration and limits in force (takes a read lock: call once
    /// per connection, or per request only after a reconfiguration).
    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Whether `snapshot` is still the one in force (one atomic load).
    pub(crate) fn is_current(&self, snapshot: &Snapshot) -> bool {
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
pub(crate) struct LiveGuard<M>(Arc<Shared<M>>);

impl<M> LiveGuard<M> {
    pub(crate) fn new(shared: &Arc<Shared<M>>) -> Self {
        shared.core.live.fetch_add(1, Ordering::AcqRel);
        LiveGuard(Arc::clone(shared))
    }

    /// The server this connection belongs to.
    pub(crate) fn shared(&self) -> &Shared<M> {
        &self.0
    }
}

impl<M> Drop for LiveGuard<M> {
    fn drop(&mut self) {
        let core = &self.0.core;
        if core.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            core.drained.notify_waiters();
        }
    }
}
