//! Listeners and their accept loops.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use super::conn::{Ending, serve_connection};
use super::make::MakeConnService;
#[cfg(feature = "tls")]
use super::rewind::Protocol;
use super::shared::{LiveGuard, Phase, Shared};
use super::stream::Stream;
use crate::{ConnectionInfo, Transport};
use postern_limits::connections::{ConnectionPermit, ConnectionRefused};

/// Where a listener accepts connections.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListenAddr {
    /// Plain TCP.
    Tcp(SocketAddr),
    /// TLS over TCP.
    Tls(SocketAddr),
    /// A Unix domain socket at this path (bound only with the `unix`
    /// feature).
    Unix(PathBuf),
}

impl ListenAddr {
    /// The TCP port; `None` for Unix sockets.
    pub fn port(&self) -> Option<u16> {
        match self {
            ListenAddr::Tcp(a) | ListenAddr::Tls(a) => Some(a.port()),
            ListenAddr::Unix(_) => None,
        }
    }

    /// The socket address; `None` for Unix sockets.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self {
            ListenAddr::Tcp(a) | ListenAddr::Tls(a) => Some(*a),
            ListenAddr::Unix(_) => None,
        }
    }
}

impl fmt::Display for ListenAddr {
    /// A URL: `http://127.0.0.1:8080`, `https://[::1]:8443`, `unix:/run/app.sock`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Tcp(a) => write!(f, "http://{a}"),
            ListenAddr::Tls(a) => write!(f, "https://{a}"),
            ListenAddr::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

pub(crate) enum Bound {
    Tcp(TcpListener),
    #[cfg(feature = "tls")]
    Tls(TcpListener, Arc<super::tls::TlsSlot>),
    #[cfg(all(unix, feature = "unix"))]
    Unix(tokio::net::UnixListener, PathBuf),
}

impl Bound {
    pub(crate) fn addr(&self) -> std::io::Result<ListenAddr> {
        Ok(match self {
            Bound::Tcp(l) => ListenAddr::Tcp(l.local_addr()?),
            #[cfg(feature = "tls")]
            Bound::Tls(l, _) => ListenAddr::Tls(l.local_addr()?),
            #[cfg(all(unix, feature = "unix"))]
            Bound::Unix(_, path) => ListenAddr::Unix(path.clone()),
        })
    }
}

/// Errors on accept that concern one connection, not the listener.
fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    )
}

enum Accepted {
    Tcp(tokio::net::TcpStream, SocketAddr),
    #[cfg(all(unix, feature = "unix"))]
    Unix(tokio::net::UnixStream),
}

async fn accept_one(bound: &Bound) -> std::io::Result<Accepted> {
    match bound {
        Bound::Tcp(listener) => listener.accept().await.map(|(s, a)| Accepted::Tcp(s, a)),
        #[cfg(feature = "tls")]
        Bound::Tls(listener, _) => listener.accept().await.map(|(s, a)| Accepted::Tcp(s, a)),
        #[cfg(all(unix, feature = "unix"))]
        Bound::Unix(listener, _) => listener.accept().await.map(|(s, _)| Accepted::Unix(s)),
    }
}

/// Run one connection (`serve`: its TLS handshake if any, then its
/// requests) in a task of its own, counted as a live connection and holding
/// its connection-limit permit until it ends. Every connection starts here.
fn spawn_connection<M, F>(shared: &Arc<Shared<M>>, permit: ConnectionPermit, serve: F)
where
    M: MakeConnService,
    F: Future<Output = Ending> + Send + 'static,
{
    crate::responder::spawn_boxed(Counted {
        serve,
        guard: LiveGuard::new(shared),
        _permit: permit,
    });
}

/// The TLS handshake under its deadline: the stream, what TLS settled and
/// the protocol ALPN chose; `None` when it failed, timed out or the server
/// stopped first.
#[cfg(feature = "tls")]
async fn handshake<M: MakeConnService, I: Io>(
    shared: &Shared<M>,
    stream: I,
    peer: Option<SocketAddr>,
    acceptor: tokio_rustls::TlsAcceptor,
) -> Option<(
    tokio_rustls::server::TlsStream<I>,
    crate::TlsInfo,
    Option<Protocol>,
)> {
    let deadline = shared.core.snapshot().config.timeouts.tls_handshake;
    let phase = shared.core.phase.subscribe();
    let handshaken = tokio::select! {
        handshaken = tokio::time::timeout(deadline, acceptor.accept(stream)) => handshaken,
        () = super::conn::stopped(phase) => return None,
    };
    let tls_stream = match handshaken {
        Ok(Ok(tls_stream)) => tls_stream,
        Ok(Err(error)) => {
            tracing::debug!(target: "postern::server", ?peer, %error, "TLS handshake failed");
            return None;
        }
        Err(_) => {
            tracing::debug!(target: "postern::server", ?peer, "TLS handshake timed out: closing");
            return None;
        }
    };
    let tls = super::tls::tls_info(tls_stream.get_ref().1);
    let negotiated = match tls.alpn.as_deref() {
        Some(b"h2") => Some(Protocol::Http2),
        Some(b"http/1.1") => Some(Protocol::Http1),
        _ => None,
    };
    Some((tls_stream, tls, negotiated))
}

pin_project_lite::pin_project! {
    /// One connection's task: its serving future, counted live and holding
    /// its connection permit until it ends. A plain struct rather than an
    /// `async` block, which would store `serve` twice (as the captured value
    /// and as the future it awaits), doubling every connection's task.
    struct Counted<F, M> {
        #[pin]
        serve: F,
        guard: LiveGuard<M>,
        _permit: ConnectionPermit,
    }
}

impl<F: Future<Output = Ending>, M> Future for Counted<F, M> {
    type Output = ();

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        let this = self.project();
        if std::task::ready!(this.serve.poll(cx)) == Ending::Cut {
            this.guard.shared().core.count_cut();
        }
        std::task::Poll::Ready(())
    }
}

/// The TLS handshake under its deadline, then the connection's requests.
#[cfg(feature = "tls")]
async fn handshake_then_serve<M: MakeConnService>(
    shared: Arc<Shared<M>>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
) -> Ending {
    let local = stream.local_addr().ok();
    let Some((tls_stream, tls, negotiated)) =
        handshake(&shared, stream, Some(peer), acceptor).await
    else {
        return Ending::Closed;
    };
    let info = connection_info(
        &shared,
        Transport::Tls,
        Some(peer),
        local,
        Some(tls),
        none(),
    );
    serve_connection(shared, Stream::Tls(Box::new(tls_stream)), info, negotiated).await
}

/// Every listener connection's facts are built here, so that a PROXY
/// header's client address is the remote address for every layer (the
/// connection caps, the limits, the handlers, the logs).
fn connection_info<M>(
    shared: &Shared<M>,
    transport: Transport,
    peer: Option<SocketAddr>,
    local: Option<SocketAddr>,
    tls: Option<crate::TlsInfo>,
    proxied: Proxied,
) -> ConnectionInfo {
    let info = ConnectionInfo::new(transport, peer, local, tls);
    #[cfg(feature = "proxy-protocol")]
    let info = match proxied {
        Some(header) => info.with_proxy(header),
        None => info,
    };
    #[cfg(not(feature = "proxy-protocol"))]
    let NotProxied = proxied;
    info.with_budget(&shared.core.body_budget)
}

/// The PROXY header a connection started with, when the feature is on.
#[cfg(feature = "proxy-protocol")]
type Proxied = Option<crate::ProxyHeader>;
#[cfg(not(feature = "proxy-protocol"))]
type Proxied = NotProxied;

/// What a connection carries of a PROXY header without the feature: nothing
/// (a type of its own rather than `()`, which clippy refuses as an argument).
#[cfg(not(feature = "proxy-protocol"))]
#[derive(Default)]
struct NotProxied;

/// The raw HTTP/1.1 bytes of the accept loop's 429, written before hyper is
/// involved: the same empty refusal every layer sends (the test below
/// builds it from [`postern_limits::empty_response`]), as one constant
/// rather than formatted per refusal.
const HTTP1_REFUSAL: &[u8] = b"HTTP/1.1 429 Too Many Requests\r\n\
content-type: application/x-empty\r\n\
content-length: 0\r\n\
connection: close\r\n\r\n";

/// Answer a connection over the caps the way its protocol understands:
/// HTTP/1 gets `429` with `connection: close`, an HTTP/2 client a GOAWAY with
/// ENHANCE_YOUR_CALM; then the connection is closed.
async fn refuse(mut io: Stream, wait: Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // An empty SETTINGS frame (the server preface), then GOAWAY with last
    // stream 0 and error ENHANCE_YOUR_CALM (0xb).
    const H2_GOAWAY: &[u8] = &[
        0, 0, 0, 0x4, 0, 0, 0, 0, 0, //
        0, 0, 8, 0x7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b,
    ];
    let reply = match tokio::time::timeout(wait, super::rewind::sniff(&mut io)).await {
        Ok(Ok(Some((super::rewind::Protocol::Http2, _, _)))) => H2_GOAWAY,
        Ok(Ok(Some(_))) => HTTP1_REFUSAL,
        _ => return,
    };
    if io.write_all(reply).await.is_ok() && io.shutdown().await.is_ok() {
        // Let the client read the answer before the socket goes away.
        let mut sink = [0u8; 1024];
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while matches!(io.read(&mut sink).await, Ok(n) if n > 0) {}
        })
        .await;
    }
}

/// Refusals answered at once by one server; past this many, refused
/// connections are closed without an answer, so a flood over the caps
/// cannot pile up tasks.
const MAX_PENDING_REFUSALS: usize = 256;

/// Answer a refused connection in a task of its own, or drop it when too
/// many refusals are already pending on this server.
fn refuse_bounded<M: MakeConnService>(shared: &Arc<Shared<M>>, io: Stream, wait: Duration) {
    use std::sync::atomic::Ordering;
    let pending = &shared.core.pending_refusals;
    if pending.fetch_add(1, Ordering::AcqRel) >= MAX_PENDING_REFUSALS {
        pending.fetch_sub(1, Ordering::AcqRel);
        return;
    }
    /// Gives the refusal's slot back however its task ends (done, or
    /// dropped by a runtime shutting down).
    struct Slot<M>(Arc<Shared<M>>);
    impl<M> Drop for Slot<M> {
        fn drop(&mut self) {
            self.0.core.pending_refusals.fetch_sub(1, Ordering::AcqRel);
        }
    }
    let slot = Slot(Arc::clone(shared));
    crate::responder::spawn_boxed(async move {
        let _slot = slot;
        refuse(io, wait).await;
    });
}

fn admit<M>(
    shared: &Shared<M>,
    client: Option<std::net::IpAddr>,
) -> Result<ConnectionPermit, ConnectionRefused> {
    shared
        .core
        .limiter
        .try_acquire(client)
        .inspect_err(|refused| {
            tracing::info!(target: "postern::server", %refused, "closing socket");
        })
}

/// Any byte stream a connection can run on.
pub(crate) trait Io:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static
{
}

impl<I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static> Io for I {}

/// Admit and serve a connection that did not come through a listener.
pub(crate) fn serve_accepted<M: MakeConnService>(
    shared: &Arc<Shared<M>>,
    io: Box<dyn Io>,
    info: ConnectionInfo,
) {
    if *shared.core.phase.borrow() != Phase::Running {
        return;
    }
    match admit(shared, info.client_addr().map(|addr| addr.ip())) {
        Ok(permit) => {
            let info = info.with_budget(&shared.core.body_budget);
            let serve = serve_connection(Arc::clone(shared), Stream::Other(io), info, None);
            spawn_connection(shared, permit, serve);
        }
        Err(_) => refuse_bounded(shared, Stream::Other(io), refusal_wait(shared)),
    }
}

/// Accept until the server stops running.
pub(crate) async fn accept_loop<M: MakeConnService>(
    shared: Arc<Shared<M>>,
    bound: Bound,
    proxy: Option<ProxyOptions>,
) {
    #[cfg(not(feature = "proxy-protocol"))]
    let _ = proxy;
    let mut phase = shared.core.phase.subscribe();
    loop {
        if *phase.borrow_and_update() != Phase::Running {
            return;
        }
        let accepted = tokio::select! {
            changed = phase.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
            accepted = accept_one(&bound) => accepted,
        };
        let accepted = match accepted {
            Ok(accepted) => accepted,
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                // Out of file descriptors and the like: back off, don't spin.
                tracing::error!(target: "postern::server", %error, "accept failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        #[cfg(feature = "proxy-protocol")]
        let accepted = match proxy.as_ref() {
            Some(proxy) => match proxy_first(&shared, accepted, &bound, proxy) {
                Some(direct) => direct,
                None => continue,
            },
            None => accepted,
        };
        match (accepted, &bound) {
            #[cfg(feature = "tls")]
            (Accepted::Tcp(stream, peer), Bound::Tls(_, tls)) => {
                // Refused before the handshake: no CPU spent on it, no answer.
                let Ok(permit) = admit(&shared, Some(peer.ip())) else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let serve = handshake_then_serve(Arc::clone(&shared), stream, peer, tls.acceptor());
                spawn_connection(&shared, permit, serve);
            }
            (Accepted::Tcp(stream, peer), _) => {
                let _ = stream.set_nodelay(true);
                match admit(&shared, Some(peer.ip())) {
                    Ok(permit) => {
                        let local = stream.local_addr().ok();
                        let info = connection_info(
                            &shared,
                            Transport::Tcp,
                            Some(peer),
                            local,
                            None,
                            none(),
                        );
                        let serve =
                            serve_connection(Arc::clone(&shared), Stream::Tcp(stream), info, None);
                        spawn_connection(&shared, permit, serve);
                    }
                    Err(_) => refuse_bounded(&shared, Stream::Tcp(stream), refusal_wait(&shared)),
                }
            }
            #[cfg(all(unix, feature = "unix"))]
            (Accepted::Unix(stream), _) => match admit(&shared, None) {
                Ok(permit) => {
                    let info = connection_info(&shared, Transport::Unix, None, None, None, none());
                    let serve =
                        serve_connection(Arc::clone(&shared), Stream::Unix(stream), info, None);
                    spawn_connection(&shared, permit, serve);
                }
                Err(_) => refuse_bounded(&shared, Stream::Unix(stream), refusal_wait(&shared)),
            },
        }
    }
}

/// How long a refused connection may take to show its protocol.
fn refusal_wait<M>(shared: &Shared<M>) -> Duration {
    shared
        .core
        .snapshot()
        .config
        .timeouts
        .first_byte
        .min(Duration::from_secs(2))
}

/// The listener's PROXY protocol settings, when the feature is on.
#[cfg(feature = "proxy-protocol")]
pub(crate) type ProxyOptions = Arc<crate::ProxyProtocol>;
#[cfg(not(feature = "proxy-protocol"))]
pub(crate) type ProxyOptions = std::convert::Infallible;

/// No PROXY header.
fn none() -> Proxied {
    Proxied::default()
}

/// On a listener with the PROXY protocol: a trusted peer's connection goes
/// to a task that reads its header first (`ProxiedConn::run`); an untrusted
/// one is dropped when the listener is proxy-only, or handed back to be
/// served as a direct client.
#[cfg(feature = "proxy-protocol")]
fn proxy_first<M: MakeConnService>(
    shared: &Arc<Shared<M>>,
    accepted: Accepted,
    bound: &Bound,
    proxy: &ProxyOptions,
) -> Option<Accepted> {
    let peer = match &accepted {
        Accepted::Tcp(_, peer) => Some(*peer),
        #[cfg(all(unix, feature = "unix"))]
        Accepted::Unix(_) => None,
    };
    // A Unix socket's peers are all trusted: its file's permissions decide
    // who connects.
    if peer.is_some_and(|peer| !proxy.trusts(peer.ip())) {
        if proxy.is_proxy_only() {
            tracing::debug!(target: "postern::server", ?peer, "not a trusted proxy on a proxy-only listener: closing");
            return None;
        }
        return Some(accepted);
    }
    #[cfg(feature = "tls")]
    let acceptor = match bound {
        Bound::Tls(_, tls) => Some(tls.acceptor()),
        _ => None,
    };
    #[cfg(not(feature = "tls"))]
    let acceptor: Option<Acceptor> = {
        let _ = bound;
        None
    };
    let guard = LiveGuard::new(shared);
    let shared = Arc::clone(shared);
    let proxy = Arc::clone(proxy);
    crate::responder::spawn_boxed(async move {
        let _guard = guard;
        let ending = match accepted {
            Accepted::Tcp(stream, peer) => {
                let _ = stream.set_nodelay(true);
                let serve = ProxiedConn {
                    transport: match acceptor {
                        Some(_) => Transport::Tls,
                        None => Transport::Tcp,
                    },
                    peer: Some(peer),
                    local: stream.local_addr().ok(),
                };
                serve.run(&shared, stream, &proxy, acceptor).await
            }
            #[cfg(all(unix, feature = "unix"))]
            Accepted::Unix(stream) => {
                let serve = ProxiedConn {
                    transport: Transport::Unix,
                    peer: None,
                    local: None,
                };
                serve.run(&shared, stream, &proxy, None).await
            }
        };
        finish(&shared, ending);
    });
    None
}

#[cfg(feature = "proxy-protocol")]
fn finish<M>(shared: &Shared<M>, ending: Ending) {
    if ending == Ending::Cut {
        shared.core.count_cut();
    }
}

/// What a TLS listener handshakes with (nothing without the feature).
#[cfg(all(feature = "proxy-protocol", feature = "tls"))]
type Acceptor = tokio_rustls::TlsAcceptor;
#[cfg(all(feature = "proxy-protocol", not(feature = "tls")))]
type Acceptor = std::convert::Infallible;

/// A trusted peer's connection, before its PROXY header is read.
#[cfg(feature = "proxy-protocol")]
struct ProxiedConn {
    transport: Transport,
    peer: Option<SocketAddr>,
    local: Option<SocketAddr>,
}

#[cfg(feature = "proxy-protocol")]
impl ProxiedConn {
    /// Read the header under its timeout, admit the client it names against
    /// the connection caps, then (TLS) handshake and serve. The stream is
    /// boxed: one more instance of the connection engine for every stream
    /// type would cost far more code than a call through a pointer per read.
    async fn run<M: MakeConnService, I: Io>(
        self,
        shared: &Arc<Shared<M>>,
        stream: I,
        proxy: &crate::ProxyProtocol,
        acceptor: Option<Acceptor>,
    ) -> Ending {
        let ProxiedConn {
            transport,
            peer,
            local,
        } = self;
        let phase = shared.core.phase.subscribe();
        let read = tokio::select! {
            read = super::proxy::read_proxy_header(stream, peer, proxy.timeout()) => read,
            () = super::conn::stopped(phase) => return Ending::Closed,
        };
        let (header, stream) = match read {
            Ok(read) => read,
            Err(error) => {
                tracing::debug!(target: "postern::server", ?peer, %error, "PROXY header refused: closing");
                return Ending::Closed;
            }
        };
        let client = header.source().or(peer);
        let io: Box<dyn Io> = Box::new(stream);
        let Ok(permit) = admit(shared, client.map(|client| client.ip())) else {
            // As without the header: TLS is refused before its handshake,
            // plain connections get the caps' answer.
            if acceptor.is_none() {
                refuse_bounded(shared, Stream::Other(io), refusal_wait(shared));
            }
            return Ending::Closed;
        };
        let _permit = permit;
        match acceptor {
            #[cfg(feature = "tls")]
            Some(acceptor) => {
                let Some((tls_stream, tls, negotiated)) =
                    handshake(shared, io, client, acceptor).await
                else {
                    return Ending::Closed;
                };
                let info = connection_info(shared, transport, peer, local, Some(tls), Some(header));
                let io: Box<dyn Io> = Box::new(tls_stream);
                serve_connection(Arc::clone(shared), Stream::Other(io), info, negotiated).await
            }
            #[cfg(not(feature = "tls"))]
            Some(never) => match never {},
            None => {
                let info = connection_info(shared, transport, peer, local, None, Some(header));
                serve_connection(Arc::clone(shared), Stream::Other(io), info, None).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HTTP1_REFUSAL;

    /// The constant is the layers' empty 429, head for head.
    #[test]
    fn http1_refusal_is_the_layers_empty_429() {
        let response = postern_limits::empty_response(
            http::StatusCode::TOO_MANY_REQUESTS,
            http::Version::HTTP_11,
            true,
            (),
        );
        let mut expected = format!("HTTP/1.1 {}\r\n", response.status()).into_bytes();
        for (name, value) in response.headers() {
            expected.extend_from_slice(name.as_str().as_bytes());
            expected.extend_from_slice(b": ");
            expected.extend_from_slice(value.as_bytes());
            expected.extend_from_slice(b"\r\n");
        }
        expected.extend_from_slice(b"\r\n");
        assert_eq!(
            String::from_utf8_lossy(HTTP1_REFUSAL),
            String::from_utf8_lossy(&expected)
        );
    }
}
