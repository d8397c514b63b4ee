//! The top floor, in one test binary: every example (as the binary a user
//! runs, and in-process through its own functions) and `postern-router`'s
//! `HttpServer` over real sockets.

#[path = "../support/mod.rs"]
mod support;

mod axum_limits;
mod cli;
mod colorpalette;
mod floods;
mod router_wire;
mod simple;
mod websocket_echo;
