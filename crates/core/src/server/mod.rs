//! The server: listeners (TCP, TLS, Unix), HTTP/1 and HTTP/2 through hyper,
//! timeouts, live configuration and graceful shutdown. Its items are
//! re-exported at the crate root.

mod access;
mod activity;
mod body;
mod conn;
mod conn_service;
mod gate;
#[cfg(feature = "http2")]
mod h2_exec;
mod incoming;
mod listen;
mod listener;
mod make;
#[cfg(feature = "proxy-protocol")]
mod proxy;
#[cfg(feature = "http1")]
mod reason;
mod rewind;
mod serve_service;
mod shared;
mod stream;
mod strict;
#[cfg(feature = "ws")]
pub(crate) use strict::has_option;
#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "ws")]
mod upgrade;

use std::net::SocketAddr;
#[cfg(all(unix, feature = "unix"))]
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

pub(crate) use incoming::is_body_timeout;
pub use incoming::{BodyTimedOut, IncomingBody};
pub use listen::Listen;
pub use listener::ListenAddr;
#[cfg(feature = "proxy-protocol")]
pub use proxy::{
    ProxyAddresses, ProxyHeader, ProxyHeaderError, ProxyProtocol, ProxySsl, ProxyStream,
    ProxyVersion, read_proxy_header,
};
pub use serve_service::ServeService;
#[cfg(feature = "tls")]
pub use tls::{CertError, PemFile, ReloadingCert, SniCerts, TlsConfig, ring_provider};

use crate::{AbstractHttpServer, Configuration, Error, HttpService};
use listen::ListenKind;
use listener::{Bound, ProxyOptions, accept_loop};
pub(crate) use make::MakeConnService;
use make::WithConnectionInfo;
use shared::{Core, Phase, Shared};
#[cfg(feature = "ws")]
pub(crate) use upgrade::{UpgradeContext, UpgradeSource};

/// The request body services see on Postern's server: hyper's body, failing
/// past the configured body limit (the server answers 413 for it), watched
/// by the body-idle timeout.
pub type RequestBody = postern_limits::size::RequestBody<IncomingBody>;

/// Entry point: [`Server::builder`].
///
/// timeouts, live configuration and graceful shutdown.
///
/// ```
/// use std::time::Duration;
/// use http::StatusCode;
/// use postern_core::{AbstractHttpServer, Handled, Request, Responder, Server};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// struct Hello;
/// impl AbstractHttpServer for Hello {
///     async fn handle_request(&self, _: &Request, responder: Responder) -> Handled {
///         responder.write_with_mime("Hello world", "text/plain", StatusCode::OK);
///         Handled::Yes
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let running = Server::builder()
///     .bind_tcp("127.0.0.1:0")
///     .serve_abstract(Hello)
///     .await?;
/// let addr = running.listeners()[0].socket_addr().expect("a TCP listener");
/// println!("listening on {}", running.listeners()[0]);
///
/// // A client: one request, then the server closes the connection.
/// let mut client = tokio::net::TcpStream::connect(addr).await?;
/// client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await?;
/// let mut answer = String::new();
/// client.read_to_string(&mut answer).await?;
/// assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(answer.ends_with("\r\n\r\nHello world"));
///
/// let report = running.shutdown(Duration::from_secs(5)).await;
/// assert_eq!(report.cut, 0);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Server {
    _private: (),
}

impl Server {
    /// Start describing a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            configuration: Configuration::default(),
            binds: Vec::new(),
            backlog: DEFAULT_BACKLOG,
            extended_connect: None,
        }
    }
}

/// Collects listeners and the configuration, then serves a service.
pub struct ServerBuilder {
    configuration: Configuration,
    binds: Vec<Listen>,
    backlog: u32,
    extended_connect: Option<bool>,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("configuration", &self.configuration)
            .field("listeners", &self.binds.len())
            .finish()
    }
}

impl ServerBuilder {
    /// Use this configuration (default: [`Configuration::default`], Qt's).
    pub fn configuration(mut self, configuration: Configuration) -> Self {
        self.configuration = configuration;
        self
    }

    /// How many connections the kernel may queue for each TCP and TLS
    /// listener before accept takes them (`listen(2)`'s backlog, capped by
    /// the system's `net.core.somaxconn`). Default 1024: a flood of connects
    /// must not leave a normal client waiting a second for a SYN retry, as
    /// the common default of 128 does.
    pub fn listen_backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Whether HTTP/2 connections offer extended `CONNECT` (RFC 8441), the
    /// way WebSockets run over HTTP/2. Default: offered by
    /// [`serve_abstract`](Self::serve_abstract) when the server's WebSocket
    /// hub has a verifier or route as the connection opens, never by
    /// [`serve`](Self::serve), which cannot see into its service: set it
    /// there for a service that takes WebSockets over HTTP/2. A browser that
    /// sees the offer uses it and does not fall back to HTTP/1.1, so offer
    /// it only where WebSockets are served.
    pub fn http2_extended_connect(mut self, offer: bool) -> Self {
        self.extended_connect = Some(offer);
        self
    }

    /// Listen for plain TCP on `addr` (`"127.0.0.1:8080"`, `"[::]:0"`; port 0
    /// picks a free port). Serves HTTP/1 and prior-knowledge HTTP/2 (h2c).
    pub fn bind_tcp(self, addr: impl Into<String>) -> Self {
        self.bind(Listen::tcp(addr))
    }

    /// Listen as `listen` describes: the address and kind, and options
    /// such as the PROXY protocol ([`Listen::proxy_protocol`]).
    pub fn bind(mut self, listen: Listen) -> Self {
        self.binds.push(listen);
        self
    }

    /// Listen for TLS on `addr`; ALPN picks HTTP/2 or HTTP/1.1.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn bind_tls(self, addr: impl Into<String>, tls: TlsConfig) -> Self {
        self.bind(Listen::tls(addr, tls))
    }

    /// Listen on a Unix domain socket at `path` (HTTP/1 and h2c).
    #[cfg(all(unix, feature = "unix"))]
    #[cfg_attr(docsrs, doc(cfg(all(unix, feature = "unix"))))]
    pub fn bind_unix(self, path: impl Into<PathBuf>) -> Self {
        self.bind(Listen::unix(path))
    }

    /// Bind every listener and start serving `service` on all of them.
    /// Must be called inside a tokio runtime.
    ///
    /// Each request carries its connection's
    /// [`ConnectionInfo`](crate::ConnectionInfo) as an extension
    /// (`request.extensions().get::<ConnectionInfo>()`), as axum's
    /// `ConnectInfo` does, so any tower service can read the peer address,
    /// the transport and the TLS facts; an
    /// [`HttpService`] served this way hands it to its handlers.
    pub async fn serve<S>(self, service: S) -> Result<RunningServer, Error>
    where
        S: ServeService,
    {
        self.start(WithConnectionInfo(service)).await
    }

    /// Bind every listener and serve an [`AbstractHttpServer`] on all of
    /// them: `serve(HttpService::new(server))` without the request
    /// extension, since each connection's [`HttpService`] hands its
    /// connection to the handlers itself
    /// ([`Request::connection`](crate::Request::connection)); the extension
    /// would cost three allocations per request.
    pub async fn serve_abstract<T: AbstractHttpServer>(
        self,
        server: T,
    ) -> Result<RunningServer, Error> {
        self.start(HttpService::new(server)).await
    }

    async fn start<M: MakeConnService>(self, make: M) -> Result<RunningServer, Error> {
        self.configuration.validate()?;
        if self.binds.is_empty() {
            return Err(Error::config(
                "no listener: call bind_tcp, bind_tls or bind_unix before serve",
                None,
            ));
        }
        let running = RunningServer {
            shared: Shared::new(
                make,
                self.configuration,
                self.backlog,
                self.extended_connect,
            )?,
            listeners: std::sync::Mutex::new(Vec::new()),
        };
        for listen in self.binds {
            running.bind(listen).await?;
        }
        Ok(running)
    }
}

/// How a shutdown went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Connections closed at the deadline with work unfinished.
    pub cut: usize,
    /// Whether every connection finished before the deadline.
    pub drained: bool,
}

/// What a running server holds now, for a health page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ServerStats {
    /// Connections open now (the open connections of a health page).
    pub live_connections: usize,
    /// Bytes held now in request bodies read whole, against
    /// [`Configuration::max_buffered_body_bytes`].
    pub buffered_body_bytes: u64,
    /// Requests answered by the service since the server started (the
    /// refused ones are in [`refusals`](Self::refusals) instead).
    pub requests_served: u64,
    /// Requests and connections refused since the server started, by
    /// reason (see [`access`](crate::access)).
    pub refusals: crate::access::Refusals,
    /// Connections (HTTP/1 `101 Switching Protocols`) and HTTP/2 streams
    /// (`CONNECT` answered 2xx) handed over to an upgrade, such as a
    /// WebSocket, since the server started; also counted in
    /// [`requests_served`](Self::requests_served).
    pub upgrades: u64,
}

/// A server's shared state, whatever service it runs: what
/// [`RunningServer`] needs, without the service's type.
trait Serving: Send + Sync + 'static {
    fn core(&self) -> &Core;
    fn accept(self: Arc<Self>, bound: Bound, proxy: Option<ProxyOptions>) -> JoinHandle<()>;
    fn serve_io(self: Arc<Self>, io: Box<dyn listener::Io>, info: crate::ConnectionInfo);
}

impl<M: MakeConnService> Serving for Shared<M> {
    fn core(&self) -> &Core {
        &self.core
    }

    fn accept(self: Arc<Self>, bound: Bound, proxy: Option<ProxyOptions>) -> JoinHandle<()> {
        crate::responder::spawn_boxed(accept_loop(self, bound, proxy))
    }

    fn serve_io(self: Arc<Self>, io: Box<dyn listener::Io>, info: crate::ConnectionInfo) {
        listener::serve_accepted(&self, io, info);
    }
}

/// A server that is accepting connections.
///
/// Dropping it leaves the server running in the background; call
/// [`shutdown`](Self::shutdown) to stop it.
pub struct RunningServer {
    shared: Arc<dyn Serving>,
    listeners: std::sync::Mutex<Vec<Running>>,
}

/// One listener of a running server.
struct Running {
    addr: ListenAddr,
    task: JoinHandle<()>,
    /// A TLS listener's replaceable config.
    #[cfg(feature = "tls")]
    tls: Option<Arc<tls::TlsSlot>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("listeners", &self.listeners())
            .field("live_connections", &self.live_connections())
            .finish()
    }
}

impl RunningServer {
    /// Add a listener to the running server, as `listen` describes.
    pub async fn bind(&self, listen: Listen) -> Result<ListenAddr, Error> {
        #[cfg(feature = "tls")]
        let mut slot = None;
        let bound = match listen.kind {
            ListenKind::Tcp(addr) => Bound::Tcp(bind_tcp(&addr, self.core().backlog).await?),
            #[cfg(feature = "tls")]
            ListenKind::Tls(addr, tls) => {
                let tls = tls::TlsSlot::new(&tls);
                slot = Some(Arc::clone(&tls));
                Bound::Tls(bind_tcp(&addr, self.core().backlog).await?, tls)
            }
            #[cfg(all(unix, feature = "unix"))]
            ListenKind::Unix(path) => {
                let listener = tokio::net::UnixListener::bind(&path)
                    .map_err(|e| Error::unix_path(&path, e))?;
                Bound::Unix(listener, path)
            }
        };
        let addr = bound
            .addr()
            .map_err(|e| Error::bind(&"a listener whose address cannot be read", e))?;
        #[cfg(feature = "proxy-protocol")]
        let proxy = listen.proxy.map(Arc::new);
        #[cfg(not(feature = "proxy-protocol"))]
        let proxy = None;
        tracing::info!(target: "postern::server", %addr, proxy_protocol = proxy.is_some(), "listening");
        let task = Arc::clone(&self.shared).accept(bound, proxy);
        self.lock_listeners().push(Running {
            addr: addr.clone(),
            task,
            #[cfg(feature = "tls")]
            tls: slot,
        });
        Ok(addr)
    }

    /// Handshakes on the TLS listener at `addr` use `tls` from now on;
    /// connections already open keep the config they started with. Fails
    /// when no TLS listener of this server is at `addr`. (To reload a
    /// certificate from its files instead, serve a
    /// [`ReloadingCert`](crate::ReloadingCert).)
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn set_tls_config(&self, addr: &ListenAddr, tls: TlsConfig) -> Result<(), Error> {
        let listeners = self.lock_listeners();
        let slot = listeners
            .iter()
            .find(|running| &running.addr == addr)
            .and_then(|running| running.tls.as_ref())
            .ok_or_else(|| {
                Error::config(
                    format!("no TLS listener at {addr}: pass an address from listeners()"),
                    None,
                )
            })?;
        slot.set(&tls);
        Ok(())
    }

    /// Add a TCP listener to the running server.
    pub async fn bind_tcp(&self, addr: &str) -> Result<ListenAddr, Error> {
        self.bind(Listen::tcp(addr)).await
    }

    /// Add a TLS listener to the running server.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub async fn bind_tls(&self, addr: &str, tls: TlsConfig) -> Result<ListenAddr, Error> {
        self.bind(Listen::tls(addr, tls)).await
    }

    /// Add a Unix socket listener to the running server.
    #[cfg(all(unix, feature = "unix"))]
    #[cfg_attr(docsrs, doc(cfg(all(unix, feature = "unix"))))]
    pub async fn bind_unix(&self, path: impl Into<PathBuf>) -> Result<ListenAddr, Error> {
        self.bind(Listen::unix(path)).await
    }

    /// Serve one connection that arrived some other way than through a
    /// listener (a custom transport such as a serial line or a vsock, or an
    /// in-memory stream in a test or a fuzzer), exactly as a listener would:
    /// counted against the connection caps by `info`'s
    /// [`client_addr`](crate::ConnectionInfo::client_addr) (refused with the
    /// caps' 429 or GOAWAY), with the same protocol detection, timeouts,
    /// limits and shutdown. The connection runs in a task of its own.
    ///
    /// ```
    /// use http::StatusCode;
    /// use postern_core::{AbstractHttpServer, ConnectionInfo, Handled, Request, Responder, Server, Transport};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// struct Hello;
    /// impl AbstractHttpServer for Hello {
    ///     async fn handle_request(&self, _: &Request, responder: Responder) -> Handled {
    ///         responder.write_with_mime("hi", "text/plain", StatusCode::OK);
    ///         Handled::Yes
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let running = Server::builder().bind_tcp("127.0.0.1:0").serve_abstract(Hello).await?;
    /// let (mut client, server_side) = tokio::io::duplex(4096);
    /// let info = ConnectionInfo::new(Transport::Unknown, Some("192.0.2.7:4000".parse()?), None, None);
    /// running.serve_io(server_side, info);
    /// client.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").await?;
    /// let mut answer = String::new();
    /// client.read_to_string(&mut answer).await?;
    /// assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
    /// assert!(answer.ends_with("\r\n\r\nhi"));
    /// # Ok(()) }
    /// ```
    pub fn serve_io<I>(&self, io: I, info: crate::ConnectionInfo)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        Arc::clone(&self.shared).serve_io(Box::new(io), info);
    }

    fn core(&self) -> &Core {
        self.shared.core()
    }

    fn lock_listeners(&self) -> std::sync::MutexGuard<'_, Vec<Running>> {
        self.listeners
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every listener's address, in the order bound.
    pub fn listeners(&self) -> Vec<ListenAddr> {
        self.lock_listeners()
            .iter()
            .map(|running| running.addr.clone())
            .collect()
    }

    /// The TCP ports listened on (plain and TLS), in the order bound.
    pub fn ports(&self) -> Vec<u16> {
        self.listeners()
            .iter()
            .filter_map(ListenAddr::port)
            .collect()
    }

    /// The configuration in force.
    pub fn configuration(&self) -> Configuration {
        self.core().snapshot().config.clone()
    }

    /// Replace the configuration, for existing and new connections as in Qt:
    /// the limits apply from the next request on every connection (the rate
    /// limiter keeps its counts when the rate settings are unchanged), the
    /// connection caps from the next accept, and the keep-alive and
    /// request-head timeouts at each open connection's next watchdog tick.
    /// The first-byte and TLS-handshake timeouts and the HTTP/2 settings are
    /// negotiated when a connection opens, so they apply to new ones.
    pub fn set_configuration(&self, configuration: Configuration) -> Result<(), Error> {
        configuration.validate()?;
        self.core().set_config(configuration)
    }

    /// Connections open now.
    pub fn live_connections(&self) -> usize {
        self.core().live_connections()
    }

    /// What the server holds now.
    pub fn stats(&self) -> ServerStats {
        let core = self.core();
        ServerStats {
            live_connections: core.live_connections(),
            buffered_body_bytes: core.body_budget.held(),
            requests_served: core.counters.served(),
            refusals: core.counters.refusals(),
            upgrades: core.counters.upgrades(),
        }
    }

    /// Stop accepting, let requests in flight finish, close idle connections
    /// (and those still in their TLS handshake or first bytes) at once, and
    /// cut whatever is still open after `deadline`. Cut connections close at
    /// their task's next poll; this waits up to 5 s more for that.
    pub async fn shutdown(self, deadline: Duration) -> ShutdownReport {
        let core = self.shared.core();
        core.phase.send_replace(Phase::Draining);
        for Running { addr, task, .. } in self.lock_listeners().drain(..) {
            task.abort();
            // A Unix socket's file would make the next bind of its path fail.
            if let ListenAddr::Unix(path) = addr {
                let _ = std::fs::remove_file(path);
            }
        }
        let drained = tokio::time::timeout(deadline, core.wait_drained())
            .await
            .is_ok();
        if !drained {
            core.phase.send_replace(Phase::Closing);
            // Connection tasks see `Closing` at their next poll.
            let _ = tokio::time::timeout(Duration::from_secs(5), core.wait_drained()).await;
        }
        let report = ShutdownReport {
            cut: core.cut_connections(),
            drained,
        };
        tracing::info!(target: "postern::server", cut = report.cut, "shut down");
        report
    }
}

/// The listen backlog of [`ServerBuilder::listen_backlog`].
const DEFAULT_BACKLOG: u32 = 1024;

async fn bind_tcp(addr: &str, backlog: u32) -> Result<tokio::net::TcpListener, Error> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(addr)
        .await
        .map_err(|e| {
            Error::bind(
                &format_args!("{addr:?} (not an address: use \"host:port\")"),
                e,
            )
        })?
        .collect();
    let mut last = None;
    for candidate in addrs {
        match listen(candidate, backlog) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some((candidate, e)),
        }
    }
    Err(match last {
        Some((candidate, e)) => Error::bind(&candidate, e),
        None => Error::bind(
            &addr,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the name resolved to no address",
            ),
        ),
    })
}

/// Bind and listen with `backlog`, as `TcpListener::bind` does otherwise
/// (address reuse on Unix, so a restarted server can bind at once).
fn listen(addr: SocketAddr, backlog: u32) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Handled, Request, Responder};

    struct Declines;
    impl AbstractHttpServer for Declines {
        async fn handle_request(&self, _: &Request, responder: Responder) -> Handled {
            Handled::No(responder)
        }
    }

    #[tokio::test]
    async fn serving_without_a_listener_is_an_error() {
        let error = Server::builder()
            .serve_abstract(Declines)
            .await
            .expect_err("no listener");
        assert!(error.is_config(), "{error}");
        assert!(
            error
                .to_string()
                .contains("no listener: call bind_tcp, bind_tls or bind_unix before serve"),
            "{error}"
        );
    }

    /// The backlog `ss` reports for the listener on `port` (its Send-Q).
    fn listen_queue(port: u16) -> u32 {
        let output = std::process::Command::new("ss")
            .args(["-ltnH", &format!("sport = :{port}")])
            .output()
            .expect("ss (iproute2) runs");
        let text = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(fields.first(), Some(&"LISTEN"), "ss printed {text:?}");
        fields[2].parse().expect("Send-Q is the backlog")
    }

    #[tokio::test]
    async fn listeners_use_the_configured_backlog() {
        let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .expect("somaxconn")
            .trim()
            .parse()
            .expect("a number");
        let default = Server::builder()
            .bind_tcp("127.0.0.1:0")
            .serve_abstract(Declines)
            .await
            .expect("serve");
        assert_eq!(listen_queue(default.ports()[0]), 1024.min(somaxconn));
        let small = Server::builder()
            .listen_backlog(7)
            .bind_tcp("127.0.0.1:0")
            .serve_abstract(Declines)
            .await
            .expect("serve");
        assert_eq!(listen_queue(small.ports()[0]), 7);
        // Listeners added later use it too.
        let added = small.bind_tcp("127.0.0.1:0").await.expect("bind");
        assert_eq!(listen_queue(added.port().expect("a port")), 7);
    }
}
