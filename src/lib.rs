//! Postern: an embeddable HTTP server framework with Qt HTTP Server's
//! features, on hyper and tower, hardened to face the internet.
//!
//! This crate re-exports the three floors, each item at one path:
//! - `postern-core` at the root: the [`AbstractHttpServer`] trait,
//!   [`Request`], [`Response`], [`Responder`], [`Configuration`], the
//!   [`Server`], and the [`config`] module;
//! - [`limits`] (`postern-limits`): tower layers for rate, connections, IP
//!   lists and request sizes, usable in any tower or axum app;
//! - [`router`] (`postern-router`): the routing server.
//!
//! ```no_run
//! use http::StatusCode;
//! use postern::{AbstractHttpServer, Handled, HttpService, Request, Responder, Server};
//!
//! struct Hello;
//! impl AbstractHttpServer for Hello {
//!     async fn handle_request(&self, _: &Request, responder: Responder) -> Handled {
//!         responder.write_with_mime("Hello world", "text/plain", StatusCode::OK);
//!         Handled::Yes
//!     }
//! }
//!
//! # async fn run() -> Result<(), postern::Error> {
//! let running = Server::builder().bind_tcp("127.0.0.1:0").serve(HttpService::new(Hello)).await?;
//! println!("listening on {}", running.listeners()[0]);
//! # Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "ws")]
#[cfg_attr(docsrs, doc(cfg(feature = "ws")))]
pub use postern_core::websocket;
pub use postern_core::{
    AbstractHttpServer, BodyError, BodyPolicy, BodyStream, BodyTimedOut, ChunkedWriter,
    Configuration, ConnectionInfo, Error, Handled, HttpService, HttpServiceFuture, IncomingBody,
    IntoResponse, ListenAddr, Method, Methods, PendingResponse, Request, RequestBody, Responder,
    Response, ResponseBody, ResponseCanceled, RunningServer, ServeService, Server, ServerBuilder,
    ServerStats, ShutdownReport, StreamAborted, TlsInfo, Transport, config, respond,
};
#[cfg(feature = "tls")]
pub use postern_core::{TlsConfig, ring_provider};
#[doc(no_inline)]
pub use postern_core::{bytes, http};
pub use postern_limits as limits;
pub use postern_router as router;
