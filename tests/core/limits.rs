//! Every limit of `Configuration::limits`, enforced through Postern's own
//! `Server` (not a bare hyper server) over real sockets on 127.0.0.1, with
//! exact statuses, headers, bodies and connection behaviour:
//!
//! - the rate limit (429 + `retry-after`), with `serve_abstract` (no
//!   `ConnectionInfo` extension: the client comes from the server's
//!   thread-local connection) and with `serve(HttpService)`, over HTTP/1,
//!   h2c and Unix sockets (keyed as 127.0.0.1);
//! - IP allow/deny lists (403), HTTP/1 and HTTP/2;
//! - the body limit (413: declared, chunked, HTTP/2 streamed; exactly at the
//!   limit passes) without calling the handler;
//! - URL (414) and header (431) limits, HTTP/1 and h2c;
//! - connection caps at accept: raw 429 on HTTP/1, GOAWAY(ENHANCE_YOUR_CALM)
//!   on h2c, a closed TLS handshake; permits released when connections end;
//!   per-host caps with several loopback source addresses;
//! - live reconfiguration on open connections;
//! - spoofed `X-Forwarded-For` / `Forwarded` from an untrusted peer.
//!
//! Each server is fresh, so each test has its own rate limiter and caps.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::HeaderValue;
use http::{HeaderMap, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use postern_core::config::{ClientIpConfig, SizeLimits};
use postern_core::{
    AbstractHttpServer, Configuration, Handled, HttpService, Request, Responder, ServerBuilder,
};
use postern_limits::config::parse_subnet;
use tokio::net::{TcpStream, UnixStream};

use crate::support::h2frames::{EMPTY_SETTINGS, ENHANCE_YOUR_CALM, Frame, GOAWAY, PREFACE, frames};
use crate::support::{
    Raw, RawResponse, Running, TestCert, case, client_tls, connect_from, get, on_loopback, serve,
    serve_abstract, server_tls, temp_dir, test_cert, try_tls_handshake, wait_live, within,
};

/// The longest a whole test may take.
const TEST_LIMIT: Duration = Duration::from_secs(90);

/// Run a test body, failing if it takes longer than [`TEST_LIMIT`].
pub(super) async fn bounded(test: impl Future<Output = ()>) {
    if tokio::time::timeout(TEST_LIMIT, test).await.is_err() {
        panic!("the test did not finish within {TEST_LIMIT:?}");
    }
}

// ---------------------------------------------------------------------------
// The handler and servers

/// Counts its calls; echoes the request body with `x-remote` (the peer the
/// handler sees, or `none`) and `x-transport`.
#[derive(Debug, Clone, Default)]
struct Counter {
    calls: Arc<AtomicUsize>,
}

impl AbstractHttpServer for Counter {
    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut headers = HeaderMap::new();
        let remote = request
            .remote_addr()
            .map_or_else(|| "none".to_owned(), |a| a.to_string());
        headers.insert("x-remote", HeaderValue::from_str(&remote).expect("addr"));
        let transport = format!("{:?}", request.connection().transport());
        headers.insert(
            "x-transport",
            HeaderValue::from_str(&transport).expect("transport"),
        );
        responder.write(request.body().clone(), headers, StatusCode::OK);
        Handled::Yes
    }
}

/// How the handler is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// `serve_abstract(handler)`: no `ConnectionInfo` request extension.
    Abstract,
    /// `serve(HttpService::new(handler))`.
    Service,
}

pub(super) struct Limited {
    pub(super) server: Running,
    calls: Arc<AtomicUsize>,
    /// A temp dir to remove (Unix sockets).
    dir: Option<PathBuf>,
}

impl Drop for Limited {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Limited {
    /// The `n`th listener's socket address.
    pub(super) fn addr(&self, n: usize) -> SocketAddr {
        self.server.listeners()[n]
            .socket_addr()
            .expect("a TCP or TLS listener")
    }

    /// Calls of the handler so far.
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// A [`Counter`] served on 127.0.0.1:0 (TCP), in `mode`.
async fn start_counter(mode: Mode, configuration: Configuration) -> Limited {
    start_on(mode, configuration, on_loopback).await
}

/// A [`Counter`] served in `mode` on the listeners `bind` adds.
pub(super) async fn start_on(
    mode: Mode,
    configuration: Configuration,
    bind: impl FnOnce(ServerBuilder) -> ServerBuilder,
) -> Limited {
    let counter = Counter::default();
    let calls = Arc::clone(&counter.calls);
    let server = match mode {
        Mode::Abstract => serve_abstract(configuration, bind, counter).await,
        Mode::Service => serve(configuration, bind, HttpService::new(counter)).await,
    };
    Limited {
        server,
        calls,
        dir: None,
    }
}

/// Subnets from text, as an array of postern-limits' subnet type.
macro_rules! subnets {
    ($($subnet:expr),* $(,)?) => {
        [$($subnet),*].map(|s: &str| parse_subnet(s).expect("a subnet"))
    };
}

pub(super) fn deny(list: &[&str]) -> Configuration {
    Configuration::default().with_deny_list(list.iter().map(|s| parse_subnet(s).expect("a subnet")))
}

pub(super) fn allow(list: &[&str]) -> Configuration {
    Configuration::default()
        .with_allow_list(list.iter().map(|s| parse_subnet(s).expect("a subnet")))
}

fn rate(per_second: u32) -> Configuration {
    Configuration::default().with_rate_limit_per_second(per_second)
}

fn sizes(sizes: SizeLimits) -> Configuration {
    Configuration::default().with_sizes(sizes)
}

// ---------------------------------------------------------------------------
// Clients

pub(super) const GET: &str = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";

/// What an HTTP/2 response came to.
struct H2Response {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    body: Bytes,
}

/// Send `request` on an HTTP/2 connection and read the whole response.
async fn h2_roundtrip<B>(
    send: &mut hyper::client::conn::http2::SendRequest<B>,
    request: http::Request<B>,
) -> H2Response
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let response = within("HTTP/2 response", send.send_request(request))
        .await
        .expect("an HTTP/2 response");
    let (parts, body) = response.into_parts();
    let body = within("HTTP/2 body", body.collect())
        .await
        .expect("the HTTP/2 body")
        .to_bytes();
    H2Response {
        status: parts.status,
        version: parts.version,
        headers: parts.headers,
        body,
    }
}

/// An h2c (prior knowledge) connection to `addr`.
async fn h2c(addr: SocketAddr) -> hyper::client::conn::http2::SendRequest<Full<Bytes>> {
    crate::support::h2c(addr).await.0
}

/// The only header fields a refusal carries (`retry-after` on the rate
/// limit's 429s; on HTTP/1 `connection: close` where the request cannot be
/// skipped, else `connection: keep-alive` with `keep-alive: timeout=15`).
const REFUSAL_FIELDS: [&str; 6] = [
    "content-length",
    "content-type",
    "date",
    "retry-after",
    "connection",
    "keep-alive",
];

/// Assert an HTTP/1 refusal: `status`, empty body, `content-length: 0`,
/// `content-type: application/x-empty` (as Qt's), each field once and no
/// other than [`REFUSAL_FIELDS`]. 413, 414, 431 and the accept loop's 429
/// (no `retry-after`) close the connection; 403 and the rate limit's 429
/// keep it open and say for how long (the default 15 s).
pub(super) fn assert_h1_refused(response: &RawResponse, status_line: &str) {
    assert_eq!(response.status_line, status_line, "{response:?}");
    assert_eq!(response.header("content-length"), Some("0"), "{response:?}");
    assert_eq!(
        response.header("content-type"),
        Some("application/x-empty"),
        "{response:?}"
    );
    for (name, _) in &response.headers {
        assert!(
            REFUSAL_FIELDS.contains(&name.as_str()),
            "unexpected field {name}: {response:?}"
        );
        assert_eq!(response.header_all(name).len(), 1, "{response:?}");
    }
    let closes = matches!(response.status, 413 | 414 | 431)
        || (response.status == 429 && response.header("retry-after").is_none());
    if closes {
        assert_closes(response);
    } else {
        assert_eq!(
            response.header("connection"),
            Some("keep-alive"),
            "{response:?}"
        );
        assert_eq!(
            response.header("keep-alive"),
            Some("timeout=15"),
            "{response:?}"
        );
    }
    assert_eq!(response.body, b"", "{response:?}");
}

/// [`assert_h1_refused`] for a refusal that leaves the request's body
/// unread: whatever the status, the connection cannot carry on, so it
/// closes.
pub(super) fn assert_h1_refused_closing(response: &RawResponse, status_line: &str) {
    assert_eq!(response.status_line, status_line, "{response:?}");
    assert_eq!(response.header("content-length"), Some("0"), "{response:?}");
    assert_eq!(
        response.header("content-type"),
        Some("application/x-empty"),
        "{response:?}"
    );
    assert_closes(response);
    assert_eq!(response.body, b"", "{response:?}");
}

fn assert_closes(response: &RawResponse) {
    assert_eq!(response.header("connection"), Some("close"), "{response:?}");
    assert_eq!(response.header("keep-alive"), None, "{response:?}");
}

/// Assert an HTTP/2 refusal of the limits: `status`, empty body,
/// `content-length: 0`, no connection header.
fn assert_h2_refused(response: &H2Response, status: StatusCode) {
    assert_h2_refusal(response, status, Some("0"));
}

/// Assert an HTTP/2 refusal: `status`, empty body, `content-length` as
/// given, no connection header.
fn assert_h2_refusal(response: &H2Response, status: StatusCode, content_length: Option<&str>) {
    assert_eq!(response.status, status, "{:?}", response.headers);
    assert_eq!(response.version, Version::HTTP_2);
    assert_eq!(&response.body[..], b"");
    assert!(
        response.headers.get("connection").is_none(),
        "HTTP/2 forbids connection headers: {:?}",
        response.headers
    );
    assert_eq!(
        response
            .headers
            .get("content-length")
            .map(|v| v.to_str().expect("ASCII")),
        content_length,
        "{:?}",
        response.headers
    );
    assert_eq!(
        response
            .headers
            .get("content-type")
            .map(HeaderValue::as_bytes),
        Some(&b"application/x-empty"[..]),
        "{:?}",
        response.headers
    );
    for name in response.headers.keys() {
        assert!(
            REFUSAL_FIELDS.contains(&name.as_str()),
            "unexpected field {name}: {:?}",
            response.headers
        );
        assert_eq!(response.headers.get_all(name).iter().count(), 1);
    }
}

/// Send `request` on a fresh HTTP/1 connection; for a 4xx answer assert it
/// says `connection: close` and that the connection then ends.
async fn h1_once(addr: SocketAddr, request: &str) -> RawResponse {
    let mut raw = Raw::connect(addr).await;
    let response = raw.roundtrip(request).await;
    if response.status >= 400 {
        assert_eq!(response.header("connection"), Some("close"), "{response:?}");
        assert_eq!(raw.eof().await, b"", "closed after the refusal");
    }
    response
}

// ---------------------------------------------------------------------------
// 1. Rate limit

fn assert_429(response: &RawResponse) {
    assert_h1_refused(response, "HTTP/1.1 429 Too Many Requests");
    assert_eq!(response.header("retry-after"), Some("1"), "{response:?}");
    assert_eq!(
        response.header("connection"),
        Some("keep-alive"),
        "a rate-limited connection stays open: {response:?}"
    );
}

/// Rate 2/s over HTTP/1: two served, the third (same second) 429; the
/// connection stays open and is served again after `retry-after`.
async fn rate_limit_over_http1(mode: Mode) {
    let limited = start_counter(mode, rate(2)).await;
    let mut raw = Raw::connect(limited.addr(0)).await;
    // Pipelined, so all three arrive well within the same half second.
    raw.send(GET.repeat(3)).await;
    for _ in 0..2 {
        let response = raw.response().await;
        assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{response:?}");
        // The handler sees the real peer (in Abstract mode through the
        // server's thread-local connection).
        assert_eq!(
            response.header("x-remote"),
            Some(raw.local_addr().to_string().as_str())
        );
        assert_eq!(response.header("x-transport"), Some("Tcp"));
    }
    assert_429(&raw.response().await);
    assert_eq!(limited.calls(), 2, "the handler is not called when limited");

    // The budget is per client, not per connection.
    let mut other = Raw::connect(limited.addr(0)).await;
    assert_429(&other.roundtrip(GET).await);

    // After `retry-after` the same connection is served again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let response = raw.roundtrip(GET).await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{response:?}");
    assert_eq!(limited.calls(), 3);
}

/// Rate 2/s over h2c: three streams at once, exactly one 429.
async fn rate_limit_over_h2c(mode: Mode) {
    let limited = start_counter(mode, rate(2)).await;
    let send = h2c(limited.addr(0)).await;
    let (mut a, mut b, mut c) = (send.clone(), send.clone(), send);
    let (ra, rb, rc) = tokio::join!(
        h2_roundtrip(&mut a, get("http://a/1")),
        h2_roundtrip(&mut b, get("http://a/2")),
        h2_roundtrip(&mut c, get("http://a/3")),
    );
    let mut statuses: Vec<u16> = [&ra, &rb, &rc].iter().map(|r| r.status.as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 429]);
    let limited_response = [&ra, &rb, &rc]
        .into_iter()
        .find(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .expect("one 429");
    assert_h2_refused(limited_response, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited_response.headers["retry-after"], "1");
    for served in [&ra, &rb, &rc]
        .into_iter()
        .filter(|r| r.status == StatusCode::OK)
    {
        let remote = served.headers["x-remote"].to_str().unwrap();
        assert!(remote.starts_with("127.0.0.1:"), "{remote}");
    }
    assert_eq!(limited.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_with_serve_abstract_over_http1() {
    bounded(rate_limit_over_http1(Mode::Abstract)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_with_serve_abstract_over_h2c() {
    bounded(rate_limit_over_h2c(Mode::Abstract)).await;
}

#[tokio::test]
async fn rate_limit_with_http_service_over_http1() {
    bounded(rate_limit_over_http1(Mode::Service)).await;
}

#[tokio::test]
async fn rate_limit_with_http_service_over_h2c() {
    bounded(rate_limit_over_h2c(Mode::Service)).await;
}

async fn unix_server(
    mode: Mode,
    configuration: Configuration,
    with_tcp: bool,
) -> (Limited, PathBuf) {
    let dir = temp_dir("limits");
    let path = dir.join("postern.sock");
    let socket = path.clone();
    let mut limited = start_on(mode, configuration, move |b| {
        let b = b.bind_unix(socket);
        if with_tcp {
            b.bind_tcp("127.0.0.1:0")
        } else {
            b
        }
    })
    .await;
    limited.dir = Some(dir);
    (limited, path)
}

async fn unix_raw(path: &PathBuf) -> Raw<UnixStream> {
    Raw::new(
        within("connect", UnixStream::connect(path))
            .await
            .expect("connect to the Unix socket"),
    )
}

async fn unix_clients_are_rate_limited_as_localhost(mode: Mode) {
    // Unix only: counted (as 127.0.0.1), not a 500 for a missing peer.
    let (limited, path) = unix_server(mode, rate(2), false).await;
    let mut raw = unix_raw(&path).await;
    raw.send(GET.repeat(3)).await;
    for _ in 0..2 {
        let response = raw.response().await;
        assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{response:?}");
        assert_eq!(response.header("x-transport"), Some("Unix"));
        assert_eq!(response.header("x-remote"), Some("none"));
    }
    assert_429(&raw.response().await);
    assert_eq!(limited.calls(), 2);
    drop(limited);

    // TCP and Unix listeners on one server: a Unix client shares
    // 127.0.0.1's budget.
    let (limited, path) = unix_server(mode, rate(2), true).await;
    let mut tcp = Raw::connect(limited.addr(1)).await;
    tcp.send(GET.repeat(2)).await;
    for _ in 0..2 {
        assert_eq!(tcp.response().await.status, 200);
    }
    let mut unix = unix_raw(&path).await;
    assert_429(&unix.roundtrip(GET).await);
    assert_eq!(limited.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_clients_are_rate_limited_as_localhost_with_serve_abstract() {
    bounded(unix_clients_are_rate_limited_as_localhost(Mode::Abstract)).await;
}

#[tokio::test]
async fn unix_clients_are_rate_limited_as_localhost_with_http_service() {
    bounded(unix_clients_are_rate_limited_as_localhost(Mode::Service)).await;
}

// ---------------------------------------------------------------------------
// 2. IP allow and deny lists

/// What the IP filter makes of the client (127.0.0.1).
#[derive(Debug, Clone, Copy)]
enum Filtered {
    /// 403 for every request, the connection kept open, no handler call.
    Refused,
    /// Served.
    Admitted,
}

/// For each configuration, in both modes: two requests on one HTTP/1
/// connection and two on one h2c connection, each answered as `outcome`
/// says.
async fn ip_filter(configurations: Vec<Configuration>, outcome: Filtered) {
    for (n, configuration) in configurations.into_iter().enumerate() {
        for mode in [Mode::Service, Mode::Abstract] {
            let _case = case(format!("configuration {n}, {mode:?}"));
            let limited = start_counter(mode, configuration.clone()).await;
            let mut raw = Raw::connect(limited.addr(0)).await;
            let mut send = h2c(limited.addr(0)).await;
            for _ in 0..2 {
                let response = raw.roundtrip(GET).await;
                let h2 = h2_roundtrip(&mut send, get("http://a/x")).await;
                match outcome {
                    Filtered::Refused => {
                        assert_h1_refused(&response, "HTTP/1.1 403 Forbidden");
                        // The connection stays open: the next request is
                        // answered too.
                        assert_eq!(
                            response.header("connection"),
                            Some("keep-alive"),
                            "{response:?}"
                        );
                        assert_h2_refused(&h2, StatusCode::FORBIDDEN);
                    }
                    Filtered::Admitted => {
                        assert_eq!(response.status_line, "HTTP/1.1 200 OK");
                        assert_eq!(h2.status, StatusCode::OK);
                    }
                }
            }
            let calls = match outcome {
                Filtered::Refused => 0,
                Filtered::Admitted => 4,
            };
            assert_eq!(
                limited.calls(),
                calls,
                "the handler runs for admitted requests only"
            );
        }
    }
}

/// One test per row: `name: configurations => outcome`.
macro_rules! ip_filter {
    ($($name:ident: $configurations:expr => $outcome:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            bounded(ip_filter($configurations, $outcome)).await;
        }
    )*};
}

ip_filter! {
    a_denied_client_gets_403_over_http1_and_http2:
        vec![deny(&["127.0.0.0/8"])] => Filtered::Refused;
    an_allow_list_without_the_client_gets_403:
        vec![allow(&["10.0.0.0/8", "::1/128"])] => Filtered::Refused;
    an_allow_list_with_the_client_admits_it_and_wins_over_the_deny_list:
        vec![
            allow(&["127.0.0.0/8"]),
            // Qt's precedence: a non-empty allow list ignores the deny list.
            allow(&["127.0.0.1/32"]).with_deny_list(subnets!["127.0.0.0/8"]),
        ] => Filtered::Admitted;
}

/// The IP filter runs before the rate limit: denied requests spend no budget.
#[tokio::test]
async fn denied_requests_are_refused_before_the_rate_limit() {
    bounded(async {
        let config = rate(1).with_deny_list(subnets!["127.0.0.0/8"]);
        let limited = start_counter(Mode::Service, config).await;
        let mut raw = Raw::connect(limited.addr(0)).await;
        raw.send(GET.repeat(3)).await;
        for _ in 0..3 {
            assert_h1_refused(&raw.response().await, "HTTP/1.1 403 Forbidden");
        }
        // Lift the deny list, same rate settings (the limiter is kept): the
        // budget is whole, so one request is served, then 429.
        limited
            .server
            .set_configuration(rate(1))
            .expect("a valid configuration");
        raw.send(GET.repeat(2)).await;
        assert_eq!(raw.response().await.status_line, "HTTP/1.1 200 OK");
        assert_429(&raw.response().await);
        assert_eq!(limited.calls(), 1);
    })
    .await;
}

/// One request on a fresh connection; the connection is left to the caller's
/// scope to drop (for refusals that keep it open).
pub(super) async fn h1_once_open(addr: SocketAddr, request: &str) -> RawResponse {
    let mut raw = Raw::connect(addr).await;
    raw.roundtrip(request).await
}

// ---------------------------------------------------------------------------
// 3. Body limit

const MAX_BODY: u64 = 16;

fn body_limited() -> Configuration {
    sizes(SizeLimits::default().with_max_body(Some(MAX_BODY)))
}

fn assert_413_close(response: &RawResponse) {
    assert_h1_refused(response, "HTTP/1.1 413 Request Entity Too Large");
    assert_eq!(response.header("connection"), Some("close"), "{response:?}");
}

/// In both modes, each of `requests` on a fresh connection gets 413 with
/// `connection: close`, then the close, and no handler runs.
async fn body_refused(requests: &[&str]) {
    for mode in [Mode::Service, Mode::Abstract] {
        let limited = start_counter(mode, body_limited()).await;
        for request in requests {
            let _case = case(format!("{mode:?}: {request:?}"));
            // `h1_once` checks the close.
            assert_413_close(&h1_once(limited.addr(0), request).await);
        }
        assert_eq!(limited.calls(), 0, "{mode:?}: the handler never runs");
    }
}

/// One test per row: `name: requests`.
macro_rules! body_refused {
    ($($name:ident: $requests:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            bounded(body_refused($requests)).await;
        }
    )*};
}

body_refused! {
    a_declared_body_over_the_limit_gets_413_before_the_handler: &[
        // Only the head is sent: the refusal must not wait for the body.
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 17\r\n\r\n",
        // With `Expect: 100-continue`: 413 at once, no `100 Continue`.
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\
         Expect: 100-continue\r\n\r\n",
    ];
    a_chunked_body_over_the_limit_gets_413_before_the_handler: &[
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
         a\r\n0123456789\r\n7\r\nabcdefg\r\n0\r\n\r\n",
    ];
}

#[tokio::test]
async fn a_body_exactly_at_the_limit_is_served_whole() {
    bounded(async {
        let limited = start_counter(Mode::Service, body_limited()).await;
        let mut raw = Raw::connect(limited.addr(0)).await;
        let response = raw
            .roundtrip(
                "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 16\r\n\r\n0123456789abcdef",
            )
            .await;
        assert_eq!(response.status_line, "HTTP/1.1 200 OK");
        assert_eq!(response.body, b"0123456789abcdef");
        let response = raw
            .roundtrip(
                "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
                 8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n",
            )
            .await;
        assert_eq!(response.status_line, "HTTP/1.1 200 OK");
        assert_eq!(response.body, b"0123456789abcdef");

        let mut send = h2c(limited.addr(0)).await;
        let request = http::Request::post("http://a/echo")
            .body(Full::new(Bytes::from_static(b"0123456789abcdef")))
            .unwrap();
        let response = h2_roundtrip(&mut send, request).await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(&response.body[..], b"0123456789abcdef");
        assert_eq!(limited.calls(), 3);
    })
    .await;
}

/// A request body with no length: HTTP/2 DATA frames with no
/// `content-length`, so only the streamed count can catch it.
struct NoLength(Option<Bytes>);

impl hyper::body::Body for NoLength {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.take().map(|data| Ok(hyper::body::Frame::data(data))))
    }
}

#[tokio::test]
async fn http2_bodies_over_the_limit_get_413_before_the_handler() {
    bounded(async {
        let limited = start_counter(Mode::Service, body_limited()).await;
        let mut send = h2c(limited.addr(0)).await;
        // Declared: hyper's client sends content-length: 17.
        let request = http::Request::post("http://a/echo")
            .body(Full::new(Bytes::from_static(b"0123456789abcdefg")))
            .unwrap();
        let response = h2_roundtrip(&mut send, request).await;
        assert_h2_refused(&response, StatusCode::PAYLOAD_TOO_LARGE);

        // Streamed without a length.
        let tcp = within("connect", TcpStream::connect(limited.addr(0)))
            .await
            .unwrap();
        let (mut send, conn) = within(
            "HTTP/2 handshake",
            hyper::client::conn::http2::handshake::<_, _, NoLength>(
                TokioExecutor::new(),
                TokioIo::new(tcp),
            ),
        )
        .await
        .expect("handshake");
        tokio::spawn(conn);
        let request = http::Request::post("http://a/echo")
            .body(NoLength(Some(Bytes::from_static(b"0123456789abcdefg"))))
            .unwrap();
        let response = h2_roundtrip(&mut send, request).await;
        // Refused as the body streams in, by `HttpService`'s body-error
        // answer, which looks like every other refusal.
        assert_h2_refusal(&response, StatusCode::PAYLOAD_TOO_LARGE, Some("0"));
        // And 16 bytes the same way pass.
        let request = http::Request::post("http://a/echo")
            .body(NoLength(Some(Bytes::from_static(b"0123456789abcdef"))))
            .unwrap();
        let response = h2_roundtrip(&mut send, request).await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(&response.body[..], b"0123456789abcdef");
        assert_eq!(limited.calls(), 1, "only the request within the limit");
    })
    .await;
}

// ---------------------------------------------------------------------------
// 4. URL and header limits

const MAX_URL: usize = 64;
const MAX_FIELD: usize = 64;
const MAX_FIELDS: usize = 8;
const MAX_TOTAL: usize = 200;

fn head_limited() -> Configuration {
    sizes(
        SizeLimits::default()
            .with_max_url(Some(MAX_URL as u64))
            .with_max_header_field(Some(MAX_FIELD as u64))
            .with_max_header_fields(Some(MAX_FIELDS as u64))
            .with_max_total_header(Some(MAX_TOTAL as u64)),
    )
}

/// A target of exactly `len` bytes: `/` and `len - 1` letters.
fn target(len: usize) -> String {
    format!("/{}", "u".repeat(len - 1))
}

/// One field `x-long: vvv…` whose `name + 1 + value` is exactly `len`.
fn long_field(len: usize) -> Vec<(String, String)> {
    let name = "x-long";
    vec![(name.to_owned(), "v".repeat(len - name.len() - 1))]
}

/// `n` short fields `x-0: 0` … (each well under the field limit).
fn short_fields(n: usize) -> Vec<(String, String)> {
    (0..n).map(|i| (format!("x-{i}"), i.to_string())).collect()
}

/// Four fields `t-0` … `t-3` whose `name + value + 4` add up to exactly
/// `total` bytes, each under the field limit.
fn total_fields(total: usize) -> Vec<(String, String)> {
    let each = total / 4;
    (0..4)
        .map(|i| {
            let bytes = if i == 3 { total - 3 * each } else { each };
            (format!("t-{i}"), "t".repeat(bytes - 3 - 4))
        })
        .collect()
}

struct HeadCase {
    what: &'static str,
    target: String,
    fields: Vec<(String, String)>,
    status: u16,
}

/// The URL and header cases, each at and just over its limit. On HTTP/1
/// (`http1`) the request also carries `host: a`, one field of 9 bytes
/// counted in the total, and the total counts the 2 bytes of the empty line
/// ending the head (as Qt counts them); HTTP/2 sends `:authority`, not a
/// header field, and has no such line.
fn head_cases(http1: bool) -> Vec<HeadCase> {
    let (host_fields, host_bytes) = if http1 { (1, 9 + 2) } else { (0, 0) };
    let case = |what, target, fields, status| HeadCase {
        what,
        target,
        fields,
        status,
    };
    vec![
        case("URL at the limit", target(MAX_URL), vec![], 200),
        case("URL over the limit", target(MAX_URL + 1), vec![], 414),
        case("field at the limit", target(2), long_field(MAX_FIELD), 200),
        case(
            "field over the limit",
            target(2),
            long_field(MAX_FIELD + 1),
            431,
        ),
        case(
            "field count at the limit",
            target(2),
            short_fields(MAX_FIELDS - host_fields),
            200,
        ),
        case(
            "field count over the limit",
            target(2),
            short_fields(MAX_FIELDS - host_fields + 1),
            431,
        ),
        case(
            "total at the limit",
            target(2),
            total_fields(MAX_TOTAL - host_bytes),
            200,
        ),
        case(
            "total over the limit",
            target(2),
            total_fields(MAX_TOTAL - host_bytes + 1),
            431,
        ),
    ]
}

#[tokio::test]
async fn url_and_header_limits_over_http1() {
    bounded(async {
        let limited = start_counter(Mode::Service, head_limited()).await;
        let mut expected_calls = 0;
        for HeadCase {
            what,
            target,
            fields,
            status,
        } in head_cases(true)
        {
            let mut request = format!("GET {target} HTTP/1.1\r\nhost: a\r\n");
            for (name, value) in fields {
                request.push_str(&format!("{name}: {value}\r\n"));
            }
            request.push_str("\r\n");
            // Refusals close the connection (checked by `h1_once`).
            let response = h1_once(limited.addr(0), &request).await;
            assert_eq!(response.status, status, "{what}: {response:?}");
            match status {
                200 => expected_calls += 1,
                414 => assert_h1_refused(&response, "HTTP/1.1 414 Request-URI Too Long"),
                _ => assert_h1_refused(&response, "HTTP/1.1 431 Request Header Fields Too Large"),
            }
        }
        assert_eq!(
            limited.calls(),
            expected_calls,
            "refusals never reach the handler"
        );
    })
    .await;
}

/// An absolute-form target is measured whole, as Qt measures the target it
/// reads: at the limit it is served, one byte over it gets 414.
#[tokio::test]
async fn an_absolute_form_target_counts_whole_against_the_url_limit() {
    bounded(async {
        let limited = start_counter(Mode::Service, head_limited()).await;
        let authority = "http://a";
        let request = |len: usize| {
            format!(
                "GET {authority}{} HTTP/1.1\r\nhost: a\r\n\r\n",
                target(len - authority.len())
            )
        };
        let served = h1_once(limited.addr(0), &request(MAX_URL)).await;
        assert_eq!(served.status, 200, "{served:?}");
        let refused = h1_once(limited.addr(0), &request(MAX_URL + 1)).await;
        assert_h1_refused(&refused, "HTTP/1.1 414 Request-URI Too Long");
        assert_eq!(limited.calls(), 1, "the refusal never reaches the handler");
    })
    .await;
}

#[tokio::test]
async fn url_and_header_limits_over_h2c() {
    bounded(async {
        let limited = start_counter(Mode::Abstract, head_limited()).await;
        // One connection for every case: HTTP/2 refuses the stream only.
        let mut send = h2c(limited.addr(0)).await;
        let mut expected_calls = 0;
        for HeadCase {
            what,
            target,
            fields,
            status,
        } in head_cases(false)
        {
            let mut request = get(&format!("http://a{target}"));
            for (name, value) in fields {
                request.headers_mut().append(
                    http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    HeaderValue::from_str(&value).unwrap(),
                );
            }
            let response = h2_roundtrip(&mut send, request).await;
            assert_eq!(
                response.status.as_u16(),
                status,
                "{what}: {:?}",
                response.headers
            );
            if status == 200 {
                expected_calls += 1;
            } else {
                assert_h2_refused(&response, response.status);
            }
        }
        assert_eq!(
            limited.calls(),
            expected_calls,
            "refusals never reach the handler"
        );
    })
    .await;
}

// ---------------------------------------------------------------------------
// 5. Connection caps at accept

const REFUSED_429: &[u8] =
    b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/x-empty\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
/// A second plain connection sending an HTTP/1 request gets exactly the
/// raw 429 and then EOF.
pub(super) async fn assert_h1_refused_at_accept(stream: TcpStream) {
    let mut raw = Raw::new(stream);
    raw.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let answer = raw.eof().await;
    assert_eq!(
        String::from_utf8_lossy(&answer),
        String::from_utf8_lossy(REFUSED_429)
    );
}

/// An h2c prior-knowledge connection gets SETTINGS then
/// GOAWAY(last stream 0, ENHANCE_YOUR_CALM), then EOF.
async fn assert_h2_refused_at_accept(stream: TcpStream) {
    let mut raw = Raw::new(stream);
    let mut hello = PREFACE.to_vec();
    hello.extend_from_slice(&EMPTY_SETTINGS);
    raw.send(hello).await;
    let frames = frames(&raw.eof().await);
    let goaway = frames
        .iter()
        .find(|f| f.kind == GOAWAY)
        .unwrap_or_else(|| panic!("no GOAWAY frame in {frames:?}"));
    assert_eq!(goaway.stream, 0, "GOAWAY is a connection frame");
    assert_eq!(goaway.payload.len(), 8, "{goaway:?}");
    let last_stream = u32::from_be_bytes(goaway.payload[0..4].try_into().unwrap());
    let code = u32::from_be_bytes(goaway.payload[4..8].try_into().unwrap());
    assert_eq!(last_stream, 0, "no stream was processed");
    assert_eq!(code, ENHANCE_YOUR_CALM, "{goaway:?}");
    assert_eq!(
        frames,
        [
            Frame {
                kind: 0x4,
                flags: 0,
                stream: 0,
                payload: vec![]
            },
            Frame {
                kind: GOAWAY,
                flags: 0,
                stream: 0,
                payload: vec![0, 0, 0, 0, 0, 0, 0, 0x0b]
            },
        ],
        "an empty SETTINGS frame (the server preface), then the GOAWAY"
    );
}

/// A TLS client over the cap: the connection is closed before the handshake.
async fn assert_tls_refused_at_accept(stream: TcpStream, cert: &TestCert) {
    let handshake = try_tls_handshake(stream, client_tls(cert, &[b"http/1.1"]), "localhost").await;
    assert!(
        handshake.is_err(),
        "the TLS handshake of a connection over the cap succeeded"
    );
}

/// A plain connection gets 200 for a request (then stays open).
pub(super) async fn assert_served(stream: TcpStream) -> Raw {
    let mut raw = Raw::new(stream);
    let response = raw.roundtrip(GET).await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{response:?}");
    assert_eq!(response.header("connection"), Some("keep-alive"));
    assert_eq!(response.header("keep-alive"), Some("timeout=15"));
    raw
}

pub(super) async fn tcp(addr: SocketAddr) -> TcpStream {
    within("connect", TcpStream::connect(addr))
        .await
        .expect("connect")
}

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

#[tokio::test]
async fn max_connections_refuses_at_accept_and_releases_the_permit() {
    bounded(async {
        let cert = test_cert();
        let tls = server_tls(&cert);
        let limited = start_on(
            Mode::Service,
            Configuration::default().with_max_connections(1),
            |b| b.bind_tcp("127.0.0.1:0").bind_tls("127.0.0.1:0", tls),
        )
        .await;
        let (plain, secure) = (limited.addr(0), limited.addr(1));

        // One keep-alive connection holds the only permit.
        let mut first = assert_served(tcp(plain).await).await;
        wait_live(&limited.server, 1).await;

        assert_h1_refused_at_accept(tcp(plain).await).await;
        assert_h2_refused_at_accept(tcp(plain).await).await;
        assert_tls_refused_at_accept(tcp(secure).await, &cert).await;
        assert_eq!(limited.server.live_connections(), 1);

        // The holder is still served.
        assert_eq!(first.roundtrip(GET).await.status, 200);
        assert_eq!(limited.calls(), 2);

        // Once it closes, the permit is free again: TLS is served now …
        drop(first);
        wait_live(&limited.server, 0).await;
        let stream = try_tls_handshake(
            tcp(secure).await,
            client_tls(&cert, &[b"http/1.1"]),
            "localhost",
        )
        .await
        .expect("a TLS handshake once the permit is free");
        let mut tls_raw = Raw::new(stream);
        assert_eq!(tls_raw.roundtrip(GET).await.status, 200);
        // … and holds the permit in its turn.
        assert_h1_refused_at_accept(tcp(plain).await).await;
        drop(tls_raw);
        wait_live(&limited.server, 0).await;
        // Then h2c.
        let mut send = h2c(plain).await;
        let response = h2_roundtrip(&mut send, get("http://a/x")).await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(limited.calls(), 4);
    })
    .await;
}

#[tokio::test]
async fn a_silent_connection_over_the_cap_is_closed_without_an_answer() {
    bounded(async {
        let mut config = Configuration::default().with_max_connections(1);
        config.timeouts.first_byte = Duration::from_millis(500);
        let limited = start_counter(Mode::Service, config).await;
        let _first = assert_served(tcp(limited.addr(0)).await).await;
        wait_live(&limited.server, 1).await;
        let started = Instant::now();
        let mut silent = Raw::connect(limited.addr(0)).await;
        let rest = silent
            .closed_within(Duration::from_secs(3))
            .await
            .expect("a silent connection over the cap is closed within 3 s");
        assert_eq!(rest, b"", "nothing is sent to a silent refused client");
        assert!(started.elapsed() < Duration::from_secs(3));
    })
    .await;
}

#[tokio::test]
async fn max_per_host_refuses_one_address_and_serves_another() {
    bounded(async {
        let cert = test_cert();
        let tls = server_tls(&cert);
        let limited = start_on(
            Mode::Abstract,
            Configuration::default().with_max_connections_per_host(1),
            |b| b.bind_tcp("127.0.0.1:0").bind_tls("127.0.0.1:0", tls),
        )
        .await;
        let (plain, secure) = (limited.addr(0), limited.addr(1));

        let mut first = assert_served(connect_from(LOCALHOST, plain).await).await;
        wait_live(&limited.server, 1).await;
        assert_h1_refused_at_accept(connect_from(LOCALHOST, plain).await).await;
        assert_h2_refused_at_accept(connect_from(LOCALHOST, plain).await).await;
        assert_tls_refused_at_accept(connect_from(LOCALHOST, secure).await, &cert).await;

        // Another host is counted on its own: served, while 127.0.0.1's
        // connection is still open.
        let mut second = assert_served(connect_from(loopback(2), plain).await).await;
        assert_eq!(
            second
                .roundtrip(GET)
                .await
                .header("x-remote")
                .map(|r| r.starts_with("127.0.0.2:")),
            Some(true)
        );
        wait_live(&limited.server, 2).await;
        // … and capped on its own too.
        assert_h1_refused_at_accept(connect_from(loopback(2), plain).await).await;
        // A third host over TLS.
        let stream = try_tls_handshake(
            connect_from(loopback(3), secure).await,
            client_tls(&cert, &[b"http/1.1"]),
            "localhost",
        )
        .await
        .expect("127.0.0.3's TLS handshake");
        let mut third = Raw::new(stream);
        assert_eq!(third.roundtrip(GET).await.status, 200);
        wait_live(&limited.server, 3).await;
        assert_eq!(first.roundtrip(GET).await.status, 200);

        // 127.0.0.1's connection closes: its permit is free again, the other
        // hosts' connections are untouched.
        drop(first);
        wait_live(&limited.server, 2).await;
        let _again = assert_served(connect_from(LOCALHOST, plain).await).await;
        assert_eq!(second.roundtrip(GET).await.status, 200);
        assert_eq!(third.roundtrip(GET).await.status, 200);
    })
    .await;
}

#[tokio::test]
async fn max_connections_refuses_unix_clients_too() {
    bounded(async {
        let config = Configuration::default().with_max_connections(1);
        let (limited, path) = unix_server(Mode::Service, config, false).await;
        let mut first = unix_raw(&path).await;
        assert_eq!(first.roundtrip(GET).await.status, 200);
        wait_live(&limited.server, 1).await;
        let mut second = unix_raw(&path).await;
        second.send(GET).await;
        assert_eq!(
            String::from_utf8_lossy(&second.eof().await),
            String::from_utf8_lossy(REFUSED_429)
        );
        drop(first);
        wait_live(&limited.server, 0).await;
        assert_eq!(unix_raw(&path).await.roundtrip(GET).await.status, 200);
    })
    .await;
}

// ---------------------------------------------------------------------------
// 6. Live reconfiguration

#[tokio::test]
async fn a_deny_list_set_live_applies_to_the_next_request_on_open_connections() {
    bounded(async {
        let limited = start_counter(Mode::Abstract, Configuration::default()).await;
        let mut raw = Raw::connect(limited.addr(0)).await;
        let mut send = h2c(limited.addr(0)).await;
        assert_eq!(raw.roundtrip(GET).await.status, 200);
        assert_eq!(
            h2_roundtrip(&mut send, get("http://a/x")).await.status,
            StatusCode::OK
        );

        limited
            .server
            .set_configuration(deny(&["127.0.0.0/8"]))
            .expect("a valid configuration");
        let response = raw.roundtrip(GET).await;
        assert_h1_refused(&response, "HTTP/1.1 403 Forbidden");
        let response = h2_roundtrip(&mut send, get("http://a/x")).await;
        assert_h2_refused(&response, StatusCode::FORBIDDEN);
        assert_eq!(limited.server.live_connections(), 2, "the same connections");

        // Lifted again: served on the same connections.
        limited
            .server
            .set_configuration(Configuration::default())
            .expect("a valid configuration");
        assert_eq!(raw.roundtrip(GET).await.status, 200);
        assert_eq!(
            h2_roundtrip(&mut send, get("http://a/x")).await.status,
            StatusCode::OK
        );
        assert_eq!(limited.calls(), 4);
    })
    .await;
}

/// Connection caps set live apply from the next accept; open connections
/// are not closed, but count against the new cap.
#[tokio::test]
async fn connection_caps_set_live_apply_from_the_next_accept() {
    bounded(async {
        let limited = start_counter(Mode::Service, Configuration::default()).await;
        let mut a = assert_served(tcp(limited.addr(0)).await).await;
        let mut b = assert_served(tcp(limited.addr(0)).await).await;
        wait_live(&limited.server, 2).await;

        limited
            .server
            .set_configuration(Configuration::default().with_max_connections(1))
            .expect("a valid configuration");
        assert_h1_refused_at_accept(tcp(limited.addr(0)).await).await;
        // Both older connections are still served.
        assert_eq!(a.roundtrip(GET).await.status, 200);
        assert_eq!(b.roundtrip(GET).await.status, 200);
        // One closes: the other still fills the cap of 1.
        drop(a);
        wait_live(&limited.server, 1).await;
        assert_h1_refused_at_accept(tcp(limited.addr(0)).await).await;
        drop(b);
        wait_live(&limited.server, 0).await;
        let _c = assert_served(tcp(limited.addr(0)).await).await;

        // Raised to 2: a second connection is admitted next to the first.
        limited
            .server
            .set_configuration(Configuration::default().with_max_connections(2))
            .expect("a valid configuration");
        let _d = assert_served(tcp(limited.addr(0)).await).await;
        wait_live(&limited.server, 2).await;
        assert_h1_refused_at_accept(tcp(limited.addr(0)).await).await;
    })
    .await;
}

#[tokio::test]
async fn changing_only_sizes_keeps_the_rate_limiters_counts() {
    bounded(async {
        let limited = start_counter(Mode::Service, rate(2)).await;
        let mut raw = Raw::connect(limited.addr(0)).await;
        raw.send(GET.repeat(2)).await;
        assert_eq!(raw.response().await.status, 200);
        assert_eq!(raw.response().await.status, 200);

        let changed = rate(2).with_sizes(SizeLimits::default().with_max_url(Some(1000)));
        limited
            .server
            .set_configuration(changed.clone())
            .expect("a valid configuration");
        assert_eq!(limited.server.configuration(), changed);
        // Counted before the change, still counted after it.
        assert_429(&raw.roundtrip(GET).await);
        assert_eq!(limited.calls(), 2);

        // A new rate starts a new limiter with a whole budget.
        limited
            .server
            .set_configuration(rate(3))
            .expect("a valid configuration");
        assert_eq!(raw.roundtrip(GET).await.status, 200);
    })
    .await;
}

#[tokio::test]
async fn a_url_limit_set_live_applies_to_the_next_request_on_an_open_connection() {
    bounded(async {
        let limited = start_counter(Mode::Service, Configuration::default()).await;
        let mut raw = Raw::connect(limited.addr(0)).await;
        let request = "GET /0123456789 HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(raw.roundtrip(request).await.status, 200);
        limited
            .server
            .set_configuration(sizes(SizeLimits::default().with_max_url(Some(8))))
            .expect("a valid configuration");
        let response = raw.roundtrip(request).await;
        assert_h1_refused(&response, "HTTP/1.1 414 Request-URI Too Long");
        assert_eq!(response.header("connection"), Some("close"));
        assert_eq!(raw.eof().await, b"");
        assert_eq!(limited.calls(), 1);
    })
    .await;
}

// ---------------------------------------------------------------------------
// 7. Forwarding headers from an untrusted peer

const SPOOFS: [(&str, &str); 3] = [
    ("x-forwarded-for", "203.0.113.9"),
    ("x-forwarded-for", "203.0.113.9, 198.51.100.7"),
    ("forwarded", "for=203.0.113.9"),
];

#[tokio::test]
async fn a_spoofed_forwarding_header_does_not_escape_a_deny_list() {
    bounded(async {
        for mode in [Mode::Service, Mode::Abstract] {
            let limited = start_counter(mode, deny(&["127.0.0.0/8"])).await;
            let mut raw = Raw::connect(limited.addr(0)).await;
            let mut send = h2c(limited.addr(0)).await;
            for (name, value) in SPOOFS {
                let response = raw
                    .roundtrip(format!(
                        "GET /x HTTP/1.1\r\nHost: a\r\n{name}: {value}\r\n\r\n"
                    ))
                    .await;
                assert_h1_refused(&response, "HTTP/1.1 403 Forbidden");
                let mut request = get("http://a/x");
                request
                    .headers_mut()
                    .insert(name, HeaderValue::from_static(value));
                let response = h2_roundtrip(&mut send, request).await;
                assert_h2_refused(&response, StatusCode::FORBIDDEN);
            }
            assert_eq!(limited.calls(), 0, "{mode:?}");

            // The control: with 127.0.0.0/8 trusted as a proxy, the same
            // header is believed, so the deny list no longer matches.
            let mut trusting = deny(&["127.0.0.0/8"]);
            trusting.limits.client_ip =
                ClientIpConfig::default().with_trusted_proxies(subnets!["127.0.0.0/8"]);
            limited
                .server
                .set_configuration(trusting)
                .expect("a valid configuration");
            let response = raw
                .roundtrip("GET /x HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n")
                .await;
            assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{mode:?}");
            assert_eq!(limited.calls(), 1);
        }
    })
    .await;
}

#[tokio::test]
async fn a_spoofed_forwarding_header_does_not_win_an_allow_list_or_a_fresh_rate_budget() {
    bounded(async {
        let limited = start_counter(Mode::Service, allow(&["203.0.113.0/24"])).await;
        let response = h1_once_open(
            limited.addr(0),
            "GET /x HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n",
        )
        .await;
        assert_h1_refused(&response, "HTTP/1.1 403 Forbidden");
        assert_eq!(limited.calls(), 0);

        // A new forwarded address per request buys no new rate budget.
        let limited = start_counter(Mode::Abstract, rate(2)).await;
        let mut raw = Raw::connect(limited.addr(0)).await;
        let pipelined: String = (1..=3)
            .map(|i| {
                format!("GET /x HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.{i}\r\n\r\n")
            })
            .collect();
        raw.send(pipelined).await;
        assert_eq!(raw.response().await.status, 200);
        assert_eq!(raw.response().await.status, 200);
        assert_429(&raw.response().await);
    })
    .await;
}

// ---------------------------------------------------------------------------
// 8. What a refusal leaves of the connection

/// A refused request's unread body is never parsed as the next request:
/// with `content-length` it is skipped and the connection stays usable; with
/// a chunked body the refusal says `connection: close` and the connection
/// ends.
#[tokio::test]
async fn a_refused_requests_unread_body_is_never_parsed_as_a_request() {
    bounded(async {
        let limited = start_counter(Mode::Service, deny(&["127.0.0.0/8"])).await;
        let mut raw = Raw::connect(limited.addr(0)).await;
        raw.send(
            "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 24\r\n\r\n\
             GET /smuggled HTTP/1.1\r\n\
             GET /x HTTP/1.1\r\nHost: a\r\n\r\n",
        )
        .await;
        // The refusal of the POST leaves its body unread when it is sent,
        // so it promises no keep-alive time (hyper skips the 24 bytes and
        // carries on); the GET's refusal does.
        let post = raw.response().await;
        assert_eq!(post.status_line, "HTTP/1.1 403 Forbidden", "{post:?}");
        assert_eq!(
            post.headers_but_date(),
            [
                ("content-length", "0"),
                ("content-type", "application/x-empty"),
            ],
            "{post:?}"
        );
        let get = raw.response().await;
        assert_h1_refused(&get, "HTTP/1.1 403 Forbidden");

        let mut raw = Raw::connect(limited.addr(0)).await;
        raw.send(
            "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
             12\r\nGET /smuggled HTTP\r\n0\r\n\r\n\
             GET /x HTTP/1.1\r\nHost: a\r\n\r\n",
        )
        .await;
        let response = raw.response().await;
        assert_h1_refused_closing(&response, "HTTP/1.1 403 Forbidden");
        assert_eq!(raw.eof().await, b"", "nothing after the close");
        assert_eq!(limited.calls(), 0);
    })
    .await;
}

/// A refused request that announced `Expect: 100-continue` gets its refusal
/// with no `100 Continue` and `connection: close`: whether its body will
/// follow is unknown, so the connection cannot be reused.
#[tokio::test]
async fn a_refused_request_expecting_100_continue_closes_the_connection() {
    bounded(async {
        // (case, configuration, whether a request spends the budget first,
        // the refusal, its `retry-after`)
        let cases = [
            (
                "denied",
                deny(&["127.0.0.0/8"]),
                false,
                "HTTP/1.1 403 Forbidden",
                None,
            ),
            (
                "rate-limited",
                rate(1),
                true,
                "HTTP/1.1 429 Too Many Requests",
                Some("1"),
            ),
        ];
        for (name, config, spend_the_budget, status_line, retry_after) in cases {
            let _case = case(name);
            let limited = start_counter(Mode::Service, config).await;
            let mut raw = Raw::connect(limited.addr(0)).await;
            if spend_the_budget {
                assert_eq!(raw.roundtrip(GET).await.status, 200);
            }
            let response = raw
                .roundtrip(
                    "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\
                     Expect: 100-continue\r\n\r\n",
                )
                .await;
            assert_h1_refused_closing(&response, status_line);
            assert_eq!(response.header("retry-after"), retry_after, "{response:?}");
            // The body the client sends anyway is never parsed as a request.
            raw.send("helloGET /x HTTP/1.1\r\nHost: a\r\n\r\n").await;
            assert_eq!(raw.eof().await, b"", "closed after the refusal");
        }
    })
    .await;
}

/// Unlike Qt, the IP lists apply to upgrade requests too.
#[tokio::test]
async fn a_websocket_upgrade_from_a_denied_client_gets_403() {
    bounded(async {
        let limited = start_counter(Mode::Abstract, deny(&["127.0.0.0/8"])).await;
        let mut raw = Raw::connect(limited.addr(0)).await;
        let response = raw
            .roundtrip(
                "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
                 Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            )
            .await;
        assert_h1_refused(&response, "HTTP/1.1 403 Forbidden");
        assert_eq!(response.header("upgrade"), None);
        assert_eq!(limited.calls(), 0);
    })
    .await;
}
