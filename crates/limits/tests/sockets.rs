//! Every refusal over real loopback sockets, HTTP/1 and HTTP/2, through hyper's
//! server: exact status, headers, body and connection behaviour.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use postern_limits::client_ip::PeerAddr;
use postern_limits::config::{
    ClientIpConfig, ConnectionLimits, IpFilter, Limits, RateLimit, SizeLimits, parse_subnet,
};
use postern_limits::connections::ConnectionLimitService;
use postern_limits::connections::ConnectionLimiter;
use postern_limits::size::HyperBounds;
use postern_limits::size::{RequestBody, is_body_too_large};
use postern_limits::stack::LimitsLayer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tower::{Layer, ServiceExt, service_fn};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A hyper server applying `Limits` like Postern's will: connection caps at
/// accept, then a `LimitsLayer` read per request (so a reconfiguration takes
/// effect on the next request of an open connection), hyper's own limits
/// derived from the same sizes.
struct Server {
    addr: SocketAddr,
    limiter: ConnectionLimiter,
    layer: Arc<RwLock<LimitsLayer>>,
    /// The most body bytes the app ever received for one request.
    max_body_seen: Arc<AtomicUsize>,
}

impl Server {
    async fn start(limits: Limits) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limiter = ConnectionLimiter::new(limits.connections);
        let layer = Arc::new(RwLock::new(LimitsLayer::new(&limits)));
        let max_body_seen = Arc::new(AtomicUsize::new(0));
        let server = Server {
            addr,
            limiter: limiter.clone(),
            layer: Arc::clone(&layer),
            max_body_seen: Arc::clone(&max_body_seen),
        };
        let sizes = limits.sizes;
        tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    return;
                };
                let admission = limiter.try_acquire(Some(peer.ip()));
                let layer = Arc::clone(&layer);
                let seen = Arc::clone(&max_body_seen);
                let per_request = service_fn(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert(PeerAddr(peer));
                    let seen = Arc::clone(&seen);
                    let stack = layer
                        .read()
                        .unwrap()
                        .layer(service_fn(move |req| app(req, Arc::clone(&seen))));
                    stack.oneshot(req)
                });
                let service = ConnectionLimitService::new(per_request, admission);
                tokio::spawn(async move {
                    let bounds = HyperBounds::new(&sizes);
                    let mut builder = auto::Builder::new(TokioExecutor::new());
                    builder
                        .http1()
                        .max_buf_size(bounds.max_buf_size)
                        .max_headers(bounds.max_headers);
                    builder
                        .http2()
                        .max_header_list_size(bounds.h2_max_header_list_size);
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                        .await;
                });
            }
        });
        server
    }

    fn reconfigure(&self, limits: &Limits) {
        let mut layer = self.layer.write().unwrap();
        *layer = layer.reconfigure(limits).unwrap();
        self.limiter.set_limits(limits.connections);
    }
}

/// Reads the body (counting what arrives) and answers 200 `ok <bytes>`, or 413
/// if the body limit stopped it.
async fn app(
    req: Request<RequestBody<Incoming>>,
    seen: Arc<AtomicUsize>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut body = req.into_body();
    let mut total = 0usize;
    let status = loop {
        match body.frame().await {
            None => break StatusCode::OK,
            Some(Ok(frame)) => {
                total += frame.data_ref().map_or(0, Bytes::len);
                seen.fetch_max(total, Ordering::Relaxed);
            }
            Some(Err(error)) if is_body_too_large(&*error) => break StatusCode::PAYLOAD_TOO_LARGE,
            Some(Err(_)) => break StatusCode::BAD_REQUEST,
        }
    };
    let text = if status == StatusCode::OK {
        format!("ok {total}")
    } else {
        String::new()
    };
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    Ok(response)
}

// ---------------------------------------------------------------- raw HTTP/1

#[derive(Debug)]
struct RawResponse {
    status_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn status(&self) -> u16 {
        self.status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// Every header but hyper's `date`, sorted (hyper moves `content-length`
    /// to the end of the head; the order carries no meaning).
    fn refusal_headers(&self) -> Vec<(&str, &str)> {
        let mut headers: Vec<_> = self
            .headers
            .iter()
            .filter(|(n, _)| n != "date")
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        headers.sort_unstable();
        headers
    }
}

/// The headers of every refusal: Qt's responder's empty-body pair.
const EMPTY: [(&str, &str); 2] = [
    ("content-type", "application/x-empty"),
    ("content-length", "0"),
];

/// The exact headers of a refusal, [`EMPTY`] and `extra`, sorted.
fn refusal(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut headers: Vec<_> = EMPTY.iter().chain(extra).copied().collect();
    headers.sort_unstable();
    headers
}

const CLOSE: (&str, &str) = ("connection", "close");

/// Every HTTP/2 header but hyper's `date`, sorted.
fn h2_refusal_headers(headers: &http::HeaderMap) -> Vec<(&str, &str)> {
    let mut headers: Vec<_> = headers
        .iter()
        .filter(|(n, _)| n.as_str() != "date")
        .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
        .collect();
    headers.sort_unstable();
    headers
}

async fn connect_from(source: Option<&str>, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    if let Some(source) = source {
        socket
            .bind(SocketAddr::new(source.parse().unwrap(), 0))
            .unwrap();
    }
    socket.connect(server).await.unwrap()
}

/// Read one response (headers + content-length body) off `stream`.
async fn read_response(stream: &mut TcpStream) -> RawResponse {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before a response: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap().to_owned();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed inside a body");
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    RawResponse {
        status_line,
        headers,
        body,
    }
}

/// Whether the server has closed `stream` (EOF or reset) within 2 s.
async fn is_closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut byte)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(_)) | Err(_) => false,
    }
}

async fn exchange(stream: &mut TcpStream, request: &str) -> RawResponse {
    stream.write_all(request.as_bytes()).await.unwrap();
    read_response(stream).await
}

fn http_get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n")
}

fn sizes_for_tests() -> SizeLimits {
    SizeLimits::disabled()
        .with_max_url(Some(64))
        .with_max_header_fields(Some(8))
        .with_max_header_field(Some(64))
        .with_max_total_header(Some(256))
        .with_max_body(Some(1000))
}

fn limits_with_sizes() -> Limits {
    let mut limits = Limits::disabled();
    limits.sizes = sizes_for_tests();
    limits
}

async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .expect("test timed out")
}

// ---------------------------------------------------------------- HTTP/1

#[tokio::test]
async fn http1_size_refusals_close_the_connection() {
    within(async {
        let server = Server::start(limits_with_sizes()).await;
        let long_url = format!("/{}", "a".repeat(64));
        let at_limit_url = format!("/{}", "a".repeat(63));
        let many = (0..8)
            .map(|i| format!("x-{i}: v\r\n"))
            .collect::<String>();
        let cases: Vec<(&str, String, u16)> = vec![
            ("URL at the limit", http_get(&at_limit_url), 200),
            ("URL over the limit", http_get(&long_url), 414),
            (
                "9 fields (host + 8)",
                format!("GET / HTTP/1.1\r\nhost: t\r\n{many}\r\n"),
                431,
            ),
            (
                "one field over 64",
                format!("GET / HTTP/1.1\r\nhost: t\r\nx-big: {}\r\n\r\n", "v".repeat(60)),
                431,
            ),
            (
                "total over 256",
                format!(
                    "GET / HTTP/1.1\r\nhost: t\r\nx-a: {v}\r\nx-b: {v}\r\nx-c: {v}\r\nx-d: {v}\r\nx-e: {v}\r\n\r\n",
                    v = "v".repeat(50)
                ),
                431,
            ),
            (
                "declared body over the limit, before 100-continue",
                "POST / HTTP/1.1\r\nhost: t\r\ncontent-length: 1001\r\nexpect: 100-continue\r\n\r\n"
                    .to_owned(),
                413,
            ),
        ];
        for (name, request, status) in cases {
            let mut stream = connect_from(None, server.addr).await;
            let response = exchange(&mut stream, &request).await;
            assert_eq!(response.status(), status, "{name}: {response:?}");
            if status == 200 {
                assert_eq!(response.body, b"ok 0", "{name}");
                assert!(!is_closed(&mut stream).await, "{name}: kept open");
                continue;
            }
            // The first line is the refusal: no `100 Continue` went out first.
            let status = StatusCode::from_u16(status).expect("a status");
            let reason = status.canonical_reason().expect("a reason phrase");
            assert_eq!(
                response.status_line,
                format!("HTTP/1.1 {} {reason}", status.as_str()),
                "{name}"
            );
            assert_eq!(response.refusal_headers(), refusal(&[CLOSE]), "{name}");
            assert!(response.body.is_empty(), "{name}");
            assert!(is_closed(&mut stream).await, "{name}: connection closed");
        }
        assert_eq!(server.max_body_seen.load(Ordering::Relaxed), 0);
    })
    .await;
}

#[tokio::test]
async fn http1_chunked_body_over_the_limit_is_413_without_buffering() {
    within(async {
        let server = Server::start(limits_with_sizes()).await;
        let mut stream = connect_from(None, server.addr).await;
        stream
            .write_all(b"POST /upload HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        // 100-byte chunks: the 11th crosses the 1000-byte limit. Send 30 of
        // them (3000 bytes) and stop writing once the server answers.
        let chunk = format!("64\r\n{}\r\n", "x".repeat(100));
        for _ in 0..30 {
            if stream.write_all(chunk.as_bytes()).await.is_err() {
                break;
            }
        }
        let response = read_response(&mut stream).await;
        assert_eq!(response.status(), 413);
        assert!(server.max_body_seen.load(Ordering::Relaxed) <= 1000);

        // Exactly at the limit passes.
        let mut stream = connect_from(None, server.addr).await;
        let mut request =
            String::from("POST /upload HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n");
        for _ in 0..10 {
            request.push_str(&chunk);
        }
        request.push_str("0\r\n\r\n");
        let response = exchange(&mut stream, &request).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.body, b"ok 1000");
    })
    .await;
}

#[tokio::test]
async fn http10_refusals_close_too() {
    within(async {
        let server = Server::start(limits_with_sizes()).await;
        let mut stream = connect_from(None, server.addr).await;
        let long = format!("GET /{} HTTP/1.0\r\n\r\n", "a".repeat(100));
        let response = exchange(&mut stream, &long).await;
        assert_eq!(response.status(), 414);
        assert_eq!(response.refusal_headers(), refusal(&[CLOSE]));
    })
    .await;
}

#[tokio::test]
async fn ip_filter_403_keeps_the_connection() {
    within(async {
        let mut limits = Limits::disabled();
        limits.ip_filter = IpFilter::default().with_deny([parse_subnet("127.0.0.2").unwrap()]);
        let server = Server::start(limits).await;

        let mut denied = connect_from(Some("127.0.0.2"), server.addr).await;
        for _ in 0..2 {
            let response = exchange(&mut denied, &http_get("/")).await;
            assert_eq!(response.status_line, "HTTP/1.1 403 Forbidden");
            assert_eq!(response.refusal_headers(), refusal(&[]));
            assert!(response.body.is_empty());
        }

        let mut allowed = connect_from(Some("127.0.0.3"), server.addr).await;
        assert_eq!(exchange(&mut allowed, &http_get("/")).await.status(), 200);
    })
    .await;
}

#[tokio::test]
async fn rate_limit_429_with_retry_after_keeps_the_connection() {
    within(async {
        let mut limits = Limits::disabled();
        limits.rate = RateLimit::default().with_per_second(2);
        let server = Server::start(limits).await;
        let mut stream = connect_from(Some("127.0.0.2"), server.addr).await;
        assert_eq!(exchange(&mut stream, &http_get("/")).await.status(), 200);
        assert_eq!(exchange(&mut stream, &http_get("/")).await.status(), 200);
        let response = exchange(&mut stream, &http_get("/")).await;
        assert_eq!(response.status_line, "HTTP/1.1 429 Too Many Requests");
        assert_eq!(response.refusal_headers(), refusal(&[("retry-after", "1")]));
        assert!(!is_closed(&mut stream).await);

        // Another client (source address) has its own budget, even over
        // another connection.
        let mut other = connect_from(Some("127.0.0.3"), server.addr).await;
        assert_eq!(exchange(&mut other, &http_get("/")).await.status(), 200);
    })
    .await;
}

#[tokio::test]
async fn spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
    within(async {
        let mut limits = Limits::disabled();
        limits.rate = RateLimit::default().with_per_second(1);
        // Only 10.0.0.0/8 would be believed; loopback peers are not proxies.
        limits.client_ip =
            ClientIpConfig::default().with_trusted_proxies([parse_subnet("10.0.0.0/8").unwrap()]);
        limits.ip_filter = IpFilter::default().with_deny([parse_subnet("127.0.0.2").unwrap()]);
        let server = Server::start(limits).await;

        // Claiming to be someone else does not get a denied client in ...
        let mut denied = connect_from(Some("127.0.0.2"), server.addr).await;
        let spoof = "GET / HTTP/1.1\r\nhost: t\r\nx-forwarded-for: 203.0.113.9\r\n\r\n";
        assert_eq!(exchange(&mut denied, spoof).await.status(), 403);

        // ... nor a fresh rate budget per request.
        let mut stream = connect_from(Some("127.0.0.3"), server.addr).await;
        for (n, expected) in [(1, 200), (2, 429), (3, 429)] {
            let request =
                format!("GET / HTTP/1.1\r\nhost: t\r\nx-forwarded-for: 203.0.113.{n}\r\n\r\n");
            assert_eq!(exchange(&mut stream, &request).await.status(), expected);
        }
    })
    .await;
}

#[tokio::test]
async fn per_host_connection_limit_with_several_loopback_sources() {
    within(async {
        let mut limits = Limits::disabled();
        limits.connections = ConnectionLimits::disabled().with_max_per_host(1);
        let server = Server::start(limits).await;

        let mut first = connect_from(Some("127.0.0.2"), server.addr).await;
        assert_eq!(exchange(&mut first, &http_get("/")).await.status(), 200);

        let mut second = connect_from(Some("127.0.0.2"), server.addr).await;
        let response = exchange(&mut second, &http_get("/")).await;
        assert_eq!(response.status_line, "HTTP/1.1 429 Too Many Requests");
        assert_eq!(response.refusal_headers(), refusal(&[CLOSE]));
        assert!(is_closed(&mut second).await);

        let mut other_host = connect_from(Some("127.0.0.3"), server.addr).await;
        assert_eq!(
            exchange(&mut other_host, &http_get("/")).await.status(),
            200
        );
        assert_eq!(server.limiter.open_connections(), 2);

        // Closing the first connection releases its slot.
        drop(first);
        let ip: IpAddr = "127.0.0.2".parse().unwrap();
        while server.limiter.open_from(ip) > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut again = connect_from(Some("127.0.0.2"), server.addr).await;
        assert_eq!(exchange(&mut again, &http_get("/")).await.status(), 200);
    })
    .await;
}

#[tokio::test]
async fn total_connection_limit() {
    within(async {
        let mut limits = Limits::disabled();
        limits.connections = ConnectionLimits::disabled().with_max_connections(2);
        let server = Server::start(limits).await;
        let mut a = connect_from(Some("127.0.0.2"), server.addr).await;
        let mut b = connect_from(Some("127.0.0.3"), server.addr).await;
        assert_eq!(exchange(&mut a, &http_get("/")).await.status(), 200);
        assert_eq!(exchange(&mut b, &http_get("/")).await.status(), 200);
        let mut c = connect_from(Some("127.0.0.4"), server.addr).await;
        let response = exchange(&mut c, &http_get("/")).await;
        assert_eq!(response.status(), 429);
        assert_eq!(response.refusal_headers(), refusal(&[CLOSE]));
    })
    .await;
}

#[tokio::test]
async fn live_reconfiguration_applies_to_the_next_request_on_open_connections() {
    within(async {
        let server = Server::start(Limits::disabled()).await;
        let mut stream = connect_from(Some("127.0.0.2"), server.addr).await;
        let long = format!("/{}", "a".repeat(100));
        assert_eq!(exchange(&mut stream, &http_get(&long)).await.status(), 200);

        let mut limits = Limits::disabled();
        limits.ip_filter = IpFilter::default().with_deny([parse_subnet("127.0.0.3").unwrap()]);
        limits.sizes = SizeLimits::disabled().with_max_url(Some(64));
        server.reconfigure(&limits);

        assert_eq!(exchange(&mut stream, &http_get("/")).await.status(), 200);
        assert_eq!(exchange(&mut stream, &http_get(&long)).await.status(), 414);
        let mut denied = connect_from(Some("127.0.0.3"), server.addr).await;
        assert_eq!(exchange(&mut denied, &http_get("/")).await.status(), 403);

        // Connection caps change live too.
        limits.connections = ConnectionLimits::disabled().with_max_per_host(1);
        server.reconfigure(&limits);
        let mut fresh = connect_from(Some("127.0.0.4"), server.addr).await;
        assert_eq!(exchange(&mut fresh, &http_get("/")).await.status(), 200);
        let mut refused = connect_from(Some("127.0.0.4"), server.addr).await;
        assert_eq!(exchange(&mut refused, &http_get("/")).await.status(), 429);
    })
    .await;
}

// ---------------------------------------------------------------- HTTP/2

type H2Sender = hyper::client::conn::http2::SendRequest<Full<Bytes>>;

async fn h2_connect(server: SocketAddr) -> H2Sender {
    let stream = connect_from(None, server).await;
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    sender
}

async fn h2_send(
    sender: &mut H2Sender,
    request: Request<Full<Bytes>>,
) -> (StatusCode, http::HeaderMap, Bytes) {
    sender.ready().await.unwrap();
    let response = sender.send_request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, body)
}

fn h2_request(path: &str) -> http::request::Builder {
    Request::builder()
        .uri(format!("http://test{path}"))
        .version(http::Version::HTTP_2)
}

#[tokio::test]
async fn http2_refusals_answer_the_stream_and_keep_the_connection() {
    within(async {
        let server = Server::start(limits_with_sizes()).await;
        let mut sender = h2_connect(server.addr).await;
        let empty = || Full::new(Bytes::new());

        let long = format!("/{}", "a".repeat(64));
        let mut big_field = h2_request("/");
        big_field = big_field.header("x-big", "v".repeat(60));
        let mut many = h2_request("/");
        for i in 0..9 {
            many = many.header(format!("x-{i}"), "v");
        }
        let cases: Vec<(&str, Request<Full<Bytes>>, StatusCode)> = vec![
            ("ok", h2_request("/").body(empty()).unwrap(), StatusCode::OK),
            (
                "URL",
                h2_request(&long).body(empty()).unwrap(),
                StatusCode::URI_TOO_LONG,
            ),
            (
                "field count",
                many.body(empty()).unwrap(),
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ),
            (
                "field size",
                big_field.body(empty()).unwrap(),
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ),
            (
                "declared body",
                h2_request("/")
                    .method("POST")
                    .header("content-length", "1001")
                    .body(Full::new(Bytes::from(vec![b'x'; 1001])))
                    .unwrap(),
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
        ];
        for (name, request, status) in cases {
            let (got, headers, body) = h2_send(&mut sender, request).await;
            assert_eq!(got, status, "{name}");
            if status != StatusCode::OK {
                // No connection header on HTTP/2.
                assert_eq!(h2_refusal_headers(&headers), refusal(&[]), "{name}");
                assert!(body.is_empty(), "{name}");
            }
        }
        // The same connection still serves.
        let (status, _, body) = h2_send(&mut sender, h2_request("/").body(empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "ok 0");
    })
    .await;
}

#[tokio::test]
async fn http2_streamed_body_over_the_limit_is_413() {
    within(async {
        let server = Server::start(limits_with_sizes()).await;
        let stream = connect_from(None, server.addr).await;
        let (mut sender, connection) = hyper::client::conn::http2::handshake::<_, _, BodyOf>(
            TokioExecutor::new(),
            TokioIo::new(stream),
        )
        .await
        .unwrap();
        tokio::spawn(connection);
        // No content-length: a streamed body of 30 × 100 bytes.
        let request = h2_request("/upload")
            .method("POST")
            .body(BodyOf { left: 30 })
            .unwrap();
        sender.ready().await.unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(server.max_body_seen.load(Ordering::Relaxed) <= 1000);
    })
    .await;
}

/// A request body of unknown length: `left` frames of 100 bytes.
struct BodyOf {
    left: usize,
}

impl http_body::Body for BodyOf {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        self.left -= 1;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(vec![
            b'x';
            100
        ])))))
    }
}

#[tokio::test]
async fn http2_connection_over_the_cap_gets_429_without_connection_header() {
    within(async {
        let mut limits = Limits::disabled();
        limits.connections = ConnectionLimits::disabled().with_max_connections(1);
        let server = Server::start(limits).await;
        let mut first = h2_connect(server.addr).await;
        let request = || h2_request("/").body(Full::new(Bytes::new())).unwrap();
        assert_eq!(h2_send(&mut first, request()).await.0, StatusCode::OK);
        let mut second = h2_connect(server.addr).await;
        let (status, headers, _) = h2_send(&mut second, request()).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(h2_refusal_headers(&headers), refusal(&[]));
    })
    .await;
}

// ---------------------------------------------------------------- axum

mod axum_app {
    use super::*;
    use axum::Router;
    use axum::extract::ConnectInfo;
    use axum::routing::{get, post};
    use axum::serve::IncomingStream;
    use postern_limits::connections::ConnectionLimitLayer;

    fn axum_peer(ext: &http::Extensions) -> Option<SocketAddr> {
        ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
    }

    fn stream_peer(stream: &IncomingStream<'_, TcpListener>) -> Option<IpAddr> {
        Some(stream.remote_addr().ip())
    }

    async fn start(limits: &Limits) -> (SocketAddr, ConnectionLimiter) {
        let app = Router::new()
            .route("/", get(|| async { "hello" }))
            .route("/echo", post(|body: Bytes| async move { body }))
            .layer(LimitsLayer::new(limits).with_peer_accessor(axum_peer));
        let limiter = ConnectionLimiter::new(limits.connections);
        let make_service = ConnectionLimitLayer::new(limiter.clone(), stream_peer)
            .layer(app.into_make_service_with_connect_info::<SocketAddr>());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, make_service).await });
        (addr, limiter)
    }

    #[tokio::test]
    async fn axum_app_with_every_limit() {
        within(async {
            let mut limits = limits_with_sizes();
            limits.connections = ConnectionLimits::disabled().with_max_per_host(1);
            limits.ip_filter = IpFilter::default().with_deny([parse_subnet("127.0.0.5").unwrap()]);
            limits.rate = RateLimit::default().with_per_second(3);
            let (addr, limiter) = start(&limits).await;

            let mut stream = connect_from(Some("127.0.0.2"), addr).await;
            let response = exchange(&mut stream, &http_get("/")).await;
            assert_eq!(response.status(), 200);
            assert_eq!(response.body, b"hello");

            // axum's Bytes extractor maps the body limit to 413 by itself.
            let chunk = format!("64\r\n{}\r\n", "x".repeat(100));
            let mut request = String::from(
                "POST /echo HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n",
            );
            for _ in 0..11 {
                request.push_str(&chunk);
            }
            request.push_str("0\r\n\r\n");
            let response = exchange(&mut stream, &request).await;
            assert_eq!(response.status(), 413);

            // A second connection from the same host: 429 + close.
            let mut second = connect_from(Some("127.0.0.2"), addr).await;
            let response = exchange(&mut second, &http_get("/")).await;
            assert_eq!(response.status(), 429);
            assert_eq!(response.refusal_headers(), refusal(&[CLOSE]));
            assert!(is_closed(&mut second).await);

            let mut denied = connect_from(Some("127.0.0.5"), addr).await;
            let response = exchange(&mut denied, &http_get("/")).await;
            assert_eq!(response.status(), 403);
            assert_eq!(response.refusal_headers(), refusal(&[]));

            let mut other = connect_from(Some("127.0.0.3"), addr).await;
            let long = format!("/{}", "a".repeat(64));
            let response = exchange(&mut other, &http_get(&long)).await;
            assert_eq!(response.status(), 414);
            assert_eq!(response.refusal_headers(), refusal(&[CLOSE]));
            assert!(is_closed(&mut other).await);

            let mut other = connect_from(Some("127.0.0.4"), addr).await;
            assert_eq!(exchange(&mut other, &http_get("/")).await.status(), 200);
            assert_eq!(exchange(&mut other, &http_get("/")).await.status(), 200);
            assert_eq!(exchange(&mut other, &http_get("/")).await.status(), 200);
            let response = exchange(&mut other, &http_get("/")).await;
            assert_eq!(response.status(), 429);
            assert_eq!(response.refusal_headers(), refusal(&[("retry-after", "1")]));

            assert!(limiter.open_connections() >= 2);
        })
        .await;
    }

    #[tokio::test]
    async fn axum_without_connect_info_is_a_500() {
        within(async {
            let mut limits = Limits::disabled();
            limits.rate = RateLimit::default().with_per_second(3);
            let app = Router::new()
                .route("/", get(|| async { "hello" }))
                .layer(LimitsLayer::new(&limits).with_peer_accessor(axum_peer));
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            // Served without connect info: the layer cannot tell clients apart.
            tokio::spawn(async move { axum::serve(listener, app).await });
            let mut stream = connect_from(None, addr).await;
            let response = exchange(&mut stream, &http_get("/")).await;
            assert_eq!(response.status(), 500);
            assert_eq!(response.refusal_headers(), refusal(&[]));
        })
        .await;
    }
}
