//! Postern's routing server, Qt's `QHttpServer` the Rust way.
//!
//! ```
//! use postern_core::{Request, Response};
//! use postern_router::HttpServer;
//!
//! let mut server = HttpServer::new();
//! server.route("/", || "Hello world")?;
//! server.route("/user/<arg>/detail/", |id: u32, year: i32| format!("User {id} detail year - {year}"))?;
//! server.route("/query", |request: &Request| format!("{}/query/", request.value("host").unwrap_or_default()))?;
//! # Ok::<(), postern_router::RouteError>(())
//! ```
//!
#![doc = include_str!("../README.md")]

mod convert;
mod error;
mod fast;
pub mod handler;
mod index;
mod pattern;
mod router;
mod rule;
mod server;

pub use convert::{
    ANY_REGEX, ArgType, BOOL_REGEX, Converter, ConverterRegistry, FLOAT_REGEX, FromCapture,
    SEGMENT_REGEX, SIGNED_REGEX, UNSIGNED_REGEX, UrlPath,
};
pub use error::{ConverterError, PatternErrorKind, RouteError};
pub use handler::Handler;
pub use router::{RouteMatch, Router};
pub use rule::{Rule, RuleCondition, RuleHandle, RuleId};
pub use server::HttpServer;
