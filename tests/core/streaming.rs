//! Streamed responses: chunked coding with trailers read back over HTTP/1.1
//! (exact bytes) and HTTP/2 (trailing HEADERS), `Responder::write_reader`
//! with a large body and back-pressure, an aborted stream, and
//! `is_response_canceled()` once the client has gone.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, StatusCode, Version};
use http_body_util::BodyExt;
use postern_core::{AbstractHttpServer, Handled, Request, Responder};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

use crate::support::{
    Raw, RawResponse, Running, TestServer, get, h2c, reqwest_client, start, within,
};

const STREAM_BODY: &[u8] = b"chunk 0\nchunk 1\nchunk 2\ndone\n";

#[tokio::test]
async fn http1_chunked_response_with_trailers_exact_bytes() {
    let (_server, addr) = start(TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip("GET /stream HTTP/1.1\r\nHost: a\r\nTE: trailers\r\n\r\n")
        .await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert_eq!(response.header("trailer"), Some("x-chunk-count"));
    assert_eq!(response.header("content-length"), None);
    assert_eq!(
        String::from_utf8_lossy(&response.raw_body),
        concat!(
            "8\r\nchunk 0\n\r\n",
            "8\r\nchunk 1\n\r\n",
            "8\r\nchunk 2\n\r\n",
            "5\r\ndone\n\r\n",
            "0\r\n",
            "x-chunk-count: 3\r\n",
            "\r\n",
        )
    );
    assert_eq!(response.body, STREAM_BODY);
    assert_eq!(
        response.trailers,
        [("x-chunk-count".to_owned(), "3".to_owned())]
    );
    // The connection is still usable afterwards.
    let hello = raw
        .roundtrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(hello.body, b"hello");
}

#[tokio::test]
async fn http1_trailers_are_left_out_without_te_trailers() {
    let (_server, addr) = start(TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert_eq!(response.body, STREAM_BODY);
    assert!(response.raw_body.ends_with(b"5\r\ndone\n\r\n0\r\n\r\n"));
    assert!(response.trailers.is_empty(), "{:?}", response.trailers);
}

#[tokio::test]
async fn http10_streamed_response_is_delimited_by_close() {
    let (_server, addr) = start(TestServer).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw.roundtrip("GET /stream HTTP/1.0\r\n\r\n").await;
    assert_eq!(response.status_line, "HTTP/1.0 200 OK");
    assert_eq!(response.header("transfer-encoding"), None);
    assert_eq!(response.header("content-length"), None);
    assert_eq!(response.body, STREAM_BODY, "read to EOF");
}

#[tokio::test]
async fn http2_streamed_response_ends_with_trailing_headers() {
    let (_server, addr) = start(TestServer).await;
    let (mut send, _conn) = h2c(addr).await;
    let response = within("response", send.send_request(get("http://a/stream")))
        .await
        .unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["trailer"], "x-chunk-count");
    let collected = within("body and trailers", response.into_body().collect())
        .await
        .unwrap();
    let trailers = collected.trailers().cloned().expect("trailers");
    assert_eq!(trailers.len(), 1);
    assert_eq!(trailers["x-chunk-count"], "3");
    assert_eq!(&collected.to_bytes()[..], STREAM_BODY);
}

/// An endless-ish reader of `len` bytes, `offset % 251` each, counting what
/// the server has pulled from it.
struct Pattern {
    len: u64,
    pos: u64,
    pulled: Arc<AtomicU64>,
}

fn pattern_byte(offset: u64) -> u8 {
    (offset % 251) as u8
}

impl AsyncRead for Pattern {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let left = self.len - self.pos;
        let n = left.min(buf.remaining() as u64).min(64 * 1024);
        let start = self.pos;
        let block: Vec<u8> = (start..start + n).map(pattern_byte).collect();
        buf.put_slice(&block);
        self.pos += n;
        self.pulled.fetch_add(n, Ordering::SeqCst);
        Poll::Ready(Ok(()))
    }
}

/// `/reader?bytes=N[&length]`: the pattern through `write_reader`, with a
/// `content-length` when `length` is present.
/// `/abort`: one chunk, then the writer is dropped.
/// `/cancel`: never answers; reports whether it saw the cancel.
/// `/cancel-stream`: streams a chunk every 20 ms until a write fails;
/// reports how that ended.
struct Streamer {
    pulled: Arc<AtomicU64>,
    finished: mpsc::UnboundedSender<String>,
}

impl AbstractHttpServer for Streamer {
    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        let finished = self.finished.clone();
        match request.path() {
            "/reader" => {
                let len: u64 = request
                    .query_value("bytes")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1024);
                let mut headers = HeaderMap::new();
                headers.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                if request.query_value("length").is_some() {
                    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
                }
                let reader = Pattern {
                    len,
                    pos: 0,
                    pulled: Arc::clone(&self.pulled),
                };
                tokio::spawn(async move {
                    let result = responder
                        .write_reader(reader, headers, StatusCode::OK)
                        .await;
                    let _ = finished.send(format!("reader {result:?}"));
                });
            }
            "/abort" => {
                tokio::spawn(async move {
                    let mut writer =
                        responder.begin_chunked_with_mime("text/plain", StatusCode::OK);
                    let _ = writer.write_chunk("partial").await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    drop(writer);
                });
            }
            "/cancel" => {
                tokio::spawn(async move {
                    let _ = finished.send("cancel waiting".to_owned());
                    let limit = tokio::time::Instant::now() + Duration::from_secs(20);
                    while !responder.is_response_canceled() && tokio::time::Instant::now() < limit {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    let canceled = responder.is_response_canceled();
                    // Writing now is a harmless no-op.
                    responder.write_status(StatusCode::OK);
                    let _ = finished.send(format!("canceled {canceled}"));
                });
            }
            "/cancel-stream" => {
                tokio::spawn(async move {
                    let mut writer =
                        responder.begin_chunked_with_mime("text/plain", StatusCode::OK);
                    for i in 0..1000 {
                        if let Err(error) = writer.write_chunk(format!("tick {i}\n")).await {
                            let canceled = writer.is_response_canceled();
                            let _ = finished
                                .send(format!("stream ended: {error}; canceled {canceled}"));
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    let _ = finished.send("stream never canceled".to_owned());
                });
            }
            _ => return Handled::No(responder),
        }
        Handled::Yes
    }
}

/// A [`Streamer`] on 127.0.0.1:0: the server, its address, the bytes pulled
/// from its readers and its handlers' reports.
async fn streamer() -> (
    Running,
    SocketAddr,
    Arc<AtomicU64>,
    mpsc::UnboundedReceiver<String>,
) {
    let pulled = Arc::new(AtomicU64::new(0));
    let (finished, rx) = mpsc::unbounded_channel();
    let (server, addr) = start(Streamer {
        pulled: Arc::clone(&pulled),
        finished,
    })
    .await;
    (server, addr, pulled, rx)
}

fn assert_pattern(body: &[u8], len: usize) {
    assert_eq!(body.len(), len);
    if let Some(at) = (0..len).find(|&i| body[i] != pattern_byte(i as u64)) {
        panic!("body differs from the pattern at byte {at}");
    }
}

#[tokio::test]
async fn write_reader_streams_a_large_body_chunked() {
    const LEN: usize = 8 * 1024 * 1024 + 123;
    let (_server, addr, pulled, mut finished) = streamer().await;
    let client = reqwest_client(None, &[], |b| b.http1_only());
    let response = within(
        "response",
        client
            .get(format!("http://{}/reader?bytes={LEN}", addr))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    assert_eq!(
        response.headers()["content-type"],
        "application/octet-stream"
    );
    let body = within("body", response.bytes()).await.unwrap();
    assert_pattern(&body, LEN);
    assert_eq!(pulled.load(Ordering::SeqCst), LEN as u64);
    assert_eq!(
        within("writer", finished.recv()).await.unwrap(),
        "reader Ok(())"
    );
}

#[tokio::test]
async fn write_reader_with_a_content_length_is_not_chunked() {
    const LEN: usize = 3 * 1024 * 1024;
    let (_server, addr, _, _) = streamer().await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip(format!(
            "GET /reader?bytes={LEN}&length HTTP/1.1\r\nHost: a\r\n\r\n"
        ))
        .await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.header("content-length"), Some(&*LEN.to_string()));
    assert_eq!(response.header("transfer-encoding"), None);
    assert_pattern(&response.body, LEN);
}

#[tokio::test]
async fn write_reader_over_http2() {
    const LEN: usize = 2 * 1024 * 1024 + 7;
    let (_server, addr, _, _) = streamer().await;
    let (mut send, _conn) = h2c(addr).await;
    let response = within(
        "response",
        send.send_request(get(&format!("http://a/reader?bytes={LEN}"))),
    )
    .await
    .unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    let body = within("body", response.into_body().collect())
        .await
        .unwrap()
        .to_bytes();
    assert_pattern(&body, LEN);
}

#[tokio::test]
async fn write_reader_applies_back_pressure() {
    const LEN: u64 = 256 * 1024 * 1024;
    let (_server, addr, pulled, mut finished) = streamer().await;
    let mut raw = Raw::connect(addr).await;
    raw.send(format!(
        "GET /reader?bytes={LEN}&length HTTP/1.1\r\nHost: a\r\n\r\n"
    ))
    .await;
    // The client reads nothing: the socket buffers fill, then the server
    // stops pulling from the reader. Waited for until the count holds still
    // for 500 ms (a loaded machine fills the buffers slowly); without
    // back-pressure it would only hold still at the whole 256 MiB.
    let mut before = pulled.load(Ordering::SeqCst);
    let after = within("the reader to stop being pulled", async {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = pulled.load(Ordering::SeqCst);
            if now == before {
                return now;
            }
            before = now;
        }
    })
    .await;
    assert!(
        after > 0 && after < 64 * 1024 * 1024,
        "the server read {after} bytes ahead of a client that reads nothing"
    );
    // Closing the connection ends the writer.
    drop(raw);
    let ended = within("writer end", finished.recv()).await.unwrap();
    assert_eq!(ended, "reader Ok(())");
    assert!(pulled.load(Ordering::SeqCst) < LEN);
}

#[tokio::test]
async fn a_dropped_chunked_writer_truncates_the_response() {
    let (_server, addr, _, _) = streamer().await;
    let mut raw = Raw::connect(addr).await;
    raw.send("GET /abort HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let all = raw.eof().await;
    let (head, body) = RawResponse::parse_head(&all);
    assert_eq!(head.status_line, "HTTP/1.1 200 OK");
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    assert_eq!(
        String::from_utf8_lossy(body),
        "7\r\npartial\r\n",
        "one chunk, no last chunk, then the connection closes"
    );
}

#[tokio::test]
async fn is_response_canceled_turns_true_when_the_client_leaves() {
    let (_server, addr, _, mut finished) = streamer().await;
    let mut raw = Raw::connect(addr).await;
    raw.send("GET /cancel HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(
        within("handler", finished.recv()).await.unwrap(),
        "cancel waiting"
    );
    drop(raw);
    assert_eq!(
        within("cancel seen", finished.recv()).await.unwrap(),
        "canceled true"
    );
}

#[tokio::test]
async fn is_response_canceled_turns_true_when_an_http2_stream_is_reset() {
    let (_server, addr, _, mut finished) = streamer().await;
    let (mut send, _conn) = h2c(addr).await;
    let pending = tokio::spawn(send.send_request(get("http://a/cancel")));
    assert_eq!(
        within("handler", finished.recv()).await.unwrap(),
        "cancel waiting"
    );
    // Dropping the response future resets the stream (RST_STREAM CANCEL);
    // the connection stays open.
    pending.abort();
    assert_eq!(
        within("cancel seen", finished.recv()).await.unwrap(),
        "canceled true"
    );
    let response = within("another stream", send.send_request(get("http://a/nothing")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_chunked_writer_sees_the_client_leave() {
    let (_server, addr, _, mut finished) = streamer().await;
    let mut raw = Raw::connect(addr).await;
    raw.send("GET /cancel-stream HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    // Read a little of the stream, then hang up.
    let mut first = [0u8; 64];
    let n = within(
        "first bytes",
        tokio::io::AsyncReadExt::read(raw.stream(), &mut first),
    )
    .await
    .unwrap();
    assert!(n > 0);
    drop(raw);
    assert_eq!(
        within("writer end", finished.recv()).await.unwrap(),
        "stream ended: the client is gone; the response was canceled; canceled true"
    );
}

#[tokio::test]
async fn a_large_request_body_arrives_whole_over_http1_and_http2() {
    const LEN: usize = 4 * 1024 * 1024 + 5;
    let (_server, addr) = start(TestServer).await;
    let body: Vec<u8> = (0..LEN as u64).map(pattern_byte).collect();
    for http2 in [false, true] {
        let client = reqwest_client(None, &[], |b| {
            if http2 {
                b.http2_prior_knowledge()
            } else {
                b.http1_only()
            }
        });
        let response = within(
            "large upload",
            client
                .post(format!("http://{}/echo", addr))
                .body(body.clone())
                .send(),
        )
        .await
        .unwrap();
        let expected = if http2 {
            Version::HTTP_2
        } else {
            Version::HTTP_11
        };
        assert_eq!(response.version(), expected);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-length"],
            LEN.to_string().as_str()
        );
        let echoed = within("echo", response.bytes()).await.unwrap();
        assert_pattern(&echoed, LEN);
    }
}
