//! A body the server keeps none of ([`BodyPolicy::Discard`]) is still read
//! to its end before the handler runs, as Qt handles a request only once
//! it is whole: a malformed body or one over the body limit gets its error
//! and no handler runs, on HTTP/1 and HTTP/2 alike; `Expect:
//! 100-continue` is answered. Raw sockets and raw frames, so the exact
//! order of what the server writes is seen.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::StatusCode;
use postern_core::{AbstractHttpServer, BodyPolicy, Configuration, Handled, Request, Responder};

use crate::support::h2frames::*;
use crate::support::{Raw, Running, start_with};

/// Discards every body, counts the requests that reach it and answers
/// `discarded <body length it saw>`.
struct Discarder {
    ran: Arc<AtomicUsize>,
}

impl AbstractHttpServer for Discarder {
    fn body_policy(&self, _request: &Request) -> BodyPolicy {
        BodyPolicy::Discard
    }

    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        self.ran.fetch_add(1, Ordering::SeqCst);
        let answer = format!("discarded {}", request.body().len());
        responder.write_with_mime(answer, "text/plain", StatusCode::OK);
        Handled::Yes
    }
}

/// The body limit the tests run with.
const MAX_BODY: u64 = 10;

/// A [`Discarder`] with a body limit of [`MAX_BODY`]: the server, its
/// address, and how many requests reached the handler.
async fn discarder() -> (Running, std::net::SocketAddr, Arc<AtomicUsize>) {
    let mut config = Configuration::default();
    config.limits.sizes.max_body = Some(MAX_BODY);
    let ran = Arc::new(AtomicUsize::new(0));
    let (server, addr) = start_with(
        config,
        Discarder {
            ran: Arc::clone(&ran),
        },
    )
    .await;
    (server, addr, ran)
}

const CHUNKED: &str = "POST /d HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

#[tokio::test]
async fn a_failing_http1_body_gets_its_error_and_no_handler() {
    let cases = [
        (
            "bad chunk size",
            "ZZ\r\nhello\r\n0\r\n\r\n",
            "400 Bad Request",
        ),
        (
            "chunked past the limit",
            "6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n",
            "413 Request Entity Too Large",
        ),
        (
            "no CRLF after the chunk",
            "5\r\nhelloXX0\r\n\r\n",
            "400 Bad Request",
        ),
    ];
    for (case, body, status) in cases {
        let (_server, addr, ran) = discarder().await;
        let mut raw = Raw::connect(addr).await;
        let response = raw.roundtrip(format!("{CHUNKED}{body}")).await;
        assert_eq!(response.status_line, format!("HTTP/1.1 {status}"), "{case}");
        assert_eq!(response.header("connection"), Some("close"), "{case}");
        assert_eq!(response.header("content-length"), Some("0"), "{case}");
        assert_eq!(response.body, b"", "{case}");
        assert_eq!(raw.eof().await, b"", "{case}: closed after the error");
        assert_eq!(ran.load(Ordering::SeqCst), 0, "{case}: no handler ran");
    }
}

#[tokio::test]
async fn a_whole_http1_body_is_skipped_and_the_connection_carries_on() {
    let (_server, addr, ran) = discarder().await;
    let mut raw = Raw::connect(addr).await;
    // A chunked request gets no keep-alive fields (see `conn_service`), but
    // its connection carries on all the same.
    for (request, connection) in [
        (format!("{CHUNKED}5\r\nhello\r\n0\r\n\r\n"), None),
        (
            "POST /d HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello".to_owned(),
            Some("keep-alive"),
        ),
    ] {
        let response = raw.roundtrip(&request).await;
        assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{request}");
        assert_eq!(response.header("connection"), connection, "{request}");
        assert_eq!(response.text(), "discarded 0", "{request}");
    }
    assert_eq!(ran.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn expect_100_continue_is_answered_before_the_body_is_read() {
    let (_server, addr, ran) = discarder().await;
    let mut raw = Raw::connect(addr).await;
    raw.send("POST /d HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        .await;
    let interim = raw.response().await;
    assert_eq!(interim.status_line, "HTTP/1.1 100 Continue");
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "the handler waits for the body"
    );
    let response = raw.roundtrip("hello").await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.text(), "discarded 0");
}

/// Stream 1: a body whose trailers carry a pseudo-field and do not end the
/// stream; stream 3: a body
/// shorter than its `content-length`; stream 5: a whole body with valid
/// trailers. The first two are reset with PROTOCOL_ERROR without any
/// response (their handler would have answered from the head, ending the
/// stream before the frames that break it arrived); the third is answered.
#[tokio::test]
async fn a_malformed_http2_body_resets_its_stream_before_any_handler() {
    let (_server, addr, ran) = discarder().await;
    let mut conn = H2Conn::connect(addr).await;
    conn.handshake(&[]).await;
    let mut out = Vec::new();
    out.extend(Frame::new(HEADERS, END_HEADERS, 1, request_block("POST", "/d", &[])).encode());
    out.extend(Frame::data(1, b"hello", false).encode());
    // Malformed twice over, as h2spec sends it: a pseudo-field, and no
    // END_STREAM on a trailer block.
    let trailers = header_block(&[(":method", "POST")]);
    out.extend(Frame::new(HEADERS, END_HEADERS, 1, trailers).encode());
    let short = request_block("POST", "/d", &[("content-length", "10")]);
    out.extend(Frame::new(HEADERS, END_HEADERS, 3, short).encode());
    out.extend(Frame::data(3, b"abc", true).encode());
    out.extend(Frame::new(HEADERS, END_HEADERS, 5, request_block("POST", "/d", &[])).encode());
    out.extend(Frame::data(5, b"hello", false).encode());
    let trailers = header_block(&[("x-checksum", "1")]);
    out.extend(Frame::new(HEADERS, END_HEADERS | END_STREAM, 5, trailers).encode());
    conn.send(out).await;

    let answered = conn.response(5).await;
    assert_eq!(answered.status(), 200);
    assert_eq!(
        answered.fields_but_date(),
        [("content-length", "11"), ("content-type", "text/plain")]
    );
    assert_eq!(answered.body, b"discarded 0");
    for stream in [1, 3] {
        let frames: Vec<&Frame> = conn
            .seen
            .iter()
            .filter(|frame| frame.stream == stream)
            .collect();
        assert_eq!(
            frames,
            [&Frame::rst_stream(stream, PROTOCOL_ERROR)],
            "stream {stream}"
        );
    }
    assert_eq!(ran.load(Ordering::SeqCst), 1, "only stream 5 was handled");
}
