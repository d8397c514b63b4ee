//! Strictness over raw TCP: requests hyper lets
//! through but which are ambiguous are refused with 400 and `connection:
//! close` before any handler runs; CL+TE is read as chunked and the
//! connection is closed after the response, so nothing can be smuggled.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::StatusCode;
use postern_core::{AbstractHttpServer, Handled, Request, Responder};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::support::{Raw, RawResponse, Running, start};

/// Echoes the body and reports every request it sees (method, path, body).
struct Recorder {
    seen: mpsc::UnboundedSender<(String, String, Vec<u8>)>,
    count: Arc<AtomicUsize>,
}

impl AbstractHttpServer for Recorder {
    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        self.count.fetch_add(1, Ordering::SeqCst);
        let _ = self.seen.send((
            request.http_method().to_string(),
            request.path().to_owned(),
            request.body().to_vec(),
        ));
        responder.write_with_mime(request.body().clone(), "text/plain", StatusCode::OK);
        Handled::Yes
    }
}

type Seen = mpsc::UnboundedReceiver<(String, String, Vec<u8>)>;

/// A [`Recorder`] on 127.0.0.1:0: the server, its address, what the handler
/// saw and how many requests reached it.
async fn recorder() -> (Running, SocketAddr, Seen, Arc<AtomicUsize>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let count = Arc::new(AtomicUsize::new(0));
    let (server, addr) = start(Recorder {
        seen: tx,
        count: Arc::clone(&count),
    })
    .await;
    (server, addr, rx, count)
}

fn assert_refused(response: &RawResponse) {
    assert_eq!(response.status_line, "HTTP/1.1 400 Bad Request");
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(response.header("content-type"), Some("application/x-empty"));
    assert_eq!(response.header("content-length"), Some("0"));
    assert_eq!(response.body, b"");
}

/// Send `request` on a fresh connection: it must get 400, the connection
/// must close, and no handler may run.
async fn expect_refused(request: &str) {
    let (_server, addr, _seen, count) = recorder().await;
    let mut raw = Raw::connect(addr).await;
    let response = raw.roundtrip(request).await;
    assert_refused(&response);
    assert_eq!(raw.eof().await, b"", "closed after the 400");
    assert_eq!(count.load(Ordering::SeqCst), 0, "no handler ran");
}

#[tokio::test]
async fn http11_without_host_is_refused() {
    expect_refused("GET / HTTP/1.1\r\n\r\n").await;
}

#[tokio::test]
async fn two_host_headers_are_refused() {
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").await;
}

#[tokio::test]
async fn two_identical_host_headers_are_refused_on_http10_too() {
    let (_server, addr, _seen, count) = recorder().await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(raw.eof().await, b"");
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_transfer_coding_other_than_chunked_is_refused() {
    // hyper would hand the handler the undecoded gzip bytes.
    expect_refused(concat!(
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "5\r\nhello\r\n0\r\n\r\n",
    ))
    .await;
}

#[tokio::test]
async fn two_transfer_encoding_fields_are_refused() {
    expect_refused(concat!(
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ))
    .await;
}

#[tokio::test]
async fn http10_without_host_is_served() {
    let (_server, addr, mut seen, _) = recorder().await;
    let mut raw = Raw::connect(addr).await;
    let response = raw.roundtrip("GET /old HTTP/1.0\r\n\r\n").await;
    assert_eq!(response.status_line, "HTTP/1.0 200 OK");
    assert_eq!(
        seen.recv().await,
        Some(("GET".to_owned(), "/old".to_owned(), Vec::new()))
    );
}

#[tokio::test]
async fn chunked_alone_is_served_and_the_connection_kept() {
    let (_server, addr, mut seen, _) = recorder().await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip(concat!(
            "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n",
            "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        ))
        .await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.body, b"abcde");
    assert_eq!(
        seen.recv().await,
        Some(("POST".to_owned(), "/c".to_owned(), b"abcde".to_vec()))
    );
    let again = raw.roundtrip("GET /d HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(again.status, 200);
}

#[tokio::test]
async fn content_length_with_chunked_reads_chunked_and_closes() {
    let (_server, addr, mut seen, count) = recorder().await;
    let mut raw = Raw::connect(addr).await;
    // Content-Length says 5 ("3\r\nab"); the chunked body says "hello". A
    // smuggled request follows in the same write.
    raw.send(concat!(
        "POST /cl-te HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n",
        "Transfer-Encoding: chunked\r\n\r\n",
        "5\r\nhello\r\n0\r\n\r\n",
        "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
    ))
    .await;
    let response = raw.response().await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.body, b"hello");
    assert_eq!(
        seen.recv().await,
        Some(("POST".to_owned(), "/cl-te".to_owned(), b"hello".to_vec()))
    );
    assert_eq!(
        raw.eof().await,
        b"",
        "closed; the smuggled request is not answered"
    );
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "only one request reached the handler"
    );
}

#[tokio::test]
async fn a_malformed_chunked_body_gets_400_and_close() {
    let (_server, addr, _seen, count) = recorder().await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip(concat!(
            "POST /bad HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
            "ZZ\r\nhello\r\n0\r\n\r\n",
        ))
        .await;
    assert_refused(&response);
    assert_eq!(raw.eof().await, b"");
    assert_eq!(count.load(Ordering::SeqCst), 0, "no handler ran");
}

#[tokio::test]
async fn a_body_cut_short_gets_no_handler() {
    let (_server, addr, _seen, count) = recorder().await;
    let mut raw = Raw::connect(addr).await;
    raw.send("POST /short HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        .await;
    raw.stream().shutdown().await.expect("half-close");
    // The body ends early: the body error answers 400 and closes.
    let response = raw.response().await;
    assert_refused(&response);
    assert_eq!(raw.eof().await, b"", "closed after the 400");
    assert_eq!(count.load(Ordering::SeqCst), 0, "no handler ran");
}
