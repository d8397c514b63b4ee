//! Helpers shared by the root package's integration test binaries
//! (`tests/core`, `tests/core_refusal_cap.rs`, `tests/examples`): starting servers on
//! 127.0.0.1:0, a raw HTTP/1 client over any stream, test certificates, TLS
//! client configs with the ring provider passed explicitly, hyper and reqwest
//! clients, and a general-purpose test server.
//!
//! Every helper that waits is bounded by [`LIMIT`].

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use postern_core::config::Timeouts;
use postern_core::{
    AbstractHttpServer, Configuration, Handled, HttpService, Request, Responder, RunningServer,
    Server,
};
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The longest any single client step may take before the test fails.
pub(crate) const LIMIT: Duration = Duration::from_secs(10);

/// Await `future`, failing the test if it takes longer than [`LIMIT`].
pub(crate) async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: nothing within {LIMIT:?}"),
    }
}

/// Logs to the test output when `RUST_LOG` is set (`RUST_LOG=postern=debug`).
pub(crate) fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Names the table case run while it is alive: when the case fails, the
/// test's output says which (`let _case = case(name);` at the top of the
/// loop body).
pub(crate) fn case(name: impl Display) -> Case {
    Case(name.to_string())
}

/// See [`case`].
#[derive(Debug)]
pub(crate) struct Case(String);

impl Drop for Case {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("^ in case: {}", self.0);
        }
    }
}

// ---------------------------------------------------------------------------
// Servers

/// Serve `server` on one TCP listener at 127.0.0.1:0 with the default
/// configuration.
pub(crate) async fn start<T: AbstractHttpServer>(server: T) -> RunningServer<HttpService<T>> {
    start_with(Configuration::default(), server).await
}

/// Serve `server` on one TCP listener at 127.0.0.1:0 with `configuration`.
pub(crate) async fn start_with<T: AbstractHttpServer>(
    configuration: Configuration,
    server: T,
) -> RunningServer<HttpService<T>> {
    init_tracing();
    Server::builder()
        .configuration(configuration)
        .bind_tcp("127.0.0.1:0")
        .serve(HttpService::new(server))
        .await
        .expect("the server starts")
}

/// The socket address of the server's first listener.
pub(crate) fn addr<S: Clone>(running: &RunningServer<S>) -> SocketAddr {
    running.listeners()[0]
        .socket_addr()
        .expect("the first listener is TCP or TLS")
}

/// The default configuration with its timeouts changed by `change`.
pub(crate) fn with_timeouts(change: impl FnOnce(&mut Timeouts)) -> Configuration {
    let mut timeouts = Timeouts::default();
    change(&mut timeouts);
    Configuration::default().with_timeouts(timeouts)
}

/// A fresh directory under the system temp dir, for Unix sockets.
pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("postern-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

// ---------------------------------------------------------------------------
// The general test server

/// Answers a few fixed paths and declines the rest (so the default missing
/// handler answers 404):
///
/// - `/hello`: `hello`, `content-type: text/plain`, `x-test: yes`
/// - `/echo`: the request body, `x-method: <method>`
/// - `/info`: [`facts`] as JSON
/// - `/slow?ms=N`: `slow N` after N ms, written from a spawned task
/// - `/drop`: drops the responder without writing
/// - `/stream`: three chunks then `done\n` and trailer `x-chunk-count: 3`,
///   announced with `trailer: x-chunk-count`
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TestServer;

impl AbstractHttpServer for TestServer {
    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        match request.path() {
            "/hello" => {
                let mut headers = HeaderMap::new();
                headers.insert("content-type", HeaderValue::from_static("text/plain"));
                headers.insert("x-test", HeaderValue::from_static("yes"));
                responder.write("hello", headers, StatusCode::OK);
            }
            "/echo" => {
                let mut headers = HeaderMap::new();
                headers.insert(
                    "x-method",
                    HeaderValue::from_str(request.http_method().as_str()).expect("method"),
                );
                responder.write(request.body().clone(), headers, StatusCode::OK);
            }
            "/info" => responder.write_json(&facts(request), StatusCode::OK),
            "/slow" => {
                let ms: u64 = request
                    .query_value("ms")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(500);
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    responder.write_with_mime(format!("slow {ms}"), "text/plain", StatusCode::OK);
                });
            }
            "/drop" => drop(responder),
            "/stream" => {
                tokio::spawn(async move {
                    let name = HeaderName::from_static("x-chunk-count");
                    let mut writer = responder.begin_chunked_with_trailers(
                        HeaderMap::new(),
                        std::slice::from_ref(&name),
                        StatusCode::OK,
                    );
                    for i in 0..3 {
                        if writer.write_chunk(format!("chunk {i}\n")).await.is_err() {
                            return;
                        }
                    }
                    let mut trailers = HeaderMap::new();
                    trailers.insert(name, HeaderValue::from_static("3"));
                    let _ = writer.end_chunked("done\n", trailers).await;
                });
            }
            _ => return Handled::No(responder),
        }
        Handled::Yes
    }
}

/// What the handler saw of a request, as JSON (the `/info` body).
pub(crate) fn facts(request: &Request) -> serde_json::Value {
    let tls = request.tls();
    serde_json::json!({
        "method": request.http_method().as_str(),
        "version": format!("{:?}", request.version()),
        "url": request.url(),
        "path": request.path(),
        "host": request.host(),
        "query": request.query_pairs(),
        "remote": request.remote_addr().map(|a| a.to_string()),
        "local": request.local_addr().map(|a| a.to_string()),
        "transport": format!("{:?}", request.connection().transport()),
        "scheme": request.scheme(),
        "alpn": tls.and_then(|t| t.alpn.as_deref()).map(|a| String::from_utf8_lossy(a).into_owned()),
        "sni": tls.and_then(|t| t.sni.clone()),
        "tls_version": tls.and_then(|t| t.protocol_version.clone()),
        "x_multi": request.value("x-multi"),
        "body": String::from_utf8_lossy(request.body()),
    })
}

// ---------------------------------------------------------------------------
// A raw HTTP/1 client

/// One HTTP/1 response as it came off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawResponse {
    /// `HTTP/1.1 200 OK`.
    pub(crate) status_line: String,
    /// The status code.
    pub(crate) status: u16,
    /// Header fields in order, names lower-cased.
    pub(crate) headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub(crate) body: Vec<u8>,
    /// The body bytes exactly as sent (chunk sizes and trailers included).
    pub(crate) raw_body: Vec<u8>,
    /// Trailer fields of a chunked body, names lower-cased.
    pub(crate) trailers: Vec<(String, String)>,
}

impl RawResponse {
    /// The first value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name`.
    pub(crate) fn header_all(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as UTF-8.
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }
}

/// A raw HTTP/1 connection: write exact bytes, parse responses exactly.
#[derive(Debug)]
pub(crate) struct Raw<S = TcpStream> {
    io: BufReader<S>,
}

impl Raw<TcpStream> {
    /// Connect over TCP.
    pub(crate) async fn connect(addr: SocketAddr) -> Raw<TcpStream> {
        let stream = within("connect", TcpStream::connect(addr))
            .await
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Raw::new(stream)
    }

    /// The client's own address.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.io.get_ref().local_addr().expect("local addr")
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Raw<S> {
    /// Wrap a connected stream.
    pub(crate) fn new(stream: S) -> Raw<S> {
        Raw {
            io: BufReader::new(stream),
        }
    }

    /// Write all of `bytes`.
    pub(crate) async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        let io = self.io.get_mut();
        within("write", async {
            io.write_all(bytes.as_ref()).await?;
            io.flush().await
        })
        .await
        .expect("write to the server");
    }

    /// Write `bytes`, then read one response (with a body, unless the status
    /// has none).
    pub(crate) async fn roundtrip(&mut self, bytes: impl AsRef<[u8]>) -> RawResponse {
        self.send(bytes).await;
        self.response().await
    }

    /// Read one response with its body (none for 1xx, 204 and 304).
    pub(crate) async fn response(&mut self) -> RawResponse {
        within("response", self.read_response(true))
            .await
            .expect("a well-formed response")
    }

    /// Read one response to a HEAD request: no body whatever the headers say.
    pub(crate) async fn head_response(&mut self) -> RawResponse {
        within("HEAD response", self.read_response(false))
            .await
            .expect("a well-formed response")
    }

    /// Read until the server closes the connection (EOF or reset); returns
    /// what arrived before that.
    pub(crate) async fn eof(&mut self) -> Vec<u8> {
        within("the server closing the connection", self.read_to_close()).await
    }

    /// Read until the connection closes; `None` if it is still open after
    /// `limit`.
    pub(crate) async fn closed_within(&mut self, limit: Duration) -> Option<Vec<u8>> {
        tokio::time::timeout(limit, self.read_to_close()).await.ok()
    }

    /// The stream, for what the helpers don't cover.
    pub(crate) fn stream(&mut self) -> &mut S {
        self.io.get_mut()
    }

    async fn read_to_close(&mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match self.io.read(&mut buf).await {
                Ok(0) | Err(_) => return rest,
                Ok(n) => rest.extend_from_slice(&buf[..n]),
            }
        }
    }

    async fn line(&mut self) -> std::io::Result<String> {
        let mut line = Vec::new();
        let n = self.io.read_until(b'\n', &mut line).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the connection closed mid-response",
            ));
        }
        if !line.ends_with(b"\r\n") {
            return Err(std::io::Error::other(format!(
                "line not ended by CRLF: {:?}",
                String::from_utf8_lossy(&line)
            )));
        }
        line.truncate(line.len() - 2);
        String::from_utf8(line).map_err(std::io::Error::other)
    }

    async fn fields(
        &mut self,
        raw: Option<&mut Vec<u8>>,
    ) -> std::io::Result<Vec<(String, String)>> {
        let mut fields = Vec::new();
        let mut raw = raw;
        loop {
            let line = self.line().await?;
            if let Some(raw) = raw.as_deref_mut() {
                raw.extend_from_slice(line.as_bytes());
                raw.extend_from_slice(b"\r\n");
            }
            if line.is_empty() {
                return Ok(fields);
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| std::io::Error::other(format!("not a header line: {line:?}")))?;
            fields.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
    }

    async fn read_response(&mut self, with_body: bool) -> std::io::Result<RawResponse> {
        let status_line = self.line().await?;
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
        let headers = self.fields(None).await?;
        let mut response = RawResponse {
            status_line,
            status,
            headers,
            body: Vec::new(),
            raw_body: Vec::new(),
            trailers: Vec::new(),
        };
        if !with_body || (100..200).contains(&status) || status == 204 || status == 304 {
            return Ok(response);
        }
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"));
        if chunked {
            loop {
                let size_line = self.line().await?;
                response.raw_body.extend_from_slice(size_line.as_bytes());
                response.raw_body.extend_from_slice(b"\r\n");
                let size_hex = size_line.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(size_hex, 16).map_err(std::io::Error::other)?;
                if size == 0 {
                    response.trailers = self.fields(Some(&mut response.raw_body)).await?;
                    return Ok(response);
                }
                let mut chunk = vec![0u8; size + 2];
                self.io.read_exact(&mut chunk).await?;
                if &chunk[size..] != b"\r\n" {
                    return Err(std::io::Error::other("chunk data not followed by CRLF"));
                }
                response.raw_body.extend_from_slice(&chunk);
                response.body.extend_from_slice(&chunk[..size]);
            }
        }
        if let Some(length) = response.header("content-length") {
            let length: usize = length.parse().map_err(std::io::Error::other)?;
            let mut body = vec![0u8; length];
            self.io.read_exact(&mut body).await?;
            response.raw_body = body.clone();
            response.body = body;
            return Ok(response);
        }
        // Delimited by the end of the connection.
        self.io.read_to_end(&mut response.body).await?;
        response.raw_body = response.body.clone();
        Ok(response)
    }
}

/// How long the server takes to close `raw`, measured from `since`; fails the
/// test if it is still open after [`LIMIT`].
pub(crate) async fn time_to_close<S: AsyncRead + AsyncWrite + Unpin>(
    raw: &mut Raw<S>,
    since: Instant,
) -> (Duration, Vec<u8>) {
    let rest = raw.eof().await;
    (since.elapsed(), rest)
}

// ---------------------------------------------------------------------------
// TLS

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

// ---------------------------------------------------------------------------
// hyper and reqwest clients

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

// ---------------------------------------------------------------------------
// Added for the limits tests

/// Serve `server` with `serve_abstract` (requests carry no `ConnectionInfo`
/// extension) on one TCP listener at 127.0.0.1:0 with `configuration`.
pub(crate) async fn start_abstract_with<T: AbstractHttpServer>(
    configuration: Configuration,
    server: T,
) -> RunningServer<HttpService<T>> {
    init_tracing();
    Server::builder()
        .configuration(configuration)
        .bind_tcp("127.0.0.1:0")
        .serve_abstract(server)
        .await
        .expect("the server starts")
}

/// Connect over TCP to `addr` from a socket bound to `local` (port 0), such as
/// 127.0.0.2, so that the server sees another client address.
pub(crate) async fn connect_from(local: std::net::IpAddr, addr: SocketAddr) -> TcpStream {
    let socket = match local {
        std::net::IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        std::net::IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
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

/// Wait (bounded by [`LIMIT`]) until the server counts exactly `n` live
/// connections.
pub(crate) async fn wait_live<S: Clone>(running: &RunningServer<S>, n: usize) {
    let what = format!("the server to count {n} live connection(s)");
    within(&what, async {
        while running.live_connections() != n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}
