//! Graceful shutdown with a deadline: in-flight requests finish, idle
//! connections close at once, what is still busy at the deadline is cut and
//! counted, and no new connection is accepted once shutdown has begun.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::StatusCode;
use http_body_util::BodyExt;
use postern_core::{
    AbstractHttpServer, Configuration, Handled, Request, Responder, ShutdownReport,
};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::support::{Raw, Running, get, h2c, start, start_tls, test_cert, wait_live, within};

/// `/wait?ms=N`: reports that it started, then answers `done N` after N ms.
/// `/hang`: reports that it started and never answers; reports whether the
/// responder saw the cancel once the connection is gone.
/// Anything else: `ok`.
struct Gate {
    started: mpsc::UnboundedSender<String>,
    canceled: mpsc::UnboundedSender<bool>,
}

impl AbstractHttpServer for Gate {
    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        let _ = self.started.send(request.path().to_owned());
        match request.path() {
            "/wait" => {
                let ms: u64 = request
                    .query_value("ms")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(500);
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    responder.write_with_mime(format!("done {ms}"), "text/plain", StatusCode::OK);
                });
            }
            "/hang" => {
                let canceled = self.canceled.clone();
                tokio::spawn(async move {
                    let deadline = Instant::now() + Duration::from_secs(20);
                    while !responder.is_response_canceled() && Instant::now() < deadline {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    let _ = canceled.send(responder.is_response_canceled());
                });
            }
            _ => responder.write_with_mime("ok", "text/plain", StatusCode::OK),
        }
        Handled::Yes
    }
}

struct Started(mpsc::UnboundedReceiver<String>);

impl Started {
    async fn next(&mut self) -> String {
        within("the handler to start", self.0.recv())
            .await
            .expect("handler started")
    }
}

/// A [`Gate`] on 127.0.0.1:0: the server, its address, the paths handlers
/// start on and whether `/hang` saw its cancel.
async fn gate() -> (Running, SocketAddr, Started, mpsc::UnboundedReceiver<bool>) {
    let (started, started_rx) = mpsc::unbounded_channel();
    let (canceled, canceled_rx) = mpsc::unbounded_channel();
    let (server, addr) = start(Gate { started, canceled }).await;
    (server, addr, Started(started_rx), canceled_rx)
}

#[tokio::test]
async fn an_in_flight_request_finishes_during_graceful_shutdown() {
    let (server, addr, mut started, _) = gate().await;
    let mut raw = Raw::connect(addr).await;
    raw.send("GET /wait?ms=800 HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(started.next().await, "/wait");
    let shutdown = tokio::spawn(server.shutdown(Duration::from_secs(8)));

    let response = raw.response().await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.header("content-length"), Some("8"));
    assert_eq!(response.body, b"done 800");
    assert_eq!(raw.eof().await, b"", "closed once the request is done");

    let report: ShutdownReport = within("shutdown", shutdown).await.unwrap();
    assert_eq!(report.cut, 0);
    assert!(report.drained);
}

#[tokio::test]
async fn an_in_flight_http2_request_finishes_during_graceful_shutdown() {
    let (server, addr, mut started, _) = gate().await;
    let (mut send, conn) = h2c(addr).await;
    let pending = tokio::spawn(send.send_request(get("http://a/wait?ms=800")));
    assert_eq!(started.next().await, "/wait");
    let shutdown = tokio::spawn(server.shutdown(Duration::from_secs(8)));

    let response = within("h2 response", pending).await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = within("h2 body", response.into_body().collect())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&body[..], b"done 800");
    assert!(within("the connection to end", conn).await.unwrap().is_ok());

    let report = within("shutdown", shutdown).await.unwrap();
    assert_eq!(report.cut, 0);
    assert!(report.drained);
}

#[tokio::test]
async fn a_request_still_running_at_the_deadline_is_cut() {
    let (server, addr, mut started, mut canceled) = gate().await;
    let mut raw = Raw::connect(addr).await;
    raw.send("GET /hang HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(started.next().await, "/hang");
    let begun = Instant::now();
    let report = within("shutdown", server.shutdown(Duration::from_millis(300))).await;
    assert!(
        begun.elapsed() < Duration::from_secs(4),
        "shutdown took {:?}",
        begun.elapsed()
    );
    assert_eq!(report.cut, 1);
    assert!(!report.drained);
    // The client sees the connection end without any response.
    assert_eq!(raw.eof().await, b"");
    // And the handler sees that its response was canceled.
    let seen = within("the handler to notice", canceled.recv()).await;
    assert_eq!(seen, Some(true));
}

#[tokio::test]
async fn idle_connections_are_closed_at_once() {
    let (server, addr, _started, _) = gate().await;
    let mut h1 = Raw::connect(addr).await;
    let response = h1.roundtrip("GET /x HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(response.body, b"ok");
    let (mut h2, h2_conn) = h2c(addr).await;
    let response = within("h2 response", h2.send_request(get("http://a/x")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    drop(response);

    // The default keep-alive is 15 s: only the shutdown closes these.
    let begun = Instant::now();
    let report = within("shutdown", server.shutdown(Duration::from_secs(5))).await;
    assert_eq!(report.cut, 0);
    assert!(report.drained);
    assert!(
        begun.elapsed() < AT_ONCE,
        "idle connections closed at once, not at the deadline: {:?}",
        begun.elapsed()
    );
    assert_eq!(h1.eof().await, b"");
    assert!(within("h2 connection end", h2_conn).await.unwrap().is_ok());
    assert!(
        begun.elapsed() < AT_ONCE,
        "both connections closed at once: {:?}",
        begun.elapsed()
    );
}

#[tokio::test]
async fn new_connections_are_refused_once_shutdown_has_begun() {
    let (server, addr, mut started, _) = gate().await;
    let server_addr = addr;
    let mut raw = Raw::connect(server_addr).await;
    raw.send("GET /wait?ms=1500 HTTP/1.1\r\nHost: a\r\n\r\n")
        .await;
    assert_eq!(started.next().await, "/wait");
    let shutdown = tokio::spawn(server.shutdown(Duration::from_secs(8)));

    // The listener closes soon after shutdown begins (give the runtime a
    // moment to drop it); from then on connecting is refused. Attempts
    // before that get in (or, racing the close, are reset): retried.
    within("connecting to be refused", async {
        loop {
            match TcpStream::connect(server_addr).await {
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => return,
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {}
                Err(error) => panic!("connecting failed otherwise: {error:?}"),
                Ok(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    // And it stays refused.
    let again = TcpStream::connect(server_addr).await.unwrap_err();
    assert_eq!(again.kind(), std::io::ErrorKind::ConnectionRefused);

    // The request in flight still gets its answer.
    let response = raw.response().await;
    assert_eq!(response.body, b"done 1500");
    let report = within("shutdown", shutdown).await.unwrap();
    assert_eq!(report.cut, 0);
}

#[tokio::test]
async fn shutdown_with_no_connections_drains_at_once() {
    let (server, addr, _, _) = gate().await;
    let mut raw = Raw::connect(addr).await;
    let response = raw
        .roundtrip("GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(response.body, b"ok");
    assert_eq!(raw.eof().await, b"");
    let begun = Instant::now();
    let report = within("shutdown", server.shutdown(Duration::from_secs(8))).await;
    assert_eq!((report.cut, report.drained), (0, true));
    assert!(begun.elapsed() < Duration::from_secs(2));
}

/// How soon a connection that shutdown closes "at once" must be closed.
const AT_ONCE: Duration = Duration::from_millis(1500);

/// `shutdown` began at `begun` with a 5 s deadline; `raw` has no request in
/// flight. It must be closed without a byte in under [`AT_ONCE`], and the
/// shutdown must end as drained (nothing cut) just as fast, long before its
/// deadline.
async fn assert_closed_at_once<I>(
    shutdown: tokio::task::JoinHandle<ShutdownReport>,
    raw: &mut Raw<I>,
    begun: Instant,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let rest = raw.closed_within(AT_ONCE).await;
    let closed_after = begun.elapsed();
    let rest = rest.unwrap_or_else(|| panic!("still open {closed_after:?} after shutdown began"));
    assert_eq!(rest, b"", "closed without a response");
    assert!(
        closed_after < AT_ONCE,
        "closed {closed_after:?} after shutdown began"
    );
    let report = within("shutdown", shutdown).await.unwrap();
    let took = begun.elapsed();
    assert!(took < AT_ONCE, "shutdown(5 s) took {took:?}");
    assert!(report.drained, "{report:?}");
    assert_eq!(report.cut, 0, "{report:?}");
}

#[tokio::test]
async fn a_silent_connection_is_closed_at_once_on_shutdown() {
    // Default first-byte timeout (10 s): only the shutdown can close it soon.
    let (server, addr, _, _) = gate().await;
    let mut raw = Raw::connect(addr).await;
    // Let the server accept it.
    wait_live(&server, 1).await;
    let begun = Instant::now();
    let shutdown = tokio::spawn(server.shutdown(Duration::from_secs(5)));
    assert_closed_at_once(shutdown, &mut raw, begun).await;
}

#[tokio::test]
async fn a_connection_in_its_tls_handshake_is_closed_at_once_on_shutdown() {
    let cert = test_cert();
    let (started, _s) = mpsc::unbounded_channel();
    let (canceled, _c) = mpsc::unbounded_channel();
    let (server, addr) =
        start_tls(Configuration::default(), Gate { started, canceled }, &cert).await;
    let mut raw = Raw::connect(addr).await;
    raw.send([0x16, 0x03, 0x01]).await;
    wait_live(&server, 1).await;
    let begun = Instant::now();
    let shutdown = tokio::spawn(server.shutdown(Duration::from_secs(5)));
    assert_closed_at_once(shutdown, &mut raw, begun).await;
}

#[tokio::test]
async fn a_dropped_running_server_keeps_serving() {
    let (server, addr, _, _) = gate().await;
    drop(server);
    let mut raw = Raw::connect(addr).await;
    let response = raw.roundtrip("GET /x HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(response.status_line, "HTTP/1.1 200 OK");
    assert_eq!(response.body, b"ok");
}
