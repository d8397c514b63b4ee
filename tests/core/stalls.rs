//! Stalled clients in the middle of a request: a body that stops arriving
//! (body-idle timeout) and a client that stops reading the response
//! (write-stall timeout). Neither may pin a connection forever; a handler that
//! is merely slow is never cut by them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{RawResponse, start_with, with_timeouts, within};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use postern_core::{AbstractHttpServer, Handled, Request, Responder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const STALL: Duration = Duration::from_millis(300);
const BIG: usize = 32 * 1024 * 1024;

/// `/echo` echoes the body (counting calls), `/big` answers 32 MiB, `/slow`
/// answers after 1.5 s.
#[derive(Clone, Default)]
struct Stalls {
    calls: Arc<AtomicUsize>,
}

impl AbstractHttpServer for Stalls {
    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match request.path() {
            "/echo" => responder.write(request.body().clone(), HeaderMap::new(), StatusCode::OK),
            "/big" => responder.write(
                Bytes::from(vec![b'x'; BIG]),
                HeaderMap::new(),
                StatusCode::OK,
            ),
            "/slow" => {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                responder.write("late", HeaderMap::new(), StatusCode::OK);
            }
            _ => return Handled::No(responder),
        }
        Handled::Yes
    }
}

fn stall_config() -> postern_core::Configuration {
    with_timeouts(|t| {
        t.body_idle = STALL;
        t.write_stall = STALL;
    })
}

/// Read the whole answer (the request said `Connection: close`) and check it
/// is a 200 whose body is exactly `body`.
async fn assert_ok_with_body(stream: &mut TcpStream, body: &str) {
    let mut answer = Vec::new();
    within("answer", stream.read_to_end(&mut answer))
        .await
        .expect("read");
    let response = RawResponse::parse(&answer);
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.text(), body);
}

/// Read until EOF or a reset; how many bytes came and how long it took.
async fn read_to_end(stream: &mut TcpStream) -> (usize, Duration) {
    let start = Instant::now();
    let mut total = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return (total, start.elapsed()),
            Ok(n) => total += n,
        }
    }
}

#[tokio::test]
async fn a_body_that_stops_arriving_closes_the_connection() {
    let handler = Stalls::default();
    let (_server, addr) = start_with(stall_config(), handler.clone()).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        .await
        .expect("write");
    let (bytes, elapsed) = within("close", read_to_end(&mut stream)).await;
    assert_eq!(bytes, 0, "no response for a body that never finished");
    assert!(
        elapsed >= STALL.mul_f32(0.9),
        "closed after {elapsed:?}, before the timeout"
    );
    assert!(
        elapsed < Duration::from_secs(3),
        "closed only after {elapsed:?}"
    );
    assert_eq!(
        handler.calls.load(Ordering::SeqCst),
        0,
        "the handler never ran"
    );
}

#[tokio::test]
async fn a_body_trickling_within_the_timeout_is_served() {
    let (_server, addr) = start_with(stall_config(), Stalls::default()).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nConnection: close\r\n\r\n",
        )
        .await
        .expect("write");
    for byte in b"abcdef" {
        tokio::time::sleep(STALL / 3).await;
        stream.write_all(&[*byte]).await.expect("write");
    }
    assert_ok_with_body(&mut stream, "abcdef").await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut() {
    let (_server, addr) = start_with(stall_config(), Stalls::default()).await;
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .set_recv_buffer_size(4096)
        .expect("small receive buffer");
    let mut stream = socket.connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .expect("write");
    // Read nothing for a while: the server's writes block, then it gives up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (bytes, _) = within("the cut connection", read_to_end(&mut stream)).await;
    assert!(
        bytes < BIG,
        "the whole {BIG}-byte body arrived: the connection was not cut"
    );
}

#[tokio::test]
async fn a_slow_handler_is_not_a_stalled_client() {
    let (_server, addr) = start_with(stall_config(), Stalls::default()).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            b"POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
        )
        .await
        .expect("write");
    assert_ok_with_body(&mut stream, "late").await;
}

#[tokio::test]
async fn a_slow_reader_that_keeps_reading_gets_everything() {
    let (_server, addr) = start_with(stall_config(), Stalls::default()).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let (bytes, _) = within("the whole answer", read_to_end(&mut stream)).await;
    assert!(bytes > BIG, "{bytes} bytes: head and 32 MiB body expected");
}
