use std::fmt;

use tower_layer::Layer;

use super::{ConnectionLimitMakeService, ConnectionLimiter};

/// Counts connections for a tower/axum app: wraps the *make-service* (one
/// `call` per accepted connection) so each connection takes a
/// [`ConnectionPermit`](super::ConnectionPermit) for as long as its service
/// lives.
///
/// `peer` finds the client IP in the make-service's target (for axum,
/// `&IncomingStream<'_, TcpListener>`); write it as a `fn` item so that it
/// works for every lifetime of the target:
///
/// ```
/// use std::net::{IpAddr, SocketAddr};
/// use axum::{Router, routing::get, serve::IncomingStream};
/// use postern_limits::connections::{ConnectionLimitLayer, ConnectionLimiter};
/// use postern_limits::config::ConnectionLimits;
/// use tokio::net::TcpListener;
/// use tower::Layer;
///
/// fn peer(stream: &IncomingStream<'_, TcpListener>) -> Option<IpAddr> {
///     Some(stream.remote_addr().ip())
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let app = Router::new().route("/", get(|| async { "hello" }));
/// let limiter = ConnectionLimiter::new(ConnectionLimits::disabled().with_max_per_host(64));
/// let make_service = ConnectionLimitLayer::new(limiter, peer)
///     .layer(app.into_make_service_with_connect_info::<SocketAddr>());
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// axum::serve(listener, make_service).await
/// # }
/// ```
///
/// Returning `None` applies only the total cap. See the
/// [module docs](crate::connections).
#[derive(Clone)]
pub struct ConnectionLimitLayer<F> {
    limiter: ConnectionLimiter,
    peer: F,
}

impl<F> ConnectionLimitLayer<F> {
    /// Count connections in `limiter`, finding each one's client with `peer`.
    pub fn new(limiter: ConnectionLimiter, peer: F) -> Self {
        ConnectionLimitLayer { limiter, peer }
    }

    /// The shared limiter (change its caps live with
    /// [`ConnectionLimiter::set_limits`]).
    pub fn limiter(&self) -> &ConnectionLimiter {
        &self.limiter
    }
}

impl<F> fmt::Debug for ConnectionLimitLayer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionLimitLayer")
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl<M, F: Clone> Layer<M> for ConnectionLimitLayer<F> {
    type Service = ConnectionLimitMakeService<M, F>;

    fn layer(&self, inner: M) -> Self::Service {
        ConnectionLimitMakeService {
            inner,
            limiter: self.limiter.clone(),
            peer: self.peer.clone(),
        }
    }
}
