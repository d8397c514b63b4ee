//! The server the side-by-side benchmark harness measures as the `postern`
//! column: the bench
//! endpoint contract (`GET /`, `GET /user/<id>`, `POST /echo`, `GET /json`)
//! on Postern's server with the default `Configuration`, routed by hand like
//! the raw hyper peer so that the difference is Postern's own cost.
//!
//! ```text
//! cargo build --profile bench-peer --example bench_peer
//! PORT=18080 target/bench-peer/examples/bench_peer
//! POSTERN_LIMITS=all PORT=18080 target/bench-peer/examples/bench_peer   # every limit on
//! POSTERN_ACCESS_LOG=1 PORT=18080 target/bench-peer/examples/bench_peer  # access log on, to a sink
//! PORT=18080 target/bench-peer/examples/bench_peer --access-log           # the same
//! ```

use postern::http::StatusCode;
use postern::limits::config::{SizeLimits, parse_subnet};
use postern::{AbstractHttpServer, Configuration, Handled, Method, Request, Responder, Server};

const TEXT: &str = "text/plain; charset=utf-8";

struct Peer;

impl AbstractHttpServer for Peer {
    async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
        match (request.method(), request.path()) {
            (Method::Get, "/") => responder.write_with_mime("Hello, World!", TEXT, StatusCode::OK),
            (Method::Get, "/json") => responder.write_with_mime(
                r#"{"message":"Hello, World!"}"#,
                "application/json",
                StatusCode::OK,
            ),
            (Method::Post, "/echo") => responder.write_with_mime(
                request.body().clone(),
                "application/octet-stream",
                StatusCode::OK,
            ),
            (Method::Get, path) => match path.strip_prefix("/user/").map(str::parse::<i64>) {
                Some(Ok(id)) => {
                    responder.write_with_mime(format!("user {id}"), TEXT, StatusCode::OK)
                }
                _ => return Handled::No(responder),
            },
            _ => return Handled::No(responder),
        }
        Handled::Yes
    }
}

fn port() -> u16 {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--port" {
            if let Some(Ok(port)) = args.next().map(|p| p.parse()) {
                return port;
            }
            eprintln!("--port takes a number from 0 to 65535");
            std::process::exit(2);
        }
    }
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080)
}

#[tokio::main]
async fn main() -> Result<(), postern::Error> {
    let configuration = match std::env::var("POSTERN_LIMITS").as_deref() {
        // Every protection on, with thresholds a loopback load test never
        // reaches: measures what the checks cost, not what they refuse.
        Ok("all") => Configuration::default()
            .with_sizes(SizeLimits::strict())
            .with_rate_limit_per_second(100_000_000)
            .with_max_connections(10_000)
            .with_max_connections_per_host(1_000)
            .with_allow_list(parse_subnet("127.0.0.0/8")),
        Ok("disabled") => Configuration::disabled(),
        _ => Configuration::default(),
    };
    // The access log's whole cost: events built and formatted, then
    // written nowhere.
    let access_log = std::env::var_os("POSTERN_ACCESS_LOG").is_some()
        || std::env::args().any(|arg| arg == "--access-log");
    if access_log {
        tracing_subscriber::fmt()
            .with_env_filter("postern::access=info")
            .with_writer(std::io::sink)
            .init();
    }
    let running = Server::builder()
        .configuration(configuration.with_access_log(access_log))
        .bind_tcp(format!("127.0.0.1:{}", port()))
        .serve_abstract(Peer)
        .await?;
    for addr in running.listeners() {
        println!("listening on {addr}");
    }
    std::future::pending::<()>().await;
    Ok(())
}
