//! WebSocket upgrades over real sockets with a real client (tokio-websockets'
//! client, hyper's HTTP/2 client, raw bytes where the exact wire matters):
//! Qt's seven cases (accept, deny, deny with a status, pass-to-next, order,
//! scope, pending connections), malformed handshakes, the limits before the
//! upgrade and the connection count after it, the socket's own limits (1009,
//! Origin, idle pings), TLS, HTTP/2 extended CONNECT and the shutdown close.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use http_body_util::Empty;
use hyper_util::rt::{TokioExecutor, TokioIo};
use postern_core::websocket::{
    CloseCode, Message, UpgradeResponse, WebSocketConfig, WebSocketConnection, WebSocketUpgrades,
};
use postern_core::{AbstractHttpServer, Configuration, Handled, Request, Responder};
use postern_limits::config::parse_subnet;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;
use tokio_websockets::{ClientBuilder, WebSocketStream};

use crate::support::{
    Raw, Running, client_tls, extended_connect, on_loopback, serve_abstract, start_tls, start_with,
    test_cert, tls_connect, wait_live, within,
};

/// A hand-written server with a hub: `/page` answers 200 `page`, anything
/// else goes to the missing handler (404).
struct Probe {
    hub: WebSocketUpgrades,
}

impl AbstractHttpServer for Probe {
    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        if request.path() != "/page" {
            return Handled::No(responder);
        }
        responder.write_with_mime("page", "text/plain", StatusCode::OK);
        Handled::Yes
    }

    fn websocket_upgrades(&self) -> Option<&WebSocketUpgrades> {
        Some(&self.hub)
    }
}

/// Served with `serve_abstract`, which offers HTTP/2 extended CONNECT when
/// the hub has a verifier.
async fn start_probe(
    configuration: Configuration,
    hub: &WebSocketUpgrades,
) -> (Running, SocketAddr) {
    let running = serve_abstract(configuration, on_loopback, Probe { hub: hub.clone() }).await;
    let addr = running.addr();
    (running, addr)
}

/// A hub with `config` whose one verifier accepts every upgrade (into the
/// pending queue).
fn accepting(config: WebSocketConfig) -> WebSocketUpgrades {
    let hub = WebSocketUpgrades::with_config(config);
    hub.add_websocket_upgrade_verifier(|_| UpgradeResponse::accept());
    hub
}

/// Echo text and binary on every accepted socket the hub queues.
fn echo_pending(hub: &WebSocketUpgrades) {
    let hub = hub.clone();
    tokio::spawn(async move {
        while let Some(connection) = hub.next_connection().await {
            tokio::spawn(echo(connection));
        }
    });
}

async fn echo(connection: WebSocketConnection) {
    let mut socket = connection.into_socket();
    while let Some(received) = socket.recv().await {
        if let Ok(message) = received
            && message.is_data()
            && socket.send(message).await.is_err()
        {
            break;
        }
    }
}

fn accept_all() -> WebSocketUpgrades {
    accepting(WebSocketConfig::default())
}

/// The RFC 6455 example key and its accept value.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn upgrade_request(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// A client WebSocket on a fresh TCP connection to `path`, with `headers`.
async fn connect(
    addr: SocketAddr,
    path: &str,
    headers: &[(&'static str, &'static str)],
) -> Result<WebSocketStream<TcpStream>, tokio_websockets::Error> {
    let tcp = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    connect_on(tcp, &format!("ws://{addr}{path}"), headers).await
}

async fn connect_on<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    uri: &str,
    headers: &[(&'static str, &'static str)],
) -> Result<WebSocketStream<S>, tokio_websockets::Error> {
    let mut builder = ClientBuilder::new().uri(uri).expect("a ws URI");
    for (name, value) in headers {
        builder = builder
            .add_header(
                http::HeaderName::from_static(name),
                http::HeaderValue::from_static(value),
            )
            .expect("an allowed header");
    }
    within("WebSocket handshake", builder.connect_on(io))
        .await
        .map(|(stream, _response)| stream)
}

/// Send `text` and expect it back.
async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(
    client: &mut WebSocketStream<S>,
    text: &str,
) {
    within(
        "send",
        client.send(tokio_websockets::Message::text(text.to_owned())),
    )
    .await
    .expect("send");
    let echoed = within("echo", client.next())
        .await
        .expect("a message")
        .expect("no error");
    assert_eq!(echoed.as_text(), Some(text));
}

/// The next message the client gets, which must be a close frame: its code
/// and reason.
async fn close_frame<S: AsyncRead + AsyncWrite + Unpin>(
    client: &mut WebSocketStream<S>,
) -> (u16, String) {
    loop {
        let message = within("a close frame", client.next())
            .await
            .expect("a message before the end")
            .expect("no error");
        if message.is_ping() || message.is_pong() {
            continue;
        }
        let (code, reason) = message.as_close().expect("a close frame");
        return (u16::from(code), reason.to_owned());
    }
}

/// The server socket ends, giving at most the client's close frame first.
async fn assert_ends(socket: &mut postern_core::websocket::WebSocket) {
    while let Some(item) = within("the socket's end", socket.recv()).await {
        let message = item.expect("no error after the close");
        assert_eq!(message.kind(), postern_core::websocket::MessageKind::Close);
    }
    assert!(socket.is_closed());
}

// ---------------------------------------------------------------------------
// Qt's cases

#[tokio::test]
async fn an_accepted_upgrade_reaches_the_application_with_its_request() {
    let hub = WebSocketUpgrades::new();
    hub.add_websocket_upgrade_verifier(|request| match request.path() {
        "/chat" => UpgradeResponse::accept(),
        _ => UpgradeResponse::pass_to_next(),
    });
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;

    // The exact 101 on the wire.
    let mut raw = Raw::connect(addr).await;
    let response = raw.roundtrip(upgrade_request("/chat?room=1", "")).await;
    assert_eq!(response.status_line, "HTTP/1.1 101 Switching Protocols");
    assert_eq!(response.header("upgrade"), Some("websocket"));
    assert_eq!(response.header("connection"), Some("upgrade"));
    assert_eq!(response.header("sec-websocket-accept"), Some(ACCEPT));
    let connection = within("the pending connection", hub.next_connection())
        .await
        .expect("a connection");
    assert_eq!(connection.request().path(), "/chat");
    assert_eq!(connection.request().query(), Some("room=1"));
    assert_eq!(connection.request().remote_addr(), Some(raw.local_addr()));
    assert!(connection.request().tls().is_none());
    drop(raw);

    // A real client, text and binary both ways.
    let mut client = connect(addr, "/chat", &[]).await.expect("upgraded");
    let (request, mut socket) = within("the pending connection", hub.next_connection())
        .await
        .expect("a connection")
        .into_parts();
    assert_eq!(request.path(), "/chat");
    client
        .send(tokio_websockets::Message::text("hello".to_owned()))
        .await
        .expect("send");
    let received = within("recv", socket.recv())
        .await
        .expect("a message")
        .expect("ok");
    assert_eq!(received, Message::text("hello"));
    socket
        .send(Message::binary(vec![1u8, 2, 3]))
        .await
        .expect("send");
    let back = within("echo", client.next())
        .await
        .expect("a message")
        .expect("ok");
    assert!(back.is_binary());
    assert_eq!(&*back.into_payload(), &[1u8, 2, 3]);
    // A close from the server ends both sides.
    let closing = tokio::spawn(async move {
        socket
            .close(CloseCode::NORMAL, "bye")
            .await
            .expect("closed");
        socket.is_closed()
    });
    assert_eq!(close_frame(&mut client).await, (1000, "bye".to_owned()));
    assert!(within("client end", client.next()).await.is_none());
    assert!(within("server end", closing).await.expect("task"));
}

#[tokio::test]
async fn a_denied_upgrade_gets_403_forbidden() {
    let hub = WebSocketUpgrades::new();
    hub.add_websocket_upgrade_verifier(|_| UpgradeResponse::deny());
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw.roundtrip(upgrade_request("/chat", "")).await;
    assert_eq!(response.status_line, "HTTP/1.1 403 Forbidden");
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(response.header("content-length"), Some("9"));
    assert_eq!(response.body, b"Forbidden");
    // The connection stays usable for plain requests.
    let page = raw.roundtrip("GET /page HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body, b"page");
    assert!(!hub.has_pending_websocket_connections());
}

#[tokio::test]
async fn a_denial_with_a_status_carries_its_message_as_reason_and_body() {
    let hub = WebSocketUpgrades::new();
    hub.add_websocket_upgrade_verifier(|_| {
        UpgradeResponse::deny_with(StatusCode::UNAUTHORIZED, "Log in first")
    });
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw.roundtrip(upgrade_request("/chat", "")).await;
    assert_eq!(response.status_line, "HTTP/1.1 401 Log in first");
    assert_eq!(response.body, b"Log in first");
    // The real client sees the refusal.
    assert!(connect(addr, "/chat", &[]).await.is_err());
}

#[tokio::test]
async fn pass_to_next_falls_through_to_the_handler_and_the_missing_handler() {
    let hub = WebSocketUpgrades::new();
    hub.add_websocket_upgrade_verifier(|_| UpgradeResponse::pass_to_next());
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;
    let mut raw = Raw::connect(addr).await;
    // `handle_request` answers `/page`, upgrade or not.
    let page = raw.roundtrip(upgrade_request("/page", "")).await;
    assert_eq!(page.status_line, "HTTP/1.1 200 OK");
    assert_eq!(page.body, b"page");
    // Nobody answers `/chat`: the missing handler's 404.
    let mut raw = Raw::connect(addr).await;
    let missing = raw.roundtrip(upgrade_request("/chat", "")).await;
    assert_eq!(missing.status_line, "HTTP/1.1 404 Not Found");
    assert_eq!(missing.header("content-length"), Some("0"));
    assert!(!hub.has_pending_websocket_connections());

    // A server without a hub, the same.
    let (_plain, addr) = start_with(Configuration::default(), NoHub).await;
    let mut raw = Raw::connect(addr).await;
    assert_eq!(
        raw.roundtrip(upgrade_request("/chat", "")).await.status,
        404
    );
}

struct NoHub;

impl AbstractHttpServer for NoHub {
    async fn handle_request(&self, _: &Request, responder: Responder) -> Handled {
        Handled::No(responder)
    }
}

#[tokio::test]
async fn verifiers_answer_in_registration_order_and_the_first_answer_wins() {
    let hub = WebSocketUpgrades::new();
    let calls = Arc::new([(); 3].map(|()| AtomicUsize::new(0)));
    let counted = Arc::clone(&calls);
    hub.add_websocket_upgrade_verifier(move |request| {
        counted[0].fetch_add(1, Ordering::SeqCst);
        match request.path() {
            "/first" => UpgradeResponse::deny_with(StatusCode::IM_A_TEAPOT, "first"),
            _ => UpgradeResponse::pass_to_next(),
        }
    });
    let counted = Arc::clone(&calls);
    hub.add_websocket_upgrade_verifier(move |request| {
        counted[1].fetch_add(1, Ordering::SeqCst);
        match request.path() {
            "/first" | "/second" => UpgradeResponse::deny_with(StatusCode::GONE, "second"),
            _ => UpgradeResponse::pass_to_next(),
        }
    });
    let counted = Arc::clone(&calls);
    hub.add_websocket_upgrade_verifier(move |_| {
        counted[2].fetch_add(1, Ordering::SeqCst);
        UpgradeResponse::accept()
    });
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;
    let cases = [
        ("/first", "HTTP/1.1 418 first", [1, 0, 0]),
        ("/second", "HTTP/1.1 410 second", [1, 1, 0]),
        ("/third", "HTTP/1.1 101 Switching Protocols", [1, 1, 1]),
    ];
    for (path, status_line, counts) in cases {
        let _case = crate::support::case(path);
        for call in calls.iter() {
            call.store(0, Ordering::SeqCst);
        }
        let mut raw = Raw::connect(addr).await;
        assert_eq!(
            raw.roundtrip(upgrade_request(path, "")).await.status_line,
            status_line
        );
        assert_eq!(calls.each_ref().map(|c| c.load(Ordering::SeqCst)), counts);
    }
}

#[tokio::test]
async fn verifiers_see_upgrade_requests_only() {
    let hub = WebSocketUpgrades::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    hub.add_websocket_upgrade_verifier(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        UpgradeResponse::deny()
    });
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;
    let mut raw = Raw::connect(addr).await;
    let not_upgrades = [
        "GET /page HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /page HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
        "GET /page HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
        "GET /page HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n\r\n",
    ];
    for request in not_upgrades {
        let _case = crate::support::case(request);
        let response = raw.roundtrip(request).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"page");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let mut raw = Raw::connect(addr).await;
    assert_eq!(
        raw.roundtrip(upgrade_request("/page", "")).await.status,
        403
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn accepted_sockets_wait_in_the_pending_queue_in_order() {
    let hub = accept_all();
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;
    assert!(!hub.has_pending_websocket_connections());
    assert!(hub.next_pending_websocket_connection().is_none());

    let mut first = connect(addr, "/one", &[]).await.expect("upgraded");
    within(
        "the new-connection notification",
        hub.new_websocket_connection(),
    )
    .await;
    let _second = connect(addr, "/two", &[]).await.expect("upgraded");
    // Both wait, in arrival order, through the stream as through the queue.
    let mut stream = hub.connections();
    let one = within("first", stream.next()).await.expect("a connection");
    assert_eq!(one.request().path(), "/one");
    within("the second", async {
        while !hub.has_pending_websocket_connections() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let two = hub.next_pending_websocket_connection().expect("the second");
    assert_eq!(two.request().path(), "/two");
    assert!(!hub.has_pending_websocket_connections());
    assert!(hub.next_pending_websocket_connection().is_none());
    tokio::spawn(echo(one));
    round_trip(&mut first, "queued").await;
}

#[tokio::test]
async fn a_full_pending_queue_answers_503() {
    let hub = accepting(WebSocketConfig::default().max_pending_connections(1));
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;
    let _first = connect(addr, "/", &[]).await.expect("upgraded");
    within("queued", hub.new_websocket_connection()).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw.roundtrip(upgrade_request("/", "")).await;
    assert_eq!(response.status_line, "HTTP/1.1 503 Service Unavailable");
    assert_eq!(response.header("retry-after"), Some("1"));
}

#[tokio::test]
async fn a_burst_of_upgrades_fills_the_pending_queue_exactly_to_its_limit() {
    // Every upgrade is decided before any socket reaches the queue (their
    // requests arrive together): places are taken at the decision, so
    // exactly the limit is answered 101 and the rest 503.
    let hub = accepting(WebSocketConfig::default().max_pending_connections(2));
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;
    let mut clients = Vec::new();
    for _ in 0..6 {
        clients.push(Raw::connect(addr).await);
    }
    for client in &mut clients {
        client.send(upgrade_request("/", "")).await;
    }
    let mut statuses = Vec::new();
    for client in &mut clients {
        statuses.push(client.head_response().await.status);
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [101, 101, 503, 503, 503, 503]);
    // Taking one socket frees exactly one place.
    within("queued", hub.new_websocket_connection()).await;
    let _taken = hub.next_pending_websocket_connection().expect("queued");
    let mut raw = Raw::connect(addr).await;
    raw.send(upgrade_request("/", "")).await;
    assert_eq!(raw.head_response().await.status, 101);
    let mut raw = Raw::connect(addr).await;
    raw.send(upgrade_request("/", "")).await;
    assert_eq!(raw.head_response().await.status, 503);
}

#[tokio::test]
async fn a_route_handles_its_path_in_its_place_in_the_chain() {
    let hub = WebSocketUpgrades::new();
    hub.add_websocket_upgrade_verifier(|request| match request.query() {
        Some("deny") => UpgradeResponse::deny(),
        _ => UpgradeResponse::pass_to_next(),
    });
    hub.route("/echo", echo);
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;
    let mut client = connect(addr, "/echo", &[]).await.expect("upgraded");
    round_trip(&mut client, "routed").await;
    assert!(!hub.has_pending_websocket_connections());
    // The verifier before the route is asked first.
    let mut raw = Raw::connect(addr).await;
    assert_eq!(
        raw.roundtrip(upgrade_request("/echo?deny", ""))
            .await
            .status,
        403
    );
    // Other paths are not the route's.
    assert_eq!(
        raw.roundtrip(upgrade_request("/other", "")).await.status,
        404
    );
}

#[tokio::test]
async fn registering_from_inside_a_verifier_is_refused() {
    let hub = WebSocketUpgrades::new();
    let inner = hub.clone();
    hub.add_websocket_upgrade_verifier(move |_| {
        inner.add_websocket_upgrade_verifier(|_| UpgradeResponse::deny());
        UpgradeResponse::pass_to_next()
    });
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;
    for _ in 0..2 {
        let mut raw = Raw::connect(addr).await;
        // Were the inner verifier registered, the second request would get 403.
        assert_eq!(
            raw.roundtrip(upgrade_request("/chat", "")).await.status,
            404
        );
    }
}

// ---------------------------------------------------------------------------
// Malformed handshakes

#[tokio::test]
async fn an_accepted_but_malformed_upgrade_gets_400_or_426() {
    let hub = accept_all();
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;
    let base = "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    let cases = [
        (format!("{base}Sec-WebSocket-Version: 13\r\n\r\n"), 400),
        (
            format!("{base}Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n"),
            400,
        ),
        (
            format!("{base}Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 8\r\n\r\n"),
            426,
        ),
        (format!("{base}Sec-WebSocket-Key: {KEY}\r\n\r\n"), 426),
    ];
    for (request, status) in cases {
        let _case = crate::support::case(&request);
        let mut raw = Raw::connect(addr).await;
        let response = raw.roundtrip(&request).await;
        assert_eq!(response.status, status);
        let version = (status == 426).then_some("13");
        assert_eq!(response.header("sec-websocket-version"), version);
    }
    assert!(!hub.has_pending_websocket_connections());
}

// ---------------------------------------------------------------------------
// Limits before the upgrade, connection counts after it

#[tokio::test]
async fn the_ip_deny_list_refuses_upgrades_before_any_verifier() {
    let hub = WebSocketUpgrades::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    hub.add_websocket_upgrade_verifier(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        UpgradeResponse::accept()
    });
    let config =
        Configuration::default().with_deny_list([parse_subnet("127.0.0.0/8").expect("a subnet")]);
    let (_running, addr) = start_probe(config, &hub).await;
    let mut raw = Raw::connect(addr).await;
    assert_eq!(
        raw.roundtrip(upgrade_request("/chat", "")).await.status,
        403
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_rate_limit_applies_to_upgrades() {
    let hub = accept_all();
    echo_pending(&hub);
    let config = Configuration::default().with_rate_limit_per_second(1);
    let (_running, addr) = start_probe(config, &hub).await;
    let _first = connect(addr, "/", &[])
        .await
        .expect("the first is within the rate");
    let mut raw = Raw::connect(addr).await;
    assert_eq!(raw.roundtrip(upgrade_request("/", "")).await.status, 429);
}

#[tokio::test]
async fn an_upgraded_connection_counts_against_the_cap_until_its_socket_is_dropped() {
    let hub = accept_all();
    let config = Configuration::default().with_max_connections(1);
    let (running, addr) = start_probe(config, &hub).await;
    let mut client = connect(addr, "/", &[]).await.expect("upgraded");
    let connection = within("pending", hub.next_connection())
        .await
        .expect("a connection");
    let socket_task = tokio::spawn(echo(connection));
    round_trip(&mut client, "held").await;
    assert_eq!(running.live_connections(), 1);
    // The cap is taken by the WebSocket: a new connection is refused.
    crate::limits::assert_h1_refused_at_accept(TcpStream::connect(addr).await.expect("connect"))
        .await;
    // The client closes; the server's socket ends and frees the permit.
    within("client close", client.close())
        .await
        .expect("closed");
    within("socket end", socket_task).await.expect("task");
    wait_live(&running, 0).await;
    let mut raw = Raw::connect(addr).await;
    assert_eq!(
        raw.roundtrip("GET /page HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .status,
        200
    );
}

// ---------------------------------------------------------------------------
// The socket's own limits

#[tokio::test]
async fn a_message_over_the_size_limit_is_closed_with_1009() {
    let hub = accepting(WebSocketConfig::default().max_message_size(16));
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;
    let mut client = connect(addr, "/", &[]).await.expect("upgraded");
    let mut socket = within("pending", hub.next_connection())
        .await
        .expect("a connection")
        .into_socket();
    client
        .send(tokio_websockets::Message::text("x".repeat(16)))
        .await
        .expect("send");
    let fits = within("recv", socket.recv())
        .await
        .expect("a message")
        .expect("ok");
    assert_eq!(fits.as_text().map(str::len), Some(16));
    assert_too_big_closes_1009(&mut client, &mut socket, vec![0u8; 17]).await;
}

/// `message` over the size limit: the application's `recv` fails with
/// `is_message_too_big`, the client gets close 1009, and both ends end.
async fn assert_too_big_closes_1009(
    client: &mut WebSocketStream<TcpStream>,
    socket: &mut postern_core::websocket::WebSocket,
    message: Vec<u8>,
) {
    client
        .send(tokio_websockets::Message::binary(message))
        .await
        .expect("send");
    let error = within("recv", socket.recv())
        .await
        .expect("an item")
        .expect_err("too big");
    assert!(error.is_message_too_big(), "{error}");
    let (code, _reason) = close_frame(client).await;
    assert_eq!(code, 1009);
    assert!(within("client end", client.next()).await.is_none());
    assert_ends(socket).await;
}

#[tokio::test]
async fn a_fragmented_message_over_the_size_limit_is_closed_with_1009() {
    let hub = accepting(WebSocketConfig::default().max_message_size(16));
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;
    let tcp = TcpStream::connect(addr).await.expect("connect");
    // Frames of 8 bytes: each fits, the message does not.
    let (mut client, _) = ClientBuilder::new()
        .uri(&format!("ws://{addr}/"))
        .expect("a ws URI")
        .config(tokio_websockets::Config::default().frame_size(8))
        .connect_on(tcp)
        .await
        .expect("upgraded");
    let mut socket = within("pending", hub.next_connection())
        .await
        .expect("a connection")
        .into_socket();
    client
        .send(tokio_websockets::Message::binary(vec![1u8; 16]))
        .await
        .expect("send");
    let fits = within("recv", socket.recv())
        .await
        .expect("a message")
        .expect("ok");
    assert_eq!(fits.as_bytes().len(), 16);
    assert_too_big_closes_1009(&mut client, &mut socket, vec![2u8; 17]).await;
}

#[tokio::test]
async fn an_origin_off_the_allow_list_gets_403_before_the_upgrade() {
    let config = WebSocketConfig::default().allowed_origins(["https://good.example"]);
    let hub = accepting(config);
    echo_pending(&hub);
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;
    let cases: [(&str, Option<&str>, u16); 4] = [
        ("good", Some("https://good.example"), 101),
        ("case-insensitive", Some("HTTPS://GOOD.example"), 101),
        ("evil", Some("https://evil.example"), 403),
        ("none", None, 403),
    ];
    for (name, origin, status) in cases {
        let _case = crate::support::case(name);
        let extra = origin
            .map(|o| format!("Origin: {o}\r\n"))
            .unwrap_or_default();
        let mut raw = Raw::connect(addr).await;
        assert_eq!(
            raw.roundtrip(upgrade_request("/", &extra)).await.status,
            status
        );
    }
    let mut client = connect(addr, "/", &[("origin", "https://good.example")])
        .await
        .expect("upgraded");
    round_trip(&mut client, "from a good origin").await;
}

#[tokio::test]
async fn a_silent_client_is_pinged_then_closed_with_1001() {
    let config = WebSocketConfig::default()
        .ping_interval(Duration::from_millis(100))
        .idle_timeout(Duration::from_millis(200))
        .close_timeout(Duration::from_millis(100));
    let hub = accepting(config);
    echo_pending(&hub);
    let (running, addr) = start_probe(Configuration::default(), &hub).await;
    let mut raw = Raw::connect(addr).await;
    assert_eq!(raw.roundtrip(upgrade_request("/", "")).await.status, 101);
    // A client that reads but never answers: an empty ping, then close 1001.
    let mut ping = [0u8; 2];
    within("a ping", raw.stream().read_exact(&mut ping))
        .await
        .expect("read");
    assert_eq!(ping, [0x89, 0x00]);
    let mut head = [0u8; 4];
    within("a close", raw.stream().read_exact(&mut head))
        .await
        .expect("read");
    let reason = b"idle timeout";
    assert_eq!(head, [0x88, 2 + reason.len() as u8, 0x03, 0xE9]);
    let mut text = [0u8; 12];
    raw.stream().read_exact(&mut text).await.expect("read");
    assert_eq!(&text, reason);
    // No answer to the close: the socket is dropped after the close timeout.
    assert!(raw.eof().await.is_empty());
    wait_live(&running, 0).await;
}

#[tokio::test]
async fn a_client_that_answers_pings_stays_connected() {
    let config = WebSocketConfig::default()
        .ping_interval(Duration::from_millis(50))
        .idle_timeout(Duration::from_millis(120));
    let hub = accepting(config);
    echo_pending(&hub);
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;
    let mut client = connect(addr, "/", &[]).await.expect("upgraded");
    // The client's reads answer the pings; after several idle timeouts the
    // socket still echoes.
    let mut pings = 0;
    let until = tokio::time::Instant::now() + Duration::from_millis(500);
    while let Ok(Some(message)) = tokio::time::timeout_at(until, client.next()).await {
        let message = message.expect("no error");
        assert!(message.is_ping(), "only pings while idle");
        pings += 1;
    }
    assert!(pings >= 3, "{pings} pings");
    round_trip(&mut client, "still here").await;
}

#[tokio::test]
async fn a_queued_socket_nobody_takes_is_closed_with_1001_at_the_idle_timeout() {
    let config = WebSocketConfig::default()
        .idle_timeout(Duration::from_millis(200))
        .close_timeout(Duration::from_millis(100));
    let hub = accepting(config);
    let (running, addr) = start_probe(Configuration::default(), &hub).await;
    let mut raw = Raw::connect(addr).await;
    assert_eq!(raw.roundtrip(upgrade_request("/", "")).await.status, 101);
    within("queued", hub.new_websocket_connection()).await;
    assert_eq!(running.live_connections(), 1);
    // Never taken: close 1001 with no ping before it (the socket is not
    // read while it waits).
    let reason = b"idle timeout";
    let mut frame = [0u8; 16];
    within("a close", raw.stream().read_exact(&mut frame))
        .await
        .expect("read");
    assert_eq!(frame[..4], [0x88, 2 + reason.len() as u8, 0x03, 0xE9]);
    assert_eq!(&frame[4..], reason);
    assert!(!hub.has_pending_websocket_connections());
    // No answer to the close: dropped after the close timeout, and the
    // connection no longer counts.
    assert!(raw.eof().await.is_empty());
    wait_live(&running, 0).await;
}

#[tokio::test]
async fn a_socket_taken_from_the_queue_is_left_to_the_application() {
    let config = WebSocketConfig::default().idle_timeout(Duration::from_millis(100));
    let hub = accepting(config);
    let (running, addr) = start_probe(Configuration::default(), &hub).await;
    let mut client = connect(addr, "/", &[]).await.expect("upgraded");
    let connection = within("pending", hub.next_connection())
        .await
        .expect("a connection");
    // Held unread for three idle timeouts (the socket's own ping timer,
    // 30 s by default, is not due): the hub must not close it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(running.live_connections(), 1);
    tokio::spawn(echo(connection));
    // The first thing the client gets is its echo, not a close frame.
    round_trip(&mut client, "still mine").await;
}

// ---------------------------------------------------------------------------
// TLS and HTTP/2

#[tokio::test]
async fn upgrades_work_over_tls_with_the_tls_facts() {
    let cert = test_cert();
    let hub = accept_all();
    let (_running, addr) =
        start_tls(Configuration::default(), Probe { hub: hub.clone() }, &cert).await;
    let tls = tls_connect(addr, client_tls(&cert, &[b"http/1.1"]), "localhost").await;
    let mut client = connect_on(tls, &format!("wss://localhost:{}/secure", addr.port()), &[])
        .await
        .expect("upgraded");
    let connection = within("pending", hub.next_connection())
        .await
        .expect("a connection");
    assert_eq!(connection.request().path(), "/secure");
    assert!(connection.request().tls().is_some());
    assert_eq!(connection.request().scheme(), "https");
    tokio::spawn(echo(connection));
    round_trip(&mut client, "over TLS").await;
}

#[tokio::test]
async fn http2_extended_connect_opens_a_websocket() {
    let hub = accept_all();
    echo_pending(&hub);
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (mut send, conn) = within(
        "HTTP/2 handshake",
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)),
    )
    .await
    .expect("handshake");
    tokio::spawn(conn);
    // Two sockets on one connection.
    let mut clients = Vec::new();
    for path in ["/h2-one", "/h2-two"] {
        let response = within(
            "CONNECT",
            send.send_request(extended_connect(&format!("http://{addr}{path}"))),
        )
        .await
        .expect("a response");
        assert_eq!(response.status(), StatusCode::OK);
        let upgraded = within("upgrade", hyper::upgrade::on(response))
            .await
            .expect("upgraded");
        clients.push(ClientBuilder::new().take_over(TokioIo::new(upgraded)));
    }
    for (i, client) in clients.iter_mut().enumerate() {
        round_trip(client, &format!("stream {i}")).await;
    }
}

#[tokio::test]
async fn http2_offers_extended_connect_only_to_servers_that_take_websockets() {
    // A hub without a verifier or route: no offer, the stream is refused.
    let hub = WebSocketUpgrades::new();
    let (_running, addr) = start_probe(Configuration::default(), &hub).await;
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    // A round trip first, so the client has the server's settings.
    let plain = http::Request::get(format!("http://{addr}/page"))
        .version(http::Version::HTTP_2)
        .body(Empty::new())
        .expect("request");
    assert_eq!(
        send.send_request(plain).await.expect("response").status(),
        200
    );
    let refused = within(
        "CONNECT",
        send.send_request(extended_connect(&format!("http://{addr}/x"))),
    )
    .await;
    let error = refused.expect_err("extended CONNECT was offered");
    // The server resets that one stream (it never offered the protocol), not
    // the connection: the same connection still answers.
    assert_eq!(
        format!("{error:?}"),
        "hyper::Error(Http2, Error { kind: Reset(StreamId(3), PROTOCOL_ERROR, Remote) })"
    );
    let plain = http::Request::get(format!("http://{addr}/page"))
        .version(http::Version::HTTP_2)
        .body(Empty::new())
        .expect("request");
    assert_eq!(
        send.send_request(plain).await.expect("response").status(),
        200
    );
}

// ---------------------------------------------------------------------------
// Shutdown

#[tokio::test]
async fn shutdown_sends_1001_and_waits_for_the_close_handshake() {
    let hub = accept_all();
    echo_pending(&hub);
    let (running, addr) = start_probe(Configuration::default(), &hub).await;
    let mut client = connect(addr, "/", &[]).await.expect("upgraded");
    round_trip(&mut client, "before shutdown").await;
    let shutdown = tokio::spawn(running.shutdown(Duration::from_secs(5)));
    assert_eq!(
        close_frame(&mut client).await,
        (1001, "server shutting down".to_owned())
    );
    // The client's read flushes its answer, then the server closes.
    assert!(within("end", client.next()).await.is_none());
    let report = within("shutdown", shutdown).await.expect("task");
    assert_eq!(report.cut, 0);
    assert!(report.drained);
}

#[tokio::test]
async fn shutdown_closes_a_socket_nobody_took_from_the_queue_with_1001() {
    let hub = accept_all();
    let (running, addr) = start_probe(Configuration::default(), &hub).await;
    let mut client = connect(addr, "/", &[]).await.expect("upgraded");
    within("queued", hub.new_websocket_connection()).await;
    let shutdown = tokio::spawn(running.shutdown(Duration::from_secs(5)));
    assert_eq!(
        close_frame(&mut client).await,
        (1001, "server shutting down".to_owned())
    );
    assert!(within("end", client.next()).await.is_none());
    let report = within("shutdown", shutdown).await.expect("task");
    assert_eq!((report.cut, report.drained), (0, true));
    // The hub took it back: the application finds the queue empty.
    assert!(!hub.has_pending_websocket_connections());
}

#[tokio::test]
async fn shutdown_closes_http2_websockets_with_1001_too() {
    let hub = accept_all();
    echo_pending(&hub);
    let (running, addr) = start_probe(Configuration::default(), &hub).await;
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (mut send, conn) = within(
        "HTTP/2 handshake",
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)),
    )
    .await
    .expect("handshake");
    let conn = tokio::spawn(conn);
    let response = within(
        "CONNECT",
        send.send_request(extended_connect(&format!("http://{addr}/h2"))),
    )
    .await
    .expect("a response");
    let upgraded = within("upgrade", hyper::upgrade::on(response))
        .await
        .expect("upgraded");
    let mut client = ClientBuilder::new().take_over(TokioIo::new(upgraded));
    round_trip(&mut client, "before shutdown").await;
    let shutdown = tokio::spawn(running.shutdown(Duration::from_secs(5)));
    assert_eq!(
        close_frame(&mut client).await,
        (1001, "server shutting down".to_owned())
    );
    assert!(within("end", client.next()).await.is_none());
    drop(client);
    let report = within("shutdown", shutdown).await.expect("task");
    assert_eq!((report.cut, report.drained), (0, true));
    within("the connection ends", conn)
        .await
        .expect("task")
        .expect("a clean end");
}

#[tokio::test]
async fn serve_offers_extended_connect_when_the_builder_says_so() {
    let hub = accept_all();
    echo_pending(&hub);
    let running = crate::support::serve(
        Configuration::default(),
        |builder| on_loopback(builder).http2_extended_connect(true),
        postern_core::HttpService::new(Probe { hub: hub.clone() }),
    )
    .await;
    let addr = running.addr();
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let response = within(
        "CONNECT",
        send.send_request(extended_connect(&format!("http://{addr}/served"))),
    )
    .await
    .expect("a response");
    assert_eq!(response.status(), StatusCode::OK);
    let upgraded = within("upgrade", hyper::upgrade::on(response))
        .await
        .expect("upgraded");
    let mut client = ClientBuilder::new().take_over(TokioIo::new(upgraded));
    round_trip(&mut client, "through serve").await;
}

#[tokio::test]
async fn a_client_that_stops_reading_holds_back_send_then_times_out() {
    let config = WebSocketConfig::default()
        .max_buffered_outgoing(16 * 1024)
        .write_timeout(Duration::from_millis(200));
    let hub = accepting(config);
    let (running, addr) = start_probe(Configuration::default(), &hub).await;
    // Upgraded, then never read from.
    let mut raw = Raw::connect(addr).await;
    assert_eq!(raw.roundtrip(upgrade_request("/", "")).await.status, 101);
    let mut socket = within("pending", hub.next_connection())
        .await
        .expect("a connection")
        .into_socket();
    let chunk = Bytes::from(vec![0u8; 64 * 1024]);
    let mut sent = 0usize;
    let error = within("send to fail", async {
        loop {
            match socket.send(Message::binary(chunk.clone())).await {
                Ok(()) => sent += chunk.len(),
                Err(error) => return error,
            }
        }
    })
    .await;
    assert!(error.is_timeout(), "{error}");
    // What went out is what the kernel's buffers took, not an unbounded queue.
    assert!(
        sent < 64 * 1024 * 1024,
        "{sent} bytes sent to a client that reads nothing"
    );
    assert!(socket.send(Message::text("after")).await.is_err());
    drop(socket);
    wait_live(&running, 0).await;
}
