//! The streams of an HTTP/2 connection, run in the connection's own task so
//! that every response ready in one turn leaves in one write.
//!
//! hyper hands each HTTP/2 stream (the service's future, then the piping of
//! its response body) to an executor. Spawned on the runtime, each stream
//! that answers wakes the connection's task, which the runtime runs at once
//! (a woken task goes first), so the connection wrote each response as it
//! came: one write call per response however many streams were answered
//! together. Here [`StreamExec`] keeps the streams in a set owned by the
//! connection, and [`H2Conn`] polls hyper's connection (it reads frames and
//! accepts streams), then every stream that is ready, then the connection
//! again if the streams woke it, so that all the responses of one turn go
//! out in one flush. Nothing is put off to do so: a GOAWAY, a reset or a
//! close is written by the same poll of hyper's connection as before.
//!
//! What this changes for a service:
//!
//! - The streams of one connection share its task: they run concurrently
//!   but not in parallel on several cores. Different connections still run
//!   on any worker thread. A handler that needs a core to itself for long
//!   should spawn its work or use `spawn_blocking`, as in any async task.
//! - A handler that panics, or a response body or service future that
//!   panics while polled or dropped, resets its own stream
//!   (`RST_STREAM(CANCEL)`, as when its task panicked on the runtime); the
//!   connection and its other streams go on. (A tower service whose `call`
//!   itself panics takes the connection down, as before: hyper calls it in
//!   the connection's own poll.)
//! - Streams still running when the connection ends (the client went, or
//!   the shutdown deadline passed) are handed to a task of their own, where
//!   hyper ends them; a handler of `serve_abstract` (or the router's) still
//!   runs to completion there, as before.
//! - A stream's tunnel after an extended `CONNECT` (a WebSocket over
//!   HTTP/2) runs in a task of its own, as before.
//!
//! ```
//! use std::time::Duration;
//! use http::StatusCode;
//! use postern_core::{AbstractHttpServer, Handled, Request, Responder, Server};
//!
//! struct Hello;
//! impl AbstractHttpServer for Hello {
//!     async fn handle_request(&self, _: &Request, responder: Responder) -> Handled {
//!         // Answered in the connection's task: with other streams answered
//!         // in the same turn, this response shares their write.
//!         responder.write_with_mime("Hello", "text/plain", StatusCode::OK);
//!         Handled::Yes
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let running = Server::builder().bind_tcp("127.0.0.1:0").serve_abstract(Hello).await?;
//! running.shutdown(Duration::from_secs(1)).await;
//! # Ok(()) }
//! ```

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::task::AtomicWaker;
use pin_project_lite::pin_project;

/// Rounds of connection-then-streams in one poll before the task yields to
/// the runtime: enough for a client that keeps sending as it is answered,
/// bounded so that one busy connection (or a stream that keeps waking
/// itself) does not hold a worker thread.
const ROUNDS: usize = 4;

/// The executor hyper's HTTP/2 connection hands its streams to: it puts
/// them in the connection's set, which [`H2Conn`] polls.
///
/// hyper calls it from inside the connection's poll, in the connection's
/// task, so its lock is never contended. A future it cannot put in the set
/// (another type, such as an extended `CONNECT` tunnel; or a set already
/// being polled or given to a task of its own) is spawned on the runtime,
/// as hyper's own executor would.
#[derive(Clone)]
pub(crate) struct StreamExec {
    streams: Arc<Streams>,
}

impl StreamExec {
    /// An executor with an empty set, and the set for [`H2Conn`].
    pub(crate) fn new() -> (StreamExec, Arc<Streams>) {
        let streams = Arc::new(Streams {
            slot: Mutex::new(Slot::Empty),
            wakeup: AtomicU8::new(0),
            task: AtomicWaker::new(),
        });
        (
            StreamExec {
                streams: Arc::clone(&streams),
            },
            streams,
        )
    }
}

impl<F> hyper::rt::Executor<F> for StreamExec
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, future: F) {
        self.streams.push(future);
    }
}

/// The streams of one connection, and the waker its connection and
/// streams are polled with.
///
/// That waker wakes the connection's task only when [`H2Conn`] is not
/// polling; while it is, a wake (a stream that answered waking the
/// connection to write it, say) only asks for one more round of the same
/// poll. Woken from inside its own poll, the task would be put back on the
/// runtime's queue and another worker thread woken to take it: a system
/// call and a second poll for nothing.
pub(crate) struct Streams {
    slot: Mutex<Slot>,
    /// [`POLLING`] and [`WOKEN`].
    wakeup: AtomicU8,
    /// The connection's task.
    task: AtomicWaker,
}

/// [`H2Conn`] is polling.
const POLLING: u8 = 1;
/// Woken while [`POLLING`].
const WOKEN: u8 = 2;

impl Wake for Streams {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.wakeup.fetch_or(WOKEN, Ordering::AcqRel) & POLLING == 0 {
            self.task.wake();
        }
    }
}

enum Slot {
    /// No stream yet: the set is made by the first (its type is known only
    /// there, hyper's stream future being unnameable).
    Empty,
    Open(Box<dyn StreamSet>),
    /// The connection ended; its streams went to a task of their own.
    Detached,
}

impl Streams {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Put `future` in the set, or spawn it when it cannot go there.
    fn push<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut slot = match self.slot.try_lock() {
            Ok(slot) => slot,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            // Held by the poll of the streams: a stream handing over a
            // tunnel.
            Err(TryLockError::WouldBlock) => return spawn(future),
        };
        match &mut *slot {
            Slot::Open(set) => {
                if let Some(set) = set.as_any().downcast_mut::<Set<F>>() {
                    set.futures.push(Guarded::new(future));
                    return;
                }
            }
            Slot::Empty => {
                let set = Set {
                    futures: FuturesUnordered::new(),
                };
                set.futures.push(Guarded::new(future));
                *slot = Slot::Open(Box::new(set));
                return;
            }
            Slot::Detached => {}
        }
        drop(slot);
        spawn(future);
    }

    /// Poll the streams that are ready.
    fn poll_ready(&self, cx: &mut Context<'_>) {
        if let Slot::Open(set) = &mut *self.lock() {
            set.poll_ready(cx);
        }
    }

    /// Hand the streams still running to a task of their own.
    fn detach(&self) {
        let slot = std::mem::replace(&mut *self.lock(), Slot::Detached);
        if let Slot::Open(set) = slot {
            set.detach();
        }
    }
}

/// Run `future` in a task of its own, as hyper's own executor would.
fn spawn<F>(future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(future);
    }
}

/// A set of stream futures of one type, behind a trait so that the
/// connection can poll it without naming hyper's stream type.
trait StreamSet: Send {
    fn as_any(&mut self) -> &mut dyn Any;
    fn poll_ready(&mut self, cx: &mut Context<'_>);
    fn detach(self: Box<Self>);
}

struct Set<F> {
    futures: FuturesUnordered<Guarded<F>>,
}

impl<F> StreamSet for Set<F>
where
    F: Future<Output = ()> + Send + 'static,
{
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) {
        // Ends when no stream is ready, or when the set yields having
        // polled each once (it wakes the connection for another round:
        // a stream that always wakes itself cannot keep the task here,
        // see `ROUNDS`).
        while let Poll::Ready(Some(())) = self.futures.poll_next_unpin(cx) {}
    }

    fn detach(self: Box<Self>) {
        if self.futures.is_empty() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let mut futures = self.futures;
            runtime.spawn(async move { while futures.next().await.is_some() {} });
        }
    }
}

pin_project! {
    /// A stream future whose panic ends only that stream: dropping the
    /// future drops its half of the h2 stream, which h2 resets.
    struct Guarded<F> {
        #[pin]
        future: Option<F>,
    }
}

impl<F> Guarded<F> {
    fn new(future: F) -> Self {
        Guarded {
            future: Some(future),
        }
    }
}

impl<F: Future<Output = ()>> Future for Guarded<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut future = self.project().future;
        let Some(running) = future.as_mut().as_pin_mut() else {
            return Poll::Ready(());
        };
        match catch_unwind(AssertUnwindSafe(|| running.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) => {
                // Dropped here, under a guard too: a service future or body
                // whose drop panics ends this stream, not the connection.
                if catch_unwind(AssertUnwindSafe(|| future.set(None))).is_err() {
                    tracing::error!(
                        target: "postern::http2",
                        "a stream's future panicked when dropped: the connection goes on"
                    );
                }
                Poll::Ready(())
            }
            Err(panic) => {
                tracing::error!(
                    target: "postern::http2",
                    "a handler panicked: its stream is reset, the connection goes on"
                );
                // Dropped here, a panic in a drop contained too.
                let _ = catch_unwind(AssertUnwindSafe(move || {
                    drop(panic);
                    future.set(None);
                }));
                Poll::Ready(())
            }
        }
    }
}

pin_project! {
    /// hyper's HTTP/2 connection `C` with its streams: each poll runs the
    /// connection, then the streams that are ready, and again while either
    /// woke the other (at most [`ROUNDS`] times), so that the responses of
    /// one turn share a flush.
    pub(crate) struct H2Conn<C> {
        #[pin]
        conn: C,
        streams: Arc<Streams>,
        // `streams` as a waker.
        waker: Waker,
    }

    impl<C> PinnedDrop for H2Conn<C> {
        fn drop(this: Pin<&mut Self>) {
            this.streams.detach();
        }
    }
}

impl<C> H2Conn<C> {
    /// `conn`, built with the executor whose set is `streams`.
    pub(crate) fn new(conn: C, streams: Arc<Streams>) -> Self {
        let waker = Waker::from(Arc::clone(&streams));
        H2Conn {
            conn,
            streams,
            waker,
        }
    }

    /// hyper's connection.
    pub(crate) fn conn(self: Pin<&mut Self>) -> Pin<&mut C> {
        self.project().conn
    }
}

impl<C: Future> Future for H2Conn<C> {
    type Output = C::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        let mut this = self.project();
        let streams = &**this.streams;
        streams.task.register(cx.waker());
        streams.wakeup.store(POLLING, Ordering::Release);
        let mut inner = Context::from_waker(this.waker);
        for _ in 0..ROUNDS {
            if let Poll::Ready(ended) = this.conn.as_mut().poll(&mut inner) {
                streams.wakeup.store(0, Ordering::Release);
                streams.detach();
                return Poll::Ready(ended);
            }
            // Streams that answered wake the connection to write their
            // frames: all in the next round, in one flush.
            streams.poll_ready(&mut inner);
            if streams
                .wakeup
                .compare_exchange(POLLING, 0, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return Poll::Pending;
            }
            streams.wakeup.store(POLLING, Ordering::Release);
        }
        streams.wakeup.store(0, Ordering::Release);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::io;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use bytes::Bytes;
    use http_body_util::Full;
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};

    use super::*;

    /// The server's end of a pipe, counting its write calls.
    struct Counted {
        io: DuplexStream,
        writes: Arc<AtomicUsize>,
    }

    impl AsyncRead for Counted {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.io).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for Counted {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            Pin::new(&mut self.io).poll_write(cx, buf)
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
        }

        fn is_write_vectored(&self) -> bool {
            self.io.is_write_vectored()
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.io).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.io).poll_shutdown(cx)
        }
    }

    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    const DATA: u8 = 0x0;
    const HEADERS: u8 = 0x1;
    const SETTINGS: u8 = 0x4;
    const PING: u8 = 0x6;
    const END_STREAM: u8 = 0x1;
    const ACK: u8 = 0x1;
    const END_HEADERS: u8 = 0x4;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(payload.len()).expect("a small frame");
        let mut out = len.to_be_bytes()[1..].to_vec();
        out.extend([kind, flags]);
        out.extend(stream.to_be_bytes());
        out.extend(payload);
        out
    }

    /// Read frames (kind, flags, stream) until `done` says so.
    async fn frames_until(
        client: &mut DuplexStream,
        seen: &mut Vec<(u8, u8, u32)>,
        done: impl Fn(&[(u8, u8, u32)]) -> bool,
    ) {
        let mut buf = Vec::new();
        while !done(seen) {
            let mut chunk = [0u8; 4096];
            let n = client.read(&mut chunk).await.expect("read");
            assert_ne!(n, 0, "the server closed, after {seen:?}");
            buf.extend_from_slice(&chunk[..n]);
            while buf.len() >= 9 {
                let len =
                    usize::from(buf[0]) << 16 | usize::from(buf[1]) << 8 | usize::from(buf[2]);
                if buf.len() < 9 + len {
                    break;
                }
                let stream = u32::from_be_bytes([buf[5], buf[6], buf[7], buf[8]]) & 0x7fff_ffff;
                seen.push((buf[3], buf[4], stream));
                buf.drain(..9 + len);
            }
        }
    }

    /// Sixteen requests read in one go are answered in one write: their
    /// streams run before the connection flushes. (On the multi-thread
    /// runtime, where a task woken by the running one runs next: spawned
    /// there, each stream would get the connection written for it alone.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn the_responses_of_one_read_leave_in_one_write() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let writes = Arc::new(AtomicUsize::new(0));
        let io = TokioIo::new(Counted {
            io: server,
            writes: Arc::clone(&writes),
        });
        let (exec, streams) = StreamExec::new();
        let service = hyper::service::service_fn(|_| async {
            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(b"hi"))))
        });
        let conn = hyper::server::conn::http2::Builder::new(exec).serve_connection(io, service);
        let served = tokio::spawn(H2Conn::new(conn, streams));

        let mut hello = PREFACE.to_vec();
        hello.extend(frame(SETTINGS, 0, 0, &[]));
        client.write_all(&hello).await.expect("write");
        let mut seen = Vec::new();
        frames_until(&mut client, &mut seen, |seen| {
            seen.contains(&(SETTINGS, 0, 0)) && seen.contains(&(SETTINGS, ACK, 0))
        })
        .await;
        // A PING after the SETTINGS ACK: once its ACK is back, the server
        // has written all it had to say before the requests.
        let mut ack_and_ping = frame(SETTINGS, ACK, 0, &[]);
        ack_and_ping.extend(frame(PING, 0, 0, &[0; 8]));
        client.write_all(&ack_and_ping).await.expect("write");
        frames_until(&mut client, &mut seen, |seen| {
            seen.contains(&(PING, ACK, 0))
        })
        .await;

        writes.store(0, Ordering::SeqCst);
        seen.clear();
        let mut requests = Vec::new();
        for i in 0..16 {
            // GET http /: indexed fields of the static table.
            let block = [0x82, 0x86, 0x84];
            requests.extend(frame(HEADERS, END_HEADERS | END_STREAM, 1 + 2 * i, &block));
        }
        client.write_all(&requests).await.expect("write");
        frames_until(&mut client, &mut seen, |seen| {
            seen.iter()
                .filter(|&&(kind, flags, _)| kind == DATA && flags & END_STREAM != 0)
                .count()
                == 16
        })
        .await;
        assert_eq!(
            seen.iter().filter(|&&(kind, ..)| kind == HEADERS).count(),
            16
        );
        assert_eq!(writes.load(Ordering::SeqCst), 1, "{seen:?}");
        drop(client);
        served.await.expect("served").expect("a clean end");
    }

    /// A stream future as hyper hands it over.
    type Boxed = Pin<Box<dyn Future<Output = ()> + Send>>;

    /// A flag a stream sets when it finishes, and the stream's copy of it.
    fn finish_flag() -> (Arc<AtomicBool>, Arc<AtomicBool>) {
        let finished = Arc::new(AtomicBool::new(false));
        (Arc::clone(&finished), finished)
    }

    /// One poll of `conn` with a waker that does nothing.
    fn poll_once<F: Future>(conn: Pin<&mut F>) -> Poll<F::Output> {
        conn.poll(&mut Context::from_waker(std::task::Waker::noop()))
    }

    /// A future that is done at once and panics when dropped.
    struct PanicsWhenDropped;

    impl Future for PanicsWhenDropped {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            Poll::Ready(())
        }
    }

    impl Drop for PanicsWhenDropped {
        fn drop(&mut self) {
            panic!("a stream future's drop panics");
        }
    }

    /// A finished stream whose drop panics ends only itself: the
    /// connection's poll does not unwind, and the stream beside it runs.
    #[tokio::test]
    async fn a_stream_whose_drop_panics_ends_only_itself() {
        let (exec, streams) = StreamExec::new();
        let (finished, done) = finish_flag();
        let panicking: Boxed = Box::pin(PanicsWhenDropped);
        let beside: Boxed = Box::pin(async move { done.store(true, Ordering::SeqCst) });
        hyper::rt::Executor::execute(&exec, panicking);
        hyper::rt::Executor::execute(&exec, beside);
        let mut conn = Box::pin(H2Conn::new(std::future::pending::<()>(), streams));
        assert!(poll_once(conn.as_mut()).is_pending());
        assert!(finished.load(Ordering::SeqCst));
    }

    /// A stream still running when the connection is dropped goes on in a
    /// task of its own.
    #[tokio::test]
    async fn streams_outlive_a_dropped_connection() {
        let (exec, streams) = StreamExec::new();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (finished, done) = finish_flag();
        hyper::rt::Executor::execute(&exec, async move {
            let _ = rx.await;
            done.store(true, Ordering::SeqCst);
        });
        let mut conn = Box::pin(H2Conn::new(std::future::pending::<()>(), streams));
        assert!(poll_once(conn.as_mut()).is_pending());
        drop(conn);
        tx.send(()).expect("the stream is alive");
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
        assert!(finished.load(Ordering::SeqCst));
    }

    /// A future handed over while the streams are being polled (a stream
    /// starting a tunnel) runs in a task of its own instead of waiting for
    /// the lock its caller holds.
    #[tokio::test]
    async fn a_future_handed_over_by_a_stream_runs_on_the_runtime() {
        let (exec, streams) = StreamExec::new();
        let (finished, done) = finish_flag();
        let inner = exec.clone();
        let outer: Boxed = Box::pin(async move {
            let tunnel: Boxed = Box::pin(async move { done.store(true, Ordering::SeqCst) });
            hyper::rt::Executor::execute(&inner, tunnel);
        });
        hyper::rt::Executor::execute(&exec, outer);
        let mut conn = Box::pin(H2Conn::new(std::future::pending::<()>(), streams));
        assert!(poll_once(conn.as_mut()).is_pending());
        assert!(!finished.load(Ordering::SeqCst), "not run in place");
        tokio::task::yield_now().await;
        assert!(finished.load(Ordering::SeqCst));
    }
}
