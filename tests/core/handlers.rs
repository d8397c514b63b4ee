//! Handlers that stream from their own future, run to completion when the
//! client goes away, and a `write_reader` whose reader fails at once.

use std::time::Duration;

use crate::support::{Raw, Running, get, h2_client, start, within};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use postern_core::{AbstractHttpServer, Handled, Request, Responder};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Chunks the in-future streaming handler writes: far more than the
/// responder's channel holds.
const CHUNKS: usize = 10_000;

fn chunk(i: usize) -> String {
    format!("{i:05}\n")
}

fn expected_stream() -> Vec<u8> {
    (0..CHUNKS).flat_map(|i| chunk(i).into_bytes()).collect()
}

/// `/stream`: writes `CHUNKS` chunks from the handler's own future (no task
/// spawned), then reports "streamed".
/// `/settle`: waits 300 ms (a device saving its settings), then reports
/// whether it ran to the end and whether the client was still there.
/// `/failing-reader`: `write_reader` with a reader that fails at once.
struct Handlers {
    done: mpsc::UnboundedSender<String>,
}

struct FailingReader;

impl tokio::io::AsyncRead for FailingReader {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Err(std::io::Error::other("disk gone")))
    }
}

impl AbstractHttpServer for Handlers {
    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        match request.path() {
            "/stream" => {
                let mut writer = responder.begin_chunked_with_mime("text/plain", StatusCode::OK);
                for i in 0..CHUNKS {
                    if writer.write_chunk(chunk(i)).await.is_err() {
                        let _ = self.done.send(format!("stream cut at {i}"));
                        return Handled::Yes;
                    }
                }
                let ended = writer.end_chunked(Bytes::new(), HeaderMap::new()).await;
                let _ = self.done.send(format!("streamed {}", ended.is_ok()));
            }
            "/settle" => {
                let _ = self.done.send("settling".to_owned());
                tokio::time::sleep(Duration::from_millis(300)).await;
                let canceled = responder.is_response_canceled();
                responder.write_status(StatusCode::NO_CONTENT);
                let _ = self.done.send(format!("settled; canceled {canceled}"));
            }
            "/failing-reader" => {
                let result = responder
                    .write_reader(FailingReader, HeaderMap::new(), StatusCode::OK)
                    .await;
                let _ = self.done.send(format!("reader {}", result.is_err()));
            }
            _ => return Handled::No(responder),
        }
        Handled::Yes
    }
}

async fn serve() -> (
    Running,
    std::net::SocketAddr,
    mpsc::UnboundedReceiver<String>,
) {
    let (done, rx) = mpsc::unbounded_channel();
    let (server, addr) = start(Handlers { done }).await;
    (server, addr, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    within("handler report", rx.recv())
        .await
        .expect("handler report channel open")
}

#[tokio::test]
async fn a_handler_streams_many_chunks_from_its_own_future_over_http1() {
    let (_server, addr, mut done) = serve().await;
    let mut raw = Raw::connect(addr).await;
    let response = within(
        "streamed response",
        raw.roundtrip("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n"),
    )
    .await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.body, expected_stream());
    assert_eq!(next(&mut done).await, "streamed true");
    // The connection carries on.
    let again = raw
        .roundtrip("GET /failing-reader HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(again.status, 500);
}

#[tokio::test]
async fn a_handler_streams_many_chunks_from_its_own_future_over_http2() {
    let (_server, addr, mut done) = serve().await;
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (mut send, _conn) = h2_client(tcp).await;
    let response = within("HTTP/2 response head", send.send_request(get("/stream")))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/plain");
    let body = within("HTTP/2 body", response.into_body().collect())
        .await
        .expect("whole body")
        .to_bytes();
    assert_eq!(body, expected_stream());
    assert_eq!(next(&mut done).await, "streamed true");
}

#[tokio::test]
async fn a_handler_runs_to_completion_when_an_http1_client_disconnects() {
    let (_server, addr, mut done) = serve().await;
    let mut raw = Raw::connect(addr).await;
    raw.send("GET /settle HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(next(&mut done).await, "settling");
    drop(raw);
    assert_eq!(next(&mut done).await, "settled; canceled true");
}

#[tokio::test]
async fn a_handler_runs_to_completion_when_an_http2_stream_is_reset() {
    let (_server, addr, mut done) = serve().await;
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (mut send, _conn) = h2_client(tcp).await;
    let pending = tokio::spawn(send.send_request(get("/settle")));
    assert_eq!(next(&mut done).await, "settling");
    // Dropping the response future resets the stream (RST_STREAM CANCEL);
    // the connection itself stays open.
    pending.abort();
    assert_eq!(next(&mut done).await, "settled; canceled true");
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (mut send, _conn) = h2_client(tcp).await;
    let ok = within("second request", send.send_request(get("/settle")))
        .await
        .expect("response");
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_reader_failing_at_once_answers_500() {
    let (_server, addr, mut done) = serve().await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip("GET /failing-reader HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(response.status_line, "HTTP/1.1 500 Internal Server Error");
    assert_eq!(response.header("content-type"), Some("application/x-empty"));
    assert_eq!(response.header("content-length"), Some("0"));
    assert_eq!(response.header("transfer-encoding"), None);
    assert!(response.body.is_empty());
    assert_eq!(next(&mut done).await, "reader true");
}
