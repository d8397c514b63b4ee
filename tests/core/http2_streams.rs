//! The streams of one HTTP/2 connection, which run in the connection's own
//! task: pipelined requests all answered, a handler that panics resets only
//! its stream, and a handler that never finishes or keeps yielding holds
//! up no other stream. Raw frames over h2c, so that every request goes in
//! one write and each stream's frames are seen exactly.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::StatusCode;
use postern_core::{AbstractHttpServer, Handled, Request, Responder};

use crate::support::h2frames::*;
use crate::support::{Running, start};

/// - `/n/<i>`: `answer <i>`;
/// - `/panic`: panics before answering;
/// - `/never`: never answers (keeps its responder, never finishes);
/// - `/spin`: yields to the runtime until `/release` is called, then
///   answers `spun`;
/// - `/release`: `released`.
#[derive(Default)]
struct Streams {
    released: Arc<AtomicBool>,
}

impl AbstractHttpServer for Streams {
    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        let path = request.path();
        if let Some(i) = path.strip_prefix("/n/") {
            responder.write_with_mime(format!("answer {i}"), "text/plain", StatusCode::OK);
            return Handled::Yes;
        }
        match path {
            "/panic" => panic!("a handler's bug"),
            "/never" => {
                std::future::pending::<()>().await;
                drop(responder);
            }
            "/spin" => {
                // Wakes itself inside its own poll (tokio's `yield_now`
                // defers that wake until the task returns, which would not
                // test the connection's bound on rounds).
                while !self.released.load(Ordering::SeqCst) {
                    let mut woke = false;
                    std::future::poll_fn(|cx| {
                        if woke {
                            return std::task::Poll::Ready(());
                        }
                        woke = true;
                        cx.waker().wake_by_ref();
                        std::task::Poll::Pending
                    })
                    .await;
                }
                responder.write_with_mime("spun", "text/plain", StatusCode::OK);
            }
            "/release" => {
                self.released.store(true, Ordering::SeqCst);
                responder.write_with_mime("released", "text/plain", StatusCode::OK);
            }
            _ => return Handled::No(responder),
        }
        Handled::Yes
    }
}

/// A server of [`Streams`] and a handshaken h2c connection to it.
async fn connected() -> (Running, H2Conn) {
    let (server, addr) = start(Streams::default()).await;
    let mut conn = H2Conn::connect(addr).await;
    conn.handshake(&[]).await;
    (server, conn)
}

/// Requests for `paths` on streams 1, 3, 5, ... in one write; their stream
/// ids.
async fn send_all(conn: &mut H2Conn, first: u32, paths: &[&str]) -> Vec<u32> {
    let mut out = Vec::new();
    let mut streams = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let stream = first + 2 * i as u32;
        let block = request_block("GET", path, &[]);
        out.extend(Frame::new(HEADERS, END_HEADERS | END_STREAM, stream, block).encode());
        streams.push(stream);
    }
    conn.send(out).await;
    streams
}

/// Assert `response` is a whole 200 `text/plain` with `body`.
fn assert_answered(stream: u32, response: &H2Response, body: &str) {
    assert_eq!(response.status(), 200, "stream {stream}: {response:?}");
    assert_eq!(
        response.fields_but_date(),
        [
            ("content-length", body.len().to_string().as_str()),
            ("content-type", "text/plain")
        ],
        "stream {stream}"
    );
    assert_eq!(
        String::from_utf8_lossy(&response.body),
        body,
        "stream {stream}"
    );
    assert!(
        response.ended && response.reset.is_none(),
        "stream {stream}: {response:?}"
    );
}

#[tokio::test]
async fn sixteen_pipelined_requests_on_one_connection_are_all_answered() {
    let (_server, mut conn) = connected().await;
    let paths: Vec<String> = (0..16).map(|i| format!("/n/{i}")).collect();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let streams = send_all(&mut conn, 1, &paths).await;
    for (i, &stream) in streams.iter().enumerate() {
        let response = conn.response(stream).await;
        assert_answered(stream, &response, &format!("answer {i}"));
    }
    // Nothing else on the streams: one HEADERS and one DATA each.
    let on_streams: Vec<String> = conn
        .seen
        .iter()
        .filter(|f| f.stream != 0 && f.kind != WINDOW_UPDATE)
        .map(Frame::describe)
        .collect();
    assert_eq!(on_streams.len(), 32, "{on_streams:?}");
}

/// Its stream is reset as when the handler's task panicked on the runtime
/// (`RST_STREAM(CANCEL)`); the streams beside it and after it are answered.
#[tokio::test]
async fn a_panicking_handler_resets_only_its_stream() {
    let (server, mut conn) = connected().await;
    let streams = send_all(&mut conn, 1, &["/n/1", "/panic", "/n/3"]).await;
    let panicked = conn.response(streams[1]).await;
    assert_eq!(panicked.reset, Some(CANCEL), "{panicked:?}");
    assert!(panicked.headers.is_empty() && panicked.body.is_empty());
    assert_answered(1, &conn.response(streams[0]).await, "answer 1");
    assert_answered(5, &conn.response(streams[2]).await, "answer 3");
    // The connection goes on.
    let after = send_all(&mut conn, 7, &["/n/after"]).await;
    assert_answered(7, &conn.response(after[0]).await, "answer after");
    assert!(
        !conn.seen.iter().any(|f| f.kind == GOAWAY),
        "no GOAWAY: {:?}",
        conn.seen.iter().map(Frame::describe).collect::<Vec<_>>()
    );
    assert_eq!(server.live_connections(), 1);
}

#[tokio::test]
async fn a_handler_that_never_finishes_holds_up_no_other_stream() {
    let (_server, mut conn) = connected().await;
    let streams = send_all(&mut conn, 1, &["/never", "/n/1", "/n/2"]).await;
    assert_answered(3, &conn.response(streams[1]).await, "answer 1");
    assert_answered(5, &conn.response(streams[2]).await, "answer 2");
    let later = send_all(&mut conn, 7, &["/n/3"]).await;
    assert_answered(7, &conn.response(later[0]).await, "answer 3");
    let never = conn.responses().remove(&1);
    assert!(
        never.is_none(),
        "nothing on the stream that never ends: {never:?}"
    );
}

/// A handler that keeps waking itself does not keep the connection's task
/// to itself: the request that releases it is read and answered. (On two
/// workers, so that a connection stuck polling would fail the test's
/// bounded waits instead of hanging it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_keeps_yielding_does_not_starve_the_connection() {
    let (_server, mut conn) = connected().await;
    let spin = send_all(&mut conn, 1, &["/spin"]).await;
    let release = send_all(&mut conn, 3, &["/release"]).await;
    assert_answered(3, &conn.response(release[0]).await, "released");
    assert_answered(1, &conn.response(spin[0]).await, "spun");
}
