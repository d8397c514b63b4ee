//! Postern's routing server, Qt's `QHttpServer` the Rust way.
//!
//! ```
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Empty};
//! use postern_core::{Request, respond};
//! use postern_router::HttpServer;
//!
//! let mut server = HttpServer::new();
//! server.route("/", || "Hello world")?;
//! server.route("/user/<arg>/detail/", |id: u32, year: i32| {
//!     format!("User {id} detail year - {year}")
//! })?;
//! server.route("/query", |request: &Request| {
//!     format!("{}/query/", request.host().unwrap_or_default())
//! })?;
//!
//! // In-process, the way a connection calls it:
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let request = http::Request::get("/user/7/detail/2026").body(Empty::<Bytes>::new())?;
//! let response = respond(&server, request).await;
//! assert_eq!(response.status(), http::StatusCode::OK);
//! let body = response.into_body().collect().await?.to_bytes();
//! assert_eq!(body, "User 7 detail year - 2026");
//! let missing = respond(&server, http::Request::get("/user/x").body(Empty::<Bytes>::new())?).await;
//! assert_eq!(missing.status(), http::StatusCode::NOT_FOUND);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Testing without sockets
//!
//! [`respond`](postern_core::respond) answers one request the way a connection would (body
//! policy, handler, missing handler), and [`TestRequest`](postern_core::TestRequest) builds
//! requests with the connection facts a socket gives, the client's address among them: the
//! limits can be tested too, by calling the same server through a
//! `postern_limits::stack::LimitsLayer`.
//!
//! ```
//! use http::StatusCode;
//! use postern_core::config::Limits;
//! use postern_core::{HttpService, Request, TestRequest, respond};
//! use postern_limits::stack::LimitsLayer;
//! use postern_router::HttpServer;
//! use tower_layer::Layer;
//! use tower_service::Service;
//!
//! let mut server = HttpServer::new();
//! server.route("/ip", |request: &Request| {
//!     request.remote_addr().map(|addr| addr.ip().to_string()).unwrap_or_default()
//! })?;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! use http_body_util::BodyExt;
//! let peer = "10.0.0.7:5000".parse()?;
//! let response = respond(&server, TestRequest::get("/ip").peer(peer).build()?).await;
//! assert_eq!(response.into_body().collect().await?.to_bytes(), "10.0.0.7");
//!
//! // The same server behind an allow list, as Postern's listeners run it.
//! let mut limits = Limits::default();
//! limits.ip_filter.allow = vec!["10.0.0.0/8".parse()?];
//! let mut service = LimitsLayer::new(&limits).layer(HttpService::new(server));
//! type TestBody = http::Request<http_body_util::Full<bytes::Bytes>>;
//! for (peer, status) in [("10.0.0.7:5000", StatusCode::OK), ("192.0.2.1:5000", StatusCode::FORBIDDEN)] {
//!     let request = TestRequest::get("/ip").peer(peer.parse()?).build()?;
//!     std::future::poll_fn(|cx| Service::<TestBody>::poll_ready(&mut service, cx)).await?;
//!     assert_eq!(service.call(request).await?.status(), status, "{peer}");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Serving it on a socket
//!
//! ```no_run
//! use postern_core::{HttpService, Server};
//! use postern_router::HttpServer;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut server = HttpServer::new();
//! server.route("/", || "Hello world")?;
//! let running = Server::builder()
//!     .bind_tcp("127.0.0.1:8080")
//!     .serve(HttpService::new(server))
//!     .await?;
//! println!("listening on {}", running.listeners()[0]);
//! # Ok(()) }
//! ```
//!

#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]

mod convert;
mod error;
mod fast;
pub mod handler;
mod index;
mod inline;
pub mod input;
mod pattern;
mod router;
mod rule;
mod server;
mod service;

pub use convert::{
    ANY_REGEX, ArgType, BOOL_REGEX, Converter, ConverterRegistry, FLOAT_REGEX, FromCapture,
    SEGMENT_REGEX, SIGNED_REGEX, UNSIGNED_REGEX, UrlPath,
};
pub use error::{ConverterError, PatternErrorKind, RouteError};
pub use handler::Handler;
pub use router::{RouteMatch, Router};
pub use rule::{Rule, RuleCondition, RuleHandle, RuleId};
pub use server::HttpServer;
