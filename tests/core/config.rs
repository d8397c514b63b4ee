//! `Configuration` on a live server: `set_configuration` changes the timeouts
//! and HTTP/2 settings new connections get, `configuration()` reports it, and
//! invalid configurations are refused.

use std::time::{Duration, Instant};

use http::StatusCode;
use http_body_util::BodyExt;
use postern_core::config::Http2Settings;
use postern_core::{
    AbstractHttpServer, Configuration, Handled, HttpService, Request, Responder, Server,
};
use tokio::sync::mpsc;

use crate::support::h2frames::{
    H2Conn, SETTINGS_INITIAL_WINDOW_SIZE, SETTINGS_MAX_CONCURRENT_STREAMS, SETTINGS_MAX_FRAME_SIZE,
};
use crate::support::{Raw, TestServer, get, h2c, start_with, with_timeouts, within};

/// For the 300 ms timeouts below: the server fires a timeout between 1 and
/// 1.25 times its length, so nothing may close before 0.9 × 300 ms; the late
/// bound is generous, as machines are noisy.
fn assert_on_time(elapsed: Duration, what: &str) {
    assert!(
        elapsed >= Duration::from_millis(270),
        "{what}: closed too early, after {elapsed:?}"
    );
    assert!(
        elapsed <= Duration::from_secs(3),
        "{what}: closed too late, after {elapsed:?}"
    );
}

#[tokio::test]
async fn a_changed_keep_alive_applies_to_new_connections() {
    let (server, addr) = start_with(
        with_timeouts(|t| t.keep_alive = Duration::from_secs(30)),
        TestServer,
    )
    .await;
    let mut before = Raw::connect(addr).await;
    assert_eq!(
        before
            .roundtrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .status,
        200
    );
    // Idle for a while under the 30 s keep-alive: still open.
    assert!(
        before
            .closed_within(Duration::from_millis(600))
            .await
            .is_none()
    );

    let short = with_timeouts(|t| t.keep_alive = Duration::from_millis(300));
    server.set_configuration(short.clone()).expect("valid");
    assert_eq!(server.configuration(), short);

    let mut after = Raw::connect(addr).await;
    let response = after
        .roundtrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(response.body, b"hello");
    let (elapsed, rest) = after.time_to_close(Instant::now()).await;
    assert_eq!(rest, b"", "closed without sending anything");
    assert_on_time(elapsed, "a connection opened after the change");
}

#[tokio::test]
async fn a_changed_keep_alive_applies_to_existing_connections() {
    let (server, addr) = start_with(
        with_timeouts(|t| t.keep_alive = Duration::from_secs(30)),
        TestServer,
    )
    .await;
    let mut raw = Raw::connect(addr).await;
    assert_eq!(
        raw.roundtrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .status,
        200
    );
    server
        .set_configuration(with_timeouts(|t| t.keep_alive = Duration::from_millis(300)))
        .expect("valid");
    let closed = raw.closed_within(Duration::from_secs(5)).await;
    assert_eq!(
        closed.as_deref(),
        Some(&b""[..]),
        "an idle connection opened before the change is closed within 5 s, without a byte"
    );
}

#[tokio::test]
async fn a_changed_first_byte_timeout_applies_to_new_connections() {
    let (server, addr) = start_with(Configuration::default(), TestServer).await;
    server
        .set_configuration(with_timeouts(|t| t.first_byte = Duration::from_millis(300)))
        .expect("valid");
    let started = Instant::now();
    let mut raw = Raw::connect(addr).await;
    let (elapsed, rest) = raw.time_to_close(started).await;
    assert_eq!(rest, b"");
    assert_on_time(elapsed, "silent connection after the change");
}

/// `/hold?ms=N` records `start` and, N ms later, `end` before answering.
struct Recorder(mpsc::UnboundedSender<&'static str>);

impl AbstractHttpServer for Recorder {
    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        let ms: u64 = request
            .query_value("ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let events = self.0.clone();
        let _ = events.send("start");
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let _ = events.send("end");
            responder.write_status(StatusCode::NO_CONTENT);
        });
        Handled::Yes
    }
}

/// On one new HTTP/2 connection, run two `/hold` requests at once; return the
/// order of the handler's start/end events.
async fn two_streams_at_once(
    addr: std::net::SocketAddr,
    events: &mut mpsc::UnboundedReceiver<&'static str>,
) -> Vec<&'static str> {
    let (send, _conn) = h2c(addr).await;
    // One exchange first, so the client has the server's SETTINGS.
    let mut first = send.clone();
    let response = within("warm-up", first.send_request(get("http://a/hold?ms=0")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(within("events", events.recv()).await, Some("start"));
    assert_eq!(within("events", events.recv()).await, Some("end"));

    let requests: Vec<_> = (0..2)
        .map(|_| {
            let mut send = send.clone();
            tokio::spawn(async move {
                let response = send.send_request(get("http://a/hold?ms=700")).await?;
                response.into_body().collect().await.map(|_| ())
            })
        })
        .collect();
    for request in requests {
        within("stream", request).await.unwrap().unwrap();
    }
    let mut order = Vec::new();
    for _ in 0..4 {
        order.push(within("events", events.recv()).await.unwrap());
    }
    order
}

#[tokio::test]
async fn changed_http2_settings_apply_to_new_connections() {
    let mut one_stream = Http2Settings::default();
    one_stream.max_concurrent_streams = 1;
    let (tx, mut events) = mpsc::unbounded_channel();
    let (server, addr) = start_with(
        Configuration::default().with_http2(one_stream),
        Recorder(tx),
    )
    .await;
    let order = two_streams_at_once(addr, &mut events).await;
    assert_eq!(
        order,
        ["start", "end", "start", "end"],
        "one stream at a time"
    );

    server
        .set_configuration(Configuration::default())
        .expect("valid");
    assert_eq!(server.configuration().http2.max_concurrent_streams, 100);
    let order = two_streams_at_once(addr, &mut events).await;
    assert_eq!(
        order,
        ["start", "start", "end", "end"],
        "both streams at once"
    );
}

/// The server's connection preface on a new h2c connection: its SETTINGS
/// values for the initial stream window, the frame size and the stream
/// limit, in that order.
async fn announced_settings(addr: std::net::SocketAddr) -> [Option<u32>; 3] {
    let mut conn = H2Conn::connect(addr).await;
    let frames = conn.handshake(&[]).await;
    let values = frames
        .last()
        .expect("the server's SETTINGS")
        .settings_values();
    let get = |id| values.iter().find(|(k, _)| *k == id).map(|(_, v)| *v);
    [
        get(SETTINGS_INITIAL_WINDOW_SIZE),
        get(SETTINGS_MAX_FRAME_SIZE),
        get(SETTINGS_MAX_CONCURRENT_STREAMS),
    ]
}

/// Qt's `http2handshake`: the server preface announces the HTTP/2 settings,
/// and a changed configuration shows in the next connection's preface.
#[tokio::test]
async fn the_server_preface_announces_the_http2_settings() {
    let (server, addr) = start_with(Configuration::default(), TestServer).await;
    assert_eq!(
        announced_settings(addr).await,
        [Some(262_144), Some(16_384), Some(100)]
    );
    let mut changed = Http2Settings::default();
    changed.max_frame_size = 16_394;
    changed.initial_stream_window_size = 50_000;
    changed.max_concurrent_streams = 7;
    server
        .set_configuration(Configuration::default().with_http2(changed))
        .expect("valid");
    assert_eq!(
        announced_settings(addr).await,
        [Some(50_000), Some(16_394), Some(7)]
    );
}

#[tokio::test]
async fn invalid_configurations_are_refused() {
    let (server, addr) = start_with(Configuration::default(), TestServer).await;
    let zero = with_timeouts(|t| t.keep_alive = Duration::ZERO);
    let error = server.set_configuration(zero.clone()).unwrap_err();
    assert!(error.to_string().contains("keep_alive"), "{error}");
    assert_eq!(
        server.configuration(),
        Configuration::default(),
        "unchanged"
    );

    let mut tiny_frames = Http2Settings::default();
    tiny_frames.max_frame_size = 1000;
    let error = server
        .set_configuration(Configuration::default().with_http2(tiny_frames))
        .unwrap_err();
    assert!(error.to_string().contains("max_frame_size"), "{error}");
    assert_eq!(server.configuration(), Configuration::default());

    // Still serving with the old configuration.
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(response.body, b"hello");

    let refused = Server::builder()
        .configuration(zero)
        .bind_tcp("127.0.0.1:0")
        .serve(HttpService::new(TestServer))
        .await;
    assert!(refused.is_err(), "a builder with a zero timeout is refused");
}

/// A new keep-alive timeout reaches an open connection's next response.
#[tokio::test]
async fn a_live_keep_alive_change_shows_in_the_next_response() {
    let (server, addr) = start_with(Configuration::default(), TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let first = raw
        .roundtrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(first.header("keep-alive"), Some("timeout=15"));
    server
        .set_configuration(with_timeouts(|t| t.keep_alive = Duration::from_secs(7)))
        .expect("valid");
    let second = raw
        .roundtrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(second.header("keep-alive"), Some("timeout=7"));
    assert_eq!(second.header("connection"), Some("keep-alive"));
}
