//! The access log (`postern::access`) and the request counters of
//! `RunningServer::stats`, over real sockets: one event per request with
//! exact fields, for requests served and for every kind of refusal (the
//! limits', the server's own, hyper's, the connection caps'); none when the
//! log is off; exact counts after a known sequence.
//!
//! Events are caught by a subscriber set as the test thread's default: each
//! test runs on a current-thread runtime, so its server's tasks log there
//! and no other test's events are seen.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::StatusCode;
use postern_core::access::RefusalReason;
use postern_core::config::SizeLimits;
use postern_core::{AbstractHttpServer, Configuration, Handled, Request, Responder};
use postern_limits::config::parse_subnet;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

use crate::support::{
    LIMIT, Raw, RawResponse, Running, TestServer, get, h2c, start_with, with_timeouts, within,
};

// ---------------------------------------------------------------------------
// Catching events

/// One event's fields, values as text (`message` included).
type Fields = BTreeMap<String, String>;

/// Records the fields of every `postern::access` event.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Fields>>>);

struct Recorder<'a>(&'a mut Fields);

impl Visit for Recorder<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() == "postern::access" {
            assert_eq!(*event.metadata().level(), tracing::Level::INFO);
            let mut fields = Fields::new();
            event.record(&mut Recorder(&mut fields));
            self.0.lock().expect("events").push(fields);
        }
    }
}

impl Capture {
    /// Catch this thread's events until the guard is dropped.
    fn install() -> (Capture, tracing::subscriber::DefaultGuard) {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::registry().with(capture.clone());
        (capture, tracing::subscriber::set_default(subscriber))
    }

    /// The events so far.
    fn events(&self) -> Vec<Fields> {
        self.0.lock().expect("events").clone()
    }
}

/// `events` with each `duration_us` checked (a number below the test
/// limit) and removed, so the rest can be compared exactly.
fn without_durations(events: Vec<Fields>) -> Vec<Fields> {
    events
        .into_iter()
        .map(|mut fields| {
            // Every request read has a duration; a head hyper refused has
            // neither method nor duration.
            match fields.remove("duration_us") {
                Some(us) => {
                    assert!(fields.contains_key("method"), "{fields:?}");
                    let us: u64 = us.parse().expect("duration_us is a number");
                    assert!(us < LIMIT.as_micros() as u64, "duration {us} µs");
                }
                None => assert!(!fields.contains_key("method"), "no duration: {fields:?}"),
            }
            fields
        })
        .collect()
}

/// Shut `running` down (so every connection, and every event, is done),
/// then the events without durations.
async fn events_after(running: Running, capture: &Capture) -> Vec<Fields> {
    let report = running.shutdown(Duration::from_secs(5)).await;
    assert!(report.drained);
    without_durations(capture.events())
}

/// The fields of a request's event.
fn request_event(
    method: &str,
    path: &str,
    status: u16,
    bytes: u64,
    protocol: &str,
    reason: Option<&str>,
) -> Fields {
    let mut fields: Fields = [
        ("message", "request"),
        ("method", method),
        ("path", path),
        ("client", "127.0.0.1"),
        ("protocol", protocol),
        ("completed", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    fields.insert("status".into(), status.to_string());
    fields.insert("bytes".into(), bytes.to_string());
    if let Some(reason) = reason {
        fields.insert("reason".into(), reason.to_owned());
    }
    fields
}

/// The fields of a refusal that has no request: a head hyper refused, or a
/// connection over the caps (`protocol` `None`).
fn refusal_event(status: u16, reason: &str, protocol: Option<&str>) -> Fields {
    let mut fields: Fields = [
        ("message", "request refused"),
        ("client", "127.0.0.1"),
        ("reason", reason),
        ("completed", "true"),
        ("bytes", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    fields.insert("status".into(), status.to_string());
    if let Some(protocol) = protocol {
        fields.insert("protocol".into(), protocol.to_owned());
    }
    fields
}

fn logged(config: Configuration) -> Configuration {
    config.with_access_log(true)
}

/// One HTTP/1 exchange on a fresh connection.
async fn one(addr: std::net::SocketAddr, request: impl AsRef<[u8]>) -> RawResponse {
    Raw::connect(addr).await.roundtrip(request).await
}

// ---------------------------------------------------------------------------
// One event per request

#[tokio::test]
async fn a_served_request_is_one_event_with_every_field() {
    let (capture, _guard) = Capture::install();
    let (running, addr) = start_with(logged(Configuration::default()), TestServer).await;
    let mut raw = Raw::connect(addr).await;
    // The query is left out of the log: it may hold secrets.
    let response = raw
        .roundtrip("GET /hello?token=secret HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(response.status, 200);
    raw.send("HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let response = raw.head_response().await;
    assert_eq!(response.status, 200);
    let response = raw
        .roundtrip("POST /echo HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc")
        .await;
    assert_eq!(response.text(), "abc");
    assert_eq!(
        events_after(running, &capture).await,
        [
            request_event("GET", "/hello", 200, 5, "HTTP/1.1", None),
            request_event("HEAD", "/hello", 200, 0, "HTTP/1.1", None),
            request_event("POST", "/echo", 200, 3, "HTTP/1.0", None),
        ]
    );
}

#[tokio::test]
async fn an_http2_request_is_logged_as_http2() {
    let (capture, _guard) = Capture::install();
    let (running, addr) = start_with(logged(Configuration::default()), TestServer).await;
    let (mut send, _conn) = h2c(addr).await;
    let response = within("h2 response", send.send_request(get("http://a/hello")))
        .await
        .expect("a response");
    assert_eq!(response.status(), StatusCode::OK);
    let body = within(
        "h2 body",
        http_body_util::BodyExt::collect(response.into_body()),
    )
    .await
    .expect("the body");
    assert_eq!(body.to_bytes(), "hello");
    drop(send);
    assert_eq!(
        events_after(running, &capture).await,
        [request_event("GET", "/hello", 200, 5, "HTTP/2", None)]
    );
}

#[tokio::test]
async fn no_events_when_the_log_is_off() {
    let (capture, _guard) = Capture::install();
    let config =
        Configuration::default().with_deny_list([parse_subnet("127.0.0.1/32").expect("a subnet")]);
    let (running, addr) = start_with(config, TestServer).await;
    assert_eq!(
        one(addr, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .status,
        403
    );
    assert_eq!(one(addr, "GET /hello HTTP/1.1\r\n\r\n").await.status, 400);
    let stats = running.server().stats();
    assert_eq!(stats.refusals.ip_denied, 1);
    assert_eq!(stats.refusals.bad_request, 1);
    assert_eq!(events_after(running, &capture).await, Vec::<Fields>::new());
}

/// A response the client stops reading is logged as not completed, with
/// the bytes that went out.
#[tokio::test]
async fn a_response_cut_short_is_logged_as_not_completed() {
    let (capture, _guard) = Capture::install();
    let (running, addr) = start_with(logged(Configuration::default()), Chunks).await;
    let mut raw = Raw::connect(addr).await;
    raw.send("GET /chunks HTTP/1.1\r\nHost: a\r\n\r\n").await;
    // The head and the first chunk arrive; then the client goes away.
    let mut seen = Vec::new();
    within("the first chunk", async {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 1024];
        while !String::from_utf8_lossy(&seen).contains("first") {
            let n = raw.stream().read(&mut buf).await.expect("read");
            assert!(n > 0, "closed early");
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    drop(raw);
    let mut expected = request_event("GET", "/chunks", 200, 5, "HTTP/1.1", None);
    expected.insert("completed".into(), "false".into());
    assert_eq!(events_after(running, &capture).await, [expected]);
}

/// `/chunks`: a chunked 200 whose first chunk is `first`, and whose next
/// never comes.
#[derive(Clone, Copy)]
struct Chunks;

impl AbstractHttpServer for Chunks {
    async fn handle_request(&self, _request: &Request, responder: Responder) -> Handled {
        tokio::spawn(async move {
            let mut writer = responder.begin_chunked(http::HeaderMap::new(), StatusCode::OK);
            if writer.write_chunk("first").await.is_ok() {
                std::future::pending::<()>().await;
            }
        });
        Handled::Yes
    }
}

// ---------------------------------------------------------------------------
// Refusals

#[tokio::test]
async fn refusals_of_the_limits_carry_their_reason() {
    struct Case {
        name: &'static str,
        config: Configuration,
        request: String,
        status: u16,
        method: &'static str,
        path: &'static str,
        reason: &'static str,
    }
    let tiny = SizeLimits::default()
        .with_max_url(Some(16))
        .with_max_total_header(Some(64))
        .with_max_body(Some(4));
    let cases = [
        Case {
            name: "ip denied",
            config: Configuration::default()
                .with_deny_list([parse_subnet("127.0.0.0/8").expect("a subnet")]),
            request: "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n".into(),
            status: 403,
            method: "GET",
            path: "/hello",
            reason: "ip_denied",
        },
        Case {
            name: "URL too long",
            config: Configuration::default().with_sizes(tiny),
            request: format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "u".repeat(20)),
            status: 414,
            method: "GET",
            path: "/uuuuuuuuuuuuuuuuuuuu",
            reason: "url_too_long",
        },
        Case {
            name: "header too large",
            config: Configuration::default().with_sizes(tiny),
            request: format!(
                "GET /h HTTP/1.1\r\nHost: a\r\nx-big: {}\r\n\r\n",
                "v".repeat(80)
            ),
            status: 431,
            method: "GET",
            path: "/h",
            reason: "header_too_large",
        },
        Case {
            name: "body too large (declared)",
            config: Configuration::default().with_sizes(tiny),
            request: "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabcde".into(),
            status: 413,
            method: "POST",
            path: "/echo",
            reason: "body_too_large",
        },
        Case {
            name: "ambiguous head (strict)",
            config: Configuration::default(),
            request: "GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".into(),
            status: 400,
            method: "GET",
            path: "/hello",
            reason: "bad_request",
        },
    ];
    for case in cases {
        let _case = crate::support::case(case.name);
        let (capture, _guard) = Capture::install();
        let (running, addr) = start_with(logged(case.config), TestServer).await;
        assert_eq!(one(addr, &case.request).await.status, case.status);
        assert_eq!(
            events_after(running, &capture).await,
            [request_event(
                case.method,
                case.path,
                case.status,
                0,
                "HTTP/1.1",
                Some(case.reason),
            )]
        );
    }
}

#[tokio::test]
async fn a_rate_limited_request_is_logged_after_the_one_served() {
    let (capture, _guard) = Capture::install();
    let config = logged(Configuration::default().with_rate_limit_per_second(1));
    let (running, addr) = start_with(config, TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let get = "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(raw.roundtrip(get).await.status, 200);
    let refused = raw.roundtrip(get).await;
    assert_eq!(refused.status, 429);
    assert_eq!(running.server().stats().refusals.rate_limited, 1);
    assert_eq!(
        events_after(running, &capture).await,
        [
            request_event("GET", "/hello", 200, 5, "HTTP/1.1", None),
            request_event("GET", "/hello", 429, 0, "HTTP/1.1", Some("rate_limited")),
        ]
    );
}

/// Heads hyper refuses itself (a target over its 65,534 bytes, a head over
/// its buffer, a malformed request line) never reach a service: logged
/// with what is known, no method or path.
#[tokio::test]
async fn heads_hyper_refuses_are_logged_without_a_request() {
    let cases = [
        (
            "URL over hyper's maximum",
            format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "u".repeat(70_000)),
            414,
            "url_too_long",
        ),
        (
            "head over hyper's buffer",
            format!(
                "GET / HTTP/1.1\r\nHost: a\r\n{}\r\n",
                (0..4)
                    .map(|i| format!("x-{i}: {}\r\n", "v".repeat(40_000)))
                    .collect::<String>()
            ),
            431,
            "header_too_large",
        ),
        (
            "malformed request line",
            "GET /a b c HTTP/1.1\r\nHost: a\r\n\r\n".to_owned(),
            400,
            "bad_request",
        ),
    ];
    for (name, request, status, reason) in cases {
        let _case = crate::support::case(name);
        let (capture, _guard) = Capture::install();
        let (running, addr) = start_with(logged(Configuration::default()), TestServer).await;
        let mut raw = Raw::connect(addr).await;
        raw.send(&request).await;
        let response = RawResponse::parse(&raw.eof().await);
        assert_eq!(response.status, status);
        assert_eq!(
            events_after(running, &capture).await,
            [refusal_event(status, reason, Some("HTTP/1.1"))]
        );
    }
}

#[tokio::test]
async fn a_body_too_slow_is_logged_as_a_timeout() {
    let (capture, _guard) = Capture::install();
    let config = logged(with_timeouts(|t| t.body_idle = Duration::from_millis(200)));
    let (running, addr) = start_with(config, TestServer).await;
    let mut raw = Raw::connect(addr).await;
    raw.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        .await;
    let response = RawResponse::parse(&raw.eof().await);
    assert_eq!(response.status, 408);
    assert_eq!(running.server().stats().refusals.timeout, 1);
    assert_eq!(
        events_after(running, &capture).await,
        [request_event(
            "POST",
            "/echo",
            408,
            0,
            "HTTP/1.1",
            Some("timeout")
        )]
    );
}

#[tokio::test]
async fn a_connection_over_the_cap_is_logged_as_refused() {
    let (capture, _guard) = Capture::install();
    let config = logged(Configuration::default().with_max_connections(1));
    let (running, addr) = start_with(config, TestServer).await;
    let mut holder = Raw::connect(addr).await;
    let get = "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(holder.roundtrip(get).await.status, 200);
    let mut refused = Raw::connect(addr).await;
    refused.send(get).await;
    let response = RawResponse::parse(&refused.eof().await);
    assert_eq!(response.status, 429);
    drop(holder);
    assert_eq!(
        events_after(running, &capture).await,
        [
            request_event("GET", "/hello", 200, 5, "HTTP/1.1", None),
            refusal_event(429, "connection_cap", None),
        ]
    );
}

// ---------------------------------------------------------------------------
// Counters

/// `/upgrade`: 101 to a request asking to upgrade (the connection is then
/// handed over, and dropped as nobody takes it).
#[derive(Clone, Copy)]
struct Upgrades;

impl AbstractHttpServer for Upgrades {
    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        match request.path() {
            "/upgrade" => {
                let mut headers = http::HeaderMap::new();
                headers.insert("connection", "upgrade".parse().expect("a value"));
                headers.insert("upgrade", "test".parse().expect("a value"));
                responder.write("", headers, StatusCode::SWITCHING_PROTOCOLS);
            }
            _ => responder.write("ok", http::HeaderMap::new(), StatusCode::OK),
        }
        Handled::Yes
    }
}

#[tokio::test]
async fn stats_count_a_known_sequence_exactly() {
    let (capture, _guard) = Capture::install();
    // Log off: the counters count anyway.
    let config = Configuration::default()
        .with_rate_limit_per_second(3)
        .with_sizes(SizeLimits::default().with_max_body(Some(4)));
    let (running, addr) = start_with(config, Upgrades).await;
    let stats = running.server().stats();
    assert_eq!(stats.requests_served, 0);
    assert_eq!(stats.refusals.total(), 0);

    let mut raw = Raw::connect(addr).await;
    let get = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(raw.roundtrip(get).await.status, 200);
    assert_eq!(raw.roundtrip(get).await.status, 200);
    let mut upgraded = Raw::connect(addr).await;
    let response = upgraded
        .roundtrip(
            "GET /upgrade HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: test\r\n\r\n",
        )
        .await;
    assert_eq!(response.status, 101);
    assert_eq!(raw.roundtrip(get).await.status, 429);
    // Not rate checked: refused by hyper and by the strictness checks first.
    assert_eq!(one(addr, "GET /a HTTP/1.1\r\n\r\n").await.status, 400);
    let mut hyper_refused = Raw::connect(addr).await;
    hyper_refused
        .send(format!(
            "GET /{} HTTP/1.1\r\nHost: a\r\n\r\n",
            "u".repeat(70_000)
        ))
        .await;
    assert_eq!(RawResponse::parse(&hyper_refused.eof().await).status, 414);

    let stats = running.server().stats();
    assert_eq!(stats.requests_served, 3, "two GETs and the upgrade");
    assert_eq!(stats.upgrades, 1);
    assert_eq!(stats.refusals.rate_limited, 1);
    assert_eq!(stats.refusals.bad_request, 1);
    assert_eq!(stats.refusals.url_too_long, 1);
    assert_eq!(stats.refusals.get(RefusalReason::UrlTooLong), 1);
    assert_eq!(stats.refusals.total(), 3);
    drop((raw, upgraded));
    assert_eq!(events_after(running, &capture).await, Vec::<Fields>::new());
}

#[tokio::test]
async fn a_request_head_too_slow_is_counted_as_a_timeout_and_closed_unanswered() {
    let (capture, _guard) = Capture::install();
    let config = logged(with_timeouts(|t| {
        t.request_head = Duration::from_millis(200);
    }));
    let (running, addr) = start_with(config, TestServer).await;
    let mut raw = Raw::connect(addr).await;
    raw.send("GET / HTTP/1.1\r\nHost: a\r\n").await;
    assert_eq!(raw.eof().await, b"");
    let stats = running.server().stats();
    assert_eq!(stats.refusals.timeout, 1);
    assert_eq!(stats.refusals.total(), 1);
    assert_eq!(stats.requests_served, 0);
    // No request was read, so there is no access event, only the count.
    assert_eq!(events_after(running, &capture).await, Vec::<Fields>::new());
}
