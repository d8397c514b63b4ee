//! Per-connection activity, shared by the connection's watchdog, its IO
//! wrapper and its service: what keeps keep-alive idle and request-head
//! timeouts exact without a timer per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

const NONE: u64 = u64::MAX;

/// What the watchdog should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing yet; look again at this instant.
    WaitUntil(Instant),
    /// Idle past the keep-alive timeout: close gracefully.
    Idle,
    /// A request head has been arriving for too long: close at once.
    HeadTimeout,
}

#[derive(Debug)]
pub(crate) struct Activity {
    epoch: Instant,
    track_heads: bool,
    in_flight: AtomicU32,
    /// Milliseconds since `epoch` when the last request finished.
    idle_since: AtomicU64,
    /// Milliseconds since `epoch` when bytes of a new head first arrived.
    head_since: AtomicU64,
}

impl Activity {
    pub(crate) fn new(track_heads: bool) -> Arc<Activity> {
        Arc::new(Activity {
            epoch: Instant::now(),
            track_heads,
            in_flight: AtomicU32::new(0),
            idle_since: AtomicU64::new(0),
            head_since: AtomicU64::new(NONE),
        })
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn at(&self, ms: u64) -> Instant {
        self.epoch + Duration::from_millis(ms)
    }

    /// Bytes arrived on the connection.
    pub(crate) fn on_read(&self) {
        if self.track_heads
            && self.in_flight.load(Ordering::Relaxed) == 0
            && self.head_since.load(Ordering::Relaxed) == NONE
        {
            self.head_since.store(self.now_ms(), Ordering::Relaxed);
        }
    }

    /// A request reached the service.
    pub(crate) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_since.store(NONE, Ordering::Relaxed);
    }

    /// A response finished (or was dropped).
    pub(crate) fn request_finished(&self) {
        if self.in_flight.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.idle_since.store(self.now_ms(), Ordering::Relaxed);
        }
    }

    pub(crate) fn verdict(&self, keep_alive: Duration, request_head: Duration) -> Verdict {
        let now = Instant::now();
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return Verdict::WaitUntil(now + keep_alive);
        }
        let head_since = self.head_since.load(Ordering::Relaxed);
        if head_since != NONE {
            let deadline = self.at(head_since) + request_head;
            return if deadline <= now {
                Verdict::HeadTimeout
            } else {
                Verdict::WaitUntil(deadline)
            };
        }
        let deadline = self.at(self.idle_since.load(Ordering::Relaxed)) + keep_alive;
        if deadline <= now {
            Verdict::Idle
        } else {
            Verdict::WaitUntil(deadline)
        }
    }
}

/// Marks one request in flight until dropped (carried by the response body).
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Activity>);

impl InFlight {
    pub(crate) fn start(activity: &Arc<Activity>) -> InFlight {
        activity.request_started();
        InFlight(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_then_head_then_busy() {
        let ka = Duration::from_secs(15);
        let head = Duration::from_secs(5);
        let a = Activity::new(true);
        assert!(matches!(a.verdict(ka, head), Verdict::WaitUntil(_)));
        tokio::time::advance(Duration::from_secs(16)).await;
        assert_eq!(a.verdict(ka, head), Verdict::Idle);

        let a = Activity::new(true);
        a.on_read();
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(a.verdict(ka, head), Verdict::HeadTimeout);

        let guard = InFlight::start(&a);
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(matches!(a.verdict(ka, head), Verdict::WaitUntil(_)));
        drop(guard);
        assert!(matches!(a.verdict(ka, head), Verdict::WaitUntil(_)));
        tokio::time::advance(Duration::from_secs(15)).await;
        assert_eq!(a.verdict(ka, head), Verdict::Idle);
    }
}
