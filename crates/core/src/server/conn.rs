//! Serving one accepted connection: protocol detection under a deadline,
//! hyper's HTTP/1 or HTTP/2 engine, and the watchdog for keep-alive idle,
//! request-head and shutdown.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

use super::access::{self, ConnAccess};
use super::activity::{Activity, Verdict, Watch};
use super::conn_service::ConnService;
use super::gate::Gate;
#[cfg(feature = "http2")]
use super::h2_exec::{H2Conn, StreamExec};
use super::make::MakeConnService;
use super::rewind::{Protocol, Rewind, sniff};
use super::shared::{Core, Phase, Shared, Snapshot};
use super::stream::Stream;
use crate::BoxError;
use crate::{Configuration, ConnectionInfo};

/// What woke [`drive`].
enum Event {
    /// hyper's connection finished.
    Ended(Result<(), hyper::Error>),
    /// The server's phase changed (`false`: its sender is gone).
    Phase(bool),
    /// The watchdog's tick.
    Tick,
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Closed by the client, a timeout, or a finished graceful shutdown.
    Closed,
    /// Cut because the shutdown deadline passed.
    Cut,
}

/// A hyper connection that can be asked to finish gracefully.
trait Graceful: Future<Output = Result<(), hyper::Error>> {
    /// The protocol the connection speaks: a constant of the type, so
    /// [`drive`]'s branches on it (the log targets) are decided when it is
    /// compiled, once per protocol, instead of both kept in each copy.
    const PROTOCOL: Protocol;

    fn start_graceful_shutdown(self: Pin<&mut Self>);
}

#[cfg(feature = "http1")]
impl<I, S> Graceful for hyper::server::conn::http1::UpgradeableConnection<I, S>
where
    S: hyper::service::HttpService<Incoming>,
    S::ResBody: 'static,
    <S::ResBody as http_body::Body>::Error: Into<BoxError>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    const PROTOCOL: Protocol = Protocol::Http1;

    fn start_graceful_shutdown(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

#[cfg(feature = "http2")]
impl<I, S, E> Graceful for hyper::server::conn::http2::Connection<I, S, E>
where
    S: hyper::service::HttpService<Incoming>,
    S::ResBody: 'static,
    <S::ResBody as http_body::Body>::Error: Into<BoxError>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, S::ResBody>,
{
    const PROTOCOL: Protocol = Protocol::Http2;

    fn start_graceful_shutdown(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

#[cfg(feature = "http2")]
impl<C: Graceful> Graceful for H2Conn<C> {
    const PROTOCOL: Protocol = C::PROTOCOL;

    fn start_graceful_shutdown(self: Pin<&mut Self>) {
        self.conn().start_graceful_shutdown();
    }
}

/// Log at `postern::http1` or `postern::http2` by the connection's protocol.
macro_rules! conn_debug {
    ($protocol:expr, $($arg:tt)+) => {
        match $protocol {
            Protocol::Http1 => tracing::debug!(target: "postern::http1", $($arg)+),
            Protocol::Http2 => tracing::debug!(target: "postern::http2", $($arg)+),
        }
    };
}

/// Resolves once the server stops running (draining or closing).
pub(crate) async fn stopped(mut phase: watch::Receiver<Phase>) {
    while *phase.borrow_and_update() == Phase::Running {
        if phase.changed().await.is_err() {
            // The server handle is gone without a shutdown: never stops.
            std::future::pending::<()>().await;
        }
    }
}

/// Serve one connection to its end. `negotiated` is the protocol TLS's ALPN
/// chose, which the connection then speaks whatever its first bytes look
/// like; without one the first bytes decide.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would store its arguments twice in every connection's task"
)]
pub(crate) fn serve_connection<M>(
    shared: Arc<Shared<M>>,
    mut io: Stream,
    info: ConnectionInfo,
    negotiated: Option<Protocol>,
) -> impl Future<Output = Ending> + Send + use<M>
where
    M: MakeConnService,
{
    // An `async` block rather than an `async fn`: the function's
    // arguments would be kept twice in the connection's task (as arguments
    // and as the locals they are moved to).
    async move {
        let snapshot = shared.core.snapshot();
        let config = &snapshot.config;
        let phase = shared.core.phase.subscribe();
        let peer = info.remote_addr();
        let sniffed = tokio::select! {
            sniffed = tokio::time::timeout(config.timeouts.first_byte, sniff(&mut io)) => sniffed,
            () = stopped(phase.clone()) => return Ending::Closed,
        };
        let (protocol, prefix, len) = match sniffed {
            Ok(Ok(Some((sniffed, prefix, len)))) => (negotiated.unwrap_or(sniffed), prefix, len),
            Ok(Ok(None)) => return Ending::Closed,
            Ok(Err(error)) => {
                tracing::debug!(target: "postern::server", ?peer, %error, "read failed before the first request");
                return Ending::Closed;
            }
            Err(_) => {
                tracing::debug!(target: "postern::server", ?peer, "no request within the first-byte timeout: closing");
                return Ending::Closed;
            }
        };
        let access = ConnAccess::new(
            Arc::clone(&shared.core.counters),
            access::log_wanted(config),
            info.client_addr().map(|addr| addr.ip()),
        );
        let activity = Activity::with_access(protocol == Protocol::Http1, access);
        // The sniffed bytes are the start of the first head.
        activity.on_read();
        let io = TokioIo::new(Rewind::new(io, prefix, len, Arc::clone(&activity)));
        let service = ConnService::new(
            Arc::clone(&shared),
            Arc::clone(&snapshot),
            info,
            Arc::clone(&activity),
        );
        match protocol {
            Protocol::Http1 => {
                #[cfg(feature = "http1")]
                {
                    // Pinned here and lent to `drive`: moved into it, the
                    // connection would be stored twice in this task.
                    let conn = std::pin::pin!(
                        http1_builder(config)
                            .serve_connection(io, service)
                            .with_upgrades()
                    );
                    #[cfg(feature = "ws")]
                    let after = phase.clone();
                    let ending = drive(conn, &activity, &shared.core, &snapshot, phase).await;
                    // Handed over to a WebSocket: the connection lives on in it.
                    #[cfg(feature = "ws")]
                    if ending == Ending::Closed {
                        return super::upgrade::outlive(&activity, after).await;
                    }
                    ending
                }
                #[cfg(not(feature = "http1"))]
                {
                    let _ = (io, service, phase);
                    tracing::debug!(target: "postern::server", ?peer, "HTTP/1 request but the http1 feature is off: closing");
                    Ending::Closed
                }
            }
            Protocol::Http2 => {
                #[cfg(feature = "http2")]
                {
                    let (exec, streams) = StreamExec::new();
                    let conn = std::pin::pin!(H2Conn::new(
                        http2_builder(config, shared.websocket_over_http2(), exec)
                            .serve_connection(io, service),
                        streams,
                    ));
                    drive(conn, &activity, &shared.core, &snapshot, phase).await
                }
                #[cfg(not(feature = "http2"))]
                {
                    let _ = (io, service, phase);
                    tracing::debug!(target: "postern::server", ?peer, "HTTP/2 preface but the http2 feature is off: closing");
                    Ending::Closed
                }
            }
        }
    }
}

#[cfg(feature = "http1")]
fn http1_builder(config: &Configuration) -> hyper::server::conn::http1::Builder {
    let bounds = postern_limits::size::HyperBounds::new(&config.limits.sizes);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        // The watchdog closes idle connections and slow heads; hyper's own
        // header timer would cost a timer entry per request on top. With it
        // off, HTTP/1 needs no timer (nor its allocation per connection).
        .header_read_timeout(None)
        .keep_alive(true)
        .half_close(false)
        // Runs of spaces between the request line's parts are accepted, as
        // Qt accepts them (RFC 9112 §3 allows it); other whitespace is not.
        .allow_multiple_spaces_in_request_line_delimiters(true)
        .max_buf_size(bounds.max_buf_size)
        .max_header_size(bounds.max_buf_size);
    // Setting any field count makes hyper allocate its header slots per
    // request, so set it only when more than hyper's stack slots are
    // allowed (Qt's default of 128 fields does cost that allocation).
    if bounds.needs_max_headers() {
        builder.max_headers(bounds.max_headers);
    }
    builder
}

#[cfg(feature = "http2")]
fn http2_builder(
    config: &Configuration,
    connect_protocol: bool,
    exec: StreamExec,
) -> hyper::server::conn::http2::Builder<StreamExec> {
    let h2 = &config.http2;
    let header_list = postern_limits::size::HyperBounds::new(&config.limits.sizes)
        .h2_max_header_list_size
        .max(h2.max_header_list_size);
    // Streams run in the connection's task (see `h2_exec`).
    let mut builder = hyper::server::conn::http2::Builder::new(exec);
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .adaptive_window(false)
        .initial_stream_window_size(h2.initial_stream_window_size)
        .initial_connection_window_size(h2.initial_connection_window_size)
        .max_frame_size(h2.max_frame_size)
        .max_concurrent_streams(h2.max_concurrent_streams)
        .max_header_list_size(header_list)
        .max_pending_accept_reset_streams(h2.max_pending_accept_reset_streams)
        .max_local_error_reset_streams(h2.max_local_error_reset_streams)
        .max_send_buf_size(h2.max_send_buf_size);
    // Offered only to servers that take WebSockets: a browser that sees the
    // setting does not fall back to HTTP/1.1 for them.
    if connect_protocol {
        builder.enable_connect_protocol();
    }
    builder
}

/// Poll the connection while watching for idleness, slow heads and shutdown.
///
/// The keep-alive and request-head timeouts follow `set_configuration` on
/// open connections too (Qt restarts its heartbeat the same way): the
/// watchdog looks for a new configuration at each tick.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would store its arguments twice in every connection's task"
)]
fn drive<'a, C: Graceful>(
    mut conn: Pin<&'a mut C>,
    activity: &'a Activity,
    shared: &'a Core,
    snapshot: &'a Arc<Snapshot>,
    mut phase: watch::Receiver<Phase>,
) -> impl Future<Output = Ending> + 'a {
    // An `async` block for the reason `serve_connection` has one.
    async move {
        let mut snapshot = Arc::clone(snapshot);
        let mut watch = Watch::new();
        let mut tick = Watch::tick(&snapshot.config.timeouts);
        // A sleep reset at each tick, in this future rather than an interval's
        // box: one allocation less per connection.
        let mut ticker = std::pin::pin!(tokio::time::sleep(tick));
        let mut graceful = false;
        let mut watching = true;
        // A GOAWAY went out for a client too slow to take its responses.
        let mut cutting = false;
        if *phase.borrow_and_update() != Phase::Running {
            graceful = true;
            conn.as_mut().start_graceful_shutdown();
        }
        // The shutdown watch and the tick are polled only when one of them
        // woke the task, not at every wake of hyper's connection.
        let gate = Gate::new();
        loop {
            let event = {
                let mut changed = std::pin::pin!(phase.changed());
                gate.arm();
                std::future::poll_fn(|cx| {
                    if let Poll::Ready(result) = conn.as_mut().poll(cx) {
                        return Poll::Ready(Event::Ended(result));
                    }
                    gate.poll_watchers(cx, |cx| {
                        if watching && let Poll::Ready(changed) = changed.as_mut().poll(cx) {
                            return Poll::Ready(Event::Phase(changed.is_ok()));
                        }
                        ticker.as_mut().poll(cx).map(|()| Event::Tick)
                    })
                })
                .await
            };
            match event {
                Event::Ended(result) => {
                    if let Err(error) = result {
                        conn_debug!(C::PROTOCOL, %error, "connection ended with an error");
                        activity.access().connection_error(&error);
                    }
                    return Ending::Closed;
                }
                Event::Phase(open) => {
                    if !open {
                        watching = false;
                        continue;
                    }
                    match *phase.borrow_and_update() {
                        Phase::Running => {}
                        Phase::Draining => {
                            if !graceful {
                                graceful = true;
                                conn.as_mut().start_graceful_shutdown();
                            }
                        }
                        Phase::Closing => return Ending::Cut,
                    }
                }
                Event::Tick => {
                    ticker.as_mut().reset(tokio::time::Instant::now() + tick);
                    if !shared.is_current(&snapshot) {
                        snapshot = shared.snapshot();
                        if Watch::tick(&snapshot.config.timeouts) != tick {
                            tick = Watch::tick(&snapshot.config.timeouts);
                            ticker.as_mut().reset(tokio::time::Instant::now() + tick);
                        }
                    }
                    if cutting {
                        return Ending::Closed;
                    }
                    match watch.verdict(activity, &snapshot.config.timeouts) {
                        Verdict::Wait => {}
                        Verdict::Idle if !graceful => {
                            conn_debug!(C::PROTOCOL, "keep-alive timeout: closing idle connection");
                            graceful = true;
                            conn.as_mut().start_graceful_shutdown();
                        }
                        // Still open a keep-alive period after GOAWAY: close.
                        Verdict::Idle => return Ending::Closed,
                        Verdict::BodyStall => {
                            conn_debug!(
                                C::PROTOCOL,
                                "no request body bytes within the body-idle timeout: failing the bodies (408)"
                            );
                            activity.cut_bodies();
                        }
                        Verdict::BodyTooSlow => {
                            conn_debug!(
                                C::PROTOCOL,
                                "request bodies slower than the minimum rate: failing them (408)"
                            );
                            activity.cut_bodies();
                        }
                        Verdict::ResponseTooSlow => {
                            conn_debug!(
                                C::PROTOCOL,
                                "the client takes responses slower than the minimum rate: closing"
                            );
                            if C::PROTOCOL == Protocol::Http1 || cutting {
                                return Ending::Closed;
                            }
                            // Tell an HTTP/2 client why with a GOAWAY; close at
                            // the next tick whatever it does.
                            cutting = true;
                            graceful = true;
                            conn.as_mut().start_graceful_shutdown();
                        }
                        Verdict::WriteStall => {
                            conn_debug!(
                                C::PROTOCOL,
                                "the client took no response bytes within the write-stall timeout: closing"
                            );
                            return Ending::Closed;
                        }
                        Verdict::HeadTimeout => {
                            conn_debug!(
                                C::PROTOCOL,
                                "request head not complete within the timeout: closing"
                            );
                            // A slowloris cut: counted with the body timeouts.
                            shared
                                .counters
                                .refused(postern_limits::RefusalReason::Timeout);
                            return Ending::Closed;
                        }
                    }
                }
            }
        }
    }
}
