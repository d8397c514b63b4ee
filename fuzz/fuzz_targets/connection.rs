//! `connection`: raw bytes through a whole `postern_core` connection.
//!
//! One `Server` per process (a static current-thread tokio runtime, a TCP
//! listener on 127.0.0.1:0 that nobody uses, an echoing `AbstractHttpServer`,
//! every timeout 200 ms and small size limits so refusals are reachable).
//! Each input is served by `RunningServer::serve_io` on one end of a
//! `tokio::io::duplex` pair, as an accepted TCP connection would be.
//!
//! Input: the first byte picks how the rest is written: `0` all at once,
//! `n > 0` in chunks of `n` bytes with a yield to the server after each (so
//! the parsers see every split point). The write side is then shut down and
//! everything the server sends is read back until it closes.
//!
//! Checks:
//! - no panic anywhere, spawned connection and handler tasks included (a
//!   panic hook aborts the process, which libFuzzer reports as a crash);
//! - the server closes the connection within 5 s of the client's EOF (its
//!   timeouts are 200 ms);
//! - the output is empty, or an HTTP/1 response (`HTTP/1.x NNN `, never 500:
//!   the echo handler always answers), or whole HTTP/2 frames starting with
//!   the server's SETTINGS;
//! - every 64 inputs, a plain `GET / HTTP/1.1` on a fresh duplex is still
//!   answered 200, and connections do not pile up (`live_connections`).
#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::StatusCode;
use libfuzzer_sys::fuzz_target;
use postern_core::config::{SizeLimits, Timeouts};
use postern_core::{
    AbstractHttpServer, Configuration, ConnectionInfo, Handled, Request, Responder, RunningServer,
    Server, Transport,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Echoes the method, the path and the body; `/chunked` streams it back in
/// chunks with a trailer, `/status` answers 204 with no body.
struct Echo;

impl AbstractHttpServer for Echo {
    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        let head = format!("{} {}\n", request.http_method(), request.path());
        match request.path() {
            "/chunked" => {
                let mut writer = responder.begin_chunked_with_mime("text/plain", StatusCode::OK);
                let _ = writer.write_chunk(head).await;
                let mut trailers = http::HeaderMap::new();
                trailers.insert("x-len", request.body().len().into());
                let _ = writer.end_chunked(request.body().clone(), trailers).await;
            }
            "/status" => responder.write_status(StatusCode::NO_CONTENT),
            "/missing" => return Handled::No(responder),
            _ => {
                let mut body = head.into_bytes();
                body.extend_from_slice(request.body());
                responder.write_with_mime(body, "text/plain", StatusCode::OK);
            }
        }
        Handled::Yes
    }
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    server: RunningServer,
}

const PEER: &str = "192.0.2.7:4000";

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        // A panic in a spawned task would only end that task: make every
        // panic a crash libFuzzer sees.
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            default(info);
            std::process::abort();
        }));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let short = Duration::from_millis(200);
        let mut timeouts = Timeouts::default();
        timeouts.keep_alive = short;
        timeouts.first_byte = short;
        timeouts.request_head = short;
        timeouts.tls_handshake = short;
        timeouts.body_idle = short;
        timeouts.write_stall = short;
        let sizes = SizeLimits::default()
            .with_max_url(Some(512))
            .with_max_total_header(Some(2048))
            .with_max_header_field(Some(512))
            .with_max_header_fields(Some(24))
            .with_max_body(Some(2048));
        let configuration = Configuration::default()
            .with_timeouts(timeouts)
            .with_sizes(sizes);
        let server = runtime
            .block_on(
                Server::builder()
                    .configuration(configuration)
                    .bind_tcp("127.0.0.1:0")
                    .serve_abstract(Echo),
            )
            .expect("server starts");
        Harness { runtime, server }
    })
}

/// Serves `input` on a fresh duplex, written in chunks of `chunk` bytes (0:
/// at once), and returns all the server sent until it closed.
async fn exchange(server: &RunningServer, input: &[u8], chunk: usize) -> Vec<u8> {
    let (client, server_side) = tokio::io::duplex(64 * 1024);
    let peer: SocketAddr = PEER.parse().expect("peer");
    server.serve_io(
        server_side,
        ConnectionInfo::new(Transport::Tcp, Some(peer), None, None),
    );
    let (mut read, mut write) = tokio::io::split(client);
    let writer = async move {
        let size = if chunk == 0 {
            input.len().max(1)
        } else {
            chunk
        };
        for piece in input.chunks(size) {
            if write.write_all(piece).await.is_err() {
                break; // the server closed first
            }
            tokio::task::yield_now().await;
        }
        let _ = write.shutdown().await;
    };
    let reader = async move {
        let mut output = Vec::new();
        let _ = read.read_to_end(&mut output).await;
        output
    };
    let ((), output) = tokio::time::timeout(Duration::from_secs(5), async {
        tokio::join!(writer, reader)
    })
    .await
    .expect("the server did not close the connection within 5 s of the client's EOF");
    output
}

fuzz_target!(|data: &[u8]| {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let harness = harness();
    let output = harness
        .runtime
        .block_on(exchange(&harness.server, input, usize::from(mode)));
    check_output(&output);
    if debug() {
        if output.starts_with(b"HTTP/1.") || output.is_empty() {
            eprintln!("{}", String::from_utf8_lossy(&output));
        } else {
            let mut rest = &output[..];
            while rest.len() >= 9 {
                let len =
                    usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
                let stream = u32::from_be_bytes([rest[5], rest[6], rest[7], rest[8]]);
                let payload = &rest[9..(9 + len).min(rest.len())];
                eprintln!(
                    "frame type {} flags {:#x} stream {stream}: {payload:?}",
                    rest[3], rest[4]
                );
                rest = &rest[9 + payload.len()..];
            }
        }
    }

    if RUNS.fetch_add(1, Ordering::Relaxed) % 64 == 63 {
        health_check(harness);
    }
});

fn check_output(output: &[u8]) {
    if output.is_empty() {
        return;
    }
    if output.starts_with(b"HTTP/1.") {
        let line_end = output
            .iter()
            .position(|&b| b == b'\r')
            .unwrap_or(output.len());
        let line = String::from_utf8_lossy(&output[..line_end]);
        let status = line
            .get(9..12)
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or_else(|| panic!("no status in {line:?}"));
        assert!((100..600).contains(&status), "status line {line:?}");
        assert_ne!(status, 500, "500: a responder was dropped ({line:?})");
        return;
    }
    // HTTP/2: whole frames, the first the server's SETTINGS on stream 0.
    let mut rest = output;
    let mut first = true;
    while !rest.is_empty() {
        assert!(
            rest.len() >= 9,
            "a truncated HTTP/2 frame header: {:?}",
            head(output)
        );
        let len = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
        let kind = rest[3];
        let stream = u32::from_be_bytes([rest[5], rest[6], rest[7], rest[8]]) & 0x7fff_ffff;
        if first {
            assert!(
                kind == 4 && stream == 0,
                "output is neither HTTP/1 nor HTTP/2: {:?}",
                head(output)
            );
            first = false;
        }
        assert!(
            rest.len() >= 9 + len,
            "a truncated HTTP/2 frame: {:?}",
            head(output)
        );
        rest = &rest[9 + len..];
    }
}

fn head(output: &[u8]) -> String {
    String::from_utf8_lossy(&output[..output.len().min(64)]).into_owned()
}

fn health_check(harness: &Harness) {
    let output = harness.runtime.block_on(async {
        // Let connections that are closing finish first.
        tokio::time::sleep(Duration::from_millis(1)).await;
        exchange(
            &harness.server,
            b"GET /health HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n",
            0,
        )
        .await
    });
    assert!(
        output.starts_with(b"HTTP/1.1 200 "),
        "the server stopped answering: {:?}",
        head(&output)
    );
    let live = harness.server.live_connections();
    assert!(
        live <= 8,
        "{live} connections still live after their clients left"
    );
}

/// `POSTERN_FUZZ_DEBUG=1`: print what each input did (for reading seeds and
/// crash files with `cargo fuzz run TARGET FILE`).
fn debug() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("POSTERN_FUZZ_DEBUG").is_some())
}
