//! Black-box tests of `examples/websocket_echo.rs` (postern-router's
//! `HttpServer` with verifiers, a pending queue and a WebSocket route) over
//! real sockets: HTTP/1.1 on the plain listener, HTTP/1.1 and HTTP/2
//! extended CONNECT (ALPN) on the TLS one.

#[path = "../../examples/websocket_echo.rs"]
#[allow(dead_code, unreachable_pub)]
mod example;

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use hyper_util::rt::{TokioExecutor, TokioIo};
use postern_core::ListenAddr;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_websockets::{ClientBuilder, Message, WebSocketStream};

use crate::support::{Raw, Running, TestCert, client_tls, tls_connect, within};

struct Fixture {
    _running: Running,
    http: SocketAddr,
    https: SocketAddr,
    cert: TestCert,
}

async fn start(max_message_size: usize) -> Fixture {
    let cert = crate::support::test_cert();
    let server = example::build_server(max_message_size).expect("routes");
    let running = Running::new(
        example::start(
            server,
            "127.0.0.1:0",
            "127.0.0.1:0",
            &cert.cert_pem,
            &cert.key_pem,
        )
        .await
        .expect("listening"),
    );
    let (mut http, mut https) = (None, None);
    for listener in running.listeners() {
        match listener {
            ListenAddr::Tcp(addr) => http = Some(addr),
            ListenAddr::Tls(addr) => https = Some(addr),
            other => panic!("unexpected listener {other}"),
        }
    }
    Fixture {
        _running: running,
        http: http.expect("an http listener"),
        https: https.expect("an https listener"),
        cert,
    }
}

fn upgrade_request(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

async fn client_on<S: AsyncRead + AsyncWrite + Unpin>(io: S, uri: &str) -> WebSocketStream<S> {
    let builder = ClientBuilder::new().uri(uri).expect("a ws URI");
    within("WebSocket handshake", builder.connect_on(io))
        .await
        .expect("upgraded")
        .0
}

/// Text and binary come back as they went.
async fn assert_echoes<S: AsyncRead + AsyncWrite + Unpin>(client: &mut WebSocketStream<S>) {
    let sent = [
        Message::text("hello".to_owned()),
        Message::binary(vec![0u8, 1, 2, 255]),
        Message::text("é".repeat(40_000)),
    ];
    for message in sent {
        let expected = message.clone();
        within("send", client.send(message)).await.expect("send");
        let echoed = within("echo", client.next())
            .await
            .expect("a message")
            .expect("no error");
        assert_eq!(echoed.is_text(), expected.is_text());
        assert_eq!(&*echoed.into_payload(), &*expected.into_payload());
    }
}

#[tokio::test]
async fn the_plain_listener_echoes_on_root_and_echo() {
    let fixture = start(example::DEFAULT_MAX_MESSAGE).await;
    for path in ["/", "/echo"] {
        let _case = crate::support::case(path);
        let tcp = TcpStream::connect(fixture.http).await.expect("connect");
        let mut client = client_on(tcp, &format!("ws://{}{path}", fixture.http)).await;
        assert_echoes(&mut client).await;
        within("close", client.close()).await.expect("closed");
    }
}

#[tokio::test]
async fn private_is_denied_and_other_paths_take_the_normal_path() {
    let fixture = start(example::DEFAULT_MAX_MESSAGE).await;
    let mut raw = Raw::connect(fixture.http).await;
    let denied = raw.roundtrip(upgrade_request("/private")).await;
    assert_eq!(denied.status_line, "HTTP/1.1 401 Private area");
    assert_eq!(denied.text(), example::PRIVATE_MESSAGE);
    let other = raw.roundtrip(upgrade_request("/other")).await;
    assert_eq!(other.status_line, "HTTP/1.1 404 Not Found");
    let page = raw.roundtrip("GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(page.status_line, "HTTP/1.1 200 OK");
    assert_eq!(page.text(), example::HOME_PAGE);
}

#[tokio::test]
async fn a_message_over_the_limit_is_closed_with_1009() {
    let fixture = start(1024).await;
    let tcp = TcpStream::connect(fixture.http).await.expect("connect");
    let mut client = client_on(tcp, &format!("ws://{}/echo", fixture.http)).await;
    client
        .send(Message::binary(vec![7u8; 1025]))
        .await
        .expect("send");
    let close = within("close", client.next())
        .await
        .expect("a message")
        .expect("no error");
    let (code, _) = close.as_close().expect("a close frame");
    assert_eq!(u16::from(code), 1009);
}

#[tokio::test]
async fn the_tls_listener_echoes_over_http1_and_http2() {
    let fixture = start(example::DEFAULT_MAX_MESSAGE).await;
    let port = fixture.https.port();

    let tls = tls_connect(
        fixture.https,
        client_tls(&fixture.cert, &[b"http/1.1"]),
        "localhost",
    )
    .await;
    let mut client = client_on(tls, &format!("wss://localhost:{port}/echo")).await;
    assert_echoes(&mut client).await;

    // HTTP/2 through ALPN: extended CONNECT, two sockets on one connection.
    let tls = tls_connect(
        fixture.https,
        client_tls(&fixture.cert, &[b"h2"]),
        "localhost",
    )
    .await;
    let (mut send, conn) = within(
        "HTTP/2 handshake",
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls)),
    )
    .await
    .expect("handshake");
    tokio::spawn(conn);
    for path in ["/", "/echo"] {
        let _case = crate::support::case(path);
        let request = crate::support::extended_connect(&format!("https://localhost:{port}{path}"));
        let response = within("CONNECT", send.send_request(request))
            .await
            .expect("a response");
        assert_eq!(response.status(), StatusCode::OK);
        let upgraded = within("upgrade", hyper::upgrade::on(response))
            .await
            .expect("upgraded");
        let mut client = ClientBuilder::new().take_over(TokioIo::new(upgraded));
        assert_echoes(&mut client).await;
    }
}
