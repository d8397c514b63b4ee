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
//! `http1`, `http2`, `tls` (rustls with ring) and `json` (serde_json), all on by
//! default. `default-features = false, features = ["http1"]` builds an HTTP/1
//! server without rustls or h2.
//!
//! # Logging
//! Through `tracing`, with targets after Qt's categories: `postern::server`,
//! `postern::request`, `postern::http1`, `postern::http2`.

mod abstract_server;
pub mod config;
mod error;
mod http_service;
mod method;
pub mod request;
pub mod responder;
pub mod response;
pub mod server;

pub use abstract_server::{AbstractHttpServer, Handled};
pub use config::Configuration;
pub use error::Error;
pub use http_service::{HttpService, respond};
pub use method::{Method, Methods};
pub use request::{ConnectionInfo, Request, TlsInfo, Transport};
pub use responder::{ChunkedWriter, PendingResponse, Responder, ResponseBody};
pub use response::{IntoResponse, Response};
pub use server::{ListenAddr, RequestBody, RunningServer, Server, ServerBuilder, ShutdownReport};
#[cfg(feature = "tls")]
pub use server::{TlsConfig, ring_provider};

pub use bytes;
pub use http;
