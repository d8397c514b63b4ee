//! An axum app protected by postern-limits' layers directly, without Postern's
//! server: connection caps per client host, an IP deny list, a request rate
//! per client and size limits, all from one `Limits` value.
//!
//! ```text
//! cargo run --example axum_limits -- --port 8080   # 0 = any free port
//! curl -i http://127.0.0.1:8080/
//! curl -i http://127.0.0.1:8080/$(head -c 9000 /dev/zero | tr '\0' a)   # 414
//! curl -i --data-binary @big.file http://127.0.0.1:8080/echo            # 413 over 1 MiB
//! ```
//!
//! Two pieces are needed for axum:
//! - `LimitsLayer` (IP filter → rate → sizes) goes on the `Router`, with a peer
//!   accessor reading axum's `ConnectInfo<SocketAddr>`;
//! - `ConnectionLimitLayer` wraps the make-service from
//!   `into_make_service_with_connect_info`, counting connections (not requests).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Router;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use axum::serve::IncomingStream;
use postern_limits::config::{IpFilter, Limits, parse_subnet};
use postern_limits::connections::{ConnectionLimitLayer, ConnectionLimiter};
use postern_limits::stack::LimitsLayer;
use tokio::net::TcpListener;
use tower::Layer;

/// The peer address as axum records it (needs `into_make_service_with_connect_info`).
fn axum_peer(extensions: &http::Extensions) -> Option<SocketAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0)
}

/// The client of a new connection, for the connection caps.
fn connection_peer(stream: &IncomingStream<'_, TcpListener>) -> Option<IpAddr> {
    Some(stream.remote_addr().ip())
}

/// `Limits::strict()` (10,000 connections, 64 per host, 100 requests per
/// second per client, 8 KiB URLs, 1 MiB bodies …) plus a deny list.
///
/// For clients connecting directly: the per-host connection cap counts the
/// peer address, so behind a reverse proxy it would cap the proxy as a whole.
/// There, set `limits.connections.max_per_host = 0`, list the proxy in
/// `limits.client_ip.trusted_proxies` and let the rate limit, which uses the
/// forwarded client IP, do the per-client work.
pub(crate) fn example_limits() -> Limits {
    let mut limits = Limits::strict();
    limits.ip_filter = IpFilter::default().with_deny(
        ["192.0.2.0/24", "2001:db8::/32"]
            .into_iter()
            .filter_map(|subnet| parse_subnet(subnet).ok()),
    );
    limits
}

/// The routes, behind the request-level limits.
pub(crate) fn app(limits: &Limits) -> Router {
    Router::new()
        .route("/", get(|| async { "hello from behind postern-limits\n" }))
        .route("/echo", post(|body: Bytes| async move { body }))
        .layer(LimitsLayer::new(limits).with_peer_accessor(axum_peer))
}

/// Serve `app(limits)` on `listener` with the connection caps of `limits`.
pub(crate) async fn serve(listener: TcpListener, limits: &Limits) -> std::io::Result<()> {
    let limiter = ConnectionLimiter::new(limits.connections);
    let make_service = ConnectionLimitLayer::new(limiter, connection_peer)
        .layer(app(limits).into_make_service_with_connect_info::<SocketAddr>());
    axum::serve(listener, make_service).await
}

/// `--port N` or `--port=N` from the arguments; 0 (any free port) by default.
pub(crate) fn port_from_args(args: impl IntoIterator<Item = String>) -> Result<u16, String> {
    let mut args = args.into_iter();
    let mut port = 0;
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--port") {
            Some("") => args.next(),
            Some(rest) if rest.starts_with('=') => Some(rest[1..].to_owned()),
            _ => {
                return Err(format!(
                    "unknown argument {arg:?}; usage: axum_limits [--port N]"
                ));
            }
        };
        let value = value.ok_or("--port needs a number")?;
        port = value
            .parse()
            .map_err(|_| format!("--port {value:?} is not a port number (0 = any)"))?;
    }
    Ok(port)
}

#[allow(dead_code)] // the tests include this file for its functions, not main
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = match port_from_args(std::env::args().skip(1)) {
        Ok(port) => port,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener, &example_limits()).await
}
