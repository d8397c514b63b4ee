//! A server written by hand against `AbstractHttpServer`, without the router.
//!
//! ```text
//! cargo run --example custom_server -- --port 8080
//! curl http://127.0.0.1:8080/hello
//! curl -d 'some bytes' http://127.0.0.1:8080/echo
//! curl -T big.iso http://127.0.0.1:8080/upload     # streamed: counts the bytes
//! curl --raw -H 'TE: trailers' http://127.0.0.1:8080/stream
//! ```

use std::time::Duration;

use postern::http::header::{HeaderName, HeaderValue};
use postern::http::{HeaderMap, StatusCode};
use postern::{
    AbstractHttpServer, BodyPolicy, Configuration, Handled, Method, Request, Responder, Server,
};

/// Answers five paths itself and declines everything else, so the default
/// missing handler answers 404.
struct Device;

impl AbstractHttpServer for Device {
    /// Only `/echo` reads its body whole and only `/upload` streams it: any
    /// other body is never held in memory, so no client can fill it with
    /// uploads to paths that do not want them; those requests are answered
    /// from the head alone, so their bodies are not even read.
    fn body_policy(&self, request: &Request) -> BodyPolicy {
        match (request.method(), request.path()) {
            (Method::Post, "/echo") => BodyPolicy::Buffer,
            (Method::Post | Method::Put, "/upload") => BodyPolicy::Stream,
            _ => BodyPolicy::Ignore,
        }
    }

    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        match (request.method(), request.path()) {
            (Method::Get, "/hello") => responder.write_with_mime(
                "Hello from a custom server\n",
                "text/plain",
                StatusCode::OK,
            ),
            (Method::Post, "/echo") => responder.write_with_mime(
                request.body().clone(),
                "application/octet-stream",
                StatusCode::OK,
            ),
            (Method::Post | Method::Put, "/upload") => {
                // Read chunk by chunk: memory stays flat whatever the size.
                let Some(mut body) = request.body_stream() else {
                    responder.write_status(StatusCode::BAD_REQUEST);
                    return Handled::Yes;
                };
                let mut bytes: u64 = 0;
                while let Some(chunk) = body.chunk().await {
                    match chunk {
                        Ok(chunk) => bytes += chunk.len() as u64,
                        Err(error) => {
                            let status = if error.is_too_large() {
                                StatusCode::PAYLOAD_TOO_LARGE
                            } else if error.is_timed_out() {
                                StatusCode::REQUEST_TIMEOUT
                            } else {
                                StatusCode::BAD_REQUEST
                            };
                            responder.write_status(status);
                            return Handled::Yes;
                        }
                    }
                }
                responder.write_with_mime(format!("{bytes}\n"), "text/plain", StatusCode::OK);
            }
            (Method::Get, "/stream") => {
                // Stream from a task of its own; the response ends with a trailer.
                tokio::spawn(async move {
                    let checksum = HeaderName::from_static("x-chunk-count");
                    let mut writer = responder.begin_chunked_with_trailers(
                        HeaderMap::new(),
                        std::slice::from_ref(&checksum),
                        StatusCode::OK,
                    );
                    for i in 0..3 {
                        if writer.write_chunk(format!("chunk {i}\n")).await.is_err() {
                            return; // the client left
                        }
                    }
                    let mut trailers = HeaderMap::new();
                    trailers.insert(checksum, HeaderValue::from_static("3"));
                    let _ = writer.end_chunked("done\n", trailers).await;
                });
            }
            (Method::Get, "/slow") => {
                let millis = request
                    .query_value("ms")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1000u64);
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(millis)).await;
                    responder.write_with_mime("slow answer\n", "text/plain", StatusCode::OK);
                });
            }
            _ => return Handled::No(responder),
        }
        Handled::Yes
    }
}

/// `--port N` (default 0: any free port) and `--max-body BYTES` (default
/// Qt's 32 MiB; 0 for no limit, for large uploads to `/upload`).
fn args() -> (u16, Option<u64>) {
    let mut port = 0;
    let mut max_body = Some(32 * 1024 * 1024);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().map(|v| v.parse::<u64>());
        match (arg.as_str(), value) {
            ("--port", Some(Ok(p))) if p <= u64::from(u16::MAX) => port = p as u16,
            ("--max-body", Some(Ok(0))) => max_body = None,
            ("--max-body", Some(Ok(bytes))) => max_body = Some(bytes),
            _ => {
                eprintln!("usage: custom_server [--port 0-65535] [--max-body BYTES (0: no limit)]");
                std::process::exit(2);
            }
        }
    }
    (port, max_body)
}

#[tokio::main]
async fn main() -> Result<(), postern::Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "postern=info".into()),
        )
        .init();
    let (port, max_body) = args();
    let mut configuration = Configuration::default();
    configuration.limits.sizes.max_body = max_body;
    let running = Server::builder()
        .configuration(configuration)
        .bind_tcp(format!("127.0.0.1:{port}"))
        .serve_abstract(Device)
        .await?;
    for addr in running.listeners() {
        println!("listening on {addr}");
    }
    let _ = tokio::signal::ctrl_c().await;
    let report = running.shutdown(Duration::from_secs(5)).await;
    println!("stopped; {} connection(s) cut", report.cut);
    Ok(())
}
