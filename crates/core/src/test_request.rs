//! [`TestRequest`]: requests for [`respond`](crate::respond) and tower services in tests,
//! with the connection facts a socket would give.

use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http_body_util::Full;
use postern_limits::client_ip::PeerAddr;

use crate::{ConnectionInfo, Transport};

/// Builds a request as a connection would hand it over, for
/// [`respond`](crate::respond) or any tower service, without sockets.
///
/// With [`peer`](Self::peer) the request carries the client's address both as the
/// [`ConnectionInfo`] handlers read ([`Request::remote_addr`](crate::Request::remote_addr))
/// and as the `postern_limits` peer address the limit layers key on, so a
/// [`LimitsLayer`](postern_limits::stack::LimitsLayer) around an
/// [`HttpService`](crate::HttpService) can be tested too. Defaults: no peer (the limit layers
/// then answer 500, as they do for a connection that gives none), no local address,
/// transport [`Transport::Tcp`] once a peer is set, HTTP/1.1, an empty body.
///
/// ```
/// use http::StatusCode;
/// use postern_core::{AbstractHttpServer, Handled, Request, Responder, TestRequest, respond};
///
/// struct WhoAmI;
/// impl AbstractHttpServer for WhoAmI {
///     async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
///         let peer = request.remote_addr().map(|addr| addr.ip().to_string());
///         responder.write_with_mime(peer.unwrap_or_default(), "text/plain", StatusCode::OK);
///         Handled::Yes
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// use http_body_util::BodyExt;
/// let request = TestRequest::get("/me").peer("10.0.0.7:5000".parse()?).build()?;
/// let response = respond(&WhoAmI, request).await;
/// assert_eq!(response.into_body().collect().await?.to_bytes(), "10.0.0.7");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct TestRequest {
    builder: http::request::Builder,
    body: Bytes,
    peer: Option<SocketAddr>,
    local: Option<SocketAddr>,
    transport: Transport,
}

impl TestRequest {
    /// A request with this method and target (`/path?query`, or an absolute URL).
    pub fn new(method: http::Method, target: &str) -> Self {
        Self {
            builder: http::Request::builder().method(method).uri(target),
            body: Bytes::new(),
            peer: None,
            local: None,
            transport: Transport::Unknown,
        }
    }

    /// A GET request.
    pub fn get(target: &str) -> Self {
        Self::new(http::Method::GET, target)
    }

    /// A POST request.
    pub fn post(target: &str) -> Self {
        Self::new(http::Method::POST, target)
    }

    /// Adds a header (kept beside earlier values of the same name).
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        K::Error: Into<http::Error>,
        V: TryInto<HeaderValue>,
        V::Error: Into<http::Error>,
    {
        self.builder = self.builder.header(name, value);
        self
    }

    /// The body, read whole by the server as a client's would be.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The client's address; the transport becomes TCP unless [`transport`](Self::transport)
    /// says otherwise.
    pub fn peer(mut self, addr: SocketAddr) -> Self {
        self.peer = Some(addr);
        if self.transport == Transport::Unknown {
            self.transport = Transport::Tcp;
        }
        self
    }

    /// The server's own address ([`Request::local_addr`](crate::Request::local_addr)).
    pub fn local(mut self, addr: SocketAddr) -> Self {
        self.local = Some(addr);
        self
    }

    /// The listener kind ([`Request::scheme`](crate::Request::scheme) is `https` for
    /// [`Transport::Tls`]).
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// The request.
    ///
    /// # Errors
    /// A method, target or header that is not valid HTTP.
    pub fn build(self) -> Result<http::Request<Full<Bytes>>, http::Error> {
        let connection = ConnectionInfo::new(self.transport, self.peer, self.local, None);
        let mut builder = self.builder.extension(connection);
        if let Some(peer) = self.peer {
            builder = builder.extension(PeerAddr(peer));
        }
        builder.body(Full::new(self.body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_the_connection_facts() {
        let peer: SocketAddr = "10.0.0.7:5000".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let request = TestRequest::post("/x?y=1")
            .header("x-a", "1")
            .body("hi")
            .peer(peer)
            .local(local)
            .build()
            .unwrap();
        assert_eq!(
            (
                request.method(),
                request.uri().to_string(),
                request.headers()["x-a"].to_str().unwrap()
            ),
            (&http::Method::POST, "/x?y=1".to_owned(), "1")
        );
        let info = request.extensions().get::<ConnectionInfo>().unwrap();
        assert_eq!(
            (info.transport(), info.remote_addr(), info.local_addr()),
            (Transport::Tcp, Some(peer), Some(local))
        );
        assert_eq!(
            request.extensions().get::<PeerAddr>(),
            Some(&PeerAddr(peer))
        );

        let bare = TestRequest::get("/").build().unwrap();
        let info = bare.extensions().get::<ConnectionInfo>().unwrap();
        assert_eq!(
            (info.transport(), info.remote_addr()),
            (Transport::Unknown, None)
        );
        assert!(bare.extensions().get::<PeerAddr>().is_none());
        assert!(
            TestRequest::get("/")
                .header("bad name", "x")
                .build()
                .is_err()
        );
    }
}
