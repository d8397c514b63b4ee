//! `postern-router`'s integration tests, one module per subject, all in one
//! test binary (one link instead of one per file). `compile_fail` runs the
//! trybuild cases in `tests/ui`.

mod common;

mod body_policy;
mod compile_fail;
mod handlers;
mod matching;
mod registration;
mod websocket;
