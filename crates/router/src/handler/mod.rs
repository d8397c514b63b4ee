//! Handlers: which functions and closures can answer a route, checked at compile time.
//!
//! A handler takes, in this order:
//! 1. zero to six **path arguments**, each a [`FromCapture`] type (one per `<arg>`, surplus
//!    ones appended at the end of the pattern, Qt's convention);
//! 2. then optionally one **typed input** ([`FromRequest`](crate::input::FromRequest):
//!    [`Json<T>`](crate::input::Json), [`Query<T>`](crate::input::Query),
//!    [`Form<T>`](crate::input::Form), `Result` of one, or your own), read before the handler
//!    runs, whose failure is answered for it (see [`input`](crate::input));
//! 3. then optionally the request, as [`Request`] (a cheap clone) or `&Request`, and/or the
//!    [`Responder`], in either order.
//!
//! Without a responder it returns anything that implements [`IntoResponse`] (`String`,
//! `&'static str`, `Vec<u8>`, `Bytes`, `serde_json::Value`, `StatusCode`, `Response`,
//! `(StatusCode, T)`, `Result<T, E>`, `()`), or a future of one. With a responder it returns
//! `()` or a future of `()`, and answers through the responder, possibly later from a spawned
//! task.
//!
//! Closures need their argument types written out (`|id: u32, request: &Request| …`), since
//! the types pick the converters. Anything else fails to compile with "is not a route handler".
//!
//! ```
//! use postern_core::{Request, Responder, Response};
//! use http::StatusCode;
//! use postern_router::HttpServer;
//!
//! async fn user(id: u32) -> String {
//!     format!("User {id}")
//! }
//!
//! let mut server = HttpServer::new();
//! server.route("/", || "Hello world")?;
//! server.route("/user/", user)?;
//! server.route("/query/<arg>/log/", |id: i32, threshold: f32, request: &Request| {
//!     format!("{}/query/{id}/log/{threshold}", request.value("host").unwrap_or_default())
//! })?;
//! server.route("/later", |responder: Responder| {
//!     tokio::spawn(async move { responder.send(Response::text("done")) });
//! })?;
//! server.route("/teapot", || async { (StatusCode::IM_A_TEAPOT, "short and stout") })?;
//! # Ok::<(), postern_router::RouteError>(())
//! ```

mod impls;

use std::future::Future;
use std::pin::Pin;

use crate::convert::{ArgType, FromCapture};
use crate::input::InputRejection;
use postern_core::{IntoResponse, Request, Responder, Response};

/// A function or closure that can answer a route; see the [module docs](self).
///
/// `M` is a marker the compiler infers from the handler's signature; you never name it.
/// The trait is implemented for every allowed signature and is sealed: it cannot be
/// implemented outside this crate, so every handler has at most six path arguments and the
/// router's captures never leave the stack.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a route handler",
    label = "not a valid handler signature",
    note = "a handler takes its path arguments first (types implementing `FromCapture`: integers, floats, bool, String, Bytes, UrlPath or your own), then optionally one typed input (`Json<T>`, `Query<T>`, `Form<T>` or another `FromRequest` type), then optionally `Request` or `&Request` and/or `Responder`, in either order",
    note = "without a `Responder` it returns something implementing `IntoResponse` (or a future of it); with a `Responder` it returns `()` (or a future of `()`)",
    note = "closure arguments need explicit types, e.g. `|id: u32, request: &Request| ...`"
)]
pub trait Handler<M>: sealed::Sealed<M> + Send + Sync + Sized + 'static {
    /// The path-argument types, in order. Used when the rule is registered.
    #[doc(hidden)]
    fn arg_types() -> Vec<ArgType>;

    /// Whether every capture converts to its argument type.
    #[doc(hidden)]
    fn converts(captures: &[&str]) -> bool;

    /// Whether the handler takes the request or an input that reads the body (and so needs
    /// the body read).
    #[doc(hidden)]
    fn takes_request() -> bool;

    /// Converts the captures and calls the handler; `None` if a capture did not convert (the
    /// responder is then left in place).
    #[doc(hidden)]
    fn call(
        &self,
        captures: &[&str],
        request: &Request,
        responder: &mut Option<Responder>,
    ) -> Option<Reply>;
}

/// The seal of [`Handler`]: a supertrait nobody outside the crate can name, implemented next to
/// each `Handler` impl with the same bounds, so a hand-written `Handler` impl cannot compile.
mod sealed {
    /// Implemented exactly for the types that implement [`Handler`](super::Handler).
    #[diagnostic::on_unimplemented(
        message = "`Handler` is sealed: `{Self}` cannot implement it",
        note = "use a function or closure with one of the allowed signatures as the handler"
    )]
    pub trait Sealed<M> {}
}

/// What calling a handler produced.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub enum Reply {
    /// Finished: a response to send, or `None` if the handler used the responder.
    Ready(Option<Response>),
    /// Still running.
    Pending(Pin<Box<dyn Future<Output = Option<Response>> + Send>>),
    /// The typed input did not read: the handler did not run (the responder is left in place).
    Rejected(InputRejection),
}

impl Reply {
    fn ready(value: impl IntoResponse) -> Self {
        Reply::Ready(Some(value.into_response()))
    }

    fn pending<F>(future: F) -> Self
    where
        F: Future + Send + 'static,
        F::Output: IntoResponse,
    {
        Reply::Pending(Box::pin(async move { Some(future.await.into_response()) }))
    }

    fn pending_unit<F>(future: F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Reply::Pending(Box::pin(async move {
            future.await;
            None
        }))
    }
}

/// Markers that tell the handler impls apart; you never name them.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub mod marker {
    /// Returns a value (or `()` with a responder).
    pub struct Sync;
    /// Returns a future.
    pub struct Async;
    /// No special argument.
    pub struct Plain;
    /// `Request`.
    pub struct Req;
    /// `&Request`.
    pub struct ReqRef;
    /// `Responder`.
    pub struct Resp;
    /// `Request, Responder`.
    pub struct ReqResp;
    /// `Responder, Request`.
    pub struct RespReq;
    /// `&Request, Responder`.
    pub struct ReqRefResp;
    /// `Responder, &Request`.
    pub struct RespReqRef;

    /// Whether a shape hands the handler the request.
    pub trait Shape {
        /// `true` for the shapes with `Request` or `&Request`.
        const TAKES_REQUEST: bool;
    }

    impl Shape for Plain {
        const TAKES_REQUEST: bool = false;
    }
    impl Shape for Resp {
        const TAKES_REQUEST: bool = false;
    }
    impl Shape for Req {
        const TAKES_REQUEST: bool = true;
    }
    impl Shape for ReqRef {
        const TAKES_REQUEST: bool = true;
    }
    impl Shape for ReqResp {
        const TAKES_REQUEST: bool = true;
    }
    impl Shape for RespReq {
        const TAKES_REQUEST: bool = true;
    }
    impl Shape for ReqRefResp {
        const TAKES_REQUEST: bool = true;
    }
    impl Shape for RespReqRef {
        const TAKES_REQUEST: bool = true;
    }
}

/// Object-safe view of a [`Handler`], stored in a rule.
pub(crate) trait DynHandler: Send + Sync {
    fn converts(&self, captures: &[&str]) -> bool;
    fn takes_request(&self) -> bool;
    fn call(
        &self,
        captures: &[&str],
        request: &Request,
        responder: &mut Option<Responder>,
    ) -> Option<Reply>;
}

pub(crate) struct Erased<H, M> {
    handler: H,
    marker: std::marker::PhantomData<fn() -> M>,
}

impl<H, M> Erased<H, M> {
    pub(crate) fn new(handler: H) -> Self {
        Self {
            handler,
            marker: std::marker::PhantomData,
        }
    }
}

impl<H: Handler<M>, M: 'static> DynHandler for Erased<H, M> {
    fn converts(&self, captures: &[&str]) -> bool {
        H::converts(captures)
    }

    fn takes_request(&self) -> bool {
        H::takes_request()
    }

    fn call(
        &self,
        captures: &[&str],
        request: &Request,
        responder: &mut Option<Responder>,
    ) -> Option<Reply> {
        self.handler.call(captures, request, responder)
    }
}

/// Converts the next capture; used by the generated impls.
fn next_arg<T: FromCapture>(captures: &mut std::slice::Iter<'_, &str>) -> Option<T> {
    T::from_capture(captures.next()?)
}
