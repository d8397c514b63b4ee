//! [`ResponseFuture`]: the one response future of every layer in this crate.
//!
//! Every limit is decided synchronously in `call`, so each layer's future is
//! the same thing: the inner service's future, or a refusal that needs no
//! inner future. The layers differ only in the response body type they
//! return, which [`BodyMode`] selects:
//!
//! | mode | response body | used by |
//! |---|---|---|
//! | [`WrapBody`] (the default) | [`ResponseBody<B>`](crate::ResponseBody) | [`ip_filter`](crate::ip_filter), [`rate`](crate::rate), [`size`](crate::size), [`stack`](crate::stack) |
//! | [`KeepBody`] | the inner `B`, refusals `B::default()` | [`connections`](crate::connections) |
//!
//! Each layer's module names its future as a `ResponseFuture<F>` alias of
//! this type (`ip_filter::ResponseFuture`, `connections::ResponseFuture` …).

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;

use crate::body::ResponseBody;
use crate::rejection::Rejection;

pin_project! {
    /// Response future of the layers: the inner service's future, or a refusal
    /// decided in `call` (no inner future exists then; the refusal's response
    /// is only built when the future is polled).
    ///
    /// `M` picks the response body type ([`BodyMode`]); the default,
    /// [`WrapBody`], is the request-level layers' [`ResponseBody`].
    #[derive(Debug)]
    pub struct ResponseFuture<F, M = WrapBody> {
        #[pin]
        kind: Kind<F>,
        mode: PhantomData<fn() -> M>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<F> {
        Inner { #[pin] future: F },
        Reject { rejection: Rejection },
    }
}

impl<F, M> ResponseFuture<F, M> {
    pub(crate) fn inner(future: F) -> Self {
        ResponseFuture {
            kind: Kind::Inner { future },
            mode: PhantomData,
        }
    }

    pub(crate) fn reject(rejection: Rejection) -> Self {
        ResponseFuture {
            kind: Kind::Reject { rejection },
            mode: PhantomData,
        }
    }
}

impl<F, B, E, M> Future for ResponseFuture<F, M>
where
    F: Future<Output = Result<Response<B>, E>>,
    M: BodyMode<B>,
{
    type Output = Result<Response<M::Body>, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(M::pass(response)))
            }
            KindProj::Reject { rejection } => {
                Poll::Ready(Ok(rejection.into_response(M::refusal_body())))
            }
        }
    }
}

/// How a [`ResponseFuture`] types its response body: implemented by
/// [`WrapBody`] and [`KeepBody`] only (sealed).
pub trait BodyMode<B>: sealed::Sealed<B> {
    /// The body of the responses the future yields.
    type Body;
}

/// [`BodyMode`] of the request-level layers: the inner body is wrapped in
/// [`ResponseBody`], whose empty refusal variant needs nothing from `B`.
#[derive(Debug, Clone, Copy)]
pub enum WrapBody {}

/// [`BodyMode`] of the connection layer: the inner body type is kept (so the
/// service drops into `axum::serve` unchanged) and a refusal's body is
/// `B::default()`, which must be empty.
#[derive(Debug, Clone, Copy)]
pub enum KeepBody {}

impl<B> BodyMode<B> for WrapBody {
    type Body = ResponseBody<B>;
}

impl<B: Default> BodyMode<B> for KeepBody {
    type Body = B;
}

mod sealed {
    use http::Response;

    use super::{BodyMode, KeepBody, WrapBody};
    use crate::body::ResponseBody;

    /// The conversions behind [`BodyMode`], out of reach of other crates.
    pub trait Sealed<B> {
        /// The inner service's response, with this mode's body type.
        fn pass(response: Response<B>) -> Response<<Self as BodyMode<B>>::Body>
        where
            Self: BodyMode<B>;

        /// The empty body of a refusal.
        fn refusal_body() -> <Self as BodyMode<B>>::Body
        where
            Self: BodyMode<B>;
    }

    impl<B> Sealed<B> for WrapBody {
        #[inline]
        fn pass(response: Response<B>) -> Response<<Self as BodyMode<B>>::Body> {
            response.map(ResponseBody::new)
        }

        #[inline]
        fn refusal_body() -> <Self as BodyMode<B>>::Body {
            ResponseBody::rejection()
        }
    }

    impl<B: Default> Sealed<B> for KeepBody {
        #[inline]
        fn pass(response: Response<B>) -> Response<<Self as BodyMode<B>>::Body> {
            response
        }

        #[inline]
        fn refusal_body() -> <Self as BodyMode<B>>::Body {
            B::default()
        }
    }
}
