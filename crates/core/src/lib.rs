//! Postern's foundation: the [`AbstractHttpServer`] trait, [`Request`],
//! [`Response`], [`Responder`], [`Configuration`], and a [`Server`] serving
//! HTTP/1.0, 1.1 and 2 over TCP, TLS and Unix sockets through hyper.
//!
//! ```no_run
//! use http::StatusCode;
//! use postern_core::{AbstractHttpServer, Handled, HttpService, Request, Responder, Server};
//!
//! struct Device;
//!
//! impl AbstractHttpServer for Device {
//!     async fn handle_request(&self, request: &Request, responder: Responder) -> Handled {
//!         match request.path() {
//!             "/status" => responder.write_with_mime("ok", "text/plain", StatusCode::OK),
//!             _ => return Handled::No(responder), // the missing handler answers 404
//!         }
//!         Handled::Yes
//!     }
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), postern_core::Error> {
//!     let running = Server::builder()
//!         .bind_tcp("127.0.0.1:0")
//!         .serve(HttpService::new(Device))
//!         .await?;
//!     println!("listening on {}", running.listeners()[0]);
//!     std::future::pending::<()>().await;
//!     Ok(())
//! }
//! ```
//!
//! # Cargo features
//! `http1`, `http2`, `tls` (rustls with ring), `json` (serde_json), `ws`
//! (WebSocket upgrades, the [`websocket`] module), `proxy-protocol`
//! (PROXY protocol v1/v2 headers on listeners that opt in:
//! [`Listen::proxy_protocol`]), `rate`, `ip-filter` and `unix` (Unix domain
//! socket listeners: `ServerBuilder::bind_unix`, `Listen::unix`), all on by
//! default. `default-features = false, features = ["http1"]` builds an
//! HTTP/1 TCP server without rustls, h2, a WebSocket engine or Unix
//! listeners.
//!
//! # What the server guarantees
//! - **Strict HTTP/1 framing.** A request hyper accepts but which is
//!   ambiguous gets `400` with `connection: close` before any handler runs:
//!   HTTP/1.1 without `Host`, more than one `Host`, a `Transfer-Encoding`
//!   other than exactly `chunked`, a `Host` that is not `host[:port]`.
//!   `Content-Length` together with `Transfer-Encoding` is answered, not
//!   refused: hyper drops the length before the request reaches any layer,
//!   reads the body as chunked and closes the connection after the
//!   response, so no smuggled request is ever parsed. A 400 there would
//!   need a second parse of every request head's raw bytes, which Postern
//!   does not pay for a case hyper already makes harmless.
//! - **Timeouts** ([`config::Timeouts`]): first byte (10 s), request head
//!   (10 s), keep-alive idle (15 s, HTTP/1 and HTTP/2), TLS handshake (10 s),
//!   request body idle (30 s, then 408) and response write stall (30 s);
//!   request bodies and responses moving slower than 240 B/s after a 5 s
//!   grace ([`config::MinDataRate`]: 408 for a body, a close for a
//!   response, after GOAWAY on HTTP/2). A stalled or trickling client
//!   never pins a connection; a slow handler is never cut. They are checked
//!   on a per-connection tick of a quarter of the shortest timeout or grace,
//!   so each fires within 1 to 1.25 times its length.
//! - **HTTP/2 heads past the limits.** Within the header list size Postern
//!   advertises (the configured header and URL limits and some slack), an
//!   oversize head gets the same 414 or 431 as on HTTP/1. Past it, h2 itself
//!   answers 431 and resets the stream with `REFUSED_STREAM` (which some
//!   clients retry), and a `:path` over 65,534 bytes is reset with
//!   `PROTOCOL_ERROR`: both are decided inside the h2 crate, before any
//!   Postern code sees the request.
//! - **Limits** ([`config::Limits`], from `postern-limits`): connection caps
//!   at accept, then IP allow/deny (403) → rate (429) → sizes (414, 431, 413)
//!   per request, on HTTP/1 and HTTP/2 alike.
//! - **Graceful shutdown** ([`RunningServer::shutdown`]): stop accepting,
//!   finish requests in flight, close idle connections at once, cut the rest
//!   at the deadline and report how many were cut.
//!
//! # Differences from Qt HTTP Server
//! What a Qt user would notice, each on purpose:
//! - HEAD responses never carry a body (HTTP/1 and HTTP/2); `postern-router`
//!   answers HEAD with GET routes.
//! - `Connection: close` is honoured; HTTP/1.0 connections close unless the
//!   client asks for keep-alive.
//! - Responses carry `Date`; `TRACE` is [`Method::Trace`], not `Unknown`.
//! - Cleartext HTTP/2 (h2c, prior knowledge) is served; Qt speaks HTTP/2 over
//!   TLS only.
//! - Malformed requests get hyper's error status and a close instead of a
//!   silent close; header and body errors are 400 or 413, never a handler
//!   call with a partial body. Ambiguous HTTP/1 heads (no `Host` on 1.1,
//!   two `Host`s, a transfer coding other than `chunked`) get 400 too.
//! - A [`Responder`] dropped without writing answers 500; Qt sends nothing
//!   and the client waits forever.
//! - A `String` or `&str` answer is `text/plain; charset=utf-8` (Qt sends
//!   `text/plain`, leaving the client to guess the encoding).
//! - JSON is compact everywhere (Qt's responder indents it).
//! - The server sets `content-length` itself; a handler's own value is not
//!   duplicated.
//! - An absolute-form target's authority wins over `Host` (RFC 9112), and a
//!   missing port stays missing (Qt reports port 0).
//! - The IP allow/deny lists and the rate limit apply to HTTP/2 as well, and
//!   a 403 ends the request (Qt carried on to the handler). The rate limit
//!   spreads each second's budget evenly (GCRA) instead of Qt's fixed
//!   1000 ms window.
//! - Slow clients are cut: besides Qt's keep-alive timeout, a request head,
//!   a request body and a response write each have a deadline
//!   ([`config::Timeouts`]) that Qt does not have.
//! - A request body is read only as the server's
//!   [`body_policy`](AbstractHttpServer::body_policy) asks (Qt always reads
//!   it whole first): whole by default, streamed
//!   ([`Request::body_stream`]) or not at all; bodies read whole share one
//!   server-wide budget ([`Configuration::max_buffered_body_bytes`], 503
//!   when it stays full).
//! - A handler runs to completion when its client goes away, as in Qt, but
//!   in a task of its own: the server does not wait for it at shutdown.
//! - WebSocket upgrades pass the limits first and work over HTTP/2 too; the
//!   [`websocket`] module lists the other differences.
//! - Informational (1xx) responses other than hyper's automatic
//!   `100 Continue` cannot be written: hyper's server has no API for them.
//! - `204` and `304` answers carry no `content-length` and no body (RFC 9110
//!   forbids a body there); Qt sends `content-length: 0` and any body given.
//! - A `+` in the query decodes to a space ([`Request::query_pairs`], the
//!   router's `Query<T>`), as browsers encode forms; Qt's `QUrlQuery` keeps
//!   it.
//! - A `CONNECT` answered 2xx opens a tunnel (RFC 9110 §9.3.6): the answer
//!   goes out without a body and the connection is handed to an upgrade, or
//!   closed when nothing takes it. Qt treats `CONNECT` as any other method.
//! - HTTP/1 status lines use Qt's reason phrases (`413 Request Entity Too
//!   Large`, `414 Request-URI Too Long`, …); a code outside Qt's table has
//!   none, but keeps the space after the code that RFC 9112 requires
//!   (`HTTP/1.1 299 \r\n`; Qt writes `HTTP/1.1 299\r\n`).
//!
//! # Logging
//! Through `tracing`, with targets after Qt's categories: `postern::server`,
//! `postern::request`, `postern::http1`, `postern::http2`.

#![cfg_attr(docsrs, feature(doc_cfg))]

/// The boxed error type of service and body errors.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

mod abstract_server;
pub mod access;
mod body;
pub mod config;
mod configuration;
mod error;
mod http_service;
mod method;
mod request;
mod responder;
mod response;
mod server;
mod test_request;
#[cfg(feature = "ws")]
#[cfg_attr(docsrs, doc(cfg(feature = "ws")))]
pub mod websocket;

pub use abstract_server::{AbstractHttpServer, Handled};
pub use body::{BodyError, BodyPolicy, BodyStream};
pub use configuration::Configuration;
pub use error::Error;
pub use http_service::{HttpService, HttpServiceFuture, respond};
pub use method::{Method, Methods};
pub use request::{ConnectionInfo, Request, TlsInfo, Transport};
pub use responder::{
    ChunkedWriter, PendingResponse, Responder, ResponseBody, ResponseCanceled, StreamAborted,
};
pub use response::{IntoResponse, Response};
pub use server::{
    BodyTimedOut, IncomingBody, Listen, ListenAddr, RequestBody, RunningServer, ServeService,
    Server, ServerBuilder, ServerStats, ShutdownReport,
};
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use server::{CertError, PemFile, ReloadingCert, SniCerts, TlsConfig, ring_provider};
#[cfg(feature = "proxy-protocol")]
#[cfg_attr(docsrs, doc(cfg(feature = "proxy-protocol")))]
pub use server::{
    ProxyAddresses, ProxyHeader, ProxyHeaderError, ProxyProtocol, ProxySsl, ProxyStream,
    ProxyVersion, read_proxy_header,
};
pub use test_request::TestRequest;

pub use bytes;
pub use http;
