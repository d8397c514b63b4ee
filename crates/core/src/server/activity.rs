//! Per-connection activity, shared by the connection's watchdog, its IO
//! wrapper and its service. The request path only bumps relaxed atomics (no
//! clock read, no timer per request); the watchdog samples them on a tick of
//! a quarter of the shortest timeout, like Qt's keep-alive heartbeat, so a
//! timeout fires between 1 and 1.25 times its configured length.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::Timeouts;

/// What the watchdog should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing to do yet.
    Wait,
    /// Idle past the keep-alive timeout: close gracefully.
    Idle,
    /// A request head has been arriving for too long: close at once.
    HeadTimeout,
    /// A handler has waited too long for request body bytes: close at once.
    BodyStall,
    /// The client has taken none of the response for too long: close at once.
    WriteStall,
}

#[derive(Debug)]
pub(crate) struct Activity {
    track_heads: bool,
    in_flight: AtomicU32,
    /// Bumped whenever a request starts or finishes.
    events: AtomicU64,
    /// Bytes arrived while no request was in flight: a head is on its way.
    head_pending: AtomicBool,
    /// Request body frames delivered to handlers.
    body_frames: AtomicU64,
    /// A handler is waiting for request body bytes.
    body_waiting: AtomicBool,
    /// Successful writes to the client.
    writes: AtomicU64,
    /// The last write found the client's window full.
    write_blocked: AtomicBool,
}

impl Activity {
    pub(crate) fn new(track_heads: bool) -> Arc<Activity> {
        Arc::new(Activity {
            track_heads,
            in_flight: AtomicU32::new(0),
            events: AtomicU64::new(0),
            head_pending: AtomicBool::new(false),
            body_frames: AtomicU64::new(0),
            body_waiting: AtomicBool::new(false),
            writes: AtomicU64::new(0),
            write_blocked: AtomicBool::new(false),
        })
    }

    /// A request body had no bytes for its reader (`true`), or delivered a
    /// frame (`false`).
    #[inline]
    pub(crate) fn body_polled(&self, waiting: bool) {
        if !waiting {
            self.body_frames.fetch_add(1, Ordering::Relaxed);
        }
        if self.body_waiting.load(Ordering::Relaxed) != waiting {
            self.body_waiting.store(waiting, Ordering::Relaxed);
        }
    }

    /// A request body ended or was dropped: nobody waits for it any more.
    #[inline]
    pub(crate) fn body_done(&self) {
        if self.body_waiting.load(Ordering::Relaxed) {
            self.body_waiting.store(false, Ordering::Relaxed);
        }
    }

    /// A write to the client went through (`true`) or found it full.
    #[inline]
    pub(crate) fn write_polled(&self, written: bool) {
        if written {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        if self.write_blocked.load(Ordering::Relaxed) == written {
            self.write_blocked.store(!written, Ordering::Relaxed);
        }
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
    body_idle: Duration,
    write_stall: Duration,
    last_events: u64,
    last_body_frames: u64,
    body_since: Instant,
    last_writes: u64,
    write_since: Instant,
    /// Since when the connection has been idle, as far as ticks can tell.
    idle_since: Instant,
    /// Since when a head has been arriving.
    head_since: Option<Instant>,
}

impl Watch {
    pub(crate) fn new(timeouts: &Timeouts) -> Watch {
        let now = Instant::now();
        Watch {
            keep_alive: timeouts.keep_alive,
            request_head: timeouts.request_head,
            body_idle: timeouts.body_idle,
            write_stall: timeouts.write_stall,
            last_events: 0,
            last_body_frames: 0,
            body_since: now,
            last_writes: 0,
            write_since: now,
            idle_since: now,
            head_since: None,
        }
    }

    /// Use new timeouts from the next verdict on.
    pub(crate) fn set_timeouts(&mut self, timeouts: &Timeouts) {
        self.keep_alive = timeouts.keep_alive;
        self.request_head = timeouts.request_head;
        self.body_idle = timeouts.body_idle;
        self.write_stall = timeouts.write_stall;
    }

    /// How often to look: a quarter of the shortest timeout (at least 1 ms).
    pub(crate) fn tick(&self) -> Duration {
        let shortest = self
            .keep_alive
            .min(self.request_head)
            .min(self.body_idle)
            .min(self.write_stall);
        (shortest / 4).max(Duration::from_millis(1))
    }

    /// Whether a counter stood still for `limit` while `stuck` held.
    fn stalled(
        now: Instant,
        stuck: bool,
        count: u64,
        last: &mut u64,
        since: &mut Instant,
        limit: Duration,
    ) -> bool {
        if !stuck || count != *last {
            *last = count;
            *since = now;
            return false;
        }
        now.duration_since(*since) >= limit
    }

    pub(crate) fn verdict(&mut self, activity: &Activity) -> Verdict {
        let now = Instant::now();
        if Watch::stalled(
            now,
            activity.write_blocked.load(Ordering::Relaxed),
            activity.writes.load(Ordering::Relaxed),
            &mut self.last_writes,
            &mut self.write_since,
            self.write_stall,
        ) {
            return Verdict::WriteStall;
        }
        if Watch::stalled(
            now,
            activity.body_waiting.load(Ordering::Relaxed),
            activity.body_frames.load(Ordering::Relaxed),
            &mut self.last_body_frames,
            &mut self.body_since,
            self.body_idle,
        ) {
            return Verdict::BodyStall;
        }
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

    fn timeouts(keep_alive: u64, request_head: u64) -> Timeouts {
        Timeouts {
            keep_alive: Duration::from_secs(keep_alive),
            request_head: Duration::from_secs(request_head),
            body_idle: Duration::from_secs(30),
            write_stall: Duration::from_secs(20),
            ..Timeouts::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn idle_head_and_busy_verdicts() {
        let t = timeouts(15, 5);

        let a = Activity::new(true);
        let mut w = Watch::new(&t);
        assert_eq!(w.verdict(&a), Verdict::Wait);
        tokio::time::advance(Duration::from_secs(16)).await;
        assert_eq!(w.verdict(&a), Verdict::Idle);

        let a = Activity::new(true);
        let mut w = Watch::new(&t);
        a.on_read();
        assert_eq!(w.verdict(&a), Verdict::Wait);
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(w.verdict(&a), Verdict::HeadTimeout);

        let a = Activity::new(true);
        let mut w = Watch::new(&t);
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
        let mut w = Watch::new(&timeouts(15, 5));
        a.on_read();
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(w.verdict(&a), Verdict::Wait);
    }

    #[test]
    fn tick_is_a_quarter_of_the_shortest_timeout() {
        let w = Watch::new(&timeouts(15, 10));
        assert_eq!(w.tick(), Duration::from_millis(2500));
    }

    #[tokio::test(start_paused = true)]
    async fn stalled_body_and_writes() {
        let a = Activity::new(true);
        let mut w = Watch::new(&timeouts(60, 60));
        let _busy = InFlight::start(&a);
        a.body_polled(false);
        a.body_polled(true);
        assert_eq!(w.verdict(&a), Verdict::Wait);
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(w.verdict(&a), Verdict::Wait);
        a.body_polled(false); // a frame arrived: the clock starts again at the next look
        a.body_polled(true);
        assert_eq!(w.verdict(&a), Verdict::Wait);
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(w.verdict(&a), Verdict::Wait);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(w.verdict(&a), Verdict::BodyStall);

        let a = Activity::new(true);
        let mut w = Watch::new(&timeouts(60, 60));
        a.write_polled(true);
        a.write_polled(false);
        assert_eq!(w.verdict(&a), Verdict::Wait);
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(w.verdict(&a), Verdict::WriteStall);

        let a = Activity::new(true);
        let mut w = Watch::new(&timeouts(60, 60));
        a.write_polled(false);
        assert_eq!(w.verdict(&a), Verdict::Wait);
        a.write_polled(true); // the client read: no longer blocked
        tokio::time::advance(Duration::from_secs(25)).await;
        assert_eq!(w.verdict(&a), Verdict::Wait);
    }
}
