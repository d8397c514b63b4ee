//! The axum column of bench/websocket.sh: a WebSocket echo server written the
//! way an axum 0.8 user writes one (`WebSocketUpgrade`, tokio-tungstenite
//! underneath), echoing text and binary messages on `/` and `/echo`.
//!
//! ```text
//! axum_ws_echo --port 0      # prints `listening on http://127.0.0.1:PORT`
//! ```

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::any;
use axum::serve::ListenerExt;

async fn upgrade(ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(echo)
}

async fn echo(mut socket: WebSocket) {
    while let Some(Ok(message)) = socket.recv().await {
        let reply = match message {
            Message::Text(_) | Message::Binary(_) => message,
            // axum answers pings itself; a close ends the loop on the next recv.
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => continue,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}

fn port() -> u16 {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--port" {
            if let Some(port) = args.next().and_then(|p| p.parse().ok()) {
                return port;
            }
            eprintln!("--port needs a number from 0 to 65535");
            std::process::exit(2);
        }
    }
    0
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app = Router::new()
        .route("/", any(upgrade))
        .route("/echo", any(upgrade));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port())).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await
}
