//! Integration tests of `postern-core` over real sockets, one module per
//! subject, all in one test binary (one link instead of one per file).
//!
//! The tests in [`ipv6`] are ignored: they need an IPv6 loopback; run them
//! with `cargo test --test core ipv6:: -- --ignored` where it exists.

#[path = "../support/mod.rs"]
mod support;

mod access_log;
mod attacks;
mod bodies;
mod config;
mod discarded_bodies;
mod handlers;
mod http1;
mod http2;
mod http2_streams;
mod ipv6;
mod limits;
mod listeners;
#[cfg(feature = "proxy-protocol")]
mod proxy_protocol;
mod refusal_cap;
mod shutdown;
mod shutdown_load;
mod stalls;
mod streaming;
mod strict;
mod timeouts;
mod tls;
mod tls_reload;
mod tower;
#[cfg(all(unix, feature = "unix"))]
mod unix;
mod websocket;
mod websocket_load;
