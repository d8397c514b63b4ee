//! The `axum_limits` example over real loopback sockets: every limit answers
//! with its exact status, headers and connection behaviour.

#[path = "../../examples/axum_limits.rs"]
mod example;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use postern_limits::config::{
    ConnectionLimits, IpFilter, Limits, RateLimit, SizeLimits, parse_subnet,
};
use tokio::net::TcpListener;

use crate::support::{Raw, connect_from};

const TIMEOUT: Duration = Duration::from_secs(10);

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

/// A raw HTTP/1 connection to `server` from the loopback address `source`.
async fn connect(source: &str, server: SocketAddr) -> Raw {
    let source: IpAddr = source.parse().expect("an address");
    Raw::new(connect_from(source, server).await)
}

/// The server closes the connection within 2 s, without another byte.
async fn assert_closed(raw: &mut Raw) {
    let rest = raw.closed_within(Duration::from_secs(2)).await;
    assert_eq!(rest.as_deref(), Some(&b""[..]), "closed without a byte");
}

/// The connection is still open 2 s later.
async fn assert_open(raw: &mut Raw) {
    assert_eq!(raw.closed_within(Duration::from_secs(2)).await, None);
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nhost: example\r\n\r\n")
}

#[tokio::test]
async fn example_limits_over_a_socket() {
    tokio::time::timeout(TIMEOUT, async {
        let addr = start(example::example_limits()).await;
        let mut stream = connect("127.0.0.1", addr).await;

        let reply = stream.roundtrip(&get("/")).await;
        assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
        assert_eq!(reply.body, b"hello from behind postern-limits\n");

        let echo = "POST /echo HTTP/1.1\r\nhost: example\r\ncontent-length: 5\r\n\r\nhello";
        let reply = stream.roundtrip(echo).await;
        assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
        assert_eq!(reply.body, b"hello");

        // strict(): URLs up to 8 KiB.
        let reply = stream
            .roundtrip(&get(&format!("/{}", "a".repeat(8192))))
            .await;
        assert_eq!(reply.status_line, "HTTP/1.1 414 URI Too Long");
        assert_eq!(reply.headers_but_date(), refusal(&[CLOSE]));
        assert!(reply.body.is_empty());
        assert_closed(&mut stream).await;

        // strict(): bodies up to 1 MiB, refused on the declared length.
        let mut stream = connect("127.0.0.1", addr).await;
        let big = "POST /echo HTTP/1.1\r\nhost: example\r\ncontent-length: 1048577\r\n\r\n";
        let reply = stream.roundtrip(big).await;
        assert_eq!(reply.status_line, "HTTP/1.1 413 Payload Too Large");
        assert_eq!(reply.headers_but_date(), refusal(&[CLOSE]));
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
        let reply = denied.roundtrip(&get("/")).await;
        assert_eq!(reply.status_line, "HTTP/1.1 403 Forbidden");
        assert_eq!(reply.headers_but_date(), refusal(&[]));
        assert_open(&mut denied).await;

        // Rate: 429 + Retry-After, connection kept.
        let mut client = connect("127.0.0.2", addr).await;
        assert_eq!(
            client.roundtrip(&get("/")).await.status_line,
            "HTTP/1.1 200 OK"
        );
        // A chunked body over 16 bytes: axum maps the streaming limit to 413
        // (its own response, with a plain-text body, not a limits refusal).
        let chunked = "POST /echo HTTP/1.1\r\nhost: example\r\ntransfer-encoding: chunked\r\n\r\n\
                       10\r\n0123456789abcdef\r\n1\r\nx\r\n0\r\n\r\n";
        let reply = client.roundtrip(chunked).await;
        assert_eq!(reply.status_line, "HTTP/1.1 413 Payload Too Large");
        let mut client = connect("127.0.0.3", addr).await;
        assert_eq!(
            client.roundtrip(&get("/")).await.status_line,
            "HTTP/1.1 200 OK"
        );
        assert_eq!(
            client.roundtrip(&get("/")).await.status_line,
            "HTTP/1.1 200 OK"
        );
        let reply = client.roundtrip(&get("/")).await;
        assert_eq!(reply.status_line, "HTTP/1.1 429 Too Many Requests");
        assert_eq!(reply.headers_but_date(), refusal(&[("retry-after", "1")]));

        // Header count: 431 + close.
        let mut fields = connect("127.0.0.4", addr).await;
        let many = "GET / HTTP/1.1\r\nhost: e\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n";
        let reply = fields.roundtrip(many).await;
        assert_eq!(
            reply.status_line,
            "HTTP/1.1 431 Request Header Fields Too Large"
        );
        assert_eq!(reply.headers_but_date(), refusal(&[CLOSE]));

        // Per host: a second connection from 127.0.0.3 gets 429 + close.
        let mut second = connect("127.0.0.3", addr).await;
        let reply = second.roundtrip(&get("/")).await;
        assert_eq!(reply.status_line, "HTTP/1.1 429 Too Many Requests");
        assert_eq!(reply.headers_but_date(), refusal(&[CLOSE]));
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
