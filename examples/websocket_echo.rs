//! WebSocket echo server: Qt HTTP Server's WebSocket upgrade verifiers and pending
//! connections, and a per-route WebSocket handler, on Postern.
//!
//! | path | upgrade request | other requests |
//! |---|---|---|
//! | `/` | accepted by a verifier; the socket is taken from the pending queue and echoes | `WebSocket echo server` |
//! | `/echo` | accepted by a WebSocket route whose handler echoes | the missing handler (404) |
//! | `/private` | denied by a verifier: `401 Private area` | the missing handler (404) |
//! | anything else | every verifier passes: the normal request path (404) | the missing handler (404) |
//!
//! Text and binary messages are echoed as they came; pings are answered by the socket.
//! One HTTP and one HTTPS listener (HTTP/2 through ALPN on the HTTPS one, with WebSockets
//! over extended CONNECT); without `--cert`/`--key` a self-signed certificate for
//! `localhost` and `127.0.0.1` is made at start.
//!
//! ```text
//! cargo run --example websocket_echo -- [--port N] [--tls-port N] [--cert cert.pem --key key.pem]
//!                                       [--max-message-size BYTES]
//! ```
//! `--port 0` (the default) picks any free port. One line per listener,
//! `listening on <url>`, is printed once it accepts connections. Messages up to
//! `--max-message-size` bytes (default 16 MiB, what the WebSocket conformance suite sends)
//! are echoed; a larger one gets close 1009.

use std::path::PathBuf;
use std::time::Duration;

use http::StatusCode;
use postern_core::websocket::{UpgradeResponse, WebSocket, WebSocketConfig, WebSocketUpgrades};
use postern_core::{RunningServer, Server, TlsConfig};
use postern_router::HttpServer;

/// The status a WebSocket upgrade to `/private` is denied with.
pub const PRIVATE_STATUS: StatusCode = StatusCode::UNAUTHORIZED;
/// The message (reason phrase and body) of that denial.
pub const PRIVATE_MESSAGE: &str = "Private area";
/// What `/` answers a request that is not an upgrade.
pub const HOME_PAGE: &str = "WebSocket echo server";
/// The default largest message echoed: 16 MiB.
pub const DEFAULT_MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// The example's server: the verifiers, the `/echo` WebSocket route and the `/` page.
///
/// # Errors
/// A route refused by the router (none is, but registration never panics).
pub fn build_server(max_message_size: usize) -> Result<HttpServer, postern_router::RouteError> {
    let mut server = HttpServer::new();
    server.set_websocket_config(WebSocketConfig::default().max_message_size(max_message_size));
    // Registration order is the order of the chain: `/` and `/private` are decided here,
    // every other path passes on, to the `/echo` route and then the normal request path.
    server.add_websocket_upgrade_verifier(|request| match request.path() {
        "/" => UpgradeResponse::accept(),
        "/private" => UpgradeResponse::deny_with(PRIVATE_STATUS, PRIVATE_MESSAGE),
        _ => UpgradeResponse::pass_to_next(),
    });
    server.websocket_route("/echo", |connection| echo(connection.into_socket()));
    server.route("/", || HOME_PAGE)?;
    Ok(server)
}

/// Echo text and binary messages until the socket closes.
pub async fn echo(mut socket: WebSocket) {
    while let Some(received) = socket.recv().await {
        match received {
            Ok(message) if message.is_data() => {
                if socket.send(message).await.is_err() {
                    break;
                }
            }
            // Pings are answered by the socket itself; pongs and close frames need nothing.
            Ok(_) => {}
            // The socket has sent the close frame the error called for (1002, 1007, 1009):
            // `recv` ends once the client answers it.
            Err(error) => tracing::debug!(%error, "echo socket error"),
        }
    }
}

/// Take the sockets the `/` verifier accepted, as Qt's `nextPendingWebSocketConnection`
/// users do, and echo on each in a task of its own. Runs as long as the hub lives.
pub async fn serve_pending(hub: WebSocketUpgrades) {
    while let Some(connection) = hub.next_connection().await {
        tokio::spawn(echo(connection.into_socket()));
    }
}

/// A self-signed certificate and key (PEM) for `localhost` and `127.0.0.1`.
///
/// # Errors
/// Key generation failed.
pub fn self_signed_pem() -> Result<(String, String), rcgen::Error> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names)?;
    Ok((certified.cert.pem(), certified.signing_key.serialize_pem()))
}

/// Binds `http` (plain) and `https` (TLS with `cert_pem`/`key_pem`, HTTP/2 via ALPN),
/// serves `server` on both and starts taking its pending sockets.
///
/// # Errors
/// Unusable certificate, or an address that cannot be bound.
pub async fn start(
    server: HttpServer,
    http: &str,
    https: &str,
    cert_pem: &str,
    key_pem: &str,
) -> Result<RunningServer, postern_core::Error> {
    let tls = TlsConfig::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?;
    let hub = server.websocket_hub().clone();
    let running = Server::builder()
        .bind_tcp(http)
        .bind_tls(https, tls)
        .serve_abstract(server)
        .await?;
    tokio::spawn(serve_pending(hub));
    Ok(running)
}

/// Command-line options.
struct Options {
    port: u16,
    tls_port: u16,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    max_message_size: usize,
}

const USAGE: &str = "usage: websocket_echo [--port N] [--tls-port N] [--cert cert.pem --key key.pem] [--max-message-size BYTES]";

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        port: 0,
        tls_port: 0,
        cert: None,
        key: None,
        max_message_size: DEFAULT_MAX_MESSAGE,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--port" => options.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--tls-port" => {
                options.tls_port = value()?.parse().map_err(|e| format!("--tls-port: {e}"))?;
            }
            "--cert" => options.cert = Some(value()?.into()),
            "--key" => options.key = Some(value()?.into()),
            "--max-message-size" => {
                options.max_message_size = value()?
                    .parse()
                    .map_err(|e| format!("--max-message-size: {e}"))?;
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}; try --help")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("websocket_echo: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let options = parse_options()?;
    let (cert, key) = match (&options.cert, &options.key) {
        (Some(cert), Some(key)) => (
            std::fs::read_to_string(cert)?,
            std::fs::read_to_string(key)?,
        ),
        (None, None) => self_signed_pem()?,
        _ => return Err("--cert and --key go together".into()),
    };
    let server = build_server(options.max_message_size)?;
    let running = start(
        server,
        &format!("127.0.0.1:{}", options.port),
        &format!("127.0.0.1:{}", options.tls_port),
        &cert,
        &key,
    )
    .await?;
    for listener in running.listeners() {
        println!("listening on {listener}");
    }
    tokio::signal::ctrl_c().await?;
    // Open sockets get close 1001 and 5 s to answer it.
    running.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
