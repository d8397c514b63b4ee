//! A server written by hand against `AbstractHttpServer`, without the router.
//!
//! ```text
//! cargo run --example custom_server -- --port 8080
//! curl http://127.0.0.1:8080/hello
//! curl -d 'some bytes' http://127.0.0.1:8080/echo
//! curl --raw -H 'TE: trailers' http://127.0.0.1:8080/stream
//! ```

use std::time::Duration;

use postern::http::header::{HeaderName, HeaderValue};
use postern::http::{HeaderMap, StatusCode};
use postern::{AbstractHttpServer, Handled, Method, Request, Responder, Server};

/// Answers four paths itself and declines everything else, so the default
/// missing handler answers 404.
struct Device;

impl AbstractHttpServer for Device {
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

fn port_from_args() -> u16 {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--port" {
            match args.next().map(|p| p.parse()) {
                Some(Ok(port)) => return port,
                _ => {
                    eprintln!("--port takes a number from 0 to 65535");
                    std::process::exit(2);
                }
            }
        }
    }
    0
}

#[tokio::main]
async fn main() -> Result<(), postern::Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "postern=info".into()),
        )
        .init();
    let running = Server::builder()
        .bind_tcp(format!("127.0.0.1:{}", port_from_args()))
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
