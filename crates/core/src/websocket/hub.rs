//! [`WebSocketUpgrades`]: the verifier chain, the routes and the queue of
//! accepted sockets of one server.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use http::StatusCode;
use hyper::upgrade::OnUpgrade;
use tokio::sync::{Notify, oneshot};

use super::handshake::{self, Kind};
use super::{CloseCode, UpgradeResponse, UpgradeResponseType, WebSocket, WebSocketConfig};
use crate::server::{UpgradeContext, UpgradeSource};
use crate::{Request, ResponseBody};

type Verifier = Box<dyn Fn(&Request) -> UpgradeResponse + Send + Sync>;
type RouteHandler =
    Arc<dyn Fn(WebSocketConnection) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;
type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One link of the chain: a verifier, or a route (a path and its handler).
enum Entry {
    Verifier(Verifier),
    Route { path: String, handler: RouteHandler },
}

impl Entry {
    fn verify(&self, request: &Request) -> UpgradeResponse {
        match self {
            Entry::Verifier(verify) => verify(request),
            Entry::Route { path, .. } if request.path() == path => UpgradeResponse::accept(),
            Entry::Route { .. } => UpgradeResponse::pass_to_next(),
        }
    }
}

struct Inner {
    entries: RwLock<Arc<Vec<Arc<Entry>>>>,
    config: RwLock<Arc<WebSocketConfig>>,
    pending: Mutex<Queue>,
    arrived: Notify,
}

/// The accepted sockets waiting to be taken, and the places promised to
/// upgrades accepted but not yet handed over by hyper.
#[derive(Default)]
struct Queue {
    next_id: u64,
    entries: VecDeque<Queued>,
    /// Upgrades answered 101 whose sockets have not joined `entries` yet:
    /// counted against the limit, so a burst cannot overshoot it.
    reserved: usize,
}

/// A socket waiting in the queue.
struct Queued {
    /// What its watcher finds it by.
    id: u64,
    connection: WebSocketConnection,
    /// Dropped when the socket leaves the queue, which tells its watcher
    /// (and only it) to stop.
    _taken: oneshot::Sender<()>,
}

impl Queue {
    fn len(&self) -> usize {
        self.entries.len() + self.reserved
    }

    /// Move a reserved place into the queue; the receiver resolves when the
    /// socket leaves it.
    fn push(&mut self, connection: WebSocketConnection) -> (u64, oneshot::Receiver<()>) {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let (taken, on_taken) = oneshot::channel();
        self.reserved = self.reserved.saturating_sub(1);
        self.entries.push_back(Queued {
            id,
            connection,
            _taken: taken,
        });
        (id, on_taken)
    }

    fn remove(&mut self, id: u64) -> Option<WebSocketConnection> {
        let at = self.entries.iter().position(|queued| queued.id == id)?;
        self.entries.remove(at).map(|queued| queued.connection)
    }
}

/// An accepted upgrade's hub, holding a place in its queue when the socket
/// is to be queued; the place is given back if the socket never arrives
/// (hyper's hand-over failed or timed out).
struct Reservation {
    hub: WebSocketUpgrades,
    held: bool,
}

impl Reservation {
    /// Queue the socket in the place held for it.
    fn fill(mut self, connection: WebSocketConnection) -> (u64, oneshot::Receiver<()>) {
        self.held = false;
        let queued = self.hub.pending().push(connection);
        self.hub.inner.arrived.notify_waiters();
        // One stored permit too, for a waiter between its check and its
        // await.
        self.hub.inner.arrived.notify_one();
        queued
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.held {
            let mut queue = self.hub.pending();
            queue.reserved = queue.reserved.saturating_sub(1);
        }
    }
}

thread_local! {
    /// Set while this thread runs verifiers: registering then is refused.
    static VERIFYING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// An accepted WebSocket and the request that asked for it.
#[derive(Debug)]
pub struct WebSocketConnection {
    request: Request,
    socket: WebSocket,
}

impl WebSocketConnection {
    /// The upgrade request: path, query, headers, peer and TLS facts.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The socket.
    pub fn socket(&mut self) -> &mut WebSocket {
        &mut self.socket
    }

    /// The request and the socket, apart.
    pub fn into_parts(self) -> (Request, WebSocket) {
        (self.request, self.socket)
    }

    /// The socket alone.
    pub fn into_socket(self) -> WebSocket {
        self.socket
    }
}

/// What the server does with an upgrade request, decided by the hub.
pub(crate) enum Decision {
    /// Not ours: the normal request path.
    Pass,
    /// Answer with this (a denial, or the 101 / 200 of an accepted upgrade).
    Respond(http::Response<ResponseBody>),
}

/// The WebSocket side of a server (Qt's verifier chain and pending
/// connections): verifiers and routes decide on each upgrade request, in
/// registration order; accepted sockets go to their route's handler or wait
/// in a queue for the application. Cloning shares the same hub.
///
/// Only upgrade requests (an HTTP/1.1 `GET` with `Upgrade: websocket` and
/// `Connection: upgrade`, or an HTTP/2 extended `CONNECT` for `websocket`)
/// consult it. When no verifier answers (none registered, or all pass), the
/// request takes the normal path: `handle_request`, then the missing
/// handler, as in Qt. An accepted request with a bad `Sec-WebSocket-Key`
/// gets 400, one with a `Sec-WebSocket-Version` other than 13 gets 426.
///
/// ```no_run
/// use postern_core::websocket::{UpgradeResponse, WebSocketUpgrades};
///
/// # async fn run() {
/// let upgrades = WebSocketUpgrades::new();
/// upgrades.add_websocket_upgrade_verifier(|request| match request.path() {
///     "/chat" => UpgradeResponse::accept(),
///     "/admin" => UpgradeResponse::deny(),
///     _ => UpgradeResponse::pass_to_next(),
/// });
/// // … serve a server whose `websocket_upgrades()` returns this hub, then:
/// while let Some(mut connection) = upgrades.next_connection().await {
///     tokio::spawn(async move {
///         let socket = connection.socket();
///         while let Some(Ok(message)) = socket.recv().await {
///             if message.is_data() && socket.send(message).await.is_err() {
///                 break;
///             }
///         }
///     });
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct WebSocketUpgrades {
    inner: Arc<Inner>,
}

impl Default for WebSocketUpgrades {
    fn default() -> Self {
        WebSocketUpgrades::new()
    }
}

impl fmt::Debug for WebSocketUpgrades {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketUpgrades")
            .field("entries", &self.entries().len())
            .field("pending", &self.pending().entries.len())
            .finish()
    }
}

impl WebSocketUpgrades {
    /// A hub with no verifier and [`WebSocketConfig::default`].
    pub fn new() -> Self {
        WebSocketUpgrades::with_config(WebSocketConfig::default())
    }

    /// A hub with no verifier and `config`.
    pub fn with_config(config: WebSocketConfig) -> Self {
        WebSocketUpgrades {
            inner: Arc::new(Inner {
                entries: RwLock::new(Arc::new(Vec::new())),
                config: RwLock::new(Arc::new(config)),
                pending: Mutex::new(Queue::default()),
                arrived: Notify::new(),
            }),
        }
    }

    /// The limits of sockets accepted from now on.
    pub fn config(&self) -> WebSocketConfig {
        (*self.current_config()).clone()
    }

    /// Replace the limits of sockets accepted from now on.
    pub fn set_config(&self, config: WebSocketConfig) {
        *self
            .inner
            .config
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
    }

    fn current_config(&self) -> Arc<WebSocketConfig> {
        Arc::clone(
            &self
                .inner
                .config
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    fn entries(&self) -> Arc<Vec<Arc<Entry>>> {
        Arc::clone(
            &self
                .inner
                .entries
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.inner
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn push_entry(&self, entry: Entry) {
        if VERIFYING.with(std::cell::Cell::get) {
            tracing::warn!(target: "postern::websocket", "Registering WebSocket upgrade verifiers while handling them is not allowed");
            return;
        }
        let mut entries = self
            .inner
            .entries
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Copy on write: a verification in progress keeps the list it took.
        let mut next: Vec<Arc<Entry>> = entries.iter().cloned().collect();
        next.push(Arc::new(entry));
        *entries = Arc::new(next);
    }

    /// Add a verifier: it sees each upgrade request (never a normal one)
    /// after the verifiers registered before it, until one answers other
    /// than [`UpgradeResponse::pass_to_next`]. Registering from inside a
    /// verifier is refused with a warning, as in Qt.
    pub fn add_websocket_upgrade_verifier<F>(&self, verifier: F)
    where
        F: Fn(&Request) -> UpgradeResponse + Send + Sync + 'static,
    {
        self.push_entry(Entry::Verifier(Box::new(verifier)));
    }

    /// Accept upgrades for exactly `path` (the request's path, undecoded)
    /// and run `handler` with each socket in a task of its own, instead of
    /// queueing it. The route takes its place in the chain: verifiers
    /// registered before it are asked first.
    pub fn route<F, Fut>(&self, path: impl Into<String>, handler: F)
    where
        F: Fn(WebSocketConnection) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: RouteHandler = Arc::new(move |connection| Box::pin(handler(connection)));
        self.push_entry(Entry::Route {
            path: path.into(),
            handler,
        });
    }

    /// Whether any verifier or route is registered (HTTP/2 connections
    /// then offer extended `CONNECT`).
    pub fn is_active(&self) -> bool {
        !self.entries().is_empty()
    }

    /// Whether accepted sockets wait to be taken.
    pub fn has_pending_websocket_connections(&self) -> bool {
        !self.pending().entries.is_empty()
    }

    /// The oldest accepted socket waiting to be taken, if any.
    ///
    /// A socket is not read while it waits, so the hub watches it instead:
    /// when the server starts shutting down, or once the socket has waited
    /// [`idle_timeout`](WebSocketConfig::idle_timeout) (counted from its
    /// arrival in the queue), the hub takes it out of the queue and closes
    /// it with 1001 (`server shutting down` or `idle timeout`), waiting
    /// [`close_timeout`](WebSocketConfig::close_timeout) at most for the
    /// client's answer. Its connection then stops counting against the
    /// caps, and a shutdown does not wait for it. A socket the application
    /// has taken is its own: the hub no longer touches it.
    pub fn next_pending_websocket_connection(&self) -> Option<WebSocketConnection> {
        // Dropping the entry tells its watcher the socket was taken.
        let taken = self.pending().entries.pop_front();
        taken.map(|queued| queued.connection)
    }

    /// Watch the queued socket `id` until the application takes it: at the
    /// server's shutdown, or once it has waited `idle_timeout`, take it back
    /// and close it with 1001. Without this a socket nobody takes would hold
    /// its connection's place in the caps forever and be cut at the shutdown
    /// deadline instead of closed.
    async fn watch_queued(
        &self,
        id: u64,
        taken: oneshot::Receiver<()>,
        mut shutdown: Option<Shutdown>,
        idle_timeout: Duration,
    ) {
        let reason = tokio::select! {
            // The sender is never used: it resolves (with an error) when the
            // entry leaves the queue.
            _ = taken => return,
            () = tokio::time::sleep(idle_timeout) => "idle timeout",
            () = stopping(&mut shutdown) => "server shutting down",
        };
        // Still queued only if the application did not take it meanwhile.
        let Some(connection) = self.pending().remove(id) else {
            return;
        };
        tracing::debug!(target: "postern::websocket", reason, path = connection.request.path(), "closing a socket nobody took from the queue with 1001");
        let mut socket = connection.socket;
        // A client that does not answer is dropped at the close timeout;
        // either way the socket ends here.
        let _ = socket.close(CloseCode::GOING_AWAY, reason).await;
    }

    /// Resolves when an accepted socket waits to be taken (at once if one
    /// does): Qt's `newWebSocketConnection` signal.
    pub async fn new_websocket_connection(&self) {
        loop {
            let arrived = self.inner.arrived.notified();
            if self.has_pending_websocket_connections() {
                return;
            }
            arrived.await;
        }
    }

    /// The next accepted socket, waiting for one. `None` never comes while
    /// the hub lives; the `Option` is for `while let` loops.
    pub async fn next_connection(&self) -> Option<WebSocketConnection> {
        loop {
            let arrived = self.inner.arrived.notified();
            if let Some(connection) = self.next_pending_websocket_connection() {
                return Some(connection);
            }
            arrived.await;
        }
    }

    /// The accepted sockets as a `Stream`, in arrival order.
    pub fn connections(&self) -> WebSocketConnections {
        WebSocketConnections {
            hub: self.clone(),
            waiting: None,
        }
    }

    /// Decide on an upgrade request of `kind`: the Origin allow-list, the
    /// chain, then the handshake checks. An accepted upgrade goes on in a
    /// task that waits for hyper to hand over the connection.
    pub(crate) fn decide(
        &self,
        request: &Request,
        kind: Kind,
        on_upgrade: Option<OnUpgrade>,
        source: Option<UpgradeSource>,
    ) -> Decision {
        let config = self.current_config();
        let version = request.version();
        if !config.origin_allowed(
            request
                .headers()
                .get(http::header::ORIGIN)
                .map(http::HeaderValue::as_bytes),
        ) {
            tracing::debug!(target: "postern::websocket", path = request.path(), "upgrade from an Origin not allowed: 403");
            return Decision::Respond(postern_limits::empty_response(
                StatusCode::FORBIDDEN,
                version,
                false,
                ResponseBody::empty(),
            ));
        }
        let entries = self.entries();
        let verdict = {
            // Reset by a guard, so that a verifier that panics does not leave
            // this thread refusing registrations.
            struct Verifying;
            impl Drop for Verifying {
                fn drop(&mut self) {
                    VERIFYING.with(|flag| flag.set(false));
                }
            }
            VERIFYING.with(|flag| flag.set(true));
            let _verifying = Verifying;
            entries.iter().find_map(|entry| {
                let answer = entry.verify(request);
                (answer.response_type() != UpgradeResponseType::PassToNext)
                    .then_some((answer, entry))
            })
        };
        let Some((answer, entry)) = verdict else {
            return Decision::Pass;
        };
        if answer.response_type() == UpgradeResponseType::Deny {
            tracing::debug!(target: "postern::websocket", path = request.path(), status = answer.deny_status().as_u16(), "upgrade denied");
            return Decision::Respond(handshake::denied(
                answer.deny_status(),
                answer.deny_message(),
            ));
        }
        let accept = match handshake::check(kind, request.headers()) {
            Ok(accept) => accept,
            Err(problem) => {
                tracing::debug!(target: "postern::websocket", path = request.path(), ?problem, "malformed upgrade refused");
                return Decision::Respond(handshake::malformed(problem, version));
            }
        };
        let handler = match &**entry {
            Entry::Route { handler, .. } => Some(Arc::clone(handler)),
            Entry::Verifier(_) => None,
        };
        let Some(on_upgrade) = on_upgrade else {
            tracing::error!(target: "postern::websocket", "upgrade accepted on a connection that cannot be upgraded: 500");
            return Decision::Respond(postern_limits::empty_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                version,
                false,
                ResponseBody::empty(),
            ));
        };
        // A queued socket's place is taken now, not when hyper hands the
        // connection over: a burst of upgrades cannot overshoot the limit.
        let held = handler.is_none();
        if held {
            let mut queue = self.pending();
            if queue.len() >= config.max_pending_connections {
                drop(queue);
                tracing::debug!(target: "postern::websocket", "too many accepted sockets wait to be taken: 503");
                return Decision::Respond(handshake::busy(version));
            }
            queue.reserved += 1;
        }
        let reservation = Reservation {
            hub: self.clone(),
            held,
        };
        let request = request.clone();
        let context = source.map(UpgradeSource::hold);
        tokio::spawn(async move {
            let io = match tokio::time::timeout(config.upgrade_timeout, on_upgrade).await {
                Ok(Ok(io)) => io,
                Ok(Err(error)) => {
                    tracing::debug!(target: "postern::websocket", %error, "upgrade failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(target: "postern::websocket", "upgrade not completed within the upgrade timeout");
                    return;
                }
            };
            // Only a queued socket is watched (a route's handler reads its
            // socket, which then sees the shutdown itself).
            let shutdown = match handler {
                Some(_) => None,
                None => context.as_ref().map(UpgradeContext::shutdown),
            };
            let socket = WebSocket::new(io, &config, context);
            let connection = WebSocketConnection { request, socket };
            match handler {
                Some(handler) => handler(connection).await,
                None => {
                    let hub = reservation.hub.clone();
                    let (id, taken) = reservation.fill(connection);
                    hub.watch_queued(id, taken, shutdown, config.idle_timeout)
                        .await;
                }
            }
        });
        Decision::Respond(handshake::switching(accept))
    }
}

/// Resolves when `shutdown` does; never without one (a socket not tied to
/// a server).
async fn stopping(shutdown: &mut Option<Shutdown>) {
    match shutdown {
        Some(shutdown) => shutdown.await,
        None => std::future::pending().await,
    }
}

/// The accepted sockets of a [`WebSocketUpgrades`] hub as a `Stream` (see
/// [`WebSocketUpgrades::connections`]). It never ends.
pub struct WebSocketConnections {
    hub: WebSocketUpgrades,
    waiting: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl fmt::Debug for WebSocketConnections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketConnections")
            .finish_non_exhaustive()
    }
}

impl Stream for WebSocketConnections {
    type Item = WebSocketConnection;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WebSocketConnection>> {
        let this = self.get_mut();
        loop {
            if let Some(connection) = this.hub.next_pending_websocket_connection() {
                this.waiting = None;
                return Poll::Ready(Some(connection));
            }
            let waiting = this.waiting.get_or_insert_with(|| {
                let hub = this.hub.clone();
                Box::pin(async move { hub.new_websocket_connection().await })
            });
            match waiting.as_mut().poll(cx) {
                Poll::Ready(()) => this.waiting = None,
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
