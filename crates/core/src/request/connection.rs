//! Facts about the connection a request arrived on.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::body::BodyBudget;

/// The kind of listener a connection came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// Plain TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// A Unix domain socket.
    Unix,
    /// Not known (a request built by hand, for example in tests).
    Unknown,
}

/// What TLS negotiated on a connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The ALPN protocol agreed on (`b"h2"`, `b"http/1.1"`), if any.
    pub alpn: Option<Vec<u8>>,
    /// The server name the client asked for (SNI), if any.
    pub sni: Option<String>,
    /// The client's certificate chain in DER, leaf first (empty unless the
    /// server asks for client certificates).
    pub peer_certificates: Vec<Vec<u8>>,
    /// The TLS version, such as `"TLSv1_3"`.
    pub protocol_version: Option<String>,
}

#[derive(Debug)]
struct Inner {
    transport: Transport,
    remote: Option<SocketAddr>,
    local: Option<SocketAddr>,
    /// Boxed: most connections have none, and every connection's facts
    /// live as long as it does.
    tls: Option<Box<TlsInfo>>,
    /// The budget of the server the connection came to, for its buffered
    /// request bodies.
    budget: Option<Arc<BodyBudget>>,
}

/// Facts about one connection, shared by all of its requests.
///
/// Fixed once when the connection opens. A service run with
/// [`ServerBuilder::serve`](crate::ServerBuilder::serve) finds it in every
/// request's extensions (`req.extensions().get::<ConnectionInfo>()`); an
/// [`AbstractHttpServer`](crate::AbstractHttpServer)'s handlers read
/// [`Request::connection`](crate::Request::connection). Cloning is an `Arc`
/// clone.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    inner: Arc<Inner>,
}

impl Default for ConnectionInfo {
    fn default() -> Self {
        ConnectionInfo::new(Transport::Unknown, None, None, None)
    }
}

impl ConnectionInfo {
    /// Describe a connection.
    pub fn new(
        transport: Transport,
        remote: Option<SocketAddr>,
        local: Option<SocketAddr>,
        tls: Option<TlsInfo>,
    ) -> Self {
        ConnectionInfo {
            inner: Arc::new(Inner {
                transport,
                remote,
                local,
                tls: tls.map(Box::new),
                budget: None,
            }),
        }
    }

    /// This connection, accepted by a server whose buffered request bodies
    /// count against `budget`.
    pub(crate) fn with_budget(self, budget: &Arc<BodyBudget>) -> Self {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                inner.budget = Some(Arc::clone(budget));
                ConnectionInfo {
                    inner: Arc::new(inner),
                }
            }
            Err(shared) => ConnectionInfo {
                inner: Arc::new(Inner {
                    transport: shared.transport,
                    remote: shared.remote,
                    local: shared.local,
                    tls: shared.tls.clone(),
                    budget: Some(Arc::clone(budget)),
                }),
            },
        }
    }

    /// The budget of the server the connection came to.
    pub(crate) fn budget(&self) -> Option<&Arc<BodyBudget>> {
        self.inner.budget.as_ref()
    }

    /// The listener kind.
    pub fn transport(&self) -> Transport {
        self.inner.transport
    }

    /// The peer's address; `None` on Unix sockets.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.inner.remote
    }

    /// Our end's address; `None` on Unix sockets.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.inner.local
    }

    /// TLS facts, on TLS connections only.
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.inner.tls.as_deref()
    }

    /// `"https"` on TLS connections, `"http"` otherwise.
    pub fn scheme(&self) -> &'static str {
        if self.inner.transport == Transport::Tls {
            "https"
        } else {
            "http"
        }
    }

    /// The address limits should key this client by: the peer address, or
    /// `127.0.0.1:0` on Unix sockets (as Qt counts local clients as
    /// localhost).
    pub fn client_addr(&self) -> Option<SocketAddr> {
        match self.inner.transport {
            Transport::Unix => Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            _ => self.inner.remote,
        }
    }

    /// Reads [`client_addr`](Self::client_addr) out of a request's
    /// `ConnectionInfo` extension: a `postern_limits` peer accessor for limit
    /// layers nested inside a service run with
    /// [`ServerBuilder::serve`](crate::ServerBuilder::serve), which inserts
    /// that extension (the server's own limits need none).
    pub fn peer_from_extensions(extensions: &http::Extensions) -> Option<SocketAddr> {
        extensions
            .get::<ConnectionInfo>()
            .and_then(ConnectionInfo::client_addr)
    }
}
