//! Graceful shutdown under load, a hundred times in a row: four clients
//! keep requests in flight (two over keep-alive HTTP/1, two over h2c with
//! two streams each) while the server shuts down with a short deadline.
//! Every request either gets its whole response (the exact body) or fails
//! with a clean close or connection error before any of its response
//! arrives: never a cut body, never a 200 with a short one.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use postern_core::{AbstractHttpServer, Configuration, Handled, Request, Responder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{get, start_with, within};

/// Rounds of start, load, shutdown.
const ROUNDS: usize = 100;
/// How long each handler works before answering.
const WORK: Duration = Duration::from_millis(3);
/// The shutdown deadline: far longer than any request in flight takes,
/// even on a loaded machine, so that nothing has to be cut and nothing may
/// be. A drained server returns at once, so it costs no time.
const DEADLINE: Duration = Duration::from_secs(5);
/// The body every answer carries: 128 KiB (more than one socket write) of
/// a pattern that a cut or a shift would break.
const BODY_LEN: usize = 128 * 1024;

fn expected_body() -> Bytes {
    (0..BODY_LEN).map(|i| (i % 251) as u8).collect()
}

/// `/work`: waits [`WORK`], then answers [`expected_body`].
#[derive(Clone)]
struct Work {
    body: Bytes,
}

impl AbstractHttpServer for Work {
    async fn handle_request(&self, _: &Request, responder: Responder) -> Handled {
        tokio::time::sleep(WORK).await;
        responder.write(self.body.clone(), HeaderMap::new(), StatusCode::OK);
        Handled::Yes
    }
}

/// What the requests of a round came to.
#[derive(Debug, Default)]
struct Tally {
    /// A 200 with the exact body.
    whole: AtomicUsize,
    /// No response at all: the connection closed, was reset or refused, or
    /// (HTTP/2) the stream was refused, before any of a response.
    failed_cleanly: AtomicUsize,
    /// What must never happen, described.
    broken: std::sync::Mutex<Vec<String>>,
}

impl Tally {
    fn broken(&self, what: String) {
        self.broken.lock().unwrap().push(what);
    }
}

/// One HTTP/1 response read from `stream`: `Ok(Some(bytes))` complete (head
/// and `content-length` bytes), `Ok(None)` if the connection ended before
/// any byte of it, `Err` with what arrived if it ended inside it.
async fn h1_response(stream: &mut TcpStream) -> Result<Option<Vec<u8>>, Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        if let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= head_end + 4 + length {
                return Ok(Some(buf));
            }
        }
        // A reset ends the response as a close does.
        let n = stream.read(&mut chunk).await.unwrap_or_default();
        if n == 0 {
            return if buf.is_empty() { Ok(None) } else { Err(buf) };
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Keep-alive HTTP/1: requests one after another on a connection, a new
/// connection when one ends, until `stop` or until connecting fails.
async fn h1_client(addr: SocketAddr, tally: Arc<Tally>, stop: Arc<AtomicBool>) {
    let body = expected_body();
    'connections: while !stop.load(Ordering::SeqCst) {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            return; // The listener is gone.
        };
        while !stop.load(Ordering::SeqCst) {
            if stream
                .write_all(b"GET /work HTTP/1.1\r\nHost: a\r\n\r\n")
                .await
                .is_err()
            {
                tally.failed_cleanly.fetch_add(1, Ordering::SeqCst);
                continue 'connections;
            }
            match within("an HTTP/1 response", h1_response(&mut stream)).await {
                Ok(Some(bytes)) => {
                    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
                    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
                    if !head.starts_with("HTTP/1.1 200 OK\r\n") || bytes[head_end + 4..] != body[..]
                    {
                        tally.broken(format!(
                            "HTTP/1: {head:?} with {} body bytes",
                            bytes.len() - head_end - 4
                        ));
                        return;
                    }
                    tally.whole.fetch_add(1, Ordering::SeqCst);
                    if head.to_ascii_lowercase().contains("connection: close") {
                        continue 'connections;
                    }
                }
                Ok(None) => {
                    tally.failed_cleanly.fetch_add(1, Ordering::SeqCst);
                    continue 'connections;
                }
                Err(partial) => {
                    tally.broken(format!(
                        "HTTP/1: the connection ended inside a response, after {} bytes: {:?}",
                        partial.len(),
                        String::from_utf8_lossy(&partial[..partial.len().min(200)])
                    ));
                    return;
                }
            }
        }
    }
}

/// h2c: two streams at a time on a connection, a new connection when one
/// ends, until `stop` or until connecting fails.
async fn h2_client(addr: SocketAddr, tally: Arc<Tally>, stop: Arc<AtomicBool>) {
    let body = expected_body();
    while !stop.load(Ordering::SeqCst) {
        let Ok(tcp) = TcpStream::connect(addr).await else {
            return;
        };
        let Ok((send, conn)) =
            hyper::client::conn::http2::handshake::<_, _, http_body_util::Full<Bytes>>(
                hyper_util::rt::TokioExecutor::new(),
                hyper_util::rt::TokioIo::new(tcp),
            )
            .await
        else {
            tally.failed_cleanly.fetch_add(1, Ordering::SeqCst);
            continue;
        };
        let conn = tokio::spawn(conn);
        let streams: Vec<_> = (0..2)
            .map(|_| {
                let mut send = send.clone();
                let tally = Arc::clone(&tally);
                let stop = Arc::clone(&stop);
                let body = body.clone();
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let response = match within(
                            "an HTTP/2 response",
                            send.send_request(get("http://a/work")),
                        )
                        .await
                        {
                            Ok(response) => response,
                            Err(_) => {
                                // Refused stream, GOAWAY, closed connection:
                                // no response at all.
                                tally.failed_cleanly.fetch_add(1, Ordering::SeqCst);
                                return;
                            }
                        };
                        let status = response.status();
                        let collected = within("an HTTP/2 body", response.into_body().collect())
                            .await
                            .map(|c| c.to_bytes());
                        match collected {
                            Ok(got) if status == 200 && got == body => {
                                tally.whole.fetch_add(1, Ordering::SeqCst);
                            }
                            Ok(got) => {
                                tally.broken(format!(
                                    "HTTP/2: {status} with {} body bytes",
                                    got.len()
                                ));
                                return;
                            }
                            Err(error) => {
                                tally.broken(format!(
                                    "HTTP/2: {status}, then the body failed: {error}"
                                ));
                                return;
                            }
                        }
                    }
                })
            })
            .collect();
        drop(send);
        for stream in streams {
            within("an HTTP/2 client stream", stream)
                .await
                .expect("the stream task");
        }
        let _ = within("the HTTP/2 connection to end", conn).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_under_load_never_cuts_a_response() {
    let started = Instant::now();
    let mut whole = 0;
    let mut failed = 0;
    for round in 0..ROUNDS {
        let work = Work {
            body: expected_body(),
        };
        let (server, addr) = start_with(Configuration::default(), work).await;
        let tally = Arc::new(Tally::default());
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..4)
            .map(|i| {
                let (tally, stop) = (Arc::clone(&tally), Arc::clone(&stop));
                if i % 2 == 0 {
                    tokio::spawn(h1_client(addr, tally, stop))
                } else {
                    tokio::spawn(h2_client(addr, tally, stop))
                }
            })
            .collect();
        // Let the load build up: some answers in, more in flight.
        within("the first answers", async {
            while tally.whole.load(Ordering::SeqCst) < 8 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        let report = within("shutdown", server.shutdown(DEADLINE)).await;
        stop.store(true, Ordering::SeqCst);
        for client in clients {
            within("a client to finish", client)
                .await
                .expect("the client task");
        }
        let broken = tally.broken.lock().unwrap().clone();
        assert_eq!(broken, Vec::<String>::new(), "round {round}");
        assert_eq!(report.cut, 0, "round {round}: nothing had to be cut");
        assert!(report.drained, "round {round}");
        whole += tally.whole.load(Ordering::SeqCst);
        failed += tally.failed_cleanly.load(Ordering::SeqCst);
    }
    eprintln!(
        "{ROUNDS} shutdowns in {:?}: {whole} whole responses, {failed} clean failures",
        started.elapsed()
    );
}
