//! Helpers shared by the root package's integration test binaries
//! (`tests/core`, `tests/core_refusal_cap.rs`, `tests/examples`): bounded
//! waits, the one HTTP/1 response parser and raw client ([`http1`]), the one
//! way to start a server ([`servers`]), clients ([`clients`]), and a
//! general-purpose test server.
//!
//! Every helper that waits is bounded by [`LIMIT`].

// Each test binary uses a different subset of these helpers.
#![allow(dead_code, unused_imports)]

mod clients;
pub(crate) mod h2frames;
mod http1;
mod servers;

use std::fmt::Display;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use postern_core::config::Timeouts;
use postern_core::{AbstractHttpServer, Configuration, Handled, Request, Responder};

pub(crate) use clients::*;
pub(crate) use http1::*;
pub(crate) use servers::*;

/// The longest any single client step may take before the test fails.
pub(crate) const LIMIT: Duration = Duration::from_secs(10);

/// Await `future`, failing the test if it takes longer than [`LIMIT`].
pub(crate) async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: nothing within {LIMIT:?}"),
    }
}

/// Logs to the test output when `RUST_LOG` is set (`RUST_LOG=postern=debug`).
pub(crate) fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Names the table case run while it is alive: when the case fails, the
/// test's output says which (`let _case = case(name);` at the top of the
/// loop body).
pub(crate) fn case(name: impl Display) -> Case {
    Case(name.to_string())
}

/// See [`case`].
#[derive(Debug)]
pub(crate) struct Case(String);

impl Drop for Case {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("^ in case: {}", self.0);
        }
    }
}

/// The default configuration with its timeouts changed by `change`.
pub(crate) fn with_timeouts(change: impl FnOnce(&mut Timeouts)) -> Configuration {
    let mut timeouts = Timeouts::default();
    change(&mut timeouts);
    Configuration::default().with_timeouts(timeouts)
}

/// A fresh directory under the system temp dir, for Unix sockets.
pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("postern-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Answers a few fixed paths and declines the rest (so the default missing
/// handler answers 404):
///
/// - `/hello`: `hello`, `content-type: text/plain`, `x-test: yes`
/// - `/echo`: the request body, `x-method: <method>`
/// - `/info`: [`facts`] as JSON
/// - `/slow?ms=N`: `slow N` after N ms, written from a spawned task
/// - `/drop`: drops the responder without writing
/// - `/stream`: three chunks then `done\n` and trailer `x-chunk-count: 3`,
///   announced with `trailer: x-chunk-count`
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TestServer;

impl AbstractHttpServer for TestServer {
    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        match request.path() {
            "/hello" => {
                let mut headers = HeaderMap::new();
                headers.insert("content-type", HeaderValue::from_static("text/plain"));
                headers.insert("x-test", HeaderValue::from_static("yes"));
                responder.write("hello", headers, StatusCode::OK);
            }
            "/echo" => {
                let mut headers = HeaderMap::new();
                headers.insert(
                    "x-method",
                    HeaderValue::from_str(request.http_method().as_str()).expect("method"),
                );
                responder.write(request.body().clone(), headers, StatusCode::OK);
            }
            "/info" => responder.write_json(&facts(request), StatusCode::OK),
            "/slow" => {
                let ms: u64 = request
                    .query_value("ms")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(500);
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    responder.write_with_mime(format!("slow {ms}"), "text/plain", StatusCode::OK);
                });
            }
            "/drop" => drop(responder),
            "/stream" => {
                tokio::spawn(async move {
                    let name = HeaderName::from_static("x-chunk-count");
                    let mut writer = responder.begin_chunked_with_trailers(
                        HeaderMap::new(),
                        std::slice::from_ref(&name),
                        StatusCode::OK,
                    );
                    for i in 0..3 {
                        if writer.write_chunk(format!("chunk {i}\n")).await.is_err() {
                            return;
                        }
                    }
                    let mut trailers = HeaderMap::new();
                    trailers.insert(name, HeaderValue::from_static("3"));
                    let _ = writer.end_chunked("done\n", trailers).await;
                });
            }
            _ => return Handled::No(responder),
        }
        Handled::Yes
    }
}

/// What the handler saw of a request, as JSON (the `/info` body).
pub(crate) fn facts(request: &Request) -> serde_json::Value {
    let tls = request.tls();
    serde_json::json!({
        "method": request.http_method().as_str(),
        "version": format!("{:?}", request.version()),
        "url": request.url(),
        "path": request.path(),
        "host": request.host(),
        "query": request.query_pairs(),
        "remote": request.remote_addr().map(|a| a.to_string()),
        "local": request.local_addr().map(|a| a.to_string()),
        "transport": format!("{:?}", request.connection().transport()),
        "scheme": request.scheme(),
        "alpn": tls.and_then(|t| t.alpn.as_deref()).map(|a| String::from_utf8_lossy(a).into_owned()),
        "sni": tls.and_then(|t| t.sni.clone()),
        "tls_version": tls.and_then(|t| t.protocol_version.clone()),
        "x_multi": request.value("x-multi"),
        "body": String::from_utf8_lossy(request.body()),
    })
}
