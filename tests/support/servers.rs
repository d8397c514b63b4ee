//! Starting test servers, and [`Running`], the handle every helper returns.

use std::net::SocketAddr;
use std::time::Duration;

use postern_core::{
    AbstractHttpServer, Configuration, HttpService, ListenAddr, RunningServer, ServeService,
    Server, ServerBuilder, ShutdownReport,
};

use super::{TestCert, init_tracing, server_tls, within};

/// A running test server. Dropping it leaves the server running until the
/// test's runtime ends; [`shutdown`](Self::shutdown) stops it.
pub(crate) struct Running(RunningServer);

impl Running {
    /// Wrap a server started some other way (an example's own `start`).
    pub(crate) fn new(running: RunningServer) -> Running {
        Running(running)
    }

    /// The server itself.
    pub(crate) fn server(&self) -> &RunningServer {
        &self.0
    }

    /// The socket address of the first listener (TCP or TLS).
    pub(crate) fn addr(&self) -> SocketAddr {
        self.0.listeners()[0]
            .socket_addr()
            .expect("the first listener is TCP or TLS")
    }

    /// Every listener's address, in the order bound.
    pub(crate) fn listeners(&self) -> Vec<ListenAddr> {
        self.0.listeners()
    }

    /// The TCP ports listened on (plain and TLS), in the order bound.
    pub(crate) fn ports(&self) -> Vec<u16> {
        self.0.ports()
    }

    /// The configuration in force.
    pub(crate) fn configuration(&self) -> Configuration {
        self.0.configuration()
    }

    /// Replace the configuration.
    pub(crate) fn set_configuration(
        &self,
        configuration: Configuration,
    ) -> Result<(), postern_core::Error> {
        self.0.set_configuration(configuration)
    }

    /// Connections open now.
    pub(crate) fn live_connections(&self) -> usize {
        self.0.live_connections()
    }

    /// Add a TCP listener.
    pub(crate) async fn bind_tcp(&self, addr: &str) -> Result<ListenAddr, postern_core::Error> {
        self.0.bind_tcp(addr).await
    }

    /// Graceful shutdown with `deadline`.
    pub(crate) async fn shutdown(self, deadline: Duration) -> ShutdownReport {
        self.0.shutdown(deadline).await
    }
}

/// Wait (bounded by [`LIMIT`](super::LIMIT)) until the server counts
/// exactly `n` live connections.
pub(crate) async fn wait_live(running: &Running, n: usize) {
    let what = format!("the server to count {n} live connection(s)");
    within(&what, async {
        while running.live_connections() != n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// Serve `service` (any tower service Postern runs: an `HttpService`, an
/// axum `Router`, a `service_fn`) with `configuration` on the listeners
/// `bind` adds. Every other helper here comes down to this one.
pub(crate) async fn serve<S: ServeService>(
    configuration: Configuration,
    bind: impl FnOnce(ServerBuilder) -> ServerBuilder,
    service: S,
) -> Running {
    init_tracing();
    let running = bind(Server::builder().configuration(configuration))
        .serve(service)
        .await
        .expect("the server starts");
    Running::new(running)
}

/// [`serve`], but with `serve_abstract` (requests carry no
/// `ConnectionInfo` extension).
pub(crate) async fn serve_abstract<T: AbstractHttpServer>(
    configuration: Configuration,
    bind: impl FnOnce(ServerBuilder) -> ServerBuilder,
    server: T,
) -> Running {
    init_tracing();
    let running = bind(Server::builder().configuration(configuration))
        .serve_abstract(server)
        .await
        .expect("the server starts");
    Running::new(running)
}

/// Bind one TCP listener at 127.0.0.1:0.
pub(crate) fn on_loopback(builder: ServerBuilder) -> ServerBuilder {
    builder.bind_tcp("127.0.0.1:0")
}

/// Serve `server` (through `HttpService`) with `configuration` on
/// 127.0.0.1:0: the server and its address.
pub(crate) async fn start_with<T: AbstractHttpServer>(
    configuration: Configuration,
    server: T,
) -> (Running, SocketAddr) {
    start_service(configuration, HttpService::new(server)).await
}

/// [`start_with`] the default configuration.
pub(crate) async fn start<T: AbstractHttpServer>(server: T) -> (Running, SocketAddr) {
    start_with(Configuration::default(), server).await
}

/// Serve any tower `service` with `configuration` on 127.0.0.1:0.
pub(crate) async fn start_service<S: ServeService>(
    configuration: Configuration,
    service: S,
) -> (Running, SocketAddr) {
    let running = serve(configuration, on_loopback, service).await;
    let addr = running.addr();
    (running, addr)
}

/// Serve `server` with `configuration` on one TLS listener at 127.0.0.1:0
/// with `cert`.
pub(crate) async fn start_tls<T: AbstractHttpServer>(
    configuration: Configuration,
    server: T,
    cert: &TestCert,
) -> (Running, SocketAddr) {
    let tls = server_tls(cert);
    let running = serve(
        configuration,
        |b| b.bind_tls("127.0.0.1:0", tls),
        HttpService::new(server),
    )
    .await;
    let addr = running.addr();
    (running, addr)
}
