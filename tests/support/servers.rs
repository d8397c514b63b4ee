//! Starting test servers, and [`Running`], the handle every helper returns.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use postern_core::{
    AbstractHttpServer, Configuration, HttpService, ListenAddr, RunningServer, ServeService,
    Server, ServerBuilder, ShutdownReport,
};

use super::{TestCert, init_tracing, server_tls, within};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the tests use of a running server, whatever it serves.
///
/// The only place the tests name `RunningServer`: when it loses its type
/// parameter, `impl Serving for RunningServer` and [`Running::new`] change,
/// nothing else.
trait Serving: Send + Sync {
    fn listeners(&self) -> Vec<ListenAddr>;
    fn configuration(&self) -> Configuration;
    fn set_configuration(&self, configuration: Configuration) -> Result<(), postern_core::Error>;
    fn live_connections(&self) -> usize;
    fn bind_tcp<'a>(
        &'a self,
        addr: &'a str,
    ) -> BoxFuture<'a, Result<ListenAddr, postern_core::Error>>;
    fn shutdown(self: Box<Self>, deadline: Duration) -> BoxFuture<'static, ShutdownReport>;
}

impl<S: ServeService> Serving for RunningServer<S> {
    fn listeners(&self) -> Vec<ListenAddr> {
        RunningServer::listeners(self)
    }

    fn configuration(&self) -> Configuration {
        RunningServer::configuration(self)
    }

    fn set_configuration(&self, configuration: Configuration) -> Result<(), postern_core::Error> {
        RunningServer::set_configuration(self, configuration)
    }

    fn live_connections(&self) -> usize {
        RunningServer::live_connections(self)
    }

    fn bind_tcp<'a>(
        &'a self,
        addr: &'a str,
    ) -> BoxFuture<'a, Result<ListenAddr, postern_core::Error>> {
        Box::pin(RunningServer::bind_tcp(self, addr))
    }

    fn shutdown(self: Box<Self>, deadline: Duration) -> BoxFuture<'static, ShutdownReport> {
        Box::pin(RunningServer::shutdown(*self, deadline))
    }
}

/// A running test server. Dropping it leaves the server running until the
/// test's runtime ends; [`shutdown`](Self::shutdown) stops it.
pub(crate) struct Running(Box<dyn Serving>);

impl Running {
    /// Wrap a server started some other way (an example's own `start`).
    pub(crate) fn new<S: ServeService>(running: RunningServer<S>) -> Running {
        Running(Box::new(running))
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
        self.0
            .listeners()
            .iter()
            .filter_map(ListenAddr::port)
            .collect()
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
    pub(crate) fn shutdown(
        self,
        deadline: Duration,
    ) -> impl Future<Output = ShutdownReport> + Send + 'static {
        self.0.shutdown(deadline)
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
