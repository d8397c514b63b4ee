//! Attacks, black-box over raw TCP and raw HTTP/2 frames (spec/security.md
//! §2): each test asserts the one exact outcome (the status line and header
//! fields of any answer, or exactly which frames, or a close without a
//! byte, within a bound derived from the configured timeout), and that a
//! normal client on another connection is served while the attack runs.
//!
//! - [`http1`]: slow request bodies, slow readers, slowloris, smuggling
//!   shapes, keep-alive fields;
//! - [`http2`]: a client that never opens its windows, slow bodies, rapid
//!   reset, CONTINUATION and HPACK bombs, PING and SETTINGS floods;
//! - [`sizes`]: heads and bodies at and one byte past each limit of
//!   `SizeLimits::strict()` and the default, over HTTP/1 and HTTP/2;
//! - [`alpn`]: TLS connections whose bytes contradict their ALPN.
//!
//! Timeouts are configured in hundreds of milliseconds, so the module runs
//! in seconds.

mod alpn;
mod http1;
mod http2;
mod sizes;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use postern_core::config::Timeouts;
use postern_core::{AbstractHttpServer, BodyPolicy, Configuration, Handled, Request, Responder};

use crate::support::{Raw, RawResponse, Running, start_with};

/// The longest a whole test may take.
const TEST_LIMIT: Duration = Duration::from_secs(30);

/// Slack on top of a configured timeout for a close to count as on time:
/// the watchdog fires within 1.25 times a timeout, and machines are noisy.
const SLACK: Duration = Duration::from_secs(1);

/// Long enough never to fire during a test.
const LONG: Duration = Duration::from_secs(60);

/// The 32 MiB answer of `/big`.
const BIG: usize = 32 * 1024 * 1024;

/// Run a test body, failing if it takes longer than [`TEST_LIMIT`].
async fn bounded(test: impl Future<Output = ()>) {
    if tokio::time::timeout(TEST_LIMIT, test).await.is_err() {
        panic!("the test did not finish within {TEST_LIMIT:?}");
    }
}

/// The attacked server. Counts every call but `/normal`'s:
///
/// - `/normal`: `normal` (the bystander's request);
/// - `/hello`: `hello`;
/// - `/echo`: the request body;
/// - `/len`: the request body's length, as text;
/// - `/big`: 32 MiB of `x` as one body;
/// - `/big-chunks`: the same 32 MiB streamed in 64 KiB chunks;
/// - `/ignore`: `ignored`, its body discarded unkept ([`BodyPolicy::Discard`]).
#[derive(Debug, Clone, Default)]
struct Target {
    calls: Arc<AtomicUsize>,
}

impl AbstractHttpServer for Target {
    fn body_policy(&self, request: &Request) -> BodyPolicy {
        if request.path() == "/ignore" {
            BodyPolicy::Discard
        } else {
            BodyPolicy::Buffer
        }
    }

    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        if request.path() != "/normal" {
            self.calls.fetch_add(1, Ordering::SeqCst);
        }
        let text = |responder: Responder, body: String| {
            responder.write_with_mime(body, "text/plain", StatusCode::OK);
        };
        match request.path() {
            "/normal" => text(responder, "normal".to_owned()),
            "/hello" => text(responder, "hello".to_owned()),
            "/ignore" => text(responder, "ignored".to_owned()),
            "/echo" => responder.write(request.body().clone(), HeaderMap::new(), StatusCode::OK),
            "/len" => text(responder, request.body().len().to_string()),
            "/big" => responder.write(
                Bytes::from(vec![b'x'; BIG]),
                HeaderMap::new(),
                StatusCode::OK,
            ),
            "/big-chunks" => {
                let mut writer = responder.begin_chunked(HeaderMap::new(), StatusCode::OK);
                tokio::spawn(async move {
                    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
                    for _ in 0..BIG / chunk.len() {
                        if writer.write_chunk(chunk.clone()).await.is_err() {
                            return;
                        }
                    }
                    let _ = writer.end_chunked("", HeaderMap::new()).await;
                });
            }
            _ => return Handled::No(responder),
        }
        Handled::Yes
    }
}

/// A [`Target`] served on 127.0.0.1:0.
struct Attacked {
    server: Running,
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
}

impl Attacked {
    async fn start(configuration: Configuration) -> Attacked {
        let target = Target::default();
        let calls = Arc::clone(&target.calls);
        let (server, addr) = start_with(configuration, target).await;
        Attacked {
            server,
            addr,
            calls,
        }
    }

    /// Calls of the handler so far, the bystander's not counted.
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// A bystander on its own connection: `GET /normal` with `Connection:
    /// close` gets exactly `200` and `normal`, then the close.
    async fn assert_bystander_served(&self) {
        assert_bystander_served(self.addr).await;
    }
}

/// See [`Attacked::assert_bystander_served`].
async fn assert_bystander_served(addr: SocketAddr) {
    let mut raw = Raw::connect(addr).await;
    raw.send("GET /normal HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .await;
    let response = RawResponse::parse(&raw.eof().await);
    assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{response:?}");
    assert_eq!(
        response.headers_but_date(),
        [
            ("connection", "close"),
            ("content-length", "6"),
            ("content-type", "text/plain"),
        ]
    );
    assert_eq!(response.body, b"normal");
}

/// The default timeouts with `change` applied.
fn timeouts(change: impl FnOnce(&mut Timeouts)) -> Configuration {
    let mut timeouts = Timeouts::default();
    change(&mut timeouts);
    Configuration::default().with_timeouts(timeouts)
}

/// Every timeout [`LONG`] and no minimum rates, then `change` applied: only
/// what a test sets can fire.
fn only(change: impl FnOnce(&mut Timeouts)) -> Configuration {
    timeouts(|t| {
        *t = Timeouts::disabled();
        t.keep_alive = LONG;
        t.first_byte = LONG;
        t.request_head = LONG;
        t.tls_handshake = LONG;
        t.body_idle = LONG;
        t.write_stall = LONG;
        change(t);
    })
}

/// Assert that `elapsed` is no more than `configured` + [`SLACK`] and no
/// less than 0.9 × `configured` (a close before its timeout is a bug too).
fn assert_on_time(elapsed: Duration, configured: Duration, what: &str) {
    assert!(
        elapsed >= configured.mul_f32(0.9),
        "{what}: after {elapsed:?}, before the configured {configured:?}"
    );
    assert!(
        elapsed <= configured + SLACK,
        "{what}: only after {elapsed:?} (configured {configured:?})"
    );
}
