//! Per-connection activity, shared by the connection's watchdog, its IO
//! wrapper and its service. The request path only bumps relaxed atomics (no
//! clock read, no timer per request); the watchdog samples them on a tick of
//! a quarter of the shortest timeout, like Qt's keep-alive heartbeat, so a
//! timeout fires between 1 and 1.25 times its configured length.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Waker;
use std::time::Duration;

use tokio::time::Instant;

use super::access::ConnAccess;
use crate::config::{MinDataRate, Timeouts};

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
    /// Request bodies arrive slower than the minimum rate: fail them (the
    /// handlers answer 408).
    BodyTooSlow,
    /// The client takes responses slower than the minimum rate: close.
    ResponseTooSlow,
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
    /// Request body bytes delivered to handlers.
    body_bytes: AtomicU64,
    /// The HTTP/1 request in flight has a body not yet read to its end
    /// (hyper will close the connection after the response if it stays so).
    body_unread: AtomicBool,
    /// Request bodies whose handler waits for bytes now.
    bodies_waiting: AtomicU32,
    /// Bumped each time the waiting request bodies are cut for being too
    /// slow: a body made before the bump fails from its next poll on; later
    /// bodies are not affected.
    cut_epoch: AtomicU32,
    /// The bodies waiting for bytes, to wake when they are cut. Locked only
    /// when a body starts waiting or polls again without bytes (never on a
    /// request that arrives whole, nor when a wait ends): the wakers of
    /// past waits are dropped by the next body that waits alone, or, on an
    /// HTTP/2 connection whose uploads always overlap, woken and dropped
    /// once they are more than twice the bodies waiting (a live body polls
    /// and registers again). So the list stays within about twice the
    /// bodies waiting at once. A stale waker woken only polls its task once
    /// more.
    body_wakers: Mutex<Vec<Waker>>,
    /// Bytes the socket took from the connection (what the client made
    /// room for). Counted there alone: a frame hyper pulls is counted again
    /// when its bytes reach the socket, and counting both would let a
    /// reader at half the minimum response rate pass.
    response_bytes: AtomicU64,
    /// Responses whose last frame is still with hyper, waiting for the
    /// client to make room (socket or HTTP/2 window) before the next.
    responses_waiting: AtomicU32,
    /// Successful writes to the client.
    writes: AtomicU64,
    /// The last write found the client's window full.
    write_blocked: AtomicBool,
    /// The access log and counters, reached through each request's
    /// [`InFlight`] without a clone per request.
    access: ConnAccess,
    /// Accepted WebSockets of this connection not yet dropped.
    #[cfg(feature = "ws")]
    pub(crate) upgrades: AtomicU32,
    /// Told when the last of them is dropped.
    #[cfg(feature = "ws")]
    pub(crate) upgrade_released: tokio::sync::Notify,
}

impl Activity {
    #[cfg(test)]
    pub(crate) fn new(track_heads: bool) -> Arc<Activity> {
        let counters = Arc::new(super::access::Counters::default());
        Activity::with_access(track_heads, ConnAccess::new(counters, false, None))
    }

    pub(crate) fn with_access(track_heads: bool, access: ConnAccess) -> Arc<Activity> {
        Arc::new(Activity {
            track_heads,
            in_flight: AtomicU32::new(0),
            events: AtomicU64::new(0),
            head_pending: AtomicBool::new(false),
            body_frames: AtomicU64::new(0),
            body_bytes: AtomicU64::new(0),
            body_unread: AtomicBool::new(false),
            bodies_waiting: AtomicU32::new(0),
            cut_epoch: AtomicU32::new(0),
            body_wakers: Mutex::new(Vec::new()),
            response_bytes: AtomicU64::new(0),
            responses_waiting: AtomicU32::new(0),
            writes: AtomicU64::new(0),
            write_blocked: AtomicBool::new(false),
            access,
            #[cfg(feature = "ws")]
            upgrades: AtomicU32::new(0),
            #[cfg(feature = "ws")]
            upgrade_released: tokio::sync::Notify::new(),
        })
    }

    /// The connection's access log and counters.
    #[inline]
    pub(crate) fn access(&self) -> &ConnAccess {
        &self.access
    }

    /// A request body delivered a frame of `bytes` data bytes.
    #[inline]
    pub(crate) fn body_received(&self, bytes: usize) {
        self.body_frames.fetch_add(1, Ordering::Relaxed);
        self.body_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// A request body's reader starts waiting for bytes; it will be woken
    /// by `waker` if the connection's bodies are cut meanwhile. One lock.
    pub(crate) fn body_wait_started(&self, waker: &Waker) {
        self.bodies_waiting.fetch_add(1, Ordering::AcqRel);
        let mut wakers = self
            .body_wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Checked under the lock: every other body counted as waiting has
        // counted itself before it pushes its waker, so when this body is
        // the only one counted, every waker there is belongs to a past wait.
        let waiting = self.bodies_waiting.load(Ordering::Acquire) as usize;
        if waiting == 1 {
            wakers.clear();
        } else if wakers.len() >= 2 * waiting {
            // Past waits' wakers pile up when some body is always waiting:
            // wake them all (outside the lock) and keep none; the bodies
            // still waiting poll again and register anew.
            let stale = std::mem::take(&mut *wakers);
            Self::push_waker(&mut wakers, waker);
            drop(wakers);
            stale.into_iter().for_each(Waker::wake);
            return;
        }
        Self::push_waker(&mut wakers, waker);
    }

    /// A waiting body's reader is polling again without bytes.
    pub(crate) fn register_body_waker(&self, waker: &Waker) {
        let mut wakers = self
            .body_wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Self::push_waker(&mut wakers, waker);
    }

    fn push_waker(wakers: &mut Vec<Waker>, waker: &Waker) {
        if !wakers.iter().any(|known| known.will_wake(waker)) {
            wakers.push(waker.clone());
        }
    }

    /// A request body's reader got bytes, or the body ended or was dropped.
    /// No lock: its waker is forgotten when the next body waits alone.
    #[inline]
    pub(crate) fn body_wait_ended(&self) {
        self.bodies_waiting.fetch_sub(1, Ordering::AcqRel);
    }

    /// An HTTP/1 request with a body starts (`true`), or a body was read to
    /// its end (`false`).
    #[inline]
    pub(crate) fn set_body_unread(&self, unread: bool) {
        if self.body_unread.load(Ordering::Relaxed) != unread {
            self.body_unread.store(unread, Ordering::Relaxed);
        }
    }

    /// Whether the HTTP/1 request in flight still has body bytes unread.
    #[inline]
    pub(crate) fn body_unread(&self) -> bool {
        self.body_unread.load(Ordering::Relaxed)
    }

    /// The cut epoch now: a body remembers it when it is made.
    #[inline]
    pub(crate) fn cut_epoch(&self) -> u32 {
        self.cut_epoch.load(Ordering::Relaxed)
    }

    /// Whether a body made at `epoch` has been cut for being too slow.
    #[inline]
    pub(crate) fn is_cut(&self, epoch: u32) -> bool {
        self.cut_epoch.load(Ordering::Relaxed) != epoch
    }

    /// Fail every request body of the connection there is now from its next
    /// poll on, and wake the ones waiting for bytes so that they see it.
    pub(crate) fn cut_bodies(&self) {
        self.cut_epoch.fetch_add(1, Ordering::Relaxed);
        let wakers = std::mem::take(
            &mut *self
                .body_wakers
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for waker in wakers {
            waker.wake();
        }
    }

    /// A response frame went to hyper; the response now waits until hyper
    /// asks for the next.
    #[inline]
    pub(crate) fn response_handed(&self) {
        self.responses_waiting.fetch_add(1, Ordering::Relaxed);
    }

    /// hyper asked for a response's next frame (or was done with it): the
    /// response no longer waits on the client. Its bytes are counted when
    /// the socket takes them ([`Activity::write_polled`]), not here.
    #[inline]
    pub(crate) fn response_pulled(&self) {
        self.responses_waiting.fetch_sub(1, Ordering::Relaxed);
    }

    /// A write to the client took these bytes, or (`None`) found its side
    /// full. The bytes count as taken by the client for the response rate.
    #[inline]
    pub(crate) fn write_polled(&self, written: Option<usize>) {
        let blocked = written.is_none();
        if let Some(bytes) = written {
            self.writes.fetch_add(1, Ordering::Relaxed);
            self.response_bytes
                .fetch_add(bytes as u64, Ordering::Relaxed);
        }
        if self.write_blocked.load(Ordering::Relaxed) != blocked {
            self.write_blocked.store(blocked, Ordering::Relaxed);
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

/// A minimum-rate check over ticks: while `waiting` transfers are stalled
/// on the client, each owes `bytes_per_second`; after the grace the bytes
/// moved since the episode began must cover what is owed. The rate itself
/// is read from the configuration at each tick: every connection keeps its
/// watchdog state, so it is kept small.
#[derive(Debug, Default)]
struct RateCheck {
    /// Whether a wait is going on (seen at the last tick).
    active: bool,
    /// Time spent waiting in this episode (none while nothing waits).
    waited: Duration,
    /// Bytes owed in this episode, in byte-milliseconds / 1000 (saturating:
    /// its bound is some 10^16 bytes).
    owed_millibytes: u64,
    /// The byte count when the episode began.
    base: u64,
}

impl RateCheck {
    /// One tick of `elapsed` with `waiting` transfers stalled and `bytes`
    /// moved so far in all: whether `rate` is broken.
    fn too_slow(
        &mut self,
        rate: Option<MinDataRate>,
        elapsed: Duration,
        waiting: u32,
        bytes: u64,
    ) -> bool {
        let Some(rate) = rate else {
            return false;
        };
        if waiting == 0 {
            // Nothing waits on the client: the next wait starts afresh.
            self.active = false;
            return false;
        }
        if !self.active {
            // A wait began since the last tick: bytes moved before it are no
            // credit for it, and it is timed from here.
            self.active = true;
            self.waited = Duration::ZERO;
            self.owed_millibytes = 0;
            self.base = bytes;
            return false;
        }
        self.waited += elapsed;
        let millis = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        self.owed_millibytes = self.owed_millibytes.saturating_add(
            u64::from(rate.bytes_per_second)
                .saturating_mul(u64::from(waiting))
                .saturating_mul(millis),
        );
        if self.waited <= rate.grace {
            return false;
        }
        let moved = bytes.saturating_sub(self.base).saturating_mul(1000);
        moved < self.owed_millibytes
    }
}

/// The watchdog's side: remembers what it saw at the last tick. The
/// timeouts are not copied here but passed to each verdict (the
/// connection's configuration snapshot has them): this state lives in every
/// connection's task.
#[derive(Debug)]
pub(crate) struct Watch {
    last_tick: Instant,
    last_events: u64,
    last_body_frames: u64,
    body_since: Instant,
    last_writes: u64,
    write_since: Instant,
    /// Since when the connection has been idle, as far as ticks can tell.
    idle_since: Instant,
    /// Since when a head has been arriving.
    head_since: Option<Instant>,
    body_rate: RateCheck,
    response_rate: RateCheck,
}

impl Watch {
    pub(crate) fn new() -> Watch {
        let now = Instant::now();
        Watch {
            last_tick: now,
            last_events: 0,
            last_body_frames: 0,
            body_since: now,
            last_writes: 0,
            write_since: now,
            idle_since: now,
            head_since: None,
            body_rate: RateCheck::default(),
            response_rate: RateCheck::default(),
        }
    }

    /// How often to look with `timeouts`: a quarter of the shortest timeout
    /// or rate grace (at least 1 ms).
    pub(crate) fn tick(timeouts: &Timeouts) -> Duration {
        let mut shortest = timeouts
            .keep_alive
            .min(timeouts.request_head)
            .min(timeouts.body_idle)
            .min(timeouts.write_stall);
        for rate in [timeouts.min_request_body_rate, timeouts.min_response_rate]
            .into_iter()
            .flatten()
        {
            shortest = shortest.min(rate.grace);
        }
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

    /// What to do now under `timeouts` (the connection's current ones).
    pub(crate) fn verdict(&mut self, activity: &Activity, timeouts: &Timeouts) -> Verdict {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last_tick);
        self.last_tick = now;
        let write_blocked = activity.write_blocked.load(Ordering::Relaxed);
        // Responses waiting for the client: frames hyper has not come back
        // for, or else a full socket (what HTTP/2 has handed to its own
        // buffers). Not both: a response whose frame waits behind a full
        // socket is one wait, and owes the rate once.
        let responses_waiting = activity
            .responses_waiting
            .load(Ordering::Relaxed)
            .max(u32::from(write_blocked));
        if Watch::stalled(
            now,
            write_blocked,
            activity.writes.load(Ordering::Relaxed),
            &mut self.last_writes,
            &mut self.write_since,
            timeouts.write_stall,
        ) {
            return Verdict::WriteStall;
        }
        if self.response_rate.too_slow(
            timeouts.min_response_rate,
            elapsed,
            responses_waiting,
            activity.response_bytes.load(Ordering::Relaxed),
        ) {
            return Verdict::ResponseTooSlow;
        }
        let bodies_waiting = activity.bodies_waiting.load(Ordering::Relaxed);
        if Watch::stalled(
            now,
            bodies_waiting > 0,
            activity.body_frames.load(Ordering::Relaxed),
            &mut self.last_body_frames,
            &mut self.body_since,
            timeouts.body_idle,
        ) {
            return Verdict::BodyStall;
        }
        if self.body_rate.too_slow(
            timeouts.min_request_body_rate,
            elapsed,
            bodies_waiting,
            activity.body_bytes.load(Ordering::Relaxed),
        ) {
            return Verdict::BodyTooSlow;
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
            return if now.duration_since(since) >= timeouts.request_head {
                Verdict::HeadTimeout
            } else {
                Verdict::Wait
            };
        }
        if now.duration_since(self.idle_since) >= timeouts.keep_alive {
            Verdict::Idle
        } else {
            Verdict::Wait
        }
    }
}

/// Marks one request in flight until dropped (carried by the response body),
/// and whether its last frame is still waiting for the client.
#[derive(Debug)]
pub(crate) struct InFlight {
    activity: Arc<Activity>,
    /// A frame was handed to hyper, and hyper has not come back for the
    /// next.
    awaiting_client: bool,
}

impl InFlight {
    pub(crate) fn start(activity: &Arc<Activity>) -> InFlight {
        activity.request_started();
        InFlight {
            activity: Arc::clone(activity),
            awaiting_client: false,
        }
    }

    /// The connection's activity.
    pub(crate) fn activity(&self) -> &Activity {
        &self.activity
    }

    /// hyper asks for the next response frame: the last one was taken.
    #[inline]
    pub(crate) fn pulled(&mut self) {
        if std::mem::take(&mut self.awaiting_client) {
            self.activity.response_pulled();
        }
    }

    /// A response frame went to hyper.
    #[inline]
    pub(crate) fn handed(&mut self) {
        if !self.awaiting_client {
            self.awaiting_client = true;
            self.activity.response_handed();
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // hyper is done with the response; its last frame may still sit in
        // hyper's buffers or the socket, where the write stall and (through
        // a full socket) the rate still watch it.
        self.pulled();
        self.activity.request_finished();
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
            min_request_body_rate: None,
            min_response_rate: None,
            ..Timeouts::default()
        }
    }

    /// A watchdog with the timeouts it is asked under.
    struct W(Watch, Timeouts);

    impl W {
        fn new(timeouts: &Timeouts) -> W {
            W(Watch::new(), *timeouts)
        }

        fn verdict(&mut self, activity: &Activity) -> Verdict {
            self.0.verdict(activity, &self.1)
        }
    }

    /// A waker that counts its wakes.
    fn counting_waker() -> (Waker, Arc<std::sync::atomic::AtomicUsize>) {
        struct Count(Arc<std::sync::atomic::AtomicUsize>);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        (Waker::from(Arc::new(Count(Arc::clone(&count)))), count)
    }

    /// Uploads that always overlap on one connection (a body starts waiting
    /// before the previous one got its bytes, so never one waits alone) keep
    /// the waker list within twice the bodies waiting, and a body still
    /// waiting when its waker is dropped is woken to register again.
    #[test]
    fn overlapping_waits_keep_the_waker_list_bounded() {
        let a = Activity::new(false);
        let (first, first_wakes) = counting_waker();
        a.body_wait_started(&first);
        for i in 0..1_000 {
            a.body_wait_started(&counting_waker().0);
            // The previous body got its bytes; the first one never does.
            if i > 0 {
                a.body_wait_ended();
            }
            // At most three bodies wait at once here (the first, the
            // previous, the new one): twice that many wakers at most.
            let listed = a.body_wakers.lock().unwrap().len();
            assert!(listed <= 6, "{listed} wakers for at most 3 bodies waiting");
        }
        assert!(
            first_wakes.load(Ordering::SeqCst) > 0,
            "the first body, still waiting, was woken to register again"
        );
    }

    /// A body waiting for bytes, then one frame of `bytes`.
    fn body_frame(a: &Activity, bytes: usize) {
        a.body_wait_ended();
        a.body_received(bytes);
        a.body_wait_started(std::task::Waker::noop());
    }

    #[tokio::test(start_paused = true)]
    async fn idle_head_and_busy_verdicts() {
        let t = timeouts(15, 5);

        let a = Activity::new(true);
        let mut w = W::new(&t);
        assert_eq!(w.verdict(&a), Verdict::Wait);
        tokio::time::advance(Duration::from_secs(16)).await;
        assert_eq!(w.verdict(&a), Verdict::Idle);

        let a = Activity::new(true);
        let mut w = W::new(&t);
        a.on_read();
        assert_eq!(w.verdict(&a), Verdict::Wait);
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(w.verdict(&a), Verdict::HeadTimeout);

        let a = Activity::new(true);
        let mut w = W::new(&t);
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
        let mut w = W::new(&timeouts(15, 5));
        a.on_read();
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(w.verdict(&a), Verdict::Wait);
    }

    #[test]
    fn tick_is_a_quarter_of_the_shortest_timeout() {
        assert_eq!(Watch::tick(&timeouts(15, 10)), Duration::from_millis(2500));
    }

    #[tokio::test(start_paused = true)]
    async fn stalled_body_and_writes() {
        let a = Activity::new(true);
        let mut w = W::new(&timeouts(60, 60));
        let _busy = InFlight::start(&a);
        a.body_received(10);
        a.body_wait_started(std::task::Waker::noop());
        assert_eq!(w.verdict(&a), Verdict::Wait);
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(w.verdict(&a), Verdict::Wait);
        body_frame(&a, 1); // a frame arrived: the clock starts again at the next look
        assert_eq!(w.verdict(&a), Verdict::Wait);
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(w.verdict(&a), Verdict::Wait);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(w.verdict(&a), Verdict::BodyStall);

        let a = Activity::new(true);
        let mut w = W::new(&timeouts(60, 60));
        a.write_polled(Some(10));
        a.write_polled(None);
        assert_eq!(w.verdict(&a), Verdict::Wait);
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(w.verdict(&a), Verdict::WriteStall);

        let a = Activity::new(true);
        let mut w = W::new(&timeouts(60, 60));
        a.write_polled(None);
        assert_eq!(w.verdict(&a), Verdict::Wait);
        a.write_polled(Some(10)); // the client read: no longer blocked
        tokio::time::advance(Duration::from_secs(25)).await;
        assert_eq!(w.verdict(&a), Verdict::Wait);
    }

    fn rates(body: Option<MinDataRate>, response: Option<MinDataRate>) -> Timeouts {
        Timeouts {
            min_request_body_rate: body,
            min_response_rate: response,
            ..timeouts(600, 600)
        }
    }

    const RATE: MinDataRate = MinDataRate::new(100, Duration::from_secs(5));

    /// Ticks of one second, with `per_tick` body bytes arriving at each.
    async fn body_ticks(w: &mut W, a: &Activity, ticks: u32, per_tick: usize) -> Vec<Verdict> {
        let mut verdicts = Vec::new();
        for _ in 0..ticks {
            tokio::time::advance(Duration::from_secs(1)).await;
            if per_tick > 0 {
                body_frame(a, per_tick);
            }
            verdicts.push(w.verdict(a));
        }
        verdicts
    }

    #[tokio::test(start_paused = true)]
    async fn request_body_rate() {
        // At the rate: never cut.
        let a = Activity::new(true);
        let mut w = W::new(&rates(Some(RATE), None));
        a.body_wait_started(std::task::Waker::noop());
        let verdicts = body_ticks(&mut w, &a, 20, 100).await;
        assert!(verdicts.iter().all(|v| *v == Verdict::Wait), "{verdicts:?}");

        // One byte a second: cut once the 5 s grace is over (timed from
        // the first tick that sees the wait).
        let a = Activity::new(true);
        let mut w = W::new(&rates(Some(RATE), None));
        a.body_wait_started(std::task::Waker::noop());
        let verdicts = body_ticks(&mut w, &a, 7, 1).await;
        assert_eq!(verdicts[..6], [Verdict::Wait; 6]);
        assert_eq!(verdicts[6], Verdict::BodyTooSlow);

        // Two waiting bodies owe twice the rate: 150 B/s is too slow.
        let a = Activity::new(false);
        let mut w = W::new(&rates(Some(RATE), None));
        a.body_wait_started(std::task::Waker::noop());
        a.body_wait_started(std::task::Waker::noop());
        let verdicts = body_ticks(&mut w, &a, 7, 150).await;
        assert_eq!(verdicts[..6], [Verdict::Wait; 6]);
        assert_eq!(verdicts[6], Verdict::BodyTooSlow, "{verdicts:?}");

        // A fast start banks credit, as an average over the whole wait:
        // 1,000 bytes cover 10 s at 100 B/s.
        let a = Activity::new(true);
        let mut w = W::new(&rates(Some(RATE), None));
        a.body_wait_started(std::task::Waker::noop());
        assert_eq!(body_ticks(&mut w, &a, 1, 0).await, [Verdict::Wait]);
        body_frame(&a, 1000);
        let verdicts = body_ticks(&mut w, &a, 10, 0).await;
        assert_eq!(verdicts[..10], [Verdict::Wait; 10], "{verdicts:?}");
        let verdicts = body_ticks(&mut w, &a, 1, 0).await;
        assert_eq!(verdicts[0], Verdict::BodyTooSlow, "{verdicts:?}");

        // Bytes from before the wait are no credit for it.
        let a = Activity::new(true);
        let mut w = W::new(&rates(Some(RATE), None));
        a.body_received(1_000_000);
        a.body_wait_started(std::task::Waker::noop());
        let verdicts = body_ticks(&mut w, &a, 7, 0).await;
        assert_eq!(verdicts[..6], [Verdict::Wait; 6]);
        assert_eq!(verdicts[6], Verdict::BodyTooSlow, "{verdicts:?}");

        // Off: nothing but the idle timeout applies.
        let a = Activity::new(true);
        let mut w = W::new(&rates(None, None));
        a.body_wait_started(std::task::Waker::noop());
        let verdicts = body_ticks(&mut w, &a, 20, 1).await;
        assert!(verdicts.iter().all(|v| *v == Verdict::Wait), "{verdicts:?}");

        // The wakers of past waits are forgotten by the next body that
        // waits alone: none piles up, and a wait ends without the lock.
        let a = Activity::new(false);
        let wakers: Vec<_> = (0..3).map(|_| counting_waker()).collect();
        for (waker, _) in &wakers {
            a.body_wait_started(waker);
            a.body_wait_ended();
            assert_eq!(a.body_wakers.lock().unwrap().len(), 1);
        }
        // Two at once are both kept, and both woken by a cut.
        a.body_wait_started(&wakers[0].0);
        a.body_wait_started(&wakers[1].0);
        assert_eq!(a.body_wakers.lock().unwrap().len(), 2);
        a.cut_bodies();
        let woken: Vec<usize> = wakers
            .iter()
            .map(|(_, count)| count.load(Ordering::SeqCst))
            .collect();
        assert_eq!(woken, [1, 1, 0]);

        // Cutting applies to the bodies there are, not to later ones.
        let a = Activity::new(true);
        a.body_wait_started(std::task::Waker::noop());
        let epoch = a.cut_epoch();
        a.cut_bodies();
        assert!(a.is_cut(epoch));
        assert!(
            !a.is_cut(a.cut_epoch()),
            "a body made after the cut is not cut"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn response_rate() {
        // A response frame that hyper never comes back for: cut after grace.
        let a = Activity::new(false);
        let mut w = W::new(&rates(None, Some(RATE)));
        let mut in_flight = InFlight::start(&a);
        in_flight.handed();
        let mut verdicts = Vec::new();
        for _ in 0..7 {
            tokio::time::advance(Duration::from_secs(1)).await;
            verdicts.push(w.verdict(&a));
        }
        // Handed is not taken: no credit for the frame.
        assert_eq!(verdicts[..6], [Verdict::Wait; 6]);
        assert_eq!(verdicts[6], Verdict::ResponseTooSlow);

        // A client whose socket takes 100 B/s keeps up (hyper pulling the
        // frames counts nothing: the bytes count once, at the socket).
        let a = Activity::new(true);
        let mut w = W::new(&rates(None, Some(RATE)));
        let mut in_flight = InFlight::start(&a);
        in_flight.handed();
        for _ in 0..20 {
            tokio::time::advance(Duration::from_secs(1)).await;
            in_flight.pulled();
            a.write_polled(Some(100));
            in_flight.handed();
            assert_eq!(w.verdict(&a), Verdict::Wait);
        }
        drop(in_flight);

        // 99 B/s at the socket is too slow, however fast hyper pulls frames.
        let a = Activity::new(true);
        let mut w = W::new(&rates(None, Some(RATE)));
        let mut in_flight = InFlight::start(&a);
        in_flight.handed();
        let mut verdicts = Vec::new();
        for _ in 0..7 {
            tokio::time::advance(Duration::from_secs(1)).await;
            in_flight.pulled();
            a.write_polled(Some(99));
            in_flight.handed();
            verdicts.push(w.verdict(&a));
        }
        assert_eq!(verdicts[..6], [Verdict::Wait; 6]);
        assert_eq!(verdicts[6], Verdict::ResponseTooSlow, "{verdicts:?}");

        let a = Activity::new(true);
        let mut w = W::new(&rates(None, Some(RATE)));
        let mut in_flight = InFlight::start(&a);
        in_flight.handed();
        // Pulled and not handed again (the handler is slow to produce): no
        // debt accrues, however long.
        in_flight.pulled();
        for _ in 0..20 {
            tokio::time::advance(Duration::from_secs(1)).await;
            assert_eq!(w.verdict(&a), Verdict::Wait);
        }
        drop(in_flight);
        assert_eq!(a.responses_waiting.load(Ordering::Relaxed), 0);

        // Everything handed over (to HTTP/2's own buffers, say), but the
        // socket stays full: the client is not taking it either.
        let a = Activity::new(false);
        let mut w = W::new(&rates(None, Some(RATE)));
        a.write_polled(Some(1000));
        a.write_polled(None);
        let mut verdicts = Vec::new();
        for _ in 0..7 {
            tokio::time::advance(Duration::from_secs(1)).await;
            verdicts.push(w.verdict(&a));
        }
        assert_eq!(verdicts[..6], [Verdict::Wait; 6]);
        assert_eq!(verdicts[6], Verdict::ResponseTooSlow);
    }
}
