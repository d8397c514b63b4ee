//! The `axum_limits` example over real loopback sockets: every limit answers
//! with its exact status, headers and connection behaviour.

#[path = "../../examples/axum_limits.rs"]
mod example;

use std::net::SocketAddr;
use std::time::Duration;

use postern_limits::config::{
    ConnectionLimits, IpFilter, Limits, RateLimit, SizeLimits, parse_subnet,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A status line, lower-cased headers and the body of one response.
#[derive(Debug)]
struct Reply {
    status_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
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

/// The exact headers of a postern-limits refusal, sorted: Qt's empty-body
/// pair (`content-type: application/x-empty`, `content-length: 0`) and `extra`.
fn refusal(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut headers = vec![
        ("content-type", "application/x-empty"),
        ("content-length", "0"),
    ];
    headers.extend_from_slice(extra);
    headers.sort_unstable();
    headers
}

const CLOSE: (&str, &str) = ("connection", "close");

async fn start(limits: Limits) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { example::serve(listener, &limits).await });
    addr
}

async fn connect(source: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(source.parse().unwrap(), 0))
        .unwrap();
    socket.connect(server).await.unwrap()
}

async fn exchange(stream: &mut TcpStream, request: &str) -> Reply {
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before a response");
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
        assert!(n > 0, "closed inside a body");
        body.extend_from_slice(&chunk[..n]);
    }
    Reply {
        status_line,
        headers,
        body,
    }
}

/// The server closes the connection within 2 s, without another byte.
async fn assert_closed(stream: &mut TcpStream) {
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut byte))
        .await
        .expect("closed within 2 s");
    assert_eq!(read.ok(), Some(0), "closed without a byte");
}

/// The connection is still open 2 s later.
async fn assert_open(stream: &mut TcpStream) {
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut byte)).await;
    assert!(read.is_err(), "still open, got {read:?}");
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nhost: example\r\n\r\n")
}

#[tokio::test]
async fn example_limits_over_a_socket() {
    tokio::time::timeout(TIMEOUT, async {
        let addr = start(example::example_limits()).await;
        let mut stream = connect("127.0.0.1", addr).await;

        let reply = exchange(&mut stream, &get("/")).await;
        assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
        assert_eq!(reply.body, b"hello from behind postern-limits\n");

        let echo = "POST /echo HTTP/1.1\r\nhost: example\r\ncontent-length: 5\r\n\r\nhello";
        let reply = exchange(&mut stream, echo).await;
        assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
        assert_eq!(reply.body, b"hello");

        // strict(): URLs up to 8 KiB.
        let reply = exchange(&mut stream, &get(&format!("/{}", "a".repeat(8192)))).await;
        assert_eq!(reply.status_line, "HTTP/1.1 414 URI Too Long");
        assert_eq!(reply.refusal_headers(), refusal(&[CLOSE]));
        assert!(reply.body.is_empty());
        assert_closed(&mut stream).await;

        // strict(): bodies up to 1 MiB, refused on the declared length.
        let mut stream = connect("127.0.0.1", addr).await;
        let big = "POST /echo HTTP/1.1\r\nhost: example\r\ncontent-length: 1048577\r\n\r\n";
        let reply = exchange(&mut stream, big).await;
        assert_eq!(reply.status_line, "HTTP/1.1 413 Payload Too Large");
        assert_eq!(reply.refusal_headers(), refusal(&[CLOSE]));
        assert!(reply.body.is_empty());
    })
    .await
    .expect("timed out");
}

#[tokio::test]
async fn every_refusal_with_small_limits() {
    tokio::time::timeout(TIMEOUT, async {
        let mut limits = Limits::disabled();
        limits.connections = ConnectionLimits::disabled().with_max_per_host(1);
        limits.ip_filter = IpFilter::default().with_deny([parse_subnet("127.0.0.9").unwrap()]);
        limits.rate = RateLimit::default().with_per_second(2);
        limits.sizes = SizeLimits::disabled()
            .with_max_header_fields(Some(4))
            .with_max_body(Some(16));
        let addr = start(limits).await;

        // Deny list: 403, connection kept.
        let mut denied = connect("127.0.0.9", addr).await;
        let reply = exchange(&mut denied, &get("/")).await;
        assert_eq!(reply.status_line, "HTTP/1.1 403 Forbidden");
        assert_eq!(reply.refusal_headers(), refusal(&[]));
        assert_open(&mut denied).await;

        // Rate: 429 + Retry-After, connection kept.
        let mut client = connect("127.0.0.2", addr).await;
        assert_eq!(
            exchange(&mut client, &get("/")).await.status_line,
            "HTTP/1.1 200 OK"
        );
        // A chunked body over 16 bytes: axum maps the streaming limit to 413
        // (its own response, with a plain-text body, not a limits refusal).
        let chunked = "POST /echo HTTP/1.1\r\nhost: example\r\ntransfer-encoding: chunked\r\n\r\n\
                       10\r\n0123456789abcdef\r\n1\r\nx\r\n0\r\n\r\n";
        let reply = exchange(&mut client, chunked).await;
        assert_eq!(reply.status_line, "HTTP/1.1 413 Payload Too Large");
        let mut client = connect("127.0.0.3", addr).await;
        assert_eq!(
            exchange(&mut client, &get("/")).await.status_line,
            "HTTP/1.1 200 OK"
        );
        assert_eq!(
            exchange(&mut client, &get("/")).await.status_line,
            "HTTP/1.1 200 OK"
        );
        let reply = exchange(&mut client, &get("/")).await;
        assert_eq!(reply.status_line, "HTTP/1.1 429 Too Many Requests");
        assert_eq!(reply.refusal_headers(), refusal(&[("retry-after", "1")]));

        // Header count: 431 + close.
        let mut fields = connect("127.0.0.4", addr).await;
        let many = "GET / HTTP/1.1\r\nhost: e\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n";
        let reply = exchange(&mut fields, many).await;
        assert_eq!(
            reply.status_line,
            "HTTP/1.1 431 Request Header Fields Too Large"
        );
        assert_eq!(reply.refusal_headers(), refusal(&[CLOSE]));

        // Per host: a second connection from 127.0.0.3 gets 429 + close.
        let mut second = connect("127.0.0.3", addr).await;
        let reply = exchange(&mut second, &get("/")).await;
        assert_eq!(reply.status_line, "HTTP/1.1 429 Too Many Requests");
        assert_eq!(reply.refusal_headers(), refusal(&[CLOSE]));
        assert!(reply.body.is_empty());
        assert_closed(&mut second).await;
    })
    .await
    .expect("timed out");
}

#[test]
fn port_argument() {
    let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(example::port_from_args(args(&[])), Ok(0));
    assert_eq!(example::port_from_args(args(&["--port", "8080"])), Ok(8080));
    assert_eq!(example::port_from_args(args(&["--port=0"])), Ok(0));
    assert!(example::port_from_args(args(&["--port"])).is_err());
    assert!(example::port_from_args(args(&["--port", "http"])).is_err());
    assert!(example::port_from_args(args(&["--verbose"])).is_err());
}
