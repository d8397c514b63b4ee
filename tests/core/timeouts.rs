//! Timeouts over real sockets, with short configured values: keep-alive idle
//! (HTTP/1 and HTTP/2), first byte / HTTP/2 preface, request head
//! (slowloris) and TLS handshake. A close must not come before 0.9 × the
//! timeout (the server fires between 1 and 1.25 times it); the late bound is
//! generous, as machines are noisy.

use std::time::{Duration, Instant};

use crate::support::{
    Raw, TestServer, client_tls, get, h2c, start_tls, start_with, test_cert, tls_connect,
    wait_live, with_timeouts, within,
};
use http_body_util::BodyExt;

const SHORT: Duration = Duration::from_millis(300);
/// A close this long after the timeout started is "on time".
const LATE: Duration = Duration::from_secs(3);
/// No close may come this early: the server fires a timeout between 1 and
/// 1.25 times its length, so 0.9 × the timeout leaves only clock slack.
const EARLY: Duration = Duration::from_millis(SHORT.as_millis() as u64 * 9 / 10);

fn assert_on_time(elapsed: Duration, what: &str) {
    assert!(
        elapsed >= EARLY,
        "{what}: closed too early, after {elapsed:?}"
    );
    assert!(
        elapsed <= LATE,
        "{what}: closed too late, after {elapsed:?}"
    );
}

/// The default configuration with a short keep-alive timeout.
fn short_keep_alive() -> postern_core::Configuration {
    with_timeouts(|t| t.keep_alive = SHORT)
}

#[tokio::test]
async fn http1_idle_keep_alive_is_closed_after_the_timeout() {
    let config = short_keep_alive();
    let (server, addr) = start_with(config, TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("connection"), None, "kept alive at first");
    let (elapsed, rest) = raw.time_to_close(Instant::now()).await;
    assert_eq!(rest, b"", "closed without sending anything");
    assert_on_time(elapsed, "idle HTTP/1 keep-alive");
    wait_live(&server, 0).await;
}

#[tokio::test]
async fn http1_keep_alive_timer_restarts_after_each_request() {
    let config = with_timeouts(|t| t.keep_alive = Duration::from_millis(600));
    let (_server, addr) = start_with(config, TestServer).await;
    let mut raw = Raw::connect(addr).await;
    // Five requests 300 ms apart: 1.5 s in all, well past one timeout, yet
    // the connection is never idle for 600 ms.
    for _ in 0..5 {
        let response = raw
            .roundtrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            .await;
        assert_eq!(response.status, 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let response = raw
        .roundtrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(response.body, b"hello");
}

#[tokio::test]
async fn a_slow_request_is_not_cut_by_the_keep_alive_timeout() {
    let config = short_keep_alive();
    let (_server, addr) = start_with(config, TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip("GET /slow?ms=1200 HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.body, b"slow 1200");
    // Then idle: closed one timeout later.
    let (elapsed, _) = raw.time_to_close(Instant::now()).await;
    assert_on_time(elapsed, "idle after a slow request");
}

#[tokio::test]
async fn http2_idle_connection_is_closed_after_the_keep_alive_timeout() {
    let config = short_keep_alive();
    let (server, addr) = start_with(config, TestServer).await;
    let (mut send, conn) = h2c(addr).await;
    let response = within("h2c response", send.send_request(get("http://a/hello")))
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_2);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"hello");
    let idle_from = Instant::now();
    // The client connection task ends when the server sends GOAWAY and closes.
    let ended = within("the server closing the idle HTTP/2 connection", conn).await;
    assert!(ended.is_ok(), "a clean close, got {ended:?}");
    assert_on_time(idle_from.elapsed(), "idle HTTP/2 connection");
    wait_live(&server, 0).await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_first_byte_timeout() {
    let config = with_timeouts(|t| {
        t.first_byte = SHORT;
        t.keep_alive = Duration::from_secs(30);
        t.request_head = Duration::from_secs(30);
    });
    let (server, addr) = start_with(config, TestServer).await;
    let started = Instant::now();
    let mut raw = Raw::connect(addr).await;
    let (elapsed, rest) = raw.time_to_close(started).await;
    assert_eq!(rest, b"", "closed without a response");
    assert_on_time(elapsed, "silent connection");
    wait_live(&server, 0).await;
}

#[tokio::test]
async fn a_partial_http2_preface_is_closed_after_the_first_byte_timeout() {
    // hyper-util's auto builder waits for the preface forever (hyper#3962).
    let config = with_timeouts(|t| {
        t.first_byte = SHORT;
        t.keep_alive = Duration::from_secs(30);
        t.request_head = Duration::from_secs(30);
    });
    let (_server, addr) = start_with(config, TestServer).await;
    let started = Instant::now();
    let mut raw = Raw::connect(addr).await;
    raw.send("PRI * HTTP/2.0\r\n").await;
    let (elapsed, rest) = raw.time_to_close(started).await;
    assert_eq!(rest, b"");
    assert_on_time(elapsed, "partial preface");
}

#[tokio::test]
async fn a_partial_request_head_is_closed_after_the_request_head_timeout() {
    // Keep-alive is long, so only the request-head timeout can close this.
    let config = with_timeouts(|t| {
        t.request_head = SHORT;
        t.keep_alive = Duration::from_secs(30);
        t.first_byte = Duration::from_secs(30);
    });
    let (_server, addr) = start_with(config, TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let started = Instant::now();
    raw.send("GET /hello HTTP/1.1\r\n").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    raw.send("Host: a\r\nX-Slow: ").await;
    let (elapsed, rest) = raw.time_to_close(started).await;
    // Postern's request-head watchdog drops the connection: no 408.
    assert_eq!(
        String::from_utf8_lossy(&rest),
        "",
        "closed without a response"
    );
    assert_on_time(elapsed, "partial request head");
}

#[tokio::test]
async fn a_partial_second_request_head_is_closed_after_the_request_head_timeout() {
    let config = with_timeouts(|t| {
        t.request_head = SHORT;
        t.keep_alive = Duration::from_secs(30);
    });
    let (_server, addr) = start_with(config, TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(response.status, 200);
    let started = Instant::now();
    raw.send("GET /hello HTTP/1.1\r\nHost: a\r\n").await;
    let (elapsed, _) = raw.time_to_close(started).await;
    assert_on_time(elapsed, "partial second request head");
}

#[tokio::test]
async fn a_head_completed_within_the_timeout_is_served() {
    let config = with_timeouts(|t| t.request_head = Duration::from_millis(1500));
    let (_server, addr) = start_with(config, TestServer).await;
    let mut raw = Raw::connect(addr).await;
    for part in ["GET /hel", "lo HTTP/1.1\r\n", "Host: a\r\n", "\r\n"] {
        raw.send(part).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let response = raw.response().await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"hello");
}

#[tokio::test]
async fn a_stalled_tls_handshake_is_closed_after_the_handshake_timeout() {
    let config = with_timeouts(|t| {
        t.tls_handshake = SHORT;
        t.first_byte = Duration::from_secs(30);
        t.keep_alive = Duration::from_secs(30);
    });
    let cert = test_cert();
    let (server, addr) = start_tls(config, TestServer, &cert).await;
    let started = Instant::now();
    let mut raw = Raw::connect(addr).await;
    // A few bytes of a TLS record header, then nothing.
    raw.send([0x16, 0x03, 0x01]).await;
    let (elapsed, rest) = raw.time_to_close(started).await;
    assert_eq!(rest, b"");
    assert_on_time(elapsed, "stalled TLS handshake");
    wait_live(&server, 0).await;
}

#[tokio::test]
async fn a_silent_tls_connection_is_closed_after_the_first_byte_timeout() {
    let config = with_timeouts(|t| {
        t.first_byte = SHORT;
        t.keep_alive = Duration::from_secs(30);
        t.request_head = Duration::from_secs(30);
    });
    let cert = test_cert();
    let (_server, addr) = start_tls(config, TestServer, &cert).await;
    let tls = tls_connect(addr, client_tls(&cert, &[b"http/1.1"]), "localhost").await;
    let started = Instant::now();
    let mut raw = Raw::new(tls);
    // A timeout drops the connection: no TLS `close_notify` first.
    let (rest, ended) = raw.end().await;
    assert_eq!(rest, b"");
    let error = ended.expect_err("a close without close_notify");
    assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof, "{error}");
    assert_on_time(started.elapsed(), "silent TLS connection");
}

/// `/trickle`: six chunks 200 ms apart (1.2 s in all).
struct Trickle;

impl postern_core::AbstractHttpServer for Trickle {
    async fn handle_request(
        &self,
        _: &postern_core::Request,
        responder: postern_core::Responder,
    ) -> postern_core::Handled {
        tokio::spawn(async move {
            let mut writer = responder.begin_chunked_with_mime("text/plain", http::StatusCode::OK);
            for i in 0..6 {
                if writer.write_chunk(format!("{i}")).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let _ = writer.end_chunked("", http::HeaderMap::new()).await;
        });
        postern_core::Handled::Yes
    }
}

#[tokio::test]
async fn a_slowly_streamed_response_is_not_cut_by_the_keep_alive_timeout() {
    let config = short_keep_alive();
    let (_server, addr) = start_with(config, Trickle).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw.roundtrip("GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert_eq!(response.body, b"012345");
    let (elapsed, _) = raw.time_to_close(Instant::now()).await;
    assert_on_time(elapsed, "idle after a streamed response");
}

#[tokio::test]
async fn a_slow_http2_stream_is_not_cut_by_the_keep_alive_timeout() {
    let config = short_keep_alive();
    let (_server, addr) = start_with(config, TestServer).await;
    let (mut send, conn) = h2c(addr).await;
    let response = within(
        "h2c response",
        send.send_request(get("http://a/slow?ms=1200")),
    )
    .await
    .expect("response");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"slow 1200");
    let idle_from = Instant::now();
    assert!(within("idle close", conn).await.unwrap().is_ok());
    assert_on_time(idle_from.elapsed(), "idle HTTP/2 after a slow stream");
}

#[tokio::test]
async fn a_short_partial_head_sent_in_one_packet_is_closed_after_the_request_head_timeout() {
    // 16 bytes: all of them are read while telling HTTP/1 from HTTP/2.
    let config = with_timeouts(|t| {
        t.request_head = SHORT;
        t.keep_alive = Duration::from_secs(30);
        t.first_byte = Duration::from_secs(30);
    });
    let (_server, addr) = start_with(config, TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let started = Instant::now();
    raw.send("GET / HTTP/1.1\r\n").await;
    let (elapsed, rest) = raw.time_to_close(started).await;
    assert_eq!(rest, b"");
    assert_on_time(elapsed, "short partial request head");
}
