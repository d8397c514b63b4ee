//! What an upgraded connection keeps of its server: its place in the
//! connection counts and the server's shutdown signal.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::watch;

use super::activity::{Activity, InFlight};
#[cfg(feature = "http1")]
use super::conn::Ending;
use super::conn::stopped;
use super::shared::Phase;

/// Put in the extensions of a request that may be an upgrade (by its
/// `Upgrade` field or `CONNECT` method): what the hub needs to tie an
/// accepted socket to its connection.
#[derive(Clone)]
pub(crate) struct UpgradeSource {
    activity: Arc<Activity>,
    phase: watch::Receiver<Phase>,
}

impl UpgradeSource {
    pub(crate) fn new(activity: &Arc<Activity>, phase: watch::Receiver<Phase>) -> Self {
        UpgradeSource {
            activity: Arc::clone(activity),
            phase,
        }
    }

    /// The upgrade is accepted: hold the connection from now on.
    pub(crate) fn hold(self) -> UpgradeContext {
        self.activity.upgrades.fetch_add(1, Ordering::AcqRel);
        UpgradeContext {
            _in_flight: InFlight::start(&self.activity),
            activity: self.activity,
            phase: self.phase,
        }
    }
}

/// Held by an accepted socket until it is dropped: the connection stays
/// counted (its task waits, its permit is kept) and an HTTP/2 connection is
/// not closed as idle.
pub(crate) struct UpgradeContext {
    _in_flight: InFlight,
    activity: Arc<Activity>,
    phase: watch::Receiver<Phase>,
}

impl std::fmt::Debug for UpgradeContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpgradeContext").finish_non_exhaustive()
    }
}

impl UpgradeContext {
    /// Resolves when the server starts shutting down.
    pub(crate) fn shutdown(&self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(stopped(self.phase.clone()))
    }
}

impl Drop for UpgradeContext {
    fn drop(&mut self) {
        if self.activity.upgrades.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.activity.upgrade_released.notify_one();
        }
    }
}

/// After hyper handed an HTTP/1 connection over: wait until its sockets are
/// dropped, so the connection's permit and live count last as long as they
/// do. At the shutdown deadline the connection counts as cut.
#[cfg(feature = "http1")]
pub(crate) async fn outlive(activity: &Activity, mut phase: watch::Receiver<Phase>) -> Ending {
    let mut watching = true;
    loop {
        let released = activity.upgrade_released.notified();
        if activity.upgrades.load(Ordering::Acquire) == 0 {
            return Ending::Closed;
        }
        tokio::select! {
            () = released => {}
            changed = phase.changed(), if watching => {
                if changed.is_err() {
                    watching = false;
                } else if *phase.borrow_and_update() == Phase::Closing {
                    return Ending::Cut;
                }
            }
        }
    }
}
