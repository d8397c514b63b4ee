//! Tower layers for the protections of Qt's `QHttpServerConfiguration`: rate per
//! client IP, connections in all and per client, IP allow/deny subnets, and
//! URL, header and body sizes. Each works alone in any tower or axum app and
//! depends on no other Postern crate.
//!
//! ```
//! use postern_limits::config::Limits;
//!
//! let limits = Limits::default();
//! assert_eq!(limits.sizes.max_body, Some(32 * 1024 * 1024));
//! ```

pub mod config;
