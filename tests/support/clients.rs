//! Clients: TLS certificates and client configs (the ring provider passed
//! explicitly, never the process default), hyper HTTP/1 and HTTP/2 client
//! connections, reqwest, and TCP connections from a chosen source address.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::{LIMIT, within};

/// A self-signed certificate for `localhost` and 127.0.0.1, PEM and DER.
#[derive(Debug, Clone)]
pub(crate) struct TestCert {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
    pub(crate) cert_der: CertificateDer<'static>,
}

/// Make a fresh self-signed certificate with rcgen.
pub(crate) fn test_cert() -> TestCert {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("rcgen certificate");
    TestCert {
        cert_pem: certified.cert.pem(),
        key_pem: certified.signing_key.serialize_pem(),
        cert_der: certified.cert.der().clone(),
    }
}

/// The server side: `TlsConfig::from_pem` (offers ALPN h2 and http/1.1).
pub(crate) fn server_tls(cert: &TestCert) -> postern_core::TlsConfig {
    postern_core::TlsConfig::from_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes())
        .expect("TlsConfig from PEM")
}

/// A rustls client trusting `cert` only, offering exactly `alpn`, with the
/// ring provider passed explicitly (never the process default).
pub(crate) fn client_tls(cert: &TestCert, alpn: &[&[u8]]) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(cert.cert_der.clone())
        .expect("trust the test cert");
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

/// Connect with TLS to `addr`, sending SNI `server_name`.
pub(crate) async fn tls_connect(
    addr: SocketAddr,
    config: rustls::ClientConfig,
    server_name: &str,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from(server_name.to_owned()).expect("server name");
    within("TLS handshake", connector.connect(name, tcp))
        .await
        .expect("TLS handshake")
}

/// A request with an empty body.
pub(crate) fn get(uri: &str) -> http::Request<Full<Bytes>> {
    http::Request::get(uri)
        .body(Full::new(Bytes::new()))
        .expect("request")
}

/// An HTTP/1 hyper client connection over `io`; the connection runs in a
/// task of its own.
pub(crate) async fn h1_client<I>(io: I) -> hyper::client::conn::http1::SendRequest<Full<Bytes>>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, conn) = within(
        "HTTP/1 handshake",
        hyper::client::conn::http1::handshake(TokioIo::new(io)),
    )
    .await
    .expect("HTTP/1 client handshake");
    tokio::spawn(conn);
    send
}

/// An HTTP/2 hyper client connection over `io`; returns the task driving the
/// connection too, which ends when the server closes it.
pub(crate) async fn h2_client<I>(
    io: I,
) -> (
    hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    tokio::task::JoinHandle<Result<(), hyper::Error>>,
)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, conn) = within(
        "HTTP/2 handshake",
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io)),
    )
    .await
    .expect("HTTP/2 client handshake");
    (send, tokio::spawn(conn))
}

/// An h2c (HTTP/2 with prior knowledge) client connection to `addr`, and
/// the task driving it.
pub(crate) async fn h2c(
    addr: SocketAddr,
) -> (
    hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    tokio::task::JoinHandle<Result<(), hyper::Error>>,
) {
    let tcp = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    h2_client(tcp).await
}

/// A reqwest client with the ring provider installed explicitly through a
/// preconfigured rustls config (trusting `cert` when given, offering `alpn`),
/// no proxies.
pub(crate) fn reqwest_client(
    cert: Option<&TestCert>,
    alpn: &[&[u8]],
    configure: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
) -> reqwest::Client {
    let tls = match cert {
        Some(cert) => client_tls(cert, alpn),
        None => {
            let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
            config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
            config
        }
    };
    configure(
        reqwest::Client::builder()
            .no_proxy()
            .timeout(LIMIT)
            .tls_backend_preconfigured(tls),
    )
    .build()
    .expect("reqwest client")
}

/// Connect over TCP to `addr` from a socket bound to `local` (port 0), such as
/// 127.0.0.2, so that the server sees another client address.
pub(crate) async fn connect_from(local: IpAddr, addr: SocketAddr) -> TcpStream {
    let socket = match local {
        IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .expect("a client socket");
    socket
        .bind(SocketAddr::new(local, 0))
        .unwrap_or_else(|e| panic!("bind the client socket to {local}: {e}"));
    let stream = within("connect", socket.connect(addr))
        .await
        .expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// Run a TLS handshake over `tcp`, sending SNI `server_name`; the error
/// instead of a panic when it fails. Bounded by [`LIMIT`].
pub(crate) async fn try_tls_handshake(
    tcp: TcpStream,
    config: rustls::ClientConfig,
    server_name: &str,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from(server_name.to_owned()).expect("server name");
    within("TLS handshake", connector.connect(name, tcp)).await
}

/// An HTTP/2 extended CONNECT (RFC 8441) opening a WebSocket at `uri`
/// (`http://host:port/path` or `https://…`).
pub(crate) fn extended_connect(uri: &str) -> http::Request<http_body_util::Empty<Bytes>> {
    let mut request = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(uri)
        .version(http::Version::HTTP_2)
        .header("sec-websocket-version", "13")
        .body(http_body_util::Empty::new())
        .expect("request");
    request
        .extensions_mut()
        .insert(hyper::ext::Protocol::from_static("websocket"));
    request
}
