//! Per-connection activity, shared by the connection's watchdog, its IO
//! wrapper and its service. The request path only bumps relaxed atomics (no
//! clock read, no timer per request); the watchdog samples them on a tick of
//! a quarter of the shortest timeout, like Qt's keep-alive heartbeat, so a
//! timeout fires between 1 and 1.25 times its configured length.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// What the watchdog should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing to do yet.
    Wait,
    /// Idle past the keep-alive timeout: close gracefully.
    Idle,
    /// A request head has been arriving for too long: close at once.
    HeadTimeout,
}

#[derive(Debug)]
pub(crate) struct Activity {
    track_heads: bool,
    in_flight: AtomicU32,
    /// Bumped whenever a request starts or finishes.
    events: AtomicU64,
    /// Bytes arrived while no request was in flight: a head is on its way.
    head_pending: AtomicBool,
}

impl Activity {
    pub(crate) fn new(track_heads: bool) -> Arc<Activity> {
        Arc::new(Activity {
            track_heads,
            in_flight: AtomicU32::new(0),
            events: AtomicU64::new(0),
            head_pending: AtomicBool::new(false),
        })
    }

    /// Bytes arrived on the connection.
    #[inline]
    pub(crate) fn on_read(&self) {
        if self.track_heads
            && self.in_flight.load(Ordering::Relaxed) == 0
            && !self.head_pending.load(Ordering::Relaxed)
        {
            self.head_pending.store(true, Ordering::Relaxed);
        }
    }

    /// A request reached the service.
    pub(crate) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_pending.store(false, Ordering::Relaxed);
        self.events.fetch_add(1, Ordering::Relaxed);
    }

    /// A response finished (or was dropped).
    pub(crate) fn request_finished(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.events.fetch_add(1, Ordering::Relaxed);
    }
}

/// The watchdog's side: remembers what it saw at the last tick.
#[derive(Debug)]
pub(crate) struct Watch {
    keep_alive: Duration,
    request_head: Duration,
    last_events: u64,
    /// Since when the connection has been idle, as far as ticks can tell.
    idle_since: Instant,
    /// Since when a head has been arriving.
    head_since: Option<Instant>,
}

impl Watch {
    pub(crate) fn new(keep_alive: Duration, request_head: Duration) -> Watch {
        Watch {
            keep_alive,
            request_head,
            last_events: 0,
            idle_since: Instant::now(),
            head_since: None,
        }
    }

    /// Use new timeouts from the next verdict on.
    pub(crate) fn set_timeouts(&mut self, keep_alive: Duration, request_head: Duration) {
        self.keep_alive = keep_alive;
        self.request_head = request_head;
    }

    /// How often to look: a quarter of the shortest timeout (at least 1 ms).
    pub(crate) fn tick(&self) -> Duration {
        (self.keep_alive.min(self.request_head) / 4).max(Duration::from_millis(1))
    }

    pub(crate) fn verdict(&mut self, activity: &Activity) -> Verdict {
        let now = Instant::now();
        let events = activity.events.load(Ordering::Relaxed);
        if events != self.last_events || activity.in_flight.load(Ordering::Relaxed) > 0 {
            self.last_events = events;
            self.idle_since = now;
            self.head_since = None;
            return Verdict::Wait;
        }
        if activity.head_pending.load(Ordering::Relaxed) {
            let since = *self.head_since.get_or_insert(now);
            return if now.duration_since(since) >= self.request_head {
                Verdict::HeadTimeout
            } else {
                Verdict::Wait
            };
        }
        if now.duration_since(self.idle_since) >= self.keep_alive {
            Verdict::Idle
        } else {
            Verdict::Wait
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
    async fn idle_head_and_busy_verdicts() {
        let ka = Duration::from_secs(15);
        let head = Duration::from_secs(5);

        let a = Activity::new(true);
        let mut w = Watch::new(ka, head);
        assert_eq!(w.verdict(&a), Verdict::Wait);
        tokio::time::advance(Duration::from_secs(16)).await;
        assert_eq!(w.verdict(&a), Verdict::Idle);

        let a = Activity::new(true);
        let mut w = Watch::new(ka, head);
        a.on_read();
        assert_eq!(w.verdict(&a), Verdict::Wait);
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(w.verdict(&a), Verdict::HeadTimeout);

        let a = Activity::new(true);
        let mut w = Watch::new(ka, head);
        let guard = InFlight::start(&a);
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(w.verdict(&a), Verdict::Wait);
        drop(guard);
        assert_eq!(w.verdict(&a), Verdict::Wait);
        tokio::time::advance(Duration::from_secs(14)).await;
        assert_eq!(w.verdict(&a), Verdict::Wait);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(w.verdict(&a), Verdict::Idle);
    }

    #[tokio::test(start_paused = true)]
    async fn http2_does_not_track_heads() {
        let a = Activity::new(false);
        let mut w = Watch::new(Duration::from_secs(15), Duration::from_secs(5));
        a.on_read();
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(w.verdict(&a), Verdict::Wait);
    }

    #[test]
    fn tick_is_a_quarter_of_the_shortest_timeout() {
        let w = Watch::new(Duration::from_secs(15), Duration::from_secs(10));
        assert_eq!(w.tick(), Duration::from_millis(2500));
    }
}
