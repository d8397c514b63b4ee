//! [`WebSocket`]: one accepted socket, a message `Stream` and `Sink` with
//! the server's deadlines built in.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_sink::Sink;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::time::{Instant, Sleep};
use tokio_websockets::WebSocketStream;

use super::error::{Kind, WebSocketError};
use super::{CloseCode, Message, WebSocketConfig};
use crate::server::UpgradeContext;

type Engine = WebSocketStream<TokioIo<Upgraded>>;
type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An accepted WebSocket: receive with [`recv`](Self::recv) (or as a
/// `futures_core::Stream`), send with [`send`](Self::send) (or as a
/// `futures_sink::Sink`), end with [`close`](Self::close).
///
/// The socket answers pings and close frames by itself. Reading drives its
/// timers, so keep a `recv` going while the socket is open:
/// - after [`ping_interval`](WebSocketConfig::ping_interval) without a frame
///   from the client it sends a ping, and after
///   [`idle_timeout`](WebSocketConfig::idle_timeout) it closes with 1001;
/// - a message over [`max_message_size`](WebSocketConfig::max_message_size)
///   is answered with close 1009 and an error;
/// - when the server shuts down it sends close 1001 ("going away") and
///   `recv` ends once the client answers (or after
///   [`close_timeout`](WebSocketConfig::close_timeout));
/// - `send` waits while more than
///   [`max_buffered_outgoing`](WebSocketConfig::max_buffered_outgoing) bytes
///   are queued and fails after
///   [`write_timeout`](WebSocketConfig::write_timeout) without progress.
///
/// The socket counts against the server's connection caps until it is
/// dropped.
///
/// ```no_run
/// # async fn echo(mut socket: postern_core::websocket::WebSocket) {
/// while let Some(Ok(message)) = socket.recv().await {
///     if message.is_data() && socket.send(message).await.is_err() {
///         break;
///     }
/// }
/// # }
/// ```
pub struct WebSocket {
    engine: Engine,
    /// The ping and idle timer; after a close frame went out, the close
    /// deadline.
    timer: Pin<Box<Sleep>>,
    /// The write deadline, armed while bytes wait for the client.
    write_timer: Pin<Box<Sleep>>,
    /// Resolves when the server starts shutting down.
    shutdown: Option<Shutdown>,
    ping_interval: Duration,
    idle_timeout: Duration,
    write_timeout: Duration,
    close_timeout: Duration,
    /// Time since the last frame from the client, as the ping ticks see it.
    idle_for: Duration,
    /// A frame came since the last tick.
    received: bool,
    write_armed: bool,
    /// A close frame of the server's own went out.
    closing: bool,
    /// The stream ended: nothing more is read.
    done: bool,
    /// Keeps the connection counted (caps, live connections) until dropped.
    _context: Option<UpgradeContext>,
}

impl fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("closing", &self.closing)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl WebSocket {
    pub(crate) fn new(
        io: Upgraded,
        config: &WebSocketConfig,
        context: Option<UpgradeContext>,
    ) -> WebSocket {
        let engine = tokio_websockets::ServerBuilder::new()
            .config(
                tokio_websockets::Config::default()
                    .frame_size(config.frame_size.max(1))
                    .flush_threshold(config.max_buffered_outgoing),
            )
            .limits(
                tokio_websockets::Limits::default().max_payload_len(Some(config.max_message_size)),
            )
            .serve(TokioIo::new(io));
        let shutdown = context.as_ref().map(UpgradeContext::shutdown);
        let now = Instant::now();
        WebSocket {
            engine,
            timer: Box::pin(tokio::time::sleep_until(now + config.ping_interval)),
            write_timer: Box::pin(tokio::time::sleep_until(now + config.write_timeout)),
            shutdown,
            ping_interval: config.ping_interval,
            idle_timeout: config.idle_timeout,
            write_timeout: config.write_timeout,
            close_timeout: config.close_timeout,
            idle_for: Duration::ZERO,
            received: false,
            write_armed: false,
            closing: false,
            done: false,
            _context: context,
        }
    }

    /// The next message, `None` once the socket is closed (by either side,
    /// a deadline, or the server's shutdown). After an error the socket is
    /// closing: the next call returns `None`.
    pub async fn recv(&mut self) -> Option<Result<Message, WebSocketError>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Send `message` and flush it, waiting while the client is too slow to
    /// take what is already queued.
    pub async fn send(&mut self, message: Message) -> Result<(), WebSocketError> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_ready(cx)).await?;
        Pin::new(&mut *self).start_send(message)?;
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }

    /// Send a ping with `payload` (at most 125 bytes).
    pub async fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), WebSocketError> {
        self.send(Message::ping(payload)).await
    }

    /// Close with `code` and `reason`: send the close frame, then read (and
    /// drop) what the client still sends until it answers, at most
    /// [`close_timeout`](WebSocketConfig::close_timeout).
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), WebSocketError> {
        if !self.closing && !self.done {
            self.start_close(code, reason);
        }
        while let Some(item) = self.recv().await {
            if let Err(error) = item
                && error.is_timeout()
            {
                return Err(error);
            }
        }
        Ok(())
    }

    /// Whether the socket has ended (nothing more will be received).
    pub fn is_closed(&self) -> bool {
        self.done
    }

    /// Queue a close frame of the server's own and start the close deadline.
    fn start_close(&mut self, code: CloseCode, reason: &str) {
        // Refused only when the client closed first: its close was answered.
        let _ = Pin::new(&mut self.engine).start_send(Message::close(code, reason).0);
        self.closing = true;
        self.timer
            .as_mut()
            .reset(Instant::now() + self.close_timeout);
    }

    /// A write's poll, under the write deadline.
    fn guard_write(
        &mut self,
        poll: Poll<Result<(), tokio_websockets::Error>>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), WebSocketError>> {
        match poll {
            Poll::Ready(result) => {
                self.write_armed = false;
                if result.is_err() {
                    self.done = true;
                }
                Poll::Ready(result.map_err(WebSocketError::from_engine))
            }
            Poll::Pending => {
                if !self.write_armed {
                    self.write_armed = true;
                    self.write_timer
                        .as_mut()
                        .reset(Instant::now() + self.write_timeout);
                }
                if self.write_timer.as_mut().poll(cx).is_ready() {
                    tracing::debug!(target: "postern::websocket", "client took no bytes within the write timeout: dropping the socket");
                    self.done = true;
                    return Poll::Ready(Err(WebSocketError::new(Kind::TimedOut)));
                }
                Poll::Pending
            }
        }
    }

    /// The ping timer fired (or the close deadline, when closing).
    fn on_tick(&mut self) -> Option<Poll<Option<Result<Message, WebSocketError>>>> {
        if self.closing {
            tracing::debug!(target: "postern::websocket", "no close answer within the close timeout: dropping the socket");
            self.done = true;
            return Some(Poll::Ready(None));
        }
        if std::mem::take(&mut self.received) {
            self.idle_for = Duration::ZERO;
        } else {
            self.idle_for += self.ping_interval;
        }
        if self.idle_for >= self.idle_timeout {
            tracing::debug!(target: "postern::websocket", "nothing from the client within the idle timeout: closing with 1001");
            self.start_close(CloseCode::GOING_AWAY, "idle timeout");
            return None;
        }
        if self.idle_for > Duration::ZERO {
            let _ = Pin::new(&mut self.engine).start_send(Message::ping(Bytes::new()).0);
        }
        let next = self.timer.deadline() + self.ping_interval;
        self.timer.as_mut().reset(next.max(Instant::now()));
        None
    }
}

impl Stream for WebSocket {
    type Item = Result<Message, WebSocketError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.engine).poll_next(cx) {
                Poll::Ready(Some(Ok(message))) => {
                    this.received = true;
                    return Poll::Ready(Some(Ok(Message(message))));
                }
                Poll::Ready(Some(Err(error))) => {
                    let error = WebSocketError::from_engine(error);
                    if error.is_io() {
                        this.done = true;
                        return Poll::Ready(Some(Err(error)));
                    }
                    // A bad frame has its close frame (1002, 1007, 1009)
                    // queued by the engine already, which refuses a second
                    // one; a fragmented message over the limit does not.
                    if !this.closing {
                        let code = if error.is_message_too_big() {
                            CloseCode::MESSAGE_TOO_BIG
                        } else {
                            CloseCode::PROTOCOL_ERROR
                        };
                        this.start_close(code, "");
                    }
                    // Sent now, while the caller may still drop the socket
                    // on this error.
                    let _ = Pin::new(&mut this.engine).poll_flush(cx);
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    return Poll::Ready(None);
                }
                Poll::Pending => {}
            }
            // Nothing to read: look at the shutdown, the timers and the
            // bytes waiting for the client (only here, not per message).
            if let Some(shutdown) = &mut this.shutdown
                && shutdown.as_mut().poll(cx).is_ready()
            {
                this.shutdown = None;
                if !this.closing {
                    tracing::debug!(target: "postern::websocket", "server shutting down: closing with 1001");
                    this.start_close(CloseCode::GOING_AWAY, "server shutting down");
                }
                continue;
            }
            if this.timer.as_mut().poll(cx).is_ready() {
                if let Some(result) = this.on_tick() {
                    return result;
                }
                continue;
            }
            let flush = Pin::new(&mut this.engine).poll_flush(cx);
            return match this.guard_write(flush, cx) {
                Poll::Ready(Ok(())) => Poll::Pending,
                Poll::Ready(Err(error)) => {
                    this.done = true;
                    Poll::Ready(Some(Err(error)))
                }
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

impl Sink<Message> for WebSocket {
    type Error = WebSocketError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WebSocketError>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(Err(WebSocketError::new(Kind::Closed)));
        }
        let poll = Pin::new(&mut this.engine).poll_ready(cx);
        this.guard_write(poll, cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), WebSocketError> {
        let this = self.get_mut();
        if this.done || this.closing {
            return Err(WebSocketError::new(Kind::Closed));
        }
        if message.kind() == super::MessageKind::Close {
            this.closing = true;
            this.timer
                .as_mut()
                .reset(Instant::now() + this.close_timeout);
        }
        Pin::new(&mut this.engine)
            .start_send(message.0)
            .map_err(WebSocketError::from_engine)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WebSocketError>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(Err(WebSocketError::new(Kind::Closed)));
        }
        let poll = Pin::new(&mut this.engine).poll_flush(cx);
        this.guard_write(poll, cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WebSocketError>> {
        let this = self.get_mut();
        if !this.closing && !this.done {
            this.start_close(CloseCode::NORMAL, "");
        }
        while ready!(Pin::new(&mut *this).poll_next(cx)).is_some() {}
        Poll::Ready(Ok(()))
    }
}
