//! Listeners and their accept loops.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use super::ServeService;
use super::conn::{Ending, serve_connection};
use super::shared::{LiveGuard, Phase, Shared};
use crate::{ConnectionInfo, Transport};
use postern_limits::{ConnectionPermit, ConnectionRefused};

/// Where a listener accepts connections.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListenAddr {
    /// Plain TCP.
    Tcp(SocketAddr),
    /// TLS over TCP.
    Tls(SocketAddr),
    /// A Unix domain socket at this path.
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
    Tls(TcpListener, super::tls::TlsConfig),
    #[cfg(unix)]
    Unix(tokio::net::UnixListener, PathBuf),
}

impl Bound {
    pub(crate) fn addr(&self) -> std::io::Result<ListenAddr> {
        Ok(match self {
            Bound::Tcp(l) => ListenAddr::Tcp(l.local_addr()?),
            #[cfg(feature = "tls")]
            Bound::Tls(l, _) => ListenAddr::Tls(l.local_addr()?),
            #[cfg(unix)]
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
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

async fn accept_one(bound: &Bound) -> std::io::Result<Accepted> {
    match bound {
        Bound::Tcp(listener) => listener.accept().await.map(|(s, a)| Accepted::Tcp(s, a)),
        #[cfg(feature = "tls")]
        Bound::Tls(listener, _) => listener.accept().await.map(|(s, a)| Accepted::Tcp(s, a)),
        #[cfg(unix)]
        Bound::Unix(listener, _) => listener.accept().await.map(|(s, _)| Accepted::Unix(s)),
    }
}

/// Serve `io` in a task of its own, counted as a live connection and
/// holding its connection-limit permit until it ends.
fn spawn_connection<S, I>(
    shared: &Arc<Shared<S>>,
    io: I,
    info: ConnectionInfo,
    permit: ConnectionPermit,
) where
    S: ServeService,
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let shared = Arc::clone(shared);
    let guard = LiveGuard::new(&shared);
    tokio::spawn(async move {
        let _guard = guard;
        let _permit = permit;
        if serve_connection(Arc::clone(&shared), io, info).await == Ending::Cut {
            shared.count_cut();
        }
    });
}

/// Answer a connection over the caps the way its protocol understands:
/// HTTP/1 gets `429` with `connection: close`, an HTTP/2 client a GOAWAY with
/// ENHANCE_YOUR_CALM; then the connection is closed.
async fn refuse<I>(mut io: I, wait: Duration)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const HTTP1_429: &[u8] =
        b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/x-empty\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
    // An empty SETTINGS frame (the server preface), then GOAWAY with last
    // stream 0 and error ENHANCE_YOUR_CALM (0xb).
    const H2_GOAWAY: &[u8] = &[
        0, 0, 0, 0x4, 0, 0, 0, 0, 0, //
        0, 0, 8, 0x7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b,
    ];
    let reply = match tokio::time::timeout(wait, super::rewind::sniff(&mut io)).await {
        Ok(Ok(Some((super::rewind::Protocol::Http2, _, _)))) => H2_GOAWAY,
        Ok(Ok(Some(_))) => HTTP1_429,
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

/// Refusals answered at once; past this many, refused connections are
/// closed without an answer, so a flood over the caps cannot pile up tasks.
const MAX_PENDING_REFUSALS: usize = 256;
static PENDING_REFUSALS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Answer a refused connection in a task of its own, or drop it when too
/// many refusals are already pending.
fn refuse_bounded<I>(io: I, wait: Duration)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use std::sync::atomic::Ordering;
    if PENDING_REFUSALS.fetch_add(1, Ordering::AcqRel) >= MAX_PENDING_REFUSALS {
        PENDING_REFUSALS.fetch_sub(1, Ordering::AcqRel);
        return;
    }
    tokio::spawn(async move {
        refuse(io, wait).await;
        PENDING_REFUSALS.fetch_sub(1, Ordering::AcqRel);
    });
}

fn admit<S>(
    shared: &Shared<S>,
    client: Option<std::net::IpAddr>,
) -> Result<ConnectionPermit, ConnectionRefused> {
    shared.limiter.try_acquire(client).inspect_err(|refused| {
        tracing::info!(target: "postern::server", %refused, "closing socket");
    })
}

/// Accept until the server stops running.
pub(crate) async fn accept_loop<S>(shared: Arc<Shared<S>>, bound: Bound)
where
    S: ServeService,
{
    let mut phase = shared.phase.subscribe();
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
        let wait = shared
            .snapshot()
            .config
            .timeouts
            .first_byte
            .min(Duration::from_secs(2));
        match (accepted, &bound) {
            #[cfg(feature = "tls")]
            (Accepted::Tcp(stream, peer), Bound::Tls(_, tls)) => {
                // Refused before the handshake: no CPU spent on it, no answer.
                let Ok(permit) = admit(&shared, Some(peer.ip())) else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let local = stream.local_addr().ok();
                let acceptor = tls.acceptor();
                let handshake = shared.snapshot().config.timeouts.tls_handshake;
                let guard = LiveGuard::new(&shared);
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _guard = guard;
                    let _permit = permit;
                    let phase = shared.phase.subscribe();
                    let handshaken = tokio::select! {
                        handshaken = tokio::time::timeout(handshake, acceptor.accept(stream)) => handshaken,
                        () = super::conn::stopped(phase) => return,
                    };
                    let tls_stream = match handshaken {
                        Ok(Ok(tls_stream)) => tls_stream,
                        Ok(Err(error)) => {
                            tracing::debug!(target: "postern::server", %peer, %error, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(target: "postern::server", %peer, "TLS handshake timed out: closing");
                            return;
                        }
                    };
                    let tls = super::tls::tls_info(tls_stream.get_ref().1);
                    let info = ConnectionInfo::new(Transport::Tls, Some(peer), local, Some(tls));
                    if serve_connection(Arc::clone(&shared), tls_stream, info).await == Ending::Cut
                    {
                        shared.count_cut();
                    }
                });
            }
            (Accepted::Tcp(stream, peer), _) => {
                let _ = stream.set_nodelay(true);
                match admit(&shared, Some(peer.ip())) {
                    Ok(permit) => {
                        let local = stream.local_addr().ok();
                        let info = ConnectionInfo::new(Transport::Tcp, Some(peer), local, None);
                        spawn_connection(&shared, stream, info, permit);
                    }
                    Err(_) => {
                        refuse_bounded(stream, wait);
                    }
                }
            }
            #[cfg(unix)]
            (Accepted::Unix(stream), _) => match admit(&shared, None) {
                Ok(permit) => {
                    let info = ConnectionInfo::new(Transport::Unix, None, None, None);
                    spawn_connection(&shared, stream, info, permit);
                }
                Err(_) => {
                    refuse_bounded(stream, wait);
                }
            },
        }
    }
}
