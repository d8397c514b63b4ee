//! Stalled clients in the middle of a request: a body that stops arriving
//! (body-idle timeout: the body fails and the handler answers 408) and a
//! client that stops reading the response (write-stall timeout). Neither may
//! pin a connection forever; a handler that is merely slow is never cut by
//! them.
//!
//! What a client sends and how fast is one table ([`sends!`]), each row with
//! its one outcome.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use postern_core::{AbstractHttpServer, Handled, Request, Responder};
use tokio::net::TcpSocket;

use crate::support::{Raw, RawResponse, start_with, with_timeouts};

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

// ---------------------------------------------------------------------------
// The table: a request sent in parts, and what it comes to

/// What a request comes to.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// One handler call, a 200 with this body, then the close the request
    /// asked for.
    Served(&'static str),
    /// One body-idle timeout after the last part the body fails: the
    /// handler, still reading it, never runs; the client gets 408 with
    /// `connection: close`, then the close.
    TimedOut,
}

/// Send `parts` a third of the stall timeout apart and assert `outcome`.
async fn sends(case: &str, parts: &[&str], outcome: Outcome) {
    let handler = Stalls::default();
    let (_server, addr) = start_with(stall_config(), handler.clone()).await;
    let mut raw = Raw::connect(addr).await;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(STALL / 3).await;
        }
        raw.send(part).await;
    }
    let calls = || handler.calls.load(Ordering::SeqCst);
    match outcome {
        Outcome::Served(body) => {
            let response = raw.response().await;
            assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{case}");
            assert_eq!(response.text(), body, "{case}");
            assert_eq!(raw.eof().await, b"", "{case}: closed as asked");
            assert_eq!(calls(), 1, "{case}");
        }
        Outcome::TimedOut => {
            let (elapsed, rest) = raw.time_to_close(Instant::now()).await;
            let response = RawResponse::parse(&rest);
            assert_eq!(
                response.status_line, "HTTP/1.1 408 Request Timeout",
                "{case}"
            );
            assert_eq!(
                response.headers_but_date(),
                [
                    ("connection", "close"),
                    ("content-length", "0"),
                    ("content-type", "application/x-empty"),
                ],
                "{case}"
            );
            assert_eq!(response.body, b"", "{case}");
            assert!(
                elapsed >= STALL.mul_f32(0.9),
                "{case}: closed after {elapsed:?}, before the timeout"
            );
            assert!(
                elapsed < Duration::from_secs(3),
                "{case}: closed only after {elapsed:?}"
            );
            assert_eq!(calls(), 0, "{case}: the handler never ran");
        }
    }
}

/// One test per row: `name: parts => outcome`.
macro_rules! sends {
    ($($name:ident: $parts:expr => $outcome:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            sends(stringify!($name), $parts, $outcome).await;
        }
    )*};
}

sends! {
    a_body_that_stops_arriving_gets_408_and_a_close:
        &["POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"]
        => Outcome::TimedOut;
    a_body_trickling_within_the_timeout_is_served:
        &[
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nConnection: close\r\n\r\n",
            "a", "b", "c", "d", "e", "f",
        ]
        => Outcome::Served("abcdef");
    a_slow_handler_is_not_a_stalled_client:
        &["POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"]
        => Outcome::Served("late");
}

// ---------------------------------------------------------------------------
// Clients that read slowly or not at all

#[tokio::test]
async fn a_client_that_stops_reading_is_cut() {
    let (_server, addr) = start_with(stall_config(), Stalls::default()).await;
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .set_recv_buffer_size(4096)
        .expect("small receive buffer");
    let mut raw = Raw::new(socket.connect(addr).await.expect("connect"));
    raw.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n").await;
    // Read nothing for a while: the server's writes block, then it gives up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = raw.eof().await;
    let (head, body) = RawResponse::parse_head(&all);
    assert_eq!(head.status_line, "HTTP/1.1 200 OK");
    assert_eq!(head.header("content-length"), Some(&*BIG.to_string()));
    assert!(
        body.len() < BIG,
        "the whole {BIG}-byte body arrived: the connection was not cut"
    );
}

#[tokio::test]
async fn a_slow_reader_that_keeps_reading_gets_everything() {
    let (_server, addr) = start_with(stall_config(), Stalls::default()).await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip("GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.body.len(), BIG, "head and 32 MiB body expected");
    assert!(response.body.iter().all(|&b| b == b'x'));
    assert_eq!(raw.eof().await, b"");
}
