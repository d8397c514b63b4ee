//! Timeouts over real sockets, with short configured values: keep-alive idle
//! (HTTP/1 and HTTP/2), first byte / HTTP/2 preface, request head
//! (slowloris) and TLS handshake. A close must not come before 0.9 × the
//! timeout (the server fires between 1 and 1.25 times it); the late bound is
//! generous, as machines are noisy.
//!
//! The connections each timeout closes are one table ([`closes!`]): which
//! timeout is short, what the client does, and the one outcome, a close
//! without a byte, on time.

use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use postern_core::Configuration;

use crate::support::{
    Raw, Running, TestServer, client_tls, get, h2c, start_tls, start_with, test_cert, tls_connect,
    wait_live, with_timeouts, within,
};

const SHORT: Duration = Duration::from_millis(300);
/// A close this long after the timeout started is "on time".
const LATE: Duration = Duration::from_secs(3);
/// No close may come this early: the server fires a timeout between 1 and
/// 1.25 times its length, so 0.9 × the timeout leaves only clock slack.
const EARLY: Duration = Duration::from_millis(SHORT.as_millis() as u64 * 9 / 10);
/// Long enough never to fire during a test.
const LONG: Duration = Duration::from_secs(30);

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
fn short_keep_alive() -> Configuration {
    with_timeouts(|t| t.keep_alive = SHORT)
}

// ---------------------------------------------------------------------------
// The table: connections a timeout closes without a byte

/// Which timeout is [`SHORT`]; every other one is [`LONG`].
#[derive(Debug, Clone, Copy)]
enum Short {
    KeepAlive,
    FirstByte,
    RequestHead,
    TlsHandshake,
}

impl Short {
    fn configuration(self) -> Configuration {
        with_timeouts(|t| {
            t.keep_alive = LONG;
            t.first_byte = LONG;
            t.request_head = LONG;
            t.tls_handshake = LONG;
            *match self {
                Short::KeepAlive => &mut t.keep_alive,
                Short::FirstByte => &mut t.first_byte,
                Short::RequestHead => &mut t.request_head,
                Short::TlsHandshake => &mut t.tls_handshake,
            } = SHORT;
        })
    }
}

/// What the client does before it waits for the close. The clock starts
/// once the connection is up (connected, or handshaken over TLS), or once
/// the first answer is in.
#[derive(Debug, Clone, Copy)]
enum Client {
    /// Over TCP: send these parts, 50 ms apart, and nothing more.
    Sends(&'static [&'static str]),
    /// Over TCP: these bytes of a TLS record header, and nothing more.
    TlsBytes(&'static [u8]),
    /// Over TLS (handshake done): nothing.
    TlsSilent,
    /// Over TCP: `request`, read its 200 answer with `body`, then send
    /// `then` and nothing more.
    After {
        request: &'static str,
        body: &'static str,
        then: &'static str,
    },
}

/// Start a [`TestServer`] with `short` short, run `client`, and assert the
/// one outcome: the server closes the connection without a byte, between
/// 0.9 and 10 times the timeout after the clock started, and no longer
/// counts it.
async fn closes(case: &str, short: Short, client: Client) {
    let configuration = short.configuration();
    let (server, mut raw, started) = match client {
        Client::TlsSilent => {
            let cert = test_cert();
            let (server, addr) = start_tls(configuration, TestServer, &cert).await;
            let tls = tls_connect(addr, client_tls(&cert, &[b"http/1.1"]), "localhost").await;
            let mut raw = Raw::new(tls);
            let started = Instant::now();
            // A timeout drops the connection: no TLS `close_notify` first.
            let (rest, ended) = raw.end().await;
            assert_eq!(
                String::from_utf8_lossy(&rest),
                "",
                "{case}: closed without a byte"
            );
            let error = ended.expect_err("a close without close_notify");
            assert_eq!(
                error.kind(),
                std::io::ErrorKind::UnexpectedEof,
                "{case}: {error}"
            );
            assert_on_time(started.elapsed(), case);
            wait_live(&server, 0).await;
            return;
        }
        Client::TlsBytes(bytes) => {
            let cert = test_cert();
            let (server, addr) = start_tls(configuration, TestServer, &cert).await;
            let mut raw = Raw::connect(addr).await;
            let started = Instant::now();
            raw.send(bytes).await;
            (server, raw, started)
        }
        Client::Sends(parts) => {
            let (server, addr) = start_with(configuration, TestServer).await;
            let mut raw = Raw::connect(addr).await;
            let started = Instant::now();
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                raw.send(part).await;
            }
            (server, raw, started)
        }
        Client::After {
            request,
            body,
            then,
        } => {
            let (server, addr) = start_with(configuration, TestServer).await;
            let mut raw = Raw::connect(addr).await;
            let response = raw.roundtrip(request).await;
            assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{case}");
            assert_eq!(
                response.header("connection"),
                Some("keep-alive"),
                "{case}: kept alive"
            );
            assert_eq!(response.text(), body, "{case}");
            let started = Instant::now();
            raw.send(then).await;
            (server, raw, started)
        }
    };
    finish(case, server, &mut raw, started).await;
}

async fn finish(case: &str, server: Running, raw: &mut Raw, started: Instant) {
    let (elapsed, rest) = raw.time_to_close(started).await;
    assert_eq!(
        String::from_utf8_lossy(&rest),
        "",
        "{case}: closed without a byte"
    );
    assert_on_time(elapsed, case);
    wait_live(&server, 0).await;
}

/// One test per row: `name: short timeout, client`.
macro_rules! closes {
    ($($name:ident: $short:expr, $client:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            closes(stringify!($name), $short, $client).await;
        }
    )*};
}

const HELLO: &str = "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n";

closes! {
    http1_idle_keep_alive_is_closed_after_the_timeout:
        Short::KeepAlive, Client::After { request: HELLO, body: "hello", then: "" };
    a_slow_request_is_not_cut_by_the_keep_alive_timeout:
        Short::KeepAlive,
        Client::After {
            request: "GET /slow?ms=1200 HTTP/1.1\r\nHost: a\r\n\r\n",
            body: "slow 1200",
            then: "",
        };
    a_silent_connection_is_closed_after_the_first_byte_timeout:
        Short::FirstByte, Client::Sends(&[]);
    // hyper-util's auto builder waits for the preface forever (hyper#3962).
    a_partial_http2_preface_is_closed_after_the_first_byte_timeout:
        Short::FirstByte, Client::Sends(&["PRI * HTTP/2.0\r\n"]);
    // Postern's request-head watchdog drops the connection: no 408.
    a_partial_request_head_is_closed_after_the_request_head_timeout:
        Short::RequestHead, Client::Sends(&["GET /hello HTTP/1.1\r\n", "Host: a\r\nX-Slow: "]);
    a_partial_second_request_head_is_closed_after_the_request_head_timeout:
        Short::RequestHead,
        Client::After { request: HELLO, body: "hello", then: "GET /hello HTTP/1.1\r\nHost: a\r\n" };
    // 16 bytes: all of them are read while telling HTTP/1 from HTTP/2.
    a_short_partial_head_sent_in_one_packet_is_closed_after_the_request_head_timeout:
        Short::RequestHead, Client::Sends(&["GET / HTTP/1.1\r\n"]);
    // A few bytes of a TLS record header, then nothing.
    a_stalled_tls_handshake_is_closed_after_the_handshake_timeout:
        Short::TlsHandshake, Client::TlsBytes(&[0x16, 0x03, 0x01]);
    a_silent_tls_connection_is_closed_after_the_first_byte_timeout:
        Short::FirstByte, Client::TlsSilent;
}

// ---------------------------------------------------------------------------
// The rest

#[tokio::test]
async fn http1_keep_alive_timer_restarts_after_each_request() {
    let config = with_timeouts(|t| t.keep_alive = Duration::from_millis(600));
    let (_server, addr) = start_with(config, TestServer).await;
    let mut raw = Raw::connect(addr).await;
    // Five requests 300 ms apart: 1.5 s in all, well past one timeout, yet
    // the connection is never idle for 600 ms.
    for _ in 0..5 {
        let response = raw.roundtrip(HELLO).await;
        assert_eq!(response.status, 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let response = raw.roundtrip(HELLO).await;
    assert_eq!(response.body, b"hello");
}

#[tokio::test]
async fn http2_idle_connection_is_closed_after_the_keep_alive_timeout() {
    let (server, addr) = start_with(short_keep_alive(), TestServer).await;
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
    let (_server, addr) = start_with(short_keep_alive(), Trickle).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw.roundtrip("GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert_eq!(response.body, b"012345");
    let (elapsed, rest) = raw.time_to_close(Instant::now()).await;
    assert_eq!(rest, b"", "closed without a byte");
    assert_on_time(elapsed, "idle after a streamed response");
}

/// Qt's `keepAliveTimeout`: requests pipelined on one HTTP/1 connection,
/// each answered later than the keep-alive timeout, are all answered; only
/// the idle connection after them is closed.
#[tokio::test]
async fn slow_pipelined_http1_answers_are_not_cut_by_the_keep_alive_timeout() {
    let (_server, addr) = start_with(short_keep_alive(), TestServer).await;
    let mut raw = Raw::connect(addr).await;
    raw.send(
        "GET /slow?ms=900 HTTP/1.1\r\nHost: a\r\n\r\nGET /slow?ms=600 HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .await;
    for body in ["slow 900", "slow 600"] {
        let response = raw.response().await;
        assert_eq!(response.status, 200, "{response:?}");
        assert_eq!(response.body, body.as_bytes(), "{response:?}");
    }
    let (elapsed, rest) = raw.time_to_close(Instant::now()).await;
    assert_eq!(rest, b"", "closed without a byte");
    assert_on_time(elapsed, "idle after the slow answers");
}

#[tokio::test]
async fn a_slow_http2_stream_is_not_cut_by_the_keep_alive_timeout() {
    let (_server, addr) = start_with(short_keep_alive(), TestServer).await;
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
