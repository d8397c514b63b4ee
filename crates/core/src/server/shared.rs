//! State shared by every connection of one server: the service, the live
//! configuration, and the shutdown signals.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::{Notify, watch};

use crate::Configuration;

/// Where the server is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Running,
    /// Stop accepting; finish in-flight requests; close idle connections.
    Draining,
    /// The shutdown deadline passed: close everything now.
    Closing,
}

pub(crate) struct Shared<S> {
    service: S,
    config: RwLock<Arc<Configuration>>,
    pub(crate) phase: watch::Sender<Phase>,
    live: AtomicUsize,
    cut: AtomicUsize,
    drained: Notify,
}

impl<S: Clone> Shared<S> {
    pub(crate) fn new(service: S, config: Configuration) -> Arc<Self> {
        Arc::new(Shared {
            service,
            config: RwLock::new(Arc::new(config)),
            phase: watch::channel(Phase::Running).0,
            live: AtomicUsize::new(0),
            cut: AtomicUsize::new(0),
            drained: Notify::new(),
        })
    }

    /// The service for one request.
    pub(crate) fn service(&self) -> S {
        self.service.clone()
    }
}

impl<S> Shared<S> {
    pub(crate) fn config(&self) -> Arc<Configuration> {
        match self.config.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub(crate) fn set_config(&self, config: Configuration) {
        let config = Arc::new(config);
        match self.config.write() {
            Ok(mut guard) => *guard = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
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
