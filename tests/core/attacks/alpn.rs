//! TLS connections whose first bytes contradict the protocol ALPN chose:
//! ALPN decides, and the bytes that do not fit end the connection with no
//! answer in the other protocol.

use std::io::ErrorKind;
use std::net::SocketAddr;

use postern_core::{Configuration, HttpService};

use super::{Target, bounded};
use crate::support::h2frames::*;
use crate::support::{
    Raw, RawResponse, Running, TestCert, client_tls, serve, server_tls, test_cert, tls_connect,
};

/// A [`Target`] on one TLS listener (ALPN h2 and http/1.1).
async fn tls_target(cert: &TestCert) -> (Running, SocketAddr) {
    let server = serve(
        Configuration::default(),
        |b| b.bind_tls("127.0.0.1:0", server_tls(cert)),
        HttpService::new(Target::default()),
    )
    .await;
    let addr = server.addr();
    (server, addr)
}

/// A bystander over TLS (ALPN http/1.1): `200` and `normal`, then the
/// close (with `close_notify`).
async fn assert_tls_bystander_served(addr: SocketAddr, cert: &TestCert) {
    let tls = tls_connect(addr, client_tls(cert, &[b"http/1.1"]), "localhost").await;
    let mut raw = Raw::new(tls);
    raw.send("GET /normal HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await;
    let response = RawResponse::parse(&raw.eof().await);
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.body, b"normal");
}

/// ALPN chose h2, the client sends an HTTP/1 request: the server's
/// connection preface (its SETTINGS: 100 streams, a 256 KiB stream window,
/// 16 KiB frames, a 135,680-byte header list) is all it gets; h2 fails the
/// handshake on the invalid preface before a connection exists, so no
/// GOAWAY follows, and the connection is dropped without TLS
/// `close_notify`. No HTTP/1 answer.
#[tokio::test]
async fn alpn_h2_then_an_http1_request_gets_the_settings_then_a_close() {
    bounded(async {
        let cert = test_cert();
        let (_server, addr) = tls_target(&cert).await;
        let tls = tls_connect(addr, client_tls(&cert, &[b"h2"]), "localhost").await;
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        let mut conn = H2Conn::new(tls);
        conn.send("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await;
        assert_tls_bystander_served(addr, &cert).await;
        let (frames, end) = conn.frames_to_end().await;
        assert_eq!(
            frames,
            [Frame::settings(&[
                (SETTINGS_MAX_CONCURRENT_STREAMS, 100),
                (SETTINGS_INITIAL_WINDOW_SIZE, 262_144),
                (SETTINGS_MAX_FRAME_SIZE, 16_384),
                (SETTINGS_MAX_HEADER_LIST_SIZE, 135_680),
            ])]
        );
        let error = end.expect_err("a close without close_notify");
        assert_eq!(error.kind(), ErrorKind::UnexpectedEof, "{error}");
    })
    .await;
}

/// ALPN chose http/1.1, the client sends the HTTP/2 preface: hyper's
/// HTTP/1 parser recognises it and closes without a byte (no `400`), and
/// without TLS `close_notify`.
#[tokio::test]
async fn alpn_http11_then_the_http2_preface_is_closed_without_an_answer() {
    bounded(async {
        let cert = test_cert();
        let (_server, addr) = tls_target(&cert).await;
        let tls = tls_connect(addr, client_tls(&cert, &[b"http/1.1"]), "localhost").await;
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        let mut raw = Raw::new(tls);
        let mut hello = PREFACE.to_vec();
        hello.extend(EMPTY_SETTINGS);
        raw.send(hello).await;
        assert_tls_bystander_served(addr, &cert).await;
        let (bytes, end) = raw.end().await;
        assert_eq!(String::from_utf8_lossy(&bytes), "", "no answer");
        let error = end.expect_err("a close without close_notify");
        assert_eq!(error.kind(), ErrorKind::UnexpectedEof, "{error}");
    })
    .await;
}
