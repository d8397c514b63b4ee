//! WebSocket upgrades (Qt's `addWebSocketUpgradeVerifier` and pending
//! connections), on the `ws` cargo feature (on by default).
//!
//! A server exposes a [`WebSocketUpgrades`] hub through
//! [`AbstractHttpServer::websocket_upgrades`](crate::AbstractHttpServer::websocket_upgrades)
//! (`postern_router::HttpServer` has one built in). Its verifiers decide on
//! each upgrade request in registration order; an accepted socket reaches
//! the application through the hub's queue (Qt's
//! `nextPendingWebSocketConnection`), its [`connections`](WebSocketUpgrades::connections)
//! `Stream`, or a route's handler.
//!
//! ```no_run
//! use postern_core::websocket::{UpgradeResponse, WebSocketUpgrades};
//! use postern_core::{AbstractHttpServer, Handled, HttpService, Request, Responder, Server};
//!
//! struct Chat {
//!     upgrades: WebSocketUpgrades,
//! }
//!
//! impl AbstractHttpServer for Chat {
//!     async fn handle_request(&self, _: &Request, responder: Responder) -> Handled {
//!         Handled::No(responder)
//!     }
//!     fn websocket_upgrades(&self) -> Option<&WebSocketUpgrades> {
//!         Some(&self.upgrades)
//!     }
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), postern_core::Error> {
//!     let upgrades = WebSocketUpgrades::new();
//!     upgrades.add_websocket_upgrade_verifier(|request| match request.path() {
//!         "/chat" => UpgradeResponse::accept(),
//!         "/private" => UpgradeResponse::deny_with(http::StatusCode::UNAUTHORIZED, "Log in first"),
//!         _ => UpgradeResponse::pass_to_next(), // the normal request path
//!     });
//!     let running = Server::builder()
//!         .bind_tcp("127.0.0.1:0")
//!         .serve(HttpService::new(Chat { upgrades: upgrades.clone() }))
//!         .await?;
//!     println!("listening on {}", running.listeners()[0]);
//!     while let Some(connection) = upgrades.next_connection().await {
//!         let (request, mut socket) = connection.into_parts();
//!         tokio::spawn(async move {
//!             tracing::info!(peer = ?request.remote_addr(), "chat joined");
//!             while let Some(Ok(message)) = socket.recv().await {
//!                 if message.is_data() && socket.send(message).await.is_err() {
//!                     break;
//!                 }
//!             }
//!         });
//!     }
//!     Ok(())
//! }
//! ```
//!
//! # Limits
//! The upgrade request passes the server's limits like any request (IP
//! allow/deny 403, rate 429, sizes) before a verifier sees it, and the
//! upgraded connection counts against the connection caps until its socket
//! is dropped. [`WebSocketConfig`] bounds the socket itself (message size,
//! `Origin`, idle pings, outgoing buffer, and a deadline on every wait);
//! its table lists the defaults.
//!
//! # HTTP/2
//! HTTP/2 connections offer extended `CONNECT` (RFC 8441) when the hub has
//! a verifier or route when the connection opens, and only then: a browser
//! that sees the offer does not fall back to HTTP/1.1. Over TLS it works the
//! same, with `h2` or `http/1.1` chosen by ALPN.
//!
//! # Shutdown
//! [`RunningServer::shutdown`](crate::RunningServer::shutdown) sends close
//! 1001 to every socket being read and waits, within its deadline, for the
//! close handshakes; the sockets count as live connections until dropped.
//! Sockets still waiting in the queue are closed with 1001 by the hub, so
//! they too end within the deadline.
//!
//! # Sockets nobody takes
//! A queued socket is not read, so the hub watches it until the application
//! takes it: at shutdown, or once it has waited
//! [`idle_timeout`](WebSocketConfig::idle_timeout) in the queue, the hub
//! takes it back and closes it with 1001, freeing its connection's place in
//! the caps (see [`WebSocketUpgrades::next_pending_websocket_connection`]).
//!
//! # Differences from Qt HTTP Server
//! - The limits apply before the upgrade (Qt skips them), and HTTP/2
//!   extended `CONNECT` is served (Qt speaks WebSocket over HTTP/1 only).
//! - A denial carries its message as the HTTP/1 reason phrase (as Qt) and
//!   also as a `text/plain` body, with `content-length` (Qt sends no header
//!   and no body; HTTP/2 has no reason phrase). A status below 400 is sent
//!   as 403.
//! - Accepted sockets wait in a bounded queue
//!   ([`max_pending_connections`](WebSocketConfig::max_pending_connections),
//!   then 503); Qt falls back to the missing handler when nothing listens
//!   for new connections, which Rust cannot tell.
//! - An accepted request with a bad key gets 400, a version other than 13
//!   gets 426 with `Sec-WebSocket-Version: 13`; Qt leaves that to
//!   QWebSocketServer.
//! - An upgrade request no verifier accepts or denies is an ordinary
//!   request: [`handle_request`](crate::AbstractHttpServer::handle_request)
//!   (the router's rules) may answer it, and only a declined one gets the
//!   missing handler (Qt sends it straight to the missing handler). Either
//!   way the connection stays open for more HTTP requests (Qt disconnects
//!   after it): a refused upgrade leaves HTTP/1.1 usable.
//! - Accepted sockets left in the queue are closed with 1001 after
//!   [`idle_timeout`](WebSocketConfig::idle_timeout) or at shutdown; Qt
//!   keeps them until the application takes them.
//! - No subprotocol (`Sec-WebSocket-Protocol`) or extension (compression)
//!   is negotiated.

mod config;
mod error;
pub(crate) mod handshake;
mod hub;
mod message;
mod socket;

pub use config::WebSocketConfig;
pub use error::WebSocketError;
pub(crate) use hub::Decision;
pub use hub::{WebSocketConnection, WebSocketConnections, WebSocketUpgrades};
pub use message::{CloseCode, Message, MessageKind};
pub use socket::WebSocket;

use http::StatusCode;

/// What a verifier answers (Qt's `QHttpServerWebSocketUpgradeResponse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpgradeResponseType {
    /// Upgrade.
    Accept,
    /// Refuse with the response's status and message.
    Deny,
    /// Leave it to the next verifier (after the last: the normal request
    /// path).
    PassToNext,
}

/// A verifier's answer to an upgrade request; made only through its
/// constructors.
///
/// ```
/// use http::StatusCode;
/// use postern_core::websocket::{UpgradeResponse, UpgradeResponseType};
///
/// let denied = UpgradeResponse::deny();
/// assert_eq!(denied.response_type(), UpgradeResponseType::Deny);
/// assert_eq!(denied.deny_status(), StatusCode::FORBIDDEN);
/// assert_eq!(denied.deny_message(), "Forbidden");
///
/// let custom = UpgradeResponse::deny_with(StatusCode::UNAUTHORIZED, "Log in first");
/// assert_eq!(custom.deny_status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(custom.deny_message(), "Log in first");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UpgradeResponse {
    response_type: UpgradeResponseType,
    status: StatusCode,
    message: std::borrow::Cow<'static, str>,
}

impl UpgradeResponse {
    /// Accept the upgrade.
    pub fn accept() -> Self {
        UpgradeResponse {
            response_type: UpgradeResponseType::Accept,
            status: StatusCode::FORBIDDEN,
            message: "Forbidden".into(),
        }
    }

    /// Deny with 403 `Forbidden`.
    pub fn deny() -> Self {
        UpgradeResponse {
            response_type: UpgradeResponseType::Deny,
            status: StatusCode::FORBIDDEN,
            message: "Forbidden".into(),
        }
    }

    /// Deny with `status` and `message` (the HTTP/1 reason phrase and the
    /// body). A status below 400 is sent as 403; a message that cannot be a
    /// reason phrase (control characters) goes in the body only, after the
    /// standard phrase.
    pub fn deny_with(status: StatusCode, message: impl Into<String>) -> Self {
        UpgradeResponse {
            response_type: UpgradeResponseType::Deny,
            status: if status.as_u16() < 400 {
                StatusCode::FORBIDDEN
            } else {
                status
            },
            message: message.into().into(),
        }
    }

    /// Leave the request to the next verifier.
    pub fn pass_to_next() -> Self {
        UpgradeResponse {
            response_type: UpgradeResponseType::PassToNext,
            status: StatusCode::FORBIDDEN,
            message: "Forbidden".into(),
        }
    }

    /// The answer.
    pub fn response_type(&self) -> UpgradeResponseType {
        self.response_type
    }

    /// The status of a denial (403 unless set).
    pub fn deny_status(&self) -> StatusCode {
        self.status
    }

    /// The message of a denial (`Forbidden` unless set).
    pub fn deny_message(&self) -> &str {
        &self.message
    }
}
